#!/usr/bin/env python3
"""Plots weft-sim's JSON (-J) against the number of nodes: each algorithm's simulated busbw at
one size, one file per node count, with published reference points beside them.

  tools/plot-sim-nodes.py -o busbw-nodes.png n1.json n2.json n4.json ...
  tools/plot-sim-nodes.py -o out.png --size 8G --ref 1:365 --ref 2:470 --ref 4:366 n*.json

--ref NODES:GBPS marks a reference figure (NCCL's published ones, say) as a point. The format
follows -o's extension (png, svg, pdf). Needs matplotlib (Debian: python3-matplotlib).
"""
import argparse
import json
import sys


def parse_size(text):
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    if text and text[-1].upper() in units:
        return int(float(text[:-1]) * units[text[-1].upper()])
    return int(text)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="+", help="weft-sim -J files, one per node count")
    p.add_argument("-o", "--output", required=True, help="image file to write")
    p.add_argument("--size", default=None, help="the size to plot (default: each file's largest)")
    p.add_argument("--ref", action="append", default=[], help="NODES:GBPS, a reference point")
    p.add_argument("--ref-label", default="NCCL, published", help="the reference points' label")
    p.add_argument("--title", default=None)
    args = p.parse_args()

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lines = {}  # algorithm -> [(nodes, busbw)]
    title = args.title
    for path in args.files:
        with open(path) as f:
            doc = json.load(f)
        rows = doc["results"]
        want = parse_size(args.size) if args.size else max(r["size"] for r in rows)
        row = next((r for r in rows if r["size"] == want), None)
        if row is None:
            sys.exit(f"{path}: no row of {want} bytes")
        for algo, m in row.get("algos", {}).items():
            lines.setdefault(algo, []).append((doc["hosts"], m["busbw"]))
        if "device_hierarchy" in row:  # GPU nodes: the hierarchy as device buffers run it
            lines.setdefault("device hierarchy", []).append(
                (doc["hosts"], row["device_hierarchy"]["busbw"]))
        if title is None:
            title = f"weft-sim: {doc['collective']} of {want >> 20} MiB, {doc['ranks_per_host']} GPUs per node"
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for algo, points in sorted(lines.items()):
        points.sort()
        ax.plot([n for n, _ in points], [b for _, b in points], marker="o", label=f"Weft {algo} (simulated)")
    if args.ref:
        refs = sorted((int(r.split(":")[0]), float(r.split(":")[1])) for r in args.ref)
        ax.plot([n for n, _ in refs], [b for _, b in refs], "k*", markersize=11, label=args.ref_label)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("nodes")
    ax.set_ylabel("bus bandwidth (GB/s)")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.output, dpi=110)


if __name__ == "__main__":
    main()

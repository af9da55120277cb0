#!/usr/bin/env python3
"""Plots weft-perf's JSON (-J): bus bandwidth (or algorithm bandwidth, or time) against size,
one line per file, and its baseline (--compare mpi or gloo) beside it where the file has one.

  bench/plot-perf.py -o allreduce.png run-2ranks.json run-4ranks.json
  bench/plot-perf.py -o allreduce.svg --metric time --label 'Weft 2 ranks' run.json

Each run's lines are "Weft, NAME" (solid) and its baseline's, "Gloo, NAME" or "MPI, NAME"
(dashed, same color). The format follows -o's extension (png, svg, pdf). Out of place by default (--placement ip
for in place). A file with several types, ops or roots gets one line for each. Needs
matplotlib (Debian: python3-matplotlib).
"""
import argparse
import json
import os
import sys

METRICS = {
    "busbw": ("bus bandwidth (GB/s)", lambda m: m.get("busbw")),
    "algbw": ("algorithm bandwidth (GB/s)", lambda m: m.get("algbw")),
    "time": ("time per call (us)", lambda m: m.get("time_us")),
}


def size_text(n):
    for unit, shift in (("G", 30), ("M", 20), ("K", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift}{unit}"
    return f"{n}"


def load(path):
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit(f"plot-perf: {path}: {e}")
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
        sys.exit(f"plot-perf: {path}: not weft-perf's JSON (no 'results' list)")
    return doc


def series(doc, placement, metric, label):
    """[(label, sizes, values, is_baseline)] for one file: Weft's line per (type, op, root),
    and the baseline's where rows carry one."""
    value = METRICS[metric][1]
    groups = {}
    for row in doc["results"]:
        key = (row.get("type"), row.get("redop"), row.get("root"))
        groups.setdefault(key, []).append(row)
    several = len(groups) > 1
    out = []
    for (dtype, op, root), rows in groups.items():
        rows.sort(key=lambda r: r["size"])
        name = label
        if several:
            name += f" {dtype} {op}" + (f" root {root}" if root not in (None, -1) else "")
        points = [(r["size"], value(r.get(placement, {}))) for r in rows]
        points = [(s, v) for s, v in points if v is not None and v > 0]
        if points:
            out.append((f"Weft, {name}", [s for s, _ in points], [v for _, v in points], False))
        for baseline in ("mpi", "gloo"):
            points = [(r["size"], value(r[baseline])) for r in rows if baseline in r]
            points = [(s, v) for s, v in points if v is not None and v > 0]
            if points:
                shown = "MPI" if baseline == "mpi" else "Gloo"
                out.append((f"{shown}, {name}", [s for s, _ in points],
                            [v for _, v in points], True))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("files", nargs="+", help="weft-perf -J output")
    p.add_argument("-o", "--output", required=True, help="image file: .png, .svg or .pdf")
    p.add_argument("--metric", choices=sorted(METRICS), default="busbw")
    p.add_argument("--placement", choices=("oop", "ip"), default="oop",
                   help="out of place (oop, default) or in place (ip)")
    p.add_argument("--label", action="append", default=[],
                   help="a run's name, once per file in order: its lines are 'Weft, NAME' "
                        "and the baseline's (default: ranks and file name)")
    p.add_argument("--title", help="the plot's title (default: the collective)")
    args = p.parse_args()
    if args.label and len(args.label) != len(args.files):
        sys.exit("plot-perf: give --label once per file, or not at all")
    ext = os.path.splitext(args.output)[1].lower()
    if ext not in (".png", ".svg", ".pdf"):
        sys.exit(f"plot-perf: {args.output}: the output must end in .png, .svg or .pdf")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("plot-perf: needs matplotlib (Debian: apt-get install python3-matplotlib)")

    docs = [load(f) for f in args.files]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    sizes_seen = set()
    for i, (path, doc) in enumerate(zip(args.files, docs)):
        label = args.label[i] if args.label else (
            f"{doc.get('nranks', '?')} ranks ({os.path.basename(path)})")
        lines = series(doc, args.placement, args.metric, label)
        color = None
        for name, sizes, values, baseline in lines:
            # A run's baseline in its color, dashed; the next run of Weft in the next color.
            if not baseline:
                color = None
            drawn = ax.plot(sizes, values, marker="o", markersize=3, label=name, color=color,
                            linestyle="--" if baseline else "-")
            color = drawn[0].get_color()
            sizes_seen.update(sizes)
    if not sizes_seen:
        sys.exit("plot-perf: no measured rows in " + ", ".join(args.files))
    ax.set_xscale("log", base=2)
    ticks = sorted(sizes_seen)
    step = max(1, len(ticks) // 12)
    ax.set_xticks(ticks[::step])
    ax.set_xticklabels([size_text(s) for s in ticks[::step]], rotation=45)
    if args.metric == "time":
        ax.set_yscale("log")
    ax.set_xlabel("size (bytes)")
    ax.set_ylabel(METRICS[args.metric][0])
    colls = sorted({d.get("collective", "?") for d in docs})
    ax.set_title(args.title or ", ".join(colls) + (" (in place)" if args.placement == "ip" else ""))
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.output)
    print(f"plot-perf: wrote {args.output}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Weft against Open MPI, side by side: runs `mpirun -np N weft-perf COLL --compare mpi`
REPEAT times (each run measures both on the same buffers) and prints, per size, the median
busbw of Weft (out of place and in place) and of MPI, and the ratios Weft/MPI of both.
MPI_Bcast has one buffer per rank (the root sends from it, the others receive into it), so
for broadcast the in-place ratio is like for like: out of place, Weft's root also copies its
input to its output. The other collectives call MPI out of place.

  bench/compare-mpi.py --bin build/bin --np 2 --coll allreduce -b 4M -e 64M -f 4 --repeat 3
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default="build/bin")
    ap.add_argument("--np", type=int, default=2)
    ap.add_argument("--coll", default="allreduce")
    ap.add_argument("-b", default="4M")
    ap.add_argument("-e", default="64M")
    ap.add_argument("-f", default="4")
    ap.add_argument("-n", default="50", help="iterations per size (few let first-use costs in)")
    ap.add_argument("-d", default="float")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--bind", default="default", help="mpirun --bind-to: core, none, or default")
    a = ap.parse_args()
    rows = {}
    for rep in range(a.repeat):
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            bind = [] if a.bind == "default" else ["--bind-to", a.bind]
            cmd = ["mpirun", "--allow-run-as-root", "--oversubscribe", *bind, "-np", str(a.np),
                   os.path.join(a.bin, "weft-perf"), a.coll, "-b", a.b, "-e", a.e, "-f", a.f,
                   "-n", a.n, "-w", "5", "-d", a.d, "--compare", "mpi", "-J", out.name]
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=1200)
            if r.returncode != 0:
                sys.exit(f"run {rep} failed:\n{r.stdout}\n{r.stderr}")
            for row in json.load(open(out.name))["results"]:
                d = rows.setdefault(row["size"], {"oop": [], "ip": [], "mpi": [], "t_oop": [], "t_mpi": []})
                d["oop"].append(row["oop"]["busbw"])
                d["ip"].append(row["ip"]["busbw"])
                d["t_oop"].append(row["oop"]["time_us"])
                d.setdefault("t_ip", []).append(row["ip"]["time_us"])
                if "mpi" in row:
                    d["mpi"].append(row["mpi"]["busbw"])
                    d["t_mpi"].append(row["mpi"]["time_us"])
    print(f"# {a.coll}, {a.np} ranks, {a.d}, binding {a.bind}, median of {a.repeat} runs (busbw GB/s; time us)")
    print(f"# {'size':>10} {'weft oop':>9} {'weft ip':>8} {'mpi':>8} {'oop/mpi':>7} {'ip/mpi':>6} "
          f"{'oop us':>9} {'ip us':>9} {'mpi us':>9}")
    for size in sorted(rows):
        d = rows[size]
        med = lambda v: statistics.median(v) if v else float("nan")
        ratio = lambda k: med(d[k]) / med(d["mpi"]) if d["mpi"] and med(d["mpi"]) > 0 else float("nan")
        print(f"  {size:>10} {med(d['oop']):9.2f} {med(d['ip']):8.2f} {med(d['mpi']):8.2f} "
              f"{ratio('oop'):7.2f} {ratio('ip'):6.2f} "
              f"{med(d['t_oop']):9.2f} {med(d['t_ip']):9.2f} {med(d['t_mpi']):9.2f}")


if __name__ == "__main__":
    main()

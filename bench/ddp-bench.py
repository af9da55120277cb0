#!/usr/bin/env python3
"""DDP and all_reduce through torch.distributed, backend "weft" against "gloo" in the same job
(the default group is weft, a second group gloo; the two alternate, so machine noise falls on
both): the median step time of an MLP trained with DistributedDataParallel, and all_reduce's
busbw (2(n-1)/n x bytes / time) at each size. Run on every rank with env:// set, e.g.:

  tests/python/torch_run.sh build/bin build/python 2 bench/ddp-bench.py
  (it prints "checks passed" last, which that script waits for)

Options: --hidden H (default 1800: about 8.4M parameters with --layers 4), --layers L,
--batch B per rank, --steps S timed per round, --rounds R, --sizes 4M,16M,64M, --iters N
all_reduce calls timed per round (after two untimed ones).
"""
import argparse
import statistics
import time

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP

import weft.distributed  # noqa: F401 (registers the backend)


def size_bytes(text):
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text)


def mlp(hidden, layers):
    torch.manual_seed(0)
    parts = [torch.nn.Linear(1024, hidden), torch.nn.ReLU()]
    for _ in range(layers - 2):
        parts += [torch.nn.Linear(hidden, hidden), torch.nn.ReLU()]
    parts.append(torch.nn.Linear(hidden, 16))
    return torch.nn.Sequential(*parts)


def step_times(net, batch, steps):
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    x, y = torch.randn(batch, 1024), torch.randn(batch, 16)
    times = []
    for _ in range(steps):
        dist.barrier()
        start = time.perf_counter()
        opt.zero_grad()
        torch.nn.functional.mse_loss(net(x), y).backward()
        opt.step()
        times.append(time.perf_counter() - start)
    return times


def allreduce_time(group, numel, iters):
    t = torch.ones(numel)
    # Two calls first: the first on a new tensor also maps it (Weft) or sets up its buffers
    # (gloo); timing from the third on is what a training loop sees.
    dist.all_reduce(t, group=group)
    dist.all_reduce(t, group=group)
    dist.barrier(group=group)
    start = time.perf_counter()
    for _ in range(iters):
        dist.all_reduce(t, group=group)
    return (time.perf_counter() - start) / iters


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--hidden", type=int, default=1800)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--sizes", default="4M,16M,64M")
    p.add_argument("--iters", type=int, default=10, help="all_reduce calls timed per round")
    args = p.parse_args()
    torch.set_num_threads(1)  # ranks share the machine's cores
    dist.init_process_group("weft")
    r, n = dist.get_rank(), dist.get_world_size()
    gloo = dist.new_group(backend="gloo")
    groups = {"weft": None, "gloo": gloo}
    nets = {name: DDP(mlp(args.hidden, args.layers), process_group=g)
            for name, g in groups.items()}
    # The floor: the same steps without DDP (no communication at all), in the same rounds.
    nets["alone"] = mlp(args.hidden, args.layers)
    params = sum(q.numel() for q in nets["weft"].parameters())
    steps = {name: [] for name in nets}
    for _ in range(args.rounds):
        for name in nets:
            steps[name] += step_times(nets[name], args.batch, args.steps)
    busbw = {}
    for text in args.sizes.split(","):
        numel = size_bytes(text) // 4
        times = {name: [] for name in groups}
        for _ in range(args.rounds):  # the backends alternate, round by round
            for name, g in groups.items():
                times[name].append(allreduce_time(g, numel, args.iters))
        for name in groups:
            busbw[(text, name)] = 2 * (n - 1) / n * numel * 4 / statistics.median(times[name]) / 1e9
    if r == 0:
        w, g = statistics.median(steps["weft"]), statistics.median(steps["gloo"])
        a = statistics.median(steps["alone"])
        print(f"DDP, {n} ranks, {params / 1e6:.1f}M parameters, batch {args.batch}/rank: "
              f"weft {w * 1e3:.0f} ms/step, gloo {g * 1e3:.0f} ms/step, weft/gloo {w / g:.2f}x "
              f"(goal <= 0.8x); without DDP {a * 1e3:.0f} ms/step, so DDP adds "
              f"{(w - a) * 1e3:.0f} ms over weft and {(g - a) * 1e3:.0f} ms over gloo")
        for text in args.sizes.split(","):
            a, b = busbw[(text, "weft")], busbw[(text, "gloo")]
            print(f"all_reduce {text}: weft {a:.2f} GB/s, gloo {b:.2f} GB/s busbw, "
                  f"weft/gloo {a / b:.2f}x (goal >= 3x)")
    dist.destroy_process_group()
    print(f"rank {r}: 0 checks passed (a benchmark)")


if __name__ == "__main__":
    main()

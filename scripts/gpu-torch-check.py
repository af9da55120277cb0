#!/usr/bin/env python3
"""PyTorch's NCCL process group running on Weft: the caller NCCL's users have.

    LD_PRELOAD=build/nccl-shim/libnccl.so.2 python3 scripts/gpu-torch-check.py [--ranks 4]

Starts N processes on GPU 0 (several ranks per GPU, which NCCL itself refuses) that use
torch.distributed with backend "nccl" exactly as a training script does (device tensors,
PyTorch's streams, no host synchronization in between), runs every collective Weft serves
on float32, bfloat16 and int32, a batched isend/irecv ring and all_to_all_single, and checks
each result exactly against its value computed on the host. Prints one line per rank and exits 0 only if every check passed. Without
LD_PRELOAD it runs on PyTorch's own NCCL (which refuses several ranks per GPU).
"""
import argparse
import os
import socket
import struct
import sys


def expected_inputs(world, n, dtype, torch):
    """Rank q's input: small integers, so sums and averages are exact in every type."""
    base = torch.arange(n, dtype=torch.float64) % 31
    return [(base + 7 * (q + 1)).to(dtype) for q in range(world)]


def nccl_premul_factor(factor, dtype, torch):
    """The factor NCCL multiplies by when PyTorch asks for PREMUL_SUM(factor) on `dtype`.

    PyTorch hands ncclRedOpCreatePreMulSum the factor as a float32 for bfloat16 too, and
    NCCL reads as many bytes as the datatype has: for bfloat16 the factor is the float's
    first two bytes in memory (its low half; 0.5 becomes +0.0). Weft reads the scalar as
    NCCL does, so it must give NCCL's result, not the one the caller meant.
    """
    if dtype != torch.bfloat16:
        return factor
    low_half = struct.pack("<f", factor)[:2]
    return struct.unpack("<f", b"\0\0" + low_half)[0]


def check(name, got, want, failures):
    if not bool((got.cpu() == want.cpu()).all()):
        bad = int((got.cpu() != want.cpu()).sum())
        failures.append(f"{name}: {bad} of {want.numel()} elements wrong")


def worker(rank, world, port, result_queue):
    try:
        result_queue.put((rank, run_rank(rank, world, port)))
    except Exception as e:  # reported as this rank's failure, not a hang of the parent
        result_queue.put((rank, [f"{type(e).__name__}: {e}"]))


def run_rank(rank, world, port):
    import torch
    import torch.distributed as dist

    torch.cuda.set_device(0)
    dev = torch.device("cuda", 0)
    dist.init_process_group("nccl", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world)
    failures = []
    n = 1 << 20
    for dtype in (torch.float32, torch.bfloat16, torch.int32):
        inputs = expected_inputs(world, n, dtype, torch)
        total = sum(x.to(torch.float64) for x in inputs)
        mine = inputs[rank].to(dev)

        t = mine.clone()
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        check(f"all_reduce sum {dtype}", t, total.to(dtype), failures)

        t = mine.clone()
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        check(f"all_reduce max {dtype}", t, inputs[world - 1], failures)

        if dtype != torch.int32:  # AVG is defined for floating types in PyTorch
            t = mine.clone()
            dist.all_reduce(t, op=dist.ReduceOp.AVG)
            check(f"all_reduce avg {dtype}", t, (total / world).to(dtype), failures)

        out = torch.empty(world * n, dtype=dtype, device=dev)
        dist.all_gather_into_tensor(out, mine)
        check(f"all_gather {dtype}", out, torch.cat(inputs), failures)

        big = torch.cat([inputs[rank]] * world).to(dev)
        part = torch.empty(n, dtype=dtype, device=dev)
        dist.reduce_scatter_tensor(part, big, op=dist.ReduceOp.SUM)
        check(f"reduce_scatter {dtype}", part, total.to(dtype), failures)

        t = mine.clone()
        dist.broadcast(t, src=1 % world)
        check(f"broadcast {dtype}", t, inputs[1 % world], failures)

        t = mine.clone()
        dist.reduce(t, dst=0, op=dist.ReduceOp.SUM)
        if rank == 0:
            check(f"reduce {dtype}", t, total.to(dtype), failures)

        if dtype != torch.int32 and hasattr(dist, "_make_nccl_premul_sum"):
            # FSDP's pre-divided gradients: ncclRedOpCreatePreMulSum underneath (x0.5: exact).
            part = torch.empty(n, dtype=dtype, device=dev)
            dist.reduce_scatter_tensor(part, big, op=dist._make_nccl_premul_sum(0.5))
            want = (total * nccl_premul_factor(0.5, dtype, torch)).to(dtype)
            check(f"reduce_scatter premul_sum {dtype}", part, want, failures)

    # Point to point, as pipeline and expert parallelism use it: a ring exchange of batched
    # isend/irecv, and all_to_all_single (grouped ncclSend/ncclRecv underneath).
    n = 1 << 16
    inputs = expected_inputs(world, n, torch.float32, torch)
    right, left = (rank + 1) % world, (rank - 1) % world
    got = torch.empty(n, dtype=torch.float32, device=dev)
    ops = [dist.P2POp(dist.isend, inputs[rank].to(dev), right),
           dist.P2POp(dist.irecv, got, left)]
    for req in dist.batch_isend_irecv(ops):
        req.wait()
    check("batch_isend_irecv ring", got, inputs[left], failures)

    block = 1000
    send = torch.cat([torch.full((block,), float(rank * 100 + q)) for q in range(world)]).to(dev)
    recv = torch.empty(world * block, dtype=torch.float32, device=dev)
    dist.all_to_all_single(recv, send)
    want = torch.cat([torch.full((block,), float(q * 100 + rank)) for q in range(world)])
    check("all_to_all_single", recv, want, failures)

    dist.barrier()
    dist.destroy_process_group()
    return failures


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ranks", type=int, default=4)
    a = ap.parse_args()
    import torch
    import torch.multiprocessing as mp

    if not torch.cuda.is_available():
        print("SKIPPED: no CUDA device")
        return 77
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=worker, args=(r, a.ranks, port, q)) for r in range(a.ranks)]
    for p in procs:
        p.start()
    results = {}
    for _ in procs:
        try:
            rank, failures = q.get(timeout=170)
        except Exception:
            break
        results[rank] = failures
    for p in procs:
        p.join(timeout=30)
        if p.is_alive():
            p.kill()
    ok = len(results) == a.ranks and all(not f for f in results.values())
    library = "Weft (LD_PRELOAD)" if "libnccl" in os.environ.get("LD_PRELOAD", "") else "PyTorch's NCCL"
    for r in range(a.ranks):
        f = results.get(r)
        print(f"rank {r}: " + ("no result (crashed or hung)" if f is None else
                               "every check passed" if not f else "; ".join(f)))
    print(f"torch.distributed nccl on {library}, {a.ranks} ranks on GPU 0: "
          f"{'every check passed' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

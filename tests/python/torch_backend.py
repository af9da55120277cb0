"""torch.distributed on backend "weft", as a PyTorch user calls it: started by torchrun
(env://), every op of issue's list checked exactly on integer-valued tensors, async work,
a subgroup, bad input refused on every rank, and a rank that dies named in the others'
errors. Prints "rank R: N checks passed"."""
import os
import sys

import torch
import torch.distributed as dist

import weft.distributed  # noqa: F401 (registers the backend)

checks = 0


def expect(cond, what):
    global checks
    if not cond:
        raise AssertionError(f"rank {dist.get_rank()}: {what}")
    checks += 1


def refused(fn, words):
    try:
        fn()
    except (RuntimeError, ValueError) as e:
        expect(words in str(e), f"refusal says {words!r}: {e}")
        return
    raise AssertionError(f"accepted; expected a refusal saying {words!r}")


def main():
    # Before init: torch's own clear error, no hang.
    refused(lambda: dist.all_reduce(torch.ones(2)), "not been initialized")
    dist.init_process_group("weft")
    r, n = dist.get_rank(), dist.get_world_size()
    expect(dist.get_backend() == "weft", "backend name")
    ar = torch.arange(12)

    for dtype in (torch.int8, torch.uint8, torch.int32, torch.int64, torch.float16,
                  torch.bfloat16, torch.float32, torch.float64):
        x = (ar % 5 + r).to(dtype)
        dist.all_reduce(x)
        expect(torch.equal(x, (n * (ar % 5) + n * (n - 1) // 2).to(dtype)), f"sum {dtype}")
        for op, want in ((dist.ReduceOp.MAX, ar % 5 + n - 1), (dist.ReduceOp.MIN, ar % 5)):
            x = (ar % 5 + r).to(dtype)
            dist.all_reduce(x, op=op)
            expect(torch.equal(x, want.to(dtype)), f"{op} {dtype}")
        x = torch.full((7,), 1 + r % 2).to(dtype)
        dist.all_reduce(x, op=dist.ReduceOp.PRODUCT)
        expect(torch.all(x == 2 ** (n // 2)), f"product {dtype}")

    x = torch.full((5,), 2.0 * (r + 1))
    dist.all_reduce(x, op=dist.ReduceOp.AVG)
    expect(torch.all(x == n + 1), "avg")

    # all_gather: list, and into one tensor.
    out = [torch.empty(3, dtype=torch.int64) for _ in range(n)]
    dist.all_gather(out, torch.full((3,), r))
    expect(all(torch.all(out[q] == q) for q in range(n)), "all_gather list")
    # The list as views of one buffer (FSDP's flat parameters): written in place, exact; and
    # views out of order (not end to end) go through the copy, exact too.
    whole = torch.full((3 * n,), -1, dtype=torch.int64)
    dist.all_gather(list(whole.split(3)), torch.full((3,), r))
    expect(torch.equal(whole, torch.arange(n).repeat_interleave(3)), "all_gather into views")
    whole = torch.full((3 * n,), -1, dtype=torch.int64)
    views = list(whole.split(3))[::-1]
    dist.all_gather(views, torch.full((3,), r))
    expect(torch.equal(whole, torch.arange(n).flip(0).repeat_interleave(3)),
           "all_gather into views out of order")
    gather_into = getattr(dist, "all_gather_into_tensor", None) or dist._all_gather_base
    flat = torch.empty(3 * n, dtype=torch.int64)
    gather_into(flat, torch.full((3,), r))
    expect(torch.equal(flat, torch.arange(n).repeat_interleave(3)), "all_gather_into_tensor")

    # reduce_scatter: list, and from one tensor.
    rs = torch.empty(2, dtype=torch.int64)
    dist.reduce_scatter(rs, [torch.full((2,), q + r) for q in range(n)])
    expect(torch.all(rs == n * r + n * (n - 1) // 2), "reduce_scatter list")
    src = torch.arange(2 * n) + r
    rs = torch.empty(2, dtype=torch.int64)
    dist.reduce_scatter(rs, list(src.split(2)))
    expect(torch.equal(rs, n * torch.arange(2 * r, 2 * r + 2) + n * (n - 1) // 2),
           "reduce_scatter from views")
    scatter_from = getattr(dist, "reduce_scatter_tensor", None) or dist._reduce_scatter_base
    rs2 = torch.empty(2, dtype=torch.int64)
    scatter_from(rs2, torch.arange(2 * n))
    expect(torch.equal(rs2, n * torch.arange(2 * r, 2 * r + 2)), "reduce_scatter_tensor")

    b = torch.full((4,), r)
    dist.broadcast(b, src=n - 1)
    expect(torch.all(b == n - 1), "broadcast")
    red = torch.full((4,), r + 1)
    dist.reduce(red, dst=0)
    if r == 0:
        expect(torch.all(red == n * (n + 1) // 2), "reduce")
    dist.barrier()

    # all_to_all: lists, equal blocks, uneven splits.
    outs = [torch.empty(2, dtype=torch.int64) for _ in range(n)]
    dist.all_to_all(outs, [torch.full((2,), 100 * r + q) for q in range(n)])
    expect(all(torch.all(outs[p] == 100 * p + r) for p in range(n)), "all_to_all")
    single = torch.empty(n, dtype=torch.int64)
    dist.all_to_all_single(single, torch.tensor([100 * r + q for q in range(n)]))
    expect(torch.equal(single, torch.tensor([100 * p + r for p in range(n)])), "all_to_all_single")
    # Rank r sends q+1 rows to rank q; so it receives r+1 rows from everyone.
    send_rows = [q + 1 for q in range(n)]
    inp = torch.cat([torch.full((q + 1, 2), 10 * r + q) for q in range(n)])
    got = torch.empty(((r + 1) * n, 2), dtype=torch.int64)
    dist.all_to_all_single(got, inp, output_split_sizes=[r + 1] * n, input_split_sizes=send_rows)
    want = torch.cat([torch.full((r + 1, 2), 10 * p + r) for p in range(n)])
    expect(torch.equal(got, want), "all_to_all_single with splits")

    # Point to point, and async work with futures.
    into = torch.empty(3, dtype=torch.int64)
    s = dist.isend(torch.full((3,), r), (r + 1) % n)
    q = dist.irecv(into, (r - 1) % n)
    s.wait()
    q.wait()
    expect(torch.all(into == (r - 1) % n), "isend/irecv ring")
    works = [dist.all_reduce(torch.full((16,), k + r), async_op=True) for k in range(4)]
    for k, w in enumerate(works):
        w.wait()
        expect(torch.all(w.result()[0] == n * k + n * (n - 1) // 2), f"async all_reduce {k}")
    fut = dist.all_reduce(torch.ones(8), async_op=True).get_future()
    expect(torch.all(fut.wait()[0] == n), "future")

    # A subgroup of the first two ranks.
    sub = dist.new_group([0, 1])
    if r < 2:
        x = torch.full((4,), r + 1)
        dist.all_reduce(x, group=sub)
        expect(torch.all(x == 3), "subgroup all_reduce")
    dist.barrier()

    # Bad input: refused in the caller on every rank, and the job goes on.
    refused(lambda: dist.all_reduce(torch.zeros(4, dtype=torch.bool)), "not supported")
    # Complex sums torch itself hands over as real pairs: they work.
    c = torch.full((3,), complex(r, 1), dtype=torch.complex64)
    dist.all_reduce(c)
    expect(torch.all(c == complex(n * (n - 1) // 2, n)), "complex sum")
    refused(lambda: dist.all_reduce(torch.zeros(4, 4)[:, 1]), "not contiguous")
    refused(lambda: dist.all_reduce(torch.zeros(4, dtype=torch.int32), op=dist.ReduceOp.BAND),
            "not supported")
    refused(lambda: dist.send(torch.zeros(2), (r + 1) % n, tag=7), "tags are not supported")
    x = torch.ones(3)
    dist.all_reduce(x)
    expect(torch.all(x == n), "the job goes on after refusals")

    # Calls that differ between ranks: a group made with WEFT_CHECK=1 fails them on every
    # rank, naming both sides, where without it they would run on stale or wrong data.
    os.environ["WEFT_CHECK"] = "1"
    checked = dist.new_group(backend="weft")
    del os.environ["WEFT_CHECK"]
    mismatched = dist.all_reduce(torch.ones(4 + (r == 0)), group=checked, async_op=True)
    try:
        mismatched.wait()
        raise AssertionError("mismatched all_reduce calls succeeded under WEFT_CHECK=1")
    except RuntimeError as e:
        expect("ranks disagree" in str(e), f"the error says the ranks disagree: {e}")

    # A rank that dies: the others' next call raises, naming it (the last rank leaves at
    # once, as a killed process would, without destroying anything).
    if r == n - 1:
        print(f"rank {r}: {checks} checks passed (now leaving the job)", flush=True)
        os._exit(0)
    try:
        dist.all_reduce(torch.ones(1024))
        raise AssertionError("an all_reduce with a dead rank succeeded")
    except RuntimeError as e:
        expect(f"rank {n - 1}" in str(e), f"the error names rank {n - 1}: {e}")
    print(f"rank {r}: {checks} checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

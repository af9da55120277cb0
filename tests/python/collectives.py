"""The weft package on every rank of a job (run by tests/python/run.sh under weft-run): every
collective and point-to-point call on numpy arrays of every type, exact on integer-valued
data; CPU torch tensors where torch is installed; bad input refused with WeftError on every
rank, the job going on after it. Prints "rank R: N checks passed" or raises."""
import sys

import numpy as np

import weft

checks = 0


def expect(cond, what):
    global checks
    if not cond:
        raise AssertionError(what)
    checks += 1


def refused(fn, words):
    try:
        fn()
    except weft.WeftError as e:
        expect(words in str(e), f"refusal says {words!r}: {e}")
        return
    raise AssertionError(f"accepted; expected a refusal saying {words!r}")


def run(comm):
    r, n = comm.rank, comm.size
    expect(weft.version() >= (0, 1, 0), "version")
    for dtype in (np.int8, np.uint8, np.int32, np.uint32, np.int64, np.uint64, np.float16,
                  np.float32, np.float64):
        count = 37
        base = np.arange(count) % 5  # small: sums and products stay exact in every type
        x = (base + r).astype(dtype)
        comm.all_reduce(x)
        expect(np.array_equal(x, (n * base + n * (n - 1) // 2).astype(dtype)), f"sum {dtype}")
        x = (base + r).astype(dtype)
        y = np.empty_like(x)
        comm.all_reduce(x, op="max", out=y)
        expect(np.array_equal(y, (base + n - 1).astype(dtype)), f"max {dtype}")
        comm.all_reduce(x, op="min", out=y)
        expect(np.array_equal(y, base.astype(dtype)), f"min {dtype}")
        ones = np.full(count, 1 + (r % 2), dtype=dtype)
        comm.all_reduce(ones, op="prod")
        expect(np.all(ones == 2 ** (n // 2)), f"prod {dtype}")

        g = comm.all_gather(np.full(3, r, dtype=dtype))
        expect(np.array_equal(g, np.repeat(np.arange(n), 3).astype(dtype)), f"all_gather {dtype}")

        rs = comm.reduce_scatter(np.arange(2 * n).astype(dtype))
        expect(np.array_equal(rs, (n * np.arange(2 * r, 2 * r + 2)).astype(dtype)),
               f"reduce_scatter {dtype}")

        b = np.full(5, r, dtype=dtype)
        comm.broadcast(b, root=n - 1)
        expect(np.all(b == n - 1), f"broadcast {dtype}")

        red = np.full(4, r + 1, dtype=dtype)
        comm.reduce(red, root=0)
        if r == 0:
            expect(np.all(red == n * (n + 1) // 2), f"reduce {dtype}")

        a2a = np.array([100 * r + q for q in range(n) for _ in range(2)]).astype(np.int32)
        got = comm.all_to_all(a2a)
        expect(np.array_equal(got, np.array([100 * p + r for p in range(n) for _ in range(2)])),
               "all_to_all")

    # avg divides once, at the end.
    x = np.full(8, 2.0 * (r + 1), dtype=np.float64)
    comm.all_reduce(x, op="avg")
    expect(np.all(x == n + 1), "avg")

    # A ring of sends and receives.
    out = np.full(6, r, dtype=np.int64)
    into = np.empty(6, dtype=np.int64)
    if r % 2 == 0:
        comm.send(out, (r + 1) % n)
        comm.recv(into, (r - 1) % n)
    else:
        comm.recv(into, (r - 1) % n)
        comm.send(out, (r + 1) % n)
    expect(np.all(into == (r - 1) % n), "send/recv ring")
    comm.barrier()

    # Bad input: refused on every rank, before any rank calls, so the job goes on.
    refused(lambda: comm.all_reduce(np.zeros(4, dtype=np.complex64)), "not supported")
    refused(lambda: comm.all_reduce(np.zeros((4, 4), dtype=np.float32)[:, 1]), "not contiguous")
    refused(lambda: comm.all_reduce([1, 2, 3]), "expected a numpy array")
    refused(lambda: comm.all_reduce(np.zeros(4, dtype=np.float32), op="mean"), "unknown op")
    refused(lambda: comm.reduce_scatter(np.zeros(n + 1, dtype=np.float32)), "equal blocks")
    refused(lambda: comm.all_reduce(np.zeros(4, dtype=np.float32),
                                    out=np.zeros(4, dtype=np.float64)), "type differs")
    ro = np.zeros(4, dtype=np.float32)
    ro.setflags(write=False)
    refused(lambda: comm.all_reduce(ro), "read-only")
    # Weft's own refusal, with its code: a root out of range.
    refused(lambda: comm.broadcast(np.zeros(4, dtype=np.float32), root=n), "root")
    x = np.full(3, 1, dtype=np.int32)
    comm.all_reduce(x)
    expect(np.all(x == n), "the job goes on after refusals")

    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        t = torch.arange(10, dtype=torch.float32) + r
        comm.all_reduce(t)
        expect(torch.equal(t, n * torch.arange(10, dtype=torch.float32) + n * (n - 1) // 2),
               "torch all_reduce")
        g = comm.all_gather(torch.full((2,), r, dtype=torch.int64))
        expect(torch.equal(g, torch.arange(n).repeat_interleave(2)), "torch all_gather")
        refused(lambda: comm.all_reduce(torch.zeros(4, 4)[:, 1]), "not contiguous")
    return torch is not None


def main():
    with weft.init() as comm:
        had_torch = run(comm)
        print(f"rank {comm.rank}: {checks} checks passed"
              f"{'' if had_torch else ' (no torch here: tensors not checked)'}")
    # Used after destroy: refused, not a crash.
    refused(lambda: comm.barrier(), "destroyed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

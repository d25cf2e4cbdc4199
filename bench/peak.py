"""What this CPU can do: a dense GEMM microbenchmark, float32 (and int8), at 1 and 2 threads.

    python bench/peak.py [--quick] [--threads 1 2] [--out FILE]

``torch.mm`` of two n x n float32 matrices (MKL/oneDNN, the same kernels the PyTorch models use)
and NumPy's ``@`` (its own BLAS, threads set with threadpoolctl), best of several repetitions:
GFLOP/s = 2 n^3 / seconds. Plus ``torch._int_mm`` (int8 x int8 -> int32, VNNI where the CPU has it)
in GOP/s, the ceiling for the int8 models. The best of these is the "peak" the models' achieved
GFLOP/s are compared with: a large GEMM is the most favourable workload a CPU gets, so no network
layer runs faster.
"""

from __future__ import annotations

import time

from bench.common import finish, load_average, parse_common


def best_rate(fn, flops: float, reps: int, min_s: float = 0.2) -> float:
    """Best GFLOP/s of ``fn()`` over ``reps`` timed calls (after one warm-up), each call repeated
    until it has run ``min_s``."""
    fn()
    best = 0.0
    for _ in range(reps):
        n, t0 = 0, time.perf_counter()
        while True:
            fn()
            n += 1
            dt = time.perf_counter() - t0
            if dt >= min_s:
                break
        best = max(best, flops * n / dt / 1e9)
    return best


def measure(threads: int, n: int, reps: int) -> dict:
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    out = {"torch_fp32_gflops": best_rate(lambda: torch.mm(a, b), 2 * n**3, reps)}
    an, bn = a.numpy(), b.numpy()
    with threadpool_limits(limits=threads):
        out["numpy_fp32_gflops"] = best_rate(lambda: an @ bn, 2 * n**3, reps)
    try:
        ai = torch.randint(-128, 127, (n, n), dtype=torch.int8)
        bi = torch.randint(-128, 127, (n, n), dtype=torch.int8)
        out["torch_int8_gops"] = best_rate(lambda: torch._int_mm(ai, bi), 2 * n**3, reps)
    except (RuntimeError, AttributeError) as exc:  # no CPU kernel in this torch build
        out["torch_int8_gops"] = None
        out["int8_note"] = str(exc).splitlines()[0]
    out["fp32_peak_gflops"] = max(out["torch_fp32_gflops"], out["numpy_fp32_gflops"])
    return out


def main(argv: list[str] | None = None) -> dict:
    def extra(ap):
        ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
        ap.add_argument("--n", type=int, default=0, help="matrix side (default 2048; quick 1024)")

    args = parse_common(argv, __doc__.splitlines()[0], extra)
    n = args.n or (1024 if args.quick else 2048)
    reps = 3 if args.quick else 7
    result = {"n": n, "reps": reps, "load_average": load_average(), "threads": {}}
    for t in args.threads:
        r = measure(t, n, reps)
        result["threads"][str(t)] = r
        int8 = f", int8 {r['torch_int8_gops']:.0f} GOP/s" if r.get("torch_int8_gops") else ""
        print(
            f"GEMM {n}x{n}, {t} thread(s): torch fp32 {r['torch_fp32_gflops']:.1f} GFLOP/s, numpy fp32 "
            f"{r['numpy_fp32_gflops']:.1f} GFLOP/s{int8}",
            flush=True,
        )
    return finish(args, result)


if __name__ == "__main__":
    main()

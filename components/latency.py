"""Latency as docs/architecture.md#metrics defines it: batch 1, after warm-up, median and p95 ms per call, and fps.

One loop for every model form (PyTorch, ONNX Runtime, LiteRT), so their numbers are comparable.
No framework imports: callers set their own thread counts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np


def time_calls(call: Callable, inputs: Sequence, warmup: int, runs: int) -> dict[str, float]:
    """``call(inputs[i % len(inputs)])`` ``warmup`` times untimed, then ``runs`` times timed."""
    for i in range(warmup):
        call(inputs[i % len(inputs)])
    times = []
    for i in range(runs):
        t0 = time.perf_counter()
        call(inputs[i % len(inputs)])
        times.append((time.perf_counter() - t0) * 1000)
    return summarize(times)


def summarize(times_ms: Sequence[float]) -> dict[str, float]:
    """p50/p95 ms and fps (1000 / mean) of per-call times in ms, however they were taken."""
    return {
        "latency_ms_p50": float(np.median(times_ms)),
        "latency_ms_p95": float(np.percentile(times_ms, 95)),
        "fps": 1000.0 / float(np.mean(times_ms)),
    }

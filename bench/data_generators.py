"""Throughput of the synthetic generators and of manifest building, in images/s, in one process and
on a Dask LocalCluster, and where the cluster starts to pay off.

    python bench/data_generators.py [--frames 120] [--workers 2]

Each step runs in this process, then on a ``LocalCluster`` of ``--workers`` processes started once
(its start-up is timed on its own; the size thresholds are lifted so that both paths run at any
size). The crossover ``n* = start-up / (1/X1 - 1/XN)`` is the input size from which the cluster,
start-up included, finishes first: the ``MIN_FANOUT_*`` thresholds are set from it. Numbers go to
docs/benchmarks.md and docs/operations.md; the load average is printed (shared machines).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from components.data import manifest
from components.data.manifest import Splits, build_crack_manifest, build_ocr_manifest
from components.data.synth_cracks import dataset as crack_dataset
from components.data.synth_cracks import generate_crack_dataset
from components.data.synth_resistors import dataset as resistor_dataset
from components.data.synth_resistors import generate_resistor_dataset


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    from distributed import Client

    from components.fanout import local_cluster

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=120)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    resistor_dataset.MIN_FANOUT_FRAMES = crack_dataset.MIN_FANOUT_FRAMES = manifest.MIN_FANOUT_FILES = 0
    splits, n = Splits(0.8, 0.1, 0.1), a.frames
    print(f"{os.cpu_count()} cores, {a.workers} Dask workers, load {os.getloadavg()[0]:.1f}", flush=True)
    t = time.perf_counter()
    cluster = local_cluster(a.workers)
    client = Client(cluster, set_as_default=False)
    client.wait_for_workers(a.workers)
    start = time.perf_counter() - t
    print(f"cluster start-up {start:.1f} s", flush=True)
    with tempfile.TemporaryDirectory() as tmp, client, cluster:
        ocr, crack = Path(tmp) / "ocr", Path(tmp) / "crack"
        steps = [
            (
                "generate resistor frames 1280x960 (JPEG)",
                lambda c, out: generate_resistor_dataset(out, n, 0, workers=1, progress=False, client=c),
                ocr,
            ),
            (
                "generate crack frames 384x288 (PNG)",
                lambda c, out: generate_crack_dataset(out, n, 0, workers=1, progress=False, client=c),
                crack,
            ),
            (
                "OCR manifest (decode + sha256 + boxes)",
                lambda c, out: build_ocr_manifest(ocr, splits, 50_000_000, progress=False, client=c),
                None,
            ),
            (
                "crack manifest (decode + sha256 + mask)",
                lambda c, out: build_crack_manifest(crack, splits, 50_000_000, 5, progress=False, client=c),
                None,
            ),
        ]
        for label, run, out in steps:
            one = timed(lambda run=run, out=out: run(None, out))
            if out is not None:
                shutil.rmtree(out)
            many = timed(lambda run=run, out=out: run(client, out))
            x1, xn = n / one, n / many
            cross = f"{start / (1 / x1 - 1 / xn):.0f}" if xn > x1 else "never"
            print(
                f"{label:<42s} {n} images: 1 process {x1:6.1f}/s, {a.workers} workers {xn:6.1f}/s "
                f"(x{xn / x1:.2f}); crossover {cross} images; load {os.getloadavg()[0]:.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()

"""Throughput of the synthetic generators and of manifest building, in images/s.

    python bench/data_generators.py [--frames 120] [--workers 2]

Prints one line per step; numbers go to docs/benchmarks.md and the issue notes.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from components.data.manifest import Splits, build_crack_manifest, build_ocr_manifest
from components.data.synth_cracks import generate_crack_dataset
from components.data.synth_resistors import generate_resistor_dataset


def timed(label: str, n: int, fn) -> float:
    t = time.perf_counter()
    fn()
    dt = time.perf_counter() - t
    print(f"{label:<44s} {n:5d} images  {dt:7.2f} s  {n / dt:7.1f} images/s", flush=True)
    return dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=120)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    a = ap.parse_args()
    splits = Splits(0.8, 0.1, 0.1)
    print(f"{os.cpu_count()} cores, workers={a.workers}")
    with tempfile.TemporaryDirectory() as tmp:
        ocr, crack = Path(tmp) / "ocr", Path(tmp) / "crack"
        timed("generate resistor frames 1280x960 (JPEG)", a.frames,
              lambda: generate_resistor_dataset(ocr, a.frames, 0, workers=a.workers, progress=False))
        timed("generate crack frames 384x288 (PNG)", a.frames,
              lambda: generate_crack_dataset(crack, a.frames, 0, workers=a.workers, progress=False))
        timed("OCR manifest (decode + sha256 + boxes)", a.frames,
              lambda: build_ocr_manifest(ocr, splits, 50_000_000, workers=a.workers, progress=False))
        timed("crack manifest (decode + sha256 + mask)", a.frames,
              lambda: build_crack_manifest(crack, splits, 50_000_000, 5, workers=a.workers, progress=False))


if __name__ == "__main__":
    main()

"""Latency of the whole two-stage OCR path at batch 1 (DESIGN §6), at 1 and 2 torch threads.

    python bench/ocr_latency.py [--frames 16] [--runs 50] [--warmup 5] [--threads 1 2]

Frame -> /4 -> stage 1 -> crops -> stage 2 -> reading order, JPEG decoding excluded, float32 on
the CPU. Prints median / p95 ms per frame and frames/s, plus the stage-1 and stage-2 shares.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch

from components.config import load_params
from components.ocr.data import downsample, load_frames, to_tensor
from components.ocr.evaluate import latency
from components.ocr.predict import TwoStageOcr
from flows.ocr_common import CHAR_MODEL, DATA, MANIFEST, ROI_MODEL


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    a = ap.parse_args()
    e = load_params().ocr.eval
    ocr = TwoStageOcr.load(ROI_MODEL, CHAR_MODEL, roi_score_threshold=e.roi_score_threshold,
                           char_score_threshold=e.char_score_threshold, dedupe_iou=e.dedupe_iou)
    images = [f.image() for f in load_frames(MANIFEST, DATA, "test", a.frames)]
    rois = np.mean([len(ocr(im).rois) for im in images])
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; {len(images)} test frames, "
          f"{rois:.2f} ROIs/frame; torch {torch.__version__}")
    for t in a.threads:
        r = latency(ocr, images, a.warmup, a.runs, t)
        torch.set_num_threads(t)
        with torch.no_grad():
            t0 = time.perf_counter()
            for im in images:
                ocr.roi_model([to_tensor(downsample(im, ocr.roi_spec["size"]))])
            stage1 = (time.perf_counter() - t0) / len(images) * 1000
        print(f"threads={t}: latency p50 {r['latency_ms_p50']:.1f} ms, p95 {r['latency_ms_p95']:.1f} ms, "
              f"{r['fps']:.1f} frames/s (stage 1 alone {stage1:.1f} ms)", flush=True)


if __name__ == "__main__":
    main()

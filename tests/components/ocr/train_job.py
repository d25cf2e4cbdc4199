"""A stage-1 training run for the resume test: ``python -m tests.components.ocr.train_job ROOT CKPT OUT``.

Prints ``resumed-at <epoch>`` (0 = fresh start) and ``epoch <n>`` after each epoch; epoch 2
is followed by a pause of ``--pause`` seconds so the test can kill the process mid-run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from components.config import parse_params
from components.ocr.data import load_frames
from components.ocr.train import train_roi_model
from tests.helpers.ocr import tiny_params


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("root", type=Path)
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--pause", type=float, default=0.0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    p = parse_params(tiny_params(epochs=args.epochs)).ocr.roi
    frames = load_frames(args.root / "data/manifests/ocr.parquet", args.root / "data/ocr", "train")

    def on_epoch(row: dict) -> None:
        print(f"epoch {row['epoch']}", flush=True)
        if row["epoch"] == 2:
            time.sleep(args.pause)

    def log(msg: str) -> None:
        print(msg, flush=True)

    summary = train_roi_model(
        frames,
        frames[:2],
        p,
        device="cpu",
        checkpoint=args.checkpoint,
        fingerprint="resume-test",
        out=args.out,
        on_epoch=on_epoch,
        progress=False,
        log=log,
    )
    print("history " + " ".join(str(r["epoch"]) for r in summary["history"]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

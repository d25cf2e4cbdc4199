"""One replica of the DDP tests: ``torchrun --nproc_per_node=2 -m tests.components.ocr.ddp_job ROOT OUT``.

Trains stage 1 (``--stage char``: stage 2 on crops of an untrained stage-1 model) on the tiny
fixture with small batches, so each replica takes several DDP steps, and writes
``OUT/rank<R>.json``: the hash of the model's parameters and buffers when it was built and after
training, the training samples this replica read, and the epochs the rank-0-only callback ran for
here. ``--fail-at-epoch E`` makes that callback raise at epoch E (after the checkpoint of epoch
E - 1 is written), so that a rerun has something to resume.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import torch

import components.ocr.train as train_module
from components.config import parse_params
from components.ocr.data import CropDataset, RoiDataset, load_frames
from components.ocr.model import build_ssd, parameter_hash, roi_spec
from tests.helpers.ocr import tiny_params

seen: list[int] = []  # training samples this replica read, in order
built: list = []  # (model, hash at construction) of the model being trained


class RecordingRoiDataset(RoiDataset):
    def __getitem__(self, i):
        if self.transform is not None:  # the training set (validation frames have no transform)
            seen.append(int(i))
        return super().__getitem__(i)


class RecordingCropDataset(CropDataset):
    def __getitem__(self, i):
        seen.append(int(i))
        return super().__getitem__(i)


def recording_build_ssd(spec):
    model = build_ssd(spec)
    built.append((model, parameter_hash(model)))
    return model


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("root", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--stage", choices=["roi", "char"], default="roi")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--fail-at-epoch", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    train_module.RoiDataset, train_module.CropDataset = RecordingRoiDataset, RecordingCropDataset
    train_module.build_ssd = recording_build_ssd
    ocr = parse_params(tiny_params(epochs=args.epochs)).ocr
    frames = load_frames(args.root / "data/manifests/ocr.parquet", args.root / "data/ocr", "train")
    called: list[int] = []

    def on_epoch(row: dict) -> None:
        called.append(int(row["epoch"]))
        if row["epoch"] == args.fail_at_epoch:
            raise RuntimeError(f"planned failure at epoch {row['epoch']}")

    common = {
        "device": "cpu",
        "checkpoint": args.out / f"{args.stage}_last.pt",
        "fingerprint": "ddp-test",
        "out": args.out / f"{args.stage}.pt",
        "on_epoch": on_epoch,
        "progress": False,
        "log": print,
    }
    if args.stage == "roi":  # batches of 1 frame: 3 steps per replica on the 6 frames
        p = ocr.roi.model_copy(update={"batch_size": 1})
        summary = train_module.train_roi_model(frames, frames[:1], p, **common)
    else:  # crops of the ground-truth ROIs only (an untrained stage 1 finds nothing above 0.99)
        p = ocr.char.model_copy(update={"batch_size": 2, "gt_roi_crops": True, "roi_score_threshold": 0.99})
        roi = build_ssd(roi_spec(ocr.roi))
        summary = train_module.train_char_model(frames, frames[:1], p, roi, ocr.roi.input_size, **common)
    model, initial = built[-1]
    rank = int(os.environ["RANK"])
    (args.out / f"rank{rank}.json").write_text(
        json.dumps(
            {
                "rank": rank,
                "world_size": int(os.environ["WORLD_SIZE"]),
                "initial": initial,
                "final": parameter_hash(model),
                "seen": seen,
                "on_epoch": called,
                "history": [int(r["epoch"]) for r in summary["history"]],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

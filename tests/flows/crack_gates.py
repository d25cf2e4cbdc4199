"""Inputs of the crack register flow for tests: the fixed evaluation sets and the gate's numbers.

The gate tests are about the decision for given numbers, not about model quality, so they write
the metrics files and the per-frame tables (what the paired gates compare) themselves.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from components.data.manifest import FixedSplit, build_crack_manifest
from components.per_frame import write_frames
from tests.helpers.data import make_crack_dataset

FRAMES = [f"f{i:03d}" for i in range(400)]


def make_eval_sets(root: Path, n: int = 4) -> None:
    """``data/eval/crack/{test,ood}`` with their manifests, as the eval_data_crack stage writes them."""
    for i, eval_set in enumerate(("test", "ood")):
        make_crack_dataset(root / f"data/eval/crack/{eval_set}", n=n, seed=i + 1)
        build_crack_manifest(
            root / f"data/eval/crack/{eval_set}", FixedSplit(eval_set), 50_000_000, 5, progress=False
        ).to_parquet(root / f"data/manifests/crack_{eval_set}.parquet")


def per_frame(root: Path, stage: str, form: str, mean_dice: float, names: list[str]) -> None:
    """A per-frame table whose frames score ``mean_dice`` on average (1000 truth and 1000 predicted
    pixels each: Dice = TP / 1000), spread around it the same way for every model, so two tables
    differ by a constant per frame, as a model and its faithful quantization nearly do."""
    spread = np.random.default_rng(0).uniform(-0.1, 0.1, len(names))
    tp = np.round(1000 * np.clip(mean_dice + spread - spread.mean(), 0, 1)).astype(int)
    n = len(names)
    write_frames(
        root / f"reports/per_frame/{stage}/{form}_test.parquet",
        names,
        {
            "tp": tp,
            "fp": 1000 - tp,
            "fn": 1000 - tp,
            "pred_area": np.full(n, 1000),
            "truth_area": np.full(n, 1000),
            "pixels": np.full(n, 100_000),
        },
    )


def write_gate_inputs(root: Path, quantized: float, float_parent: float, names: list[str] = FRAMES) -> None:
    """The metrics files and per-frame tables of a candidate and its float parent."""
    (root / "metrics").mkdir(exist_ok=True)
    (root / "metrics/export_crack.json").write_text(
        json.dumps({"tflite_int8": {"dice": quantized, "iou": quantized - 0.1}})
    )
    (root / "metrics/evaluate_crack.json").write_text(json.dumps({"float": {"dice": float_parent}}))
    per_frame(root, "export_crack", "tflite_int8", quantized, names)
    per_frame(root, "evaluate_crack", "float", float_parent, names)

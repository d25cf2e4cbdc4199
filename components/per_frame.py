"""Per-frame evaluation tables: what a model scored on each test frame, kept for later comparisons.

The evaluate and export stages write one table per model form and evaluation set
(``reports/per_frame/<stage>/<form>_<set>.parquet``): one row per frame (its name, then counts such
as true-positive pixels or exact strings). The registry gates read them back to compare two
models *frame by frame* (a paired bootstrap, components/bootstrap.py), and a registered version
carries its own tables so that a later candidate can be compared with it on the same frames.

OCR also keeps its detections with their VOC outcome (``..._rois.parquet``, ``..._chars.parquet``)
and the ground-truth count per frame and class, which is what an interval on mAP needs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from components.io import atomic_path
from components.ocr.metrics import DetectionRecords

PER_FRAME = Path("reports/per_frame")  # <stage>/<form>_<set>[_rois|_chars].parquet, under the project root
NAME = "name"


def table_path(root: str | Path, form: str, eval_set: str, kind: str = "") -> Path:
    return Path(root) / f"{form}_{eval_set}{'_' + kind if kind else ''}.parquet"


def _write(frame: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)
    return path


def write_frames(path: str | Path, names: list[str], columns: dict[str, np.ndarray]) -> Path:
    """One row per frame: ``name`` then each column (all of length ``len(names)``)."""
    bad = [k for k, v in columns.items() if len(v) != len(names)]
    if bad:
        raise ValueError(f"{path}: columns {bad} do not have one value per frame ({len(names)})")
    return _write(pd.DataFrame({NAME: list(names), **{k: np.asarray(v) for k, v in columns.items()}}), Path(path))


def read_frames(path: str | Path) -> tuple[list[str], dict[str, np.ndarray]]:
    """``(names, columns)`` as written by ``write_frames``."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: per-frame table missing; rerun the stage that evaluates this model")
    frame = pd.read_parquet(path)
    return list(frame[NAME]), {c: frame[c].to_numpy() for c in frame.columns if c != NAME}


def write_records(path: str | Path, rec: DetectionRecords) -> Path:
    """Detections with their outcome, and (in ``<path>.gt.parquet``) ground-truth counts per frame and class."""
    path = Path(path)
    _write(pd.DataFrame(rec.to_columns()), path)
    gt = pd.DataFrame(rec.gt_counts, columns=[str(int(c)) for c in rec.classes])
    _write(gt, path.with_suffix(".gt.parquet"))
    return path


def read_records(path: str | Path) -> DetectionRecords:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: detection table missing; rerun the stage that evaluates this model")
    det = pd.read_parquet(path)
    gt = pd.read_parquet(path.with_suffix(".gt.parquet"))
    return DetectionRecords(
        det["frame"].to_numpy(np.int64),
        det["label"].to_numpy(np.int64),
        det["score"].to_numpy(np.float64),
        det["tp"].to_numpy(bool),
        gt.to_numpy(np.int64),
        np.array([int(c) for c in gt.columns], np.int64),
    )

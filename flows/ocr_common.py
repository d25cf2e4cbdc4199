"""Glue shared by the OCR flows: paths, device/threads, fingerprints, per-epoch records."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import mlflow
import torch

from components.io import atomic_write_text, sha256_file
from components.ocr.model import resolve_device

DATA = Path("data/ocr")
MANIFEST = Path("data/manifests/ocr.parquet")
MODELS = Path("models/ocr")
ROI_MODEL = MODELS / "roi.pt"
CHAR_MODEL = MODELS / "char.pt"
# Resume checkpoints live outside DVC's outs: DVC deletes a stage's outs before running it, and a
# resumed run must still find them. Removed once the stage's model is written.
RESUME_DIR = Path(".cache/ocr")
PLOTS = Path("plots")


def setup_torch(ocr) -> torch.device:
    """Threads and device from params (CPU by default, CUDA when present and allowed)."""
    if ocr.threads:
        torch.set_num_threads(ocr.threads)
    return resolve_device(ocr.device)


def fingerprint(*parts) -> str:
    """Identity of a training run: its parameters and the bytes of its inputs. A checkpoint is
    resumed only by a run with the same fingerprint."""
    h = hashlib.sha256()
    for p in parts:
        if isinstance(p, Path):
            h.update(sha256_file(p).encode())
        else:
            h.update(json.dumps(p, sort_keys=True, default=str).encode())
    return h.hexdigest()


def write_history_csv(path: Path, history: list[dict]) -> None:
    """The per-epoch table for ``dvc plots`` (x = epoch), rewritten whole after each epoch."""
    keys: list[str] = []
    for row in history:
        keys += [k for k in row if k not in keys]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=keys)
    w.writeheader()
    w.writerows(history)
    atomic_write_text(path, buf.getvalue())


def param_dict(model, prefix: str = "") -> dict[str, str]:
    """Every leaf of a params sub-model as ``a.b`` -> value, strings and lists included (for
    mlflow.log_params; ``flows.common.flat`` keeps numbers only, as metrics need)."""
    out: dict[str, str] = {}
    for k, v in (model.model_dump() if hasattr(model, "model_dump") else model).items():
        if isinstance(v, dict):
            out.update(param_dict(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = str(list(v)) if isinstance(v, tuple) else str(v)
    return out


def log_epoch(row: dict) -> None:
    mlflow.log_metrics({k: float(v) for k, v in row.items() if k != "epoch" and isinstance(v, (int, float))},
                       step=int(row["epoch"]))


PER_FRAME = Path("reports/per_frame")  # <stage>/<form>_<set>[_rois|_chars].parquet


def load_eval_frames(limit: int = 0) -> dict:
    """The fixed evaluation sets (``test``: training styles, ``ood``: held-out styles) as frames."""
    from components.ocr.data import load_frames
    from flows.paths import SETS, set_dir, set_manifest

    out = {name: load_frames(set_manifest("ocr", name), set_dir("ocr", name), name, limit) for name in SETS}
    empty = [name for name, frames in out.items() if not frames]
    if empty:
        raise ValueError(f"evaluation set(s) {', '.join(empty)} have no usable frames; run the eval_data_ocr stage")
    return out


def set_metrics(ev, params, suffix: str = "") -> dict:
    """An evaluation's metrics with bootstrap intervals on the headline keys (keys end in ``suffix``)."""
    from components.ocr.evaluate import intervals

    b = params.bootstrap
    plain = {f"{k}{suffix}": (round(v, 5) if isinstance(v, float) else v) for k, v in ev.metrics.items()}
    return {**plain, **intervals(ev, b.resamples, b.seed, b.confidence, suffix)}


def write_per_frame(stage: str, form: str, eval_set: str, frames, ev) -> None:
    """The per-frame counts and detection outcomes of one evaluation, for paired comparisons."""
    from components.per_frame import table_path, write_frames, write_records

    root = PER_FRAME / stage
    write_frames(table_path(root, form, eval_set), [f.name for f in frames], ev.frames)
    write_records(table_path(root, form, eval_set, "rois"), ev.roi_records)
    write_records(table_path(root, form, eval_set, "chars"), ev.char_records)

"""Glue shared by the OCR flows: paths, device/threads, per-epoch records, evaluation sets, the training CLI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import mlflow
import torch
from prefect import task

from components.io import write_csv
from components.ocr.model import resolve_device
from components.ocr.threshold import resolve_threshold
from flows.common import METRICS_DIR

DATA = Path("data/ocr")
MANIFEST = Path("data/manifests/ocr.parquet")
MODELS = Path("models/ocr")
ROI_MODEL = MODELS / "roi.pt"
CHAR_MODEL = MODELS / "char.pt"
# train_roi's metrics hold the stage-1 threshold it chose on val by F1 (roi_score_threshold: auto)
ROI_METRICS = METRICS_DIR / "train_roi.json"
# Resume checkpoints live outside DVC's outs: DVC deletes a stage's outs before running it, and a
# resumed run must still find them. Removed once the stage's model is written.
RESUME_DIR = Path(".cache/ocr")
PLOTS = Path("plots")


def setup_torch(ocr) -> torch.device:
    """Threads and device from params (CPU by default, CUDA when present and allowed)."""
    if ocr.threads:
        torch.set_num_threads(ocr.threads)
    return resolve_device(ocr.device)


def roi_threshold(root: Path, value: float | str) -> float:
    """A configured stage-1 threshold as a number: ``auto`` is the one train_roi stored in ``ROI_METRICS``."""
    return resolve_threshold(value, root / ROI_METRICS)


# ocr.eval's stage-1 score thresholds: each a number or auto (train_roi's F1 choice on val)
STAGE1_THRESHOLDS = ("roi_score_threshold", "unreadable_roi_threshold", "invalid_roi_threshold")


def reading_thresholds(root: Path, e) -> dict:
    """``ocr.eval``'s reading settings as ``TwoStageOcr`` keyword arguments (``auto`` resolved by ``roi_threshold``):
    one place, so every flow and bench reports and reads ROIs as the pipeline does."""
    return {
        **{k: roi_threshold(root, getattr(e, k)) for k in STAGE1_THRESHOLDS},
        "char_score_threshold": e.char_score_threshold,
        "dedupe_iou": e.dedupe_iou,
        "zoom_glyph_height": e.zoom_glyph_height,
        "zoom_max": e.zoom_max,
        "turned_read": e.turned_read,
    }


@task(name="load-frames")
def load_split(root: Path, split: str, limit: int = 0):
    """The manifest's ``status == ok`` frames of one split of ``data/ocr`` (the first ``limit`` when > 0)."""
    from components.ocr.data import load_frames

    return load_frames(root / MANIFEST, root / DATA, split, limit)


def epoch_recorder(plots: Path) -> Callable[[dict], None]:
    """An ``on_epoch`` callback: each epoch's row to MLflow (step = epoch) and the history so far to
    ``plots`` (the per-epoch table for ``dvc plots``, rewritten whole after each epoch)."""
    history: list[dict] = []

    def on_epoch(row: dict) -> None:
        history.append(row)
        mlflow.log_metrics(
            {k: float(v) for k, v in row.items() if k != "epoch" and isinstance(v, (int, float))},
            step=int(row["epoch"]),
        )
        write_csv(history, plots)

    return on_epoch


def train_command(train: Callable, replica: Callable, module: str, doc: str) -> Callable[[list[str] | None], int]:
    """The command of a training stage: rank 0 (or a plain run) runs the flow ``train``, the other
    torchrun ranks only ``replica`` (no Prefect, no MLflow)."""
    from components.ocr import distributed
    from flows.stage import command

    return command(
        module,
        doc,
        progress=True,
        call=lambda a: train(a.params, progress=not a.no_progress) if distributed.is_main() else replica(a.params),
    )


def load_eval_frames(root: Path, limit: int = 0) -> dict:
    """The fixed evaluation sets (``test``: training styles, ``ood``: held-out styles) as frames."""
    from components.ocr.data import load_frames
    from flows.paths import SETS, set_dir, set_manifest

    out = {
        name: load_frames(root / set_manifest("ocr", name), root / set_dir("ocr", name), name, limit) for name in SETS
    }
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


def write_per_frame(root: Path, stage: str, form: str, eval_set: str, frames, ev) -> None:
    """The per-frame counts and detection outcomes of one evaluation, for paired comparisons."""
    from components.per_frame import PER_FRAME, table_path, write_frames, write_records

    folder = root / PER_FRAME / stage
    write_frames(table_path(folder, form, eval_set), [f.name for f in frames], ev.frames)
    write_records(table_path(folder, form, eval_set, "rois"), ev.roi_records)
    write_records(table_path(folder, form, eval_set, "chars"), ev.char_records)

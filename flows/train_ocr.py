"""Train-OCR flow: stage 2 of the resistor OCR (characters in crops of the frozen stage-1 model).

DVC stage ``train_ocr`` runs ``python -m flows.train_ocr``. Loads ``models/ocr/roi.pt`` frozen,
crops its predictions on the training frames, trains the character SSD, and checks that the ROI
weights did not change (parameter hash before and after, logged as tags). Writes
``models/ocr/char.pt``, ``plots/train_ocr.csv`` and ``metrics/train_ocr.json``; resumes from
``.cache/ocr/`` after a kill like ``train_roi``.

``torchrun --nproc_per_node=N -m flows.train_ocr`` trains with DistributedDataParallel like
``flows.train_roi``: rank 0 runs this flow, the other ranks only train (``replica``).
"""

from __future__ import annotations

import argparse
import sys

import mlflow
from prefect import flow, get_run_logger, task

from components import tracking
from components.config import load_params
from components.ocr import distributed
from components.ocr.data import load_frames
from components.ocr.model import load_model, parameter_hash
from components.ocr.train import train_char_model
from flows.common import tag_prefect_run, write_metrics
from flows.ocr_common import (
    CHAR_MODEL,
    DATA,
    MANIFEST,
    PLOTS,
    RESUME_DIR,
    ROI_MODEL,
    fingerprint,
    log_epoch,
    param_dict,
    setup_torch,
    write_history_csv,
)

STAGE = "train_ocr"


class RoiModelChanged(RuntimeError):
    """The frozen stage-1 model changed while stage 2 trained."""


@task(name="load-frames")
def load(split: str, limit: int = 0):
    return load_frames(MANIFEST, DATA, split, limit)


@flow(name="train_ocr", log_prints=True)
def train_ocr(params_file: str = "params.yaml", progress: bool = True) -> dict:
    params = load_params(params_file)
    ocr, p = params.ocr, params.ocr.char
    log = get_run_logger()
    device = setup_torch(ocr)
    with tracking.stage_run(STAGE, params.mlflow.tracking_uri, params.mlflow.experiment):
        tag_prefect_run()
        roi_model, roi_spec = load_model(ROI_MODEL, device)
        roi_hash = parameter_hash(roi_model)
        mlflow.set_tags({"dvc_data_hash": tracking.dvc_hash(DATA), "device": str(device), "roi_param_hash_before": roi_hash,
                         "world_size": distributed.world_size()})
        mlflow.log_params({**param_dict(p), "device": str(device), "seed": ocr.seed, "threads": ocr.threads})
        train, val = load("train", p.max_train_frames), load("val")
        history: list[dict] = []
        plots = PLOTS / f"{STAGE}.csv"

        def on_epoch(row: dict) -> None:
            history.append(row)
            log_epoch(row)
            write_history_csv(plots, history)

        summary = _train(params, train, val, roi_model, roi_spec, device, on_epoch=on_epoch, progress=progress,
                         log=log.info)
        after = parameter_hash(roi_model)
        mlflow.set_tag("roi_param_hash_after", after)
        if after != roi_hash:
            raise RoiModelChanged(f"{ROI_MODEL}: stage-1 parameters changed during stage-2 training ({roi_hash} -> {after})")
        if summary["pretrained"]:  # which backbone weights a fresh start loaded (path and sha256)
            mlflow.log_params(summary["pretrained"])
        write_history_csv(plots, summary["history"])
        last = summary["history"][-1] if summary["history"] else {}
        metrics = {"val_char_map50": last.get("val_char_map50", float("nan")), "train_s": round(summary["train_s"], 1),
                   "crops_s": round(summary["crops_s"], 1), "epochs": p.epochs, "train_crops": summary["train_crops"],
                   "train_crops_pred": summary["train_crops_pred"], "params": summary["params"],
                   "model_bytes": CHAR_MODEL.stat().st_size}
        mlflow.log_metrics({k: float(v) for k, v in metrics.items()})
        mlflow.log_artifact(str(plots))
        mlflow.log_artifact(str(CHAR_MODEL), artifact_path="model")
        write_metrics(STAGE, metrics)
        log.info("stage 2: val char mAP50 %.4f after %d epochs in %.0f s (ROI weights unchanged: %s) -> %s",
                 metrics["val_char_map50"], p.epochs, summary["train_s"], roi_hash[:12], CHAR_MODEL)
    return metrics


def _train(params, train, val, roi_model, roi_spec, device, **kwargs) -> dict:
    ocr, p = params.ocr, params.ocr.char
    return train_char_model(train, val, p, roi_model, roi_spec["size"], device=device,
                            checkpoint=RESUME_DIR / "char_last.pt",
                            fingerprint=fingerprint(STAGE, p.model_dump(), ocr.seed, MANIFEST, ROI_MODEL),
                            out=CHAR_MODEL, seed=ocr.seed, **kwargs)


def replica(params_file: str = "params.yaml") -> None:
    """A torchrun replica other than rank 0: the same training on its shard; no records."""
    params = load_params(params_file)
    device = setup_torch(params.ocr)
    roi_model, roi_spec = load_model(ROI_MODEL, device)
    _train(params, load.fn("train", params.ocr.char.max_train_frames), [], roi_model, roi_spec, device,
           progress=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.train_ocr", description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars (logs only)")
    args = parser.parse_args(argv)
    if distributed.is_main():
        train_ocr(args.params, progress=not args.no_progress)
    else:
        replica(args.params)
    return 0


if __name__ == "__main__":
    sys.exit(main())

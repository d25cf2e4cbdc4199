"""Train-ROI flow: stage 1 of the resistor OCR (SSD on the frame downsampled by 4).

DVC stage ``train_roi`` runs ``python -m flows.train_roi``. Reads the validated manifest, trains on
the train split (validation AP50 on the val split after each epoch), writes ``models/ocr/roi.pt``,
``plots/train_roi.csv`` (per epoch) and ``metrics/train_roi.json``; one MLflow run nested under the
pipeline run. A run killed at any point resumes from its last checkpoint (``.cache/ocr/``) when
the same command is run again with the same params and data.

``torchrun --nproc_per_node=N -m flows.train_roi`` trains with DistributedDataParallel on N
replicas (``components/ocr/distributed.py``): rank 0 runs this flow and records everything, the
other ranks only train (``replica``), without Prefect or MLflow.
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
from components.ocr.train import train_roi_model
from flows.common import tag_prefect_run, write_metrics
from flows.ocr_common import (
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

STAGE = "train_roi"


@task(name="load-frames")
def load(split: str, limit: int = 0):
    return load_frames(MANIFEST, DATA, split, limit)


@flow(name="train_roi", log_prints=True)
def train_roi(params_file: str = "params.yaml", progress: bool = True) -> dict:
    """Train stage 1 and record it; returns the summary written to ``metrics/train_roi.json``."""
    params = load_params(params_file)
    ocr, p = params.ocr, params.ocr.roi
    log = get_run_logger()
    device = setup_torch(ocr)
    with tracking.stage_run(STAGE, params.mlflow.tracking_uri, params.mlflow.experiment):
        tag_prefect_run()
        mlflow.set_tags({"dvc_data_hash": tracking.dvc_hash(DATA), "device": str(device),
                         "world_size": distributed.world_size()})
        mlflow.log_params({**param_dict(p), "device": str(device),
                           "seed": ocr.seed, "threads": ocr.threads})
        train, val = load("train", p.max_train_frames), load("val")
        history: list[dict] = []
        plots = PLOTS / f"{STAGE}.csv"

        def on_epoch(row: dict) -> None:
            history.append(row)
            log_epoch(row)
            write_history_csv(plots, history)

        summary = _train(params, train, val, device, on_epoch=on_epoch, progress=progress, log=log.info)
        if summary["pretrained"]:  # which backbone weights a fresh start loaded (path and sha256)
            mlflow.log_params(summary["pretrained"])
        write_history_csv(plots, summary["history"])  # the whole history, also the epochs before a resume
        last = summary["history"][-1] if summary["history"] else {}
        metrics = {"val_roi_ap50": last.get("val_roi_ap50", float("nan")), "train_s": round(summary["train_s"], 1),
                   "epochs": p.epochs, "train_frames": summary["train_frames"], "params": summary["params"],
                   "model_bytes": ROI_MODEL.stat().st_size}
        mlflow.log_metrics({k: float(v) for k, v in metrics.items()})
        mlflow.log_artifact(str(plots))
        mlflow.log_artifact(str(ROI_MODEL), artifact_path="model")
        write_metrics(STAGE, metrics)
        log.info("stage 1: val AP50 %.4f after %d epochs in %.0f s -> %s", metrics["val_roi_ap50"], p.epochs,
                 summary["train_s"], ROI_MODEL)
    return metrics


def _train(params, train, val, device, **kwargs) -> dict:
    ocr, p = params.ocr, params.ocr.roi
    return train_roi_model(train, val, p, device=device, checkpoint=RESUME_DIR / "roi_last.pt",
                           fingerprint=fingerprint(STAGE, p.model_dump(), ocr.seed, MANIFEST), out=ROI_MODEL,
                           seed=ocr.seed, **kwargs)


def replica(params_file: str = "params.yaml") -> None:
    """A torchrun replica other than rank 0: the same training on its shard; no records."""
    params = load_params(params_file)
    _train(params, load.fn("train", params.ocr.roi.max_train_frames), [], setup_torch(params.ocr), progress=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.train_roi", description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars (logs only)")
    args = parser.parse_args(argv)
    if distributed.is_main():
        train_roi(args.params, progress=not args.no_progress)
    else:
        replica(args.params)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Train-ROI flow: stage 1 of the resistor OCR (SSD on the frame downsampled by 4).

DVC stage ``train_roi`` runs ``python -m flows.train_roi``. Reads the validated manifest, trains on
the train split (validation AP50 on the val split after each epoch), writes ``models/ocr/roi.pt``,
``plots/train_roi.csv`` (per epoch) and ``metrics/train_roi.json``; one MLflow run nested under the
pipeline run. The metrics also hold the stage-1 score threshold with the best F1 on the val split
(``roi_threshold_f1``; ``components.ocr.threshold``), which ``roi_score_threshold: auto`` reads.
A run killed at any point resumes from its last checkpoint (``.cache/ocr/``) when
the same command is run again with the same params and data.

``torchrun --nproc_per_node=N -m flows.train_roi`` trains with DistributedDataParallel on N
replicas (``components/ocr/distributed.py``): rank 0 runs this flow and records everything, the
other ranks only train (``replica``), without Prefect or MLflow.
"""

from __future__ import annotations

import sys
from pathlib import Path

from prefect import flow

from components.io import fingerprint, write_csv
from components.ocr import distributed
from components.ocr.model import load_model
from components.ocr.train import choose_roi_threshold, train_roi_model
from flows.ocr_common import (
    DATA,
    MANIFEST,
    PLOTS,
    RESUME_DIR,
    ROI_MODEL,
    epoch_recorder,
    load_split,
    setup_torch,
    train_command,
)
from flows.stage import Stage, param_dict

STAGE = "train_roi"


@flow(name="train_roi", log_prints=True)
def train_roi(params_file: str = "params.yaml", progress: bool = True, root: Path | None = None) -> dict:
    """Train stage 1 and record it; returns the summary written to ``metrics/train_roi.json``."""
    st = Stage.load(STAGE, params_file, root)
    ocr, p = st.params.ocr, st.params.ocr.roi
    device = setup_torch(ocr)
    with st.run(data=DATA, tags={"device": str(device), "world_size": distributed.world_size()}):
        st.log_params({**param_dict(p), "device": str(device), "seed": ocr.seed, "threads": ocr.threads})
        train, val = load_split(st.root, "train", p.max_train_frames), load_split(st.root, "val")
        plots = PLOTS / f"{STAGE}.csv"
        summary = _train(
            st, train, val, device, on_epoch=epoch_recorder(st.path(plots)), progress=progress, log=st.log.info
        )
        if summary["pretrained"]:  # which backbone weights a fresh start loaded (path and sha256)
            st.log_params(summary["pretrained"])
        write_csv(summary["history"], st.path(plots))  # the whole history, also the epochs before a resume
        last = summary["history"][-1] if summary["history"] else {}
        metrics = {
            "val_roi_ap50": last.get("val_roi_ap50", float("nan")),
            "train_s": round(summary["train_s"], 1),
            "epochs": p.epochs,
            "train_frames": summary["train_frames"],
            "params": summary["params"],
            "model_bytes": st.path(ROI_MODEL).stat().st_size,
        }
        # the operating threshold for roi_score_threshold: auto (train_ocr, evaluate_ocr, export_ocr)
        roi_model, spec = load_model(st.path(ROI_MODEL), device)
        choice = choose_roi_threshold(roi_model, spec["size"], val, device, progress)
        metrics.update(choice.metrics())
        st.log_artifact(plots)
        st.log_artifact(ROI_MODEL, artifact_path="model")
        st.finish(metrics)
        st.log.info(
            "stage 1: val AP50 %.4f after %d epochs in %.0f s -> %s",
            metrics["val_roi_ap50"],
            p.epochs,
            summary["train_s"],
            ROI_MODEL,
        )
    return metrics


def _train(st: Stage, train, val, device, **kwargs) -> dict:
    ocr, p = st.params.ocr, st.params.ocr.roi
    return train_roi_model(
        train,
        val,
        p,
        device=device,
        checkpoint=st.path(RESUME_DIR / "roi_last.pt"),
        fingerprint=fingerprint(STAGE, p, ocr.seed, st.path(MANIFEST)),
        out=st.path(ROI_MODEL),
        seed=ocr.seed,
        **kwargs,
    )


def replica(params_file: str = "params.yaml", root: Path | None = None) -> None:
    """A torchrun replica other than rank 0: the same training on its shard; no records."""
    st = Stage.load(STAGE, params_file, root)
    _train(
        st,
        load_split.fn(st.root, "train", st.params.ocr.roi.max_train_frames),
        [],
        setup_torch(st.params.ocr),
        progress=False,
    )


main = train_command(train_roi, replica, "flows.train_roi", __doc__)


if __name__ == "__main__":
    sys.exit(main())

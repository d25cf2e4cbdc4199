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

import sys
from pathlib import Path

from prefect import flow

from components.io import fingerprint, write_csv
from components.ocr import distributed
from components.ocr.model import load_model, parameter_hash
from components.ocr.train import train_char_model
from flows.ocr_common import (
    CHAR_MODEL,
    DATA,
    MANIFEST,
    PLOTS,
    RESUME_DIR,
    ROI_MODEL,
    epoch_recorder,
    load_split,
    roi_threshold,
    setup_torch,
    train_command,
)
from flows.stage import Stage, param_dict

STAGE = "train_ocr"


class RoiModelChanged(RuntimeError):
    """The frozen stage-1 model changed while stage 2 trained."""


@flow(name="train_ocr", log_prints=True)
def train_ocr(params_file: str = "params.yaml", progress: bool = True, root: Path | None = None) -> dict:
    st = Stage.load(STAGE, params_file, root)
    ocr, p = st.params.ocr, st.params.ocr.char
    device = setup_torch(ocr)
    with st.run(data=DATA, tags={"device": str(device), "world_size": distributed.world_size()}):
        roi_model, roi_spec = load_model(st.path(ROI_MODEL), device)
        roi_hash = parameter_hash(roi_model)
        st.set_tags({"roi_param_hash_before": roi_hash})
        st.log_params({**param_dict(p), "device": str(device), "seed": ocr.seed, "threads": ocr.threads})
        train, val = load_split(st.root, "train", p.max_train_frames), load_split(st.root, "val")
        plots = PLOTS / f"{STAGE}.csv"
        summary = _train(
            st,
            train,
            val,
            roi_model,
            roi_spec,
            device,
            on_epoch=epoch_recorder(st.path(plots)),
            progress=progress,
            log=st.log.info,
        )
        after = parameter_hash(roi_model)
        st.set_tags({"roi_param_hash_after": after})
        if after != roi_hash:
            raise RoiModelChanged(
                f"{ROI_MODEL}: stage-1 parameters changed during stage-2 training ({roi_hash} -> {after})"
            )
        if summary["pretrained"]:  # which backbone weights a fresh start loaded (path and sha256)
            st.log_params(summary["pretrained"])
        write_csv(summary["history"], st.path(plots))
        last = summary["history"][-1] if summary["history"] else {}
        metrics = {
            "val_char_map50": last.get("val_char_map50", float("nan")),
            "train_s": round(summary["train_s"], 1),
            "crops_s": round(summary["crops_s"], 1),
            "epochs": p.epochs,
            "train_crops": summary["train_crops"],
            "train_crops_pred": summary["train_crops_pred"],
            "params": summary["params"],
            "model_bytes": st.path(CHAR_MODEL).stat().st_size,
        }
        st.log_artifact(plots)
        st.log_artifact(CHAR_MODEL, artifact_path="model")
        st.finish(metrics)
        st.log.info(
            "stage 2: val char mAP50 %.4f after %d epochs in %.0f s (ROI weights unchanged: %s) -> %s",
            metrics["val_char_map50"],
            p.epochs,
            summary["train_s"],
            roi_hash[:12],
            CHAR_MODEL,
        )
    return metrics


def _train(st: Stage, train, val, roi_model, roi_spec, device, **kwargs) -> dict:
    ocr, p = st.params.ocr, st.params.ocr.char
    p = p.model_copy(update={"roi_score_threshold": roi_threshold(st.root, p.roi_score_threshold)})
    return train_char_model(
        train,
        val,
        p,
        roi_model,
        roi_spec["size"],
        device=device,
        checkpoint=st.path(RESUME_DIR / "char_last.pt"),
        fingerprint=fingerprint(STAGE, p, ocr.seed, st.path(MANIFEST), st.path(ROI_MODEL)),
        out=st.path(CHAR_MODEL),
        seed=ocr.seed,
        **kwargs,
    )


def replica(params_file: str = "params.yaml", root: Path | None = None) -> None:
    """A torchrun replica other than rank 0: the same training on its shard; no records."""
    st = Stage.load(STAGE, params_file, root)
    device = setup_torch(st.params.ocr)
    roi_model, roi_spec = load_model(st.path(ROI_MODEL), device)
    _train(
        st,
        load_split.fn(st.root, "train", st.params.ocr.char.max_train_frames),
        [],
        roi_model,
        roi_spec,
        device,
        progress=False,
    )


main = train_command(train_ocr, replica, "flows.train_ocr", __doc__)


if __name__ == "__main__":
    sys.exit(main())

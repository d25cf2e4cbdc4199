"""Float training of the crack segmenter (DVC stage ``train_crack``).

Writes ``models/crack/float.keras`` (the epoch with the best validation Dice),
``plots/crack/train_float.csv`` (per epoch) and ``metrics/train_crack.json``; logs params, per-epoch
metrics and the model to MLflow. Killed mid-run, it resumes from ``.cache/crack/float/``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from prefect import flow

from components.crack.model import count_params, from_params, load_pretrained, twin
from components.crack.train import fit
from components.io import atomic_path, fingerprint, write_csv
from flows.crack_common import (
    DATA,
    FLOAT_MODEL,
    PLOTS,
    STATE,
    crack_stage,
    load_splits,
    log_epoch,
    split_identity,
)
from flows.stage import command, param_dict

STAGE = "train_crack"


@flow(name="train_crack", log_prints=True)
def train_crack(params_file: str = "params.yaml", root: Path | None = None) -> dict:
    st = crack_stage(STAGE, params_file, root)
    params, c, log = st.params, st.params.crack, st.log
    with st.run(data=DATA, tags={"dataset": "crack", "model_form": "float"}):
        t0 = time.perf_counter()
        data = load_splits(st.root, params, ("train", "val"))
        model = from_params(c.model, flexible=True)  # trains on crops; saved at the fixed input size
        n_params = count_params(model)
        st.log_params(
            {
                **param_dict(c.model, "model."),
                **param_dict(c.train, "train."),
                "line_thickness": params.data.crack.line_thickness,
                "params": n_params,
                "train_images": len(data["train"]),
                "val_images": len(data["val"]),
            }
        )
        log.info(
            "MobileNetV2-UNet alpha %s: %d parameters; %d train / %d val images",
            c.model.alpha,
            n_params,
            len(data["train"]),
            len(data["val"]),
        )

        def save(m):
            with atomic_path(st.path(FLOAT_MODEL)) as tmp:
                twin(m, from_params(c.model)).save(tmp)

        def init(m):  # fresh start only (not on resume): encoder from crack.model.pretrained
            info = load_pretrained(m, c.model.pretrained, c.model.alpha, tuple(c.model.input_size))
            if info:
                st.log_params(info)
                log.info(
                    "encoder: %d layers from %s (sha256 %s)",
                    info["pretrained_layers"],
                    info["pretrained_path"],
                    info["pretrained_sha256"][:12],
                )

        t = c.train
        result = fit(
            model,
            data["train"],
            data["val"],
            epochs=t.epochs,
            batch_size=t.batch_size,
            lr=t.lr,
            loss=t.loss,
            focal_gamma=t.focal_gamma,
            crack_weight=t.crack_weight,
            augment_cfg=t.augment,
            crop_size=tuple(t.crop_size),
            seed=t.seed,
            save_cycle=t.save_cycle,
            state_dir=st.path(STATE / "float"),
            fingerprint=fingerprint(c.model, c.train, params.data.crack, split_identity(st.root, data)),
            save=save,
            log=log.info,
            init=init,
            on_epoch=log_epoch,
        )
        write_csv(result.history, st.path(PLOTS / "train_float.csv"))
        metrics = {
            "val_dice": result.best_dice,
            "best_epoch": result.best_epoch,
            "params": n_params,
            "train_images_per_s": round(result.images_per_s, 2),
            "train_time_s": round(result.train_seconds, 1),
            "stage_time_s": round(time.perf_counter() - t0, 1),
            "resumed_from_epoch": result.resumed_from,
        }
        st.log_artifact(FLOAT_MODEL, artifact_path="model")
        st.log_artifact(PLOTS / "train_float.csv")
        st.finish(metrics)
        log.info(
            "best val dice %.4f at epoch %d; %.1f train img/s", result.best_dice, result.best_epoch, result.images_per_s
        )
    return metrics


main = command("flows.train_crack", __doc__, lambda a: train_crack(a.params))

if __name__ == "__main__":
    sys.exit(main())

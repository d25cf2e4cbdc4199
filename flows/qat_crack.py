"""Quantization-aware fine-tuning of the best float crack model (DVC stage ``qat_crack``).

Loads ``models/crack/float.keras``, wraps it with tfmot's ``quantize_model`` and fine-tunes with
``crack.qat`` (own epochs, learning rate and cosine schedule; loss and augmentation as in float
training). With ``crack.qat.distill`` the target is the float model's own softmax instead of the
labels: the int8 model should make its parent's decisions, and fine-tuning on the labels moved its
operating point towards more false alarms. Writes ``models/crack/qat.h5`` (best validation Dice;
the float model's own validation Dice under fake quantization is the epoch-0 baseline),
``plots/crack/train_qat.csv`` and
``metrics/qat_crack.json``. Depends on ``crack.qat`` but not on the float training's epochs or lr,
so changing only QAT parameters never retrains the float model.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import tf_keras as keras
from prefect import flow

from components.crack.data import normalize
from components.crack.model import from_params, twin
from components.crack.qat import (
    calibrate,
    fake_quant_layers,
    freeze_batch_norm,
    quantize,
)
from components.crack.train import fit, validate
from components.io import atomic_path, fingerprint, sha256_file, write_csv
from flows.crack_common import (
    DATA,
    FLOAT_MODEL,
    PLOTS,
    QAT_MODEL,
    STATE,
    crack_stage,
    load_splits,
    log_epoch,
    split_identity,
)
from flows.stage import command, param_dict

STAGE = "qat_crack"


@flow(name="qat_crack", log_prints=True)
def qat_crack(params_file: str = "params.yaml", root: Path | None = None) -> dict:
    st = crack_stage(STAGE, params_file, root)
    params, c, log = st.params, st.params.crack, st.log
    with st.run(data=DATA, tags={"dataset": "crack", "model_form": "qat"}):
        st.log_params(param_dict(c.qat, "qat."))
        t0 = time.perf_counter()
        data = load_splits(st.root, params, ("train", "val"))
        float_model = keras.models.load_model(st.path(FLOAT_MODEL), compile=False)
        float_dice = validate(float_model, data["val"])
        model = quantize(twin(float_model, from_params(c.model, flexible=True)))  # any size: trains on crops
        q, t = c.qat, c.train
        if q.freeze_batch_norm:
            freeze_batch_norm(model)
        uncalibrated_dice = validate(model, data["val"])
        images = data["train"].images
        calibrate(
            model,
            (
                normalize(images[i : i + q.batch_size])
                for i in range(0, min(len(images), q.calibration_batches * q.batch_size), q.batch_size)
            ),
        )
        start_dice = validate(model, data["val"])
        log.info(
            "float val dice %.4f; after quantize_model %.4f, calibrated on %d batches %.4f (%d fake-quant layers)",
            float_dice,
            uncalibrated_dice,
            q.calibration_batches,
            start_dice,
            len(fake_quant_layers(model)),
        )

        def save(m):
            with atomic_path(st.path(QAT_MODEL)) as tmp:
                twin(m, quantize(float_model)).save(tmp)  # at the fixed input size

        result = fit(
            model,
            data["train"],
            data["val"],
            epochs=q.epochs,
            batch_size=q.batch_size,
            lr=q.lr,
            loss=t.loss,
            focal_gamma=t.focal_gamma,
            crack_weight=t.crack_weight,
            augment_cfg=t.augment if q.augment else None,
            crop_size=tuple(t.crop_size) if q.augment else None,
            seed=t.seed + 1,
            save_cycle=q.save_cycle,
            state_dir=st.path(STATE / "qat"),
            start_dice=start_dice,
            fingerprint=fingerprint(q, t, sha256_file(st.path(FLOAT_MODEL)), split_identity(st.root, data)),
            save=save,
            log=log.info,
            on_epoch=log_epoch,
            teacher=twin(float_model, from_params(c.model, flexible=True)) if q.distill else None,
        )
        write_csv(
            [
                {
                    "epoch": 0,
                    "loss": float("nan"),
                    "val_dice": start_dice,
                    "lr": q.lr,
                    "epoch_s": 0.0,
                    "images_per_s": 0.0,
                }
            ]
            + result.history,
            st.path(PLOTS / "train_qat.csv"),
        )
        metrics = {
            "val_dice": result.best_dice,
            "val_dice_float": float_dice,
            "val_dice_before_finetune": start_dice,
            "val_dice_uncalibrated": uncalibrated_dice,
            "best_epoch": result.best_epoch,
            "train_images_per_s": round(result.images_per_s, 2),
            "train_time_s": round(result.train_seconds, 1),
            "stage_time_s": round(time.perf_counter() - t0, 1),
            "resumed_from_epoch": result.resumed_from,
        }
        st.log_artifact(QAT_MODEL, artifact_path="model")
        st.finish(metrics)
        log.info(
            "QAT best val dice %.4f (float %.4f); %.1f train img/s", result.best_dice, float_dice, result.images_per_s
        )
    return metrics


main = command("flows.qat_crack", __doc__, lambda a: qat_crack(a.params))

if __name__ == "__main__":
    sys.exit(main())

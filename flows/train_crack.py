"""Float training of the crack segmenter (DVC stage ``train_crack``).

Writes ``models/crack/float.keras`` (the epoch with the best validation Dice),
``plots/crack/train_float.csv`` (per epoch) and ``metrics/train_crack.json``; logs params, per-epoch
metrics and the model to MLflow. Killed mid-run, it resumes from ``.cache/crack/float/``.
"""

from __future__ import annotations

import argparse
import sys
import time

import mlflow
from prefect import flow, get_run_logger

from components import tracking
from components.config import load_params
from components.crack.evaluate import write_csv
from components.crack.model import count_params, from_params, load_pretrained, twin
from components.crack.train import fit, setup_tf
from components.io import atomic_path
from flows.common import tag_prefect_run, write_metrics
from flows.crack_common import (
    DATA,
    FLOAT_MODEL,
    PLOTS,
    STATE,
    fingerprint,
    load_splits,
    param_dict,
)


@flow(name="train_crack", log_prints=True)
def train_crack(params_file: str = "params.yaml") -> dict:
    params = load_params(params_file)
    c = params.crack
    log = get_run_logger()
    setup_tf(c.train.seed)
    with tracking.stage_run("train_crack", params.mlflow.tracking_uri, params.mlflow.experiment):
        tag_prefect_run()
        mlflow.set_tags({"dvc_data_hash": tracking.dvc_hash(DATA), "dataset": "crack", "model_form": "float"})
        t0 = time.perf_counter()
        data = load_splits(params, ("train", "val"))
        model = from_params(c.model, flexible=True)  # trains on crops; saved at the fixed input size
        n_params = count_params(model)
        mlflow.log_params({**param_dict("model.", c.model.model_dump()), **param_dict("train.", c.train.model_dump()),
                           "line_thickness": params.data.crack.line_thickness, "params": n_params,
                           "train_images": len(data["train"]), "val_images": len(data["val"])})
        log.info("MobileNetV2-UNet alpha %s: %d parameters; %d train / %d val images", c.model.alpha, n_params,
                 len(data["train"]), len(data["val"]))

        def save(m):
            with atomic_path(FLOAT_MODEL) as tmp:
                twin(m, from_params(c.model)).save(tmp)

        def init(m):  # fresh start only (not on resume): encoder from crack.model.pretrained
            info = load_pretrained(m, c.model.pretrained, c.model.alpha, tuple(c.model.input_size))
            if info:
                mlflow.log_params(info)
                log.info("encoder: %d layers from %s (sha256 %s)", info["pretrained_layers"], info["pretrained_path"],
                         info["pretrained_sha256"][:12])

        t = c.train
        result = fit(model, data["train"], data["val"], epochs=t.epochs, batch_size=t.batch_size, lr=t.lr, loss=t.loss,
                     focal_gamma=t.focal_gamma, crack_weight=t.crack_weight, augment_cfg=t.augment, crop_size=tuple(t.crop_size), seed=t.seed, save_cycle=t.save_cycle,
                     state_dir=STATE / "float", fingerprint=fingerprint(c.model, c.train, params.data.crack, splits=data),
                     save=save, log=log.info, init=init,
                     on_epoch=lambda row: mlflow.log_metrics({k: v for k, v in row.items() if k != "epoch"}, step=row["epoch"]))
        write_csv(result.history, PLOTS / "train_float.csv")
        metrics = {"val_dice": result.best_dice, "best_epoch": result.best_epoch, "params": n_params,
                   "train_images_per_s": round(result.images_per_s, 2), "train_time_s": round(result.train_seconds, 1),
                   "stage_time_s": round(time.perf_counter() - t0, 1), "resumed_from_epoch": result.resumed_from}
        mlflow.log_metrics({k: float(v) for k, v in metrics.items()})
        mlflow.log_artifact(str(FLOAT_MODEL), artifact_path="model")
        mlflow.log_artifact(str(PLOTS / "train_float.csv"))
        write_metrics("train_crack", metrics)
        log.info("best val dice %.4f at epoch %d; %.1f train img/s", result.best_dice, result.best_epoch, result.images_per_s)
    return metrics


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.train_crack", description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    train_crack(args.params)
    return 0


if __name__ == "__main__":
    sys.exit(main())

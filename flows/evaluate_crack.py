"""Test-split evaluation of the float and QAT crack models (DVC stage ``evaluate_crack``).

Writes ``metrics/evaluate_crack.json`` as ``{"float": {dice, iou, precision, recall}, "qat": {...}}``
(the keys of docs/architecture.md#metrics), the precision/recall-vs-threshold data (``plots/crack/pr_<form>.csv``) and plot
(``plots/crack/pr_threshold.png``), and overlays of the best and worst test images per model form
(``plots/crack/overlays/``); the same go to MLflow.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import mlflow
import tf_keras as keras
from prefect import flow, get_run_logger, task

from components import tracking
from components.config import load_params
from components.crack.evaluate import evaluate, plot_pr, write_csv, write_overlays
from components.crack.qat import load_qat
from components.crack.train import setup_tf
from flows.common import flat, tag_prefect_run, write_metrics
from flows.crack_common import (
    DATA,
    FLOAT_MODEL,
    PLOTS,
    QAT_MODEL,
    load_splits,
    param_dict,
)

OVERLAYS = PLOTS / "overlays"


@task(name="evaluate-model")
def evaluate_form(form: str, params, test):
    model = keras.models.load_model(FLOAT_MODEL, compile=False) if form == "float" else load_qat(QAT_MODEL)
    t0 = time.perf_counter()
    result = evaluate(model, test, params.crack.eval.batch_size, params.crack.eval.pr_thresholds)
    return result, len(test) / (time.perf_counter() - t0)


@flow(name="evaluate_crack", log_prints=True)
def evaluate_crack(params_file: str = "params.yaml") -> dict:
    params = load_params(params_file)
    e = params.crack.eval
    log = get_run_logger()
    setup_tf(params.crack.train.seed)
    with tracking.stage_run("evaluate_crack", params.mlflow.tracking_uri, params.mlflow.experiment):
        tag_prefect_run()
        mlflow.set_tags({"dvc_data_hash": tracking.dvc_hash(DATA), "dataset": "crack"})
        mlflow.log_params(param_dict("eval.", e.model_dump()))
        test = load_splits(params, ("test",))["test"]
        shutil.rmtree(OVERLAYS, ignore_errors=True)
        metrics, curves = {}, {}
        for form in ("float", "qat"):
            result, ips = evaluate_form(form, params, test)
            metrics[form] = {k: round(v, 5) for k, v in result.metrics.items()}
            curves[form] = result.pr_curve
            write_csv(result.pr_curve, PLOTS / f"pr_{form}.csv")
            write_overlays(test, result, OVERLAYS, e.n_overlays, form)
            log.info("%s on %d test images: %s (%.1f img/s inference)", form, len(test),
                     ", ".join(f"{k} {v:.4f}" for k, v in metrics[form].items()), ips)
        metrics["test_images"] = len(test)
        plot_pr(curves, PLOTS / "pr_threshold.png")
        mlflow.log_metrics(flat(metrics))
        for path in [PLOTS / "pr_threshold.png", PLOTS / "pr_float.csv", PLOTS / "pr_qat.csv"]:
            mlflow.log_artifact(str(path), artifact_path="plots")
        if OVERLAYS.exists():
            mlflow.log_artifacts(str(OVERLAYS), artifact_path="overlays")
        write_metrics("evaluate_crack", metrics)
    return metrics


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.evaluate_crack", description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    evaluate_crack(args.params)
    return 0


if __name__ == "__main__":
    sys.exit(main())

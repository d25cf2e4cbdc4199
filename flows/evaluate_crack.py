"""Evaluation of the float and QAT crack models on the fixed test sets (DVC stage ``evaluate_crack``).

Both forms are scored on ``test`` (training styles) and ``ood`` (held-out styles), 1,000 frames
each by default. ``metrics/evaluate_crack.json`` holds ``{"float": {...}, "qat": {...}}`` where each
form has, for the test set, ``dice``, ``iou``, ``dice_cracked``, ``false_alarm_rate``,
``pixel_dice``, ``pixel_iou``, ``precision``, ``recall``, each with ``<key>_ci_low`` and
``<key>_ci_high`` (95 % bootstrap over frames), and the same keys with ``_ood`` for the OOD set.
The per-frame counts behind them go to ``reports/per_frame/evaluate_crack/`` (the registry gates
compare models frame by frame), the precision/recall-vs-threshold data to ``plots/crack/pr_<form>.csv``
and ``pr_threshold.png``, and overlays of the best and worst frames of each set to
``plots/crack/overlays/``; the same go to MLflow.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time

import mlflow
import tf_keras as keras
from prefect import flow, get_run_logger, task

from components import tracking
from components.config import load_params
from components.crack.evaluate import evaluate, plot_pr, write_csv, write_overlays
from components.crack.qat import load_qat
from components.crack.train import setup_tf
from components.per_frame import table_path, write_frames
from flows.common import flat, tag_prefect_run, write_metrics
from flows.crack_common import (
    DATA,
    FLOAT_MODEL,
    PER_FRAME,
    PLOTS,
    QAT_MODEL,
    load_eval_sets,
    param_dict,
    set_metrics,
)

STAGE = "evaluate_crack"
OVERLAYS = PLOTS / "overlays"
HEADLINE = ("dice", "dice_cracked", "false_alarm_rate", "pixel_dice")


@task(name="evaluate-model")
def evaluate_form(form: str, params, data):
    model = keras.models.load_model(FLOAT_MODEL, compile=False) if form == "float" else load_qat(QAT_MODEL)
    t0 = time.perf_counter()
    result = evaluate(model, data, params.crack.eval.batch_size, params.crack.eval.pr_thresholds)
    return result, len(data) / (time.perf_counter() - t0)


def _summary(metrics: dict, suffix: str) -> str:
    return ", ".join(f"{k} {metrics[k + suffix]:.4f} [{metrics[k + suffix + '_ci_low']:.4f}, "
                     f"{metrics[k + suffix + '_ci_high']:.4f}]" for k in HEADLINE)


@flow(name="evaluate_crack", log_prints=True)
def evaluate_crack(params_file: str = "params.yaml") -> dict:
    params = load_params(params_file)
    e = params.crack.eval
    log = get_run_logger()
    setup_tf(params.crack.train.seed)
    t_start = time.perf_counter()
    with tracking.stage_run(STAGE, params.mlflow.tracking_uri, params.mlflow.experiment):
        tag_prefect_run()
        mlflow.set_tags({"dvc_data_hash": tracking.dvc_hash(DATA), "dataset": "crack"})
        mlflow.log_params(param_dict("eval.", e.model_dump()))
        sets = load_eval_sets(params)
        shutil.rmtree(OVERLAYS, ignore_errors=True)
        metrics, curves = {}, {}
        for form in ("float", "qat"):
            metrics[form] = {}
            for name, data in sets.items():
                result, ips = evaluate_form(form, params, data)
                suffix = "" if name == "test" else f"_{name}"
                metrics[form].update(set_metrics(result, params, suffix))
                write_frames(table_path(PER_FRAME / STAGE, form, name), data.names, result.frames)
                write_overlays(data, result, OVERLAYS, e.n_overlays, form + suffix)
                log.info("%s on %d %s frames: %s (%.1f img/s)", form, len(data), name,
                         _summary(metrics[form], suffix), ips)
                if name == "test":
                    curves[form] = result.pr_curve
                    write_csv(result.pr_curve, PLOTS / f"pr_{form}.csv")
        metrics.update({f"{name}_images": len(data) for name, data in sets.items()})
        metrics["seconds"] = round(time.perf_counter() - t_start, 1)
        plot_pr(curves, PLOTS / "pr_threshold.png")
        mlflow.log_metrics(flat(metrics))
        for path in [PLOTS / "pr_threshold.png", PLOTS / "pr_float.csv", PLOTS / "pr_qat.csv"]:
            mlflow.log_artifact(str(path), artifact_path="plots")
        if OVERLAYS.exists():
            mlflow.log_artifacts(str(OVERLAYS), artifact_path="overlays")
        write_metrics(STAGE, metrics)
    return metrics


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.evaluate_crack", description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    evaluate_crack(args.params)
    return 0


if __name__ == "__main__":
    sys.exit(main())

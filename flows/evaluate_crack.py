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

import shutil
import sys
import time
from functools import partial
from pathlib import Path

import tf_keras as keras
from prefect import flow, task

from components.crack.evaluate import evaluate, plot_pr, write_overlays
from components.crack.metrics import frame_ratios
from components.crack.qat import load_qat
from components.io import write_csv
from components.per_frame import PER_FRAME, table_path, write_frames
from flows.crack_common import (
    DATA,
    FLOAT_MODEL,
    PLOTS,
    QAT_MODEL,
    crack_mask_rules,
    crack_stage,
    load_eval_sets,
    set_metrics,
)
from flows.family_report import family_report
from flows.stage import command, param_dict

STAGE = "evaluate_crack"
OVERLAYS = PLOTS / "overlays"
HEADLINE = ("dice", "dice_cracked", "false_alarm_rate", "pixel_dice")


@task(name="evaluate-model")
def evaluate_form(root: Path, form: str, params, data):
    model = (
        keras.models.load_model(root / FLOAT_MODEL, compile=False) if form == "float" else load_qat(root / QAT_MODEL)
    )
    t0 = time.perf_counter()
    result = evaluate(
        model, data, params.crack.eval.batch_size, params.crack.eval.pr_thresholds, crack_mask_rules(params)
    )
    return result, len(data) / (time.perf_counter() - t0)


def _summary(metrics: dict, suffix: str) -> str:
    return ", ".join(
        f"{k} {metrics[k + suffix]:.4f} [{metrics[k + suffix + '_ci_low']:.4f}, {metrics[k + suffix + '_ci_high']:.4f}]"
        for k in HEADLINE
    )


@flow(name="evaluate_crack", log_prints=True)
def evaluate_crack(params_file: str = "params.yaml", root: Path | None = None) -> dict:
    st = crack_stage(STAGE, params_file, root)
    params, e = st.params, st.params.crack.eval
    t_start = time.perf_counter()
    with st.run(data=DATA, tags={"dataset": "crack"}):
        st.log_params(param_dict(e, "eval.") | param_dict(params.crack.postprocess, "postprocess."))
        sets = load_eval_sets(st.root, params)
        overlays = st.path(OVERLAYS)
        shutil.rmtree(overlays, ignore_errors=True)
        metrics, curves = {}, {}
        for form in ("float", "qat"):
            metrics[form] = {}
            for name, data in sets.items():
                result, ips = evaluate_form(st.root, form, params, data)
                suffix = "" if name == "test" else f"_{name}"
                metrics[form].update(set_metrics(result, params, suffix))
                write_frames(table_path(st.path(PER_FRAME / STAGE), form, name), data.names, result.frames)
                write_overlays(data, result, overlays, e.n_overlays, form + suffix)
                st.log.info(
                    "%s on %d %s frames: %s (%.1f img/s)", form, len(data), name, _summary(metrics[form], suffix), ips
                )
                if name == "test":
                    curves[form] = result.pr_curve
                    write_csv(result.pr_curve, st.path(PLOTS / f"pr_{form}.csv"))
        metrics.update({f"{name}_images": len(data) for name, data in sets.items()})
        metrics["seconds"] = round(time.perf_counter() - t_start, 1)
        plot_pr(curves, st.path(PLOTS / "pr_threshold.png"))
        for path in [PLOTS / "pr_threshold.png", PLOTS / "pr_float.csv", PLOTS / "pr_qat.csv"]:
            st.log_artifact(path, artifact_path="plots")
        if overlays.exists():
            st.log_artifacts(OVERLAYS, artifact_path="overlays")
        family_report(st, "crack", partial(frame_ratios, min_area=params.crack.eval.false_alarm_min_area))
        st.finish(metrics)
    return metrics


main = command("flows.evaluate_crack", __doc__, lambda a: evaluate_crack(a.params))

if __name__ == "__main__":
    sys.exit(main())

"""TFLite export of the QAT crack model and its test-split check (DVC stage ``export_crack``).

Writes ``models/export/crack/`` (``crack_int8.tflite``: full integer, int8 in and out;
``crack_dynamic.tflite``: int8 weights, float activations; ``crack_meta.json``: input size,
normalization, labels, sha256 of each model) and ``metrics/export_crack.json``:
``{"qat": {the QAT model's metrics, copied from metrics/evaluate_crack.json},
"tflite_int8": {the same on the test set and with ``_ood`` on the OOD set, latency_ms_p50, latency_ms_p95, fps,
latency_ms_p50_2t, latency_ms_p95_2t, fps_2t, model_bytes, dice_delta_vs_qat, mask_agreement_vs_qat},
"tflite_dynamic": {...}}``. Latency is ``TfliteSegmenter.predict`` on one test image at batch 1
(pre/post-processing included, decoding excluded) after warm-up, with 1 and 2 interpreter threads
(``_2t``). ``mask_agreement_vs_qat`` is the share of pixels where a form and the QAT model agree, over
``AGREEMENT_FRAMES`` test frames spread evenly over the set: the QAT model's scores come from
``evaluate_crack`` (same model, same frames, same code: the same numbers), so it is not run on the
whole set a second time (about 3 minutes of the quick start on 2 cores). The same go to MLflow with
the export folder as artifacts. A full-integer Dice more than
``DICE_TOLERANCE`` below the QAT model's is logged as a warning, not a failure: the registry gates
judge it.
"""

from __future__ import annotations

import json
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
from prefect import flow, task

from components import tracking
from components.crack.data import CrackSplit
from components.crack.evaluate import evaluate
from components.crack.metrics import frame_ratios
from components.crack.qat import load_qat
from components.export.crack_runtime import TfliteSegmenter
from components.export.crack_tflite import evaluate_tflite, export
from components.io import sha256_file
from components.latency import time_calls
from components.per_frame import PER_FRAME, table_path, write_frames
from flows.crack_common import (
    DATA,
    QAT_MODEL,
    crack_mask_rules,
    crack_stage,
    load_eval_sets,
    load_splits,
    set_metrics,
)
from flows.family_report import family_report
from flows.stage import command, param_dict

STAGE = "export_crack"

EXPORT_DIR = Path("models/export/crack")
EVALUATE_METRICS = Path("metrics/evaluate_crack.json")  # the QAT model's scores on the same sets
AGREEMENT_FRAMES = 250
DICE_TOLERANCE = 0.01
THREADS = (1, 2)


def pick_evenly(n: int, k: int) -> np.ndarray:
    """k indices spread evenly over range(n) (all of them when k >= n)."""
    return np.unique(np.linspace(0, n - 1, min(k, n)).round().astype(int))


@task(name="convert-tflite")
def convert(root: Path, qat, train, n_images: int, forms: tuple[str, ...], postprocess: dict) -> dict:
    rep = train.images[pick_evenly(len(train), n_images)]
    extra = {
        "postprocess": postprocess,
        "source": {
            "model": str(QAT_MODEL),
            "sha256": sha256_file(root / QAT_MODEL),
            "representative_images": len(rep),
            "git_commit": tracking.git_commit(root),
        },
    }
    return export(qat, rep, root / EXPORT_DIR, extra, forms=forms)


def qat_metrics(path: Path) -> dict:
    """The QAT model's metrics from ``evaluate_crack``; a missing file names the stage that writes it."""
    try:
        return dict(json.loads(path.read_text())["qat"])
    except (OSError, KeyError, ValueError) as exc:
        raise FileNotFoundError(f"{path}: no QAT metrics ({exc}); run the evaluate_crack stage first") from exc


@task(name="latency")
def latency(export_dir: Path, form: str, threads: int, images: np.ndarray, runs: int, warmup: int) -> dict[str, float]:
    seg = TfliteSegmenter.load(export_dir, form, threads)
    return time_calls(seg.predict, images, warmup, runs)


@flow(name="export_crack", log_prints=True)
def export_crack(params_file: str = "params.yaml", root: Path | None = None) -> dict:
    st = crack_stage(STAGE, params_file, root)
    params, x = st.params, st.params.export.crack
    log = st.log
    with st.run(data=DATA, tags={"dataset": "crack"}):
        st.log_params(param_dict(x, "export.") | param_dict(params.crack.postprocess, "postprocess."))
        qat = load_qat(st.path(QAT_MODEL))
        size = (qat.input_shape[2], qat.input_shape[1])
        if list(size) != list(params.crack.model.input_size):
            raise ValueError(
                f"{QAT_MODEL}: input {size[0]}x{size[1]} differs from crack.model.input_size "
                f"{params.crack.model.input_size} in {params_file}"
            )
        train = load_splits(st.root, params, ("train",))["train"]
        sets = load_eval_sets(st.root, params)
        test = sets["test"]
        t0 = time.perf_counter()
        forms = ("int8", "dynamic") if x.dynamic_range else ("int8",)
        rules = crack_mask_rules(params)
        postprocess = rules.to_meta() | {"min_region_area": params.crack.postprocess.min_region_area}
        meta = convert(st.root, qat, train, x.representative_images, forms, postprocess)
        log.info(
            "converted to %s in %.0f s", ", ".join(f["file"] for f in meta["files"].values()), time.perf_counter() - t0
        )

        metrics: dict = {"qat": qat_metrics(st.path(EVALUATE_METRICS))}
        picked = pick_evenly(len(test), AGREEMENT_FRAMES)
        sample = CrackSplit([test.names[i] for i in picked], test.images[picked], test.masks[picked])
        qat_sample = evaluate(qat, sample, params.crack.eval.batch_size, rules=rules).predictions
        for form in meta["files"]:
            key = f"tflite_{form}"
            segmenter = TfliteSegmenter.load(st.path(EXPORT_DIR), form, threads=max(THREADS))
            m = {}
            for name, data in sets.items():
                r = evaluate_tflite(segmenter, data)
                m.update(set_metrics(r, params, "" if name == "test" else f"_{name}"))
                write_frames(table_path(st.path(PER_FRAME / STAGE), key, name), data.names, r.frames)
                if name == "test":
                    result = r
            m["dice_delta_vs_qat"] = round(result.metrics["dice"] - metrics["qat"]["dice"], 5)
            m["mask_agreement_vs_qat"] = round(float((result.predictions[picked] == qat_sample).mean()), 6)
            for threads in THREADS:
                suffix = "" if threads == 1 else f"_{threads}t"
                timing = latency(st.path(EXPORT_DIR), form, threads, test.images, x.latency_runs, x.latency_warmup)
                m.update({k + suffix: round(v, 3) for k, v in timing.items()})
            m["model_bytes"] = meta["files"][form]["bytes"]
            metrics[key] = m
            log.info(
                "%s: %s",
                key,
                ", ".join(
                    f"{k} {m[k]}"
                    for k in (
                        "dice",
                        "dice_ood",
                        "dice_cracked",
                        "dice_cracked_ood",
                        "false_alarm_rate",
                        "latency_ms_p50",
                        "model_bytes",
                    )
                ),
            )
        drop = metrics["qat"]["dice"] - metrics["tflite_int8"]["dice"]
        if drop > DICE_TOLERANCE:
            log.warning(
                "full-integer Dice %.4f is %.4f below the QAT model's %.4f (tolerance %.2f)",
                metrics["tflite_int8"]["dice"],
                drop,
                metrics["qat"]["dice"],
                DICE_TOLERANCE,
            )
        metrics.update({f"{name}_images": len(data) for name, data in sets.items()})
        st.set_tags({f"{form}_sha256": f["sha256"] for form, f in meta["files"].items()})
        st.log_artifacts(EXPORT_DIR, artifact_path="export/crack")
        family_report(st, "crack", partial(frame_ratios, min_area=params.crack.eval.false_alarm_min_area))
        st.finish(metrics)
    return metrics


main = command("flows.export_crack", __doc__, lambda a: export_crack(a.params))

if __name__ == "__main__":
    sys.exit(main())

"""Export-OCR flow: both detectors to ONNX fp32 and int8, checked and measured (DVC stage ``export_ocr``).

Writes ``models/export/ocr/`` (``roi_fp32.onnx``, ``char_fp32.onnx``, ``roi_int8.onnx``,
``char_int8.onnx`` and ``ocr_meta.json``: sizes, classes, thresholds, NMS, crop margin and the
sha256 of each model; everything inference needs, so serving never reads params.yaml). A detector in
``export.ocr.float_detectors`` has no int8 file: the int8 form uses its fp32 graph. A detector in
``export.ocr.checked_detectors`` keeps its int8 file only when the deployable reading of the
validation split loses no more than ``registry.ocr.max_quantization_drop`` against it in fp32
(``components.export.ocr_check``; the decision is in ``ocr_meta.json``, in the MLflow tags and as
``<detector>_int8`` in the int8 metrics). The fp32
graphs must reproduce PyTorch within ``export.ocr.parity_atol`` or the stage fails. Then the whole
two-stage path of each form (PyTorch fp32, ONNX fp32, ONNX int8) is evaluated on the test split by
the same evaluator as ``evaluate_ocr`` on the fixed ``test`` and ``ood`` sets (95 % bootstrap
intervals, ``_ood`` keys; per-frame tables in ``reports/per_frame/export_ocr/``), and timed at batch 1 with 1 and 2
threads (``_2t``).
``metrics/export_ocr.json``: ``{"torch_fp32": {...}, "onnx_fp32": {...}, "onnx_int8": {...}}`` with
roi_ap50, char_map50, char_map, string_accuracy, cer, latency_ms_p50/p95, fps (+ ``_2t``) and
model_bytes (both detectors). The same go to MLflow, with the export folder as artifacts. The
export folder is built beside its place and swapped in only after everything passed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import mlflow
import torch
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from components.export.ocr_check import check_quantized_detector, record_check
from components.export.ocr_onnx import ExportSettings, staged_dir
from components.export.ocr_onnx import export_ocr as export_models
from components.export.ocr_runtime import FORMS, OnnxTwoStageOcr, load_meta
from components.io import sha256_file
from components.ocr.data import load_frames
from components.ocr.evaluate import evaluate, frame_ratios, latency
from components.ocr.predict import TwoStageOcr
from components.registry.gates import Bootstrap
from flows.common import flat
from flows.family_report import family_report
from flows.ocr_common import (
    CHAR_MODEL,
    DATA,
    MANIFEST,
    ROI_MODEL,
    load_eval_frames,
    reading_thresholds,
    set_metrics,
    write_per_frame,
)
from flows.stage import Stage, command, param_dict

STAGE = "export_ocr"
EXPORT_DIR = Path("models/export/ocr")
THREADS = (1, 2)
LATENCY_FRAMES = 8
KEYS = (
    "roi_ap50",
    "char_map50",
    "char_map",
    "string_accuracy",
    "string_accuracy_ood",
    "cer",
    "roi_precision",
    "roi_precision_ood",
    "latency_ms_p50",
    "latency_ms_p95",
    "fps",
    "latency_ms_p50_2t",
    "latency_ms_p95_2t",
    "fps_2t",
    "model_bytes",
)


@task(name="export-onnx", cache_policy=NO_CACHE)
def run_export(st: Stage, ocr: TwoStageOcr, calibration_frames, out_dir: Path, settings: ExportSettings) -> dict:
    log = get_run_logger()
    source = {
        "roi_model": str(ROI_MODEL),
        "roi_sha256": sha256_file(st.path(ROI_MODEL)),
        "char_model": str(CHAR_MODEL),
        "char_sha256": sha256_file(st.path(CHAR_MODEL)),
        "calibration_frames": len(calibration_frames),
        "git_commit": st.git_commit(),
    }
    return export_models(ocr, (f.image() for f in calibration_frames), out_dir, settings, source, log=log.info)


@task(name="check-int8-detector", cache_policy=NO_CACHE)
def check_detector(st: Stage, out: Path, name: str, frames) -> bool:
    """Keep detector ``name`` in int8 only if the validation reading holds (components.export.ocr_check)."""
    params = st.params
    margins = params.registry.ocr.max_quantization_drop
    result = check_quantized_detector(out, name, frames, margins, Bootstrap.from_params(params.bootstrap))
    kept = record_check(out, name, result, "val", len(frames))
    verdict = "kept in int8" if kept else "kept in fp32 (the int8 form uses its fp32 graph)"
    get_run_logger().info("%s detector %s: %s", name, verdict, "; ".join(c.detail for c in result.checks))
    st.set_tags({f"{name}_int8": "kept" if kept else "check failed: fp32"})
    return kept


@task(name="evaluate-form", cache_policy=NO_CACHE)
def evaluate_form(st: Stage, name: str, make, sets: dict, images, progress: bool) -> dict:
    """Metrics of one form on each evaluation set (evaluate_ocr's evaluator, with intervals; ``_ood``
    keys for the OOD set) and its latency at each thread count; ``make(threads)`` builds the
    pipeline (ONNX Runtime fixes threads per session)."""
    params = st.params
    x = params.export.ocr
    warmup, runs = x.latency_warmup, x.latency_runs
    ocr = make(THREADS[0])
    out: dict = {}
    for set_name, frames in sets.items():
        ev = evaluate(ocr, frames, progress)
        out.update(set_metrics(ev, params, "" if set_name == "test" else f"_{set_name}"))
        write_per_frame(st.root, STAGE, name, set_name, frames, ev)
    for threads in THREADS:
        if threads != THREADS[0]:
            ocr = make(threads)
        lat = latency(ocr, images, warmup, runs, threads)
        suffix = "" if threads == 1 else f"_{threads}t"
        out.update({k + suffix: v for k, v in lat.items() if k != "threads"})
    get_run_logger().info("%s: %s", name, ", ".join(f"{k}={out[k]:.4g}" for k in KEYS if k in out))
    return out


@flow(name="export_ocr", log_prints=True)
def export_ocr(params_file: str = "params.yaml", progress: bool = True, root: Path | None = None) -> dict:
    st = Stage.load(STAGE, params_file, root)
    params = st.params
    x, e = params.export.ocr, params.ocr.eval
    if params.ocr.threads:  # calibration; each latency sets its own thread count
        torch.set_num_threads(params.ocr.threads)
    with st.run(data=DATA, tags={"dataset": "ocr"}):
        st.log_params({**param_dict(x, "export.ocr."), **param_dict(e, "ocr.eval.")})
        thresholds = reading_thresholds(st.root, e)
        models = st.path(ROI_MODEL), st.path(CHAR_MODEL)
        as_trained = TwoStageOcr.load(*models, device="cpu", fuse=False, **thresholds)  # what is exported
        torch_ocr = TwoStageOcr.load(*models, device="cpu", **thresholds)  # served: BatchNorm folded
        calibration = load_frames(st.path(MANIFEST), st.path(DATA), "train", x.calibration_frames)
        sets = load_eval_frames(st.root, x.max_eval_frames)
        test = sets["test"]
        if not calibration:
            raise ValueError(f"{MANIFEST}: no training frames for calibration")
        images = [f.image() for f in test[:LATENCY_FRAMES]]
        with staged_dir(st.path(EXPORT_DIR)) as out:
            meta = run_export(st, as_trained, calibration, out, ExportSettings.from_params(x))
            if x.checked_detectors:
                val = load_frames(st.path(MANIFEST), st.path(DATA), "val")
                kept = {name: check_detector(st, out, name, val) for name in x.checked_detectors}
                meta = load_meta(out)
            sizes = {
                f"onnx_{form}": sum(meta["files"][f"{d}_{form}"]["bytes"] for d in ("roi", "char")) for form in FORMS
            }
            sizes["torch_fp32"] = sum(m.stat().st_size for m in models)
            metrics: dict = {}
            makers = {
                "torch_fp32": lambda threads: torch_ocr,
                **{
                    f"onnx_{form}": (lambda threads, form=form: OnnxTwoStageOcr.load(out, form, threads))
                    for form in FORMS
                },
            }
            for name, make in makers.items():
                m = evaluate_form(st, name, make, sets, images, progress)
                m["model_bytes"] = sizes[name]
                if name == "onnx_int8" and x.checked_detectors:
                    m.update({f"{d}_int8": int(k) for d, k in kept.items()})
                metrics[name] = {k: (round(v, 5) if isinstance(v, float) else v) for k, v in m.items()}
        for name in ("onnx_fp32", "onnx_int8"):
            for k in ("char_map50", "string_accuracy"):
                metrics[name][f"{k}_delta_vs_torch"] = round(metrics[name][k] - metrics["torch_fp32"][k], 5)
        family_report(st, "ocr", frame_ratios)
        st.finish(metrics)
        mlflow.log_metrics(flat({"parity": meta["parity"]}))
        st.set_tags({f"{k}_sha256": f["sha256"] for k, f in meta["files"].items()})
        st.log_artifacts(EXPORT_DIR, artifact_path="export/ocr")
        st.log.info(
            "test split (%d frames), int8 vs fp32: char_map50 %+.4f, string_accuracy %+.4f; sizes %s",
            len(test),
            metrics["onnx_int8"]["char_map50"] - metrics["onnx_fp32"]["char_map50"],
            metrics["onnx_int8"]["string_accuracy"] - metrics["onnx_fp32"]["string_accuracy"],
            sizes,
        )
    return metrics


main = command("flows.export_ocr", __doc__, lambda a: export_ocr(a.params, progress=not a.no_progress), progress=True)

if __name__ == "__main__":
    sys.exit(main())

"""Evaluate-OCR flow: the two-stage path on the fixed test sets (docs/architecture.md#metrics) and its latency.

DVC stage ``evaluate_ocr`` runs ``python -m flows.evaluate_ocr``. Writes ``metrics/evaluate_ocr.json``
(roi_ap50, char_map50, char_map, string_accuracy (grammar-decoded), raw_string_accuracy, value_accuracy,
valid_rate, cer, roi_precision, roi_recall on the ``test`` set,
the same with ``_ood`` on the held-out-style set, 95 % bootstrap intervals over frames as
``<key>_ci_low``/``<key>_ci_high`` (not for char_map), latency_ms_p50, latency_ms_p95, fps), the
per-frame tables (``reports/per_frame/evaluate_ocr/``),
``plots/evaluate_ocr/confusion.png`` + ``confusion.csv`` (characters read, actual vs predicted)
and logs overlays to MLflow. ``--save-image DIR`` writes an overlay PNG per frame (boxes, read
string, scores); ``--save-json DIR`` writes the predictions as canonical LabelMe JSON (one per
frame, beside a copy of the image, so ``import_ocr`` reads the folder back as a dataset).
"""

from __future__ import annotations

import csv
import io
import shutil
import sys
import tempfile
import time
from pathlib import Path

import mlflow
from prefect import flow, task

from components.data.ocr_format import CHAR_CLASSES, write_labelme
from components.io import atomic_write_text
from components.ocr.evaluate import evaluate, frame_ratios, latency
from components.ocr.plots import confusion_png, overlay, write_png
from components.ocr.predict import TwoStageOcr
from flows.family_report import family_report
from flows.ocr_common import (
    CHAR_MODEL,
    DATA,
    PLOTS,
    ROI_MODEL,
    load_eval_frames,
    reading_thresholds,
    set_metrics,
    setup_torch,
    write_per_frame,
)
from flows.stage import Stage, command, param_dict

STAGE = "evaluate_ocr"
PLOT_DIR = PLOTS / STAGE
KEYS = ("roi_ap50", "char_map50", "string_accuracy", "value_accuracy", "cer", "roi_precision", "roi_recall")


def _confusion_csv(counts: dict, path: Path) -> None:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["actual", "predicted"])
    for (a, p), n in sorted(counts.items()):
        w.writerows([[a, p]] * n)
    atomic_write_text(path, buf.getvalue())


@task(name="evaluate-set")
def run_evaluation(ocr: TwoStageOcr, frames, progress: bool):
    return evaluate(ocr, frames, progress)


@task(name="latency")
def run_latency(ocr: TwoStageOcr, frames, e) -> dict:
    images = [f.image() for f in frames[: max(1, min(len(frames), 8))]]
    return latency(ocr, images, e.latency_warmup, e.latency_runs, e.latency_threads)


@flow(name="evaluate_ocr", log_prints=True)
def evaluate_ocr(
    params_file: str = "params.yaml",
    save_image: str | None = None,
    save_json: str | None = None,
    progress: bool = True,
    root: Path | None = None,
) -> dict:
    st = Stage.load(STAGE, params_file, root)
    ocr_p, e = st.params.ocr, st.params.ocr.eval
    device = setup_torch(ocr_p)
    with st.run(data=DATA, tags={"device": str(device)}):
        st.log_params({**param_dict(e), "device": str(device)})
        ocr = TwoStageOcr.load(
            st.path(ROI_MODEL),
            st.path(CHAR_MODEL),
            device=str(device),
            **reading_thresholds(st.root, e),
        )
        t0 = time.perf_counter()
        sets = load_eval_frames(st.root, e.max_frames)
        metrics: dict = {}
        for name, set_frames in sets.items():
            suffix = "" if name == "test" else f"_{name}"
            set_ev = run_evaluation(ocr, set_frames, progress)
            metrics.update(set_metrics(set_ev, st.params, suffix))
            write_per_frame(st.root, STAGE, "torch_fp32", name, set_frames, set_ev)
            st.log.info(
                "%s set (%d frames): %s",
                name,
                len(set_frames),
                ", ".join(
                    f"{k}={metrics[k + suffix]:.4g} [{metrics[k + suffix + '_ci_low']:.4g}, "
                    f"{metrics[k + suffix + '_ci_high']:.4g}]"
                    for k in KEYS
                ),
            )
            if name == "test":
                frames, ev = set_frames, set_ev
        metrics["evaluate_seconds"] = round(time.perf_counter() - t0, 1)
        lat = run_latency(ocr, frames, e)
        metrics.update({k: (round(v, 5) if isinstance(v, float) else v) for k, v in lat.items() if k != "threads"})
        metrics["latency_threads"] = lat["threads"]
        family_report(st, "ocr", frame_ratios)
        st.finish(metrics)

        plot_dir = st.path(PLOT_DIR)
        plot_dir.mkdir(parents=True, exist_ok=True)
        confusion_png(ev.confusion, CHAR_CLASSES, plot_dir / "confusion.png")
        _confusion_csv(ev.confusion, plot_dir / "confusion.csv")
        st.log_artifacts(PLOT_DIR, artifact_path="plots")
        # label, decoded text, raw text per ground-truth ROI
        mlflow.log_text(
            "\n".join(
                f"{t}\t{r if r is not None else '<no ROI>'}\t{raw if raw is not None else '<no ROI>'}"
                for (t, r), (_, raw) in zip(ev.pairs, ev.raw_pairs)
            ),
            "strings.tsv",
        )

        with tempfile.TemporaryDirectory() as tmp:
            shown = Path(save_image) if save_image else Path(tmp)
            for i, (f, r) in enumerate(zip(frames, ev.results)):
                if save_image or i < e.overlays:
                    write_png(shown / f"{f.name}.png", overlay(f.image(), r, f))
            if not save_image:
                mlflow.log_artifacts(tmp, artifact_path="overlays")
            else:
                for f in frames[: e.overlays]:
                    mlflow.log_artifact(str(shown / f"{f.name}.png"), artifact_path="overlays")
        if save_json:
            out = Path(save_json)
            out.mkdir(parents=True, exist_ok=True)
            for f, r in zip(frames, ev.results):
                shutil.copy2(f.image_path, out / f.image_path.name)
                write_labelme(r.to_annotation(f.image_path.name, f.width, f.height), out / f"{f.image_path.stem}.json")
    return metrics


def _options(parser) -> None:
    parser.add_argument("--save-image", metavar="DIR", help="write an overlay PNG per test frame into DIR")
    parser.add_argument("--save-json", metavar="DIR", help="write predictions as LabelMe JSON (+ image) into DIR")


main = command(
    "flows.evaluate_ocr",
    __doc__,
    progress=True,
    options=_options,
    call=lambda a: evaluate_ocr(a.params, a.save_image, a.save_json, progress=not a.no_progress),
)


if __name__ == "__main__":
    sys.exit(main())

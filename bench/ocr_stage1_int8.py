"""Stage 1 in int8: which quantization keeps the deployable OCR's accuracy, and what it saves.

    python -m bench.ocr_stage1_int8 [--export models/export/ocr] [--out bench/results/ocr_stage1_int8.json]

Stage 1 (the ROI detector) quantized with the export's settings cost about a point of string
accuracy on some models, more than the quantization gate allows, so ``export_ocr`` keeps it in int8
only when a check on the validation split passes (``export.ocr.checked_detectors``); the reference
here is the export's int8 form with stage 1 in fp32. Each variant here re-quantizes the exported fp32
stage 1 (``roi_fp32.onnx``) with ONNX Runtime static QDQ, calibrated as ``export_ocr`` does (the
first ``export.ocr.calibration_frames`` training frames, downsampled), and runs it with the export's
int8 stage 2 on the fixed test and OOD sets. Reported per variant and set: string accuracy, char
mAP50, ROI precision and recall, CER; on the test set the paired shortfall of string accuracy and
char mAP50 against stage 1 in fp32 (stage 2 as deployed) with its one-sided 95 % upper bound, the
quantity the quantization gate compares with its margin (``registry.ocr.max_quantization_drop``);
and the p50 latency of the whole path at one thread. Variants (``VARIANTS``): the calibration
method (minmax, entropy, percentile) and node groups kept in float (prefixes of ONNX node names,
``/head/`` for the whole SSD head).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import cv2

from bench.common import REPO, load_average
from components.config import load_params
from components.export.ocr_onnx import calibration_inputs, quantize_int8
from components.export.ocr_runtime import OnnxDetector, OnnxTwoStageOcr, load_meta
from components.latency import time_calls
from components.ocr.data import load_frames
from components.ocr.evaluate import evaluate
from components.registry.evaluation import frame_scores
from components.registry.gates import Bootstrap, paired_shortfall
from flows.ocr_common import DATA, MANIFEST, load_eval_frames

KEYS = ("string_accuracy", "char_map50")
VARIANTS = {  # name: (calibration method, node-name prefixes kept in float)
    "minmax": ("minmax", ()),
    "entropy": ("entropy", ()),
    "percentile": ("percentile", ()),
    "minmax, head fp32": ("minmax", ("/head/",)),
    "minmax, box regression fp32": ("minmax", ("/head/regression_head/",)),
}


def node_names(path: Path, prefixes: tuple[str, ...]) -> list[str]:
    import onnx

    return [n.name for n in onnx.load(str(path)).graph.node if prefixes and n.name.startswith(prefixes)]


def score(ocr, sets: dict, params) -> tuple[dict, dict]:
    """Metrics per set and the per-frame scores the gate compares."""
    metrics, scores = {}, {}
    for name, frames in sets.items():
        ev = evaluate(ocr, frames, progress=False)
        metrics[name] = {k: float(ev.metrics[k]) for k in (*KEYS, "roi_precision", "roi_recall", "cer")}
        scores[name] = frame_scores("ocr", [f.name for f in frames], ev.frames, params, ev.roi_records, ev.char_records)
    return metrics, scores


def compare(export: Path, sets: dict, calibration: list, params, variants, latency_frames: int = 60) -> list[dict]:
    """One row per variant, stage 1 in fp32 first (the reference): metrics per set, the paired
    shortfall on the test set against the reference, p50 latency at one thread."""
    export, meta, x = Path(export), load_meta(export), params.export.ocr
    boot = Bootstrap.from_params(params.bootstrap)
    latency_images = [f.image() for f in sets["test"][:latency_frames]]
    reference = OnnxTwoStageOcr.load(export, form="int8", threads=1, forms={"roi": "fp32"})
    roi_fp32 = export / meta["files"]["roi_fp32"]["path"]
    inputs, _ = calibration_inputs(reference, calibration)  # stage 1's, exactly as export_ocr calibrates

    def run(name: str, ocr) -> tuple[dict, dict]:
        metrics, scores = score(ocr, sets, params)
        lat = time_calls(ocr, latency_images, 5, len(latency_images))
        row = {"variant": name, **{f"{s}_{k}": v for s, m in metrics.items() for k, v in m.items()}}
        row["latency_ms_p50"] = lat["latency_ms_p50"]
        return row, scores

    row, ref_scores = run("stage 1 fp32", reference)
    row["roi_bytes"] = roi_fp32.stat().st_size
    rows = [row]
    print(json.dumps(row), flush=True)
    with tempfile.TemporaryDirectory(prefix="stage1_int8_") as tmp:
        for name in variants:
            method, keep = VARIANTS[name]
            out = Path(tmp) / "roi_int8.onnx"
            quantize_int8(
                roi_fp32, out, inputs, per_channel=x.per_channel, method=method, exclude=node_names(roi_fp32, keep)
            )
            roi = OnnxDetector(out, meta["detectors"]["roi"], threads=1)
            row, scores = run(name, OnnxTwoStageOcr(roi, reference.char, reference.config, "int8", 1))
            for k in KEYS:
                point, upper = paired_shortfall(scores["test"], ref_scores["test"], k, boot)
                row[f"test_{k}_shortfall"], row[f"test_{k}_shortfall_upper"] = point, upper
            row["roi_bytes"] = out.stat().st_size
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m bench.ocr_stage1_int8", description=__doc__.splitlines()[0])
    ap.add_argument("--export", default=str(REPO / "models/export/ocr"))
    ap.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--max-frames", type=int, default=0, help="frames per set (0: all)")
    ap.add_argument("--out", default="")
    args = ap.parse_args(argv)
    cv2.setNumThreads(1)
    params = load_params(REPO / "params.yaml")
    n = params.export.ocr.calibration_frames
    calibration = [f.image() for f in load_frames(REPO / MANIFEST, REPO / DATA, "train", n)]
    rows = compare(Path(args.export), load_eval_frames(REPO, args.max_frames), calibration, params, args.variants)
    result = {"load_average": load_average(), "rows": rows}
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print("| variant | test string acc | OOD string acc | shortfall (upper) | p50 ms |\n|---|---|---|---|---|")
    for r in rows:
        sf = r.get("test_string_accuracy_shortfall")
        gate = "" if sf is None else f"{sf:+.4f} ({r['test_string_accuracy_shortfall_upper']:+.4f})"
        print(
            f"| {r['variant']} | {r['test_string_accuracy']:.3f} | {r['ood_string_accuracy']:.3f} | {gate} "
            f"| {r['latency_ms_p50']:.1f} |"
        )
    return result


if __name__ == "__main__":
    main()

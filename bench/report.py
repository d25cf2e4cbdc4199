"""Markdown tables and a plot from bench/results/results.json; optionally the docs' benchmark page.

    python bench/report.py [--results bench/results/results.json] [--update-docs]

``bench/run_all.py`` calls ``write_report`` after a run; this script re-renders without measuring.
Writes ``RESULTS.md`` and ``scaling.png`` beside the JSON. ``--update-docs`` (old name:
``--update-readme``) replaces the text between ``<!-- bench:begin -->`` and ``<!-- bench:end -->``
in ``docs/benchmarks.md`` (adding a "## Results" section at the end if the markers are missing),
copies the plot to ``docs/img/bench_scaling.png`` (the docs site cannot link outside ``docs/``)
and touches nothing else.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench.common import REPO, RESULTS_DIR, fmt, md_table, replace_between_markers

OCR_LABELS = {"torch_fp32": "PyTorch fp32", "onnx_fp32": "ONNX fp32", "onnx_int8": "ONNX int8 (deployed)"}
CRACK_LABELS = {
    "keras_float": "Keras float",
    "keras_qat": "Keras QAT (fake-quant)",
    "tflite_dynamic": "TFLite dynamic range",
    "tflite_int8": "TFLite int8 (deployed)",
}


def _get(d, *keys, default=None):
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return default
        d = d[k]
    return d


def _lat(row: dict, t: str) -> str:
    lat = _get(row, "latency", t)
    return f"{fmt(lat['latency_ms_p50'])} / {fmt(lat['latency_ms_p95'])}" if lat else "-"


def _tp(row: dict, t: str) -> str:
    tp = _get(row, "throughput", t)
    return f"{fmt(tp['images_per_s'])} (batch {tp['best_batch']})" if tp else "-"


def _threads(part: dict | None) -> list[str]:
    return sorted({t for f in (part or {}).get("forms", {}).values() for t in f.get("latency", {})}, key=int)


def _loads(obj) -> list[float]:
    """Every load average a part recorded (keys ``load_average*``, ``load_start``, ``load_end``)."""
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if (k.startswith("load_average") or k in ("load_start", "load_end")) and isinstance(v, (int, float)):
                out.append(float(v))
            else:
                out += _loads(v)
    elif isinstance(obj, list):
        for v in obj:
            out += _loads(v)
    return out


# ----------------------------------------------------------------------------------- sections ---


def _other_cpus(cpu: str | None, steps: dict) -> list[str]:
    """A line naming the parts measured on another CPU than this run's, so that numbers from two
    machines are never read as side by side."""
    elsewhere: dict[str, list[str]] = {}
    for k, st in steps.items():
        if st.get("cpu") and st["cpu"] != cpu:
            elsewhere.setdefault(st["cpu"], []).append(k)
    return [
        (
            f"- **Another CPU**: {', '.join(f'`{k}`' for k in ks)} were measured on {other}: compare them with this "
            "run's parts only as orders of magnitude, or rerun them (`--only`) on this machine."
        )
        for other, ks in elsewhere.items()
    ]


def header(results: dict) -> str:
    m = results.get("meta", {})
    v = m.get("versions", {})
    pkgs = ", ".join(f"{k} {val}" for k, val in v.items())
    steps = results.get("steps", {})
    now = [k for k, st in steps.items() if st.get("run") == m.get("date")]
    earlier: dict[str, list[str]] = {}
    for k, st in steps.items():
        if k not in now:
            earlier.setdefault(st.get("run", "an earlier run"), []).append(k)
    wall = sum(steps[k].get("wall_s", 0) for k in now) / 60
    loads = _loads(results)
    max_load = max(loads, default=0)
    lines = [
        (
            f"Measured {m.get('date', '?')} in **{m.get('mode', '?')}** mode "
            f"(`python bench/run_all.py{' --quick' if m.get('mode') == 'quick' else ''}`): "
            + (
                f"all parts side by side in one run of {wall:.1f} min."
                if not earlier
                else f"{', '.join(f'`{k}`' for k in now)} in this run ({wall:.1f} min); "
                + "; ".join(
                    f"{', '.join(f'`{k}`' for k in ks)} kept from the run of {run}" for run, ks in earlier.items()
                )
                + " (`--only`/`--skip`)."
            )
        ),
        "",
        (
            f"- **CPU**: {m.get('cpu', '?')}, {m.get('cores', '?')} cores visible ({m.get('usable_cores', '?')} usable), "
            f"{m.get('memory_gb', '?')} GB RAM, {m.get('os', '?')}. Threads: **1 and 2** per model (stated in each table)."
        ),
        *_other_cpus(m.get("cpu"), steps),
        (
            f"- **Load**: 1-minute load average {min(loads, default=0):.2f} to {max_load:.2f} where the parts recorded it "
            "(above the core count, other jobs shared the CPU and the times are upper bounds)."
        ),
        f"- **GPU**: {_get(m, 'gpu', 'note', default='not checked')}.",
        *(
            [
                (
                    f"- **Warning**: the load average exceeded the {m.get('cores')} cores during this run, so other processes "
                    "competed for the CPU: 2-thread results in particular (PyTorch's OpenMP threads spin-wait for a busy core) "
                    "are not what a quiet machine gives. Rerun on a quiet machine for final numbers."
                )
            ]
            if max_load > (m.get("cores") or 99)
            else []
        ),
        f"- **Packages**: {pkgs}.",
    ]
    failed = [
        f"`{k}` ({s.get('error', 'exit ' + str(s.get('returncode')))})" for k, s in steps.items() if s.get("returncode")
    ]
    if failed:
        lines.append(f"- **Failed parts** (their tables are missing or from an earlier run): {', '.join(failed)}.")
    return "\n".join(lines)


def ocr_forms(results: dict) -> str:
    r = results.get("ocr_forms")
    if not r:
        return "_OCR forms not measured._"
    th = _threads(r)
    heads = ["form", "roi_ap50", "char_map50", "string_accuracy", "cer"]
    heads += [f"p50 / p95 ms, {t} thr" for t in th] + [f"frames/s at best batch, {t} thr" for t in th] + ["MB (both)"]
    rows = []
    for form, row in r["forms"].items():
        rows.append(
            [
                OCR_LABELS.get(form, form),
                row["roi_ap50"],
                row["char_map50"],
                row["string_accuracy"],
                row["cer"],
                *[_lat(row, t) for t in th],
                *[_tp(row, t) for t in th],
                row["model_bytes"] / 1e6,
            ]
        )
    fl = r.get("flops", {})
    note = (
        f"Test split: {r['test_frames']} frames ({_get(r, 'forms', 'torch_fp32', 'rois', default='?')} resistors). "
        f"Latency: the whole two-stage path per frame at batch 1 (frame -> /4 -> stage 1 -> crops -> stage 2 -> "
        f"strings; JPEG decoding excluded), {r['warmup']} warm-up + {r['runs']} timed calls over {r['latency_frames']} "
        f"frames. Throughput: frames/s at batch {', '.join(map(str, r['batches']))} (stage 1 on all frames in one call, "
        f"stage 2 on all their crops in one call; the ONNX stage-1 graph has batch 1, so there stage 1 loops), best shown. "
        f"Batched and single-frame paths give the same strings: {fmt(r.get('batch_path_matches_single'))}. "
        f"{fmt(fl.get('rois_per_frame'))} ROIs per test frame."
    )
    return md_table(heads, rows, 4) + "\n\n" + note


def crack_forms(results: dict) -> str:
    c = results.get("crack_forms")
    if not c:
        return "_Crack forms not measured._"
    th = _threads(c)
    heads = (
        ["form", "dice", "iou", "precision", "recall"]
        + [f"p50 / p95 ms, {t} thr" for t in th]
        + [f"images/s at best batch, {t} thr" for t in th]
        + ["size kB"]
    )
    rows = []
    for form, row in c["forms"].items():
        rows.append(
            [
                CRACK_LABELS.get(form, form),
                row.get("dice"),
                row.get("iou"),
                row.get("precision"),
                row.get("recall"),
                *[_lat(row, t) for t in th],
                *[_tp(row, t) for t in th],
                row["model_bytes"] / 1e3,
            ]
        )
    note = (
        f"Test split: {c['test_images']} images of 384x288. Latency at batch 1: Keras = normalization + model + argmax; "
        "TFLite = `TfliteSegmenter.predict` as served (lookup-table normalization/quantization, invoke, dequantization, "
        f"probability, mask). {c['warmup']} warm-up + {c['runs']} timed calls. Throughput at batch "
        f"{', '.join(map(str, c['batches']))} (TFLite: input resized to the batch), best shown. TensorFlow fixes its "
        "thread pools when it starts, so each thread count ran in its own process."
    )
    if _get(c, "export", "stale"):
        note += (
            " **Note:** `models/crack/qat.h5` on disk is not the model the TFLite files were converted from (its sha256 "
            "differs from the one `crack_meta.json` records), so the Keras QAT row and the TFLite rows come from "
            "different QAT runs; `dvc repro export_crack` brings them back in line."
        )
    return md_table(heads, rows, 4) + "\n\n" + note


def peers(results: dict) -> str:
    out = []
    t = results.get("tesseract")
    if t and "skipped" not in t:

        def pc(r):
            return f"{fmt(r['ms_per_crop_p50'])} / {fmt(r['ms_per_crop_p95'])}" if "ms_per_crop_p50" in r else "-"

        labels = {
            "ours_onnx_int8": "our stage 2 (ONNX int8 detector + reading order)",
            "tesseract": f"Tesseract {t['version'].split()[-1]} on the grey crop",
            "tesseract_prep": "Tesseract on the prepared crop (body centre, 2x, Otsu)",
            "tesseract_prep_upright": "Tesseract, prepared and turned upright by the true angle (oracle)",
        }
        rows = [
            [label, t[k]["string_accuracy"], t[k]["cer"], pc(t[k]), t[k].get("ms_per_crop_one_process")]
            for k, label in labels.items()
            if k in t
        ]
        out.append(
            "**Reading resistor codes: Tesseract vs our stage 2** (same ROI crops, 1 thread)\n\n"
            + md_table(
                ["reader", "string_accuracy", "cer", "ms per crop p50 / p95", "ms per crop, one process for all"],
                rows,
                3,
            )
            + f"\n\n{t['crops']} crops that our stage 1 (ONNX int8) found on {t['test_frames']} test frames "
            f"({t['gt_rois']} resistors; a resistor without a crop counts as wrong for every reader). Tesseract: "
            "`--psm 7` (one text line), the 36 characters as a whitelist, `OMP_THREAD_LIMIT=1`, the crop at full "
            f"resolution (ours gets it letterboxed to {t.get('crop_size', 192)} px). Per-crop times start one `tesseract` process per crop "
            f"(start-up included; timed on {t.get('per_crop_timed', '?')} prepared crops); the last column amortises one "
            "process over all crops. Ours: one crop at batch 1. The oracle row turns each crop by the angle of its "
            "ground-truth characters (no deployed system knows it), separating what the +-50 degree rotation costs "
            "Tesseract from what it cannot read at all."
        )
    elif t:
        out.append(f"_Tesseract: {t['skipped']}_")
    b = _get(results, "crack_forms", "baseline")
    acc = _get(results, "crack_forms", "forms", default={})
    if b:
        rows = [
            [
                "black-hat + Otsu (classical)",
                b["dice"],
                b["iou"],
                b["precision"],
                b["recall"],
                f"{fmt(b['latency_ms_p50'])} / {fmt(b['latency_ms_p95'])}",
            ]
        ]
        for form in ("keras_float", "tflite_int8"):
            if form in acc and "dice" in acc[form]:
                r = acc[form]
                rows.append([CRACK_LABELS[form], r["dice"], r["iou"], r["precision"], r["recall"], _lat(r, "1")])
        s = b["settings"]
        out.append(
            "**Crack segmentation: classical baseline vs the UNet** (test split, 1 thread)\n\n"
            + md_table(["method", "dice", "iou", "precision", "recall", "ms/img p50 / p95"], rows, 4)
            + f"\n\nGaussian blur {s['blur']} px, black-hat with a {s['kernel']} px disc, Otsu threshold applied "
            f"{s['otsu_passes']} time(s) (each pass among the pixels above the last level), components under "
            f"{s['min_area']} px dropped; these settings won a {b['grid']}-point grid search on the validation split "
            f"(val Dice {fmt(b['val_dice'], 4)}). Same metric code as the models."
        )
    s = results.get("ssdlite")
    if s:
        th = sorted(s["ours"]["latency"], key=int)
        rows = []
        for name, label, epochs in (
            ("ours", "our ROI SSD (MobileNetV2 x0.5, strides 8+16), `models/ocr/roi.pt`", s["ours"]["epochs"]),
            ("ssdlite", "torchvision SSDLite320-MobileNetV3-Large, trained here", s["epochs"]),
        ):
            r = s[name]
            hist = r.get("val_history") or []
            rows.append(
                [
                    label,
                    epochs,
                    r["test_ap50"],
                    " ".join(fmt(h["val_roi_ap50"], 3) for h in hist[: s["epochs"]]) or "-",
                    r["params"] / 1e6,
                    r["flops"] / 1e9,
                    r["state_dict_bytes"] / 1e6,
                    *[_lat(r, t) for t in th],
                    fmt(r.get("train_s") or sum(h.get("epoch_s", 0) for h in hist)) + " s",
                ]
            )
        out.append(
            "**Stage-1 detector: torchvision SSDLite320 vs ours** (same ROI data and recipe)\n\n"
            + md_table(
                [
                    "detector",
                    "epochs",
                    "test AP50",
                    f"val AP50 by epoch (first {s['epochs']})",
                    "M params",
                    "GFLOP/frame",
                    "MB",
                    *[f"p50 / p95 ms, {t} thr" for t in th],
                    "training time",
                ],
                rows,
                3,
            )
            + f"\n\nSSDLite trained here from scratch on {s['train_frames']} training frames downsampled to "
            f"{s['input_size'][0]}x{s['input_size'][1]} (it resizes to 320x320 itself) with our stage 1's recipe: AdamW "
            f"lr {s['lr']}, batch {s['batch_size']}, {s['schedule']} schedule compressed to {s['epochs']} epoch(s), the "
            f"stage's flip + photometric augmentation, {s['train_threads']} training thread(s); ours is the pipeline's `train_roi` "
            "model (its own run over all training frames; validation AP50 per epoch from `plots/train_roi.csv`, "
            "where the schedule still ran at a high learning rate). AP50 of the raw detector on the "
            f"{s['test_frames']} test frames; "
            "latency of one detector call at batch 1 (post-processing set to ours: score > 0.05, NMS 0.45, 20 boxes). "
            "Our training time is from `plots/train_roi.csv` (an earlier run, other load)."
        )
    return "\n\n".join(out) if out else "_No peers measured._"


def scaling(results: dict) -> str:
    s = results.get("scaling")
    out = []
    if s:
        sizes, fit, every = s["sizes"], s.get("fit", {}), s.get("every_size", s["stages"])
        heads = (
            ["stage"] + [f"{n} frames: s / MB" for n in sizes] + ["fixed s", "s per 100 frames", "MB per 100 frames"]
        )
        rows = []
        for stage in s["stages"]:
            cells = []
            for run in s["runs"]:
                st = run["stages"].get(stage)
                cells.append(f"{fmt(st['wall_s'])} / {fmt(st['peak_rss_mb'], 3)}" if st else "")
            f = fit.get(stage, {})
            rows.append(
                [
                    f"`{stage}`",
                    *cells,
                    fmt(f.get("fixed_s")),
                    fmt(100 * f["per_frame_s"]) if "per_frame_s" in f else "",
                    fmt(100 * f["peak_mb_per_frame"]) if "peak_mb_per_frame" in f else "",
                ]
            )
        tot = [sum(r["stages"][st]["wall_s"] for st in every if st in r["stages"]) for r in s["runs"]]
        rows.append(["**sum of the stages timed at every size**", *[f"**{fmt(t)}**" for t in tot], "", "", ""])
        if len(s["stages"]) > len(every):
            rows.append(
                [
                    f"**all {len(s['stages'])} stages**",
                    f"**{fmt(s['runs'][0]['total_s'])}**",
                    *["" for _ in sizes[1:]],
                    "",
                    "",
                    "",
                ]
            )
        sched = s["schedule"]
        once = [st for st in s["stages"] if st not in every]
        out.append(
            "**Pipeline wall time (s) and peak memory (MB) per stage against dataset size**\n\n"
            + md_table(heads, rows, 3)
            + f"\n\nEach size is a fresh temporary copy of the repository with N OCR frames (1280x960) and N crack "
            f"frames (384x288), splits {sched['data']['splits']['train']}/{sched['data']['splits']['val']}/"
            f"{sched['data']['splits']['test']}, the demo models and a tiny schedule (1 epoch per training stage, small "
            "calibration and latency loops: `TINY` in `bench/scaling.py`); each stage runs by `dvc repro "
            "--single-item` in DAG order with one shared Prefect server, so its wall time includes start-up "
            "(interpreter, torch/TensorFlow imports, Prefect flow, MLflow run, DVC hashing and caching). "
            + (
                f"{', '.join(f'`{x}`' for x in once)} ran at {sizes[0]} frames only (their work is mostly fixed: "
                "QAT graph building, TFLite/ONNX conversion, registration). "
                if once
                else ""
            )
            + "fixed s, s per 100 frames: least-squares line `wall = fixed + per_frame x N` over the sizes (a "
            "negative or tiny slope means the per-frame work is below the run-to-run noise at these sizes: the "
            "stage's cost is its start-up); at demo scale (`data.*.num_frames` frames, `*.epochs` "
            "epochs in `params.yaml`) the per-frame part of a training stage is multiplied by its epochs. "
            "MB per 100 frames: the same fit of peak memory (the training stages hold their decoded data in "
            "memory). Peak memory: the largest process of the stage. Plot: `scaling.png`."
        )
    rows = []
    for r in _get(results, "ocr_forms", "input_size", default=[]):
        rows.append(
            [
                "OCR stage 1 (PyTorch fp32)",
                r["input"],
                r["flops"] / 1e9,
                *[fmt(_get(r, f"{t}t", "latency_ms_p50")) for t in ("1", "2")],
                "-",
            ]
        )
    for r in _get(results, "crack_forms", "input_size", default=[]):
        rows.append(
            [
                "crack UNet",
                r["input"],
                r["flops"] / 1e9,
                fmt(r["keras_float"]["latency_ms_p50"]),
                "-",
                fmt(r["tflite_int8"]["latency_ms_p50"]) if r.get("tflite_int8") else "n/a",
            ]
        )
    if rows:
        note = ""
        if any(not r.get("tflite_int8") for r in _get(results, "crack_forms", "input_size", default=[])):
            note = (
                "\n\nn/a: the int8 TFLite graph cannot be resized (`resize_tensor_input` fails to prepare: the converter "
                "froze the bilinear up-sampling sizes), so the deployed model runs only at its trained 384x288; other "
                "sizes would need another conversion."
            )
        out.append(
            "**Inference latency against input size** (batch 1, p50 ms; same weights, model rebuilt at each size)\n\n"
            + md_table(
                [
                    "model",
                    "input",
                    "GFLOP",
                    "p50 ms, float, 1 thr",
                    "p50 ms, float, 2 thr",
                    "p50 ms, TFLite int8, 1 thr",
                ],
                rows,
                3,
            )
            + note
        )
    return "\n\n".join(out) if out else "_Scaling not measured._"


def limit(results: dict) -> str:
    p = results.get("peak")
    if not p:
        return "_Peak not measured._"
    rows = [
        [t, r["torch_fp32_gflops"], r["numpy_fp32_gflops"], r.get("torch_int8_gops")] for t, r in p["threads"].items()
    ]
    out = [
        f"**This CPU's measured peak**: dense {p['n']}x{p['n']} GEMM, best of {p['reps']}\n\n"
        + md_table(["threads", "torch fp32 GFLOP/s", "numpy fp32 GFLOP/s", "torch int8 GOP/s (`_int_mm`)"], rows, 3)
    ]
    rows = []

    def add(label, flops, row, t, int8=False):
        lat, tp = _get(row, "latency", t), _get(row, "throughput", t)
        key = "torch_int8_gops" if int8 else "fp32_peak_gflops"  # t threads can always do what fewer did
        peak = max((_get(p, "threads", u, key) or 0 for u in p["threads"] if int(u) <= int(t)), default=0)
        if not (lat and peak):
            return
        g1 = flops / (lat["latency_ms_p50"] / 1000) / 1e9
        gb = flops * tp["images_per_s"] / 1e9 if tp else None
        rows.append(
            [
                label,
                t,
                flops / 1e9,
                lat["latency_ms_p50"],
                g1,
                gb,
                f"{100 * max(g1, gb or 0) / peak:.1f} %",
                "int8 GEMM" if int8 else "fp32 GEMM",
            ]
        )

    fl = _get(results, "ocr_forms", "flops", "flops_per_frame")
    for form, row in _get(results, "ocr_forms", "forms", default={}).items():
        for t in sorted(row.get("latency", {}), key=int):
            if fl:
                add(f"OCR {OCR_LABELS.get(form, form)}", fl, row, t, int8=form.endswith("int8"))
    cf = _get(results, "crack_forms", "flops", "flops_per_frame")
    for form, row in _get(results, "crack_forms", "forms", default={}).items():
        for t in sorted(row.get("latency", {}), key=int):
            if cf:
                add(f"crack {CRACK_LABELS.get(form, form)}", cf, row, t, int8=form == "tflite_int8")
    rows.sort(key=lambda x: (x[0], x[1]))
    s = results.get("ssdlite")
    fl_note = ""
    if fl:
        f = results["ocr_forms"]["flops"]
        fl_note = (
            f"OCR FLOPs per frame = stage 1 ({fmt(f['stage1_flops'] / 1e9)} GFLOP) + {fmt(f['rois_per_frame'])} ROIs x "
            f"stage 2 ({fmt(f['stage2_flops_per_crop'] / 1e9)} GFLOP per {f.get('crop_size', 192)} px square crop), from "
            "`torch.utils.flop_counter.FlopCounterMode`. "
        )
    if cf:
        c = results["crack_forms"]["flops"]
        fl_note += (
            f"Crack FLOPs = 2 x the multiply-accumulates of every convolution and dense layer from their shapes "
            f"({fmt(c['flops_per_frame'] / 1e9, 4)} GFLOP at {c['input']}; TensorFlow's graph profiler counts "
            f"{fmt((c.get('tf_profiler_flops') or 0) / 1e9, 4)} with BatchNorm and element-wise ops). "
        )
    if s:
        fl_note += (
            f"SSDLite320: {fmt(s['ssdlite']['flops'] / 1e9)} GFLOP per call vs {fmt(s['ours']['flops'] / 1e9)} for our "
            "stage 1. "
        )
    out.append(
        "**Achieved GFLOP/s against that peak**\n\n"
        + md_table(
            [
                "model form",
                "threads",
                "GFLOP/frame",
                "p50 ms",
                "GFLOP/s at batch 1",
                "GFLOP/s at best batch",
                "of peak",
                "peak used",
            ],
            rows,
            3,
        )
        + "\n\nPeak for t threads: the best GEMM rate measured with at most t threads. "
        "FLOPs = 2 x multiply-accumulates (one multiply-add = 2 operations); the int8 forms do the same "
        "multiply-accumulates in int8 and are compared with the int8 GEMM peak. "
        + fl_note
        + "Achieved = FLOPs per frame x frames/s, where the time includes everything a frame costs (pre- and "
        "post-processing, NMS, reading order), so the gap is the share of time not spent in dense arithmetic: "
        "depthwise convolutions and small tensors keep these MobileNet-style models far from GEMM speed, and on "
        "a shared machine the load adds to it."
    )
    return "\n\n".join(out)


def gpu(results: dict) -> str:
    g = _get(results, "meta", "gpu", default={})
    if g.get("available"):
        return f"GPU present ({', '.join(g['names'])}), but this suite measures the CPU deployable forms only."
    return (
        "No GPU: this machine has none (and this task was lent none), so there are no GPU numbers. The reference "
        "figure the design quotes (mAP 84.1 at 17.15 fps on an RTX 3090) cannot be reproduced here."
    )


def render(results: dict, level: int = 2) -> str:
    h = "#" * level
    parts = [
        header(results),
        (
            f"{h} 1. Deployable forms on this CPU\n\n**Resistor OCR (two-stage)**\n\n{ocr_forms(results)}\n\n"
            f"**Road-crack segmenter**\n\n{crack_forms(results)}"
        ),
        f"{h} 2. Peers on the same test data\n\n{peers(results)}",
        f"{h} 3. Scaling\n\n{scaling(results)}",
        f"{h} 4. Distance to the limit\n\n{limit(results)}",
        f"{h} 5. GPU\n\n{gpu(results)}",
    ]
    return "\n\n".join(parts) + "\n"


# -------------------------------------------------------------------------------------- plot ---


def _cpu_of(results: dict, *parts: str) -> str:
    """The CPU (model name, without its flag list) the given parts were measured on, for a plot title."""
    cpus = {_get(results, "steps", p, "cpu", default=None) for p in parts} - {None}
    cpus = cpus or {_get(results, "meta", "cpu", default="?")}
    return " / ".join(sorted(c.split(" (")[0] for c in cpus))


def plot(results: dict, path: Path) -> Path | None:
    s = results.get("scaling")
    ocr_sizes = _get(results, "ocr_forms", "input_size", default=[])
    crack_sizes = _get(results, "crack_forms", "input_size", default=[])
    if not s and not ocr_sizes and not crack_sizes:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    from components.io import atomic_path

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    ax = axes[0]
    if s:
        sizes = [r["frames"] for r in s["runs"]]
        multi = [st for st in s["stages"] if sum(st in r["stages"] for r in s["runs"]) > 1]
        cmap = plt.get_cmap("tab10")
        for i, st in enumerate(multi):
            pts = [(r["frames"], r["stages"][st]["wall_s"]) for r in s["runs"] if st in r["stages"]]
            f = s.get("fit", {}).get(st, {})
            ax.plot(
                *zip(*pts),
                "o-",
                color=cmap(i % 10),
                lw=1.5,
                ms=4,
                label=f"{st}: {f.get('fixed_s', 0):.0f} s + {100 * f.get('per_frame_s', 0):.1f} s/100 frames",
            )
        every = s.get("every_size", multi)
        ax.plot(
            sizes,
            [sum(r["stages"][st]["wall_s"] for st in every if st in r["stages"]) for r in s["runs"]],
            "k--",
            lw=2,
            label="sum of these stages",
        )
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(sizes, [str(n) for n in sizes])
        ax.yaxis.set_major_locator(matplotlib.ticker.FixedLocator([5, 10, 20, 30, 50, 100, 200, 300, 500, 1000, 2000]))
        ax.yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("frames per dataset (OCR and crack each)")
        ax.set_ylabel("stage wall time, s")
        ax.set_title(f"Pipeline stage wall time vs dataset size (1 epoch)\n{_cpu_of(results, 'scaling')}", fontsize=10)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=6.5, loc="best", framealpha=0.8)
    ax = axes[1]
    if ocr_sizes:
        for t, style in (("1", "o-"), ("2", "o--")):
            ax.plot(
                [r["pixels"] / 1e6 for r in ocr_sizes],
                [_get(r, f"{t}t", "latency_ms_p50") for r in ocr_sizes],
                style,
                color="tab:blue",
                label=f"OCR stage 1, PyTorch fp32, {t} thr",
            )
    if crack_sizes:
        ax.plot(
            [r["pixels"] / 1e6 for r in crack_sizes],
            [r["keras_float"]["latency_ms_p50"] for r in crack_sizes],
            "s-",
            color="tab:orange",
            label="crack UNet, Keras float, 1 thr",
        )
        pts = [(r["pixels"] / 1e6, r["tflite_int8"]["latency_ms_p50"]) for r in crack_sizes if r.get("tflite_int8")]
        if pts:
            ax.plot(*zip(*pts), "D", color="tab:red", label="crack UNet, TFLite int8, 1 thr")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("input megapixels")
    ax.set_ylabel("p50 latency, ms (batch 1)")
    ax.set_title(f"Inference latency vs input size\n{_cpu_of(results, 'ocr_forms', 'crack_1t')}", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    mode = _get(results, "meta", "mode", default="?")
    fig.suptitle(f"bench/run_all.py, {mode} mode, {_get(results, 'meta', 'date', default='?')}", fontsize=9)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return path


DOCS_PAGE = REPO / "docs" / "benchmarks.md"
DOCS_PLOT = REPO / "docs" / "img" / "bench_scaling.png"


def write_report(
    results: dict,
    out_dir: Path = RESULTS_DIR,
    update_docs: bool = False,
    page: Path = DOCS_PAGE,
    plot_copy: Path = DOCS_PLOT,
) -> Path:
    from components.io import atomic_write_bytes, atomic_write_text

    out_dir.mkdir(parents=True, exist_ok=True)
    png = plot(results, out_dir / "scaling.png")
    body = render(results, level=2)
    md = "# Benchmark results\n\n" + body + ("\n![scaling](scaling.png)\n" if png else "")
    atomic_write_text(out_dir / "RESULTS.md", md)
    if update_docs:
        rel = out_dir.resolve().relative_to(REPO) if out_dir.resolve().is_relative_to(REPO) else out_dir
        if png:
            plot_copy.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(plot_copy, png.read_bytes())
        section = (
            f"Generated by `python bench/run_all.py --update-docs` from `{rel}/results.json` "
            f"(full tables: `{rel}/RESULTS.md`); do not edit by hand.\n\n"
            + render(results, level=3)
            + (f"\n![scaling](img/{plot_copy.name})\n" if png else "")
        )
        text = page.read_text() if page.exists() else "# Benchmarks\n"
        atomic_write_text(page, replace_between_markers(text, section))
    return out_dir / "RESULTS.md"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", type=Path, default=RESULTS_DIR / "results.json")
    ap.add_argument(
        "--update-docs",
        "--update-readme",
        dest="update_docs",
        action="store_true",
        help="rewrite the generated block of docs/benchmarks.md",
    )
    a = ap.parse_args(argv)
    path = write_report(json.loads(a.results.read_text()), a.results.parent, a.update_docs)
    print(f"wrote {path}" + (" and docs/benchmarks.md" if a.update_docs else ""))


if __name__ == "__main__":
    main()

"""The resistor OCR's deployable forms side by side: PyTorch fp32, ONNX fp32, ONNX int8.

    python bench/ocr_forms.py [--quick] [--threads 1 2] [--out FILE]

For each form, on the test split of data/manifests/ocr.parquet, in one process:

* accuracy: ``components.ocr.evaluate.evaluate`` (the evaluate_ocr / export_ocr evaluator):
  roi_ap50, char_map50, char_map, string_accuracy, cer;
* latency at batch 1, per thread count: the whole two-stage path (frame -> /4 -> stage 1 -> crops
  -> stage 2 -> strings, JPEG decoding excluded), ``components.latency.time_calls``: p50 / p95 ms;
* throughput at batch 1, 2, 4, 8 frames (``components.ocr.pipeline.run_two_stage_batch``: stage 1
  on all frames in one call, stage 2 on all their crops in one call; the ONNX stage-1 graph is
  exported with batch 1, so there stage 1 runs frame by frame) and the best of them;
* size on disk of both detectors (``.pt`` state dicts / ``.onnx`` graphs);
* FLOPs per frame: ``torch.utils.flop_counter.FlopCounterMode`` over one stage-1 call plus the mean
  number of ROIs per test frame times one stage-2 call (FLOPs = 2 x multiply-accumulates; the int8
  graphs do the same multiply-accumulates in int8), and the GFLOP/s that gives at the measured
  latency and throughput;
* latency vs input size: the stage-1 detector alone (PyTorch fp32) on the frame downsampled by
  8, 4 (the model's size), 2 and 1, with its FLOPs at each size.

The ONNX sessions are built per thread count (ONNX Runtime fixes threads per session, spinning off
as in the runtime); PyTorch uses ``torch.set_num_threads``.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from bench.common import REPO, finish, load_average, parse_common, throughput
from components.config import load_params
from components.export.ocr_runtime import OnnxTwoStageOcr, load_meta
from components.latency import time_calls
from components.ocr.data import load_frames, to_tensor
from components.ocr.evaluate import evaluate
from components.ocr.model import build_ssd
from components.ocr.pipeline import downsample, run_two_stage_batch
from components.ocr.predict import TwoStageOcr
from flows.ocr_common import reading_thresholds

DATA = REPO / "data/ocr"
MANIFEST = REPO / "data/manifests/ocr.parquet"
ROI_MODEL = REPO / "models/ocr/roi.pt"
CHAR_MODEL = REPO / "models/ocr/char.pt"
EXPORT_DIR = REPO / "models/export/ocr"
FORMS = ("torch_fp32", "onnx_fp32", "onnx_int8")
ACCURACY_KEYS = ("roi_ap50", "char_map50", "char_map", "string_accuracy", "cer", "frames", "rois", "rois_detected")
BATCHES = (1, 2, 4, 8)
INPUT_DIVISORS = (8, 4, 2, 1)  # stage-1 input = frame / divisor


def load_form(form: str, threads: int, thresholds: dict):
    if form == "torch_fp32":
        return TwoStageOcr.load(ROI_MODEL, CHAR_MODEL, **thresholds)
    return OnnxTwoStageOcr.load(EXPORT_DIR, form.split("_", 1)[1], threads)


def model_bytes(form: str) -> int:
    if form == "torch_fp32":
        return ROI_MODEL.stat().st_size + CHAR_MODEL.stat().st_size
    suffix = form.split("_", 1)[1]
    return sum((EXPORT_DIR / f"{d}_{suffix}.onnx").stat().st_size for d in ("roi", "char"))


def rois_batch(ocr):
    """Stage 1 on a list of downsampled frames: one call for PyTorch, one per frame for the ONNX graph
    (exported with batch 1)."""
    if isinstance(ocr, TwoStageOcr):

        @torch.no_grad()
        def call(smalls):
            dets = ocr.roi_model([to_tensor(s) for s in smalls])
            return [(d["boxes"].numpy(), d["labels"].numpy(), d["scores"].numpy()) for d in dets]

        return call
    return lambda smalls: [ocr.detect_rois(s) for s in smalls]


def batch_call(ocr):
    """``call(frames)``: the two-stage path on a batch of frames (``run_two_stage_batch``)."""
    detect_rois = rois_batch(ocr)
    return lambda frames: run_two_stage_batch(frames, detect_rois, ocr.detect_chars, ocr.config)


def flops(model, inputs: list[torch.Tensor]) -> int:
    """FLOPs of one forward (FlopCounterMode: 2 per multiply-accumulate of conv/matmul ops)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(inputs)
    return int(counter.get_total_flops())


def frame_flops(ocr: TwoStageOcr, images: list[np.ndarray], rois_per_frame: float) -> dict:
    small = downsample(images[0], ocr.roi_spec["size"])
    s1 = flops(ocr.roi_model, [to_tensor(small)])
    w, h = ocr.char_spec["size"]  # a square crop, or an upright strip
    crop = np.full((int(h), int(w), 3), 127, np.uint8)
    s2 = flops(ocr.char_model, [to_tensor(crop)])
    size = str(w) if w == h else f"{w}x{h}"  # a square's side, or the strip's w x h
    return {
        "stage1_flops": s1,
        "stage2_flops_per_crop": s2,
        "crop_size": size,
        "rois_per_frame": rois_per_frame,
        "flops_per_frame": s1 + rois_per_frame * s2,
    }


def input_size_sweep(threads_list, images, warmup: int, runs: int) -> list[dict]:
    """The stage-1 detector alone (same weights) at other input sizes; fully convolutional, so the
    default boxes follow the size."""
    blob = torch.load(ROI_MODEL, map_location="cpu", weights_only=True)
    full_w, full_h = images[0].shape[1], images[0].shape[0]
    rows = []
    for div in INPUT_DIVISORS:
        size = [full_w // div, full_h // div]
        model = build_ssd({**blob["spec"], "size": size})
        model.load_state_dict(blob["state_dict"])
        model.eval()
        inputs = [to_tensor(downsample(im, size)) for im in images]
        row = {
            "input": f"{size[0]}x{size[1]}",
            "divisor": div,
            "pixels": size[0] * size[1],
            "flops": flops(model, [inputs[0]]),
        }
        for t in threads_list:
            torch.set_num_threads(t)
            with torch.no_grad():
                r = time_calls(
                    lambda x, model=model: model([x]), inputs, warmup, max(3, runs // (4 if div == 1 else 1))
                )
            row[f"{t}t"] = r
        rows.append(row)
        print(
            f"  stage 1 at {row['input']:>9s}: {row['flops'] / 1e9:6.2f} GFLOP, "
            + ", ".join(f"{t}t p50 {row[f'{t}t']['latency_ms_p50']:.1f} ms" for t in threads_list),
            flush=True,
        )
    return rows


def main(argv: list[str] | None = None) -> dict:
    def extra(ap):
        ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
        ap.add_argument("--forms", nargs="+", default=list(FORMS), choices=FORMS)

    args = parse_common(argv, __doc__.splitlines()[0], extra)
    q = args.quick
    warmup, runs, tp_seconds = (2, 8, 0.5) if q else (5, 50, 2.0)
    e = load_params(REPO / "params.yaml").ocr.eval
    thresholds = reading_thresholds(REPO, e)
    frames = load_frames(MANIFEST, DATA, "test", 10 if q else 0)
    images = [f.image() for f in frames]
    lat_images = images[:16]
    print(f"OCR forms: {len(frames)} test frames, threads {args.threads}, load {load_average()}", flush=True)
    meta = load_meta(EXPORT_DIR)
    result = {
        "test_frames": len(frames),
        "latency_frames": len(lat_images),
        "warmup": warmup,
        "runs": runs,
        "throughput_seconds_per_batch_size": tp_seconds,
        "batches": list(BATCHES),
        "export_source": meta.get("source", {}),
        "forms": {},
    }

    torch_ocr = TwoStageOcr.load(ROI_MODEL, CHAR_MODEL, **thresholds)
    torch.set_num_threads(max(args.threads))
    for form in args.forms:
        t0 = time.perf_counter()
        ocr = torch_ocr if form == "torch_fp32" else load_form(form, max(args.threads), thresholds)
        ev = evaluate(ocr, frames, progress=False)
        row = {k: ev.metrics[k] for k in ACCURACY_KEYS}
        row["model_bytes"] = model_bytes(form)
        row["eval_s"] = time.perf_counter() - t0
        if form == "torch_fp32":
            rois_per_frame = float(np.mean([len(r.rois) for r in ev.results]))
            result["flops"] = frame_flops(torch_ocr, images, rois_per_frame)
        row["latency"], row["throughput"] = {}, {}
        for t in args.threads:
            torch.set_num_threads(t)
            ocr = torch_ocr if form == "torch_fp32" else load_form(form, t, thresholds)
            load = load_average()
            row["latency"][str(t)] = {**time_calls(ocr, lat_images, warmup, runs), "load_average": load}
            batches = {
                b: [lat_images[i : i + b] for i in range(0, len(lat_images) - b + 1, b)]
                for b in BATCHES
                if b <= len(lat_images)
            }
            call = batch_call(ocr)
            row["throughput"][str(t)] = throughput(call, batches, tp_seconds)
            lat, tp = row["latency"][str(t)], row["throughput"][str(t)]
            print(
                f"  {form:<10s} {t}t: p50 {lat['latency_ms_p50']:6.1f} ms, p95 {lat['latency_ms_p95']:6.1f} ms, "
                f"best {tp['images_per_s']:5.1f} frames/s at batch {tp['best_batch']} (load {load})",
                flush=True,
            )
        print(
            f"  {form:<10s} roi_ap50 {row['roi_ap50']:.4f} char_map50 {row['char_map50']:.4f} string_accuracy "
            f"{row['string_accuracy']:.4f} cer {row['cer']:.4f}, {row['model_bytes'] / 1e6:.2f} MB",
            flush=True,
        )
        result["forms"][form] = row

    # same results whatever the batch: the batched path is the single-frame path regrouped
    one = [r.rois for r in (torch_ocr(im) for im in lat_images[:4])]
    many = [r.rois for r in batch_call(torch_ocr)(lat_images[:4])]
    result["batch_path_matches_single"] = all(
        [x.text for x in a] == [x.text for x in b] and np.allclose([x.box for x in a], [x.box for x in b], atol=1e-3)
        for a, b in zip(one, many)
    )

    result["input_size"] = input_size_sweep(args.threads, images[: 4 if q else 8], warmup, max(5, runs // 2))
    result["load_average_end"] = load_average()
    return finish(args, result)


if __name__ == "__main__":
    main()

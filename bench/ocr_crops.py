"""Stage 2 on letterboxed squares against upright strips (``ocr.char.crop``), same stage 1, same budget.

    python bench/ocr_crops.py --root /path/to/a/pipeline/checkout --frames 800 --epochs 5 --out FILE

Reads (never writes) ``ROOT``'s data and frozen stage-1 model (``models/ocr/roi.pt``): training
frames from ``data/manifests/ocr.parquet``, the fixed ``test`` and ``ood`` sets from ``data/eval/ocr``.
For each crop mode it trains stage 2 on the first ``--frames`` training frames for ``--epochs``
(everything else from this checkout's params.yaml), then evaluates the two-stage path (PyTorch fp32)
on both sets with 95 % bootstrap intervals over frames, and times it at batch 1 on one thread.
It also measures the text-angle estimate (``preprocess.estimate_angle``) against the direction of the
labelled character centres, on the ground-truth ROIs and on stage 1's ROIs, and the upright model
once more with strips turned by the labelled angle (the ceiling of a perfect estimate).
Training times on shared cores are relative: both modes ran on the same machine under the same load.

``--gt-rois`` replaces stage 1 by the labelled ROIs, in training (stage 2 trains on crops of the
labelled ROIs only) and in evaluation (each frame's ROIs are its labelled boxes, score 1): the crop
modes are then compared on stage 2 alone, without a stage-1 model (``models/ocr/roi.pt`` is not
read; an untrained one stands in where training code wants one, and finds nothing above the
threshold). Latency then covers everything after stage 1 (crops, stage 2, reading).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from components.config import load_params
from components.ocr import preprocess
from components.ocr.data import load_frames
from components.ocr.evaluate import evaluate, intervals, latency
from components.ocr.metrics import match_rois
from components.ocr.model import load_model
from components.ocr.pipeline import find_rois
from components.ocr.predict import TwoStageOcr
from components.ocr.preprocess import crop_window
from components.ocr.reading import line_direction
from components.ocr.train import train_char_model
from flows.ocr_common import reading_thresholds

KEYS = ("string_accuracy", "raw_string_accuracy", "cer", "value_accuracy", "char_map50", "roi_recall")


def truth_angle(frame, k: int) -> float | None:
    """Direction (degrees) of ROI ``k``'s labelled character centres; None under two characters."""
    c = frame.chars[frame.char_group == k]
    if len(c) < 2:
        return None
    d = line_direction(np.stack([(c[:, 0] + c[:, 2]) / 2, (c[:, 1] + c[:, 3]) / 2], 1).astype(np.float64))
    return float(np.degrees(np.arctan2(d[1], d[0])))


def angle_errors(frames, ocr: TwoStageOcr, margin: float) -> dict:
    """|estimate - truth| (mod 180) on the ground-truth ROIs and on the matched stage-1 ROIs."""
    gt, pred = [], []
    for f in frames:
        image = f.image()
        for k, box in enumerate(f.rois):
            t = truth_angle(f, k)
            if t is not None:
                e = preprocess.estimate_angle(image, crop_window(box, margin, f.width, f.height))
                gt.append(abs((e - t + 90) % 180 - 90))
        rboxes, rscores = find_rois(image, ocr.detect_rois, ocr.config)
        for k, m in enumerate(match_rois(rboxes, rscores, f.rois)):
            t = truth_angle(f, k)
            if m >= 0 and t is not None:
                e = preprocess.estimate_angle(image, crop_window(rboxes[m], margin, f.width, f.height))
                pred.append(abs((e - t + 90) % 180 - 90))
    out = {}
    for name, v in (("gt_rois", gt), ("stage1_rois", pred)):
        v = np.array(v)
        if not len(v):
            out[name] = {"n": 0}
            continue
        out[name] = {
            "n": len(v),
            "median": float(np.median(v)),
            "p90": float(np.percentile(v, 90)),
            "p99": float(np.percentile(v, 99)),
            "max": float(v.max()),
            "over_10deg": int((v > 10).sum()),
        }
    return out


class GroundTruthRois:
    """A TwoStageOcr whose stage 1 returns the labelled ROIs of the frame being evaluated: the frame
    whose image array it is given (``images``, for the latency timer's repeated calls), else the next
    of ``frames`` (``evaluate`` calls in their order)."""

    def __init__(self, ocr: TwoStageOcr, frames, images=()):
        self.ocr, self.frames, self.i = ocr, frames, 0
        self.by_image = {id(img): f for img, f in zip(images, frames)}
        self.config = ocr.config

    def __call__(self, image):
        from components.ocr.pipeline import read_rois

        f = self.by_image.get(id(image))
        if f is None:
            f = self.frames[self.i % len(self.frames)]
            self.i += 1
        boxes = f.rois.astype(np.float32)
        return read_rois(image, boxes, np.ones(len(boxes), np.float32), self.ocr.detect_chars, self.config)


class OracleAngle:
    """The two-stage path with each strip turned by the labelled angle of the ground-truth ROI its
    box overlaps most (the estimate where none matches): what a perfect estimator would give."""

    def __init__(self, ocr: TwoStageOcr, frames):
        self.ocr, self.frames, self.i = ocr, frames, 0

    def __call__(self, image):
        f = self.frames[self.i]
        self.i += 1
        estimate = preprocess.estimate_angle

        def oracle(img, window):
            x1, y1, x2, y2 = window
            best, k = 0.0, -1
            for j, (a, b, c, d) in enumerate(f.rois):
                iw, ih = min(x2, c) - max(x1, a), min(y2, d) - max(y1, b)
                inter = max(iw, 0) * max(ih, 0)
                iou = inter / ((x2 - x1) * (y2 - y1) + (c - a) * (d - b) - inter)
                if iou > best:
                    best, k = iou, j
            t = truth_angle(f, k) if k >= 0 and best > 0.3 else None
            return estimate(img, window) if t is None else t

        preprocess.estimate_angle = oracle
        try:
            return self.ocr(image)
        finally:
            preprocess.estimate_angle = estimate


def run_mode(crop: str, args, params, train, val, sets, roi_model, roi_spec, out_dir: Path) -> dict:
    update = {"crop": crop, "epochs": args.epochs, "max_train_frames": args.frames}
    if args.gt_rois:  # model_copy does not validate: a threshold no score reaches keeps stage-1 crops out
        update.update(gt_roi_crops=True, roi_score_threshold=1.01)
    p = params.ocr.char.model_copy(update=update)
    out_dir.mkdir(parents=True, exist_ok=True)
    char_path = out_dir / f"char_{crop}.pt"
    summary = train_char_model(
        train,
        val,
        p,
        roi_model,
        roi_spec["size"],
        device="cpu",
        checkpoint=out_dir / f"char_{crop}_last.pt",
        fingerprint=f"bench-{crop}-{args.frames}-{args.epochs}-{args.gt_rois}",
        out=char_path,
        seed=params.ocr.seed,
        progress=False,
        log=lambda m: print(f"  [{crop}] {m}", flush=True),
    )
    history = summary["history"]
    e = params.ocr.eval
    ocr = TwoStageOcr.load(
        args.roi_path,
        char_path,
        **reading_thresholds(args.root, e),
    )
    b = params.bootstrap
    res = {
        "crop": crop,
        "input_size": summary["spec"]["size"],
        "train_s": round(summary["train_s"], 1),
        "crops_s": round(summary["crops_s"], 1),
        "train_crops": summary["train_crops"],
        "epoch_s": [round(h["epoch_s"], 1) for h in history],
        "val_char_map50": [round(h.get("val_char_map50", float("nan")), 4) for h in history],
    }
    wrap = (lambda frames: GroundTruthRois(ocr, frames)) if args.gt_rois else (lambda frames: ocr)
    for name, frames in sets.items():
        t0 = time.perf_counter()
        ev = evaluate(wrap(frames), frames, progress=False)
        ci = intervals(ev, b.resamples, b.seed, b.confidence)
        res[name] = {
            k: [round(ci[k], 4), round(ci[k + "_ci_low"], 4), round(ci[k + "_ci_high"], 4)]
            if k + "_ci_low" in ci
            else round(ev.metrics[k], 4)
            for k in KEYS
        }
        res[name]["evaluate_s"] = round(time.perf_counter() - t0, 1)
        if crop == "upright":
            oracle = evaluate(OracleAngle(wrap(frames), frames), frames, progress=False)
            ci = intervals(oracle, b.resamples, b.seed, b.confidence)
            res[name]["oracle_angle"] = {
                k: [round(ci[k], 4), round(ci[k + "_ci_low"], 4), round(ci[k + "_ci_high"], 4)]
                for k in ("string_accuracy", "cer", "value_accuracy")
            }
        print(f"  [{crop}] {name}: {res[name]}", flush=True)
    images = [f.image() for f in sets["test"][:8]]
    timed = GroundTruthRois(ocr, sets["test"][:8], images) if args.gt_rois else ocr
    res["latency"] = latency(timed, images, e.latency_warmup, e.latency_runs, 1)
    if crop == "upright" and not args.gt_rois:
        res["angle_error_deg"] = {name: angle_errors(frames, ocr, p.crop_margin) for name, frames in sets.items()}
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, required=True, help="checkout whose data and models/ocr/roi.pt are read")
    ap.add_argument("--frames", type=int, default=800, help="training frames (the first N)")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--val-frames", type=int, default=100)
    ap.add_argument("--eval-frames", type=int, default=0, help="frames per evaluation set (0 = all)")
    ap.add_argument("--modes", default="upright,square")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: ocr.threads)")
    ap.add_argument("--gt-rois", action="store_true", help="labelled ROIs instead of stage 1 (stage 2 alone)")
    ap.add_argument("--manifest", type=Path, help="training manifest (default ROOT/data/manifests/ocr.parquet)")
    ap.add_argument("--work", type=Path, default=Path(".cache/bench_ocr_crops"))
    ap.add_argument("--out", type=Path, default=Path("bench/results/ocr_crops.json"))
    args = ap.parse_args(argv)
    params = load_params("params.yaml")
    torch.set_num_threads(args.threads or params.ocr.threads or torch.get_num_threads())
    root = args.root
    manifest = args.manifest or root / "data/manifests/ocr.parquet"
    train = load_frames(manifest, root / "data/ocr", "train", args.frames)
    val = load_frames(manifest, root / "data/ocr", "val", args.val_frames)
    sets = {
        name: load_frames(
            root / f"data/manifests/ocr_{name}.parquet", root / f"data/eval/ocr/{name}", name, args.eval_frames
        )
        for name in ("test", "ood")
    }
    args.roi_path = root / "models/ocr/roi.pt"
    if args.gt_rois:  # an untrained stand-in (its spec sizes the /4 input); it finds no ROI above 1.01
        from components.ocr.model import build_ssd, save_model
        from components.ocr.model import roi_spec as make_roi_spec

        spec = make_roi_spec(params.ocr.roi)
        args.roi_path = args.work / "roi_untrained.pt"
        args.work.mkdir(parents=True, exist_ok=True)
        save_model(build_ssd(spec), spec, args.roi_path)
    roi_model, roi_spec = load_model(args.roi_path)
    print(
        f"{len(train)} training frames, {len(val)} validation, " + ", ".join(f"{k} {len(v)}" for k, v in sets.items()),
        flush=True,
    )
    results = {
        "frames": len(train),
        "epochs": args.epochs,
        "gt_rois": args.gt_rois,
        "threads": torch.get_num_threads(),
        "modes": {},
    }
    for crop in args.modes.split(","):
        results["modes"][crop] = run_mode(crop, args, params, train, val, sets, roi_model, roi_spec, args.work)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

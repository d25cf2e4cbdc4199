"""Evaluation of the whole two-stage path on a split (docs/architecture.md#metrics) and its latency.

Everything is measured on what the pipeline outputs for the full frame: ROIs from stage 1,
characters from stage 2 mapped back to frame pixels, strings from the reading order. A ground-truth
ROI that stage 1 misses therefore costs its characters (char mAP) and its string (accuracy, CER).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm import tqdm

from components.data.ocr_format import CHAR_CLASSES
from components.bootstrap import Ratio, resample_weights, with_interval
from components.latency import time_calls
from components.ocr.data import Frame
from components.ocr.metrics import (
    DetectionRecords,
    coco_map,
    confusion_pairs,
    edit_distance,
    match_rois,
    string_scores,
    voc_map,
    voc_records,
    weighted_voc_map,
)
from components.ocr.predict import FrameResult, TwoStageOcr


@dataclass
class Evaluation:
    metrics: dict
    results: list[FrameResult]
    confusion: dict                        # (actual, predicted) -> count
    pairs: list[tuple[str, str | None]]    # (label, read string or None) per ground-truth ROI
    frames: dict[str, np.ndarray] = field(default_factory=dict)  # per-frame counts (FRAME_COLUMNS)
    roi_records: DetectionRecords | None = None   # per-detection VOC outcomes, for AP intervals
    char_records: DetectionRecords | None = None


FRAME_COLUMNS = ("gt_rois", "pred_rois", "matched_rois", "exact_strings", "edit_distance", "label_chars")


def _frame_counts(texts: list[str], rois, match: list[int]) -> tuple[int, ...]:
    read = [rois[m].text if m >= 0 else None for m in match]
    return (len(texts), len(rois), sum(m >= 0 for m in match), sum(r == t for t, r in zip(texts, read)),
            sum(edit_distance(t, r or "") for t, r in zip(texts, read)), sum(len(t) for t in texts))


def evaluate(ocr: TwoStageOcr, frames: list[Frame], progress: bool = True) -> Evaluation:
    roi_dets, roi_gts, char_dets, char_gts, pairs, results, counts = [], [], [], [], [], [], []
    for f in tqdm(frames, desc="evaluate", unit="img", disable=not progress, dynamic_ncols=True):
        r = ocr(f.image())
        results.append(r)
        rb = np.array([x.box for x in r.rois], np.float32).reshape(-1, 4)
        rs = np.array([x.score for x in r.rois], np.float32)
        roi_dets.append({"boxes": rb, "labels": np.ones(len(rb), np.int64), "scores": rs})
        roi_gts.append({"boxes": f.rois, "labels": np.ones(len(f.rois), np.int64)})
        char_dets.append({"boxes": r.all_char_boxes, "labels": r.all_char_labels, "scores": r.all_char_scores})
        char_gts.append({"boxes": f.chars, "labels": f.char_labels})
        match = match_rois(rb, rs, f.rois)
        pairs += [(t, r.rois[m].text if m >= 0 else None) for t, m in zip(f.texts, match)]
        counts.append(_frame_counts(f.texts, r.rois, match))
    char_map50, per_class = voc_map(char_dets, char_gts)
    metrics = {
        "roi_ap50": voc_map(roi_dets, roi_gts)[0],
        "roi_ap": coco_map(roi_dets, roi_gts),
        "char_map50": char_map50,
        "char_map": coco_map(char_dets, char_gts),
        **string_scores(pairs),
        "frames": len(frames),
        "rois": len(pairs),
        "rois_detected": sum(r is not None for _, r in pairs),
    }
    metrics["char_ap50_min"] = float(np.nanmin(list(per_class.values()))) if per_class else float("nan")
    conf = confusion_pairs(char_dets_reading(results), char_gts, CHAR_CLASSES)
    table = np.array(counts, np.int64).reshape(-1, len(FRAME_COLUMNS))
    frame_table = {c: table[:, i] for i, c in enumerate(FRAME_COLUMNS)}
    metrics.update(roi_precision=_ratio_value(frame_table, "matched_rois", "pred_rois"),
                   roi_recall=_ratio_value(frame_table, "matched_rois", "gt_rois"))
    return Evaluation(metrics, results, dict(conf), pairs, frame_table, voc_records(roi_dets, roi_gts),
                      voc_records(char_dets, char_gts))


def _ratio_value(frames: dict, num: str, den: str) -> float:
    return Ratio(frames[num], frames[den]).value()


def frame_ratios(frames: dict[str, np.ndarray]) -> dict[str, Ratio]:
    """The string and ROI metrics as ratios of per-frame sums (bootstrap over frames)."""
    return {
        "string_accuracy": Ratio(frames["exact_strings"], frames["gt_rois"]),
        "cer": Ratio(frames["edit_distance"], frames["label_chars"]),
        "roi_precision": Ratio(frames["matched_rois"], frames["pred_rois"]),
        "roi_recall": Ratio(frames["matched_rois"], frames["gt_rois"]),
    }


def intervals(ev: Evaluation, resamples: int, seed: int = 0, confidence: float = 0.95, suffix: str = "") -> dict:
    """95 % bootstrap intervals over frames of the headline metrics: ``<key><suffix>`` (the point
    value, as in ``ev.metrics``), ``..._ci_low``, ``..._ci_high``. ``char_map`` (COCO, IoU
    0.50:0.95) is reported without an interval."""
    weights = resample_weights(len(ev.results), resamples, seed)
    out: dict[str, float] = {}
    for name, ratio in frame_ratios(ev.frames).items():
        out.update(with_interval(name + suffix, ratio.value(), ratio.resampled(weights), confidence))
    for name, rec in (("roi_ap50", ev.roi_records), ("char_map50", ev.char_records)):
        if rec is not None:
            out.update(with_interval(name + suffix, ev.metrics[name], weighted_voc_map(rec, weights), confidence))
    return out


def char_dets_reading(results: list[FrameResult]) -> list[dict]:
    """The characters that made it into the strings (threshold + de-duplication), per frame: what
    the confusion matrix should show, since that is what a user reads."""
    out = []
    for r in results:
        boxes = [b for x in r.rois for b in x.char_boxes]
        labels = [CHAR_CLASSES.index(c) + 1 for x in r.rois for c in x.char_labels]
        scores = [s for x in r.rois for s in x.char_scores]
        out.append({"boxes": np.array(boxes, np.float32).reshape(-1, 4), "labels": np.array(labels, np.int64),
                    "scores": np.array(scores, np.float32)})
    return out


def latency(ocr: TwoStageOcr, images: list[np.ndarray], warmup: int, runs: int, threads: int) -> dict:
    """Median / p95 ms per frame at batch 1 (whole two-stage path, decoding excluded) and fps, at
    ``threads`` torch threads; the previous thread count is restored."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return {**time_calls(ocr, images, warmup, runs), "threads": threads}
    finally:
        torch.set_num_threads(before)

"""Evaluation of the whole two-stage path on a set of frames (docs/architecture.md#metrics) and its latency.

Everything is measured on what the pipeline outputs for the full frame: ROIs from stage 1,
characters from stage 2 mapped back to frame pixels, strings from the reading order. A ground-truth
ROI that stage 1 misses therefore costs its characters (char mAP) and its string (accuracy, CER).

Strings: ``string_accuracy`` compares the ground truth with the grammar-decoded text (``RoiResult.text``,
``components.ocr.grammar``), which is what a user reads; ``raw_string_accuracy`` with the
unconstrained best string (``raw_text``: the best class of every character box, what
``string_accuracy`` measured before the grammar). ``cer`` is computed on the raw string as before.
``value_accuracy`` is the share of ground-truth ROIs whose label is a marking (``parse_marking``)
and whose matched reading is valid with the same value in ohms (an undetected ROI counts as a miss);
``valid_rate`` the share of the predicted ROIs whose reading is a valid marking, ``unreadable_rate``
the share where stage 2 found no character at all (``RoiResult.status`` unreadable).

Every string and ROI metric is also kept as per-frame counts (``Evaluation.frames``) and the
detections with their VOC outcome (``roi_records``, ``char_records``), from which ``intervals``
computes 95 % bootstrap intervals over frames and the registry gates compare two models frame by
frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm import tqdm

from components.bootstrap import Ratio, resample_weights, with_interval
from components.data.ocr_format import CHAR_CLASSES
from components.latency import time_calls
from components.ocr.data import Frame
from components.ocr.grammar import parse_marking
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
from components.ocr.pipeline import UNREADABLE
from components.ocr.predict import FrameResult, TwoStageOcr


@dataclass
class Evaluation:
    metrics: dict
    results: list[FrameResult]
    confusion: dict  # (actual, predicted) -> count
    pairs: list[tuple[str, str | None]]  # (label, read string or None) per ground-truth ROI (decoded text)
    raw_pairs: list[tuple[str, str | None]] = field(default_factory=list)  # the same with the raw strings
    frames: dict[str, np.ndarray] = field(default_factory=dict)  # per-frame counts (FRAME_COLUMNS)
    roi_records: DetectionRecords | None = None  # per-detection VOC outcomes, for AP intervals
    char_records: DetectionRecords | None = None


FRAME_COLUMNS = (
    "gt_rois",
    "pred_rois",
    "matched_rois",
    "exact_strings",
    "raw_exact_strings",
    "edit_distance",
    "label_chars",
    "value_labels",
    "value_hits",
    "valid_rois",
    "unreadable_rois",
)


def _frame_counts(texts: list[str], rois, match: list[int]) -> tuple[int, ...]:
    """One frame's row of FRAME_COLUMNS (``edit_distance`` on the raw strings, as ``cer``)."""
    read = [rois[m] if m >= 0 else None for m in match]
    decoded = [r.text if r is not None else None for r in read]
    raw = [r.raw_text if r is not None else None for r in read]
    values = [_value_hit(t, r) for t, r in zip(texts, read)]
    return (
        len(texts),
        len(rois),
        sum(m >= 0 for m in match),
        sum(d == t for t, d in zip(texts, decoded)),
        sum(r == t for t, r in zip(texts, raw)),
        sum(edit_distance(t, r or "") for t, r in zip(texts, raw)),
        sum(len(t) for t in texts),
        sum(v is not None for v in values),
        sum(bool(v) for v in values),
        sum(bool(x.valid) for x in rois),
        sum(x.status == UNREADABLE for x in rois),
    )


def _value_hit(label: str, roi) -> bool | None:
    """None when the label is not a marking; else whether the reading is valid with its value."""
    truth = parse_marking(label)
    if truth is None:
        return None
    return bool(
        roi is not None
        and roi.valid
        and roi.value_ohm is not None
        and math.isclose(roi.value_ohm, truth.value_ohm, rel_tol=1e-9, abs_tol=1e-12)
    )


def evaluate(ocr: TwoStageOcr, frames: list[Frame], progress: bool = True) -> Evaluation:
    roi_dets, roi_gts, char_dets, char_gts, pairs, results = [], [], [], [], [], []
    raw_pairs, values, counts = [], [], []
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
        raw_pairs += [(t, r.rois[m].raw_text if m >= 0 else None) for t, m in zip(f.texts, match)]
        values += [(t, r.rois[m] if m >= 0 else None) for t, m in zip(f.texts, match)]
        counts.append(_frame_counts(f.texts, r.rois, match))
    char_map50, per_class = voc_map(char_dets, char_gts)
    metrics = {
        "roi_ap50": voc_map(roi_dets, roi_gts)[0],
        "roi_ap": coco_map(roi_dets, roi_gts),
        "char_map50": char_map50,
        "char_map": coco_map(char_dets, char_gts),
        "string_accuracy": string_scores(pairs)["string_accuracy"],
        "raw_string_accuracy": string_scores(raw_pairs)["string_accuracy"],
        "cer": string_scores(raw_pairs)["cer"],
        "value_accuracy": value_accuracy(values),
        "valid_rate": valid_rate(results),
        "unreadable_rate": unreadable_rate(results),
        "frames": len(frames),
        "rois": len(pairs),
        "rois_detected": sum(r is not None for _, r in pairs),
    }
    metrics["char_ap50_min"] = float(np.nanmin(list(per_class.values()))) if per_class else float("nan")
    conf = confusion_pairs(char_dets_reading(results), char_gts, CHAR_CLASSES)
    table = np.array(counts, np.int64).reshape(-1, len(FRAME_COLUMNS))
    frame_table = {c: table[:, i] for i, c in enumerate(FRAME_COLUMNS)}
    ratios = frame_ratios(frame_table)
    metrics.update(roi_precision=ratios["roi_precision"].value(), roi_recall=ratios["roi_recall"].value())
    return Evaluation(
        metrics,
        results,
        dict(conf),
        pairs,
        raw_pairs,
        frame_table,
        voc_records(roi_dets, roi_gts),
        voc_records(char_dets, char_gts),
    )


def frame_ratios(frames: dict[str, np.ndarray]) -> dict[str, Ratio]:
    """The string, value and ROI metrics as ratios of per-frame sums (bootstrap over frames)."""
    out = {
        "string_accuracy": Ratio(frames["exact_strings"], frames["gt_rois"]),
        "cer": Ratio(frames["edit_distance"], frames["label_chars"]),
        "roi_precision": Ratio(frames["matched_rois"], frames["pred_rois"]),
        "roi_recall": Ratio(frames["matched_rois"], frames["gt_rois"]),
    }
    if "value_hits" in frames:
        out.update(
            raw_string_accuracy=Ratio(frames["raw_exact_strings"], frames["gt_rois"]),
            value_accuracy=Ratio(frames["value_hits"], frames["value_labels"]),
            valid_rate=Ratio(frames["valid_rois"], frames["pred_rois"]),
        )
    if "unreadable_rois" in frames:
        out["unreadable_rate"] = Ratio(frames["unreadable_rois"], frames["pred_rois"])
    return out


def intervals(ev: Evaluation, resamples: int, seed: int = 0, confidence: float = 0.95, suffix: str = "") -> dict:
    """95 % bootstrap intervals over frames of the headline metrics: ``<key><suffix>`` (the point
    value), ``..._ci_low``, ``..._ci_high``. ``char_map`` (COCO, IoU 0.50:0.95) is reported
    without an interval."""
    weights = resample_weights(len(ev.results), resamples, seed)
    out: dict[str, float] = {}
    for name, ratio in frame_ratios(ev.frames).items():
        out.update(with_interval(name + suffix, ratio.value(), ratio.resampled(weights), confidence))
    for name, rec in (("roi_ap50", ev.roi_records), ("char_map50", ev.char_records)):
        if rec is not None:
            out.update(with_interval(name + suffix, ev.metrics[name], weighted_voc_map(rec, weights), confidence))
    return out


def value_accuracy(values) -> float:
    """Share of (label, matched RoiResult or None) pairs whose label parses as a marking and whose
    reading is valid with the label's value (NaN when no label parses)."""
    hits = [h for h in (_value_hit(label, roi) for label, roi in values) if h is not None]
    return sum(hits) / len(hits) if hits else float("nan")


def valid_rate(results: list[FrameResult]) -> float:
    """Share of the predicted ROIs read as a valid marking (NaN when there is none)."""
    rois = [x for r in results for x in r.rois]
    return sum(x.valid for x in rois) / len(rois) if rois else float("nan")


def unreadable_rate(results: list[FrameResult]) -> float:
    """Share of the predicted ROIs where stage 2 found no character (status ``unreadable``; NaN
    when there is none): ROIs found but not legible, apart from misread ones."""
    rois = [x for r in results for x in r.rois]
    return sum(x.status == UNREADABLE for x in rois) / len(rois) if rois else float("nan")


def char_dets_reading(results: list[FrameResult]) -> list[dict]:
    """The characters that made it into the strings (threshold + de-duplication), per frame: what
    the confusion matrix should show, since that is what a user reads."""
    out = []
    for r in results:
        boxes = [b for x in r.rois for b in x.char_boxes]
        labels = [CHAR_CLASSES.index(c) + 1 for x in r.rois for c in x.char_labels]
        scores = [s for x in r.rois for s in x.char_scores]
        out.append(
            {
                "boxes": np.array(boxes, np.float32).reshape(-1, 4),
                "labels": np.array(labels, np.int64),
                "scores": np.array(scores, np.float32),
            }
        )
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

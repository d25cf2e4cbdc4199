"""OCR metrics with the exact definitions of docs/architecture.md#metrics.

Detections and ground truth are per image: ``{"boxes": (N, 4) x1y1x2y2, "labels": (N,), "scores": (N,)}``
(ground truth without scores).

* ``voc_map``: IoU >= thr, greedy matching in score order (a ground truth matched once), all-point
  interpolated AP (VOC 2010+), mean over the classes present in the ground truth.
* ``coco_map``: AP averaged over IoU 0.50:0.05:0.95 computed the way pycocotools does it (box IoU
  without the +1, up to 100 detections per image and class, best-IoU matching, 101 recall points),
  so our numbers equal ``COCOeval.stats[0]`` on the same predictions (tested).
* ``string_scores``: string accuracy and CER over ground-truth ROIs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

COCO_IOUS = np.linspace(0.5, 0.95, 10)
COCO_RECALLS = np.linspace(0.0, 1.0, 101)
COCO_MAX_DETS = 100


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def _classes(gts: Sequence[dict]) -> list[int]:
    return sorted({int(c) for g in gts for c in np.asarray(g["labels"]).reshape(-1)})


# ------------------------------------------------------------------------------------ VOC AP ---


def all_point_ap(recall: np.ndarray, precision: np.ndarray) -> float:
    """Area under the precision envelope at every recall step (VOC 2010+)."""
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[0.0], precision, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    idx = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[idx + 1] - mrec[idx]) * mpre[idx + 1]))


def voc_ap_class(dets: Sequence[dict], gts: Sequence[dict], cls: int, iou_thr: float = 0.5) -> float:
    n_gt = sum(int((np.asarray(g["labels"]) == cls).sum()) for g in gts)
    if n_gt == 0:
        return float("nan")
    items = []  # (score, image, box)
    for i, d in enumerate(dets):
        m = np.asarray(d["labels"]) == cls
        for s, b in zip(np.asarray(d["scores"])[m], np.asarray(d["boxes"]).reshape(-1, 4)[m]):
            items.append((float(s), i, b))
    items.sort(key=lambda t: -t[0])
    gt_boxes = [np.asarray(g["boxes"]).reshape(-1, 4)[np.asarray(g["labels"]) == cls] for g in gts]
    used = [np.zeros(len(b), bool) for b in gt_boxes]
    tp = np.zeros(len(items))
    for k, (_, i, b) in enumerate(items):
        if len(gt_boxes[i]):
            iou = box_iou(b[None], gt_boxes[i])[0]
            j = int(iou.argmax())
            if iou[j] >= iou_thr and not used[i][j]:
                used[i][j] = True
                tp[k] = 1
    ctp = np.cumsum(tp)
    recall = ctp / n_gt
    precision = ctp / np.maximum(np.arange(1, len(items) + 1), 1)
    return all_point_ap(recall, precision)


def voc_map(dets: Sequence[dict], gts: Sequence[dict], iou_thr: float = 0.5) -> tuple[float, dict[int, float]]:
    """Mean all-point AP over classes present in ``gts``, and the AP of each."""
    per = {c: voc_ap_class(dets, gts, c, iou_thr) for c in _classes(gts)}
    return (float(np.mean(list(per.values()))) if per else float("nan")), per


# ----------------------------------------------------------------------------------- COCO AP ---


def _coco_image_matches(d_boxes, d_scores, g_boxes, iou_thrs):
    """pycocotools' evaluateImg for one image and class (area 'all', no crowd)."""
    order = np.argsort(-d_scores, kind="mergesort")[:COCO_MAX_DETS]
    d_boxes, d_scores = d_boxes[order], d_scores[order]
    ious = box_iou(d_boxes, g_boxes) if len(d_boxes) and len(g_boxes) else np.zeros((len(d_boxes), len(g_boxes)))
    matched = np.zeros((len(iou_thrs), len(d_boxes)), bool)
    for t, thr in enumerate(iou_thrs):
        g_used = np.zeros(len(g_boxes), bool)
        for di in range(len(d_boxes)):
            best, m = min(thr, 1 - 1e-10), -1
            for gi in range(len(g_boxes)):
                if g_used[gi] or ious[di, gi] < best:
                    continue
                best, m = ious[di, gi], gi
            if m >= 0:
                g_used[m] = True
                matched[t, di] = True
    return d_scores, matched


def coco_map(dets: Sequence[dict], gts: Sequence[dict], iou_thrs: np.ndarray = COCO_IOUS) -> float:
    """COCO AP averaged over ``iou_thrs`` and over classes with ground truth (= COCOeval.stats[0])."""
    aps = []
    for cls in _classes(gts):
        scores, matches, n_gt = [], [], 0
        for d, g in zip(dets, gts):
            gm = np.asarray(g["labels"]) == cls
            g_boxes = np.asarray(g["boxes"], np.float64).reshape(-1, 4)[gm]
            dm = np.asarray(d["labels"]) == cls
            d_boxes = np.asarray(d["boxes"], np.float64).reshape(-1, 4)[dm]
            d_scores = np.asarray(d["scores"], np.float64)[dm]
            n_gt += len(g_boxes)
            s, m = _coco_image_matches(d_boxes, d_scores, g_boxes, iou_thrs)
            scores.append(s)
            matches.append(m)
        s = np.concatenate(scores) if scores else np.zeros(0)
        m = np.concatenate(matches, axis=1) if matches else np.zeros((len(iou_thrs), 0), bool)
        order = np.argsort(-s, kind="mergesort")
        m = m[:, order]
        per_thr = []
        for t in range(len(iou_thrs)):
            tp = np.cumsum(m[t]).astype(np.float64)
            fp = np.cumsum(~m[t]).astype(np.float64)
            rc = tp / n_gt
            pr = tp / (fp + tp + np.spacing(1))
            q = np.zeros(len(COCO_RECALLS))
            pr = np.maximum.accumulate(pr[::-1])[::-1] if len(pr) else pr
            inds = np.searchsorted(rc, COCO_RECALLS, side="left")
            for ri, pi in enumerate(inds):
                if pi < len(pr):
                    q[ri] = pr[pi]
            per_thr.append(q.mean())
        aps.append(float(np.mean(per_thr)))
    return float(np.mean(aps)) if aps else float("nan")


# ------------------------------------------------------------------------------------ strings ---


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insert, delete, substitute: cost 1 each)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def string_scores(pairs: Sequence[tuple[str, str | None]]) -> dict[str, float]:
    """``pairs`` = (label, read string or None when the ROI was not detected), one per GT ROI.

    string_accuracy = exact matches / GT ROIs; cer = total edit distance / total label characters
    (an undetected ROI costs its whole label)."""
    if not pairs:
        return {"string_accuracy": float("nan"), "cer": float("nan")}
    exact = sum(1 for t, r in pairs if r is not None and r == t)
    dist = sum(edit_distance(t, r or "") for t, r in pairs)
    chars = sum(len(t) for t, _ in pairs)
    return {"string_accuracy": exact / len(pairs), "cer": dist / max(chars, 1)}


def match_rois(
    pred_boxes: np.ndarray, pred_scores: np.ndarray, gt_boxes: np.ndarray, iou_thr: float = 0.5
) -> list[int]:
    """For each GT ROI, the index of the prediction matched to it (greedy by score), or -1."""
    out = [-1] * len(gt_boxes)
    if not len(pred_boxes) or not len(gt_boxes):
        return out
    iou = box_iou(pred_boxes, gt_boxes)
    used = np.zeros(len(gt_boxes), bool)
    for p in np.argsort(-np.asarray(pred_scores), kind="mergesort"):
        cand = np.where(used, -1.0, iou[p])
        g = int(cand.argmax())
        if cand[g] >= iou_thr:
            used[g] = True
            out[g] = int(p)
    return out


def confusion_pairs(dets: Sequence[dict], gts: Sequence[dict], names: Sequence[str], iou_thr: float = 0.5) -> Counter:
    """(actual, predicted) counts: each GT character against the best-overlapping detection of any
    class (``-`` when none reaches ``iou_thr``); unmatched detections count as (``-``, predicted)."""
    counts: Counter = Counter()
    for d, g in zip(dets, gts):
        db, dl = np.asarray(d["boxes"]).reshape(-1, 4), np.asarray(d["labels"])
        gb, gl = np.asarray(g["boxes"]).reshape(-1, 4), np.asarray(g["labels"])
        used = np.zeros(len(db), bool)
        iou = box_iou(gb, db) if len(gb) and len(db) else np.zeros((len(gb), len(db)))
        for gi in range(len(gb)):
            cand = np.where(used, -1.0, iou[gi]) if len(db) else np.zeros(0)
            if len(cand) and cand.max() >= iou_thr:
                di = int(cand.argmax())
                used[di] = True
                counts[(names[gl[gi] - 1], names[dl[di] - 1])] += 1
            else:
                counts[(names[gl[gi] - 1], "-")] += 1
        for di in np.flatnonzero(~used):
            counts[("-", names[dl[di] - 1])] += 1
    return counts


# ------------------------------------------------------------------------- bootstrap of VOC AP ---


@dataclass(frozen=True)
class DetectionRecords:
    """Every detection of a set with its VOC outcome (true or false positive at ``iou_thr``) and the
    ground-truth count per frame and class: all that AP needs, with frames as the unit a bootstrap
    resamples. The greedy VOC matching only ever compares boxes of one frame, so a frame's
    outcomes do not depend on which other frames are in the set."""

    frame: np.ndarray  # (D,) index of the frame of each detection
    label: np.ndarray  # (D,)
    score: np.ndarray  # (D,)
    tp: np.ndarray  # (D,) bool
    gt_counts: np.ndarray  # (F, C) ground-truth boxes per frame, per class in ``classes``
    classes: np.ndarray  # (C,)

    def to_columns(self) -> dict[str, np.ndarray]:
        return {"frame": self.frame, "label": self.label, "score": self.score, "tp": self.tp}


def voc_records(dets: Sequence[dict], gts: Sequence[dict], iou_thr: float = 0.5) -> DetectionRecords:
    """Match detections to ground truth exactly as ``voc_ap_class`` does, frame by frame."""
    classes = np.array(_classes(gts), np.int64)
    col = {int(c): i for i, c in enumerate(classes)}
    gt_counts = np.zeros((len(gts), len(classes)), np.int64)
    frame, label, score, tp = [], [], [], []
    for f, (d, g) in enumerate(zip(dets, gts)):
        g_labels = np.asarray(g["labels"]).reshape(-1)
        g_boxes = np.asarray(g["boxes"]).reshape(-1, 4)
        for c in g_labels:
            gt_counts[f, col[int(c)]] += 1
        d_labels = np.asarray(d["labels"]).reshape(-1)
        d_boxes = np.asarray(d["boxes"]).reshape(-1, 4)
        d_scores = np.asarray(d["scores"], np.float64).reshape(-1)
        for c in np.unique(d_labels):
            idx = np.flatnonzero(d_labels == c)
            idx = idx[np.argsort(-d_scores[idx], kind="stable")]
            cls_gt = g_boxes[g_labels == c]
            used = np.zeros(len(cls_gt), bool)
            for i in idx:
                hit = False
                if len(cls_gt):
                    iou = box_iou(d_boxes[i][None], cls_gt)[0]
                    j = int(iou.argmax())
                    if iou[j] >= iou_thr and not used[j]:
                        used[j] = hit = True
                frame.append(f)
                label.append(int(c))
                score.append(d_scores[i])
                tp.append(hit)
    return DetectionRecords(
        np.array(frame, np.int64),
        np.array(label, np.int64),
        np.array(score, np.float64),
        np.array(tp, bool),
        gt_counts,
        classes,
    )


def weighted_voc_map(rec: DetectionRecords, weights: np.ndarray) -> np.ndarray:
    """VOC mAP under each row of frame ``weights`` (B, F): a frame drawn k times counts k times.

    With all weights 1 this equals ``voc_map`` on the same detections (tested)."""
    weights = np.atleast_2d(np.asarray(weights, np.float64))
    aps = np.full((len(weights), len(rec.classes)), np.nan)
    for k, c in enumerate(rec.classes):
        n_gt = weights @ rec.gt_counts[:, k]
        sel = np.flatnonzero(rec.label == c)
        sel = sel[np.argsort(-rec.score[sel], kind="stable")]
        w = weights[:, rec.frame[sel]]
        ctp = np.cumsum(w * rec.tp[sel], axis=1)
        cdet = np.cumsum(w, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            precision = np.where(cdet > 0, ctp / np.where(cdet > 0, cdet, 1.0), 0.0)
            recall = ctp / np.where(n_gt > 0, n_gt, 1.0)[:, None]
        envelope = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]
        step = np.diff(np.concatenate([np.zeros((len(weights), 1)), recall], axis=1), axis=1)
        aps[:, k] = np.where(n_gt > 0, (step * envelope).sum(1), np.nan)
    with np.errstate(invalid="ignore"):
        return (
            np.where(np.isnan(aps).all(1), np.nan, np.nanmean(np.where(np.isnan(aps), np.nan, aps), axis=1))
            if aps.size
            else np.full(len(weights), np.nan)
        )

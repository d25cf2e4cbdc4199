"""Metric definitions (docs/architecture.md#metrics): VOC all-point AP by hand, COCO AP equal to pycocotools, CER."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

from components.ocr.metrics import (
    all_point_ap,
    coco_map,
    confusion_pairs,
    edit_distance,
    match_rois,
    string_scores,
    voc_map,
)


def _random_set(rng: np.random.Generator, n_images: int = 12, n_classes: int = 4):
    gts, dets = [], []
    for _ in range(n_images):
        n = int(rng.integers(0, 7))
        xy = rng.uniform(0, 200, (n, 2))
        wh = rng.uniform(8, 60, (n, 2))
        g = np.concatenate([xy, xy + wh], 1)
        gl = rng.integers(1, n_classes + 1, n)
        gts.append({"boxes": g, "labels": gl})
        # detections: jittered copies of most GT (some with the wrong class) plus random false positives
        keep = rng.random(n) < 0.8
        d = g[keep] + rng.normal(0, 4, (int(keep.sum()), 4))
        dl = np.where(rng.random(int(keep.sum())) < 0.85, gl[keep], rng.integers(1, n_classes + 1, int(keep.sum())))
        m = int(rng.integers(0, 5))
        fxy = rng.uniform(0, 200, (m, 2))
        f = np.concatenate([fxy, fxy + rng.uniform(8, 60, (m, 2))], 1)
        boxes = np.concatenate([d, f]).reshape(-1, 4)
        boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2] + 1)
        dets.append(
            {
                "boxes": boxes,
                "labels": np.concatenate([dl, rng.integers(1, n_classes + 1, m)]).astype(int),
                "scores": rng.random(len(boxes)),
            }
        )
    return dets, gts


def _pycocotools_ap(dets, gts) -> tuple[float, float]:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    images, anns, results = [], [], []
    for i, (d, g) in enumerate(zip(dets, gts)):
        images.append({"id": i, "width": 300, "height": 300})
        for b, c in zip(g["boxes"], g["labels"]):
            w, h = float(b[2] - b[0]), float(b[3] - b[1])
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": i,
                    "category_id": int(c),
                    "bbox": [float(b[0]), float(b[1]), w, h],
                    "area": w * h,
                    "iscrowd": 0,
                }
            )
        for b, c, s in zip(d["boxes"], d["labels"], d["scores"]):
            results.append(
                {
                    "image_id": i,
                    "category_id": int(c),
                    "score": float(s),
                    "bbox": [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])],
                }
            )
    cats = sorted({int(c) for g in gts for c in g["labels"]} | {int(r["category_id"]) for r in results})
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = {"images": images, "annotations": anns, "categories": [{"id": c} for c in cats]}
        coco.createIndex()
        ev = COCOeval(coco, coco.loadRes(results), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return float(ev.stats[0]), float(ev.stats[1])


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_coco_ap_equals_pycocotools(seed):
    dets, gts = _random_set(np.random.default_rng(seed))
    ref, ref50 = _pycocotools_ap(dets, gts)
    assert coco_map(dets, gts) == pytest.approx(ref, abs=1e-9)
    assert coco_map(dets, gts, np.array([0.5])) == pytest.approx(ref50, abs=1e-9)


def test_voc_all_point_ap_by_hand():
    # one class, 3 ground truths in 2 images; detections by score: TP, FP, TP, FP(duplicate)
    gts = [
        {"boxes": np.array([[0, 0, 10, 10], [20, 20, 30, 30]]), "labels": np.array([1, 1])},
        {"boxes": np.array([[0, 0, 10, 10]]), "labels": np.array([1])},
    ]
    dets = [
        {
            "boxes": np.array([[0, 0, 10, 10], [50, 50, 60, 60], [0, 0, 10, 10]]),
            "labels": np.array([1, 1, 1]),
            "scores": np.array([0.9, 0.8, 0.6]),
        },
        {"boxes": np.array([[1, 0, 10, 10]]), "labels": np.array([1]), "scores": np.array([0.7])},
    ]
    # ranks: 0.9 TP (r 1/3, p 1), 0.8 FP (1/3, 1/2), 0.7 TP (2/3, 2/3), 0.6 duplicate -> FP (2/3, 1/2)
    expected = 1 / 3 * 1.0 + 1 / 3 * (2 / 3)
    m, per = voc_map(dets, gts)
    assert m == pytest.approx(expected) and per == {1: pytest.approx(expected)}
    assert all_point_ap(np.array([0.5, 1.0]), np.array([1.0, 0.5])) == pytest.approx(0.75)
    # classes absent from the ground truth do not count; a class never detected counts 0
    gts[0]["labels"] = np.array([1, 2])
    m, per = voc_map(dets, gts)
    assert set(per) == {1, 2} and per[2] == 0.0 and m == pytest.approx(per[1] / 2)


def test_string_accuracy_and_cer():
    assert edit_distance("4R7", "4R7") == 0 and edit_distance("103", "1O3") == 1
    assert edit_distance("1002", "102") == 1 and edit_distance("", "abc") == 3 and edit_distance("R010", "") == 4
    s = string_scores([("103", "103"), ("4R7", "4R1"), ("R010", None), ("01C", "01C")])
    assert s["string_accuracy"] == pytest.approx(2 / 4)
    assert s["cer"] == pytest.approx((0 + 1 + 4 + 0) / (3 + 3 + 4 + 3))


def test_roi_matching_and_confusion():
    gt = np.array([[0, 0, 10, 10], [20, 0, 30, 10]], float)
    pred = np.array([[21, 0, 30, 10], [0, 0, 9, 10], [0, 0, 10, 9]], float)
    assert match_rois(pred, np.array([0.9, 0.5, 0.8]), gt) == [2, 0]
    counts = confusion_pairs(
        [{"boxes": pred, "labels": np.array([2, 1, 3])}], [{"boxes": gt, "labels": np.array([1, 2])}], ["A", "B", "C"]
    )
    assert counts[("A", "A")] + counts[("A", "C")] == 1 and counts[("B", "B")] == 1
    assert sum(counts.values()) == 3 and sum(n for (a, _), n in counts.items() if a == "-") == 1


def _random_detections(seed: int, frames: int = 40):
    rng = np.random.default_rng(seed)
    dets, gts = [], []
    for _ in range(frames):
        n = int(rng.integers(0, 6))
        xy = rng.uniform(0, 100, (n, 2))
        g_boxes = np.concatenate([xy, xy + rng.uniform(8, 20, (n, 2))], 1)
        g_labels = rng.integers(1, 5, n)
        keep = rng.random(n) < 0.8  # some ground truth is missed
        d_boxes = g_boxes[keep] + rng.normal(0, 2.5, (int(keep.sum()), 4))
        d_labels = np.where(rng.random(int(keep.sum())) < 0.85, g_labels[keep], rng.integers(1, 5, int(keep.sum())))
        extra = int(rng.integers(0, 3))  # and some detections are on nothing
        d_boxes = np.concatenate([d_boxes, rng.uniform(0, 100, (extra, 4)).clip(0) + [0, 0, 10, 10]])
        d_labels = np.concatenate([d_labels, rng.integers(1, 5, extra)])
        dets.append({"boxes": d_boxes, "labels": d_labels, "scores": np.round(rng.random(len(d_labels)), 1)})
        gts.append({"boxes": g_boxes, "labels": g_labels})
    return dets, gts


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_weighted_voc_map_with_unit_weights_is_voc_map(seed):
    from components.ocr.metrics import voc_records, weighted_voc_map

    dets, gts = _random_detections(seed)
    expected, _ = voc_map(dets, gts)
    assert weighted_voc_map(voc_records(dets, gts), np.ones((1, len(gts))))[0] == pytest.approx(expected, abs=1e-12)


def test_weighted_voc_map_of_a_resample_is_voc_map_of_the_repeated_frames():
    from components.ocr.metrics import voc_records, weighted_voc_map

    dets, gts = _random_detections(5, frames=12)
    counts = np.array([2, 0, 1, 3, 0, 1, 1, 0, 2, 1, 1, 0], float)
    repeated = [i for i, k in enumerate(counts) for _ in range(int(k))]
    expected, _ = voc_map([dets[i] for i in repeated], [gts[i] for i in repeated])
    assert weighted_voc_map(voc_records(dets, gts), counts[None])[0] == pytest.approx(expected, abs=1e-9)

"""Reading order of rotated markings: principal axis of the character centres, not raw x."""

from __future__ import annotations

import math

import numpy as np
import pytest

from components.data.ocr_format import CHAR_CLASSES
from components.ocr.reading import read_string


def _marking(
    text: str, angle_deg: float, rng: np.random.Generator, h: float = 30.0, pitch: float = 0.62, jitter: float = 0.3
) -> tuple[np.ndarray, np.ndarray]:
    """Axis-aligned boxes of ``text`` printed along a line at ``angle_deg`` (y down), tightly spaced
    (``pitch`` x height), each glyph's box centre off the line by up to ``jitter`` x height (box fits
    around rotated glyphs of different shapes do move the centres)."""
    a = math.radians(angle_deg)
    d, n = np.array([math.cos(a), math.sin(a)]), np.array([-math.sin(a), math.cos(a)])
    boxes = []
    for i, _ in enumerate(text):
        w0 = h * rng.uniform(0.45, 0.75)
        c = np.array([200.0, 200.0]) + d * i * pitch * h + n * rng.uniform(-jitter, jitter) * h
        bw = w0 * abs(math.cos(a)) + h * abs(math.sin(a))
        bh = w0 * abs(math.sin(a)) + h * abs(math.cos(a))
        boxes.append([c[0] - bw / 2, c[1] - bh / 2, c[0] + bw / 2, c[1] + bh / 2])
    labels = np.array([CHAR_CLASSES.index(ch) + 1 for ch in text])
    return np.array(boxes), labels


def _naive(boxes: np.ndarray, labels: np.ndarray) -> str:
    return "".join(CHAR_CLASSES[labels[i] - 1] for i in np.argsort(boxes[:, 0]))


@pytest.mark.parametrize("angle", range(-50, 51, 10))
def test_rotated_markings_read_in_order(angle):
    rng = np.random.default_rng(angle + 100)
    texts = ["103", "4R7", "R010", "01C", "1002", "4702", "2R2", "49R9"]
    for trial in range(60):
        text = texts[trial % len(texts)]
        boxes, labels = _marking(text, angle, rng)
        perm = rng.permutation(len(text))  # detections come in any order
        r = read_string(boxes[perm], labels[perm], np.full(len(text), 0.9), CHAR_CLASSES)
        assert r.text == text, (angle, trial, r.text, text)
    boxes, labels = _marking("4R7", angle, rng, jitter=0.0)
    assert read_string(boxes, labels, np.ones(3), CHAR_CLASSES).angle_deg == pytest.approx(angle, abs=0.5)


def test_naive_x_sort_fails_on_steep_text_where_reading_order_does_not():
    rng = np.random.default_rng(0)
    naive_wrong = ours_wrong = 0
    for _trial in range(200):
        angle = rng.choice([-50, -45, 45, 50])
        boxes, labels = _marking("49R9", angle, rng, pitch=0.55, jitter=0.35)
        naive_wrong += _naive(boxes, labels) != "49R9"
        ours_wrong += read_string(boxes, labels, np.full(4, 0.9), CHAR_CLASSES).text != "49R9"
    assert ours_wrong == 0
    assert naive_wrong >= 10  # a left-to-right sort on raw x swaps neighbours on steep text


def test_duplicates_across_classes_keep_the_best_and_confidence_is_geometric_mean():
    boxes = np.array([[0, 0, 10, 20], [12, 0, 22, 20], [12.5, 0, 22, 20]], float)
    labels = np.array([CHAR_CLASSES.index("1") + 1, CHAR_CLASSES.index("8") + 1, CHAR_CLASSES.index("B") + 1])
    r = read_string(boxes, labels, np.array([0.9, 0.4, 0.8]), CHAR_CLASSES, roi_score=0.5)
    assert r.text == "1B"
    assert r.confidence == pytest.approx(math.sqrt(0.9 * 0.8) * 0.5)
    assert read_string(np.zeros((0, 4)), np.zeros(0), np.zeros(0), CHAR_CLASSES).text == ""


@pytest.mark.parametrize("angle", [-90, -60, -30, 0, 30, 60, 90])
def test_ground_truth_and_prediction_use_the_same_order(angle):
    """The importers' ground-truth string and the OCR's predicted string agree on the same boxes,
    vertical lines included (their order once came from two implementations)."""
    from components.data.importers.reading import reading_order as ground_truth_order

    rng = np.random.default_rng(angle + 500)
    for text in ["103", "4R7", "R010", "49R9", "1002"]:
        boxes, labels = _marking(text, angle, rng, jitter=0.05)
        perm = rng.permutation(len(text))
        truth = "".join(CHAR_CLASSES[labels[perm][i] - 1] for i in ground_truth_order(boxes[perm]))
        predicted = read_string(boxes[perm], labels[perm], np.full(len(text), 0.9), CHAR_CLASSES).text
        assert truth == predicted, (angle, text, truth, predicted)
    vertical = np.array([[10, 50, 20, 60], [10, 0, 20, 10], [10, 25, 20, 35]], float)
    assert ground_truth_order(vertical) == [1, 2, 0]  # top to bottom

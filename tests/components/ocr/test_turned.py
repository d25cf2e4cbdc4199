"""The turned read (``components.ocr.pipeline.read_turned``): a reported ROI whose strip was cut along
the body's short axis, so that it reads no valid marking, is read again from the strip turned a
quarter each way, and which ROIs get that second read."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from components.ocr.pipeline import PipelineConfig, quarter_turn, read_strips, roi_crops
from components.ocr.preprocess import upright_map, warp

STRIP = (192, 96)
NAMES = tuple("0123456789R")
MARKING = [5, 8, 3]  # labels of "4", "7", "2": the valid 3-digit code 472
BODY = np.array([[150.0, 100.0, 250.0, 300.0]], np.float32)  # a body standing upright in the frame


def _cfg(**kw) -> PipelineConfig:
    base = dict(roi_size=(320, 240), crop_size=256, margin=0.08, names=NAMES, crop="upright", strip_size=STRIP)
    return PipelineConfig(**{**base, "turned_read": True, **kw})


def _frame() -> tuple[np.ndarray, np.ndarray]:
    """Dark frame with three bright glyphs stacked down the upright body (its text runs vertically)."""
    image = np.full((400, 400, 3), 40, np.uint8)
    glyphs = np.array([[185, y, 215, y + 30] for y in (120, 185, 250)], np.float32)
    for x1, y1, x2, y2 in glyphs.astype(int):
        image[y1:y2, x1:x2] = 220
    return image, glyphs


def _reader(calls: list[int]):
    """A character detector for the test: bright blobs in a row along the strip read "472"; anything
    else reads as one "4" (no marking)."""

    def detect(crops):
        calls.append(len(crops))
        out = []
        for crop in crops:
            n, _, stats, cents = cv2.connectedComponentsWithStats((crop.mean(2) > 150).astype(np.uint8))
            boxes = np.array([[x, y, x + w, y + h] for x, y, w, h, _ in stats[1:]], np.float32).reshape(-1, 4)
            in_a_row = n - 1 >= 2 and np.ptp(cents[1:, 0]) > np.ptp(cents[1:, 1])
            if in_a_row:
                boxes = boxes[np.argsort(boxes[:, 0])]
                labels = np.array(MARKING[: len(boxes)])
            else:
                boxes, labels = boxes[:1], np.array([5] * min(1, len(boxes)))
            out.append((boxes, labels, np.full(len(boxes), 0.9, np.float32)))
        return out

    return detect


def test_a_quarter_turn_is_the_strip_of_the_other_angle_candidate():
    box = (120.0, 80.0, 420.0, 260.0)
    for angle in (0.0, 17.0, -40.0):
        np.testing.assert_allclose(
            quarter_turn(upright_map(box, angle, STRIP), _cfg()), upright_map(box, angle - 90.0, STRIP), atol=1e-9
        )


def _read(image, cfg, score=0.9):
    maps = [upright_map(BODY[0], 0.0, STRIP)]  # the angle estimate took the short axis: text stands on end
    calls: list[int] = []
    detect = _reader(calls)
    first = detect([warp(image, maps[0], STRIP)])
    return read_strips(image, BODY, np.array([score], np.float32), maps, first, detect, cfg), calls[1:]


def test_a_strip_cut_across_the_text_is_read_again_turned_and_its_boxes_land_on_the_glyphs():
    image, glyphs = _frame()
    res, calls = _read(image, _cfg())
    assert calls == [2]  # one more stage-2 call: the ROI without a marking, turned a quarter each way
    (roi,) = res.rois
    assert (roi.text, roi.valid, roi.status, roi.value_ohm) == ("472", True, "read", 4700.0)
    np.testing.assert_allclose(np.sort(roi.char_boxes, 0), np.sort(glyphs, 0), atol=1.5)


@pytest.mark.parametrize(
    ("kw", "texts", "why"),
    [
        ({"turned_read": False}, ["4"], "turned read off: the first reading stands"),
        ({"invalid_roi_threshold": 0.95}, [], "not reported anyway: stage 1 unsure of a ROI with no marking"),
    ],
)
def test_no_turned_read_where_it_is_off_or_the_roi_is_not_reported(kw, texts, why):
    image, _ = _frame()
    res, calls = _read(image, _cfg(**kw))
    assert calls == [], why
    assert [r.text for r in res.rois] == texts, why


def test_a_valid_first_reading_is_not_read_again():
    image, _ = _frame()
    upright = cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE)  # the glyphs now run along x, as the strip does
    body = np.array([[100.0, 150.0, 300.0, 250.0]], np.float32)
    cfg = _cfg()
    calls: list[int] = []
    detect = _reader(calls)
    maps, crops = roi_crops(upright, body, cfg)
    res = read_strips(upright, body, np.array([0.9], np.float32), maps, detect(crops), detect, cfg)
    assert calls == [1] and [r.text for r in res.rois] == ["472"]

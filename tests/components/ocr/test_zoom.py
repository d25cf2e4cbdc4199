"""The closer read of small print (``components.ocr.pipeline.zoom_maps``, ``read_closer``): which ROIs
are read again, how much closer, and that what the second strip finds lands where the text is in
the frame."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from components.ocr.pipeline import PipelineConfig, assemble, read_closer, roi_crops, zoom_maps
from components.ocr.preprocess import map_boxes, upright_map

STRIP = (192, 96)
NAMES = tuple("0123456789R")


def _cfg(**kw) -> PipelineConfig:
    base = dict(roi_size=(320, 240), crop_size=256, margin=0.08, names=NAMES, crop="upright", strip_size=STRIP)
    return PipelineConfig(**{**base, "zoom_glyph_height": 0.25, **kw})


def _dets(glyphs: list[tuple[float, float, float, float]], score: float = 0.9):
    boxes = np.array(glyphs, np.float32).reshape(-1, 4)
    n = len(boxes)
    return boxes, np.full(n, 2), np.full(n, score, np.float32)


def _row(x0: float, y0: float, height: float, n: int = 3) -> list[tuple[float, float, float, float]]:
    """``n`` glyph boxes ``height`` tall in a row from (x0, y0), 0.6 as wide, 2 px apart."""
    w = 0.6 * height
    return [(x0 + i * (w + 2), y0, x0 + i * (w + 2) + w, y0 + height) for i in range(n)]


def test_small_glyphs_get_a_closer_strip_that_brings_them_to_the_target_height():
    m = upright_map((100.0, 100.0, 500.0, 300.0), 0.0, STRIP)
    glyphs = _row(50, 30, 12.0)  # 12 px glyphs: half the 24 px target (0.25 x 96)
    closer = zoom_maps([_dets(glyphs)], [m], _cfg())
    assert list(closer) == [0]
    inside = map_boxes(map_boxes(np.array(glyphs, np.float32), cv2.invertAffineTransform(m)), closer[0])
    np.testing.assert_allclose(inside[:, 3] - inside[:, 1], 24.0, atol=1e-3)  # magnified 2x
    centre = [(inside[:, 0].min() + inside[:, 2].max()) / 2, (inside[:, 1].min() + inside[:, 3].max()) / 2]
    np.testing.assert_allclose(centre, [96.0, 48.0], atol=1e-3)  # the text in the middle of the strip


@pytest.mark.parametrize(
    ("glyphs", "kw", "why"),
    [
        (_row(50, 30, 26.0), {}, "glyphs already at the target height"),
        (_row(10, 30, 12.0, n=16), {}, "text too wide to magnify by ZOOM_MIN and still fit"),
        (_row(50, 30, 12.0), {"zoom_glyph_height": 0.0}, "closer read off"),
        (_row(50, 30, 12.0), {"crop": "square"}, "letterboxed squares are not strips"),
        ([], {}, "nothing detected: nothing to zoom on"),
    ],
)
def test_no_closer_strip_when_there_is_nothing_to_gain(glyphs, kw, why):
    m = upright_map((100.0, 100.0, 500.0, 300.0), 0.0, STRIP)
    assert zoom_maps([_dets(glyphs)], [m], _cfg(**kw)) == {}, why


def test_zoom_is_capped_and_faint_boxes_locate_the_text():
    m = upright_map((100.0, 100.0, 500.0, 300.0), 0.0, STRIP)
    tiny = _row(60, 40, 4.0)  # 6x would be needed: capped at zoom_max
    assert np.hypot(*zoom_maps([_dets(tiny)], [m], _cfg(zoom_max=2.0))[0][0, :2]) == pytest.approx(
        2.0 * np.hypot(*m[0, :2])
    )
    assert list(zoom_maps([_dets(_row(50, 30, 12.0), score=0.15)], [m], _cfg())) == [0]  # faint, still text
    assert zoom_maps([_dets(_row(50, 30, 12.0), score=0.05)], [m], _cfg()) == {}  # below ZOOM_MIN_SCORE


def _small_print_frame():
    """A dark chip body (400 x 200 px) on grey with three bright 14 px tall bars as its marking."""
    image = np.full((480, 640, 3), 120, np.uint8)
    image[140:340, 120:520] = 35
    bars = [(280 + 14 * i, 233, 288 + 14 * i, 247) for i in range(3)]
    for x1, y1, x2, y2 in bars:
        image[y1:y2, x1:x2] = 230
    return image, np.array([[120, 140, 520, 340]], np.float32), np.array(bars, np.float32)


def _bright_blobs(crops: list[np.ndarray]):
    """A character detector for the test: every bright blob of a crop is a glyph of class 2, score 0.9."""
    out = []
    for crop in crops:
        n, _, stats, _ = cv2.connectedComponentsWithStats((crop.mean(2) > 150).astype(np.uint8))
        boxes = np.array([[x, y, x + w, y + h] for x, y, w, h, _ in stats[1:]], np.float32).reshape(-1, 4)
        out.append((boxes, np.full(len(boxes), 2), np.full(len(boxes), 0.9, np.float32)))
    return out


def test_the_closer_strip_shows_the_text_bigger_and_its_boxes_map_back_onto_it():
    image, rois, bars = _small_print_frame()
    cfg = _cfg()
    maps, crops = roi_crops(image, rois, cfg)
    first = _bright_blobs(crops)
    calls = []

    def detect(c):
        calls.append(len(c))
        return _bright_blobs(c)

    dets, closer_maps = read_closer(image, first, maps, detect, cfg)
    assert calls == [1]  # one more stage-2 call, for the one ROI with small print
    first_h = np.median(first[0][0][:, 3] - first[0][0][:, 1])
    again_h = np.median(dets[0][0][:, 3] - dets[0][0][:, 1])
    assert first_h < 0.1 * STRIP[1]  # 8 px: the 24 px target needs 3x, zoom_max allows 2.5x
    assert again_h == pytest.approx(2.5 * first_h, abs=1.5)
    res = assemble(rois, np.array([0.9]), closer_maps, dets, cfg)
    np.testing.assert_allclose(np.sort(res.rois[0].char_boxes, 0), np.sort(bars, 0), atol=1.5)
    assert res.rois[0].text == "111"
    # without the closer read: same frame boxes, from the small strip
    off = _cfg(zoom_glyph_height=0.0)
    assert read_closer(image, first, maps, detect, off) == (first, maps) and calls == [1]

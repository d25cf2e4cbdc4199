"""Upright strips (``ocr.char.crop: upright``): the text angle from the image, the warp, the box maps,
and a tiny train/evaluate in each crop mode."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from components.config import parse_params
from components.data.synth_resistors import render_resistor_frame
from components.ocr.data import build_crops, load_frames
from components.ocr.evaluate import evaluate
from components.ocr.model import build_ssd, roi_spec
from components.ocr.pipeline import PipelineConfig, roi_crops
from components.ocr.predict import TwoStageOcr
from components.ocr.preprocess import (
    GLYPH_ASPECT,
    crop_window,
    downsample,
    estimate_angle,
    map_boxes,
    unturn_boxes,
    upright_map,
    upright_strip,
    warp,
)
from components.ocr.reading import line_direction
from components.ocr.train import train_char_model, train_roi_model
from tests.helpers.ocr import tiny_params

STRIP = (192, 96)


def _chip(angle: float, text: str = "4R7", frame=(900, 700), centre=(430.0, 360.0)):
    """A grey frame with one dark chip body (360 x 190 px, white end caps, white text) turned by
    ``angle`` (degrees, y down) about ``centre``; returns the frame, the body's bounding box and the
    character boxes (axis-aligned, frame pixels) in reading order."""
    body = np.full((190, 360, 3), 40, np.uint8)
    body[:, :50] = body[:, -50:] = 200
    boxes = []
    x = 110
    for ch in text:
        (tw, th), _ = cv2.getTextSize(ch, cv2.FONT_HERSHEY_SIMPLEX, 2.0, 5)
        cv2.putText(body, ch, (x, 95 + th // 2), cv2.FONT_HERSHEY_SIMPLEX, 2.0, (235, 235, 235), 5, cv2.LINE_AA)
        boxes.append([x, 95 - th / 2 - 4, x + tw, 95 + th / 2 + 6])
        x += tw + 8
    w, h = frame
    m = cv2.getRotationMatrix2D((180.0, 95.0), -angle, 1.0)
    m[:, 2] += np.array(centre) - np.array([180.0, 95.0])
    image = np.full((h, w, 3), 110, np.uint8)
    mask = cv2.warpAffine(np.full((190, 360), 255, np.uint8), m, (w, h)) > 127
    image[mask] = cv2.warpAffine(body, m, (w, h))[mask]
    corners = np.array([[0, 0, 1], [360, 0, 1], [0, 190, 1], [360, 190, 1]], np.float64) @ m.T
    box = np.array([*corners.min(0), *corners.max(0)], np.float32)
    return image, box, map_boxes(np.array(boxes, np.float32), m)


@pytest.mark.parametrize("angle", [-48.0, -30.0, -12.0, 0.0, 7.0, 25.0, 44.0, 50.0])
def test_a_turned_chip_comes_out_upright(angle):
    image, box, chars = _chip(angle)
    win = crop_window(box, 0.08, image.shape[1], image.shape[0])
    assert estimate_angle(image, win) == pytest.approx(angle, abs=3.5)  # the residual is left to stage 2
    strip, m = upright_strip(image, box, 0.08, STRIP)
    assert strip.shape == (STRIP[1], STRIP[0], 3)
    inside = map_boxes(chars, m)
    cx, cy = (inside[:, 0] + inside[:, 2]) / 2, (inside[:, 1] + inside[:, 3]) / 2
    assert np.all(np.diff(cx) > 10)  # left to right, in reading order
    assert np.ptp(cy) < 5  # on one horizontal line
    assert inside[:, [0, 1]].min() >= 0 and inside[:, 2].max() <= STRIP[0] and inside[:, 3].max() <= STRIP[1]
    # the strip shows the characters there: bright ink inside the mapped boxes, the dark body above them
    ink = [strip[int(y1) : int(y2), int(x1) : int(x2)].mean() for x1, y1, x2, y2 in inside]
    body = strip[4:12, int(cx[0]) : int(cx[-1])].mean()
    assert body < 60 and min(ink) > body + 15


def test_strip_pixels_sit_where_the_map_puts_them():
    image = np.full((600, 800, 3), 127, np.uint8)
    image[300:306, 500:506] = 255  # a 6 px dot, centre (503, 303)
    box = (300.0, 200.0, 700.0, 420.0)
    for angle in (-35.0, 0.0, 20.0):
        m = upright_map(box, angle, STRIP)
        strip = warp(image, m, STRIP).astype(np.float32).mean(2) - 127
        ys, xs = np.nonzero(strip > 20)
        weights = strip[ys, xs]
        got = np.array([(xs * weights).sum() / weights.sum() + 0.5, (ys * weights).sum() / weights.sum() + 0.5])
        want = m @ np.array([503.0, 303.0, 1.0])
        np.testing.assert_allclose(got, want, atol=0.6)


def centres(b: np.ndarray) -> np.ndarray:
    return np.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2], 1)


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    iw = (np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0])).clip(0)
    ih = (np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1])).clip(0)
    area_a, area_b = ((x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1]) for x in (a, b))
    return iw * ih / (area_a + area_b - iw * ih)


@pytest.mark.parametrize("angle", [0.0, 20.0, -35.0, 45.0])
def test_box_maps_round_trip_between_strip_and_frame(angle):
    """Strip -> frame is ``map_boxes`` (inference: a detected upright glyph as the frame box of its
    turned ink), frame -> strip ``unturn_boxes`` (training: a labelled frame box as the upright
    glyph): there and back gives the glyph box again (both are models of turned ink, not exact
    inverses of each other: IoU > 0.65), centres exactly, without a turn exactly."""
    rng = np.random.default_rng(0)
    hgt = rng.uniform(20, 60, 20)
    xy = rng.uniform(10, 100, (20, 2))
    glyphs = np.concatenate([xy, xy + np.stack([hgt * GLYPH_ASPECT * rng.uniform(0.85, 1.15, 20), hgt], 1)], 1)
    box = (100.0, 100.0, 560.0, 560.0)
    m = upright_map(box, angle, STRIP)
    frame_boxes = map_boxes(glyphs, cv2.invertAffineTransform(m))
    back = unturn_boxes(frame_boxes, m)
    np.testing.assert_allclose(centres(back), centres(glyphs), atol=1e-3)
    if angle == 0.0:
        np.testing.assert_allclose(back, glyphs, atol=1e-3)
        np.testing.assert_allclose(map_boxes(glyphs, np.eye(3)[:2] * 2.0), glyphs * 2.0, atol=1e-4)
    assert _iou(back, glyphs).min() > 0.65
    # map_boxes on a labelled (tight) frame box would inflate the glyph: unturn_boxes does not
    if abs(angle) >= 20:
        assert _iou(map_boxes(frame_boxes, m), glyphs).mean() < _iou(back, glyphs).mean() - 0.1


def test_angle_of_generator_frames_matches_the_character_line():
    errors = []
    for i in range(3):
        image, ann = render_resistor_frame([21, i], 1280, 960)
        for roi in (s for s in ann.shapes if s.is_roi):
            chars = np.array([s.box for s in ann.shapes if not s.is_roi and s.group_id == roi.group_id], np.float64)
            if len(chars) < 2:
                continue
            d = line_direction(np.stack([(chars[:, 0] + chars[:, 2]) / 2, (chars[:, 1] + chars[:, 3]) / 2], 1))
            truth = np.degrees(np.arctan2(d[1], d[0]))
            got = estimate_angle(image, crop_window(roi.box, 0.08, image.shape[1], image.shape[0]))
            errors.append(abs((got - truth + 90) % 180 - 90))
    assert len(errors) >= 4 and max(errors) < 8 and np.median(errors) < 3


def test_the_angle_does_not_depend_on_how_far_the_window_is_shrunk():
    """estimate_angle shrinks a large window by exact halvings and a short bilinear step (fast) rather
    than one area resize: the same chip at 1x, 2x and 3x the size must give the same angle."""
    image, box, _ = _chip(23.0)
    win = crop_window(box, 0.08, image.shape[1], image.shape[0])
    angles = []
    for scale in (1, 2, 3):
        big = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        angles.append(estimate_angle(big, [v * scale for v in win]))
    assert max(angles) - min(angles) < 0.5
    assert angles[0] == pytest.approx(23.0, abs=3.5)


@pytest.mark.parametrize("size", [(1280, 960), (1001, 757), (640, 480)])
def test_downsampling_by_halvings_is_the_area_resize(size):
    """downsample halves exactly while it can (OpenCV's fast 2x path) and area-resizes the rest: within
    one grey level of one area resize, whatever the frame size."""
    image, _ = render_resistor_frame([5, 0], *size)
    got, want = downsample(image, (320, 240)), cv2.resize(image, (320, 240), interpolation=cv2.INTER_AREA)
    assert got.shape == want.shape == (240, 320, 3)
    assert np.abs(got.astype(int) - want.astype(int)).max() <= 1


def test_pipeline_config_refuses_an_unknown_crop_or_a_missing_strip():
    with pytest.raises(ValueError, match="crop 'round'"):
        PipelineConfig((160, 120), 64, 0.08, ("0",), crop="round")
    with pytest.raises(ValueError, match="strip_size"):
        PipelineConfig((160, 120), 64, 0.08, ("0",), crop="upright")


@pytest.mark.parametrize("crop", ["square", "upright"])
def test_tiny_train_and_evaluate_in_each_crop_mode(tiny_ocr, tmp_path, crop):
    """Stage 1 and 2 on three frames, then the whole path evaluated: the crops stage 2 trains on
    are what inference cuts (same shape, same pixels for the same ROI)."""
    torch.set_num_threads(2)
    params = tiny_params(epochs=1)
    params["ocr"]["char"].update(crop=crop, strip_size=[96, 48])
    ocr = parse_params(params).ocr
    frames = load_frames(tiny_ocr / "data/manifests/ocr.parquet", tiny_ocr / "data/ocr", "train")[:3]
    roi = build_ssd(roi_spec(ocr.roi))
    train_roi_model(
        frames,
        frames[:1],
        ocr.roi,
        device="cpu",
        checkpoint=tmp_path / "roi_last.pt",
        fingerprint="r",
        out=tmp_path / "roi.pt",
        progress=False,
        log=lambda m: None,
    )
    roi.load_state_dict(torch.load(tmp_path / "roi.pt", weights_only=True)["state_dict"])
    summary = train_char_model(
        frames,
        frames[:1],
        ocr.char,
        roi,
        ocr.roi.input_size,
        device="cpu",
        checkpoint=tmp_path / "char_last.pt",
        fingerprint="c",
        out=tmp_path / "char.pt",
        progress=False,
        log=lambda m: None,
    )
    assert summary["spec"]["size"] == ([96, 48] if crop == "upright" else [64, 64])
    assert summary["spec"].get("crop", "square") == crop

    model = TwoStageOcr.load(
        tmp_path / "roi.pt", tmp_path / "char.pt", roi_score_threshold=0.01, char_score_threshold=0.01
    )
    cfg = model.config
    assert cfg.crop == crop
    # training crops of the ground-truth ROIs equal what inference cuts for those boxes
    f = frames[0]
    image = f.image()
    size = [96, 48] if crop == "upright" else 64
    train_crops = build_crops(
        [f], roi, ocr.roi.input_size, 1.0, ocr.char.crop_margin, size, True, progress=False, crop=crop
    )
    _, infer_crops = roi_crops(image, f.rois, cfg)
    np.testing.assert_array_equal(np.stack([c.image for c in train_crops if c.source == "gt"]), np.stack(infer_crops))
    assert infer_crops[0].shape == ((48, 96, 3) if crop == "upright" else (64, 64, 3))

    ev = evaluate(model, frames, progress=False)
    assert ev.metrics["frames"] == 3 and ev.metrics["rois"] == sum(len(x.rois) for x in frames)
    assert 0.0 <= ev.metrics["string_accuracy"] <= 1.0 and np.isfinite(ev.metrics["cer"])
    boxes = np.concatenate([r.all_char_boxes for r in ev.results])
    assert len(boxes) and np.isfinite(boxes).all() and np.all(boxes[:, 2:] > boxes[:, :2])

"""Augmentations: rotation moves the boxes with the content and re-fits them around it."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from components.ocr.metrics import box_iou
from components.ocr.transforms import (
    Compose,
    GlyphShape,
    HorizontalFlip,
    Photometric,
    RandomRotation,
    RandomZoom,
    rotate,
    shear_x,
    text_angle,
)


def _glyphs(text: str = "4R7", angle: float = 0.0):
    """White glyphs on black, their tight ink boxes, and one ink mask per glyph."""
    masks = []
    for i, ch in enumerate(text):
        m = np.zeros((160, 160), np.uint8)
        cv2.putText(m, ch, (40 + 26 * i, 95), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 255, 3)
        if angle:
            m = cv2.warpAffine(m, cv2.getRotationMatrix2D((80, 80), -angle, 1.0), (160, 160))
        masks.append(m)
    image = np.repeat(np.maximum.reduce(masks)[..., None], 3, axis=2)
    return image, np.array([_ink_box(m) for m in masks], np.float32), masks


def _ink_box(mask: np.ndarray) -> list[float]:
    ys, xs = np.nonzero(mask > 127)
    return [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]


@pytest.mark.parametrize("start,turn", [(0, 50), (0, -50), (30, -70), (-40, 80), (20, 15)])
def test_rotation_refits_boxes_around_the_rotated_glyphs(start, turn):
    image, boxes, masks = _glyphs(angle=start)
    labels = np.arange(1, len(boxes) + 1)
    centre = (80.0, 80.0)
    out, nb, nl = rotate(image, boxes, labels, turn, fill=0, centre=centre)
    assert out.shape == image.shape and list(nl) == list(labels)
    m = cv2.getRotationMatrix2D(centre, -turn, 1.0)
    for box, mask in zip(nb, masks):
        truth = np.array(_ink_box(cv2.warpAffine(mask, m, (160, 160))), np.float32)
        assert box_iou(box[None], truth[None])[0, 0] > 0.6
        # the re-fitted box holds (nearly all of) the rotated ink
        ink = cv2.warpAffine(mask, m, (160, 160)) > 127
        x1, y1, x2, y2 = (round(float(v)) for v in box)
        assert ink[max(y1, 0) : y2, max(x1, 0) : x2].sum() >= 0.9 * ink.sum()
    # and the text line turned by the requested angle
    assert text_angle(nb) == pytest.approx(start + turn, abs=6)


def test_random_rotation_keeps_text_within_the_angle_range_and_pipeline_composes():
    image, boxes, _ = _glyphs(angle=35)
    t = Compose([RandomRotation(50, p=1.0, seed=3), Photometric(p=1.0, seed=4)])
    for _ in range(20):
        out, nb, _ = t(image, boxes, np.arange(1, 4))
        assert out.dtype == np.uint8 and out.shape == image.shape
        assert len(nb) == 3 and abs(text_angle(nb)) <= 50 + 6


def test_flip_mirrors_boxes():
    image = np.zeros((40, 100, 3), np.uint8)
    image[10:20, 5:15] = 255
    out, nb, _ = HorizontalFlip(p=1.0)(image, np.array([[5, 10, 15, 20]], np.float32), np.array([1]))
    assert nb.tolist() == [[85, 10, 95, 20]] and out[15, 90].tolist() == [255, 255, 255]


def test_motion_kernel_is_a_normalized_line_along_its_angle():
    from components.ocr.transforms import motion_kernel

    for length, angle in ((5, 0.0), (7, 90.0), (6, 45.0)):
        k = motion_kernel(length, angle)
        assert k.shape == (length, length) and k.sum() == pytest.approx(1.0)
        ys, xs = np.nonzero(k)
        if angle == 0.0:
            assert len(set(ys)) == 1 and len(set(xs)) == length
        elif angle == 90.0:
            assert len(set(xs)) == 1 and len(set(ys)) == length
        else:
            assert np.corrcoef(xs, ys)[0, 1] > 0.9


def test_photometric_draws_jpeg_and_motion_blur_and_keeps_boxes():
    image, boxes, _ = _glyphs(angle=0)
    t = Photometric(p=1.0, seed=11)
    outs = [t(image, boxes, np.arange(1, 4)) for _ in range(40)]
    assert all(o.dtype == np.uint8 and o.shape == image.shape and np.array_equal(b, boxes) for o, b, _ in outs)
    assert len({o.tobytes() for o, _, _ in outs}) == 40  # drawn anew every call


def test_low_light_and_color_swap_are_off_by_default_and_change_the_image_when_on():
    """At 0 the optional changes draw nothing (older runs repeat exactly); at 1 every image is darker
    and noisier, or has its channels permuted, with the boxes untouched."""
    image, boxes, _ = _glyphs(angle=0)
    labels = np.arange(1, 4)
    plain, off = Photometric(p=1.0, seed=5), Photometric(p=1.0, seed=5, low_light=0.0, color_swap=0.0)
    for _ in range(5):
        assert np.array_equal(plain(image, boxes, labels)[0], off(image, boxes, labels)[0])
    dim, bright = Photometric(p=1.0, seed=5, low_light=1.0), Photometric(p=1.0, seed=5)
    dims = [dim(image, boxes, labels) for _ in range(20)]
    brights = [bright(image, boxes, labels)[0] for _ in range(20)]
    assert np.mean([d[0].mean() for d in dims]) < 0.75 * np.mean([b.mean() for b in brights])
    assert all(np.array_equal(b, boxes) for _, b, _ in dims)
    colour = np.zeros((8, 8, 3), np.uint8)
    colour[..., 0] = 200  # pure red
    swapped = Photometric(p=1.0, seed=6, color_swap=1.0)
    dominant = {int(np.argmax(swapped(colour, boxes, labels)[0].reshape(-1, 3).mean(0))) for _ in range(30)}
    assert dominant == {0, 1, 2}


@pytest.mark.parametrize("k", [-0.3, -0.1, 0.15, 0.3])
def test_shear_refits_boxes_around_the_slanted_glyphs(k):
    """The sheared boxes sit on the sheared ink of each glyph. A box alone cannot know where in it
    the ink is (a 7 leans on its top bar), so single glyphs are allowed a looser fit."""
    image, boxes, masks = _glyphs()
    out, sheared = shear_x(image, boxes, k)
    assert out.shape == image.shape
    ious = []
    for box, m in zip(sheared, masks):
        ink = _ink_box(shear_x(np.repeat(m[..., None], 3, axis=2), np.zeros((0, 4)), k)[0][..., 0])
        ious.append(box_iou(np.array([box]), np.array([ink], np.float32))[0, 0])
    assert min(ious) > 0.65 and np.mean(ious) > 0.8


def test_glyph_shape_is_off_by_default_and_slants_and_thickens_when_on():
    """At 0 nothing changes and nothing is drawn; switched on, some images are slanted (boxes moved)
    and some have bolder or lighter strokes (ink area changed, boxes kept)."""
    image, boxes, _ = _glyphs()
    labels = np.arange(1, 4)
    off = GlyphShape(0.0, 0.0, seed=3)
    state = off.rng.bit_generator.state
    out, b, _ = off(image, boxes, labels)
    assert out is image and b is boxes and off.rng.bit_generator.state == state
    ink = (image[..., 0] > 127).sum()
    slanted, stroked = 0, 0
    t = GlyphShape(0.3, 0.5, seed=3)
    for _ in range(40):
        out, b, _ = t(image, boxes, labels)
        slanted += not np.allclose(b, boxes)
        stroked += np.allclose(b, boxes) and abs(int((out[..., 0] > 127).sum()) - int(ink)) > 0.1 * ink
    assert 10 <= slanted <= 30 and stroked >= 3


def test_zoom_moves_boxes_with_the_image_and_drops_parts_cut_by_the_edge():
    image = np.zeros((120, 160, 3), np.uint8)
    boxes = np.array([[40, 30, 80, 50], [150, 100, 160, 120]], np.float32)  # a body, and one at the corner
    for x1, y1, x2, y2 in boxes.astype(int):
        image[y1:y2, x1:x2] = 255
    zoom = RandomZoom(1.0, (0.5, 2.0), seed=3)
    seen = {"in": 0, "out": 0}
    for _ in range(40):
        out, b, labels = zoom(image, boxes, np.array([1, 1]))
        assert out.shape == image.shape and len(b) == len(labels) >= 0
        for x1, y1, x2, y2 in b:  # each kept box lies on bright pixels, and they fill it
            assert out[int(y1) + 1 : int(y2) - 1, int(x1) + 1 : int(x2) - 1].mean() > 200
        scale = (b[0, 2] - b[0, 0]) / 40 if len(b) and b[0, 2] - b[0, 0] < 80 else None
        if scale is not None:
            seen["in" if scale > 1 else "out"] += 1
    assert seen["in"] and seen["out"]  # both ways drawn
    # the corner body leaves the frame whenever the view moves away from it: dropped, not clipped to a sliver
    counts = [len(zoom(image, boxes, np.array([1, 1]))[1]) for _ in range(40)]
    assert min(counts) <= 1


def test_zoom_is_off_by_default_and_draws_nothing_then():
    image = np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    boxes = np.array([[10, 10, 30, 20]], np.float32)
    zoom = RandomZoom()
    state = zoom.rng.bit_generator.state
    out, b, _ = zoom(image, boxes, np.array([1]))
    assert out is image and b is boxes and zoom.rng.bit_generator.state == state


def test_zoom_range_is_checked():
    from components.config import load_params
    from components.ocr.config import RoiParams

    base = load_params().ocr.roi.model_dump()
    assert RoiParams(**{**base, "zoom": [0.6, 1.5]}).zoom == (0.6, 1.5)
    with pytest.raises(ValueError, match="ocr.roi.zoom"):
        RoiParams(**{**base, "zoom": [1.2, 1.5]})

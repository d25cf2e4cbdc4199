"""One frame from one ``numpy`` Generator: layout, surface, distractors, labels, the labelled
resistors with their ROI and character boxes, then the camera.

The order of the steps is the order of the random draws; changing it changes every dataset.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from components.data.ocr_format import ROI_LABEL, OcrAnnotation, Shape
from components.data.synth_resistors.camera import _camera
from components.data.synth_resistors.distractors import _place_distractors, _place_labels
from components.data.synth_resistors.fonts import _render_glyphs
from components.data.synth_resistors.layout import _layout
from components.data.synth_resistors.parts import ResistorSpec, _chip_patch, _with_text
from components.data.synth_resistors.raster import _apply, _composite, _warp, _warp_region, _xform
from components.data.synth_resistors.scene import Scene
from components.data.synth_resistors.styles import DEFAULT_FAMILY, ResistorStyle, _pick, _style
from components.data.synth_resistors.surfaces import _background


@dataclass
class RenderedFrame:
    image: np.ndarray
    annotation: OcrAnnotation
    jpeg_quality: int
    glyph_inks: list = field(default_factory=list)  # debug: (x0, y0, bool mask) per character shape
    family: str = DEFAULT_FAMILY
    negatives: list = field(default_factory=list)  # (kind, box): unlabelled look-alikes drawn in the frame


def _rng(seed: int | Sequence[int] | np.random.Generator) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _frame_size(rng: np.random.Generator, st: ResistorStyle, width: int, height: int) -> tuple[int, int]:
    """The frame's (w, h): the requested size times the family's frame scale (multiples of 8)."""
    lo, hi = st.frame_scale
    if lo == hi == 1.0:
        return width, height
    f = rng.uniform(lo, hi)
    return 8 * round(width * f / 8), 8 * round(height * f / 8)


def _render(
    rng: np.random.Generator, width: int, height: int, debug: bool = False, family: str = DEFAULT_FAMILY
) -> RenderedFrame:
    st = _style(family)
    w, h = _frame_size(rng, st, width, height)
    kind = str(_pick(rng, st.backgrounds, st.background_weights))
    zoom = width / 1280.0  # sizes are specified for 1280 px wide (base) frames
    for _attempt in range(20):  # a frame always holds at least one resistor
        scale, board_angle, specs, pockets = _layout(rng, kind, h, w, zoom, st)
        if specs:
            break
    else:
        raise RuntimeError(f"could not place a resistor in a {w}x{h} frame")
    la = rng.uniform(0, 2 * math.pi)
    light = np.array([math.cos(la), math.sin(la)]) * rng.uniform(3, 10)
    sc = Scene(kind=kind, scale=scale, board_angle=board_angle, light=light, res=zoom, style=st)
    for sp in specs:
        x0, y0, x1, y1 = sp.box
        m = 0.08 * sp.length
        sc.forbidden.append((x0 - m, y0 - m, x1 + m, y1 + m))
    img = _background(rng, sc, h, w, specs, pockets)
    if kind != "tape":
        _place_distractors(rng, sc, img, taken=[])
    _place_labels(rng, sc, img, zoom)
    ann = OcrAnnotation(image_path="", width=w, height=h)
    inks: list = []
    protect = [_draw_resistor(rng, sc, img, sp, k, ann, inks if debug else None) for k, sp in enumerate(specs)]
    image = _camera(rng, img, protect, st)
    quality = int(rng.integers(int(st.jpeg_quality[0]), int(st.jpeg_quality[1]) + 1))
    return RenderedFrame(
        image=image, annotation=ann, jpeg_quality=quality, glyph_inks=inks, family=family, negatives=sc.negatives
    )


def _draw_resistor(
    rng: np.random.Generator,
    sc: Scene,
    img: np.ndarray,
    sp: ResistorSpec,
    k: int,
    ann: OcrAnnotation,
    inks: list | None,
) -> tuple[float, float, float, float]:
    """Draw one labelled resistor and append its ROI and character shapes to ``ann``; returns the ROI box."""
    st, (h, w) = sc.style, img.shape[:2]
    glyphs = _render_glyphs(sp.text, sp.font, sp.char_h, sp.hscale, sp.tracking)
    body_rgb = np.array(_pick(rng, st.body_colours), np.float32) * rng.uniform(*st.body_brightness)
    body_rgb += rng.uniform(-3, 3, 3).astype(np.float32)
    ink_rgb = np.clip(np.array(_pick(rng, st.ink_colours), np.float32) * rng.uniform(*st.ink_brightness), 0, 255)
    ceramic = rng.uniform(0, 0.05) * sp.width if rng.random() < 0.6 else 0.0
    patch = _chip_patch(
        rng,
        sp.length,
        sp.width,
        sp.cap_frac,
        np.maximum(body_rgb, 4),
        sp.pad_ext,
        sc.pad_rgb if sc.kind == "pcb" else None,
        ceramic,
        sc.light,
        sp.angle,
    )
    ph, pw = patch.top.shape[:2]
    bx0, by0, bx1, by1 = patch.body
    _n, gh, gw = glyphs.shape
    cap_w = sp.cap_frac * sp.length
    # the text block sits inside the overcoat, centred with a little printing offset
    free_x = (bx1 - bx0 - 2 * cap_w) - gw
    free_y = (by1 - by0 - 2 * ceramic) - gh
    ox = round(bx0 + cap_w + free_x / 2 + rng.uniform(-0.25, 0.25) * max(free_x, 0))
    oy = round(by0 + ceramic + free_y / 2 + rng.uniform(-0.2, 0.2) * max(free_y, 0))
    _with_text(rng, patch, glyphs, ox, oy, ink_rgb)
    a, t = _xform(sp.angle, pw, ph, sp.cx, sp.cy)
    _composite(img, patch, a, t, 0.55)
    # ROI: the rotated body incl. end caps
    corners = _apply(a, t, np.array([[bx0, by0], [bx1, by0], [bx1, by1], [bx0, by1]], np.float64))
    roi = _clip_box((*corners.min(axis=0), *corners.max(axis=0)), w, h)
    ann.shapes.append(Shape(ROI_LABEL, *roi, group_id=k, text=sp.text))
    e = 0.5 * (abs(a[0, 0]) + abs(a[0, 1]))  # half extent of a rotated ink pixel
    for i, ch in enumerate(sp.text):
        ys, xs = np.nonzero(glyphs[i] > 0.5)
        q = _apply(a, t, np.stack([xs + ox + 0.5, ys + oy + 0.5], axis=1).astype(np.float64))
        cb = _clip_box((q[:, 0].min() - e, q[:, 1].min() - e, q[:, 0].max() + e, q[:, 1].max() + e), w, h)
        ann.shapes.append(Shape(ch, *cb, group_id=k))
        if inks is not None:  # the glyph's alpha warped onto the frame by the same path as the pixels
            full = np.zeros((ph, pw), np.float32)
            full[oy : oy + gh, ox : ox + gw] = glyphs[i]
            (gx0, gy0, gx1, gy1), m = _warp_region((h, w), a, t, pw, ph)
            inks.append((gx0, gy0, _warp(full, m, (gx1 - gx0, gy1 - gy0)) > 0.5))
    return roi


def _clip_box(b, w: int, h: int) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = b
    return (
        round(float(np.clip(x0, 0, w)), 2),
        round(float(np.clip(y0, 0, h)), 2),
        round(float(np.clip(x1, 0, w)), 2),
        round(float(np.clip(y1, 0, h)), 2),
    )


def render_resistor_frame(
    seed: int | Sequence[int], width: int = 1280, height: int = 960, family: str = DEFAULT_FAMILY
) -> tuple[np.ndarray, OcrAnnotation]:
    """One synthetic frame of ``family``: RGB uint8 and its annotation (``image_path`` empty).

    The frame is (height, width) times the family's frame scale (``wide_view`` frames are larger);
    the annotation is in the frame's own pixel coordinates.
    """
    fr = _render(_rng(seed), width, height, family=family)
    return fr.image, fr.annotation


def render_resistor_frame_debug(
    seed: int | Sequence[int], width: int = 1280, height: int = 960, family: str = DEFAULT_FAMILY
) -> RenderedFrame:
    """Like ``render_resistor_frame`` (same pixels) plus, per character shape, its ink mask in frame
    coordinates as ``(x0, y0, mask)``: the glyph's alpha warped onto the frame, thresholded at 0.5;
    and the boxes of the unlabelled hard negatives (``negatives``)."""
    return _render(_rng(seed), width, height, debug=True, family=family)

"""TrueType faces of the resistor markings and their glyph masks.

The markings are drawn with matplotlib's bundled fonts (present wherever the project installs), so
frames render the same on every machine. Character boxes are computed from each glyph's own ink
(:func:`_render_glyphs`), which is why glyphs are rendered one by one rather than as a string.
"""

from __future__ import annotations

import importlib.util
import math
from functools import cache, lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

_FONT_DIR = Path(importlib.util.find_spec("matplotlib").origin).parent / "mpl-data" / "fonts" / "ttf"


TRAIN_FONTS: tuple[str, ...] = (  # upright faces, used by the training families
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSansMono-Bold.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSerif-Bold.ttf",
    "cmr10.ttf",
    "cmss10.ttf",
    "cmtt10.ttf",
    "cmb10.ttf",
)


HELD_OUT_FONTS: tuple[str, ...] = (  # oblique and STIX faces, only in the held-out (OOD) families
    "STIXGeneral.ttf",
    "STIXGeneralBol.ttf",
    "DejaVuSans-Oblique.ttf",
    "DejaVuSans-BoldOblique.ttf",
    "DejaVuSansMono-Oblique.ttf",
    "DejaVuSansMono-BoldOblique.ttf",
)


MARKING_FONTS: tuple[str, ...] = TRAIN_FONTS + HELD_OUT_FONTS


@lru_cache(maxsize=512)
def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(_FONT_DIR / name), size)


@cache
def _font_cap_ratio(name: str) -> float:
    """Ink height of digits/capitals per unit of font size."""
    f = _font(name, 200)
    hs = [-f.getbbox(ch, anchor="ls")[1] for ch in "08HE"]
    return float(np.mean(hs)) / 200.0


@cache
def _font_advance_ratio(name: str) -> float:
    """Mean advance width of the 36 characters per unit of cap height."""
    f = _font(name, 200)
    adv = np.mean([f.getlength(ch) for ch in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"])
    return float(adv) / (200.0 * _font_cap_ratio(name))


def _render_glyphs(text: str, font_name: str, char_h: float, hscale: float, tracking: float) -> np.ndarray:
    """Alpha masks (n, h, w) float32 of each character of ``text``, laid out on one baseline."""
    size = max(8, round(char_h / _font_cap_ratio(font_name)))
    f = _font(font_name, size)
    asc, desc = f.getmetrics()
    pad = 4
    advances = [f.getlength(ch) for ch in text]
    track = tracking * char_h / hscale
    width = math.ceil(sum(advances) + track * (len(text) - 1)) + 2 * pad + size // 2
    height = asc + desc + 2 * pad
    masks = np.zeros((len(text), height, width), np.float32)
    x = float(pad)
    for i, (ch, adv) in enumerate(zip(text, advances)):
        im = Image.new("L", (width, height), 0)
        ImageDraw.Draw(im).text((x, pad + asc), ch, font=f, fill=255, anchor="ls")
        masks[i] = np.asarray(im, np.float32) * (1.0 / 255.0)
        x += adv + track
    if abs(hscale - 1.0) > 1e-3:
        nw = max(4, round(width * hscale))
        masks = np.stack(
            [
                cv2.resize(m, (nw, height), interpolation=cv2.INTER_AREA if hscale < 1 else cv2.INTER_LINEAR)
                for m in masks
            ]
        )
    union = masks.max(axis=0) > 0.02
    ys, xs = np.nonzero(union)
    y0, y1 = max(0, ys.min() - 2), ys.max() + 3
    x0, x1 = max(0, xs.min() - 2), xs.max() + 3
    return np.ascontiguousarray(masks[:, y0:y1, x0:x1])

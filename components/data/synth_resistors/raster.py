"""Drawing primitives shared by every part of a resistor frame: noise fields, rotated placement
(continuous-coordinate affines), premultiplied RGBA patches and their compositing with shadows.

Parts are rendered unrotated into a :class:`Patch` and warped onto the frame once; the same affine
maps the glyph ink to the frame, which keeps the character boxes exact.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np


@lru_cache(maxsize=2)
def _grain_tile(size: int = 2048) -> np.ndarray:
    """A fixed N(0,1) noise tile (same in every process); frames take random windows of it."""
    return np.random.default_rng(20240611).standard_normal((size, size), dtype=np.float32)


def _grain(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Fine per-pixel texture noise (h, w) ~ N(0,1): a random window of a fixed tile."""
    tile = _grain_tile() if max(h, w) <= 2048 else _grain_tile(4096)  # large frames (wide_view)
    t = tile.shape[0]
    if h > t or w > t:
        tile = np.tile(tile, (h // t + 1, w // t + 1))
    oy, ox = int(rng.integers(tile.shape[0] - h + 1)), int(rng.integers(tile.shape[1] - w + 1))
    g = tile[oy : oy + h, ox : ox + w]
    return g[::-1] if rng.random() < 0.5 else g


def _smooth(rng: np.random.Generator, h: int, w: int, cell: float) -> np.ndarray:
    """Smooth noise (h, w) with blobs about ``cell`` pixels wide, roughly N(0,1)."""
    gh, gw = max(2, int(h / cell) + 2), max(2, int(w / cell) + 2)
    g = rng.standard_normal((gh, gw)).astype(np.float32)
    return cv2.resize(g, (w, h), interpolation=cv2.INTER_CUBIC) * 1.6


def _fbm(rng: np.random.Generator, h: int, w: int, cells: Sequence[float], weights: Sequence[float]) -> np.ndarray:
    out = np.zeros((h, w), np.float32)
    for c, wt in zip(cells, weights):
        out += wt * _smooth(rng, h, w, c)
    return out


def _rrect_alpha(xs: np.ndarray, ys: np.ndarray, x0: float, y0: float, x1: float, y1: float, r: float) -> np.ndarray:
    """Anti-aliased coverage of a rounded rectangle; xs (1, w) and ys (h, 1) are pixel centres."""
    r = max(0.0, min(r, (x1 - x0) / 2, (y1 - y0) / 2))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    qx = np.abs(xs - cx) - ((x1 - x0) / 2 - r)
    qy = np.abs(ys - cy) - ((y1 - y0) / 2 - r)
    d = np.hypot(np.maximum(qx, 0), np.maximum(qy, 0)) + np.minimum(np.maximum(qx, qy), 0) - r
    return np.clip(0.5 - d, 0.0, 1.0).astype(np.float32)


def _rot(theta_deg: float) -> np.ndarray:
    """2x2 rotation that turns counter-clockwise on screen (y down) for positive angles."""
    t = math.radians(theta_deg)
    c, s = math.cos(t), math.sin(t)
    return np.array([[c, s], [-s, c]], np.float64)


def _xform(theta: float, pw: float, ph: float, cx: float, cy: float) -> tuple[np.ndarray, np.ndarray]:
    """Continuous-coordinate affine (A, t) that rotates a pw x ph patch about its centre to (cx, cy)."""
    a = _rot(theta)
    return a, np.array([cx, cy]) - a @ np.array([pw / 2, ph / 2])


def _apply(a: np.ndarray, t: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return pts @ a.T + t


def _boxes_overlap(b1: Sequence[float], b2: Sequence[float], margin: float = 0.0) -> bool:
    return not (
        b1[2] + margin <= b2[0] or b2[2] + margin <= b1[0] or b1[3] + margin <= b2[1] or b2[3] + margin <= b1[1]
    )


def _rotated_bbox(theta: float, pw: float, ph: float, cx: float, cy: float) -> tuple[float, float, float, float]:
    a, t = _xform(theta, pw, ph, cx, cy)
    c = _apply(a, t, np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float64))
    return (c[:, 0].min(), c[:, 1].min(), c[:, 0].max(), c[:, 1].max())


def _free(box, forbidden, margin: float = 0.0) -> bool:
    return not any(_boxes_overlap(box, f, margin) for f in forbidden)


@dataclass
class Patch:
    """A part rendered unrotated: premultiplied RGBA layers and a shadow caster, (h, w, .) float32."""

    top: np.ndarray  # (h, w, 4): premultiplied rgb + alpha, drawn last
    under: np.ndarray | None = None  # (h, w, 4): pads and solder, drawn first
    shadow: np.ndarray | None = None  # (h, w): soft shadow on what lies below the top layer
    glyphs: np.ndarray | None = None  # (n, h, w): each character's alpha in patch coordinates
    body: tuple[float, float, float, float] | None = None  # x0, y0, x1, y1 of the labelled body


def _warp_region(frame_hw: tuple[int, int], a: np.ndarray, t: np.ndarray, pw: int, ph: int):
    """Integer frame region covered by the transformed patch, and the cv2 matrix into it."""
    h, w = frame_hw
    corners = _apply(a, t, np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float64))
    x0 = max(0, math.floor(corners[:, 0].min()) - 1)
    y0 = max(0, math.floor(corners[:, 1].min()) - 1)
    x1 = min(w, math.ceil(corners[:, 0].max()) + 1)
    y1 = min(h, math.ceil(corners[:, 1].max()) + 1)
    if x1 <= x0 or y1 <= y0:
        return None
    # pixel index u maps to continuous u + 0.5; frame index = continuous - 0.5 - region origin
    m = np.zeros((2, 3), np.float64)
    m[:, :2] = a
    m[:, 2] = a @ np.array([0.5, 0.5]) + t - 0.5 - np.array([x0, y0])
    return (x0, y0, x1, y1), m


def _warp(img: np.ndarray, m: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return cv2.warpAffine(img, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def _composite(frame: np.ndarray, patch: Patch, a: np.ndarray, t: np.ndarray, shadow_strength: float) -> None:
    ph, pw = patch.top.shape[:2]
    reg = _warp_region(frame.shape[:2], a, t, pw, ph)
    if reg is None:
        return
    (x0, y0, x1, y1), m = reg
    size = (x1 - x0, y1 - y0)
    view = frame[y0:y1, x0:x1]
    top = _warp(patch.top, m, size)
    keep = 1.0 - top[..., 3]  # what survives of the layers below
    add = np.ascontiguousarray(top[..., :3])
    if patch.shadow is not None and shadow_strength > 0:
        keep *= 1.0 - shadow_strength * _warp(patch.shadow, m, size)
    if patch.under is not None:
        u = _warp(patch.under, m, size)
        add += u[..., :3] * _c3(keep)
        keep *= 1.0 - u[..., 3]
    view *= _c3(keep)
    view += add


def _stamp(dst: np.ndarray, mask: np.ndarray, theta: float, cx: float, cy: float) -> tuple[float, float, float, float]:
    """Max-composite a rotated mask into ``dst`` (float32 h x w); returns its frame bbox."""
    ph, pw = mask.shape
    a, t = _xform(theta, pw, ph, cx, cy)
    reg = _warp_region(dst.shape, a, t, pw, ph)
    if reg is None:
        return (0, 0, 0, 0)
    (x0, y0, x1, y1), m = reg
    w = _warp(mask, m, (x1 - x0, y1 - y0))
    np.maximum(dst[y0:y1, x0:x1], w, out=dst[y0:y1, x0:x1])
    return (x0, y0, x1, y1)


def _premult(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    out = np.empty(alpha.shape + (4,), np.float32)
    out[..., :3] = rgb * _c3(alpha)
    out[..., 3] = alpha
    return out


def _c3(x: np.ndarray) -> np.ndarray:
    """(h, w) -> (h, w, 3) float32 copy; same-shape arithmetic is much faster than broadcasting."""
    return cv2.cvtColor(np.ascontiguousarray(x, dtype=np.float32), cv2.COLOR_GRAY2RGB)


def _tint(x: np.ndarray, rgb) -> np.ndarray:
    """(h, w) field times an RGB colour -> (h, w, 3) float32."""
    return cv2.transform(np.ascontiguousarray(x, dtype=np.float32), np.asarray(rgb, np.float32).reshape(3, 1))


def _shadow_of(alpha: np.ndarray, a_inv: np.ndarray, light: np.ndarray, sigma: float) -> np.ndarray:
    """Blurred, shifted copy of ``alpha``; ``light`` is the shadow offset in frame pixels."""
    dx, dy = a_inv @ light
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    s = cv2.warpAffine(alpha, m, (alpha.shape[1], alpha.shape[0]), flags=cv2.INTER_LINEAR, borderValue=0)
    return cv2.GaussianBlur(s, (0, 0), sigma)


def _shift(img: np.ndarray, d: np.ndarray) -> np.ndarray:
    m = np.float32([[1, 0, d[0]], [0, 1, d[1]]])
    return cv2.warpAffine(img, m, (img.shape[1], img.shape[0]), borderMode=cv2.BORDER_REPLICATE)

"""The parts on the surface: chip resistors and capacitors (body, tin end caps, pads, solder
fillets), SOT/SOIC packages, and printing glyphs onto a part.

:class:`ResistorSpec` is what the layout decides for a labelled resistor (size, angle, marking,
font); the patch functions turn it into pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from components.data.synth_resistors.raster import (
    Patch,
    _c3,
    _grain,
    _premult,
    _rot,
    _rrect_alpha,
    _shadow_of,
    _smooth,
    _tint,
)


@dataclass
class ResistorSpec:
    length: float
    width: float
    angle: float
    text: str
    font: str
    char_h: float
    hscale: float
    tracking: float
    cap_frac: float
    pad_ext: float  # pad/fillet length beyond each end (0 when not soldered)
    cx: float = 0.0
    cy: float = 0.0
    box: tuple[float, float, float, float] = (0, 0, 0, 0)


def _halved(sp: ResistorSpec) -> ResistorSpec:
    return ResistorSpec(
        sp.length / 2,
        sp.width / 2,
        sp.angle,
        sp.text,
        sp.font,
        sp.char_h / 2,
        sp.hscale,
        sp.tracking,
        sp.cap_frac,
        sp.pad_ext / 2,
        sp.cx / 2,
        sp.cy / 2,
        tuple(v / 2 for v in sp.box),
    )


def _metal(rng: np.random.Generator, h: int, w: int, base: float, tint: np.ndarray, along_y: bool = True) -> np.ndarray:
    """Tin/silver surface (h, w, 3): cylindrical specular band, grain and blotches."""
    n = h if along_y else w
    u = (np.arange(n, dtype=np.float32) + 0.5) / n
    centre, width = rng.uniform(0.25, 0.75), rng.uniform(0.12, 0.32)
    prof = 0.62 + 0.5 * np.exp(-((u - centre) ** 2) / (2 * width**2)) - 0.18 * (np.abs(u - 0.5) * 2) ** 4
    prof = prof[:, None] if along_y else prof[None, :]
    v = base * prof * (1 + 0.07 * _grain(rng, h, w) + 0.06 * _smooth(rng, h, w, max(6.0, min(h, w) / 3)))
    return np.clip(_tint(v, tint), 0, 255)


def _chip_patch(
    rng: np.random.Generator,
    length: float,
    width: float,
    cap_frac: float,
    body_rgb: np.ndarray,
    pad_ext: float,
    pad_rgb: np.ndarray | None,
    ceramic_edge: float,
    light: np.ndarray,
    theta: float,
) -> Patch:
    """A chip (resistor or capacitor) lying along x, with optional pads and solder fillets.

    Shading is built from 1-D profiles (broadcast) plus two shared texture fields, so a patch costs
    only a few dozen passes over its pixels.
    """
    margin = 12.0
    pad_w = width * rng.uniform(1.05, 1.3) if pad_rgb is not None else width
    pw = math.ceil(length + 2 * pad_ext + 2 * margin)
    ph = math.ceil(max(width, pad_w) + 2 * margin)
    bx0, by0 = (pw - length) / 2, (ph - width) / 2
    bx1, by1 = bx0 + length, by0 + width
    x = np.arange(pw, dtype=np.float32) + 0.5
    y = np.arange(ph, dtype=np.float32) + 0.5
    cap_w = cap_frac * length
    body_a = _rrect_alpha(x[None, :], y[:, None], bx0, by0, bx1, by1, r=min(width, length) * rng.uniform(0.02, 0.06))
    tex = _grain(rng, ph, pw)
    blot = _smooth(rng, ph, pw, max(8.0, width / 3))
    surf = 0.05 * tex + 0.06 * blot  # shared relative texture
    body = (bx0, by0, bx1, by1)
    rgb, tint_m = _chip_body_rgb(rng, x, y, body, length, width, cap_w, ceramic_edge, body_rgb, surf)
    # a thin dark rim where the body's top surface turns down (separates it from pads and solder)
    rim = (
        1
        - rng.uniform(0.25, 0.5)
        * np.clip(
            1.8 - (np.minimum(np.minimum(x - bx0, bx1 - x)[None, :], np.minimum(y - by0, by1 - y)[:, None])), 0, 1.8
        )
        / 1.8
    )
    top = _premult(np.clip(rgb * _c3(rim), 0, 255), body_a)
    under = None
    if pad_rgb is not None and pad_ext > 0:
        under = _chip_pads(rng, x, y, body, cap_w, pad_w, pad_ext, width, pad_rgb, tint_m, surf)
    shadow = _shadow_of(body_a, _rot(theta).T, light * (0.6 + 0.2 * width / 100), max(2.0, width * 0.05))
    return Patch(top=top, under=under, shadow=shadow, body=body)


def _chip_body_rgb(
    rng: np.random.Generator,
    x: np.ndarray,
    y: np.ndarray,
    body: tuple[float, float, float, float],
    length: float,
    width: float,
    cap_w: float,
    ceramic_edge: float,
    body_rgb: np.ndarray,
    surf: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Colour (ph, pw, 3) of a chip's top: overcoat with sheen and bevel, tin end caps, white alumina
    at the edges; and the tint of its metal (the solder fillets reuse it)."""
    bx0, by0, bx1, by1 = body
    # overcoat between the caps, inset from the long edges (the white alumina shows there)
    ox0, ox1 = bx0 + cap_w - 2, bx1 - cap_w + 2
    oy0, oy1 = by0 + ceramic_edge, by1 - ceramic_edge
    oc_a = (
        np.clip(np.minimum(y - oy0, oy1 - y) + 0.5, 0, 1)[:, None]
        * np.clip(np.minimum(x - ox0, ox1 - x) + 0.5, 0, 1)[None, :]
    )
    u, v = (x - bx0) / length, (y - by0) / width
    sheen = (
        rng.uniform(0, 14)
        * np.exp(-((v - rng.uniform(0.2, 0.8)) ** 2) / 0.2)[:, None]
        * np.exp(-((u - rng.uniform(0.2, 0.8)) ** 2) / 0.08)[None, :]
    )
    bw = rng.uniform(1.5, 4.0)
    bev_y = np.exp(-np.clip(np.minimum(y - oy0, oy1 - y), 0, None) / bw)
    bev_x = np.exp(-np.clip(np.minimum(x - (bx0 + cap_w), (bx1 - cap_w) - x), 0, None) / bw)
    g = float(body_rgb.mean())
    dark = g * (1 + surf) + sheen + rng.uniform(4, 14) * np.maximum(bev_y[:, None], bev_x[None, :])

    # tin end caps: cylindrical highlight across, darker end face, groove at the overcoat
    base = rng.uniform(140, 215)
    centre, spread = rng.uniform(0.25, 0.75), rng.uniform(0.12, 0.32)
    prof_y = (
        0.78
        + rng.uniform(0.1, 0.3) * np.exp(-((v - centre) ** 2) / (2 * spread**2))
        - 0.15 * (np.abs(v - 0.5) * 2) ** 6
    )
    end = np.minimum(x - bx0, bx1 - x)
    prof_x = (1 - 0.22 * np.exp(-np.clip(end, 0, None) / max(2.0, 0.12 * cap_w))) * (
        1 - 0.25 * np.exp(-np.abs(end - cap_w) / 2.0)
    )
    metal = (base * prof_y)[:, None] * prof_x[None, :] * (1 + 1.4 * surf)
    wav = 0.8 * _smooth(rng, len(y), 1, max(6.0, width / 3))
    cap_a = np.clip(cap_w + wav - end[None, :] + 0.5, 0, 1)

    cer = rng.uniform(150, 200)
    a_oc = oc_a * (1 - cap_a)
    a_cer = np.clip(1 - a_oc - cap_a, 0, 1)
    tint_b = (body_rgb / max(g, 1e-3)).astype(np.float32)
    tint_m = (np.float32(1.0) + rng.uniform(-0.04, 0.04, 3)).astype(np.float32)
    tint_c = np.array([1.0, 0.98, 0.92], np.float32)
    rgb = _tint(a_oc * dark, tint_b) + _tint(cap_a * metal, tint_m) + _tint(a_cer * cer * (1 + surf), tint_c)
    return rgb, tint_m


def _chip_pads(
    rng: np.random.Generator,
    x: np.ndarray,
    y: np.ndarray,
    body: tuple[float, float, float, float],
    cap_w: float,
    pad_w: float,
    pad_ext: float,
    width: float,
    pad_rgb: np.ndarray,
    tint_m: np.ndarray,
    surf: np.ndarray,
) -> np.ndarray:
    """The layer under a soldered chip (ph, pw, 4): its two pads and shiny solder fillets at the ends."""
    bx0, _by0, bx1, _by1 = body
    ph, pw = len(y), len(x)
    inner = cap_w * rng.uniform(0.3, 0.9)
    pyo = (ph - pad_w) / 2
    pad_y = np.clip(np.minimum(y - pyo, pyo + pad_w - y) + 0.5, 0, 1)
    pad_x = np.clip(np.minimum(x - (bx0 - pad_ext), (bx0 + inner) - x) + 0.5, 0, 1) + np.clip(
        np.minimum(x - (bx1 - inner), (bx1 + pad_ext) - x) + 0.5, 0, 1
    )
    pad_a = pad_y[:, None] * np.clip(pad_x, 0, 1)[None, :]
    fl = pad_ext * rng.uniform(0.55, 0.95)
    fw = width * rng.uniform(0.85, 1.02)
    out = np.clip(np.maximum(bx0 - x, x - bx1), 0, None) / max(fl, 1.0)  # 0 at the cap, 1 at the fillet toe
    half = (fw / 2) * (1 - 0.12 * out**2) + 1  # the toe narrows a little
    fil_a = (
        np.clip(half[None, :] - np.abs(y - ph / 2)[:, None] + 0.5, 0, 1) * (out < 1)[None, :] * rng.uniform(0.85, 1.0)
    )
    peak = rng.uniform(0.15, 0.6)
    shine = 0.6 + 0.8 * np.exp(-((out - peak) ** 2) / (2 * 0.12**2)) - 0.2 * out
    yprof = 1 - 0.3 * np.clip(((y - ph / 2) / (fw / 2)) ** 2, 0, 1)
    solder = rng.uniform(175, 225) * yprof[:, None] * shine[None, :] * (1 + 0.6 * surf)
    pad_l = (1 + 1.3 * surf) * rng.uniform(0.75, 0.92)
    a_f = fil_a
    a_p = pad_a * (1 - a_f)
    under = np.empty((ph, pw, 4), np.float32)
    under[..., :3] = _tint(a_p * pad_l, pad_rgb) + _tint(a_f * np.clip(solder, 0, 255), tint_m)
    under[..., 3] = np.clip(a_p + a_f, 0, 1)
    return under


def _ic_patch(
    rng: np.random.Generator,
    length: float,
    width: float,
    n_pins: tuple[int, int],
    pad_rgb: np.ndarray | None,
    light: np.ndarray,
    theta: float,
) -> Patch:
    """A SOT/SOIC package: dark moulded body, gull-wing tin pins on the long sides."""
    pin_len = width * rng.uniform(0.25, 0.4)
    margin = 14.0
    pw = math.ceil(length + 2 * margin)
    ph = math.ceil(width + 2 * pin_len + 2 * margin)
    bx0, by0 = margin, (ph - width) / 2
    bx1, by1 = bx0 + length, by0 + width
    xs = (np.arange(pw, dtype=np.float32) + 0.5)[None, :]
    ys = (np.arange(ph, dtype=np.float32) + 0.5)[:, None]
    body_a = _rrect_alpha(xs, ys, bx0, by0, bx1, by1, r=width * 0.05)
    g = rng.uniform(18, 45)
    tex = _grain(rng, ph, pw)
    v = g * (1 + 0.06 * tex + 0.05 * _smooth(rng, ph, pw, width / 3))
    # pin-1 dimple
    dcx, dcy, dr = bx0 + width * 0.25, by1 - width * 0.25, width * rng.uniform(0.06, 0.12)
    dimple = np.clip(dr - np.hypot(xs - dcx, ys - dcy) + 0.5, 0, 1)
    v = v * (1 - 0.35 * dimple)
    rgb = _c3(v)
    pins_a = np.zeros((ph, pw), np.float32)
    base = rng.uniform(150, 210)
    tint = np.array([1.0, 1.0, 1.0], np.float32) + rng.uniform(-0.04, 0.04, 3).astype(np.float32)
    x, y = xs[0], ys[:, 0]

    def band(c: np.ndarray, lo: float, hi: float) -> np.ndarray:
        return np.clip(np.minimum(c - lo, hi - c) + 0.5, 0, 1)

    pin_w = None
    for side, count in zip((0, 1), n_pins):
        if count <= 0:
            continue
        pitch = length / count
        pin_w = pitch * rng.uniform(0.35, 0.5) if pin_w is None else pin_w
        xprof = np.zeros(pw, np.float32)
        for k in range(count):
            pcx = bx0 + pitch * (k + 0.5)
            xprof = np.maximum(xprof, band(x, pcx - pin_w / 2, pcx + pin_w / 2))
        yprof = band(y, by0 - pin_len, by0 + 2) if side == 0 else band(y, by1 - 2, by1 + pin_len)
        pins_a = np.maximum(pins_a, yprof[:, None] * xprof[None, :])
    metal = _metal(rng, ph, pw, base, tint)
    alpha = np.maximum(body_a, pins_a)
    top = np.empty((ph, pw, 4), np.float32)
    top[..., :3] = np.clip(metal, 0, 255) * _c3(pins_a * (1 - body_a)) + np.clip(rgb, 0, 255) * _c3(body_a)
    top[..., 3] = alpha
    under = None
    if pad_rgb is not None:
        pad = cv2.dilate(pins_a, np.ones((5, 5), np.uint8), iterations=max(1, int(pin_len * 0.12)))
        under_rgb = _tint(1 + 0.08 * tex, pad_rgb)
        under = _premult(np.clip(under_rgb, 0, 255), pad * (1 - body_a))
    shadow = _shadow_of(alpha, _rot(theta).T, light, max(2.0, width * 0.05))
    return Patch(top=top, under=under, shadow=shadow)


def _with_text(
    rng: np.random.Generator, patch: Patch, glyphs: np.ndarray, ox: int, oy: int, ink_rgb: np.ndarray
) -> Patch:
    """Print the glyphs (their block's top-left at patch pixel (ox, oy)) onto the body of ``patch``."""
    _n, gh, gw = glyphs.shape
    ink = glyphs.max(axis=0)
    ink *= rng.uniform(0.8, 1.0) * np.clip(
        1 - rng.uniform(0.05, 0.3) * np.abs(_smooth(rng, gh, gw, rng.uniform(2, 8))), 0, 1
    )
    ink = cv2.GaussianBlur(ink, (0, 0), rng.uniform(0.35, 0.9))
    ink_col = _tint(1 + 0.04 * _grain(rng, gh, gw), ink_rgb)
    region = patch.top[oy : oy + gh, ox : ox + gw]
    ink3 = _c3(ink)
    region[..., :3] = region[..., :3] * (1 - ink3) + ink_col * ink3 * _c3(region[..., 3])
    return patch

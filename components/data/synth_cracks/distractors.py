"""Crack look-alikes that are never annotated: patches, sealed joints, lane paint, tyre marks, oil
stains, manhole covers and cast shadows. A model that learns "dark line = crack" fails on these.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from components.data.synth_cracks.looks import MANHOLE
from components.data.synth_cracks.noise import _F32, _fbm, _line_coords, _smooth_noise, _smoothstep
from components.data.synth_cracks.styles import CrackStyle, Range, _chance


def _patch(rng, img, X, Y, sc, info):
    h, w = img.shape[:2]
    cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    ang = rng.normal(0.0, 0.05) + (math.pi / 2 if rng.random() < 0.5 else 0.0)
    hw, hh = rng.uniform(0.2, 0.6) * w, rng.uniform(0.2, 0.6) * h
    along, across = _line_coords(X, Y, cx, cy, ang)
    soft = 0.8 * sc
    m = _smoothstep(-soft, soft, hw - np.abs(along)) * _smoothstep(-soft, soft, hh - np.abs(across))
    f = rng.uniform(0.7, 0.9) if rng.random() < 0.6 else rng.uniform(1.1, 1.25)
    factor = 1.0 + (f - 1.0) * m * (1.0 + 0.2 * _smooth_noise(rng, h, w, 30 * sc))
    img *= factor[..., None]
    info.append("patch")


def _sealed_joint(rng, img, X, Y, sc, info):
    h, w = img.shape[:2]
    ang = rng.normal(0.0, 0.03) + (0.0 if rng.random() < 0.6 else math.pi / 2)
    cx, cy = rng.uniform(0.1, 0.9) * w, rng.uniform(0.1, 0.9) * h
    _, across = _line_coords(X, Y, cx, cy, ang)
    width = rng.uniform(13, 24) * sc
    soft = 0.9 * sc
    cov = _smoothstep(
        -soft,
        soft,
        width / 2 - np.abs(across + 0.8 * sc * _smooth_noise(rng, h, w, 6 * sc)),
    )
    if rng.random() < 0.5:  # overbanded: a thin feathered film of sealant either side
        band = rng.uniform(1.8, 3.0) * width / 2
        cov = np.maximum(
            cov,
            0.55
            * _smoothstep(
                -3 * sc,
                3 * sc,
                band - np.abs(across + 1.5 * sc * _smooth_noise(rng, h, w, 12 * sc)),
            ),
        )
    dark = rng.uniform(0.05, 0.10)
    seal = dark * (1.0 + 0.15 * _smooth_noise(rng, h, w, 15 * sc))
    sheen = rng.uniform(0.0, 0.06) * np.exp(-(((across + rng.uniform(-0.2, 0.2) * width) / (0.15 * width)) ** 2))
    seal = seal + sheen * (0.6 + 0.4 * _smooth_noise(rng, h, w, 20 * sc))
    c = cov[..., None]
    img *= 1.0 - c
    img += c * seal[..., None] * np.array([1.0, 1.0, 1.03], _F32)
    info.append("sealed_joint")


def _lane_paint(rng, img, X, Y, sc, hgt, shade, info):
    h, w = img.shape[:2]
    longitudinal = rng.random() < 0.7
    ang = (math.pi / 2 if longitudinal else 0.0) + rng.normal(0.0, 0.05)
    cx, cy = rng.uniform(0.05, 0.95) * w, rng.uniform(0.05, 0.95) * h
    along, across = _line_coords(X, Y, cx, cy, ang)
    width = (rng.uniform(28, 50) if longitudinal else rng.uniform(35, 70)) * sc
    edge = across + 0.7 * sc * _smooth_noise(rng, h, w, 4 * sc)
    cov = _smoothstep(-1.0 * sc, 1.0 * sc, width / 2 - np.abs(edge))
    if longitudinal and rng.random() < 0.5:  # dashed line: one dash end visible
        period, dash = rng.uniform(1.2, 2.5) * h, rng.uniform(0.5, 0.7)
        ph = (along / period + rng.random()) % 1.0
        cov *= _smoothstep(-0.004, 0.004, dash - ph) * _smoothstep(-0.004, 0.004, ph)
    wear = rng.uniform(0.0, 0.75)
    keep = np.clip(1.6 + 0.6 * _fbm(rng, h, w, 25 * sc, octaves=3) - 2.4 * wear, 0.0, 1.0)
    keep *= 1.0 - 0.7 * wear * hgt  # paint wears off the stone tops first
    cov *= keep * rng.uniform(0.8, 0.97)
    if rng.random() < 0.7:
        col = np.array([0.86, 0.86, 0.83]) * rng.uniform(0.85, 1.05)
        info.append("lane_paint_white")
    else:
        col = np.array([0.84, 0.66, 0.22]) * rng.uniform(0.8, 1.0)
        info.append("lane_paint_yellow")
    dirt = 1.0 - rng.uniform(0.0, 0.15) * np.clip(_fbm(rng, h, w, 30 * sc, octaves=3), 0.0, 2.0)
    paint = (shade * (0.93 + 0.07 * hgt) * dirt)[..., None] * col.astype(_F32)
    c = cov[..., None]
    img *= 1.0 - c
    img += c * paint


def _tyre_marks(rng, img, X, Y, sc, info):
    h, w = img.shape[:2]
    ang = math.pi / 2 + rng.normal(0.0, 0.12)
    if rng.random() < 0.3:
        ang = rng.uniform(0, math.pi)
    cx, cy = rng.uniform(0.0, 1.0) * w, rng.uniform(0.0, 1.0) * h
    along, across = _line_coords(X, Y, cx, cy, ang)
    curv = rng.normal(0.0, 0.6) / max(h, w)
    across = across + curv * along**2
    width = rng.uniform(18, 40) * sc
    q = np.square(across / (0.5 * width))
    prof = np.exp(-(q * q))
    prof *= np.clip(0.6 + 0.5 * _smooth_noise(rng, h, w, 60 * sc), 0.0, 1.0)
    prof *= 0.85 + 0.15 * np.sin(across * (2 * math.pi / (rng.uniform(2.5, 4.0) * sc)))  # tread streaks
    strength = rng.uniform(0.12, 0.28)
    img *= (1.0 - strength * prof)[..., None]
    info.append("tyre_mark")


def _oil_stain(rng, img, X, Y, sc, info):
    h, w = img.shape[:2]
    cx, cy = rng.uniform(0.05, 0.95) * w, rng.uniform(0.05, 0.95) * h
    R = rng.uniform(14, 45) * sc
    ax, ay = R * rng.uniform(0.7, 1.3), R * rng.uniform(0.7, 1.3)
    r = np.sqrt(((X - cx) / ax) ** 2 + ((Y - cy) / ay) ** 2)
    blob = np.clip((1.0 - r + 0.3 * _fbm(rng, h, w, R * 0.8, octaves=3)) * 2.5, 0.0, 1.0)
    for _ in range(int(rng.integers(0, 4))):  # drips
        dx, dy = rng.normal(0, 1.2 * R), rng.normal(0, 1.2 * R)
        rr = rng.uniform(0.15, 0.35) * R
        d = np.sqrt((X - cx - dx) ** 2 + (Y - cy - dy) ** 2) / rr
        blob = np.maximum(blob, np.clip((1.0 - d) * 2.0, 0.0, 1.0))
    blob = cv2.GaussianBlur(blob, (0, 0), 1.5 * sc)
    strength = rng.uniform(0.3, 0.55)
    absorb = np.array([1.0, 1.05, 1.15], _F32)  # brownish
    img *= 1.0 - strength * np.clip(blob[..., None] ** 0.8 * absorb, 0.0, 1.0)
    info.append("oil_stain")


def _manhole(rng, img, X, Y, sc, info) -> tuple[float, float, float]:
    """A cast-iron cover in its frame, sometimes in a concrete collar; returns the circle cracks avoid."""
    h, w = img.shape[:2]
    R = rng.uniform(*MANHOLE.radius_px) * sc
    cx = rng.uniform(-0.3 * R, w + 0.3 * R)
    cy = rng.uniform(-0.3 * R, h + 0.3 * R)
    fw = rng.uniform(*MANHOLE.frame_px) * sc  # frame width
    cw = rng.uniform(*MANHOLE.collar_px) * sc if rng.random() < MANHOLE.collar_prob else 0.0  # concrete collar
    dx, dy = X - cx, Y - cy
    r = np.sqrt(dx * dx + dy * dy)
    hm = _manhole_relief(rng, dx, dy, r, R, sc)
    la = rng.uniform(0, 2 * math.pi)
    gx = cv2.Sobel(hm, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(hm, cv2.CV_32F, 0, 1, ksize=3)
    shading = 1.0 - 0.9 * (math.cos(la) * gx + math.sin(la) * gy) + 0.15 * hm
    cover, frame = _cast_iron(rng, img, R, shading)
    aa = 0.7 * sc
    in_cover = _smoothstep(-aa, aa, R - 1.2 * sc - r)
    in_frame = _smoothstep(-aa, aa, R + fw - r)
    gap = np.exp(-(((r - R + 0.6 * sc) / (0.8 * sc)) ** 2))
    if cw > 0:
        in_collar = _smoothstep(
            -aa * 2,
            aa * 2,
            R + fw + cw - r + 1.5 * sc * _smooth_noise(rng, h, w, 8 * sc),
        )
        speck = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(_F32), (0, 0), 0.7 * sc)
        conc = rng.uniform(0.38, 0.55) * (1.0 + 0.08 * _fbm(rng, h, w, 12 * sc, octaves=3) + 0.12 * speck)
        cc = in_collar[..., None]
        img *= 1.0 - cc
        img += cc * (conc[..., None] * np.array([1.02, 1.0, 0.96], _F32))
    fr = in_frame[..., None]
    img *= 1.0 - fr
    img += fr * frame
    cv_ = in_cover[..., None]
    img *= 1.0 - cv_
    img += cv_ * cover
    img *= (1.0 - 0.8 * gap)[..., None]
    info.append("manhole")
    return cx, cy, R + fw + cw + 3 * sc


def _manhole_relief(rng, dx, dy, r, R: float, sc: float) -> np.ndarray:
    """Height map of the cover's cast pattern (chequer plate, rings and ribs, or bosses) and its rim."""
    th = np.arctan2(dy, dx)
    p = rng.uniform(*MANHOLE.pattern_pitch_px) * sc
    style = int(rng.integers(0, 3))
    if style == 0:  # diamond chequer plate
        u, v = (dx + dy) / p, (dx - dy) / p
        pat = ((np.abs(u % 1.0 - 0.5) < 0.22) & (np.abs(v % 1.0 - 0.5) < 0.22)).astype(_F32)
    elif style == 1:  # concentric rings and radial ribs
        rings = (np.abs((r / p) % 1.0 - 0.5) < 0.2).astype(_F32)
        ribs = (np.abs(((th * int(rng.integers(8, 17)) / (2 * math.pi)) % 1.0) - 0.5) < 0.12).astype(_F32)
        pat = np.maximum(rings, ribs * (r > 0.35 * R))
    else:  # square grid of bosses
        pat = ((np.abs((dx / p) % 1.0 - 0.5) < 0.25) & (np.abs((dy / p) % 1.0 - 0.5) < 0.25)).astype(_F32)
    rim_in = 0.86 * R
    pat = np.where((r < rim_in) & (np.abs(r - 0.3 * R) > 0.08 * R), pat, 0.0)
    pat = np.maximum(pat, ((r > rim_in) & (r < R - 1.5 * sc)).astype(_F32))  # raised outer rim
    return cv2.GaussianBlur(pat, (0, 0), 0.8 * sc)


def _cast_iron(rng, img: np.ndarray, R: float, shading: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Colours of the cover (HxWx3) and of its frame: dark grey iron with patchy rust."""
    h, w = img.shape[:2]
    metal = rng.uniform(0.22, 0.40)
    rust = (
        np.clip(
            0.3 + 0.45 * _fbm(rng, h, w, 0.3 * R, octaves=4) - rng.uniform(0.1, 0.7),
            0.0,
            0.8,
        )
        ** 1.5
    )
    grain = 1.0 + 0.06 * rng.standard_normal((h, w)).astype(_F32)
    cover = np.empty_like(img)
    base = metal * shading * grain
    cover[..., 0] = base * (1.0 + 0.35 * rust)
    cover[..., 1] = base * (1.0 + 0.02 * rust)
    cover[..., 2] = base * (1.0 - 0.3 * rust)
    frame = (metal * 1.15 * grain * (1.0 + 0.3 * rust))[..., None] * np.array([1.05, 1.0, 0.92], _F32)
    return cover, frame


def _shadow(rng, img, X, Y, sc, info, depth_range: Range = (0.3, 0.6)):
    h, w = img.shape[:2]
    kind = rng.choice(["pole", "tree", "edge"], p=[0.4, 0.3, 0.3])
    if kind == "pole":
        ang = rng.uniform(0, math.pi)
        _, across = _line_coords(X, Y, rng.uniform(0, w), rng.uniform(0, h), ang)
        width, soft = rng.uniform(15, 45) * sc, rng.uniform(2, 8) * sc
        sh = _smoothstep(-soft, soft, width / 2 - np.abs(across))
    elif kind == "tree":
        n = _fbm(rng, h, w, rng.uniform(40, 90) * sc, octaves=4)
        soft = rng.uniform(0.15, 0.4)
        sh = _smoothstep(-soft, soft, n - rng.uniform(-0.6, 0.5))
    else:
        ang = rng.uniform(0, 2 * math.pi)
        _, across = _line_coords(X, Y, rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h, ang)
        soft = rng.uniform(3, 15) * sc
        sh = _smoothstep(-soft, soft, across + 2 * sc * _smooth_noise(rng, h, w, 25 * sc))
    depth = rng.uniform(*depth_range)
    img *= 1.0 - depth * sh[..., None] * np.array([1.0, 0.98, 0.88], _F32)  # skylight: shadows bluish
    info.append(f"shadow_{kind}")


def _distractors(rng, img, X, Y, sc, hgt, shade, style: CrackStyle, info) -> list:
    """Paint the unannotated look-alikes onto ``img``; return the manhole circles (cracks avoid them)."""
    if _chance(rng, style.patch_prob):
        _patch(rng, img, X, Y, sc, info)
    if _chance(rng, style.sealed_joint_prob):
        _sealed_joint(rng, img, X, Y, sc, info)
        if _chance(rng, style.extra_sealed_joint_prob):
            _sealed_joint(rng, img, X, Y, sc, info)
    if _chance(rng, style.lane_paint_prob):
        _lane_paint(rng, img, X, Y, sc, hgt, shade, info)
        if _chance(rng, style.extra_lane_paint_prob):
            _lane_paint(rng, img, X, Y, sc, hgt, shade, info)
    if _chance(rng, style.tyre_mark_prob):
        _tyre_marks(rng, img, X, Y, sc, info)
    for _ in range(sum(_chance(rng, p) for p in style.oil_stain_probs)):
        _oil_stain(rng, img, X, Y, sc, info)
    circles = []
    if _chance(rng, style.manhole_prob):
        circles.append(_manhole(rng, img, X, Y, sc, info))
    return circles

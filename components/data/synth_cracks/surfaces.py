"""The road surface under everything: asphalt (binder and aggregate stones with relief), concrete
slabs with sawn joints, and wetness (darker, saturated, puddles and a sky sheen).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from components.data.synth_cracks.looks import ASPHALT
from components.data.synth_cracks.noise import _F32, _fbm, _grid, _line_coords, _smooth1d, _smooth_noise, _smoothstep
from components.data.synth_cracks.styles import CrackStyle, Range, _draw


def _asphalt(
    rng: np.random.Generator, h: int, w: int, sc: float, wear_range: Range = (0.0, 1.0)
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Asphalt albedo (HxWx3 float, ~0..1), stone height (HxW, 0..1) and relief shading factor (HxW)."""
    # 0: fresh, dark, stones coated; 1: worn, light grey, stones exposed
    worn = wear_range[0] + (wear_range[1] - wear_range[0]) * rng.random()
    binder = 0.15 + 0.19 * worn + rng.normal(0.0, 0.015)
    stone_lvl = binder + 0.03 + (0.04 + 0.10 * rng.random()) * (0.35 + worn)
    stone_spread = 0.07 + 0.10 * worn * rng.random()
    density = rng.uniform(1.0, 2.0) * (0.8 + 0.5 * worn)
    ids = _aggregate(rng, h, w, sc, density)
    stone = (ids > 0).astype(_F32)
    a = np.modf(ids * _F32(9973.13))[0]  # per-stone brightness (a hash of the stone id)
    t = np.modf(ids * _F32(7717.71))[0]  # per-stone tint class
    grain = cv2.GaussianBlur(rng.standard_normal((h, w), dtype=_F32), (0, 0), 0.6 * sc)
    # binder: dark, grainy, darker in the voids away from stones
    near = cv2.GaussianBlur(stone, (0, 0), 2.0 * sc)
    bind = binder * (0.8 + 0.3 * near) * (1.0 + 0.3 * grain)
    st = (stone_lvl + (a - 0.5) * stone_spread * 2.0) * (1.0 + 0.12 * grain)
    gray = np.where(stone > 0, st, bind)
    # pits / voids
    pits = np.zeros((h, w), _F32)
    n = int(ASPHALT.pit_density * h * w / (sc * sc))
    pits[rng.integers(0, h, n), rng.integers(0, w, n)] = rng.uniform(0.3, 0.8, n).astype(_F32)
    pits = cv2.GaussianBlur(cv2.dilate(pits, np.ones((2, 2), np.uint8)), (0, 0), 0.6 * sc)
    gray *= 1.0 - pits * (1.0 - stone)
    # relief shading from a stone height map
    hgt = cv2.GaussianBlur(stone * (0.6 + 0.4 * a), (0, 0), 0.9 * sc)
    gx = cv2.Sobel(hgt, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(hgt, cv2.CV_32F, 0, 1, ksize=3)
    la = rng.uniform(0, 2 * math.pi)
    shade = 1.0 - 0.55 * (math.cos(la) * gx + math.sin(la) * gy)
    gray *= shade
    # large-scale mottling (wear, dirt, moisture)
    gray *= 1.0 + 0.07 * _fbm(rng, h, w, 70 * sc, octaves=3)
    img = _asphalt_colour(rng, gray, stone, t, sc)
    return img, hgt / (float(hgt.max()) + 1e-6), shade


def _aggregate(rng: np.random.Generator, h: int, w: int, sc: float, density: float) -> np.ndarray:
    """Stone ids (HxW, 0 between stones): sparse random ids grown into blobs by grey dilation, one
    layer per size of :attr:`AsphaltLook.grading`, outlines warped to look irregular and angular."""
    ids = np.zeros((h, w), _F32)
    for r0, dens in ASPHALT.grading:
        r = r0 * sc * rng.uniform(*ASPHALT.stone_radius_jitter)
        n = int(dens * density * h * w / (sc * sc))
        if n == 0:
            continue
        layer = np.zeros((h, w), _F32)
        ys, xs = rng.integers(0, h, n), rng.integers(0, w, n)
        layer[ys, xs] = rng.uniform(0.02, 1.0, n).astype(_F32)
        k = max(1, round(2 * r) | 1)
        kl = max(1, round(1.3 * r) | 1)
        grown = cv2.dilate(layer, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
        # some stones elongated (half the impulses through each anisotropic kernel)
        sel = rng.random(n) < ASPHALT.elongated_share
        for kern in ((k, kl), (kl, k)):
            part = np.zeros((h, w), _F32)
            part[ys[sel], xs[sel]] = layer[ys[sel], xs[sel]]
            grown = np.maximum(
                grown,
                cv2.dilate(part, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, kern)),
            )
            sel = ~sel
        np.maximum(ids, grown, out=ids)
    # irregular, angular outlines: warp the id map with a small displacement field
    X, Y = _grid(h, w)
    amp = ASPHALT.outline_warp_px * sc
    mx = X + amp * _smooth_noise(rng, h, w, 3.0 * sc)
    my = Y + amp * _smooth_noise(rng, h, w, 3.0 * sc)
    return cv2.remap(ids, mx, my, cv2.INTER_NEAREST, borderMode=cv2.BORDER_REFLECT)


def _asphalt_colour(
    rng: np.random.Generator, gray: np.ndarray, stone: np.ndarray, t: np.ndarray, sc: float
) -> np.ndarray:
    """Colour of the grey asphalt: a global tint, per-stone warm/cool tints, faint large-scale variation."""
    h, w = gray.shape
    wb = rng.normal(0.01, 0.025)  # warm (brownish, >0) or cool (bluish, <0) cast, never green/magenta
    tint = np.array([1.0 + wb, 1.0 + 0.25 * wb, 1.0 - wb]) + rng.normal(0.0, 0.006, 3)
    warm = stone * ((t >= 0.55).astype(_F32) - 2.0 * (t >= 0.85)) * rng.uniform(0.04, 0.10)
    cvar = 0.015 * _smooth_noise(rng, h, w, 90 * sc)
    img = np.empty((h, w, 3), _F32)
    img[..., 0] = gray * (tint[0] + warm + cvar)
    img[..., 1] = gray * tint[1]
    img[..., 2] = gray * (tint[2] - warm - cvar)
    return img


def _concrete(
    rng: np.random.Generator, h: int, w: int, sc: float, tone: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Concrete slabs: light cement paste, sand speckle, broom striations, straight sawn joints.

    Returns the same (albedo, height, shading) triple as :func:`_asphalt`.
    """
    X, Y = _grid(h, w)
    speck = cv2.GaussianBlur(rng.standard_normal((h, w), dtype=_F32), (0, 0), 0.7 * sc)
    grit = np.zeros((h, w), _F32)  # fine exposed sand / small aggregate, darker or lighter dots
    n = int(0.02 * h * w / (sc * sc))
    grit[rng.integers(0, h, n), rng.integers(0, w, n)] = rng.uniform(-1.0, 1.0, n).astype(_F32)
    grit = cv2.GaussianBlur(cv2.dilate(grit, np.ones((2, 2), np.uint8)), (0, 0), 0.5 * sc)
    broom_ang = rng.normal(0.0, 0.04) + (math.pi / 2 if rng.random() < 0.5 else 0.0)
    _, across = _line_coords(X, Y, w / 2, h / 2, broom_ang)
    stri_n = int(2 * math.hypot(w, h)) + 8
    stri = _smooth1d(rng, stri_n, 0.8 * sc) + 0.5 * _smooth1d(rng, stri_n, 6.0 * sc)
    idx = np.clip((across + 0.4 * sc * _smooth_noise(rng, h, w, 20 * sc)) + stri_n / 2, 0, stri_n - 1)
    broom = stri[idx.astype(np.int32)].astype(_F32) * rng.uniform(0.0, 0.02)
    pores = np.zeros((h, w), _F32)  # air voids: small dark pits
    n = int(0.0015 * h * w / (sc * sc))
    pores[rng.integers(0, h, n), rng.integers(0, w, n)] = rng.uniform(0.3, 0.8, n).astype(_F32)
    pores = cv2.GaussianBlur(cv2.dilate(pores, np.ones((2, 2), np.uint8)), (0, 0), 0.6 * sc)
    gray = tone * (1.0 + 0.09 * speck + 0.16 * grit + broom) * (1.0 - pores)
    gray *= 1.0 + 0.08 * _fbm(rng, h, w, 80 * sc, octaves=3)  # curing / dirt mottling
    gray *= 1.0 - 0.07 * np.clip(_fbm(rng, h, w, 40 * sc, octaves=3) - 0.9, 0.0, 2.0)  # stains
    shade = np.ones((h, w), _F32)
    for axis_ang, p in ((0.0, 0.75), (math.pi / 2, 0.5)):  # transverse, longitudinal joint
        if rng.random() < p:
            gray *= _sawn_joint(rng, X, Y, sc, axis_ang, h, w)
    wb = rng.normal(0.01, 0.015)
    tint = np.array([1.0 + wb, 1.0, 0.96 - wb], _F32)
    img = gray[..., None] * tint
    hgt = np.clip(0.5 + 0.5 * grit, 0.0, 1.0)
    return img, hgt, shade


def _sawn_joint(rng, X, Y, sc: float, ang: float, h: int, w: int) -> np.ndarray:
    """Multiplicative factor of one straight contraction joint, with a tone step between the slabs."""
    ang += rng.normal(0.0, 0.02)
    cx, cy = rng.uniform(0.15, 0.85) * w, rng.uniform(0.15, 0.85) * h
    _, across = _line_coords(X, Y, cx, cy, ang)
    width = rng.uniform(3.0, 7.0) * sc
    spall = 0.8 * sc * np.abs(_smooth_noise(rng, h, w, 5 * sc))  # chipped joint edges
    groove = _smoothstep(-0.8 * sc, 0.8 * sc, width / 2 + spall - np.abs(across))
    step = 1.0 + rng.uniform(-0.08, 0.08) * _smoothstep(-1.0, 1.0, across)  # slabs differ in tone
    depth = rng.uniform(0.35, 0.65)
    return step * (1.0 - depth * groove)


def _surface(rng, h: int, w: int, sc: float, style: CrackStyle):
    """Albedo, height and shading of the road surface of ``style``."""
    if style.surface == "concrete":
        return _concrete(rng, h, w, sc, _draw(rng, style.surface_tone_range))
    if style.surface != "asphalt":
        raise ValueError(f"unknown surface kind {style.surface!r} (asphalt, concrete)")
    img, hgt, shade = _asphalt(rng, h, w, sc, style.wear_range)
    tone = _draw(rng, style.surface_tone_range)
    if tone != 1.0:
        img *= tone
    return img, hgt, shade


def _wet(rng, img, X, Y, sc, wetness: float, info) -> np.ndarray:
    """Darken and saturate the surface like water does; return a specular sheen map (added later)."""
    h, w = img.shape[:2]
    mean = img.mean(axis=2, keepdims=True)
    img[:] = (mean + 1.3 * (img - mean)) * (1.0 - 0.45 * wetness)
    # puddles: smooth, dark, mirror-like areas in the low spots
    puddle = _smoothstep(0.0, 0.9, _fbm(rng, h, w, 60 * sc, octaves=3) - rng.uniform(0.3, 1.2))
    img *= (1.0 - 0.35 * wetness * puddle)[..., None]
    # sheen: a broad glare from the sky / a low sun, brighter on the puddles
    la = rng.uniform(0, 2 * math.pi)
    xs, ys = (X - w / 2) / max(w, h), (Y - h / 2) / max(w, h)
    glare = np.exp(-((((xs * math.cos(la) + ys * math.sin(la)) - rng.uniform(0.0, 0.4)) / 0.25) ** 2))
    streak = np.clip(0.6 + 0.4 * _fbm(rng, h, w, 25 * sc, octaves=3), 0.0, 1.0)
    info.append("wet")
    return (wetness * glare * (0.08 * streak + 0.35 * puddle)).astype(_F32)

"""The camera model applied to the finished scene: uneven light, colour cast, glare (kept weak over
the markings), lens blur, sensor noise and a tone curve; float in, uint8 out.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from components.data.synth_resistors.raster import _c3, _grain, _tint
from components.data.synth_resistors.styles import _BASE, ResistorStyle, _pick


def _camera(rng: np.random.Generator, img: np.ndarray, protect: list, st: ResistorStyle = _BASE) -> np.ndarray:
    """Uneven light, colour cast, glare, lens blur, sensor noise and tone curve; float in, uint8 out.

    ``img`` is changed in place up to the blur; ``protect`` are the ROI boxes glare stays weak over.
    """
    _uneven_light(rng, img, st)
    _glare(rng, img, protect, st)
    img = _optics(rng, img, st)
    _sensor_noise(rng, img, st)
    # quantise, then a tone curve through a lookup table
    out = cv2.convertScaleAbs(np.maximum(img, 0, out=img))
    gamma = rng.uniform(*st.gamma)
    lut = np.clip(255.0 * (np.arange(256) / 255.0) ** gamma + 0.5, 0, 255).astype(np.uint8)
    return cv2.LUT(out, lut)


def _uneven_light(rng: np.random.Generator, img: np.ndarray, st: ResistorStyle) -> None:
    """A light gradient, vignetting, a broad soft hot spot, exposure and colour cast (in place)."""
    h, w = img.shape[:2]
    sh, sw = h // 8, w // 8
    ys, xs = np.mgrid[0:sh, 0:sw].astype(np.float32)
    xs = xs / sw - 0.5
    ys = ys / sh - 0.5
    ang = rng.uniform(0, 2 * math.pi)
    gain = 1 + rng.uniform(*st.light_gradient) * (xs * math.cos(ang) + ys * math.sin(ang))
    gain *= 1 - rng.uniform(*st.vignette) * (xs**2 + ys**2) * 2
    hx, hy = rng.uniform(-0.4, 0.4), rng.uniform(-0.4, 0.4)
    gain += rng.uniform(*st.hot_spot) * np.exp(-((xs - hx) ** 2 + (ys - hy) ** 2) / (2 * rng.uniform(0.1, 0.3) ** 2))
    gain *= rng.uniform(*st.exposure)
    cast = np.array([rng.uniform(*st.colour_cast), 1.0, rng.uniform(*st.colour_cast)], np.float32)
    img *= cv2.resize(_tint(gain, cast), (w, h), interpolation=cv2.INTER_LINEAR)


def _glare(rng: np.random.Generator, img: np.ndarray, protect: list, st: ResistorStyle) -> None:
    """Small bright specular spots (in place), kept weak over the markings so they stay readable."""
    h, w = img.shape[:2]
    for _ in range(int(_pick(rng, range(len(st.glare_weights)), st.glare_weights))):
        gx, gy = rng.uniform(0, w), rng.uniform(0, h)
        sx, sy = rng.uniform(0.01, 0.06) * w, rng.uniform(0.01, 0.06) * h
        amp = rng.uniform(*st.glare_amp)
        x0, x1 = int(max(0, gx - 3 * sx)), int(min(w, gx + 3 * sx + 1))
        y0, y1 = int(max(0, gy - 3 * sy)), int(min(h, gy + 3 * sy + 1))
        if x1 <= x0 or y1 <= y0:
            continue
        spot = (
            amp
            * np.exp(-((np.arange(y0, y1, dtype=np.float32)[:, None] - gy) ** 2) / (2 * sy**2))
            * np.exp(-((np.arange(x0, x1, dtype=np.float32)[None, :] - gx) ** 2) / (2 * sx**2))
        )
        for b in protect:
            bx0, by0, bx1, by1 = (int(v) for v in b)
            ix0, iy0, ix1, iy1 = max(bx0, x0), max(by0, y0), min(bx1, x1), min(by1, y1)
            if ix1 > ix0 and iy1 > iy0:
                spot[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0] *= 0.25
        img[y0:y1, x0:x1] += _c3(spot)


def _optics(rng: np.random.Generator, img: np.ndarray, st: ResistorStyle) -> np.ndarray:
    """Gaussian softness, sometimes a little defocus (disk) or motion (line) on top; a new image."""
    img = cv2.GaussianBlur(img, (0, 0), rng.uniform(*st.blur_sigma), borderType=cv2.BORDER_REFLECT)
    r = rng.random()
    if r < st.defocus_prob + st.motion_prob:
        if r < st.defocus_prob:  # defocus disk
            rad = rng.uniform(1.0, 2.4)
            n = 2 * math.ceil(rad) + 1
            yy, xx = np.mgrid[0:n, 0:n] - n // 2
            k = np.clip(rad + 0.5 - np.hypot(xx, yy), 0, 1).astype(np.float32)
        else:  # mild motion
            ln = rng.uniform(*st.motion_px)
            n = 2 * math.ceil(ln / 2) + 1
            k = np.zeros((n, n), np.float32)
            ma = rng.uniform(0, math.pi)
            p = np.array([math.cos(ma), math.sin(ma)]) * ln / 2
            c = n // 2
            cv2.line(k, (round(c - p[0]), round(c - p[1])), (round(c + p[0]), round(c + p[1])), 1.0, 1, cv2.LINE_AA)
        img = cv2.filter2D(img, -1, k / k.sum(), borderType=cv2.BORDER_REFLECT)
    return img


def _sensor_noise(rng: np.random.Generator, img: np.ndarray, st: ResistorStyle) -> None:
    """Signal-dependent luminance noise and coarser chroma noise (in place)."""
    h, w = img.shape[:2]
    read, shot = rng.uniform(*st.read_noise), rng.uniform(*st.shot_noise)
    sd = cv2.sqrt(np.maximum(cv2.extractChannel(img, 1), 0) * np.float32(shot) + np.float32(read**2))
    # demosaicing correlates noise over ~2 px: half-resolution noise upsampled plus a fine part
    coarse = cv2.resize(rng.standard_normal((h // 2, w // 2), dtype=np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    noise = coarse * np.float32(1.1) + _grain(rng, h, w) * np.float32(0.5)
    noise *= sd
    chroma = rng.standard_normal((h // 4, w // 4, 3), dtype=np.float32) * np.float32(rng.uniform(*st.chroma_noise))
    noise3 = cv2.resize(chroma, (w, h), interpolation=cv2.INTER_LINEAR)
    noise3 += _c3(noise)
    img += noise3

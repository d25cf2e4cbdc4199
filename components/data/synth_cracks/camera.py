"""Light and camera applied to the finished scene: light ramp, vignetting, exposure and colour of
the light, then blur, motion blur, sensor noise, tone curve and JPEG; linear float in, uint8 out.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from components.data.synth_cracks.noise import _F32
from components.data.synth_cracks.styles import CrackStyle


def _lighting(rng, img, X, Y, style: CrackStyle) -> None:
    """Light ramp across the frame, vignetting, exposure and light colour, in linear light (in place)."""
    h, w = img.shape[:2]
    la = rng.uniform(0, 2 * math.pi)
    g = rng.uniform(*style.light_gradient_range)
    vig = rng.uniform(*style.vignette_range)
    gain = float(np.exp(rng.normal(style.exposure_log_mean, style.exposure_log_std))) * 255.0
    xs, ys = (X - w / 2) / max(w, h), (Y - h / 2) / max(w, h)
    light = (1.0 + g * (xs * math.cos(la) + ys * math.sin(la))) * (1.0 - 2.0 * vig * (xs * xs + ys * ys)) * gain
    img *= light[..., None]
    if style.light_tint != (1.0, 1.0, 1.0):
        img *= np.array(style.light_tint, _F32)


def _camera(rng, img: np.ndarray, sc: float, style: CrackStyle) -> np.ndarray:
    """Optics (blur, motion blur), sensor noise, tone curve and JPEG: linear float image -> RGB uint8."""
    h, w = img.shape[:2]
    img = cv2.GaussianBlur(img, (0, 0), rng.uniform(*style.blur_sigma_range) * sc)
    if style.motion_blur_range[1] > 0:
        img = _motion_blur(img, rng.uniform(*style.motion_blur_range), rng.uniform(0, math.pi))
    sig = rng.uniform(*style.noise_range)
    img += (rng.standard_normal((h, w), dtype=_F32) * sig)[..., None]
    chroma = rng.standard_normal(((h + 1) // 2, (w + 1) // 2, 3), dtype=_F32) * (sig * 0.5)
    img += cv2.resize(chroma, (w, h), interpolation=cv2.INTER_LINEAR)
    np.clip(img, 0.0, 255.0, out=img)
    out = (img + 0.5).astype(np.uint8)
    gamma = rng.uniform(*style.gamma_range)  # tone curve as a lookup table
    lut = np.clip(255.0 * (np.arange(256) / 255.0) ** gamma + 0.5, 0, 255).astype(np.uint8)
    out = cv2.LUT(out, lut)
    if style.jpeg_quality_range[1] > 0:
        quality = round(rng.uniform(*style.jpeg_quality_range))
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(out, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise ValueError("JPEG encoding failed")
        out = cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return out


def _motion_blur(img: np.ndarray, length: float, angle: float) -> np.ndarray:
    """Linear motion blur of ``length`` px along ``angle`` (anti-aliased line kernel)."""
    k = math.ceil(length) | 1
    kern = np.zeros((k, k), _F32)
    c, dx, dy = k // 2, 0.5 * length * math.cos(angle), 0.5 * length * math.sin(angle)
    p0 = (round((c - dx) * 16), round((c - dy) * 16))
    p1 = (round((c + dx) * 16), round((c + dy) * 16))
    cv2.line(kern, p0, p1, 1.0, thickness=1, lineType=cv2.LINE_AA, shift=4)
    return cv2.filter2D(img, -1, kern / max(float(kern.sum()), 1e-6), borderType=cv2.BORDER_REFLECT)

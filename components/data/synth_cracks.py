"""Deterministic synthetic road-surface camera frames with cracks, in named style families
(docs/architecture.md#synthetic-data).

Every frame is rendered from its own ``numpy.random.Generator``; frame ``i`` of a dataset uses
``np.random.default_rng([seed, i])`` and family ``families[i % len(families)]``, so the output does
not depend on the number of workers.

A frame is built like a photo of a road surface seen from above:

* **surface** - asphalt: dark binder with fine grain and pits, aggregate stones of several sizes
  (grey-level and tint per stone, irregular shapes, relief shading), large-scale mottling; fresh
  (dark, low contrast) to worn (lighter, stones exposed). Or concrete: light cement paste with sand
  speckle, air voids, faint broom striations, mottling, straight sawn joints between slabs;
* **cracks** (annotated) - longitudinal, transverse, diagonal and meandering cracks drawn along random
  walks with smooth direction drift and stone-scale zig-zag, with branches forking off; alligator
  (fatigue) cracking as a network of polygon cells; width varying along the crack, darkness
  varying, ragged edges;
* **distractors** (never annotated) - lane paint (white/yellow, dashed, worn), tyre marks, oil
  stains, sealed joints (straight, wide, smooth sealant), asphalt patches, manhole covers, shadows
  (poles, trees, vehicles), wetness (darker saturated surface, puddles, specular sheen);
* **camera** - light ramp, colour of the light and vignetting, exposure and gamma, blur, motion
  blur, sensor noise, JPEG compression.

The annotation is the list of crack centre lines, exactly the polylines the cracks were drawn
along (clipped to the image, cut around manhole covers), one point every ~3 px.

**Style families.** A family is a named :class:`CrackStyle` preset: the probabilities and ranges of
everything above (surface kind and tone, crack width / darkness / branching / alligator share /
crack-free share, each distractor's probability, lighting, blur, noise, JPEG quality, frame scale).
Models trained on one style fail on frames from another, so training draws from several families
and some are held out entirely as an out-of-distribution (OOD) test set. ``FAMILIES``:

* ``default`` - the original mixed look (renders exactly as before families existed);
* ``fresh_asphalt`` - new dark binder, few narrow cracks, little fatigue cracking;
* ``worn_asphalt`` - grey, stones exposed, wide branched cracks, much alligator cracking, patches;
* ``concrete`` - light grey slabs with sawn joints, thinner cracks, no alligator cracking;
* ``sealed_joints_heavy`` - repaired road: many wide sealed joints and patches (crack look-alikes);
* ``painted_lanes`` - lane and road markings, often two, and tyre marks;
* ``shadowed`` - low sun: one or two hard deep shadows, strong light ramp, warm light;
* ``night_flash`` - night with a camera flash: dark, heavy vignetting, strong noise, lifted gamma;
* ``wet`` - after rain: darker saturated surface, puddles with sky sheen, water-filled cracks;
* ``phone_jpeg`` - hand-held phone: motion blur 3-9 px, JPEG quality 12-35, softer, noisier;
* ``hi_res`` - a high-resolution camera: the frame is 2.5x the requested size (960x720 for the
  384x288 base) with thin 1.5-3.5 px cracks; the pipeline resizes it to the model input.

``DEFAULT_TRAIN_FAMILIES`` are the asphalt families under daylight, wet and hi_res;
``DEFAULT_OOD_FAMILIES`` are ``concrete`` (another surface material), ``night_flash`` (another
illumination: flash, dark, noisy) and ``phone_jpeg`` (another camera: motion blur and compression).
Each differs *in kind* from everything in training, yet stays within what photometric, blur and
compression augmentation could bridge, so the OOD score measures generalisation rather than an
impossible task. ``hi_res`` is in training: real cameras differ in resolution and the pipeline
always resizes, so thin, downscaled cracks are a case the model must learn, not a style to test
transfer on (and holding it out would mostly measure the resize).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from components.data.crack_format import (
    ANNOTATIONS_DIR,
    IMAGES_DIR,
    PLINE_SUFFIX,
    rasterize,
    write_pline,
)
from components.data.families import write_families
from components.fanout import ClientSource, map_ordered
from components.io import atomic_write_bytes

BASE_WIDTH, BASE_HEIGHT = 384, 288
CRACK_FREE_PROB = 0.25  # of the default family
MIN_CRACK_WIDTH, MAX_CRACK_WIDTH = 2.0, 8.0  # of the default family

_F32 = np.float32

Range = tuple[float, float]


# ---------------------------------------------------------------------------------------- styles


@dataclass(frozen=True)
class CrackStyle:
    """Everything a family varies; probabilities are per frame, ranges are drawn uniformly per frame.

    The defaults are the original ("default") look, so a family lists only what it changes. A feature
    whose probability or range is zero draws nothing from the generator (the default family renders
    exactly as before families existed).
    """

    # surface
    surface: str = "asphalt"  # "asphalt" (binder + aggregate) or "concrete" (slabs with sawn joints)
    wear_range: Range = (0.0, 1.0)  # asphalt: 0 fresh, dark, stones coated; 1 worn, grey, stones exposed
    surface_tone_range: Range = (1.0, 1.0)  # albedo factor on the surface (concrete: its grey level)
    # cracks (annotated)
    crack_free_prob: float = CRACK_FREE_PROB
    crack_width_range: Range = (MIN_CRACK_WIDTH, MAX_CRACK_WIDTH)  # px, at the rendered frame size
    crack_darkness_range: Range = (0.8, 0.97)  # fraction of light removed in the crack core
    branch_rate: float = 1.3  # mean number of branches forking off a main crack
    alligator_prob: float = 0.18  # chance that the first crack pattern is alligator (fatigue) cracking
    extra_crack_probs: tuple[float, ...] = (0.35, 0.12)  # chances of a 2nd, 3rd... line crack
    # distractors (never annotated)
    patch_prob: float = 0.15
    sealed_joint_prob: float = 0.2
    extra_sealed_joint_prob: float = 0.0
    lane_paint_prob: float = 0.3
    extra_lane_paint_prob: float = 0.0
    tyre_mark_prob: float = 0.3
    oil_stain_probs: tuple[float, ...] = (0.2, 0.05)
    manhole_prob: float = 0.1
    shadow_prob: float = 0.3
    extra_shadow_prob: float = 0.0
    shadow_depth_range: Range = (0.3, 0.6)
    wetness_range: Range = (0.0, 0.0)  # darker, more saturated surface with specular sheen and puddles
    # light and camera
    light_gradient_range: Range = (0.0, 0.25)  # brightness ramp across the frame (low sun, flash)
    vignette_range: Range = (0.0, 0.25)
    exposure_log_mean: float = 0.15  # log gain: mean and spread
    exposure_log_std: float = 0.18
    light_tint: tuple[float, float, float] = (1.0, 1.0, 1.0)  # RGB colour of the light
    gamma_range: Range = (0.8, 1.05)
    blur_sigma_range: Range = (0.35, 0.9)  # optical blur, in base-frame px (scaled with the frame)
    motion_blur_range: Range = (0.0, 0.0)  # length in px of a linear motion blur
    noise_range: Range = (1.5, 5.0)  # sensor noise std, grey levels
    jpeg_quality_range: Range = (0.0, 0.0)  # (lo, hi) JPEG quality; 0 = no JPEG round trip
    frame_scale: float = 1.0  # the frame is rendered at this multiple of the requested size


FAMILIES: dict[str, CrackStyle] = {
    # the original mixed look: every surface wear, a bit of every distractor, a mild camera
    "default": CrackStyle(),
    # new, dark, uniform binder, few and narrow cracks, crisp picture
    "fresh_asphalt": CrackStyle(
        wear_range=(0.0, 0.25),
        crack_free_prob=0.35,
        crack_width_range=(2.0, 5.0),
        alligator_prob=0.05,
        branch_rate=0.8,
        patch_prob=0.05,
        lane_paint_prob=0.35,
    ),
    # old, grey, stones exposed; wide branched cracks and much fatigue cracking, patches
    "worn_asphalt": CrackStyle(
        wear_range=(0.65, 1.0),
        crack_free_prob=0.15,
        crack_width_range=(3.0, 10.0),
        alligator_prob=0.4,
        branch_rate=2.2,
        extra_crack_probs=(0.5, 0.25),
        patch_prob=0.35,
        oil_stain_probs=(0.3, 0.1),
    ),
    # light grey Portland-cement slabs with straight sawn joints (a different surface)
    "concrete": CrackStyle(
        surface="concrete",
        surface_tone_range=(0.42, 0.62),
        crack_width_range=(1.5, 6.0),
        crack_darkness_range=(0.65, 0.9),
        alligator_prob=0.0,
        branch_rate=0.9,
        sealed_joint_prob=0.0,
        tyre_mark_prob=0.35,
        manhole_prob=0.05,
        gamma_range=(0.9, 1.15),
    ),
    # repaired road: many wide sealed joints and patches that look like (but are not) cracks
    "sealed_joints_heavy": CrackStyle(
        wear_range=(0.3, 1.0),
        sealed_joint_prob=0.9,
        extra_sealed_joint_prob=0.5,
        patch_prob=0.45,
    ),
    # lane and road markings, tyre marks
    "painted_lanes": CrackStyle(
        lane_paint_prob=0.95,
        extra_lane_paint_prob=0.4,
        tyre_mark_prob=0.6,
    ),
    # low sun: hard, deep shadows, strong light ramp, warm light
    "shadowed": CrackStyle(
        shadow_prob=1.0,
        extra_shadow_prob=0.5,
        shadow_depth_range=(0.5, 0.75),
        light_gradient_range=(0.2, 0.5),
        light_tint=(1.08, 1.0, 0.86),
        exposure_log_mean=0.3,
    ),
    # night, camera flash: dark, heavy vignetting and ramp, strong sensor noise, lifted shadows
    "night_flash": CrackStyle(
        exposure_log_mean=-0.75,
        exposure_log_std=0.2,
        vignette_range=(0.5, 0.9),
        light_gradient_range=(0.1, 0.4),
        noise_range=(5.0, 11.0),
        gamma_range=(0.6, 0.8),
        light_tint=(1.0, 0.97, 0.9),
        shadow_prob=0.0,
        blur_sigma_range=(0.5, 1.1),
    ),
    # after rain: darker, saturated surface, specular sheen and puddles; cracks hold water
    "wet": CrackStyle(
        wetness_range=(0.5, 1.0),
        crack_darkness_range=(0.85, 0.98),
        exposure_log_mean=0.05,
        shadow_prob=0.15,
    ),
    # hand-held phone: motion blur, strong JPEG compression, softer and noisier
    "phone_jpeg": CrackStyle(
        motion_blur_range=(3.0, 9.0),
        jpeg_quality_range=(12.0, 35.0),
        blur_sigma_range=(0.5, 1.2),
        noise_range=(3.0, 7.0),
        gamma_range=(0.75, 0.95),
    ),
    # high-resolution camera: a frame 2.5x the requested size with thin (1-3.5 px) cracks
    "hi_res": CrackStyle(
        frame_scale=2.5,
        crack_width_range=(1.5, 3.5),
        crack_darkness_range=(0.8, 0.97),
    ),
}

DEFAULT_FAMILY = "default"
DEFAULT_TRAIN_FAMILIES: tuple[str, ...] = (
    "default",
    "fresh_asphalt",
    "worn_asphalt",
    "sealed_joints_heavy",
    "painted_lanes",
    "shadowed",
    "wet",
    "hi_res",
)
DEFAULT_OOD_FAMILIES: tuple[str, ...] = ("concrete", "night_flash", "phone_jpeg")


def get_style(family: str) -> CrackStyle:
    """The preset of a family; ``ValueError`` naming the known ones for an unknown name."""
    check_families([family])
    return FAMILIES[family]


def check_families(families: Sequence[str]) -> None:
    unknown = sorted({f for f in families if f not in FAMILIES})
    if unknown:
        raise ValueError(f"unknown crack style families {unknown}; known: {sorted(FAMILIES)}")


def _draw(rng: np.random.Generator, rng_range: Range) -> float:
    """A uniform draw from ``rng_range``; a degenerate range draws nothing (keeps other draws aligned)."""
    lo, hi = rng_range
    return float(lo) if lo == hi else float(rng.uniform(lo, hi))


def _chance(rng: np.random.Generator, p: float) -> bool:
    """True with probability ``p``; ``p == 0`` draws nothing."""
    return p > 0 and bool(rng.random() < p)


# ----------------------------------------------------------------------------------------- noise


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cell: float) -> np.ndarray:
    """Band-limited noise (std ~0.6): a Gaussian grid of spacing ``cell`` px, bicubically upsampled."""
    cell = max(float(cell), 1.0)
    if cell >= 12:  # coarse noise: render at low resolution, upsample linearly (much faster)
        f = int(cell // 6)
        small = _smooth_noise(rng, h // f + 2, w // f + 2, cell / f)
        return cv2.resize(small, ((w // f + 2) * f, (h // f + 2) * f), interpolation=cv2.INTER_LINEAR)[:h, :w]
    gh, gw = math.ceil(h / cell) + 1, math.ceil(w / cell) + 1
    grid = rng.standard_normal((gh, gw), dtype=_F32)
    uh, uw = max(h, round(gh * cell)), max(w, round(gw * cell))
    interp = cv2.INTER_CUBIC if cell >= 4 else cv2.INTER_LINEAR
    up = cv2.resize(grid, (uw, uh), interpolation=interp)
    oy = int(rng.integers(0, uh - h + 1))
    ox = int(rng.integers(0, uw - w + 1))
    return up[oy : oy + h, ox : ox + w]


def _fbm(
    rng: np.random.Generator,
    h: int,
    w: int,
    cell: float,
    octaves: int = 4,
    gain: float = 0.5,
) -> np.ndarray:
    """Fractal noise with unit standard deviation; ``cell`` is the coarsest feature size in px."""
    total = np.zeros((h, w), _F32)
    amp = 1.0
    for o in range(octaves):
        total += amp * _smooth_noise(rng, h, w, cell / 2**o)
        amp *= gain
    return total / (float(total.std()) + 1e-6)


def _smooth1d(rng: np.random.Generator, n: int, sigma: float) -> np.ndarray:
    """Smooth 1-D noise of length ``n`` with unit standard deviation (Gaussian-filtered white noise)."""
    sigma = max(sigma, 0.5)
    rad = int(3 * sigma)
    white = rng.standard_normal(n + 2 * rad)
    k = np.exp(-0.5 * (np.arange(-rad, rad + 1) / sigma) ** 2)
    out = np.convolve(white, k / np.sqrt((k**2).sum()), mode="valid")
    return out[:n]


def _smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    return np.arange(w, dtype=_F32)[None, :], np.arange(h, dtype=_F32)[:, None]


def _line_coords(X, Y, cx: float, cy: float, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """(along, across) coordinates of every pixel relative to a line through (cx, cy) at ``angle``."""
    c, s = math.cos(angle), math.sin(angle)
    along = (X - cx) * c + (Y - cy) * s
    across = -(X - cx) * s + (Y - cy) * c
    return along, across


# --------------------------------------------------------------------------------------- asphalt


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

    # aggregate: sparse random "stone ids" grown into blobs by grey dilation, several sizes
    ids = np.zeros((h, w), _F32)
    for r0, dens in (
        (0.8, 0.030),
        (1.4, 0.011),
        (2.3, 0.0040),
        (3.6, 0.0014),
        (5.5, 0.00045),
    ):
        r = r0 * sc * rng.uniform(0.85, 1.2)
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
        sel = rng.random(n) < 0.5
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
    amp = 1.8 * sc
    mx = X + amp * _smooth_noise(rng, h, w, 3.0 * sc)
    my = Y + amp * _smooth_noise(rng, h, w, 3.0 * sc)
    ids = cv2.remap(ids, mx, my, cv2.INTER_NEAREST, borderMode=cv2.BORDER_REFLECT)

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
    n = int(0.004 * h * w / (sc * sc))
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

    # colour: global tint, per-stone warm/cool tints, faint large-scale colour variation
    wb = rng.normal(0.01, 0.025)  # warm (brownish, >0) or cool (bluish, <0) cast, never green/magenta
    tint = np.array([1.0 + wb, 1.0 + 0.25 * wb, 1.0 - wb]) + rng.normal(0.0, 0.006, 3)
    warm = stone * ((t >= 0.55).astype(_F32) - 2.0 * (t >= 0.85)) * rng.uniform(0.04, 0.10)
    cvar = 0.015 * _smooth_noise(rng, h, w, 90 * sc)
    img = np.empty((h, w, 3), _F32)
    img[..., 0] = gray * (tint[0] + warm + cvar)
    img[..., 1] = gray * tint[1]
    img[..., 2] = gray * (tint[2] - warm - cvar)
    return img, hgt / (float(hgt.max()) + 1e-6), shade


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


# ------------------------------------------------------------------------------------ distractors


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
    h, w = img.shape[:2]
    R = rng.uniform(50, 100) * sc
    cx = rng.uniform(-0.3 * R, w + 0.3 * R)
    cy = rng.uniform(-0.3 * R, h + 0.3 * R)
    fw = rng.uniform(3.5, 6.5) * sc  # frame width
    cw = rng.uniform(6, 16) * sc if rng.random() < 0.6 else 0.0  # concrete collar
    dx, dy = X - cx, Y - cy
    r = np.sqrt(dx * dx + dy * dy)
    th = np.arctan2(dy, dx)
    p = rng.uniform(7, 11) * sc
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
    hm = cv2.GaussianBlur(pat, (0, 0), 0.8 * sc)
    la = rng.uniform(0, 2 * math.pi)
    gx = cv2.Sobel(hm, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(hm, cv2.CV_32F, 0, 1, ksize=3)
    shading = 1.0 - 0.9 * (math.cos(la) * gx + math.sin(la) * gy) + 0.15 * hm
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


# ---------------------------------------------------------------------------------------- cracks


def _walk(rng, start, heading: float, length: float, step: float, wander: float, curl: float) -> np.ndarray:
    """Points of a crack walk from ``start``: smooth direction drift plus stone-scale zig-zag."""
    n = max(2, int(length / step))
    th = (
        heading
        + wander * _smooth1d(rng, n, 10.0)
        + curl * 0.035 * np.cumsum(rng.standard_normal(n))
        + 0.35 * _smooth1d(rng, n, 1.5)
        + rng.normal(0.0, 0.22, n)
    )
    lens = step * rng.uniform(0.7, 1.3, n)
    d = np.stack([np.cos(th) * lens, np.sin(th) * lens], axis=1)
    return np.vstack([np.asarray(start, np.float64)[None, :], start + np.cumsum(d, axis=0)])


def _crack_through(rng, start, heading, length, step, wander, curl) -> np.ndarray:
    """A crack that runs from ``start`` in both directions (total ``length``)."""
    f = rng.uniform(0.3, 0.7)
    fwd = _walk(rng, start, heading, length * f, step, wander, curl)
    back = _walk(rng, start, heading + math.pi, length * (1 - f), step, wander, curl)
    return np.vstack([back[::-1], fwd[1:]])


def _add_branches(rng, cracks, pts, base_w, dark, step, style: CrackStyle, depth: int = 0):
    n = len(pts)
    if n < 12:
        return
    main_len = n * step
    rate = style.branch_rate if depth == 0 else 0.5 * style.branch_rate / 1.3
    for _ in range(min(int(rng.poisson(rate)), 4)):
        k = int(rng.integers(int(0.1 * n), int(0.9 * n)))
        k0, k1 = max(0, k - 2), min(n - 1, k + 2)
        local = math.atan2(pts[k1, 1] - pts[k0, 1], pts[k1, 0] - pts[k0, 0])
        ang = local + (1 if rng.random() < 0.5 else -1) * rng.uniform(0.35, 1.2)
        blen = main_len * rng.uniform(0.12, 0.45)
        bpts = _walk(rng, pts[k], ang, blen, step, 0.3, 0.8)
        bw = max(style.crack_width_range[0], base_w * rng.uniform(0.45, 0.85))
        cracks.append((bpts, bw, dark * rng.uniform(0.8, 1.0), False))
        if depth == 0 and rng.random() < 0.35:
            _add_branches(rng, cracks, bpts, bw, dark, step, style, depth + 1)


def _crack_width(rng, style: CrackStyle) -> float:
    lo, hi = style.crack_width_range
    return lo + (hi - lo) * float(rng.beta(1.6, 2.4))


def _free_point(rng, w: int, h: int, circles, lo: float = 0.15, hi: float = 0.85) -> tuple[float, float]:
    """A random point in the central part of the frame, outside the manhole covers if possible."""
    for _ in range(20):
        x, y = rng.uniform(lo, hi) * w, rng.uniform(lo, hi) * h
        if all(math.hypot(x - cx, y - cy) > r for cx, cy, r in circles):
            break
    return x, y


def _line_crack(rng, cracks, kind: str, w: int, h: int, sc: float, step: float, style: CrackStyle, circles=()):
    if kind == "longitudinal":
        heading = math.pi / 2 + rng.normal(0.0, 0.12)
        length, wander, curl = rng.uniform(0.6, 1.6) * h, 0.18, 0.4
    elif kind == "transverse":
        heading = rng.normal(0.0, 0.12)
        length, wander, curl = rng.uniform(0.6, 1.5) * w, 0.18, 0.4
    elif kind == "diagonal":
        heading = rng.choice([-1, 1]) * rng.uniform(0.4, 1.15)
        length, wander, curl = rng.uniform(0.6, 1.4) * math.hypot(w, h) * 0.7, 0.25, 0.6
    else:  # meandering (block / random cracking)
        heading = rng.uniform(0, 2 * math.pi)
        length, wander, curl = rng.uniform(0.4, 1.1) * math.hypot(w, h) * 0.6, 0.45, 1.6
    start = _free_point(rng, w, h, circles)
    pts = _crack_through(rng, start, heading, length, step, wander, curl)
    bw, dark = _crack_width(rng, style), rng.uniform(*style.crack_darkness_range)
    cracks.append((pts, bw, dark, True))
    _add_branches(rng, cracks, pts, bw, dark, step, style)


def _alligator(rng, cracks, w: int, h: int, sc: float, step: float, style: CrackStyle, circles=()):
    """Fatigue cracking: a jittered lattice of nodes inside a blob, edges drawn as wobbly cracks."""
    cx, cy = _free_point(rng, w, h, circles, 0.2, 0.8)
    rx, ry = rng.uniform(0.25, 0.55) * w, rng.uniform(0.25, 0.6) * h
    cell = rng.uniform(28, 50) * sc
    rot = rng.uniform(0, math.pi)
    half = max(rx, ry) * 1.2
    m = int(2 * half / cell) + 2
    gi, gj = np.meshgrid(np.arange(m), np.arange(m), indexing="ij")
    off = (gi % 2) * 0.5 * rng.uniform(0.0, 1.0)  # brick-like offset of alternate rows
    lx = (gj + off) * cell - half + rng.normal(0, 0.16 * cell, gj.shape)
    ly = gi * cell * rng.uniform(0.8, 1.2) - half + rng.normal(0, 0.16 * cell, gi.shape)
    c, s = math.cos(rot), math.sin(rot)
    nx, ny = cx + c * lx - s * ly, cy + s * lx + c * ly
    ang = np.arctan2(ny - cy, nx - cx)
    rad = np.hypot((nx - cx) / rx, (ny - cy) / ry)
    edge = 1.0 + 0.25 * np.sin(3 * ang + rng.uniform(0, 6.3)) + 0.15 * np.sin(5 * ang + rng.uniform(0, 6.3))
    inside = rad < edge
    lo, hi = style.crack_width_range
    bw = rng.uniform(lo, min(hi, lo + 2.0))
    dk_lo, dk_hi = style.crack_darkness_range
    dark = rng.uniform(dk_lo, dk_hi - 0.01)
    for i in range(m):
        for j in range(m):
            if not inside[i, j]:
                continue
            nbrs = []
            if j + 1 < m:
                nbrs.append((i, j + 1))
            if i + 1 < m:
                nbrs.append((i + 1, j) if rng.random() < 0.75 else (i + 1, min(m - 1, j + 1)))
                if rng.random() < 0.1:
                    nbrs.append((i + 1, max(0, j - 1)))
            for a, b in nbrs:
                if not inside[a, b] or rng.random() < 0.1:
                    continue
                p0, p1 = np.array([nx[i, j], ny[i, j]]), np.array([nx[a, b], ny[a, b]])
                L = float(np.hypot(*(p1 - p0)))
                if 2 * step > L:
                    continue
                k = max(2, int(L / step))
                tt = np.linspace(0.0, 1.0, k + 1)
                perp = np.array([-(p1 - p0)[1], (p1 - p0)[0]]) / L
                wob = 0.03 * L * _smooth1d(rng, k + 1, 3.0) * np.sin(np.pi * tt) + 1.1 * sc * _smooth1d(
                    rng, k + 1, 0.8
                ) * np.sqrt(np.sin(np.pi * tt))
                pts = p0[None, :] + tt[:, None] * (p1 - p0)[None, :] + wob[:, None] * perp[None, :]
                cracks.append(
                    (
                        pts,
                        bw * rng.uniform(0.8, 1.2),
                        dark * rng.uniform(0.85, 1.1),
                        False,
                    )
                )


def _clip_segment(p: np.ndarray, q: np.ndarray, xmax: float, ymax: float) -> tuple[float, float] | None:
    """Liang-Barsky: the parameter range [t0, t1] of segment p->q inside [0, xmax] x [0, ymax]."""
    t0, t1 = 0.0, 1.0
    d = q - p
    for pk, qk in (
        (-d[0], p[0]),
        (d[0], xmax - p[0]),
        (-d[1], p[1]),
        (d[1], ymax - p[1]),
    ):
        if pk == 0:
            if qk < 0:
                return None
            continue
        r = qk / pk
        if pk < 0:
            t0 = max(t0, r)
        else:
            t1 = min(t1, r)
        if t0 > t1:
            return None
    return t0, t1


def _clip_polyline(pts: np.ndarray, w: int, h: int) -> list[np.ndarray]:
    """Pieces of an open polyline inside the image [0, w-1] x [0, h-1] (exact at the borders)."""
    xmax, ymax = w - 1.0, h - 1.0
    inside = (pts[:, 0] >= 0) & (pts[:, 0] <= xmax) & (pts[:, 1] >= 0) & (pts[:, 1] <= ymax)
    if inside.all():
        return [pts]
    pieces, cur = [], []
    for i in range(len(pts) - 1):
        p, q = pts[i], pts[i + 1]
        if inside[i] and inside[i + 1]:
            if not cur:
                cur.append(p)
            cur.append(q)
            continue
        seg = _clip_segment(p, q, xmax, ymax)
        if seg is None:
            continue
        a, b = p + seg[0] * (q - p), p + seg[1] * (q - p)
        if not cur:
            cur.append(a)
        cur.append(b)
        if not inside[i + 1]:  # leaving
            pieces.append(np.array(cur))
            cur = []
    if cur:
        pieces.append(np.array(cur))
    return [np.clip(pc, [0, 0], [xmax, ymax]) for pc in pieces if len(pc) >= 2]


def _cut_circles(pts: np.ndarray, circles: list[tuple[float, float, float]]) -> list[np.ndarray]:
    if not circles:
        return [pts]
    keep = np.ones(len(pts), bool)
    for cx, cy, r in circles:
        keep &= np.hypot(pts[:, 0] - cx, pts[:, 1] - cy) > r
    if keep.all():
        return [pts]
    pieces, start = [], None
    for i, k in enumerate(np.append(keep, False)):
        if k and start is None:
            start = i
        elif not k and start is not None:
            pieces.append(pts[start:i])
            start = None
    return [p for p in pieces if len(p) >= 2]


def _draw_cracks(rng, items, h: int, w: int, sc: float, style: CrackStyle) -> np.ndarray:
    """Crack darkening map in [0, 1] (fraction of light removed) for (points, base width, darkness, taper)."""
    canvas = np.zeros((h, w), np.uint8)

    def on_border(
        p: np.ndarray,
    ) -> bool:  # a crack end cut by the image border is not a tip
        return p[0] <= 0.5 or p[1] <= 0.5 or p[0] >= w - 1.5 or p[1] >= h - 1.5

    for pts, bw, dark, taper_start in items:
        n = len(pts)
        wid = bw * (0.8 + 0.22 * _smooth1d(rng, n, 5.0)) + 0.4 * rng.standard_normal(n)
        ramp = min(8, max(1, n // 3))
        t = np.ones(n)
        if taper_start and not on_border(pts[0]):
            t[:ramp] = np.minimum(t[:ramp], np.linspace(0.4, 1.0, ramp))
        if not on_border(pts[-1]):
            t[n - ramp :] = np.minimum(t[n - ramp :], np.linspace(1.0, 0.4, ramp))
        wid = np.clip(wid * t, *style.crack_width_range)
        dk = np.clip(dark * (0.92 + 0.1 * _smooth1d(rng, n, 8.0)) * (0.75 + 0.25 * t), 0.3, 0.98)
        p16 = np.round(pts * 16).astype(np.int32)
        wi = np.round(0.5 * (wid[:-1] + wid[1:])).astype(int)
        vi = np.round(255 * 0.5 * (dk[:-1] + dk[1:])).astype(int)
        for i in range(n - 1):
            cv2.line(
                canvas,
                (int(p16[i, 0]), int(p16[i, 1])),
                (int(p16[i + 1, 0]), int(p16[i + 1, 1])),
                int(vi[i]),
                thickness=int(wi[i]),
                lineType=cv2.LINE_AA,
                shift=4,
            )
    core = canvas.astype(_F32) / 255.0
    # ragged edges: chipped asphalt along the crack lips
    fine = _smooth_noise(rng, h, w, 1.6 * sc)
    lips = cv2.dilate(core, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    dmap = np.maximum(core, lips * 0.85 * (fine > 0.35))
    dmap *= 0.88 + 0.12 * np.clip(fine + 0.5, 0.0, 1.0)  # debris / texture inside the crack
    halo = cv2.GaussianBlur(core, (0, 0), 1.6 * sc) * 0.3  # shallow depression beside the crack
    return np.maximum(cv2.GaussianBlur(dmap, (0, 0), 0.45 * sc), halo)


# ---------------------------------------------------------------------------------------- frame


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


def _crack_items(rng, w: int, h: int, sc: float, style: CrackStyle, circles) -> list:
    """The cracks of one frame, clipped to it and cut around manholes: (points, width, darkness, taper)."""
    step = 3.0 * max(1.0, sc**0.5)
    cracks: list = []
    kinds = ["longitudinal", "transverse", "diagonal", "meander", "alligator"]
    a = style.alligator_prob
    p = [q * (1.0 - a) / 0.82 for q in (0.27, 0.22, 0.18, 0.15)] + [a]
    first = rng.choice(kinds, p=p)
    if first == "alligator":
        _alligator(rng, cracks, w, h, sc, step, style, circles)
        if rng.random() < 0.5:
            _line_crack(rng, cracks, "longitudinal", w, h, sc, step, style, circles)
    else:
        _line_crack(rng, cracks, first, w, h, sc, step, style, circles)
    for p_extra in style.extra_crack_probs:
        if _chance(rng, p_extra):
            _line_crack(rng, cracks, rng.choice(kinds[:4]), w, h, sc, step, style, circles)
    items = []
    for pts, bw, dark, taper_start in cracks:
        for piece in _clip_polyline(pts, w, h):
            for sub in _cut_circles(piece, circles):
                if float(np.hypot(*np.diff(sub, axis=0).T).sum()) >= 3.0:
                    items.append((sub, bw, dark, taper_start and sub is pts))
    return items


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


def _render(
    rng: np.random.Generator,
    width: int = BASE_WIDTH,
    height: int = BASE_HEIGHT,
    style: CrackStyle | None = None,
) -> tuple[np.ndarray, list[np.ndarray], dict]:
    """Render one frame; returns (RGB uint8, polylines, debug info with the crack darkening map).

    The frame is ``style.frame_scale`` times ``width`` x ``height``.
    """
    style = FAMILIES[DEFAULT_FAMILY] if style is None else style
    w, h = round(int(width) * style.frame_scale), round(int(height) * style.frame_scale)
    if w < 32 or h < 32:
        raise ValueError(f"frame size {w}x{h} is too small (min 32x32)")
    has_crack = rng.random() >= style.crack_free_prob
    sc = math.sqrt(w * h / (BASE_WIDTH * BASE_HEIGHT))
    X, Y = _grid(h, w)
    img, hgt, shade = _surface(rng, h, w, sc, style)
    info: list[str] = []
    circles = _distractors(rng, img, X, Y, sc, hgt, shade, style, info)
    wetness = _draw(rng, style.wetness_range)
    sheen = _wet(rng, img, X, Y, sc, wetness, info) if wetness > 0 else None

    items = _crack_items(rng, w, h, sc, style, circles) if has_crack else []
    polylines = [it[0] for it in items]
    dmap = np.zeros((h, w), _F32)
    if items:
        dmap = _draw_cracks(rng, items, h, w, sc, style)
        img *= (1.0 - dmap)[..., None]
    if sheen is not None:
        img += (sheen * (1.0 - dmap))[..., None] * np.array([0.94, 1.0, 1.1], _F32)  # sky colour
    if _chance(rng, style.shadow_prob):
        _shadow(rng, img, X, Y, sc, info, style.shadow_depth_range)
        if _chance(rng, style.extra_shadow_prob):
            _shadow(rng, img, X, Y, sc, info, style.shadow_depth_range)
    _lighting(rng, img, X, Y, style)
    out = _camera(rng, img, sc, style)
    return out, polylines, {"crack_dark": dmap, "distractors": info, "has_crack": has_crack}


def render_crack_frame(
    seed: int | Sequence[int],
    width: int = BASE_WIDTH,
    height: int = BASE_HEIGHT,
    family: str = DEFAULT_FAMILY,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """One RGB uint8 frame and its crack centre polylines ((N, 2) float x, y) in style ``family``.

    ``seed`` is anything ``np.random.default_rng`` accepts (``[seed, i]`` for frame i of a dataset);
    the polyline list is empty for a crack-free frame. The frame is ``height x width x 3`` except for
    a family with ``frame_scale != 1`` (``hi_res``), whose frames are that many times larger.
    """
    img, polylines, _ = _render(np.random.default_rng(seed), width, height, get_style(family))
    return img, polylines


# -------------------------------------------------------------------------------------- dataset


def _write_one(args: tuple[str, int, int, int, int, str]) -> str:
    out_dir, seed, i, width, height, family = args
    name = f"crack_{i:06d}"
    img, polylines = render_crack_frame([seed, i], width, height, family)
    ok, buf = cv2.imencode(".png", cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError(f"{name}: PNG encoding failed")
    root = Path(out_dir)
    atomic_write_bytes(root / IMAGES_DIR / f"{name}.png", buf.tobytes())
    write_pline(polylines, root / ANNOTATIONS_DIR / f"{name}{PLINE_SUFFIX}")
    return name


#: Below this many frames a cluster's start-up costs more than it saves (docs/operations.md#fan-out-on-dask).
MIN_FANOUT_FRAMES = 200


def generate_crack_dataset(
    out_dir: Path,
    num_frames: int,
    seed: int,
    workers: int = 2,
    width: int = BASE_WIDTH,
    height: int = BASE_HEIGHT,
    families: Sequence[str] | None = None,
    progress: bool = True,
    client: ClientSource | None = None,
) -> list[str]:
    """Write ``num_frames`` frames in the canonical crack format under ``out_dir``; return their names.

    Frame i is rendered from ``np.random.default_rng([seed, i])`` in family ``families[i % len(families)]``
    (``None``: :data:`DEFAULT_TRAIN_FAMILIES`), so the files are identical for any number of workers and
    on any cluster (``client``, ``components.fanout``; fewer than :data:`MIN_FANOUT_FRAMES` frames are drawn
    in this process).
    ``families.csv`` (name, family) is written at ``out_dir``. Images and annotations are written
    atomically; frames of a ``frame_scale`` family are written at their larger size.
    """
    if num_frames < 0:
        raise ValueError(f"num_frames must be >= 0, got {num_frames}")
    fams = tuple(DEFAULT_TRAIN_FAMILIES if families is None else families)
    if not fams:
        raise ValueError("families must name at least one family")
    check_families(fams)
    out_dir = Path(out_dir)
    (out_dir / IMAGES_DIR).mkdir(parents=True, exist_ok=True)
    (out_dir / ANNOTATIONS_DIR).mkdir(parents=True, exist_ok=True)
    jobs = [(str(out_dir), int(seed), i, int(width), int(height), fams[i % len(fams)]) for i in range(num_frames)]
    names = list(
        map_ordered(
            _write_one,
            jobs,
            workers,
            client=client,
            min_jobs=MIN_FANOUT_FRAMES,
            desc="synthetic cracks",
            progress=progress,
        )
    )
    write_families(out_dir, [(name, job[5]) for name, job in zip(names, jobs)])
    return names


# ---------------------------------------------------------------------------------- contact sheet


def overlay_mask(image: np.ndarray, mask: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """The image with the {0, 1} mask blended in semi-transparent red."""
    out = image.astype(_F32)
    m = mask.astype(bool)
    out[m] = (1 - alpha) * out[m] + alpha * np.array([255.0, 0.0, 0.0], _F32)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _labelled_row(label: str, images: list[np.ndarray], thumb_width: int) -> np.ndarray:
    """One contact-sheet row: the family name in a white strip, then the thumbnails."""
    from components.data.contact_sheet import contact_sheet

    row = contact_sheet(images, cols=len(images), thumb_width=thumb_width)
    strip = np.full((26, row.shape[1], 3), 255, np.uint8)
    cv2.putText(strip, label, (6, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([strip, row])


def family_sheets(
    families: Sequence[str] = tuple(FAMILIES), per_family: int = 4, seed: int = 0, thumb_width: int = 208
) -> tuple[np.ndarray, np.ndarray]:
    """Contact sheets (frames, frames with the 5-px mask in red): one labelled row per family.

    The thumbnails show the whole frame (a ``hi_res`` frame is downscaled like the pipeline does).
    """
    rows, mask_rows = [], []
    for fam in families:
        frames, overlays = [], []
        for i in range(per_family):
            img, lines = render_crack_frame([seed, i], family=fam)
            thick = max(5, round(5 * img.shape[1] / BASE_WIDTH))
            frames.append(img)
            overlays.append(overlay_mask(img, rasterize(lines, img.shape[0], img.shape[1], thickness=thick)))
        split = "train" if fam in DEFAULT_TRAIN_FAMILIES else "OOD" if fam in DEFAULT_OOD_FAMILIES else "-"
        label = f"{fam} ({split})"
        rows.append(_labelled_row(label, frames, thumb_width))
        mask_rows.append(_labelled_row(label, overlays, thumb_width))
    return np.vstack(rows), np.vstack(mask_rows)


def _save_small_png(image_rgb: np.ndarray, path: Path) -> None:
    """Save as a 256-colour palette PNG (a third of the RGB size; fine for judging the look)."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image_rgb).quantize(256, method=Image.Quantize.FASTOCTREE).save(buf, "PNG", optimize=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, buf.getvalue())


def main() -> None:
    from components.data.contact_sheet import contact_sheet, save_png

    frames, overlays = [], []
    for i in range(16):
        img, polylines = render_crack_frame([0, i])
        frames.append(img)
        overlays.append(overlay_mask(img, rasterize(polylines, img.shape[0], img.shape[1], thickness=5)))
    docs = Path(__file__).resolve().parents[2] / "docs"
    save_png(contact_sheet(frames, cols=4, thumb_width=384), docs / "synthetic_cracks.png")
    save_png(contact_sheet(overlays, cols=4, thumb_width=384), docs / "synthetic_cracks_masks.png")
    sheet, masks = family_sheets()
    _save_small_png(sheet, docs / "synth" / "crack_families.png")
    _save_small_png(masks, docs / "synth" / "crack_families_masks.png")
    print(f"wrote {docs}/synthetic_cracks*.png and {docs}/synth/crack_families*.png")


if __name__ == "__main__":
    main()

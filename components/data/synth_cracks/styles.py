"""Style families of the crack generator: one frozen :class:`CrackStyle` preset per name.

Every probability and range a frame is drawn from that differs between looks (surface, cracks,
distractors, light, camera) is a field here, so a new family is a new preset, not a code change.
:func:`_draw` and :func:`_chance` draw nothing for a degenerate range or a zero probability, which
is what keeps the ``default`` family rendering exactly as before families existed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

BASE_WIDTH, BASE_HEIGHT = 384, 288


CRACK_FREE_PROB = 0.25  # of the default family


MIN_CRACK_WIDTH, MAX_CRACK_WIDTH = 2.0, 8.0  # of the default family


Range = tuple[float, float]


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

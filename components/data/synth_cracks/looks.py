"""The fixed look of the crack generator: sizes and probabilities every style family shares.

:mod:`.styles` holds what a *family* varies (one :class:`~.styles.CrackStyle` per name); this module
names the numbers of the road's materials and objects that no family changes, one frozen preset per
thing drawn, so they are found in one place instead of inside long functions.

Sizes are in px of the 384x288 base frame (times the frame's scale ``sc``); ``(lo, hi)`` pairs are
uniform ranges. Changing a value changes every dataset generated afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass

Range = tuple[float, float]


@dataclass(frozen=True)
class AsphaltLook:
    """Asphalt (:mod:`.surfaces`): aggregate stones in a dark binder, with pits."""

    # (stone radius px, stones per px^2 at density 1): the grading of the aggregate, fine to coarse
    grading: tuple[tuple[float, float], ...] = (
        (0.8, 0.030),
        (1.4, 0.011),
        (2.3, 0.0040),
        (3.6, 0.0014),
        (5.5, 0.00045),
    )
    stone_radius_jitter: Range = (0.85, 1.2)  # per size class and frame
    elongated_share: float = 0.5  # stones grown through an anisotropic kernel
    outline_warp_px: float = 1.8  # irregular, angular stone outlines
    pit_density: float = 0.004  # pits / voids per px^2


@dataclass(frozen=True)
class ManholeLook:
    """Manhole covers (:mod:`.distractors`)."""

    radius_px: Range = (50, 100)
    frame_px: Range = (3.5, 6.5)  # width of the iron frame around the cover
    collar_prob: float = 0.6  # a concrete collar around the frame
    collar_px: Range = (6, 16)
    pattern_pitch_px: Range = (7, 11)  # of the cast pattern


@dataclass(frozen=True)
class CrackLook:
    """The annotated cracks (:mod:`.cracks`); the per-family share of alligator cracking, widths and
    darkness are in :class:`~.styles.CrackStyle`."""

    step_px: float = 3.0  # polyline point spacing (times sqrt of the frame scale for large frames)
    # first crack of a frame: longitudinal, transverse, diagonal, meander (the rest is alligator cracking)
    line_kind_weights: tuple[float, float, float, float] = (0.27, 0.22, 0.18, 0.15)
    alligator_line_prob: float = 0.5  # a longitudinal crack runs through alligator cracking
    alligator_cell_px: Range = (28, 50)  # size of the fatigue-cracking cells


ASPHALT = AsphaltLook()
CRACKS = CrackLook()
MANHOLE = ManholeLook()

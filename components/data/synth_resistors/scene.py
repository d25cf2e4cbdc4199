"""What a frame's surface and parts share while it is drawn (:class:`Scene`), and silkscreen-style
stroke text (designators, net names), the text look-alike printed on boards and mats.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from components.data.synth_resistors.styles import _BASE, ResistorStyle


@dataclass
class Scene:
    kind: str
    scale: float  # px per mm (of the image being drawn)
    board_angle: float
    light: np.ndarray  # shadow offset, px
    pad_rgb: np.ndarray | None = None
    forbidden: list = field(default_factory=list)  # resistor boxes (+ margin): nothing else goes there
    res: float = 1.0  # drawing resolution relative to the final frame (pixel limits scale with it)
    style: ResistorStyle = _BASE
    negatives: list = field(default_factory=list)  # (kind, box) of each hard negative drawn (never labelled)


_SILK_FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_PLAIN)


_DESIGNATORS = ("R", "C", "U", "D", "L", "Q", "J", "TP", "FB", "SW", "Y")


_SILK_WORDS = (
    "GND",
    "VCC",
    "3V3",
    "5V",
    "VIN",
    "SDA",
    "SCL",
    "RST",
    "TX",
    "RX",
    "EN",
    "OUT",
    "IN",
    "+",
    "1",
    "REV",
    "A1",
)


def _silk_text(rng: np.random.Generator) -> str:
    r = rng.random()
    if r < 0.6:
        return f"{_DESIGNATORS[rng.integers(len(_DESIGNATORS))]}{rng.integers(1, 120)}"
    if r < 0.85:
        return str(_SILK_WORDS[rng.integers(len(_SILK_WORDS))])
    return "".join(rng.choice(list("0123456789ABCDEFGHJKLMNPRSTUVWXYZ"), size=int(rng.integers(2, 7))))


def _stroke_text_mask(rng: np.random.Generator, text: str, height: float) -> np.ndarray:
    """Silkscreen-style (vector stroke font) text as a float mask, unrotated."""
    face = _SILK_FONTS[rng.integers(len(_SILK_FONTS))]
    scale = cv2.getFontScaleFromHeight(face, round(height), 1)
    thick = max(2, round(height * rng.uniform(0.09, 0.15)))
    (tw, th), base = cv2.getTextSize(text, face, scale, thick)
    pad = thick + 4
    m = np.zeros((th + base + 2 * pad, tw + 2 * pad), np.uint8)
    cv2.putText(m, text, (pad, pad + th), face, scale, 255, thick, cv2.LINE_AA)
    return m.astype(np.float32) / 255.0

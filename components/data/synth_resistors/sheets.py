"""Contact sheets of every family (plain and annotated) for ``docs/synth/``, so a person can judge
the look: ``python -m components.data.synth_resistors``.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from components.data.ocr_format import OcrAnnotation
from components.data.synth_resistors.frames import render_resistor_frame
from components.data.synth_resistors.styles import DEFAULT_OOD_FAMILIES, FAMILIES
from components.io import atomic_write_bytes


def draw_annotation(image: np.ndarray, ann: OcrAnnotation, scale: float = 1.0) -> np.ndarray:
    """A copy of ``image`` with ROI boxes (green), character boxes (red) and the ROI text; ``scale``
    thickens lines and text (for thumbnails)."""
    out = image.copy()
    t_roi, t_chr = max(1, round(3 * scale)), max(1, round(2 * scale))
    for s in ann.shapes:
        p0 = (round(s.x1), round(s.y1))
        p1 = (round(s.x2), round(s.y2))
        if s.is_roi:
            cv2.rectangle(out, p0, p1, (0, 255, 0), t_roi)
            cv2.putText(
                out,
                s.text or "",
                (p0[0], max(round(30 * scale), p0[1] - round(10 * scale))),
                cv2.FONT_HERSHEY_SIMPLEX,
                1.5 * scale,
                (0, 255, 0),
                max(1, round(4 * scale)),
                cv2.LINE_AA,
            )
        else:
            cv2.rectangle(out, p0, p1, (255, 0, 0), t_chr)
    return out


def family_sheet(frames: Sequence[tuple[str, list[np.ndarray]]], thumb_width: int = 300) -> np.ndarray:
    """One row per family: its name on a band, then its frames side by side (RGB uint8)."""
    from components.data.contact_sheet import contact_sheet

    rows = []
    for name, images in frames:
        row = contact_sheet(list(images), cols=len(images), thumb_width=thumb_width)
        band = np.full((30, row.shape[1], 3), 255, np.uint8)
        tag = f"{name} (held out)" if name in DEFAULT_OOD_FAMILIES else name
        cv2.putText(band, tag, (6, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 0, 0), 2, cv2.LINE_AA)
        rows.append(np.vstack([band, row]))
    return np.vstack(rows)


def _save_small_png(image: np.ndarray, path: Path, max_bytes: int = 2_000_000) -> None:
    """PNG under ``max_bytes``: full colour when it fits, else a 256-colour palette (dithered)."""
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG", optimize=True)
    if buf.tell() > max_bytes:
        buf = io.BytesIO()
        Image.fromarray(image).quantize(colors=256).save(buf, format="PNG", optimize=True)
    atomic_write_bytes(path, buf.getvalue())


def main(per_family: int = 4) -> None:
    """Contact sheets of every family (plain and annotated) under ``docs/synth/``, and ms per frame."""
    import time

    rendered = []
    for j, name in enumerate(FAMILIES):
        t0 = time.perf_counter()
        frames = [render_resistor_frame([0, 100 * j + i], family=name) for i in range(per_family)]
        ms = (time.perf_counter() - t0) * 1000 / per_family
        print(f"{name:14s} {ms:6.0f} ms/frame  {frames[0][0].shape[1]}x{frames[0][0].shape[0]}")
        rendered.append((name, frames))
    out = Path(__file__).resolve().parents[3] / "docs" / "synth"
    out.mkdir(parents=True, exist_ok=True)
    _save_small_png(family_sheet([(n, [f[0] for f in fs]) for n, fs in rendered]), out / "resistor_families.png")
    _save_small_png(
        family_sheet([(n, [draw_annotation(*f, scale=f[0].shape[1] / 900) for f in fs]) for n, fs in rendered]),
        out / "resistor_families_annotated.png",
    )
    print(f"wrote {out / 'resistor_families.png'} and {out / 'resistor_families_annotated.png'}")

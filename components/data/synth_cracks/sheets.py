"""Contact sheets (frames and frames with their masks) per family for ``docs/``, so a person can
judge the look: ``python -m components.data.synth_cracks``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from components.data.crack_format import rasterize
from components.data.synth_cracks.frames import render_crack_frame
from components.data.synth_cracks.noise import _F32
from components.data.synth_cracks.styles import BASE_WIDTH, DEFAULT_OOD_FAMILIES, DEFAULT_TRAIN_FAMILIES, FAMILIES
from components.io import atomic_write_bytes


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
    docs = Path(__file__).resolve().parents[3] / "docs"
    save_png(contact_sheet(frames, cols=4, thumb_width=384), docs / "synthetic_cracks.png")
    save_png(contact_sheet(overlays, cols=4, thumb_width=384), docs / "synthetic_cracks_masks.png")
    sheet, masks = family_sheets()
    _save_small_png(sheet, docs / "synth" / "crack_families.png")
    _save_small_png(masks, docs / "synth" / "crack_families_masks.png")
    print(f"wrote {docs}/synthetic_cracks*.png and {docs}/synth/crack_families*.png")

"""Contact sheets: a grid of thumbnails, so a person can judge a generator or a dataset at a glance."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from components.io import atomic_path


def contact_sheet(images: list[np.ndarray], cols: int = 4, thumb_width: int = 320, gap: int = 4) -> np.ndarray:
    """Tile RGB uint8 images (any sizes) into one RGB image, each scaled to ``thumb_width`` wide."""
    if not images:
        raise ValueError("contact_sheet needs at least one image")
    thumbs = []
    for im in images:
        h, w = im.shape[:2]
        th = max(1, round(h * thumb_width / w))
        thumbs.append(cv2.resize(im, (thumb_width, th), interpolation=cv2.INTER_AREA))
    cell_h = max(t.shape[0] for t in thumbs)
    rows = (len(thumbs) + cols - 1) // cols
    sheet = np.full((rows * (cell_h + gap) + gap, cols * (thumb_width + gap) + gap, 3), 255, np.uint8)
    for k, t in enumerate(thumbs):
        r, c = divmod(k, cols)
        y, x = gap + r * (cell_h + gap), gap + c * (thumb_width + gap)
        sheet[y : y + t.shape[0], x : x + thumb_width] = t
    return sheet


def save_png(image_rgb: np.ndarray, path: str | Path) -> None:
    """Write an RGB uint8 image as PNG atomically."""
    ok, buf = cv2.imencode(".png", cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError(f"{path}: PNG encoding failed")
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.tobytes())

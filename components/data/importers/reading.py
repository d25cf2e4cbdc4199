"""Reading order of character boxes along one text line, for the formats that store characters
without the text (KAIST) or ROIs without a text (LabelMe).
"""

from __future__ import annotations

import numpy as np


def reading_order(boxes) -> list[int]:
    """Indices of character boxes ``(x1, y1, x2, y2)`` in reading order along one text line.

    The line direction is the principal axis of the box centres (PCA), oriented to point right
    (positive x; straight down if the line is vertical), so text rotated by up to about ±80° reads
    correctly; the boxes are sorted by their projection on that axis (ties keep the input order).
    """
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    n = len(b)
    if n <= 1:
        return list(range(n))
    centres = np.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2], axis=1)
    d = centres - centres.mean(axis=0)
    cov = d.T @ d
    if not np.isfinite(cov).all() or np.allclose(cov, 0):
        direction = np.array([1.0, 0.0])  # all centres coincide: nothing to learn, keep left-to-right
    else:
        eigvals, eigvecs = np.linalg.eigh(cov)
        direction = eigvecs[:, int(np.argmax(eigvals))]
        if direction[0] < -1e-9 or (abs(direction[0]) <= 1e-9 and direction[1] < 0):
            direction = -direction
    return [int(i) for i in np.argsort(d @ direction, kind="stable")]

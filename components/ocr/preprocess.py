"""Image operations of the two-stage path that need only numpy and OpenCV (no torch).

Training (``components.ocr.data``), PyTorch inference (``components.ocr.predict``) and the ONNX
runtime (``components.export.ocr_runtime``, loaded by a serving process without torch) call these
same functions, so every form of the model sees identical inputs.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np


def downsample(image: np.ndarray, size: Sequence[int]) -> np.ndarray:
    """Frame -> stage-1 input (``size`` = [w, h]); the same call at training and inference."""
    return cv2.resize(image, (int(size[0]), int(size[1])), interpolation=cv2.INTER_AREA)


def to_chw(image: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 -> 3xHxW float32 in [0, 1] (the detectors' input)."""
    return np.multiply(image.transpose(2, 0, 1), np.float32(1 / 255.0), dtype=np.float32)


def crop_window(box: Sequence[float], margin: float, width: int, height: int) -> tuple[int, int, int, int]:
    """The ROI box grown by ``margin`` x its size on each side, clipped to the frame (integers)."""
    x1, y1, x2, y2 = (float(v) for v in box)
    mx, my = margin * (x2 - x1), margin * (y2 - y1)
    return (max(0, int(np.floor(x1 - mx))), max(0, int(np.floor(y1 - my))),
            min(width, int(np.ceil(x2 + mx))), min(height, int(np.ceil(y2 + my))))


def letterbox(image: np.ndarray, window: Sequence[int], size: int) -> tuple[np.ndarray, float]:
    """Cut ``window`` from the frame and scale it (aspect kept) into the top-left of a size x size
    canvas; the rest is mid-grey. Keeping the aspect keeps the text's angle, which reading needs."""
    x1, y1, x2, y2 = window
    patch = image[y1:y2, x1:x2]
    h, w = patch.shape[:2]
    scale = size / max(w, h, 1)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    out = np.full((size, size, 3), 127, np.uint8)
    out[:nh, :nw] = cv2.resize(patch, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    return out, scale

"""Image operations of the two-stage path that need only numpy and OpenCV (no torch).

Training (``components.ocr.data``), PyTorch inference (``components.ocr.predict``) and the ONNX
runtime (``components.export.ocr_runtime``, loaded by a serving process without torch) call these
same functions, so every form of the model sees identical inputs.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np


def halve_while(image: np.ndarray, size: Sequence[int]) -> np.ndarray:
    """``image`` halved (2x2 pixel means, ``INTER_AREA``) as long as it stays at least ``size`` (= [w, h])
    and both sides are even, so that the geometry stays exact (one output pixel = two input pixels).

    Why: OpenCV's area resize has a fast path for a factor of exactly 2 and a general one that is 5-10x
    slower per pixel. Means of 2x2 means are the 4x4 means an area resize by 4 computes, up to one grey
    level of rounding, so shrinking a 1280x960 frame by 4 this way gives the same input in a fifth of
    the time (docs/benchmarks.md, where an OCR frame's time goes)."""
    w, h = int(size[0]), int(size[1])
    while image.shape[1] >= 2 * w and image.shape[0] >= 2 * h and image.shape[1] % 2 == 0 and image.shape[0] % 2 == 0:
        image = cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2), interpolation=cv2.INTER_AREA)
    return image


def downsample(image: np.ndarray, size: Sequence[int]) -> np.ndarray:
    """Frame -> stage-1 input (``size`` = [w, h]); the same call at training and inference. An area
    resize, by exact halvings where the frame allows (``halve_while``), then one resize for the rest."""
    w, h = int(size[0]), int(size[1])
    image = halve_while(image, (w, h))
    if image.shape[:2] == (h, w):
        return image
    return cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)


def to_chw(image: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 -> 3xHxW float32 in [0, 1] (the detectors' input)."""
    return np.multiply(image.transpose(2, 0, 1), np.float32(1 / 255.0), dtype=np.float32)


def crop_window(box: Sequence[float], margin: float, width: int, height: int) -> tuple[int, int, int, int]:
    """The ROI box grown by ``margin`` x its size on each side, clipped to the frame (integers)."""
    x1, y1, x2, y2 = (float(v) for v in box)
    mx, my = margin * (x2 - x1), margin * (y2 - y1)
    return (
        max(0, int(np.floor(x1 - mx))),
        max(0, int(np.floor(y1 - my))),
        min(width, int(np.ceil(x2 + mx))),
        min(height, int(np.ceil(y2 + my))),
    )


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


def square_map(window: Sequence[int], scale: float) -> np.ndarray:
    """The 2x3 affine frame -> letterboxed crop of ``letterbox(image, window, size)``."""
    x1, y1 = float(window[0]), float(window[1])
    return np.array([[scale, 0.0, -scale * x1], [0.0, scale, -scale * y1]], np.float64)


def map_boxes(boxes: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Axis-aligned boxes through the similarity ``m`` (2x3: rotation, uniform scale, shift),
    re-fitted around the turned content.

    Turning a box's corners gives a box that grows with every turn: the content of a glyph box does
    not fill its corners. The ellipse inscribed in the box is a closer model of a glyph's ink, so the
    new box is the bounding box of the turned ellipse (half-extents ``sqrt(a^2 cos^2 + b^2 sin^2)``
    and ``sqrt(a^2 sin^2 + b^2 cos^2)``), blended half-way with the corner box so that a genuinely
    rectangular glyph still stays inside. Without rotation (a letterbox) the mapping is exact.
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    if not len(boxes):
        return np.zeros((0, 4), np.float32)
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    a, b = (boxes[:, 2] - boxes[:, 0]) / 2, (boxes[:, 3] - boxes[:, 1]) / 2
    ncx = m[0, 0] * cx + m[0, 1] * cy + m[0, 2]
    ncy = m[1, 0] * cx + m[1, 1] * cy + m[1, 2]
    c, s = abs(m[0, 0]), abs(m[0, 1])  # scale x |cos|, scale x |sin|
    ew, eh = np.sqrt((a * c) ** 2 + (b * s) ** 2), np.sqrt((a * s) ** 2 + (b * c) ** 2)
    rw, rh = a * c + b * s, a * s + b * c
    hw, hh = (ew + rw) / 2, (eh + rh) / 2
    return np.stack([ncx - hw, ncy - hh, ncx + hw, ncy + hh], 1).astype(np.float32)


# ------------------------------------------------------------------------------ upright strips ---
#
# ``ocr.char.crop: upright``: each ROI is turned so that its text runs horizontally and cut as a
# strip (w x h, 2:1) that covers the central part of the body, where the marking is. The text's
# direction comes from the image itself (``estimate_angle``), its extent from the ROI box and that
# angle (``upright_map``); both are plain numpy/OpenCV, so training, PyTorch inference and the ONNX
# runtime compute the same strips. Measured on the generator's frames (docs/ocr.md, upright crops):
# the marking spans at most 0.77 of the estimated body length along the text and 0.37 across it.

ANGLE_SIDE = 128  # the window is shrunk to this longer side before the angle is measured
ANGLE_SIGMA = 0.35  # Gaussian weight (x the window's size) that favours the window's centre
SPREAD_SIGMA = 0.5  # the same for the long-axis test (wider: the whole body)
BODY_ASPECT = 1.8  # assumed length / width of a chip body (packages 0402-2512: 1.28-2.0)
STRIP_COVER = 0.9  # the strip's width covers this share of the estimated body length


GLYPH_ASPECT = 0.6  # width / height of a typical glyph's ink: splits a box's size where its turn hides it


def unturn_boxes(boxes: np.ndarray, m: np.ndarray, aspect: float = GLYPH_ASPECT) -> np.ndarray:
    """Tight axis-aligned boxes of turned content (ink boxes of glyphs at an angle, as labelled in
    the frame) -> boxes of the same content where ``m`` (a similarity) turns it upright.

    ``map_boxes`` would re-fit a box around the whole turned box, so a glyph labelled at 40 degrees
    would come out up to twice as wide as its ink. Here the content is modelled as the ellipse
    inscribed in the sought box: its bounding box at the angle ``phi`` of ``m`` has half-extents
    ``X^2 = a^2 cos^2 + b^2 sin^2``, ``Y^2 = a^2 sin^2 + b^2 cos^2``, so ``a^2 + b^2 = X^2 + Y^2``
    always and ``a^2 - b^2 = (X^2 - Y^2) / cos 2 phi``; near 45 degrees, where the latter is lost,
    the split follows the glyph ``aspect``. Centres map exactly."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    if not len(boxes):
        return np.zeros((0, 4), np.float32)
    k = float(np.hypot(m[0, 0], m[0, 1]))
    cos2 = (m[0, 0] ** 2 - m[0, 1] ** 2) / max(k * k, 1e-12)
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    x2, y2 = ((boxes[:, 2] - boxes[:, 0]) * k / 2) ** 2, ((boxes[:, 3] - boxes[:, 1]) * k / 2) ** 2
    total = x2 + y2
    prior = (aspect**2 - 1) / (aspect**2 + 1) * total
    trust = float(np.clip((abs(cos2) - 0.2) / 0.4, 0.0, 1.0))
    data = (x2 - y2) / cos2 if abs(cos2) > 1e-6 else prior
    diff = np.clip(trust * data + (1 - trust) * prior, -0.9 * total, 0.9 * total)
    a, b = np.sqrt((total + diff) / 2), np.sqrt((total - diff) / 2)
    ncx = m[0, 0] * cx + m[0, 1] * cy + m[0, 2]
    ncy = m[1, 0] * cx + m[1, 1] * cy + m[1, 2]
    return np.stack([ncx - a, ncy - b, ncx + a, ncy + b], 1).astype(np.float32)


def estimate_angle(image: np.ndarray, window: Sequence[int]) -> float:
    """Direction of the body and marking in ``window`` of ``image``: degrees in (-90, 90], y down
    (positive turns clockwise on screen); what ``reading.line_direction`` gives for the characters.

    A chip's outline, its end caps and most glyph strokes run along or across the text, so the
    gradient directions, taken four-fold (``4 phi``: perpendicular edges agree), give the axis
    modulo 90 degrees (structure tensor of order 4, weighted to the window's centre). Of the two
    perpendicular candidates the one along which the gradient magnitude spreads farther is the body's
    long axis, which the text follows. Text upside down (180 degrees) is not told apart.
    """
    x1, y1, x2, y2 = (int(v) for v in window)
    patch = image[y1:y2, x1:x2]
    h, w = patch.shape[:2]
    if h < 4 or w < 4:
        return 0.0
    k = ANGLE_SIDE / max(h, w)
    size = (max(4, round(w * k)), max(4, round(h * k)))
    # Exact halvings, then a bilinear step by less than 2 (the halvings need even sides: a last odd
    # row or column is dropped). The statistic below averages gradient directions, and this shrink
    # leaves it within 0.24 degrees of a single area resize on generator frames (median 0.03;
    # docs/experiments.md, 2026-12-06) at a quarter of the cost. The strip itself is cut by ``warp``.
    small = halve_while(patch[: h // 2 * 2, : w // 2 * 2], size) if k <= 0.5 else patch
    small = cv2.resize(small, size, interpolation=cv2.INTER_LINEAR) if small.shape[:2] != size[::-1] else small
    g = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32), (3, 3), 0)
    gx, gy = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
    hh, ww = g.shape
    xs = np.arange(ww, dtype=np.float32) - (ww - 1) / 2
    ys = np.arange(hh, dtype=np.float32) - (hh - 1) / 2

    def centre_weight(sigma: float) -> np.ndarray:  # a separable Gaussian: two short exp() calls
        return np.outer(np.exp(-0.5 * (ys / (sigma * hh)) ** 2), np.exp(-0.5 * (xs / (sigma * ww)) ** 2))

    energy = gx * gx + gy * gy
    re2, im2 = gx * gx - gy * gy, 2 * gx * gy  # z^2 of z = gx + i gy
    norm = centre_weight(ANGLE_SIGMA) / (energy + 1e-6)  # z^4 below, divided by |z|^2
    im4, re4 = float((2 * re2 * im2 * norm).sum()), float(((re2 * re2 - im2 * im2) * norm).sum())
    t = 0.25 * np.degrees(np.arctan2(im4, re4))
    # Spread of the gradient magnitude e along direction a: sum e (u^2 - v^2) with u, v the turned
    # coordinates = cos 2a sum e (x^2 - y^2) + sin 2a sum 2 e x y. The two candidates (t and t +- 90)
    # give opposite signs, so the long axis is t where this is positive.
    e = np.sqrt(energy) * centre_weight(SPREAD_SIGMA)
    moment_xx_yy = float(e.sum(0) @ (xs * xs) - e.sum(1) @ (ys * ys))
    moment_xy = float(ys @ e @ xs)
    a = np.radians(t)
    along = np.cos(2 * a) * moment_xx_yy + np.sin(2 * a) * 2 * moment_xy
    angle = t if along >= 0 else (t - 90.0 if t > 0 else t + 90.0)
    return float(angle if angle > -90 else angle + 180)


def body_length(box: Sequence[float], angle_deg: float, aspect: float = BODY_ASPECT) -> float:
    """Length of a rectangle of ``aspect`` (length / width) turned by ``angle_deg`` whose bounding
    box is ``box``: from ``w + h = L (|cos| + |sin|) (1 + 1 / aspect)``, which stays well posed at
    45 degrees where solving for length and width separately does not."""
    x1, y1, x2, y2 = (float(v) for v in box)
    a = np.radians(angle_deg)
    return ((x2 - x1) + (y2 - y1)) / ((abs(np.cos(a)) + abs(np.sin(a))) * (1 + 1 / aspect))


def upright_map(box: Sequence[float], angle_deg: float, size: Sequence[int], cover: float = STRIP_COVER) -> np.ndarray:
    """The 2x3 similarity frame -> strip (``size`` = [w, h]) that turns the text at ``angle_deg``
    horizontal and fits ``cover`` x the body length of ``box`` into the strip's width, the box's
    centre at the strip's centre."""
    w, h = float(size[0]), float(size[1])
    x1, y1, x2, y2 = (float(v) for v in box)
    k = w / max(cover * body_length(box, angle_deg), 1.0)
    a = np.radians(angle_deg)
    c, s = k * np.cos(a), k * np.sin(a)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    # strip = k R(-a) (p - centre) + (w/2, h/2)
    return np.array([[c, s, w / 2 - c * cx - s * cy], [-s, c, h / 2 + s * cx - c * cy]], np.float64)


def warp(image: np.ndarray, m: np.ndarray, size: Sequence[int]) -> np.ndarray:
    """The strip of ``image`` under the similarity ``m`` (``size`` = [w, h]); outside the frame is
    mid-grey like the letterbox. Shrinking is done first with INTER_AREA on the part of the frame
    the strip sees (no aliasing of thin strokes), then the turn with bilinear interpolation."""
    w, h = int(size[0]), int(size[1])
    inv = cv2.invertAffineTransform(m)
    corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], np.float64) @ inv.T
    H, W = image.shape[:2]
    x1, y1 = max(0, int(np.floor(corners[:, 0].min())) - 1), max(0, int(np.floor(corners[:, 1].min())) - 1)
    x2, y2 = min(W, int(np.ceil(corners[:, 0].max())) + 2), min(H, int(np.ceil(corners[:, 1].max())) + 2)
    m = m.copy()
    m[:, 2] += m[:, :2] @ np.array([x1, y1], np.float64)  # into the coordinates of the cut part
    patch = image[y1:y2, x1:x2] if x2 > x1 and y2 > y1 else np.full((1, 1, 3), 127, np.uint8)
    k = float(np.hypot(m[0, 0], m[0, 1]))
    if k < 1 and min(patch.shape[:2]) * k >= 2:
        pw, ph = max(1, round(patch.shape[1] * k)), max(1, round(patch.shape[0] * k))
        patch = cv2.resize(patch, (pw, ph), interpolation=cv2.INTER_AREA)
        sx, sy = patch.shape[1] / (x2 - x1), patch.shape[0] / (y2 - y1)
        m = m @ np.array([[1 / sx, 0, 0], [0, 1 / sy, 0], [0, 0, 1]], np.float64)
    m[:, 2] += m[:, :2] @ np.array([0.5, 0.5]) - 0.5  # continuous -> pixel-index coordinates
    return cv2.warpAffine(
        patch, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=(127, 127, 127)
    )


def upright_strip(
    image: np.ndarray, box: Sequence[float], margin: float, size: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """One ROI as an upright strip: (strip uint8 h x w x 3, its 2x3 map frame -> strip). The angle
    is measured in the ROI's crop window (``crop_window`` with ``margin``)."""
    height, width = image.shape[:2]
    angle = estimate_angle(image, crop_window(box, margin, width, height))
    m = upright_map(box, angle, size)
    return warp(image, m, size), m

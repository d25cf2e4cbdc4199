"""Training augmentations as small composable callables ``(image, boxes, labels) -> same``.

``image`` is HxWx3 uint8, ``boxes`` (N, 4) float x1 y1 x2 y2 in its pixels, ``labels`` (N,) int.
Each transform draws from its own ``numpy`` Generator so a run is repeatable per seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import cv2
import numpy as np

# boxes through a turn: one copy, shared with inference (upright strips)
from components.ocr.preprocess import map_boxes as rotate_boxes

Sample = tuple[np.ndarray, np.ndarray, np.ndarray]


class Compose:
    def __init__(self, transforms: Sequence[Callable[..., Sample]]):
        self.transforms = list(transforms)

    def __call__(self, image, boxes, labels) -> Sample:
        for t in self.transforms:
            image, boxes, labels = t(image, boxes, labels)
        return image, boxes, labels


class HorizontalFlip:
    """Mirror the frame (ROI stage only: a mirrored character is another glyph)."""

    def __init__(self, p: float = 0.5, seed: int = 0):
        self.p, self.rng = p, np.random.default_rng(seed)

    def __call__(self, image, boxes, labels) -> Sample:
        if self.rng.random() >= self.p:
            return image, boxes, labels
        w = image.shape[1]
        boxes = boxes.copy()
        boxes[:, [0, 2]] = w - boxes[:, [2, 0]]
        return np.ascontiguousarray(image[:, ::-1]), boxes, labels


class Photometric:
    """Brightness, contrast, per-channel gain, gamma, blur (round or along a motion direction),
    sensor noise and JPEG compression: what another camera, lens or light does to the same part,
    drawn anew each epoch, so a model does not learn one camera's look.

    Two optional changes widen that to what the training generator never draws (0 = off, and then
    no random number is drawn for them, so older runs repeat exactly):

    * ``color_swap``: the RGB channels permuted, so body, ink and board colours the data does not
      have (white ink on a blue body, a red board) look like ones it has;
    * ``low_light``: one to two stops under-exposed with high-gain sensor noise drawn per channel
      (chroma noise), what a camera in a dim cabinet or at the end of a shift sees.
    """

    def __init__(self, p: float = 0.8, seed: int = 0, low_light: float = 0.0, color_swap: float = 0.0):
        self.p, self.rng = p, np.random.default_rng(seed)
        self.low_light, self.color_swap = low_light, color_swap

    def __call__(self, image, boxes, labels) -> Sample:
        r = self.rng
        if r.random() >= self.p:
            return image, boxes, labels
        x = image.astype(np.float32) / 255.0
        if self.color_swap and r.random() < self.color_swap:
            x = np.ascontiguousarray(x[..., r.permutation(3)])
        x = x * r.uniform(0.7, 1.3) + r.uniform(-0.12, 0.12)  # contrast, brightness
        x = (x - x.mean()) * r.uniform(0.75, 1.25) + x.mean()
        x = x * r.uniform(0.85, 1.15, size=3).astype(np.float32)  # colour cast
        x = np.clip(x, 0, 1) ** r.uniform(0.7, 1.4)  # gamma
        if self.low_light and r.random() < self.low_light:
            x = x * r.uniform(0.25, 0.7)  # 0.5 to 2 stops under
            x = x + r.normal(0, r.uniform(0.01, 0.06), size=x.shape).astype(np.float32)  # gain noise, per channel
        if r.random() < 0.3:
            k = int(r.choice([3, 5]))
            x = cv2.GaussianBlur(x, (k, k), 0)
        elif r.random() < 0.15:
            x = cv2.filter2D(x, -1, motion_kernel(int(r.integers(3, 8)), r.uniform(0, 180)))  # hand-held shake
        if r.random() < 0.5:
            x = x + r.normal(0, r.uniform(0.005, 0.04), size=x.shape).astype(np.float32)
        if r.random() < 0.1:
            x = np.repeat(x.mean(axis=2, keepdims=True), 3, axis=2)  # grey camera
        out = (np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8)
        if r.random() < 0.25:  # phone / streamed video
            ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(r.integers(15, 70))])
            out = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED) if ok else out
        return out, boxes, labels


class BodyTint:
    """Random colours for the labelled objects' dark grey pixels: a resistor body in any colour.

    The training generator paints every body one grey, so stage 1 learns "a dark grey rectangle"
    and misses bodies of another colour (on the held-out styles, 45 % of the blue ones). Inside each
    box, drawn with probability ``p``, the pixels that are dark (max channel below ~90) and grey
    (channel spread below ~30) are multiplied by per-channel gains drawn log-uniformly in
    [0.37, 4.5], with a soft weight so bright ink, metal end caps and coloured boards around a turned
    body keep their colours. No hue is singled out. 0 = off, and then no random number is drawn.
    """

    def __init__(self, p: float = 0.0, seed: int = 0):
        self.p, self.rng = p, np.random.default_rng(seed)

    def __call__(self, image, boxes, labels) -> Sample:
        if not self.p or not len(boxes):
            return image, boxes, labels
        r, out = self.rng, None
        h, w = image.shape[:2]
        for x1, y1, x2, y2 in np.asarray(boxes).reshape(-1, 4):
            if r.random() >= self.p:
                continue
            gains = np.exp(r.uniform(-1.0, 1.5, size=3)).astype(np.float32)
            xa, ya, xb, yb = max(0, int(x1)), max(0, int(y1)), min(w, int(np.ceil(x2))), min(h, int(np.ceil(y2)))
            if xb <= xa or yb <= ya:
                continue
            out = image.copy() if out is None else out
            patch = out[ya:yb, xa:xb].astype(np.float32)
            hi, lo = patch.max(axis=2), patch.min(axis=2)
            weight = np.clip((100.0 - hi) / 40.0, 0, 1) * np.clip((35.0 - (hi - lo)) / 15.0, 0, 1)
            tinted = patch * (1.0 + weight[..., None] * (gains - 1.0))
            out[ya:yb, xa:xb] = np.clip(tinted + 0.5, 0, 255).astype(np.uint8)
        return (image if out is None else out), boxes, labels


class RandomZoom:
    """The frame seen closer or from farther away: scaled by ``s`` about a random point, with ``s``
    drawn log-uniformly in ``zoom`` = [lo, hi], on a share ``p`` of the frames; the output keeps its
    size. Zoomed out (s < 1), the frame sits on its own mean colour, so bodies get as small as a
    wider view makes them; zoomed in (s > 1), a part of the frame fills it. SSD's "zoom out" and
    "random crop", which its authors found were what small objects need. A box that keeps less
    than ``MIN_VISIBLE`` of its area inside the frame is dropped (it is a part cut by the edge, as a
    camera cuts them); the others are clipped. 0 = off, and then no random number is drawn.
    """

    MIN_VISIBLE = 0.5

    def __init__(self, p: float = 0.0, zoom: Sequence[float] = (1.0, 1.0), seed: int = 0):
        self.p, self.zoom, self.rng = p, (float(zoom[0]), float(zoom[1])), np.random.default_rng(seed)

    def __call__(self, image, boxes, labels) -> Sample:
        if not self.p or self.rng.random() >= self.p:
            return image, boxes, labels
        h, w = image.shape[:2]
        s = float(np.exp(self.rng.uniform(*np.log(self.zoom))))
        # the scaled frame's corner: inside the output when zoomed out, covering it when zoomed in
        tx = self.rng.uniform(min(0.0, w - s * w), max(0.0, w - s * w))
        ty = self.rng.uniform(min(0.0, h - s * h), max(0.0, h - s * h))
        m = np.array([[s, 0, tx], [0, s, ty]], np.float32)
        fill = tuple(float(v) for v in image.reshape(-1, image.shape[2]).mean(0))
        out = cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=fill)
        b = np.asarray(boxes, np.float32).reshape(-1, 4) * s + np.array([tx, ty, tx, ty], np.float32)
        clipped = np.stack([b[:, 0].clip(0, w), b[:, 1].clip(0, h), b[:, 2].clip(0, w), b[:, 3].clip(0, h)], 1)
        area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
        seen = (clipped[:, 2] - clipped[:, 0]) * (clipped[:, 3] - clipped[:, 1])
        keep = seen >= self.MIN_VISIBLE * np.maximum(area, 1e-6)
        return out, clipped[keep], np.asarray(labels)[keep]


class GlyphShape:
    """Slant and stroke weight of the glyphs: a horizontal shear (italic and oblique faces, or a
    part seen at a slant) and a grey-level dilation or erosion (bold and light faces, ink spread or
    worn). The generator prints with a handful of upright faces; these two changes make the letter
    shapes, not one font's, what the character detector learns. Stage 2 only: the bodies of stage 1
    do not change with the font.

    ``shear`` is the largest |dx/dy| (0.25 is a 14 degree slant), drawn for half of the images;
    ``stroke`` the share of images whose strokes get one to two pixels bolder or lighter. 0 = off,
    and then no random number is drawn, so earlier runs repeat exactly.
    """

    def __init__(self, shear: float = 0.0, stroke: float = 0.0, seed: int = 0):
        self.shear, self.stroke = shear, stroke
        self.rng = np.random.default_rng(seed)

    def __call__(self, image, boxes, labels) -> Sample:
        r = self.rng
        if self.shear and r.random() < 0.5:
            image, boxes = shear_x(image, boxes, r.uniform(-self.shear, self.shear))
        if self.stroke and r.random() < self.stroke:
            k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (int(r.choice([2, 3])),) * 2)
            image = cv2.dilate(image, k) if r.random() < 0.5 else cv2.erode(image, k)
        return image, boxes, labels


def shear_x(image: np.ndarray, boxes: np.ndarray, k: float) -> tuple[np.ndarray, np.ndarray]:
    """Shear ``x' = x + k (y - h/2)`` about the image's middle row, the border pixels stretched into
    the corners it opens; boxes re-fitted like ``map_boxes`` does for a turn (half-way between the
    sheared ellipse and the sheared corners)."""
    h, w = image.shape[:2]
    m = np.array([[1.0, k, -k * h / 2], [0.0, 1.0, 0.0]], np.float64)
    out = cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    if not len(b):
        return out, np.zeros((0, 4), np.float32)
    cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
    a, bh = (b[:, 2] - b[:, 0]) / 2, (b[:, 3] - b[:, 1]) / 2
    ncx = cx + k * (cy - h / 2)
    hw = (np.sqrt(a**2 + (k * bh) ** 2) + a + abs(k) * bh) / 2
    nb = np.stack([ncx - hw, cy - bh, ncx + hw, cy + bh], 1)
    nb[:, [0, 2]] = nb[:, [0, 2]].clip(0, w)
    return out, nb.astype(np.float32)


def motion_kernel(length: int, angle_deg: float) -> np.ndarray:
    """A normalized line kernel: blur along a straight motion of ``length`` px at ``angle_deg``."""
    k = np.zeros((length, length), np.float32)
    c = (length - 1) / 2
    dx, dy = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))
    for t in np.linspace(-c, c, 2 * length):
        k[int(round(c + t * dy)), int(round(c + t * dx))] = 1.0
    return k / k.sum()


def text_angle(boxes: np.ndarray) -> float:
    """Angle (degrees, image y down, positive = clockwise on screen) of the line through the box
    centres, from their principal axis; 0 for fewer than two boxes."""
    if len(boxes) < 2:
        return 0.0
    c = np.stack([(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2], 1)
    c = c - c.mean(0)
    _, _, vt = np.linalg.svd(c, full_matrices=False)
    dx, dy = vt[0]
    if dx < 0:
        dx, dy = -dx, -dy
    return math.degrees(math.atan2(dy, dx))


class RandomRotation:
    """Rotate the crop about its centre so the text ends at a random angle in [-max_deg, max_deg]
    ("angle50"), boxes re-fitted with ``rotate_boxes`` and dropped if their centre leaves the image.

    The current text angle is estimated from the character centres, so the augmented text never
    goes beyond the range that reading order is defined for (left to right within +-max_deg).
    """

    def __init__(self, max_deg: float = 50.0, p: float = 0.5, seed: int = 0, fill: int = 127):
        self.max_deg, self.p, self.fill, self.rng = max_deg, p, fill, np.random.default_rng(seed)

    def __call__(self, image, boxes, labels) -> Sample:
        if self.max_deg <= 0 or self.rng.random() >= self.p:
            return image, boxes, labels
        target = self.rng.uniform(-self.max_deg, self.max_deg)
        centre = None
        if len(boxes):  # about the text, which a letterboxed crop does not hold at the canvas centre
            centre = (float(boxes[:, [0, 2]].mean()), float(boxes[:, [1, 3]].mean()))
        return rotate(image, boxes, labels, target - text_angle(boxes), self.fill, centre)


def rotate(
    image: np.ndarray,
    boxes: np.ndarray,
    labels: np.ndarray,
    deg: float,
    fill: int = 127,
    centre: tuple[float, float] | None = None,
) -> Sample:
    """Rotate by ``deg`` (positive = text turns clockwise on screen, y down) about ``centre``
    (default: the image centre)."""
    h, w = image.shape[:2]
    m = cv2.getRotationMatrix2D(centre or (w / 2, h / 2), -deg, 1.0)
    out = cv2.warpAffine(
        image, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=(fill, fill, fill)
    )
    nb = rotate_boxes(boxes, m)
    if len(nb):
        cx, cy = (nb[:, 0] + nb[:, 2]) / 2, (nb[:, 1] + nb[:, 3]) / 2
        keep = (cx >= 0) & (cx < w) & (cy >= 0) & (cy < h)
        nb = nb[keep]
        nb[:, [0, 2]] = nb[:, [0, 2]].clip(0, w)
        nb[:, [1, 3]] = nb[:, [1, 3]].clip(0, h)
        labels = labels[keep]
    return out, nb, labels

"""Frames much larger than the model input are read in tiles at full resolution, not shrunk whole.

A 2-px crack in a 1920x1080 frame is 0.4 px at 384x288 and vanishes when the frame is shrunk. So a
frame more than ``TILE_FACTOR`` times the model input in width or height is read in model-size
tiles at its own resolution, neighbours overlapping by ``TILE_OVERLAP``, and the crack logit
margins of the tiles are blended with weights that fall towards each tile's border (a tile's edge
has the least context). Smaller frames are shrunk to the model input.

One rule for every reader: the TFLite runtime (components/export/crack_runtime.py) predicts this
way, the evaluation stages score large frames this way (``split_logits``), and training can add
full-resolution tiles of the large frames (``crack.train.native_tiles``) so the model has seen
the road at that scale. numpy + OpenCV only: the serving process imports neither TensorFlow nor
torch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Literal, get_args

import cv2
import numpy as np

TILE_FACTOR = 2.0
TILE_OVERLAP = 0.25

# (N, H, W, 3) uint8 images at model size -> (N, H, W, 2) logits (background, crack)
BatchLogits = Callable[[np.ndarray], np.ndarray]

# How a reader takes a large frame: by the frame-size rule (``should_tile``), always in tiles, or always
# shrunk whole. No frame-size rule is right for every camera: frames 2x the model input whose cracks
# are as thin in pixels as at 1x trace far better in tiles (0.80 against 0.59), while the same scene
# from a camera with 2x the pixels (wider cracks) traces far worse in tiles (0.20 against 0.78;
# docs/crack.md), so batch prediction and the served model let the user choose.
Tiling = Literal["auto", "always", "never"]
TILING_CHOICES: tuple[str, ...] = get_args(Tiling)


def check_tiling(tiling: str) -> str:
    """``tiling`` itself when it is one of ``TILING_CHOICES``; ``ValueError`` naming them otherwise."""
    if tiling not in TILING_CHOICES:
        raise ValueError(f"tiling must be one of {', '.join(TILING_CHOICES)}, got {tiling!r}")
    return tiling


def should_tile(shape: tuple[int, ...], input_size: tuple[int, int]) -> bool:
    """True when an image of ``shape`` (H, W, ...) is read in tiles by the ``auto`` rule."""
    width, height = input_size
    return shape[1] > TILE_FACTOR * width or shape[0] > TILE_FACTOR * height


def tile_starts(length: int, tile: int, overlap: float = TILE_OVERLAP) -> list[int]:
    """Start offsets of tiles of ``tile`` px covering ``length`` px, neighbours sharing ``overlap``."""
    if length <= tile:
        return [0]
    stride = max(1, int(tile * (1.0 - overlap)))
    starts = list(range(0, length - tile, stride))
    return starts + [length - tile]


def tile_weight(height: int, width: int) -> np.ndarray:
    """Blending weights of a tile: 1 in the middle, falling linearly to 0.1 at the border."""
    ramp_y = np.minimum(np.arange(height) + 1, height - np.arange(height)) / (height / 2)
    ramp_x = np.minimum(np.arange(width) + 1, width - np.arange(width)) / (width / 2)
    return np.clip(np.minimum.outer(ramp_y, ramp_x), 0.1, 1.0).astype(np.float32)


def tiled_margin(
    margins: Callable[[np.ndarray], np.ndarray],
    image: np.ndarray,
    input_size: tuple[int, int],
    overlap: float = TILE_OVERLAP,
) -> np.ndarray:
    """(H, W) crack-minus-background logit margin of a large uint8 RGB image, blended from
    overlapping model-size tiles at full resolution. ``margins`` maps (N, h, w, 3) tiles to
    (N, h, w) margins, so a batched model reads all tiles of a frame at once."""
    width, height = input_size
    h, w = image.shape[:2]
    pad_h, pad_w = max(0, height - h), max(0, width - w)
    if pad_h or pad_w:
        image = cv2.copyMakeBorder(image, 0, pad_h, 0, pad_w, cv2.BORDER_REFLECT_101)
    rows, cols = tile_starts(image.shape[0], height, overlap), tile_starts(image.shape[1], width, overlap)
    places = [(y, x) for y in rows for x in cols]
    tiles = np.stack([image[y : y + height, x : x + width] for y, x in places])
    weight = tile_weight(height, width)
    total = np.zeros(image.shape[:2], np.float32)
    norm = np.zeros(image.shape[:2], np.float32)
    for (y, x), margin in zip(places, margins(tiles), strict=True):
        total[y : y + height, x : x + width] += weight * margin
        norm[y : y + height, x : x + width] += weight
    return (total / norm)[:h, :w]


def margin_at_model_size(margin: np.ndarray, input_size: tuple[int, int]) -> np.ndarray:
    """A full-resolution margin as (H, W, 2) logits at model size (area average of the margin), so
    tiled frames are scored beside shrunk ones against the mask at model size."""
    small = cv2.resize(margin, tuple(input_size), interpolation=cv2.INTER_AREA)
    return np.stack([np.zeros_like(small), small], axis=-1)


def mask_at_model_size(mask: np.ndarray, input_size: tuple[int, int]) -> np.ndarray:
    """A {0, 1} full-resolution mask at model size the way a tiled margin gets there: a model pixel
    is crack when more than half of the frame pixels it covers are (area average > 0.5).

    This is the truth a tiled frame is scored against. The nearest frame pixel, which training
    uses, puts the shrunk lines up to a pixel off where the area-averaged prediction puts them: on
    the 960x720 test frames a perfect full-resolution prediction scored 0.87 ``dice_cracked``, not 1."""
    small = cv2.resize(mask.astype(np.float32), tuple(input_size), interpolation=cv2.INTER_AREA)
    return (small > 0.5).astype(np.uint8)


def split_logits(
    batch_logits: BatchLogits,
    images: np.ndarray,
    large: dict[int, np.ndarray],
    batch_size: int = 16,
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (start index, logits batch at model size) over a split, as the runtime reads it:
    frames in ``large`` (index -> full-resolution image) from tiles, the others shrunk (``images``)."""
    size = images.shape[2], images.shape[1]  # (width, height)

    def margins(tiles: np.ndarray) -> np.ndarray:
        logits = batch_logits(tiles)
        return logits[..., 1] - logits[..., 0]

    for start in range(0, len(images), batch_size):
        logits = np.array(batch_logits(images[start : start + batch_size]), np.float32)
        for i in range(start, start + len(logits)):
            if i in large:
                logits[i - start] = margin_at_model_size(tiled_margin(margins, large[i], size), size)
        yield start, logits

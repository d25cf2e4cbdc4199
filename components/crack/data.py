"""Crack samples from the validated manifest into memory, and the tf.data pipelines over them.

Only rows with ``status == ok`` are used (quarantined samples never reach training). Images are
decoded once with the pixel limit of components.io and masks rasterised from the polylines with
``data.crack.line_thickness`` (crack_format.load_mask), both resized to the model input when a
frame has another size (image area-averaged, mask by nearest pixel). The demo split (480 frames of 384x288) is
about 160 MB as uint8, so it stays in memory and every epoch skips decoding.

Frames the runtime reads in tiles (more than twice the model input, components/crack/tiling.py)
can also be kept at full resolution (``keep_large``): validation and evaluation score them the way
the runtime reads them, and training with ``crack.train.native_tiles`` adds one random
full-resolution window of each to every epoch, so the model has seen the road at that scale.
Predictions are scored against ``CrackSplit.scoring_masks``: for those frames the full-resolution
mask brought to model size the way the tiled prediction is, not the nearest-pixel training mask.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import tensorflow as tf

from components.crack.augment import augment, random_crop
from components.crack.model import IMAGENET_MEAN, IMAGENET_STD
from components.crack.tiling import mask_at_model_size, should_tile, split_logits
from components.data import crack_format
from components.io import DEFAULT_MAX_PIXELS, read_image, resolve_inside


@dataclass
class CrackSplit:
    names: list[str]
    images: np.ndarray  # (N, H, W, 3) uint8
    masks: np.ndarray  # (N, H, W) uint8 in {0, 1}
    # index -> (image, mask) at full resolution, for the frames the runtime reads in tiles
    # (components/crack/tiling.py); filled only when load_split is asked to keep them
    large: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.names)

    def large_images(self) -> dict[int, np.ndarray]:
        return {i: image for i, (image, _) in self.large.items()}

    def scoring_masks(self) -> np.ndarray:
        """The masks predictions are scored against, at model size. A frame read in tiles is scored
        against its full-resolution mask shrunk the way its tiled prediction is (area rule,
        tiling.mask_at_model_size); every other frame against ``masks``.

        Training keeps the nearest-pixel masks of the frames it shrinks whole: one run trained on
        the area rule's thinner masks traced every family 1-3 points worse (docs/experiments.md)."""
        if not self.large:
            return self.masks
        size = (self.masks.shape[2], self.masks.shape[1])
        out = self.masks.copy()
        for i, (_, mask) in self.large.items():
            out[i] = mask_at_model_size(mask, size)
        return out

    def epoch_arrays(self, seed: int, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        """Images and masks of one training epoch: every frame at model size, then one random
        model-size window at full resolution of each large frame (another window every epoch)."""
        if not self.large:
            return self.images, self.masks
        height, width = self.images.shape[1:3]
        rng = np.random.default_rng([seed, epoch, 7])
        tiles, tile_masks = [], []
        for i in sorted(self.large):
            image, mask = self.large[i]
            y = int(rng.integers(0, image.shape[0] - height + 1))
            x = int(rng.integers(0, image.shape[1] - width + 1))
            tiles.append(image[y : y + height, x : x + width])
            tile_masks.append(mask[y : y + height, x : x + width])
        return np.concatenate([self.images, np.stack(tiles)]), np.concatenate([self.masks, np.stack(tile_masks)])

    def epoch_size(self) -> int:
        return len(self) + len(self.large)


def load_split(
    manifest: str | Path | pd.DataFrame,
    root: str | Path,
    split: str,
    input_size: tuple[int, int],
    thickness: int = crack_format.DEFAULT_THICKNESS,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    limit: int | None = None,
    keep_large: bool = False,
) -> CrackSplit:
    """Images and {0, 1} masks of one split (``train``/``val``/``test``), at ``input_size`` (width, height).

    ``keep_large``: also keep, at full resolution, the frames the runtime reads in tiles
    (``CrackSplit.large``): evaluation scores them that way, and training can learn from their tiles."""
    rows = manifest if isinstance(manifest, pd.DataFrame) else pd.read_parquet(manifest)
    rows = rows[(rows.status == "ok") & (rows.split == split)].sort_values("name")
    if limit is not None:
        rows = rows.head(limit)
    width, height = input_size
    images = np.empty((len(rows), height, width, 3), np.uint8)
    masks = np.empty((len(rows), height, width), np.uint8)
    large = {}
    for i, row in enumerate(rows.itertuples()):
        img = read_image(resolve_inside(root, row.path), max_pixels=max_pixels)
        h, w = img.shape[:2]
        mask = crack_format.load_mask(Path(root), row.name, h, w, thickness)
        if keep_large and should_tile(img.shape, input_size):
            large[i] = (img, mask)
        if (w, h) != (width, height):
            img = cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA)
            mask = cv2.resize(mask, (width, height), interpolation=cv2.INTER_NEAREST)
        images[i], masks[i] = img, mask
    return CrackSplit(list(rows.name), images, masks, large)


def normalize(images):
    """uint8/float [0, 255] RGB -> model input: /255 then ImageNet mean/std (docs/crack.md#model)."""
    return (tf.cast(images, tf.float32) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD


def train_dataset(
    data: CrackSplit, batch_size: int, seed: int, epoch: int, augment_cfg=None, crop_size: tuple[int, int] | None = None
) -> tf.data.Dataset:
    """One epoch: shuffled (per seed and epoch), randomly cropped to ``crop_size`` (width, height;
    None or the full size: no crop), jointly augmented, normalized, full batches only.

    Dropping the last partial batch keeps the number of steps per epoch exactly ``len // batch``,
    which is what the learning-rate schedule counts with.
    """
    images, masks = data.epoch_arrays(seed, epoch)
    n = len(images)
    crop = crop_size is not None and tuple(crop_size) != (images.shape[2], images.shape[1])
    ds = tf.data.Dataset.from_tensor_slices((images, masks[..., None]))
    ds = ds.enumerate().shuffle(n, seed=seed * 1000 + epoch, reshuffle_each_iteration=False)

    def prepare(i, pair):
        image, mask = tf.cast(pair[0], tf.float32), pair[1]
        if crop:  # first, so the augmentations below work on the (smaller) crop
            image, mask = random_crop(image, mask, tf.stack([tf.cast(seed, tf.int64) + 1, epoch * n + i]), *crop_size)
        if augment_cfg is not None:
            image, mask = augment(image, mask, tf.stack([tf.cast(seed, tf.int64), epoch * n + i]), augment_cfg)
        return normalize(image), tf.cast(mask[..., 0], tf.int32)

    ds = ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.batch(batch_size, drop_remainder=True).prefetch(2)


def steps_per_epoch(n: int, batch_size: int) -> int:
    if n < batch_size:
        raise ValueError(f"{n} training images is fewer than one batch of {batch_size}")
    return n // batch_size


_INFER: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def predict_logits(model, data: CrackSplit, batch_size: int = 16):
    """Yield (start index, logits batch as numpy, at model size) over a split, without augmentation;
    its large frames (if kept) read in tiles at full resolution, as the runtime reads them."""
    infer = _INFER.get(model)
    if infer is None:  # one traced function per model, reused by every validation pass
        # Any batch size, one trace: batches of frames, the last short batch and a frame's tiles differ
        # in size, and each new size used to retrace the whole UNet (seconds per trace on 2 cores).
        spec = tf.TensorSpec([None, *data.images.shape[1:]], tf.as_dtype(data.images.dtype))
        infer = _INFER[model] = tf.function(lambda x: model(normalize(x), training=False), input_signature=[spec])
    yield from split_logits(lambda x: infer(x).numpy(), data.images, data.large_images(), batch_size)

"""Crack samples from the validated manifest into memory, and the tf.data pipelines over them.

Only rows with ``status == ok`` are used (quarantined samples never reach training). Images are
decoded once with the pixel limit of components.io and masks rasterised from the polylines with
``data.crack.line_thickness`` (crack_format.load_mask), both resized to the model input when a
frame has another size (image bilinear, mask nearest). The demo split (480 frames of 384x288) is
about 160 MB as uint8, so it stays in memory and every epoch skips decoding.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import tensorflow as tf

from components.crack.augment import augment, random_crop
from components.crack.model import IMAGENET_MEAN, IMAGENET_STD
from components.data import crack_format
from components.io import DEFAULT_MAX_PIXELS, read_image, resolve_inside


@dataclass
class CrackSplit:
    names: list[str]
    images: np.ndarray  # (N, H, W, 3) uint8
    masks: np.ndarray  # (N, H, W) uint8 in {0, 1}

    def __len__(self) -> int:
        return len(self.names)


def load_split(
    manifest: str | Path | pd.DataFrame,
    root: str | Path,
    split: str,
    input_size: tuple[int, int],
    thickness: int = crack_format.DEFAULT_THICKNESS,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    limit: int | None = None,
) -> CrackSplit:
    """Images and {0, 1} masks of one split (``train``/``val``/``test``), at ``input_size`` (width, height)."""
    rows = manifest if isinstance(manifest, pd.DataFrame) else pd.read_parquet(manifest)
    rows = rows[(rows.status == "ok") & (rows.split == split)].sort_values("name")
    if limit is not None:
        rows = rows.head(limit)
    width, height = input_size
    images = np.empty((len(rows), height, width, 3), np.uint8)
    masks = np.empty((len(rows), height, width), np.uint8)
    for i, row in enumerate(rows.itertuples()):
        img = read_image(resolve_inside(root, row.path), max_pixels=max_pixels)
        h, w = img.shape[:2]
        mask = crack_format.load_mask(Path(root), row.name, h, w, thickness)
        if (w, h) != (width, height):
            img = cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA)
            mask = cv2.resize(mask, (width, height), interpolation=cv2.INTER_NEAREST)
        images[i], masks[i] = img, mask
    return CrackSplit(list(rows.name), images, masks)


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
    n = len(data)
    crop = crop_size is not None and tuple(crop_size) != (data.images.shape[2], data.images.shape[1])
    ds = tf.data.Dataset.from_tensor_slices((data.images, data.masks[..., None]))
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


def predict_logits(model, images: np.ndarray, batch_size: int = 16):
    """Yield (start index, logits batch as numpy) over uint8 images, without augmentation."""
    infer = _INFER.get(model)
    if infer is None:  # one traced function per model, reused by every validation pass
        infer = _INFER[model] = tf.function(lambda x: model(normalize(x), training=False))
    for start in range(0, len(images), batch_size):
        yield start, infer(images[start : start + batch_size]).numpy()

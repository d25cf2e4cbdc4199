"""Joint augmentation keeps image and mask aligned (the seed's augmentation broke its masks).

The image is drawn as a white marker exactly where the mask is 1 (black elsewhere); after any
geometric augmentation the bright pixels of the transformed image must be the transformed mask's
pixels, for many random seeds. Photometric augmentation must leave the mask untouched.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import tensorflow as tf

from components.crack import augment as aug
from components.crack.config import CrackAugment
from components.crack.data import CrackSplit, train_dataset

H, W = 64, 96
SEEDS = range(12)


def _marker_pair():
    mask = np.zeros((H, W), np.uint8)
    cv2.polylines(mask, [np.array([[5, 8], [40, 30], [90, 20]], np.int32)], False, 1, thickness=5)
    cv2.rectangle(mask, (10, 45), (30, 58), 1, -1)  # asymmetric, so a wrong flip is caught
    image = np.repeat(mask[..., None] * 255.0, 3, axis=-1).astype(np.float32)
    return tf.constant(image), tf.constant(mask[..., None])


def _assert_aligned(image, mask, tol=0.06):
    bright = image.numpy()[..., 0] > 127
    m = mask.numpy()[..., 0].astype(bool)
    assert m.any(), "the marker left the frame"
    mismatch = (bright ^ m).sum() / m.sum()
    assert mismatch <= tol, f"image marker and mask disagree on {mismatch:.1%} of the mask"


@pytest.mark.parametrize(
    "name, fn",
    [
        ("flip", lambda i, m, s: aug.flip(i, m, s, True, True)),
        ("rotate_scale", lambda i, m, s: aug.rotate_scale(i, m, s, 15.0, 0.2)),
        ("crop", lambda i, m, s: aug.random_crop(i, m, s, 64, 48)),
        (
            "all",
            lambda i, m, s: aug.augment(
                i, m, s, CrackAugment(hflip=True, vflip=True, brightness=0.0, contrast=0.0, rotate_deg=15, scale=0.2)
            ),
        ),
    ],
)
def test_geometric_augmentations_keep_image_and_mask_aligned(name, fn):
    image, mask = _marker_pair()
    changed = 0
    for s in SEEDS:
        out_i, out_m = fn(image, mask, tf.constant([7, s]))
        assert out_m.dtype == tf.uint8 and set(np.unique(out_m.numpy())) <= {0, 1}
        _assert_aligned(out_i, out_m)
        changed += not np.array_equal(out_m.numpy(), mask.numpy())
    assert changed > 0, f"{name} never changed anything"


def test_photometric_augmentation_changes_the_image_only():
    image, mask = _marker_pair()
    image = image * 0.5 + 60.0
    out_i, out_m = aug.brightness_contrast(image, mask, tf.constant([1, 2]), brightness=0.2, contrast=0.3)
    assert np.array_equal(out_m.numpy(), mask.numpy())
    assert not np.allclose(out_i.numpy(), image.numpy())
    assert out_i.numpy().min() >= 0 and out_i.numpy().max() <= 255


def test_same_seed_same_augmentation_and_rotation_is_about_the_centre():
    image, mask = _marker_pair()
    a = aug.rotate_scale(image, mask, tf.constant([3, 4]), 10.0, 0.1)
    b = aug.rotate_scale(image, mask, tf.constant([3, 4]), 10.0, 0.1)
    assert np.array_equal(a[1].numpy(), b[1].numpy())
    ident = aug.affine_matrix(tf.constant(0.0), tf.constant(1.0), H, W).numpy()
    np.testing.assert_allclose(ident, [1, 0, 0, 0, 1, 0, 0, 0], atol=1e-6)


def test_training_pipeline_batches_stay_aligned():
    """The whole tf.data path (shuffle, augment, crop, normalize) on marker images."""
    image, mask = _marker_pair()
    images = np.repeat(image.numpy().astype(np.uint8)[None], 6, axis=0)
    masks = np.repeat(mask.numpy()[None, ..., 0], 6, axis=0)
    cfg = CrackAugment(hflip=True, vflip=True, brightness=0.0, contrast=0.0, rotate_deg=10, scale=0.1)
    ds = train_dataset(
        CrackSplit([f"m{i}" for i in range(6)], images, masks), 3, seed=0, epoch=1, augment_cfg=cfg, crop_size=(64, 64)
    )
    batches = list(ds)
    assert len(batches) == 2
    for x, y in batches:
        assert x.shape == (3, 64, 64, 3) and y.shape == (3, 64, 64) and y.dtype == tf.int32
        for xi, yi in zip(x.numpy(), y.numpy()):
            if yi.any():
                _assert_aligned(tf.constant((xi > 0) * 255.0), tf.constant(yi[..., None]))


def test_camera_augmentation_changes_the_image_only_and_each_part_does_something():
    image, mask = _marker_pair()
    image = image * 0.5 + 60.0
    parts = {
        "gamma": {"gamma": 0.5},
        "color": {"color": 0.3},
        "blur": {"blur_prob": 1.0, "blur_sigma": 2.0},
        "noise": {"noise": 0.05},
        "jpeg": {"jpeg_prob": 1.0, "jpeg_quality": 10},
    }
    for name, kw in parts.items():
        out_i, out_m = aug.camera(image, mask, tf.constant([5, 6]), **kw)
        assert np.array_equal(out_m.numpy(), mask.numpy()), name
        assert out_i.shape == image.shape and out_i.dtype == tf.float32, name
        assert out_i.numpy().min() >= 0 and out_i.numpy().max() <= 255, name
        assert np.abs(out_i.numpy() - image.numpy()).mean() > 0.5, f"{name} did nothing"
    blurred, _ = aug.camera(image, mask, tf.constant([5, 6]), blur_prob=1.0, blur_sigma=2.0)
    edge = lambda x: np.abs(np.diff(x.numpy()[..., 0], axis=1)).max()  # noqa: E731  (steepest step)
    assert edge(blurred) < 0.8 * edge(image)
    off, _ = aug.camera(image, mask, tf.constant([5, 6]))
    assert np.array_equal(off.numpy(), image.numpy())


def test_uneven_light_darkens_away_from_its_centre_and_keeps_the_mask():
    image = tf.fill([H, W, 3], 200.0)
    mask = _marker_pair()[1]
    dimmest = []
    for seed in SEEDS:
        out, out_m = aug.uneven_light(image, mask, tf.constant([seed, 1]), falloff=1.0)
        assert np.array_equal(out_m.numpy(), mask.numpy())
        px = out.numpy()[..., 0]
        assert px.max() <= 200.0 + 1e-3 and px.min() > 0
        dimmest.append(px.min())
    assert min(dimmest) < 0.6 * 200  # a strong falloff is drawn for some seeds
    off, _ = aug.uneven_light(image, mask, tf.constant([0, 1]), falloff=0.0)
    assert np.array_equal(off.numpy(), image.numpy())


def test_falloff_off_leaves_the_other_draws_unchanged():
    """Adding a key must not reshuffle the draws of the recipe trained before it."""
    image, mask = _marker_pair()
    cfg = CrackAugment(hflip=True, vflip=True, brightness=0.1, contrast=0.2, rotate_deg=10, scale=0.1, gamma=0.3)
    seed = tf.constant([3, 4])
    s_f, s_g, s_p, s_c = aug._split(seed, 4)
    expected, m = aug.rotate_scale(*aug.flip(image, mask, s_f), s_g, 10, 0.1)
    expected, m = aug.brightness_contrast(expected, m, s_p, 0.1, 0.2)
    expected, _ = aug.camera(expected, m, s_c, gamma=0.3)
    got, _ = aug.augment(image, mask, seed, cfg)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), atol=1e-4)


def test_grooves_darken_straight_lines_and_keep_the_mask():
    """A groove is a scene element that is not a crack: the mask must not move, the image darkens
    only along one or two straight lines at most ``max_width`` px wide."""
    image = tf.fill([H, W, 3], 200.0)
    mask = _marker_pair()[1]
    single_lines = 0
    for seed in SEEDS:
        out, out_m = aug.grooves(image, mask, tf.constant([seed, 2]), prob=1.0, max_width=4.0)
        assert np.array_equal(out_m.numpy(), mask.numpy())
        px = out.numpy()[..., 0]
        assert px.max() <= 200.0 + 1e-3 and px.min() < 200.0 * 0.75  # at least 25 % darker at the core
        ys, xs = np.nonzero(px < 199.0)
        assert len(ys) < 0.25 * H * W  # thin lines, not a region
        pts = np.stack([xs, ys], 1).astype(float)
        minor = np.sqrt(np.linalg.eigvalsh(np.cov(pts.T))[0])  # spread across the line's direction
        single_lines += minor < 4.0 / 2 + 1.0
    assert single_lines > 0  # some draws have one groove; a straight band has almost no spread across it
    off, _ = aug.grooves(image, mask, tf.constant([0, 2]), prob=0.0)
    assert np.array_equal(off.numpy(), image.numpy())


def test_augment_draws_grooves_only_when_asked():
    image, mask = _marker_pair()
    image = image * 0.5 + 60.0
    cfg = CrackAugment(hflip=False, vflip=False, brightness=0, contrast=0, rotate_deg=0, scale=0)
    plain, _ = aug.augment(image, mask, tf.constant([1, 2]), cfg)
    grooved, m = aug.augment(image, mask, tf.constant([1, 2]), cfg.model_copy(update={"groove_prob": 1.0}))
    assert np.array_equal(plain.numpy(), image.numpy())
    assert np.array_equal(m.numpy(), mask.numpy())
    assert (grooved.numpy() < image.numpy() - 1).any()

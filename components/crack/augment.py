"""Joint image + mask augmentation, as small composable TF functions (run inside tf.data).

Every function takes ``(image, mask, seed)`` and returns ``(image, mask)``: ``image`` float32
(H, W, 3) in [0, 255], ``mask`` uint8 (H, W, 1), ``seed`` an int32/int64 pair for stateless random ops.
Geometric functions draw their random numbers once and apply the *same* transform to both tensors
(bilinear for the image, nearest for the mask, reflected borders for both, so a crack that leaves
the frame stays consistent); photometric ones touch the image only. The seed's augmentation drew
separate random numbers for image and mask, which is what misaligned its masks; the test in
tests/components/crack/test_augment.py draws a marker equal to the mask and checks every function.
Seeds derive from (train seed, epoch, sample index), so a resumed epoch sees the same augmentations.
"""

from __future__ import annotations

import math

import tensorflow as tf


def _split(seed, n: int):
    return tf.unstack(tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), n))


def flip(image, mask, seed, horizontal: bool = True, vertical: bool = True):
    """Random left-right and up-down flips, the same for image and mask."""
    s_h, s_v = _split(seed, 2)
    if horizontal:
        do = tf.random.stateless_uniform([], s_h) < 0.5
        image, mask = tf.cond(do, lambda: (tf.reverse(image, [1]), tf.reverse(mask, [1])), lambda: (image, mask))
    if vertical:
        do = tf.random.stateless_uniform([], s_v) < 0.5
        image, mask = tf.cond(do, lambda: (tf.reverse(image, [0]), tf.reverse(mask, [0])), lambda: (image, mask))
    return image, mask


def brightness_contrast(image, mask, seed, brightness: float = 0.0, contrast: float = 0.0):
    """Image only: add a random delta (share of 255) and scale the contrast around the image mean."""
    s_b, s_c = _split(seed, 2)
    if contrast > 0:
        factor = tf.random.stateless_uniform([], s_c, 1.0 - contrast, 1.0 + contrast)
        mean = tf.reduce_mean(image, axis=[0, 1], keepdims=True)
        image = (image - mean) * factor + mean
    if brightness > 0:
        image = image + 255.0 * tf.random.stateless_uniform([], s_b, -brightness, brightness)
    return tf.clip_by_value(image, 0.0, 255.0), mask


def camera(
    image,
    mask,
    seed,
    gamma: float = 0.0,
    color: float = 0.0,
    blur_prob: float = 0.0,
    blur_sigma: float = 0.0,
    noise: float = 0.0,
    jpeg_prob: float = 0.0,
    jpeg_quality: int = 100,
):
    """Image only: what another camera or light does to the same road. A gamma in
    ``[exp(-gamma), exp(gamma)]`` (exposure curve: night, low sun), per-channel gains in
    ``[1 - color, 1 + color]`` (white balance, wet or sodium-lit surfaces), with probability
    ``blur_prob`` a Gaussian blur of sigma up to ``blur_sigma`` px (focus, motion), Gaussian noise of
    standard deviation up to ``noise`` x 255 (sensor gain) and with probability ``jpeg_prob`` JPEG
    compression at a quality in ``[jpeg_quality, 95]`` (phones, streamed video)."""
    s_g, s_c, s_b, s_bs, s_n, s_ns, s_j, s_jq = _split(seed, 8)
    if gamma > 0:
        g = tf.exp(tf.random.stateless_uniform([], s_g, -gamma, gamma))
        image = 255.0 * tf.pow(tf.clip_by_value(image / 255.0, 1e-6, 1.0), g)
    if color > 0:
        image = image * tf.random.stateless_uniform([1, 1, 3], s_c, 1.0 - color, 1.0 + color)
    if blur_prob > 0 and blur_sigma > 0:
        sigma = tf.random.stateless_uniform([], s_bs, 0.3, blur_sigma)
        x = tf.range(-3, 4, dtype=tf.float32)
        k = tf.exp(-0.5 * tf.square(x / sigma))
        k = k / tf.reduce_sum(k)
        kernel = tf.tile((k[:, None] * k[None, :])[:, :, None, None], [1, 1, 3, 1])
        blurred = tf.nn.depthwise_conv2d(
            tf.pad(image[None], [[0, 0], [3, 3], [3, 3], [0, 0]], "REFLECT"), kernel, [1, 1, 1, 1], "VALID"
        )[0]
        image = tf.where(tf.random.stateless_uniform([], s_b) < blur_prob, blurred, image)
    if noise > 0:
        std = 255.0 * tf.random.stateless_uniform([], s_ns, 0.0, noise)
        image = image + std * tf.random.stateless_normal(tf.shape(image), s_n)
    image = tf.clip_by_value(image, 0.0, 255.0)
    if jpeg_prob > 0:
        compressed = 255.0 * tf.image.stateless_random_jpeg_quality(image / 255.0, jpeg_quality, 95, s_jq)
        image = tf.where(tf.random.stateless_uniform([], s_j) < jpeg_prob, compressed, image)
    return image, mask


def uneven_light(image, mask, seed, falloff: float = 0.0):
    """Image only: light that falls off away from a random point in the frame (a flash, headlights,
    a street lamp): the image is multiplied by ``exp(-4 s d^2)``, ``d`` the distance to that point
    over the frame's diagonal and ``s`` drawn in ``[0, falloff]``, so at ``s = 1`` a pixel half a
    diagonal away keeps 37 % of its light. Cracks in the dark part keep their shape but lose contrast."""
    if falloff <= 0:
        return image, mask
    s_p, s_s = _split(seed, 2)
    shape = tf.shape(image)
    h, w = tf.cast(shape[0], tf.float32), tf.cast(shape[1], tf.float32)
    centre = tf.random.stateless_uniform([2], s_p) * tf.stack([h, w])
    yy = (tf.range(h) - centre[0])[:, None]
    xx = (tf.range(w) - centre[1])[None, :]
    d2 = (tf.square(yy) + tf.square(xx)) / (h * h + w * w)
    strength = tf.random.stateless_uniform([], s_s, 0.0, falloff)
    return image * tf.exp(-4.0 * strength * d2)[..., None], mask


def grooves(image, mask, seed, prob: float = 0.0, max_width: float = 5.0):
    """Image only: with probability ``prob`` a straight groove across the whole crop that is *not* a
    crack (the mask is left as it is): a saw cut for a loop detector, a construction joint between
    two paving lanes, the sawn joint of a concrete slab. The cracks of the training styles wander and
    change width; nothing else in them is a thin, ruler-straight line, so a model trained on them
    alone marks every straight dark line as crack (docs/crack.md#known-weaknesses). A groove has a
    random angle and position, a constant width in ``[1, max_width]`` px, soft edges, and removes 30-75
    % of the light under it; half the time a second one runs parallel or at right angles (a slab
    grid, the two cuts of a loop). Drawn before the camera augmentations: it is part of the scene."""
    if prob <= 0:
        return image, mask
    s_do, s_two, s_ang, s_pos, s_w, s_d, s_turn = _split(seed, 7)
    shape = tf.shape(image)
    h, w = tf.cast(shape[0], tf.float32), tf.cast(shape[1], tf.float32)
    yy = tf.range(h)[:, None]
    xx = tf.range(w)[None, :]
    angle0 = tf.random.stateless_uniform([], s_ang, 0.0, math.pi)
    turn = tf.where(tf.random.stateless_uniform([], s_turn) < 0.5, 0.0, math.pi / 2)
    angles = tf.stack([angle0, angle0 + turn])
    points = tf.random.stateless_uniform([2, 2], s_pos) * tf.stack([w, h])
    widths = tf.random.stateless_uniform([2], s_w, 1.0, max(max_width, 1.0))
    depths = tf.random.stateless_uniform([2], s_d, 0.3, 0.75)
    count = tf.where(tf.random.stateless_uniform([], s_two) < 0.5, 2.0, 1.0)
    light = tf.ones_like(image[..., 0])
    for k in range(2):
        across = (xx - points[k, 0]) * tf.sin(angles[k]) - (yy - points[k, 1]) * tf.cos(angles[k])
        cover = tf.clip_by_value(widths[k] / 2 + 0.5 - tf.abs(across), 0.0, 1.0)
        on = tf.cast(float(k) < count, tf.float32)
        light = light * (1.0 - on * depths[k] * cover)
    grooved = image * light[..., None]
    return tf.where(tf.random.stateless_uniform([], s_do) < prob, grooved, image), mask


def affine_matrix(angle_rad, zoom, height, width):
    """The 8 projective coefficients mapping *output* pixels to input pixels for a rotation by
    ``angle_rad`` and a zoom by ``zoom`` (> 1 enlarges) about the image centre."""
    cx, cy = (tf.cast(width, tf.float32) - 1) / 2, (tf.cast(height, tf.float32) - 1) / 2
    c, s = tf.cos(angle_rad) / zoom, tf.sin(angle_rad) / zoom
    return tf.stack([c, s, cx - c * cx - s * cy, -s, c, cy + s * cx - c * cy, 0.0, 0.0])


def rotate_scale(image, mask, seed, max_deg: float = 0.0, scale: float = 0.0):
    """Random small rotation and zoom; one matrix for both tensors."""
    if max_deg <= 0 and scale <= 0:
        return image, mask
    s_a, s_z = _split(seed, 2)
    angle = tf.random.stateless_uniform([], s_a, -max_deg, max_deg) * (math.pi / 180)
    zoom = tf.random.stateless_uniform([], s_z, 1.0 - scale, 1.0 + scale)
    shape = tf.shape(image)
    matrix = affine_matrix(angle, zoom, shape[0], shape[1])[None]

    def warp(x, interpolation):
        return tf.raw_ops.ImageProjectiveTransformV3(
            images=x[None],
            transforms=matrix,
            output_shape=shape[:2],
            fill_value=0.0,
            interpolation=interpolation,
            fill_mode="REFLECT",
        )[0]

    image = warp(image, "BILINEAR")
    mask = tf.cast(warp(tf.cast(mask, tf.float32), "NEAREST"), tf.uint8)
    return image, mask


def random_crop(image, mask, seed, width: int, height: int):
    """A random window of ``width`` x ``height``, at the same place in image and mask (one crop of
    both stacked). Training on crops trades context for images/s on CPU; the model is fully
    convolutional, so validation and test still run on the whole frame."""
    stacked = tf.concat([image, tf.cast(mask, tf.float32)], axis=-1)
    stacked = tf.image.stateless_random_crop(stacked, [height, width, 4], tf.cast(seed, tf.int64))
    return stacked[..., :3], tf.cast(stacked[..., 3:], tf.uint8)


def augment(image, mask, seed, cfg):
    """All augmentations of ``cfg`` (a CrackAugment), geometric first."""
    s_f, s_g, s_p, s_c = _split(seed, 4)
    s_l = tf.random.experimental.stateless_fold_in(tf.cast(seed, tf.int64), 5)  # the others' draws as before
    s_j = tf.random.experimental.stateless_fold_in(tf.cast(seed, tf.int64), 6)
    image, mask = flip(image, mask, s_f, cfg.hflip, cfg.vflip)
    image, mask = rotate_scale(image, mask, s_g, cfg.rotate_deg, cfg.scale)
    image, mask = grooves(image, mask, s_j, cfg.groove_prob, cfg.groove_max_width)
    image, mask = brightness_contrast(image, mask, s_p, cfg.brightness, cfg.contrast)
    image, mask = uneven_light(image, mask, s_l, cfg.falloff)
    return camera(
        image,
        mask,
        s_c,
        cfg.gamma,
        cfg.color,
        cfg.blur_prob,
        cfg.blur_sigma,
        cfg.noise,
        cfg.jpeg_prob,
        cfg.jpeg_quality,
    )

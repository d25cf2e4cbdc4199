"""The large-frame rule (components/crack/tiling.py) as evaluation and training use it: a reader that
thresholds darkness per pixel stands in for a model, so what tiling keeps or loses is exact."""

from __future__ import annotations

import numpy as np

from components.crack.data import CrackSplit
from components.crack.metrics import Accumulator
from components.crack.tiling import margin_at_model_size, should_tile, split_logits, tiled_margin

W, H = 48, 32  # model input (width, height)


def dark_reader(images: np.ndarray) -> np.ndarray:
    """(N, h, w, 3) uint8 -> logits: crack (+5) where a pixel is darker than 60, background elsewhere."""
    crack = np.where(images.mean(-1) < 60, 5.0, -5.0).astype(np.float32)
    return np.stack([np.zeros_like(crack), crack], axis=-1)


def frame_with_thin_line(scale: float) -> tuple[np.ndarray, np.ndarray]:
    """A bright frame ``scale`` x the model input with a 2-px dark horizontal line, and its mask."""
    h, w = int(H * scale), int(W * scale)
    image = np.full((h, w, 3), 200, np.uint8)
    image[h // 2 : h // 2 + 2] = 20
    mask = (image[..., 0] < 60).astype(np.uint8)
    return image, mask


def test_the_rule_tiles_only_frames_more_than_twice_the_input():
    assert should_tile((H * 2 + 1, W, 3), (W, H)) and should_tile((H, W * 2 + 1), (W, H))
    assert not should_tile((H * 2, W * 2, 3), (W, H)) and not should_tile((H, W, 3), (W, H))


def test_a_pixelwise_reader_gives_the_same_margin_tiled_or_whole():
    image, _ = frame_with_thin_line(3.3)
    margin = tiled_margin(lambda t: dark_reader(t)[..., 1], image, (W, H))
    assert margin.shape == image.shape[:2]
    np.testing.assert_allclose(margin, dark_reader(image[None])[0, ..., 1], atol=1e-5)


def test_a_thin_line_survives_the_tiled_read_but_not_the_shrunk_one():
    import cv2

    image, _ = frame_with_thin_line(3.0)
    shrunk = cv2.resize(image, (W, H), interpolation=cv2.INTER_AREA)
    assert not (dark_reader(shrunk[None])[0, ..., 1] > 0).any()  # 2 dark rows in 3-row blocks: grey, gone
    logits = margin_at_model_size(tiled_margin(lambda t: dark_reader(t)[..., 1], image, (W, H)), (W, H))
    found = logits[..., 1] > logits[..., 0]
    assert logits.shape == (H, W, 2) and found.any() and found.sum() <= 2 * W


def test_split_logits_reads_large_frames_in_tiles_and_the_rest_as_given():
    import cv2

    large, _ = frame_with_thin_line(3.0)
    small, _ = frame_with_thin_line(1.0)
    images = np.stack([small, cv2.resize(large, (W, H), interpolation=cv2.INTER_AREA), small])
    batches = list(split_logits(dark_reader, images, {1: large}, batch_size=2))
    assert [start for start, _ in batches] == [0, 2]
    logits = np.concatenate([b for _, b in batches])
    np.testing.assert_array_equal(logits[[0, 2]], dark_reader(images[[0, 2]]))
    assert (logits[1, ..., 1] > logits[1, ..., 0]).any()  # the shrunk copy alone would show no crack


def test_training_epochs_add_one_full_resolution_window_per_large_frame():
    large, large_mask = frame_with_thin_line(3.0)
    images = np.zeros((3, H, W, 3), np.uint8)
    split = CrackSplit(["a", "b", "c"], images, np.zeros((3, H, W), np.uint8), {1: (large, large_mask)})
    assert split.epoch_size() == 4
    x0, y0 = split.epoch_arrays(seed=0, epoch=0)
    assert x0.shape == (4, H, W, 3) and y0.shape == (4, H, W)
    np.testing.assert_array_equal(x0[:3], images)
    np.testing.assert_array_equal(y0[3], (x0[3, ..., 0] < 60).astype(np.uint8))  # mask window matches image window
    windows = {split.epoch_arrays(seed=0, epoch=e)[0][3].tobytes() for e in range(8)}
    assert len(windows) > 1  # another window on another epoch
    np.testing.assert_array_equal(split.epoch_arrays(seed=0, epoch=0)[0], x0)  # and the same on a rerun
    plain = CrackSplit(["a"], images[:1], np.zeros((1, H, W), np.uint8))
    assert plain.epoch_arrays(0, 0)[0] is plain.images and plain.epoch_size() == 1


def frame_with_lines(scale: float, lines: int = 4, width: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A bright frame ``scale`` x the model input with random dark lines ``width`` px wide, and its mask."""
    import cv2

    rng = np.random.default_rng(seed)
    h, w = int(H * scale), int(W * scale)
    mask = np.zeros((h, w), np.uint8)
    for _ in range(lines):
        x0, x1 = rng.integers(0, w, 2)
        y0, y1 = rng.integers(0, h, 2)
        cv2.line(mask, (int(x0), int(y0)), (int(x1), int(y1)), 1, width)
    image = np.where(mask[..., None] > 0, 20, 200).astype(np.uint8).repeat(3, -1)
    return image, mask


def test_a_perfect_reader_of_a_tiled_frame_scores_dice_one_against_the_scoring_masks():
    """A large frame is predicted from full-resolution tiles and area-averaged to model size, so its
    truth must be shrunk the same way: against the nearest-pixel mask training uses, a reader that
    is right on every frame pixel lost up to 13 points of Dice on the 960x720 test frames."""
    import cv2

    large, large_mask = frame_with_lines(2.5)
    small, small_mask = frame_with_lines(1.0, seed=1)
    nearest = cv2.resize(large_mask, (W, H), interpolation=cv2.INTER_NEAREST)
    images = np.stack([small, cv2.resize(large, (W, H), interpolation=cv2.INTER_AREA)])
    split = CrackSplit(["small", "large"], images, np.stack([small_mask, nearest]), {1: (large, large_mask)})
    truth = split.scoring_masks()
    np.testing.assert_array_equal(truth[0], small_mask)  # frames read whole keep their mask
    assert truth[1].any() and (truth[1] != nearest).any() and split.masks[1] is not truth[1]

    def dice(masks: np.ndarray) -> list[float]:
        acc = Accumulator()
        for start, logits in split_logits(dark_reader, split.images, split.large_images()):
            acc.add(logits, masks[start : start + len(logits)])
        return acc.per_image_dice().tolist()

    assert dice(truth) == [1.0, 1.0]
    assert dice(split.masks)[1] < 0.95
    plain = CrackSplit(["a"], images[:1], small_mask[None])
    assert plain.scoring_masks() is plain.masks

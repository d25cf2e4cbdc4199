"""A classical crack detector to beat: black-hat morphology + Otsu threshold.

    python bench/crack_baseline.py [--quick] [--out FILE]

Cracks are thin dark lines on brighter asphalt. After a Gaussian blur (aggregate texture), the
morphological black-hat (closing minus image) with a disc a little wider than a crack keeps exactly
such thin dark structures; Otsu's threshold splits that response into crack / background. One Otsu
pass over the whole response mostly separates texture from smooth asphalt, so ``otsu_passes`` > 1
applies Otsu again among the pixels above the last threshold (the strongest dark lines). Connected
components smaller than ``min_area`` pixels are dropped as texture.

The four settings are chosen on the validation split (grid search by mean Dice), then scored on the
test split with the same metric code as the models (``components.crack.metrics.Accumulator``:
per-image Dice/IoU with the smoothing of docs/architecture.md#metrics, pooled precision/recall). ``segment`` is numpy
+ OpenCV
only; loading the splits goes through ``components.crack.data`` (TensorFlow is imported there).
"""

from __future__ import annotations

import itertools
import time

import cv2
import numpy as np

KERNELS = (7, 11, 15, 21)
BLURS = (3, 5, 9)
MIN_AREAS = (0, 50, 150, 400)
PASSES = (1, 2, 3)


def segment(
    image: np.ndarray, kernel: int = 15, blur: int = 9, min_area: int = 400, otsu_passes: int = 2
) -> np.ndarray:
    """Crack mask (bool, HxW) of one RGB uint8 image."""
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    if blur > 1:
        gray = cv2.GaussianBlur(gray, (blur, blur), 0)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (kernel, kernel))
    response = cv2.morphologyEx(gray, cv2.MORPH_BLACKHAT, disc)
    level, _ = cv2.threshold(response, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    for _ in range(otsu_passes - 1):  # Otsu again among the pixels above the last level
        above = response[response > level]
        if len(above) < 16:
            break
        level, _ = cv2.threshold(above.reshape(1, -1), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    mask = response > level
    if min_area > 0:
        n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
        keep = np.zeros(n, bool)
        keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= min_area
        mask = keep[labels]
    return mask


def as_logits(mask: np.ndarray) -> np.ndarray:
    """A mask as 2-class logits whose argmax is the mask (so the models' metric code scores it)."""
    return np.stack([np.full(mask.shape, 0.5, np.float32), mask.astype(np.float32)], -1)


def score(images: np.ndarray, masks: np.ndarray, **settings) -> dict:
    from components.crack.metrics import Accumulator

    acc = Accumulator()
    for image, truth in zip(images, masks):
        acc.add(as_logits(segment(image, **settings))[None], truth[None])
    return acc.result()


def tune(images: np.ndarray, masks: np.ndarray, quick: bool = False) -> tuple[dict, list[dict]]:
    """The settings with the best mean Dice on (images, masks), and every setting tried."""
    grid = ((11, 15), (5, 9), (50, 400), (1, 2)) if quick else (KERNELS, BLURS, MIN_AREAS, PASSES)
    tried = []
    for k, b, a, n in itertools.product(*grid):
        s = {"kernel": k, "blur": b, "min_area": a, "otsu_passes": n}
        tried.append({**s, "dice": score(images, masks, **s)["dice"]})
    best = max(tried, key=lambda r: r["dice"])
    return {k: best[k] for k in ("kernel", "blur", "min_area", "otsu_passes")}, tried


def run(val, test, quick: bool = False) -> dict:
    """Tune on ``val``, score on ``test`` (CrackSplit-like: .images, .masks), time per image."""
    settings, tried = tune(val.images, val.masks, quick)
    metrics = score(test.images, test.masks, **settings)
    times = []
    for image in test.images[: 10 if quick else len(test.images)]:
        t0 = time.perf_counter()
        segment(image, **settings)
        times.append((time.perf_counter() - t0) * 1000)
    return {
        **metrics,
        "settings": settings,
        "grid": len(tried),
        "val_dice": max(r["dice"] for r in tried),
        "latency_ms_p50": float(np.median(times)),
        "latency_ms_p95": float(np.percentile(times, 95)),
        "test_images": len(test.images),
    }


def main(argv: list[str] | None = None) -> dict:
    from bench.common import REPO, finish, parse_common
    from components.config import load_params
    from components.crack.data import load_split

    args = parse_common(argv, __doc__.splitlines()[0])
    params = load_params(REPO / "params.yaml")
    size = tuple(params.crack.model.input_size)
    manifest = REPO / "data/manifests/crack.parquet"
    val, test = (
        load_split(
            manifest,
            REPO / "data/crack",
            s,
            size,
            params.data.crack.line_thickness,
            params.data.max_pixels,
            limit=12 if args.quick else None,
        )
        for s in ("val", "test")
    )
    result = run(val, test, args.quick)
    print(
        f"black-hat + Otsu ({result['settings']}): test dice {result['dice']:.4f}, iou {result['iou']:.4f}, "
        f"precision {result['precision']:.3f}, recall {result['recall']:.3f}, {result['latency_ms_p50']:.1f} ms/img"
    )
    return finish(args, result)


if __name__ == "__main__":
    main()

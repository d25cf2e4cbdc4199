"""Tiny datasets on disk: hand-made frames in the canonical formats (independent of the generators),
and real generator frames with their manifests (every frame in every split)."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from components.data.crack_format import write_pline
from components.data.manifest import FixedSplit, Splits, build_ocr_manifest
from components.data.ocr_format import OcrAnnotation, Shape, write_labelme
from components.data.synth_resistors import render_resistor_frame

SIZE = (640, 480)


def _noise_image(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    return rng.integers(0, 255, size=(h, w, 3), dtype=np.uint8)


def make_ocr_dataset(root: Path, n: int = 6, size: tuple[int, int] = (640, 480), seed: int = 0) -> list[str]:
    """n JPEG frames, each with one ROI reading '1R0' and its three character boxes."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(n):
        name = f"s{i:03d}"
        cv2.imwrite(str(root / f"{name}.jpg"), _noise_image(rng, size[1], size[0]))
        shapes = [
            Shape("resistor", 100, 100, 300, 180, 0, "1R0"),
            Shape("1", 110, 110, 150, 170, 0),
            Shape("R", 160, 110, 200, 170, 0),
            Shape("0", 210, 110, 250, 170, 0),
        ]
        write_labelme(OcrAnnotation(f"{name}.jpg", size[0], size[1], shapes), root / f"{name}.json")
        names.append(name)
    return names


def make_crack_dataset(root: Path, n: int = 6, size: tuple[int, int] = (384, 288), seed: int = 0) -> list[str]:
    """n PNG frames, odd ones with one diagonal crack polyline, even ones crack-free."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(n):
        name = f"c{i:03d}"
        cv2.imwrite(str(root / "images" / f"{name}.png"), _noise_image(rng, size[1], size[0]))
        lines = [np.array([[10.0, 10.0], [200.0, 150.0], [300.0, 160.0]])] if i % 2 else []
        write_pline(lines, root / "annotations" / f"{name}_PLINE.json")
        names.append(name)
    return names


def make_resistor_dataset(root: Path, n: int = 6, seed: int = 7) -> Path:
    """``n`` generator frames under ``root/data/ocr`` and their manifest under ``root/data/manifests``;
    every frame is in every split (train = val = test) so a handful of frames exercises all stages."""
    data = root / "data/ocr"
    data.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        image, ann = render_resistor_frame([seed, i], *SIZE)
        name = f"res_{i:06d}"
        cv2.imwrite(str(data / f"{name}.jpg"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])
        ann.image_path = f"{name}.jpg"
        write_labelme(ann, data / f"{name}.json")
    samples, boxes = build_ocr_manifest(data, Splits(0.8, 0.1, 0.1), 50_000_000, workers=1, progress=False)
    (root / "data/manifests").mkdir(parents=True, exist_ok=True)
    every = pd.concat([samples.assign(split=s) for s in ("train", "val", "test")], ignore_index=True)
    every.to_parquet(root / "data/manifests/ocr.parquet", index=False)
    boxes.to_parquet(root / "data/manifests/ocr_boxes.parquet", index=False)
    for eval_set in ("test", "ood"):  # the fixed evaluation sets (eval_data_ocr's outputs): the same frames
        shutil.copytree(data, root / f"data/eval/ocr/{eval_set}", dirs_exist_ok=True)
        samples, boxes = build_ocr_manifest(
            root / f"data/eval/ocr/{eval_set}", FixedSplit(eval_set), 50_000_000, workers=1, progress=False
        )
        samples.to_parquet(root / f"data/manifests/ocr_{eval_set}.parquet", index=False)
        boxes.to_parquet(root / f"data/manifests/ocr_{eval_set}_boxes.parquet", index=False)
    return root

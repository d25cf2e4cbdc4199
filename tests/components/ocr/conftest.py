"""Tiny OCR fixtures: a few real synthetic frames (640x480) with a manifest, and tiny params."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import pandas as pd
import pytest
import yaml

from components.data.manifest import FixedSplit, Splits, build_ocr_manifest
from components.data.ocr_format import write_labelme
from components.data.synth_resistors import render_resistor_frame
from tests.conftest import REPO

SIZE = (640, 480)


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
    for eval_set in ("test", "ood"):   # the fixed evaluation sets (eval_data_ocr's outputs): the same frames
        shutil.copytree(data, root / f"data/eval/ocr/{eval_set}", dirs_exist_ok=True)
        samples, boxes = build_ocr_manifest(root / f"data/eval/ocr/{eval_set}", FixedSplit(eval_set), 50_000_000,
                                            workers=1, progress=False)
        samples.to_parquet(root / f"data/manifests/ocr_{eval_set}.parquet", index=False)
        boxes.to_parquet(root / f"data/manifests/ocr_{eval_set}_boxes.parquet", index=False)
    return root


def tiny_params(epochs: int = 2) -> dict:
    """The repo's params.yaml with the OCR section shrunk to seconds of CPU."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    o = params["ocr"]
    o["threads"] = 2
    o["roi"].update(input_size=[160, 120], width_mult=0.25, epochs=epochs, batch_size=4, save_cycle=1,
                    score_threshold=0.01)
    o["char"].update(crop_size=64, strip_size=[96, 48], width_mult=0.25, epochs=epochs, batch_size=8, save_cycle=1,
                     roi_score_threshold=0.01, score_threshold=0.01)
    o["eval"].update(latency_warmup=1, latency_runs=3, overlays=2, roi_score_threshold=0.01,
                     char_score_threshold=0.01)
    return params


@pytest.fixture(scope="session")
def tiny_ocr(tmp_path_factory) -> Path:
    return make_resistor_dataset(tmp_path_factory.mktemp("ocr_tiny"))

"""Datasets of the two OCR stages, read from the validated manifest (never from the folder).

* Stage 1 (ROI): every usable frame downsampled by 4 (INTER_AREA, as at inference), held in memory
  as uint8 tensors for the whole run: decoding a 1280x960 JPEG costs more than a training step.
* Stage 2 (characters): crops of the *frozen stage-1 model's predictions* on the frames (plus,
  optionally, of the ground-truth ROIs), grown by a margin and letterboxed to a square, or turned
  into upright strips (``crop: upright``, ``preprocess.upright_strip``). Ground-truth
  characters are mapped into crop coordinates; a crop of a false-positive ROI keeps no characters
  and teaches the model to stay quiet there. Training thus sees the crops inference will see.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset
from tqdm import tqdm

from components.data.ocr_format import CHAR_CLASSES, read_labelme
from components.io import read_image, resolve_inside

# torch-free image operations, re-exported here (their historical home)
from components.ocr.preprocess import (
    crop_window,
    downsample,
    letterbox,
    to_chw,
    unturn_boxes,
    upright_strip,
)

CHAR_INDEX = {c: i + 1 for i, c in enumerate(CHAR_CLASSES)}  # 0 is the SSD background
MIN_VISIBLE = 0.6  # a character cut by the crop border is kept if this share of its box is inside


@dataclass
class Frame:
    """One annotated frame: ROI boxes (+ their text) and character boxes, full-resolution pixels."""

    name: str
    image_path: Path
    width: int
    height: int
    rois: np.ndarray  # (R, 4) float32 x1 y1 x2 y2
    texts: list[str]
    chars: np.ndarray  # (C, 4)
    char_labels: np.ndarray  # (C,) int64 in 1..36
    char_group: np.ndarray  # (C,) index into rois, -1 if none

    def image(self, max_pixels: int = 50_000_000) -> np.ndarray:
        return read_image(self.image_path, max_pixels=max_pixels)


def load_frames(manifest: str | Path, root: str | Path, split: str | Sequence[str], limit: int = 0) -> list[Frame]:
    """Frames of ``split`` with status ok, in manifest order; ``limit`` > 0 keeps the first N."""
    root = Path(root)
    df = pd.read_parquet(manifest)
    splits = [split] if isinstance(split, str) else list(split)
    df = df[(df.status == "ok") & df.split.isin(splits)]
    if limit:
        df = df.head(limit)
    frames = []
    for row in df.itertuples():
        ann = read_labelme(resolve_inside(root, row.annotation))
        rois = ann.rois
        gid = {r.group_id: i for i, r in enumerate(rois) if r.group_id is not None}
        chars = [s for s in ann.shapes if not s.is_roi and s.label in CHAR_INDEX]
        frames.append(
            Frame(
                name=row.name,
                image_path=resolve_inside(root, row.path),
                width=int(row.width),
                height=int(row.height),
                rois=np.array([r.box for r in rois], np.float32).reshape(-1, 4),
                texts=[r.text or "" for r in rois],
                chars=np.array([c.box for c in chars], np.float32).reshape(-1, 4),
                char_labels=np.array([CHAR_INDEX[c.label] for c in chars], np.int64),
                char_group=np.array([gid.get(c.group_id, -1) for c in chars], np.int64),
            )
        )
    return frames


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """HxWx3 uint8 -> 3xHxW float in [0, 1]."""
    return torch.from_numpy(to_chw(image))


def _imap(fn, items, desc: str, progress: bool):
    return (fn(x) for x in tqdm(items, desc=desc, unit="img", disable=not progress, dynamic_ncols=True))


class RoiDataset(Dataset):
    """Downsampled frames (uint8, in memory) with their ROI boxes scaled to the input size."""

    def __init__(
        self, frames: list[Frame], size: Sequence[int], transform: Callable | None = None, progress: bool = True
    ):
        self.frames, self.size, self.transform = frames, tuple(size), transform
        self.images = list(
            _imap(lambda f: torch.from_numpy(downsample(f.image(), self.size)), frames, "load frames /4", progress)
        )
        self.boxes = [f.rois * np.array([size[0] / f.width, size[1] / f.height] * 2, np.float32) for f in frames]

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, i: int):
        img = self.images[i].numpy()
        boxes = self.boxes[i].copy()
        labels = np.ones(len(boxes), np.int64)
        if self.transform is not None:
            img, boxes, labels = self.transform(img, boxes, labels)
        return to_tensor(img), {
            "boxes": torch.from_numpy(boxes).float().reshape(-1, 4),
            "labels": torch.from_numpy(labels),
        }


# --------------------------------------------------------------------------------------- crops ---


def chars_in_window(frame: Frame, window: Sequence[int], scale: float) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Ground-truth characters mostly inside ``window``, in letterboxed-crop coordinates."""
    if not len(frame.chars):
        return np.zeros((0, 4), np.float32), np.zeros(0, np.int64), []
    x1, y1, x2, y2 = window
    b = frame.chars
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    cb = np.stack([b[:, 0].clip(x1, x2), b[:, 1].clip(y1, y2), b[:, 2].clip(x1, x2), b[:, 3].clip(y1, y2)], 1)
    vis = (cb[:, 2] - cb[:, 0]) * (cb[:, 3] - cb[:, 1]) / np.maximum(area, 1e-6)
    keep = np.flatnonzero(vis >= MIN_VISIBLE)
    boxes = (cb[keep] - np.array([x1, y1, x1, y1], np.float32)) * scale
    return boxes.astype(np.float32), frame.char_labels[keep], [int(frame.char_group[k]) for k in keep]


def chars_in_strip(frame: Frame, m: np.ndarray, size: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Ground-truth characters mostly inside the strip of map ``m`` (frame -> strip, ``size`` =
    [w, h]), in strip coordinates: upright ink boxes estimated from the frame's boxes (``unturn_boxes``)."""
    if not len(frame.chars):
        return np.zeros((0, 4), np.float32), np.zeros(0, np.int64)
    b = unturn_boxes(frame.chars, m)
    w, h = float(size[0]), float(size[1])
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    cb = np.stack([b[:, 0].clip(0, w), b[:, 1].clip(0, h), b[:, 2].clip(0, w), b[:, 3].clip(0, h)], 1)
    vis = (cb[:, 2] - cb[:, 0]) * (cb[:, 3] - cb[:, 1]) / np.maximum(area, 1e-6)
    keep = np.flatnonzero(vis >= MIN_VISIBLE)
    return cb[keep].astype(np.float32), frame.char_labels[keep]


@dataclass
class Crop:
    image: np.ndarray  # size x size x 3 uint8 (square) or h x w x 3 (upright strip)
    boxes: np.ndarray  # (N, 4) crop coordinates
    labels: np.ndarray  # (N,) 1..36
    text: str  # ground-truth text of the ROI this crop mostly covers ("" if none)
    source: str  # "pred" (stage-1 box) or "gt"


def _best_roi(frame: Frame, window: Sequence[int]) -> int:
    if not len(frame.rois):
        return -1
    from torchvision.ops import box_iou

    iou = box_iou(torch.tensor([list(window)], dtype=torch.float32), torch.from_numpy(frame.rois))[0]
    return int(iou.argmax()) if float(iou.max()) >= 0.5 else -1


def make_crops(
    frame: Frame,
    image: np.ndarray,
    roi_boxes: np.ndarray,
    margin: float,
    size: int | Sequence[int],
    source: str,
    crop: str = "square",
) -> list[Crop]:
    """One crop per ROI box: letterboxed ``size`` x ``size`` (``square``) or an upright strip of
    ``size`` = [w, h] (``upright``), the same function as inference (``pipeline.roi_crops``)."""
    crops = []
    for box in roi_boxes:
        win = crop_window(box, margin, frame.width, frame.height)
        if win[2] - win[0] < 4 or win[3] - win[1] < 4:
            continue
        if crop == "upright":
            img, m = upright_strip(image, box, margin, size)
            boxes, labels = chars_in_strip(frame, m, size)
        else:
            img, scale = letterbox(image, win, int(size))
            boxes, labels, _ = chars_in_window(frame, win, scale)
        best = _best_roi(frame, win)
        crops.append(Crop(img, boxes, labels, frame.texts[best] if best >= 0 else "", source))
    return crops


@torch.no_grad()
def predict_rois(
    roi_model, image: np.ndarray, size: Sequence[int], score_threshold: float, device: torch.device | str = "cpu"
) -> tuple[np.ndarray, np.ndarray]:
    """Stage 1 on one full frame: boxes (full-resolution pixels) and scores above the threshold."""
    h, w = image.shape[:2]
    det = roi_model([to_tensor(downsample(image, size)).to(device)])[0]
    keep = det["scores"] >= score_threshold
    boxes = det["boxes"][keep].cpu().numpy() * np.array([w / size[0], h / size[1]] * 2, np.float32)
    return boxes.astype(np.float32), det["scores"][keep].cpu().numpy()


def build_crops(
    frames: list[Frame],
    roi_model,
    roi_size: Sequence[int],
    roi_score_threshold: float,
    margin: float,
    size: int | Sequence[int],
    with_gt: bool,
    device: torch.device | str = "cpu",
    progress: bool = True,
    crop: str = "square",
) -> list[Crop]:
    """Stage-2 samples: crops of the frozen stage-1 predictions (and of the ground truth)."""
    crops: list[Crop] = []
    for f in tqdm(frames, desc="stage-1 crops", unit="img", disable=not progress, dynamic_ncols=True):
        image = f.image()
        boxes, _ = predict_rois(roi_model, image, roi_size, roi_score_threshold, device)
        crops += make_crops(f, image, boxes, margin, size, "pred", crop)
        if with_gt:
            crops += make_crops(f, image, f.rois, margin, size, "gt", crop)
    return crops


class CropDataset(Dataset):
    def __init__(self, crops: list[Crop], transform: Callable | None = None):
        self.crops, self.transform = crops, transform

    def __len__(self) -> int:
        return len(self.crops)

    def __getitem__(self, i: int):
        c = self.crops[i]
        img, boxes, labels = c.image, c.boxes.copy(), c.labels.copy()
        if self.transform is not None:
            img, boxes, labels = self.transform(img, boxes, labels)
        return to_tensor(img), {
            "boxes": torch.from_numpy(boxes).float().reshape(-1, 4),
            "labels": torch.from_numpy(labels),
        }


def collate(batch):
    return tuple(zip(*batch))

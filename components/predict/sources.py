"""What a batch run reads: the images of a folder, every Nth frame of a video, or one image file.

Every image gets a stable *key*, the value of the ``image`` column of its result rows: the path
relative to the input folder (POSIX separators), or ``<video name>#frame=<index>`` for a video
frame. ``--resume`` matches keys, so they must not depend on where the input folder is mounted.

A folder is walked recursively and in sorted order (reruns see the same order). Files whose
extension is not an image's are not processed but listed with the reason (``skipped``), so
nothing is silently ignored; a file with an image extension that fails to decode is processed and
becomes an error row (a camera's truncated JPEG is a result worth seeing, not a reason to stop).
Images are decoded by ``components.io.read_image`` with the serving rule for the smallest usable
image (``MIN_PREDICT_SIDE``); a corrupt frame in the middle of a video is skipped, becomes an error
row, and the frames after it are still read.

Outputs never go next to the inputs: ``check_output_location`` refuses an output folder that is
the input folder or inside it (overlays named like the inputs would otherwise mix with them, and a
rerun would read its own overlays as new images).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import cv2
import numpy as np

from components.io import DEFAULT_MAX_PIXELS, MIN_PREDICT_SIDE, read_image
from components.predict import PredictError

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})
VIDEO_EXTENSIONS = frozenset({".mp4", ".avi", ".mov", ".mkv", ".m4v", ".mpg", ".mpeg", ".webm"})


@dataclass
class Item:
    """One image to process: its key, how to get its pixels (RGB uint8), and its overlay path."""

    key: str
    load: Callable[[], np.ndarray]
    overlay: str | None = None  # relative PNG path under OUT/overlays (folder inputs only)


@dataclass
class FolderSource:
    """The images of a folder, recursively (or a single image file: a folder of one)."""

    root: Path
    files: list[str]  # relative POSIX paths, sorted
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (relative path, reason)
    max_pixels: int = DEFAULT_MAX_PIXELS
    kind: str = "folder"

    @classmethod
    def scan(cls, root: Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> FolderSource:
        files, skipped = [], []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                rel = (Path(dirpath) / name).relative_to(root).as_posix()
                ext = Path(name).suffix.lower()
                if ext in IMAGE_EXTENSIONS:
                    files.append(rel)
                elif ext in VIDEO_EXTENSIONS:
                    skipped.append((rel, "video file: pass it as INPUT on its own to process its frames"))
                else:
                    skipped.append((rel, f"not an image (extension {ext or 'none'!r})"))
        return cls(root, files, skipped, max_pixels)

    def expected(self, done: set[str]) -> int:
        return sum(1 for f in self.files if f not in done)

    def items(self, done: set[str]) -> Iterator[Item]:
        for rel in self.files:
            if rel in done:
                continue
            path = self.root / rel
            # a partial, not a closure over the source: an item sent to a Dask worker carries its path only
            yield Item(rel, partial(read_image, path, self.max_pixels, min_side=MIN_PREDICT_SIDE), overlay_name(rel))

    def describe(self) -> str:
        return f"{len(self.files)} images in {self.root}" + (
            f" ({len(self.skipped)} other files skipped)" if self.skipped else ""
        )


def overlay_name(rel: str) -> str:
    """``a/b.jpg`` -> ``a/b.jpg.png``, ``a/b.png`` -> ``a/b.png``: the input's own extension stays in
    the name, so ``b.jpg`` and ``b.png`` in one folder do not share an overlay."""
    return rel if rel.lower().endswith(".png") else rel + ".png"


#: Unreadable frames in a row after which a video is taken to have ended (truncated file).
MAX_BAD_FRAMES = 25


def _unreadable(path: Path, index: int) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        raise PredictError(
            f"{path.name}#frame={index}: frame cannot be decoded (corrupt data in the video); "
            "skipped, the following frames were read"
        )

    return load


@dataclass
class VideoSource:
    """Every ``stride``-th frame of a video file (OpenCV ``VideoCapture``), from frame 0."""

    path: Path
    stride: int = 1
    fps: float = 0.0
    frame_count: int = 0  # as the container reports it; may be approximate
    size: tuple[int, int] = (0, 0)  # width, height
    kind: str = "video"
    skipped: list[tuple[str, str]] = field(default_factory=list)
    frames_read: int = 0  # frames decoded or grabbed by the last items() pass
    bad_frames: list[int] = field(default_factory=list)  # unreadable frames skipped mid-file (last pass)

    @classmethod
    def open(cls, path: Path, stride: int = 1) -> VideoSource:
        if stride < 1:
            raise PredictError(f"--stride {stride}: must be 1 or more")
        cap = cv2.VideoCapture(str(path))
        try:
            if not cap.isOpened():
                raise PredictError(f"{path}: cannot be opened as a video (unsupported or corrupt file)")
            fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
            count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
            size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        finally:
            cap.release()
        return cls(path, stride, fps if math.isfinite(fps) and fps > 0 else 25.0, max(count, 0), size)

    @property
    def name(self) -> str:
        return self.path.name

    def key(self, index: int) -> str:
        return f"{self.name}#frame={index}"

    def expected(self, done: set[str]) -> int:
        picked = range(0, self.frame_count, self.stride)
        return sum(1 for i in picked if self.key(i) not in done)

    def items(self, done: set[str]) -> Iterator[Item]:
        """Decode only the frames that are processed; the others are grabbed (demuxed, not decoded).

        A frame that cannot be read in the middle of the file (a corrupt packet) is skipped and the
        reading goes on; each such wanted frame becomes an item whose loading fails, so it is
        recorded as an error row naming the frame, once a later frame proves the file goes on.
        :data:`MAX_BAD_FRAMES` unreadable frames in a row are taken as the end of the file (a
        truncated file, reported by the runner's "video ended at frame" warning).
        """
        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            raise PredictError(f"{self.path}: cannot be opened as a video")
        index = 0
        pending: list[int] = []  # unreadable wanted frames since the last good one
        bad_run = 0
        self.bad_frames = []
        try:
            while bad_run < MAX_BAD_FRAMES:
                wanted = index % self.stride == 0 and self.key(index) not in done
                if wanted:
                    ok, frame = cap.read()
                else:
                    ok, frame = cap.grab(), None
                if not ok:
                    bad_run += 1
                    if wanted:
                        pending.append(index)
                    index += 1
                    continue
                for bad in pending:  # the file went on after them: they were corrupt, not the end
                    self.bad_frames.append(bad)
                    yield Item(self.key(bad), _unreadable(self.path, bad))
                pending, bad_run = [], 0
                if wanted:
                    rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
                    yield Item(self.key(index), lambda rgb=rgb: rgb)
                index += 1
                self.frames_read = index
        finally:
            cap.release()

    def describe(self) -> str:
        every = f", every {self.stride}th frame" if self.stride > 1 else ""
        return (
            f"video {self.path} ({self.frame_count} frames at {self.fps:g} fps, {self.size[0]}x{self.size[1]}{every})"
        )


Source = FolderSource | VideoSource


def open_source(path: str | Path, stride: int = 1, max_pixels: int = DEFAULT_MAX_PIXELS) -> Source:
    """The source behind INPUT: a folder, a video file (by extension) or a single image file."""
    path = Path(path)
    if path.is_dir():
        return FolderSource.scan(path, max_pixels)
    if not path.exists():
        raise PredictError(f"{path}: input not found (expected a folder of images or a video file)")
    ext = path.suffix.lower()
    if ext in VIDEO_EXTENSIONS:
        return VideoSource.open(path, stride)
    if ext in IMAGE_EXTENSIONS:
        return FolderSource(path.parent, [path.name], [], max_pixels)
    raise PredictError(
        f"{path}: neither a folder, a video ({', '.join(sorted(VIDEO_EXTENSIONS))}) "
        f"nor an image ({', '.join(sorted(IMAGE_EXTENSIONS))})"
    )


def check_output_location(input_path: str | Path, out: str | Path) -> None:
    """Refuse an output folder that would put results next to the inputs.

    A folder input: OUT may be neither the folder nor anywhere inside it. A file input (video or
    image): OUT may be neither the file nor the folder holding it. Symlinks are resolved first.
    """
    src = Path(input_path).resolve()
    dst = Path(out).resolve()
    if src.is_dir():
        if dst == src or src in dst.parents:
            raise PredictError(
                f"output folder {out} is {'the input folder' if dst == src else 'inside the input folder'} "
                f"{input_path}; choose a folder outside it (outputs are never written next to the inputs)"
            )
    elif dst == src or dst == src.parent:
        raise PredictError(
            f"output folder {out} is the folder holding the input {input_path}; choose another folder "
            f"(outputs are never written next to the inputs)"
        )
    if dst.exists() and not dst.is_dir():
        raise PredictError(f"output {out} exists and is not a folder")

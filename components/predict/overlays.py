"""Where the pictures of a batch run go, and the crack overlay itself.

* Folder input: one PNG per image under ``OUT/overlays/``, mirroring the input's relative paths
  (``a/b.jpg`` -> ``OUT/overlays/a/b.jpg.png``), each written atomically.
* Video input: one annotated video ``OUT/<video stem>.annotated.mp4`` (OpenCV ``VideoWriter``,
  ``mp4v``) holding the processed frames at ``fps / stride``. It is written under a temporary name
  and renamed when closed, which also happens on Ctrl-C (the frames so far make a playable video).
  A resumed run writes the frames it adds to ``<stem>.annotated.from-<frame>.mp4`` instead of
  touching the first file.

The OCR overlay is ``components.ocr.plots.overlay`` (boxes, read string, character boxes). The crack
overlay is drawn here because ``components.crack.evaluate`` imports TensorFlow.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from components.ocr.plots import write_png
from components.predict.sources import Item

CRACK_COLOR = np.array([255, 40, 40], np.float32)  # RGB


def crack_overlay(image: np.ndarray, mask: np.ndarray, masking_rate: float, max_side: int = 1280) -> np.ndarray:
    """The image with predicted crack pixels tinted red, their outline, and the masking rate."""
    img = image.astype(np.float32)
    m = np.asarray(mask, bool)
    img[m] = 0.45 * img[m] + 0.55 * CRACK_COLOR
    out = img.clip(0, 255).astype(np.uint8)
    contours, _ = cv2.findContours(m.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(out, contours, -1, (255, 255, 0), 1)
    scale = max_side / max(out.shape[:2])
    if scale < 1:
        out = cv2.resize(out, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    label = f"crack {100 * masking_rate:.2f}%"
    (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.6, 1)
    cv2.rectangle(out, (0, 0), (tw + 10, th + 12), (0, 0, 0), -1)
    cv2.putText(out, label, (5, th + 6), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)
    return out


class PngTree:
    """Overlays as PNG files under ``OUT/overlays`` at the inputs' relative paths."""

    def __init__(self, out_dir: Path):
        self.root = Path(out_dir) / "overlays"

    def write(self, item: Item, rgb: np.ndarray) -> None:
        if item.overlay is not None:
            write_png(self.root / item.overlay, rgb)

    def close(self) -> list[Path]:
        return []


class VideoOverlay:
    """The processed frames of one video as an annotated mp4, created at the first frame written."""

    def __init__(self, out_dir: Path, video_name: str, fps: float):
        self.out_dir, self.stem, self.fps = Path(out_dir), Path(video_name).stem, fps
        self.path: Path | None = None
        self.tmp: Path | None = None
        self.size: tuple[int, int] | None = None
        self.writer: cv2.VideoWriter | None = None
        self.frames = 0

    def _open(self, first_key: str, size: tuple[int, int]) -> None:
        first = int(first_key.rpartition("#frame=")[2] or 0)
        path = self.out_dir / f"{self.stem}.annotated.mp4"
        if first > 0 or path.exists():  # a resumed run: keep the first part as it is
            path = path.with_name(f"{self.stem}.annotated.from-{first}.mp4")
        self.path, self.tmp, self.size = path, path.with_name(f".{path.stem}.tmp.mp4"), size
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.writer = cv2.VideoWriter(str(self.tmp), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, size)
        if not self.writer.isOpened():
            raise OSError(f"{self.tmp}: OpenCV cannot write an mp4v video here")

    def write(self, item: Item, rgb: np.ndarray) -> None:
        if self.writer is None:
            self._open(item.key, (rgb.shape[1], rgb.shape[0]))
        if (rgb.shape[1], rgb.shape[0]) != self.size:
            rgb = cv2.resize(rgb, self.size, interpolation=cv2.INTER_AREA)
        self.writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        self.frames += 1

    def close(self) -> list[Path]:
        """Finish the file and give it its final name; the files written (none without frames)."""
        if self.writer is None:
            return []
        self.writer.release()
        self.writer = None
        os.replace(self.tmp, self.path)
        return [self.path]

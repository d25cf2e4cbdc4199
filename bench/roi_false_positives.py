"""What the deployable OCR's false resistors are: kind, stage-2 status and score, per family, with a picture.

    python -m bench.roi_false_positives [--form int8] [--max-frames 0] [--sheet plots/roi_false_positives.png]

Runs the exported two-stage path (``models/export/ocr``, ONNX Runtime) on the fixed ``test`` and
``ood`` sets and matches each frame's reported resistors to the ground truth as the evaluation does
(greedy by score, IoU >= 0.5). Every unmatched report (a false positive, what ``roi_precision``
counts against) gets a kind:

* ``duplicate``: it overlaps (IoU >= 0.1) a resistor that another report already matched;
* ``misplaced``: it overlaps a resistor no report matched (the box is off, or the body is cut);
* ``background``: it overlaps no resistor (a capacitor, a tape pocket, a label, texture).

Matched reports get the kind ``resistor``. Printed: counts by kind x stage-2 status (read / invalid /
unreadable), by family, and by stage-1 score; then ROI precision and recall as reported, and as they
would be if a ROI where stage 2 reads no character were not reported unless stage 1 is at least this
sure of it (what an unreadable ROI costs, in real resistors lost against false ones removed), and
the same with ``invalid`` ROIs (characters that form no valid marking) held to that score too. The
contact sheet shows the first false positives' windows, for looking at. One model, one draw.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from bench.common import REPO

DUPLICATE_IOU = 0.1  # overlap with a resistor above which a report is about that resistor


def report_rows(ocr, frames, families: dict[str, str], set_name: str) -> tuple[list[dict], list, int]:
    """One row per reported resistor (kind ``resistor`` when it matches one), (image, box) of each
    false one for the sheet, and the number of labelled resistors."""
    from components.ocr.metrics import box_iou, match_rois

    rows, crops, labelled = [], [], 0
    for f in frames:
        image = f.image()
        result = ocr(image)
        boxes = np.array([r.box for r in result.rois], np.float64).reshape(-1, 4)
        scores = np.array([r.score for r in result.rois], np.float64)
        gt = np.asarray(f.rois, np.float64).reshape(-1, 4)
        labelled += len(gt)
        matched = match_rois(boxes, scores, gt)
        hit = set(m for m in matched if m >= 0)
        iou = box_iou(boxes, gt) if len(gt) and len(boxes) else np.zeros((len(boxes), len(gt)))
        found_gt = np.array([m >= 0 for m in matched], bool)
        for i, roi in enumerate(result.rois):
            near = iou[i] >= DUPLICATE_IOU
            if i in hit:
                kind = "resistor"
            else:
                kind = "background" if not near.any() else ("duplicate" if found_gt[near].all() else "misplaced")
                crops.append((image, roi.box))
            rows.append(
                {
                    "set": set_name,
                    "family": families.get(f.name, "unknown"),
                    "kind": kind,
                    "status": roi.status,
                    "score": float(roi.score),
                    "text": roi.text,
                }
            )
    return rows, crops, labelled


def unreadable_rule(
    rows: pd.DataFrame,
    labelled: int,
    min_scores=(0.3, 0.5, 0.7, 0.9, 1.01),
    statuses: tuple[str, ...] = ("unreadable",),
) -> pd.DataFrame:
    """ROI precision and recall of one set if ROIs of ``statuses`` (unreadable ones; with
    ``("unreadable", "invalid")`` also those whose characters form no valid marking) were reported
    only from stage-1 score ``min_score`` on (the first row, at or under the report threshold, is
    what is reported now)."""
    out = []
    for t in min_scores:
        kept = rows[~rows["status"].isin(statuses) | (rows["score"] >= t)]
        real = int((kept["kind"] == "resistor").sum())
        out.append(
            {
                "unreadable_min_score": t,
                "reported": len(kept),
                "real": real,
                "precision": real / max(len(kept), 1),
                "recall": real / max(labelled, 1),
            }
        )
    return pd.DataFrame(out)


def crop_with_context(image: np.ndarray, box, context: float = 1.0) -> np.ndarray:
    """The box grown by ``context`` x its size on each side, with the box drawn in red."""
    import cv2

    x1, y1, x2, y2 = (float(v) for v in box)
    mx, my = context * (x2 - x1), context * (y2 - y1)
    h, w = image.shape[:2]
    a, b = max(0, int(x1 - mx)), max(0, int(y1 - my))
    c, d = min(w, int(x2 + mx)), min(h, int(y2 + my))
    out = np.ascontiguousarray(image[b:d, a:c].copy())
    cv2.rectangle(out, (int(x1) - a, int(y1) - b), (int(x2) - a, int(y2) - b), (255, 0, 0), 2)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--form", default="int8", choices=("int8", "fp32"))
    ap.add_argument("--export", default=str(REPO / "models/export/ocr"))
    ap.add_argument("--max-frames", type=int, default=0, help="frames per set (0 = all)")
    ap.add_argument("--sheet", default="", help="PNG contact sheet of the first 48 false positives")
    args = ap.parse_args(argv)
    import cv2

    from components.data.contact_sheet import contact_sheet, save_png
    from components.export.ocr_runtime import OnnxTwoStageOcr
    from flows.ocr_common import load_eval_frames
    from flows.paths import set_manifest

    cv2.setNumThreads(1)
    ocr = OnnxTwoStageOcr.load(args.export, form=args.form, threads=1)
    rows, crops, labelled = [], [], {}
    for name, frames in load_eval_frames(REPO, args.max_frames).items():
        manifest = pd.read_parquet(REPO / set_manifest("ocr", name))
        r, c, labelled[name] = report_rows(ocr, frames, dict(zip(manifest["name"], manifest["family"])), name)
        rows, crops = rows + r, crops + c
        print(f"{name}: {len(frames)} frames, {len(c)} false positives", flush=True)
    every = pd.DataFrame(rows, columns=["set", "family", "kind", "status", "score", "text"])
    d = every[every["kind"] != "resistor"].copy()
    d["score"] = pd.cut(d["score"], [0, 0.4, 0.5, 0.7, 0.9, 1.0], include_lowest=True)
    pd.set_option("display.width", 140)
    print(f"\nall reports by set, kind, status:\n{every.groupby(['set', 'kind', 'status']).size().to_string()}")
    for by in (["set", "family", "kind"], ["set", "score"]):
        print(f"\nfalse positives by {', '.join(by)}:\n{d.groupby(by, observed=True).size().to_string()}")
    for name, n in labelled.items():
        for statuses in (("unreadable",), ("unreadable", "invalid")):
            table = unreadable_rule(every[every["set"] == name], n, statuses=statuses)
            print(f"\n{name}: {' and '.join(statuses)} ROIs reported only from this stage-1 score on")
            print(table.round(4).to_string(index=False))
    if args.sheet and crops:
        sheet = contact_sheet([crop_with_context(im, box) for im, box in crops[:48]], cols=8, thumb_width=160)
        Path(args.sheet).parent.mkdir(parents=True, exist_ok=True)
        save_png(sheet, args.sheet)
        print(f"sheet: {args.sheet}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

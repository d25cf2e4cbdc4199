"""Thin cracks in frames much larger than the model input: shrink the whole frame, or read tiles?

    python -m bench.crack_tiling [--frames 40] [--export models/export/crack] [--out bench/results/crack_tiling.json]
                                 [--overlay docs/img/crack_tiling.jpg]

Renders ``--frames`` road frames of 1920x1080 with the generator's ``hi_res`` family (cracks
1.5-3.5 px wide at full resolution), runs the registered int8 TFLite model both ways through
``TfliteSegmenter.predict`` (``tiling="never"``: the frame shrunk to the model input and the
probability resized back; ``tiling="always"``: overlapping model-size tiles at full resolution)
and scores each at full resolution against the centre lines drawn 3 px wide: Dice on frames with
cracks, false alarms on crack-free frames, pixel Dice, and milliseconds per frame. Prints the table
and writes it as JSON. The frames are the same for both modes; the numbers are one draw of frames
(the interval is over frames, see ``dice_cracked_ci_*``). ``--overlay`` also writes a picture of
the first two cracked frames: the frame, the mask shrunk whole, the mask from tiles (in red).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

FRAME = (1920, 1080)
THICKNESS = 3


def overlay_row(image: np.ndarray, masks: list[np.ndarray]) -> np.ndarray:
    """The frame, then the frame with each mask painted red, side by side."""
    panels = [image]
    for mask in masks:
        painted = image.copy()
        painted[mask.astype(bool)] = (255, 0, 0)
        panels.append(painted)
    return np.concatenate(panels, axis=1)


def run(frames: int, export_dir: Path, seed: int = 2026, overlay: Path | None = None) -> dict:
    from components.bootstrap import ratio_metrics
    from components.crack.metrics import Accumulator, frame_ratios
    from components.data.crack_format import rasterize
    from components.data.synth_cracks import FAMILIES, render_crack_frame
    from components.export.crack_runtime import TfliteSegmenter

    scale = FAMILIES["hi_res"].frame_scale
    base = (round(FRAME[0] / scale), round(FRAME[1] / scale))
    seg = TfliteSegmenter.load(export_dir, "int8", threads=1)
    accs = {"never": Accumulator(), "always": Accumulator()}
    ms = {mode: [] for mode in accs}
    rows = []
    for i in range(frames):
        image, lines = render_crack_frame([seed, i], *base, family="hi_res")
        truth = rasterize(lines, image.shape[0], image.shape[1], thickness=THICKNESS).astype(bool)
        masks = []
        for mode, acc in accs.items():
            t0 = time.perf_counter()
            pred = seg.predict(image, tiling=mode)
            ms[mode].append(1000 * (time.perf_counter() - t0))
            acc.add_counts(pred.mask[None], truth[None])
            masks.append(pred.mask)
        if overlay is not None and lines and len(rows) < 2:
            rows.append(overlay_row(image, masks))
    if rows:
        import cv2

        sheet = np.concatenate(rows, axis=0)
        sheet = cv2.resize(sheet, (1440, round(1440 * sheet.shape[0] / sheet.shape[1])), interpolation=cv2.INTER_AREA)
        overlay.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(overlay), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
    out = {"frames": frames, "frame_size": list(image.shape[1::-1]), "model_input": list(seg.input_size)}
    for mode, acc in accs.items():
        ratios = frame_ratios(acc.frame_table(), 0.001)
        keep = {k: ratios[k] for k in ("dice_cracked", "false_alarm_rate", "pixel_dice", "recall", "precision")}
        out[mode] = {**ratio_metrics(keep, 1000, 0), "ms_per_frame_p50": round(float(np.median(ms[mode])), 1)}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.crack_tiling", description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--export", type=Path, default=Path("models/export/crack"))
    parser.add_argument("--out", type=Path, default=Path("bench/results/crack_tiling.json"))
    parser.add_argument("--overlay", type=Path, default=None, help="write a JPEG of two frames with both masks")
    args = parser.parse_args(argv)
    result = run(args.frames, args.export, overlay=args.overlay)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"{result['frames']} frames of {result['frame_size'][0]}x{result['frame_size'][1]}, "
        f"model input {result['model_input'][0]}x{result['model_input'][1]}"
    )
    for mode, label in (("never", "shrink whole frame"), ("always", "tiles at full res")):
        m = result[mode]
        print(
            f"  {label:20s} dice_cracked {m['dice_cracked']:.3f} [{m['dice_cracked_ci_low']:.3f}, "
            f"{m['dice_cracked_ci_high']:.3f}]  false alarms {m['false_alarm_rate']:.3f}  "
            f"pixel dice {m['pixel_dice']:.3f}  recall {m['recall']:.3f}  {m['ms_per_frame_p50']:.0f} ms/frame"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

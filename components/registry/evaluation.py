"""Evaluate a deployable export folder on the current test set, and read per-frame scores back.

Used when the champion was judged on another test set (new data arrived): the gate "not worse
than the champion on the same test set" then needs the champion's numbers on *this* set, computed
from its own registered files with the same code the export stages use. The gates compare models
frame by frame, so both paths also give :class:`FrameScores`.
"""

from __future__ import annotations

from pathlib import Path

from components.per_frame import read_frames, read_records, table_path
from components.registry.gates import FrameScores, ocr_frame_scores


def frame_scores(key: str, names, columns: dict, params, rois=None, chars=None) -> FrameScores:
    """Per-frame columns (and OCR detection outcomes) as the ratios and records the gates compare."""
    if key == "crack":
        from components.crack.metrics import frame_ratios

        return FrameScores(tuple(names), frame_ratios(columns, params.crack.eval.false_alarm_min_area))
    return ocr_frame_scores(names, columns, rois, chars)


def read_frame_scores(key: str, root: str | Path, form: str, params, eval_set: str = "test") -> FrameScores:
    """Scores written by an evaluate/export stage (``<root>/<form>_<set>*.parquet``)."""
    names, columns = read_frames(table_path(root, form, eval_set))
    if key == "ocr":
        return frame_scores(
            key,
            names,
            columns,
            params,
            read_records(table_path(root, form, eval_set, "rois")),
            read_records(table_path(root, form, eval_set, "chars")),
        )
    return frame_scores(key, names, columns, params)


def evaluate_export(
    key: str, export_dir: str | Path, manifest: Path, data: Path, params, split: str = "test"
) -> tuple[dict[str, float], FrameScores]:
    """Metrics and per-frame scores of the int8 form in ``export_dir`` on ``split`` of ``manifest``."""
    if key == "ocr":
        from components.export.ocr_runtime import OnnxTwoStageOcr
        from components.ocr.data import load_frames
        from components.ocr.evaluate import evaluate

        frames = load_frames(manifest, data, split, 0)
        ocr = OnnxTwoStageOcr.load(export_dir, form="int8", threads=max(1, params.ocr.threads))
        ev = evaluate(ocr, frames, progress=False)
        scores = frame_scores(key, [f.name for f in frames], ev.frames, params, ev.roi_records, ev.char_records)
        return {k: float(v) for k, v in ev.metrics.items()}, scores
    if key == "crack":
        from components.crack.data import load_split
        from components.crack.metrics import frame_ratios
        from components.export.crack_runtime import TfliteSegmenter
        from components.export.crack_tflite import evaluate_tflite

        segmenter = TfliteSegmenter.load(export_dir, form="int8")
        test = load_split(
            manifest,
            data,
            split,
            segmenter.input_size,
            params.data.crack.line_thickness,
            params.data.max_pixels,
            keep_large=True,
        )
        result = evaluate_tflite(segmenter, test)
        ratios = frame_ratios(result.frames, params.crack.eval.false_alarm_min_area)
        metrics = {**{k: float(v) for k, v in result.metrics.items()}, **{k: r.value() for k, r in ratios.items()}}
        return metrics, FrameScores(tuple(test.names), ratios)
    raise ValueError(f"unknown model {key!r} (ocr or crack)")

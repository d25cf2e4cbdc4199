"""Evaluate a deployable export folder on the current test split, with the stage evaluators.

Used when the champion was judged on another test split (new data arrived): the gate "not worse
than the champion on the same test split" then needs the champion's numbers on *this* split,
computed from its own registered files with the same code the export stages use.
"""

from __future__ import annotations

from pathlib import Path


def evaluate_export(key: str, export_dir: str | Path, manifest: Path, data: Path, params) -> dict[str, float]:
    """Test-split metrics of the int8 form in ``export_dir`` (``data``, split by ``manifest``)."""
    if key == "ocr":
        from components.export.ocr_runtime import OnnxTwoStageOcr
        from components.ocr.data import load_frames
        from components.ocr.evaluate import evaluate

        frames = load_frames(manifest, data, "test", 0)
        ocr = OnnxTwoStageOcr.load(export_dir, form="int8", threads=max(1, params.ocr.threads))
        return {k: float(v) for k, v in evaluate(ocr, frames, progress=False).metrics.items()}
    if key == "crack":
        from components.crack.data import load_split
        from components.export.crack_runtime import TfliteSegmenter
        from components.export.crack_tflite import evaluate_tflite

        segmenter = TfliteSegmenter.load(export_dir, form="int8")
        test = load_split(manifest, data, "test", segmenter.input_size,
                          params.data.crack.line_thickness, params.data.max_pixels)
        return {k: float(v) for k, v in evaluate_tflite(segmenter, test).metrics.items()}
    raise ValueError(f"unknown model {key!r} (ocr or crack)")

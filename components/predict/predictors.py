"""The two deployable runtimes behind one call: ``predictor(key, image, draw)`` -> (rows, overlay).

The batch loop does not care which model runs; each predictor turns its runtime's result into the
rows of ``components.predict.rows`` and, when asked, the picture of that result. The runtimes are
the ones the registered pyfunc models run (int8 ONNX two-stage OCR, full-integer TFLite crack
segmenter), loaded from the export folder with their sha256 checks, so batch results equal what
``mlflow models serve`` answers for the same image.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from components.predict import rows as R


class Predictor(Protocol):
    kind: str
    model: str

    def __call__(self, key: str, image: np.ndarray, draw: bool) -> tuple[list[dict], np.ndarray | None]: ...


class OcrPredictor:
    kind = "ocr"

    def __init__(self, export_dir: Path, model: str, threads: int = 1, form: str = "int8"):
        from components.export.ocr_runtime import OnnxTwoStageOcr

        self.runtime = OnnxTwoStageOcr.load(export_dir, form=form, threads=threads)
        self.model = model

    def __call__(self, key: str, image: np.ndarray, draw: bool) -> tuple[list[dict], np.ndarray | None]:
        from components.ocr.plots import overlay

        result = self.runtime(image)
        return R.ocr_rows(key, result, self.model), overlay(image, result) if draw else None


class CrackPredictor:
    kind = "crack"

    def __init__(self, export_dir: Path, model: str, threads: int = 1, form: str = "int8"):
        from components.export.crack_runtime import TfliteSegmenter

        self.runtime = TfliteSegmenter.load(export_dir, form=form, threads=threads)
        self.model = model

    def __call__(self, key: str, image: np.ndarray, draw: bool) -> tuple[list[dict], np.ndarray | None]:
        from components.predict.overlays import crack_overlay

        pred = self.runtime.predict(image)
        rows = R.crack_rows(key, pred.mask, pred.masking_rate, self.model)
        return rows, crack_overlay(image, pred.mask, pred.masking_rate) if draw else None


PREDICTORS = {"ocr": OcrPredictor, "crack": CrackPredictor}


def load_predictor(kind: str, export_dir: Path, model: str, threads: int = 1) -> Predictor:
    return PREDICTORS[kind](export_dir, model, threads)

"""The two deployable runtimes behind one call: ``predictor(key, image, draw)`` -> (rows, overlay).

The batch loop does not care which model runs; each predictor turns its runtime's result into the
rows of ``components.predict.rows`` and, when asked, the picture of that result. The runtimes are
the ones the registered pyfunc models run (int8 ONNX two-stage OCR, full-integer TFLite crack
segmenter), loaded from the export folder with their sha256 checks, so batch results equal what
``mlflow models serve`` answers for the same image.

A ``PredictorSpec`` names a predictor without loading it, so it can travel to Dask workers;
``loaded(spec)`` loads it once per process (each worker of a fanned-out batch run loads the model
once, on its first shard) and keeps the last one.
"""

from __future__ import annotations

from dataclasses import dataclass
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

    def __init__(self, export_dir: Path, model: str, threads: int = 1, form: str = "int8", tiling: str = "auto"):
        from components.crack.tiling import check_tiling
        from components.export.crack_runtime import TfliteSegmenter

        self.tiling = check_tiling(tiling)  # large frames: components.crack.tiling.TILING_CHOICES
        self.runtime = TfliteSegmenter.load(export_dir, form=form, threads=threads)
        self.model = model

    def __call__(self, key: str, image: np.ndarray, draw: bool) -> tuple[list[dict], np.ndarray | None]:
        from components.predict.overlays import crack_overlay

        pred = self.runtime.predict(image, tiling=self.tiling)
        rows = R.crack_rows(key, pred.mask, pred.masking_rate, self.model)
        return rows, crack_overlay(image, pred.mask, pred.masking_rate) if draw else None


PREDICTORS = {"ocr": OcrPredictor, "crack": CrackPredictor}


def load_predictor(kind: str, export_dir: Path, model: str, threads: int = 1, tiling: str = "auto") -> Predictor:
    """The predictor of ``kind``; ``tiling`` is the crack runtime's reading of large frames (OCR has none)."""
    if kind == "crack":
        return CrackPredictor(export_dir, model, threads, tiling=tiling)
    if tiling != "auto":
        raise ValueError(f"tiling applies to crack models only, not {kind!r}")
    return PREDICTORS[kind](export_dir, model, threads)


@dataclass(frozen=True)
class PredictorSpec:
    """What ``load_predictor`` needs: small, hashable and picklable."""

    kind: str
    export_dir: Path
    model: str
    threads: int = 1
    tiling: str = "auto"


_LOADED: dict[PredictorSpec, Predictor] = {}


def loaded(spec: PredictorSpec) -> Predictor:
    """The predictor of ``spec``, loaded on the first call in this process (the previous one is dropped)."""
    if spec not in _LOADED:
        _LOADED.clear()
        _LOADED[spec] = load_predictor(spec.kind, spec.export_dir, spec.model, spec.threads, spec.tiling)
    return _LOADED[spec]

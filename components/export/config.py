"""Parameters of the quantized exports (``export:`` in params.yaml).

``export.ocr`` is read by the ``export_ocr`` stage only and ``export.crack`` by ``export_crack``
only, so DVC reruns just the export whose parameters changed.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from components.schema import Strict


class OcrExport(Strict):
    """ONNX fp32 + int8 (ONNX Runtime static QDQ quantization) of both OCR detectors."""

    opset: int = Field(ge=13)
    calibration_frames: int = Field(gt=0)  # training frames (stage 1) and their crops (stage 2)
    per_channel: bool
    calibration_method: Literal["minmax", "entropy", "percentile"]
    float_tail: bool  # input normalization, box decoding and softmax stay float
    # detectors the deployable (int8) form keeps in fp32: stage 1 lost a point of string accuracy
    # in int8 on one CPU's model and no layer exclusion recovered it (docs/experiments.md)
    float_detectors: list[Literal["roi", "char"]]
    # detectors quantized but kept in int8 only when the deployable reading on the validation split loses
    # no more than registry.ocr.max_quantization_drop against this detector in fp32 (components/export/ocr_check.py)
    checked_detectors: list[Literal["roi", "char"]] = []
    parity_atol: float = Field(gt=0)  # fp32 ONNX vs PyTorch: largest |diff| of scores, and of boxes / input size
    latency_runs: int = Field(gt=0)
    latency_warmup: int = Field(ge=0)
    max_eval_frames: int = Field(ge=0)  # 0 = whole test split

    @model_validator(mode="after")
    def _fp32_or_checked(self) -> OcrExport:
        both = sorted(set(self.float_detectors) & set(self.checked_detectors))
        if both:
            raise ValueError(f"{both}: a detector is either kept fp32 (float_detectors) or checked, not both")
        return self


class CrackExport(Strict):
    """Full-integer and dynamic-range TFLite models from the QAT crack model."""

    representative_images: int = Field(gt=0)  # training images for int8 calibration
    dynamic_range: bool  # also write the dynamic-range model (a second, slow conversion)
    latency_runs: int = Field(gt=0)
    latency_warmup: int = Field(ge=0)


class ExportParams(Strict):
    ocr: OcrExport
    crack: CrackExport

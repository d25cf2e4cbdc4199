"""Parameters of the two-stage resistor OCR (``ocr:`` in params.yaml)."""

from __future__ import annotations

from components.schema import Strict


class OcrParams(Strict):
    pass

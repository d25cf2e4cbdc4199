"""Reading order of character boxes along one text line, for the formats that store characters
without the text (KAIST) or ROIs without a text (LabelMe).

The order is :func:`components.ocr.reading.reading_order`, the same function that orders the
characters the OCR detects, so a ground-truth string and a predicted string from the same boxes
always agree.
"""

from __future__ import annotations

from components.ocr.reading import reading_order as _line_order


def reading_order(boxes) -> list[int]:
    """Indices of character boxes ``(x1, y1, x2, y2)`` in reading order along one text line (the
    principal axis of the box centres, pointed right), as a list."""
    order, _ = _line_order(boxes)
    return [int(i) for i in order]

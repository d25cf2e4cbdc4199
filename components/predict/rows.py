"""The results table: its columns and types, and the rows of one image.

Every processed image appears in the table, so a reader can tell "nothing found" from "not
processed" from "failed":

* OCR: one row per resistor (``roi`` 0, 1, ...), or one row with ``roi = -1`` and empty text when the
  frame has none; character boxes, labels and scores are lists in reading order. ``text`` is the
  marking decoded under the grammar of resistor codes when ``valid`` (then ``value_ohm`` and
  ``code_kind`` say what it means), else the raw string; ``raw_text`` is always the raw string
  (each character box's best class, what ``char_labels`` spell). ``read_status`` says what became
  of the reading (``components.ocr.pipeline.ROI_STATUSES``: read, invalid, unreadable; null on the
  ``roi = -1`` rows); it is not ``status``, which says whether the image was processed.
* crack: one row per image with the masking rate and the mask in CSR form (``mask_indptr``,
  ``mask_indices``: ``scipy.sparse.csr_matrix((ones, indices, indptr), shape=(height, width))``).
* a failure (unreadable file, model error): ``status = "error"``, ``error`` = the reason, the
  prediction columns empty (null; OCR: ``roi = -1`` and empty lists).

The types are fixed by an Arrow schema, so a chunk of only error rows has the same parquet types
as one without any, and the chunks concatenate. ``model`` names the model in every row
(``models:/<name>/<version>`` or the export folder), so tables of several runs stay traceable.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from components.ocr.pipeline import FrameResult, RoiResult

OK, ERROR = "ok", "error"
KINDS = ("ocr", "crack")

_COMMON = [("image", pa.string()), ("status", pa.string()), ("error", pa.string())]
SCHEMAS: dict[str, pa.Schema] = {
    "ocr": pa.schema(
        _COMMON
        + [
            ("roi", pa.int32()),
            ("x1", pa.float64()),
            ("y1", pa.float64()),
            ("x2", pa.float64()),
            ("y2", pa.float64()),
            ("roi_score", pa.float64()),
            ("text", pa.string()),
            ("confidence", pa.float64()),
            ("raw_text", pa.string()),
            ("valid", pa.bool_()),
            ("value_ohm", pa.float64()),
            ("code_kind", pa.string()),
            ("char_boxes", pa.list_(pa.list_(pa.float64()))),
            ("char_labels", pa.list_(pa.string())),
            ("char_scores", pa.list_(pa.float64())),
            ("model", pa.string()),
            ("read_status", pa.string()),
        ]
    ),
    "crack": pa.schema(
        _COMMON
        + [
            ("masking_rate", pa.float64()),
            ("height", pa.int32()),
            ("width", pa.int32()),
            ("mask_indptr", pa.list_(pa.int64())),
            ("mask_indices", pa.list_(pa.int32())),
            ("model", pa.string()),
        ]
    ),
}
# columns added after tables were first written: a table without them is still of its kind, and
# reads as if they were null (the OCR grammar's columns; the ROI read status, last in the schema so
# the older columns keep their places)
ADDED_COLUMNS: dict[str, tuple[str, ...]] = {
    "ocr": ("raw_text", "valid", "value_ohm", "code_kind", "read_status"),
    "crack": (),
}
# the columns a table must have to be of a kind
REQUIRED_COLUMNS = {kind: [n for n in schema.names if n not in ADDED_COLUMNS[kind]] for kind, schema in SCHEMAS.items()}
# columns written to CSV as JSON strings
LIST_COLUMNS = {kind: [f.name for f in schema if pa.types.is_list(f.type)] for kind, schema in SCHEMAS.items()}


def ocr_rows(key: str, result: FrameResult, model: str) -> list[dict]:
    """One row per ROI of a frame; a single ``roi = -1`` row when there is none."""
    if not result.rois:
        return [_ocr_empty(key, OK, "", model)]
    return [
        {"image": key, "status": OK, "error": "", **roi_fields(k, r), "model": model} for k, r in enumerate(result.rois)
    ]


def roi_fields(k: int, r: RoiResult) -> dict:
    """The prediction columns of one ROI (shared with the served ``resistor-ocr`` model, so batch
    rows and HTTP answers agree): box and characters to 0.1 px, scores to 4 decimals; ``value_ohm``
    and ``code_kind`` are None when the reading is no valid marking."""
    x1, y1, x2, y2 = (round(float(v), 1) for v in r.box)
    return {
        "roi": k,
        "x1": x1,
        "y1": y1,
        "x2": x2,
        "y2": y2,
        "roi_score": round(float(r.score), 4),
        "text": r.text,
        "confidence": round(float(r.confidence), 4),
        "raw_text": r.raw_text,
        "valid": bool(r.valid),
        "value_ohm": None if r.value_ohm is None else float(r.value_ohm),
        "code_kind": r.code_kind,
        "read_status": r.status,
        "char_boxes": np.asarray(r.char_boxes, float).reshape(-1, 4).round(1).tolist(),
        "char_labels": [str(c) for c in r.char_labels],
        "char_scores": np.asarray(r.char_scores, float).round(4).tolist(),
    }


def _ocr_empty(key: str, status: str, error: str, model: str) -> dict:
    return {
        "image": key,
        "status": status,
        "error": error,
        "roi": -1,
        "x1": None,
        "y1": None,
        "x2": None,
        "y2": None,
        "roi_score": None,
        "text": "",
        "confidence": None,
        "raw_text": "",
        "valid": None,
        "value_ohm": None,
        "code_kind": None,
        "char_boxes": [],
        "char_labels": [],
        "char_scores": [],
        "model": model,
        "read_status": None,
    }


def mask_csr(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(indptr int64, column indices int32) of a boolean mask: compressed sparse rows."""
    mask = np.asarray(mask, bool)
    indptr = np.concatenate([[0], np.cumsum(mask.sum(axis=1))]).astype(np.int64)
    return indptr, np.nonzero(mask)[1].astype(np.int32)


def crack_rows(key: str, mask: np.ndarray, masking_rate: float, model: str) -> list[dict]:
    indptr, indices = mask_csr(mask)
    return [
        {
            "image": key,
            "status": OK,
            "error": "",
            "masking_rate": float(masking_rate),
            "height": int(mask.shape[0]),
            "width": int(mask.shape[1]),
            "mask_indptr": indptr,
            "mask_indices": indices,
            "model": model,
        }
    ]


def error_rows(kind: str, key: str, reason: str, model: str) -> list[dict]:
    """The single row of an image that could not be processed."""
    if kind == "ocr":
        return [_ocr_empty(key, ERROR, reason, model)]
    return [
        {
            "image": key,
            "status": ERROR,
            "error": reason,
            "masking_rate": None,
            "height": None,
            "width": None,
            "mask_indptr": None,
            "mask_indices": None,
            "model": model,
        }
    ]


def with_added_columns(kind: str, table: pa.Table) -> pa.Table:
    """``table`` with the kind's ``ADDED_COLUMNS`` it lacks appended as nulls (tables written before them)."""
    schema = SCHEMAS[kind]
    for name in ADDED_COLUMNS[kind]:
        if name not in table.column_names:
            table = table.append_column(schema.field(name), pa.nulls(table.num_rows, schema.field(name).type))
    return table


def to_table(kind: str, rows: list[dict]) -> pa.Table:
    """Rows -> an Arrow table of the kind's schema (numpy arrays are taken as lists)."""
    schema = SCHEMAS[kind]
    columns = {f.name: pa.array([r[f.name] for r in rows], type=f.type) for f in schema}
    return pa.table(columns, schema=schema)

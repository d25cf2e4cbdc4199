"""Results table: row shapes, fixed types for error-only chunks, merging parts, CSV form, kind checks."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import scipy.sparse

from components.ocr.pipeline import FrameResult, RoiResult
from components.predict import PredictError
from components.predict.rows import SCHEMAS, crack_rows, error_rows, ocr_rows, to_table
from components.predict.store import CSV, PARTS, RESULTS, ResultStore

MODEL = "models:/resistor-ocr/3"


def _roi(text: str) -> RoiResult:
    return RoiResult(
        (10, 20, 110, 60),
        0.9,
        text,
        0.8,
        np.array([[12, 22, 30, 58], [32, 22, 50, 58]], np.float32),
        list(text),
        np.array([0.7, 0.6], np.float32),
    )


def test_ocr_rows_one_per_roi_and_a_placeholder_for_none():
    rows = ocr_rows("a.jpg", FrameResult([_roi("1R"), _roi("47")]), MODEL)
    assert [r["roi"] for r in rows] == [0, 1] and rows[1]["text"] == "47"
    assert rows[0]["char_boxes"] == [[12.0, 22.0, 30.0, 58.0], [32.0, 22.0, 50.0, 58.0]] and rows[0]["char_labels"] == [
        "1",
        "R",
    ]
    (empty,) = ocr_rows("b.jpg", FrameResult(), MODEL)
    assert empty["roi"] == -1 and empty["text"] == "" and empty["status"] == "ok" and empty["char_boxes"] == []
    table = to_table("ocr", rows + [empty] + error_rows("ocr", "c.jpg", "c.jpg: cannot be decoded", MODEL))
    assert table.schema == SCHEMAS["ocr"] and table.column("model").to_pylist() == [MODEL] * 4


def test_error_only_chunk_keeps_the_types(tmp_path):
    for kind in ("ocr", "crack"):
        table = to_table(kind, error_rows(kind, "x.png", "broken", MODEL))
        assert table.schema == SCHEMAS[kind]
        pq.write_table(table, tmp_path / f"{kind}.parquet")
        assert pq.read_schema(tmp_path / f"{kind}.parquet").remove_metadata() == SCHEMAS[kind]


def test_crack_rows_csr_round_trip():
    mask = np.zeros((5, 7), bool)
    mask[1, 2:5] = mask[3, 0] = mask[4, 6] = True
    (row,) = crack_rows("m.png", mask, mask.mean(), MODEL)
    back = (
        scipy.sparse.csr_matrix(
            (np.ones(len(row["mask_indices"])), row["mask_indices"], row["mask_indptr"]),
            shape=(row["height"], row["width"]),
        )
        .toarray()
        .astype(bool)
    )
    assert (back == mask).all() and row["masking_rate"] == pytest.approx(5 / 35)


def test_parts_merge_newest_copy_wins_and_csv_agrees(tmp_path):
    store = ResultStore(tmp_path, "ocr", flush_every=2)
    store.add(ocr_rows("a.jpg", FrameResult([_roi("1R")]), MODEL))
    store.add(error_rows("ocr", "b.jpg", "b.jpg: truncated", MODEL))  # chunk full -> part 0
    assert sorted(p.name for p in (tmp_path / PARTS).iterdir()) == ["part-000000.parquet"]
    store.add(ocr_rows("b.jpg", FrameResult([_roi("47"), _roi("22")]), MODEL))  # b again, e.g. a crash after merging
    table = store.finalize()
    assert not (tmp_path / PARTS).exists()
    frame = pd.read_parquet(tmp_path / RESULTS)
    assert list(frame.image) == ["a.jpg", "b.jpg", "b.jpg"] and list(frame.text) == ["1R", "47", "22"]
    assert table.num_rows == 3 and ResultStore(tmp_path, "ocr").done_keys() == {"a.jpg", "b.jpg"}
    csv = pd.read_csv(tmp_path / CSV)
    assert list(csv.image) == list(frame.image)
    assert [json.loads(v) for v in csv.char_boxes] == [np.stack(v).tolist() for v in frame.char_boxes]
    with pytest.raises(PredictError, match="holds ocr results, not crack"):
        ResultStore(tmp_path, "crack").load()


def test_ocr_rows_carry_the_grammar_reading():
    roi = RoiResult(
        (10, 20, 110, 60),
        0.9,
        "4358",
        0.7,
        np.zeros((0, 4), np.float32),
        [],
        np.zeros(0, np.float32),
        raw_text="435B",
        valid=True,
        value_ohm=435e8,
        code_kind="4digit",
    )
    (row,) = ocr_rows("a.jpg", FrameResult([roi]), MODEL)
    assert (row["text"], row["raw_text"], row["valid"], row["value_ohm"], row["code_kind"]) == (
        "4358",
        "435B",
        True,
        435e8,
        "4digit",
    )
    assert row["read_status"] == "unreadable"  # the RoiResult default; assemble sets it
    roi.status = "read"
    (row,) = ocr_rows("a.jpg", FrameResult([roi]), MODEL)
    assert row["read_status"] == "read" and row["status"] == "ok"
    (row,) = ocr_rows("a.jpg", FrameResult([_roi("4X")]), MODEL)
    assert (row["valid"], row["value_ohm"], row["code_kind"]) == (False, None, None)
    (empty,) = ocr_rows("b.jpg", FrameResult(), MODEL)
    assert empty["read_status"] is None
    assert to_table("ocr", [row]).schema == SCHEMAS["ocr"]


def test_tables_written_before_the_grammar_columns_still_load(tmp_path):
    from components.dashboard.results import kind_of
    from components.predict.rows import ADDED_COLUMNS

    old = to_table("ocr", ocr_rows("a.jpg", FrameResult([_roi("47")]), MODEL)).drop_columns(list(ADDED_COLUMNS["ocr"]))
    pq.write_table(old, tmp_path / RESULTS)
    assert kind_of(old.column_names) == "ocr"
    table, _ = ResultStore(tmp_path, "ocr").load()
    assert table.schema == SCHEMAS["ocr"] and table.column("text").to_pylist() == ["47"]
    assert table.column("valid").to_pylist() == [None] and table.column("value_ohm").to_pylist() == [None]
    assert table.column("read_status").to_pylist() == [None]
    # an older table without only the status resumes with the status column last and empty
    older = to_table("ocr", ocr_rows("a.jpg", FrameResult([_roi("47")]), MODEL)).drop_columns(["read_status"])
    pq.write_table(older, tmp_path / RESULTS)
    table, _ = ResultStore(tmp_path, "ocr").load()
    assert table.schema == SCHEMAS["ocr"] and table.column("read_status").to_pylist() == [None]
    assert SCHEMAS["ocr"].names[-1] == "read_status"

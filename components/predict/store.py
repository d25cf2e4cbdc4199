"""The results of a batch run on disk, written so that no interruption leaves a broken table.

Layout of OUT::

    results.parquet   every row (list columns as parquet lists), plus the joined asset columns
    results.csv       the same table; list columns as JSON strings
    skipped.txt       input files that were not images: path <TAB> reason
    .parts/           chunks of rows not yet merged (only while a run is going, or after a crash)

Rows are buffered and every ``flush_every`` images (or ``flush_seconds``) written as one new part
file (atomically: temporary file + rename), so the cost of a flush does not grow with the run. At
the end of a run, and on Ctrl-C, the stored table and the parts are merged into ``results.parquet``
and ``results.csv`` (each written atomically), then the merged parts are deleted. A run killed
outright (SIGKILL, power loss) leaves its parts, which the next ``--resume`` reads and merges.

Merging keeps, for each image, the rows from the newest place it appears (the stored table, then
the parts in order): a crash between writing ``results.parquet`` and deleting the parts cannot
duplicate rows. The asset columns are not stored in the parts; they are joined at every merge.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from components.io import atomic_path, atomic_write_text
from components.predict import PredictError
from components.predict.rows import (
    LIST_COLUMNS,
    REQUIRED_COLUMNS,
    SCHEMAS,
    to_table,
    with_added_columns,
)

RESULTS = "results.parquet"
CSV = "results.csv"
SKIPPED = "skipped.txt"
PARTS = ".parts"


class ResultStore:
    def __init__(self, out_dir: str | Path, kind: str, flush_every: int = 100, flush_seconds: float = 60.0):
        self.out = Path(out_dir)
        self.kind, self.schema = kind, SCHEMAS[kind]
        self.parts_dir = self.out / PARTS
        self.flush_every, self.flush_seconds = max(1, int(flush_every)), float(flush_seconds)
        self.pending: list[dict] = []
        self.pending_images = 0
        self.last_flush = time.monotonic()
        parts = self._parts()
        self.next_part = int(parts[-1].stem.split("-")[1]) + 1 if parts else 0

    @property
    def results(self) -> Path:
        return self.out / RESULTS

    def _parts(self) -> list[Path]:
        return sorted(self.parts_dir.glob("part-*.parquet")) if self.parts_dir.is_dir() else []

    def has_results(self) -> bool:
        return self.results.exists() or bool(self._parts())

    # -- reading -------------------------------------------------------------------------------------

    def _read(self, path: Path) -> pa.Table:
        try:
            table = pq.read_table(path)
        except (OSError, pa.ArrowException) as exc:
            raise PredictError(f"{path}: cannot be read as parquet ({exc}); move it away to start over") from None
        missing = [n for n in REQUIRED_COLUMNS[self.kind] if n not in table.column_names]
        if missing:
            other = next(
                (k for k in SCHEMAS if k != self.kind and set(REQUIRED_COLUMNS[k]) <= set(table.column_names)), None
            )
            what = f"{other} results" if other else f"a table without the columns {missing}"
            raise PredictError(f"{path}: holds {what}, not {self.kind} results; use another output folder")
        return with_added_columns(self.kind, table).select(self.schema.names).cast(self.schema)

    def load(self) -> tuple[pa.Table, list[Path]]:
        """The stored rows (newest copy of each image) and the part files they include."""
        parts = self._parts()
        tables = ([self._read(self.results)] if self.results.exists() else []) + [self._read(p) for p in parts]
        if not tables:
            return self.schema.empty_table(), parts
        source = np.concatenate([np.full(t.num_rows, i) for i, t in enumerate(tables)])
        table = pa.concat_tables(tables)
        keys = pd.DataFrame({"image": table.column("image").to_pandas(), "source": source})
        newest = keys.groupby("image", sort=False)["source"].transform("max")
        return table.filter(pa.array((keys.source == newest).to_numpy())), parts

    def done_keys(self) -> set[str]:
        table, _ = self.load()
        return set(table.column("image").to_pylist())

    # -- writing -------------------------------------------------------------------------------------

    def add(self, rows: list[dict]) -> None:
        """Buffer the rows of one image; flush when the chunk is full or old enough."""
        self.pending.extend(rows)
        self.pending_images += 1
        if self.pending_images >= self.flush_every or time.monotonic() - self.last_flush >= self.flush_seconds:
            self.flush()

    def flush(self) -> None:
        """Write the buffered rows as the next part file; the buffer is cleared only once it is on disk."""
        if self.pending:
            path = self.parts_dir / f"part-{self.next_part:06d}.parquet"
            with atomic_path(path) as tmp:
                pq.write_table(to_table(self.kind, self.pending), tmp)
            self.next_part += 1
            self.pending, self.pending_images = [], 0
        self.last_flush = time.monotonic()

    def finalize(self, join: Callable[[pa.Table], pa.Table] | None = None) -> pa.Table:
        """Flush, merge everything into results.parquet + results.csv, delete the merged parts."""
        self.flush()
        table, parts = self.load()
        if join is not None:
            table = join(table)
        with atomic_path(self.results) as tmp:
            pq.write_table(table, tmp)
        with atomic_path(self.out / CSV) as tmp:
            csv_frame(table, LIST_COLUMNS[self.kind]).to_csv(tmp, index=False)
        for p in parts:
            p.unlink(missing_ok=True)
        if self.parts_dir.is_dir() and not any(self.parts_dir.iterdir()):
            self.parts_dir.rmdir()
        return table


def csv_frame(table: pa.Table, list_columns: list[str]) -> pd.DataFrame:
    """The table as a DataFrame for CSV: list columns as JSON strings (empty for null)."""
    frame = table.drop_columns([c for c in list_columns if c in table.column_names]).to_pandas()
    for name in list_columns:
        if name in table.column_names:
            frame[name] = ["" if v is None else json.dumps(v) for v in table.column(name).to_pylist()]
    return frame[table.column_names]


def write_skipped(out_dir: str | Path, skipped: list[tuple[str, str]]) -> Path:
    """``skipped.txt``: one ``path<TAB>reason`` line per input file that was not processed."""
    path = Path(out_dir) / SKIPPED
    atomic_write_text(path, "".join(f"{p}\t{reason}\n" for p, reason in skipped))
    return path

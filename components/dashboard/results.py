"""A batch-prediction output folder (``python -m flows.predict ... --out OUT``) as the dashboard shows it.

OUT holds ``results.parquet`` (the table of ``components.predict.rows``, plus any joined asset
columns), ``overlays/`` (PNGs mirroring the input tree, or ``<video>.annotated*.mp4``) and
``skipped.txt``. A folder that cannot be shown (missing, no table yet, a corrupt or foreign
parquet file) raises ``ResultsError`` naming the file and the reason, for the page to display
instead of a traceback.

The mask columns (CSR lists, megabytes for a long run) are not loaded: the page needs the masking
rate, and the overlays show the masks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from components.predict.rows import ADDED_COLUMNS, ERROR, REQUIRED_COLUMNS, SCHEMAS
from components.predict.sources import overlay_name
from components.predict.store import PARTS, RESULTS, SKIPPED

HEAVY = frozenset({"mask_indptr", "mask_indices", "char_boxes"})
# (latitude, longitude) column pairs an asset register may bring (assets nest as dotted columns)
COORDINATES = (("latitude", "longitude"), ("lat", "lon"), ("gps.latitude", "gps.longitude"), ("gps.lat", "gps.lon"))
FRAME_SEP = "#frame="


class ResultsError(ValueError):
    """A results folder that cannot be shown; the message names the path and the reason."""


@dataclass
class Results:
    folder: Path
    kind: str  # "ocr" | "crack"
    table: pd.DataFrame  # every row, without the HEAVY columns
    skipped: pd.DataFrame  # path, reason: input files that were not images

    @property
    def ok(self) -> pd.DataFrame:
        return self.table[self.table.status != ERROR]

    @property
    def errors(self) -> pd.DataFrame:
        return self.table.loc[self.table.status == ERROR, ["image", "error"]].drop_duplicates("image")


def find_folders(root: Path, max_depth: int = 3) -> list[Path]:
    """Result folders at or under ``root`` (those holding a results table or unmerged parts), sorted.
    ``overlays`` trees and hidden folders are not searched."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        depth = len(here.relative_to(root).parts)
        if RESULTS in filenames or PARTS in dirnames:
            found.append(here)
        dirnames[:] = (
            sorted(d for d in dirnames if not d.startswith(".") and d != "overlays") if depth < max_depth else []
        )
    return sorted(found)


def kind_of(columns: list[str]) -> str | None:
    """Which results table has these columns (``None``: neither)."""
    return next((k for k in SCHEMAS if set(REQUIRED_COLUMNS[k]) <= set(columns)), None)


def load(folder: str | Path) -> Results:
    folder = Path(folder)
    path = folder / RESULTS
    if not folder.is_dir():
        raise ResultsError(f"{folder}: no such folder")
    if not path.exists():
        if (folder / PARTS).is_dir():
            raise ResultsError(
                f"{path}: not written yet, but {folder / PARTS} holds unmerged rows: a run is going or was "
                f"killed; rerun it with --resume to merge them"
            )
        raise ResultsError(f"{path}: no results table here (write one with python -m flows.predict ... --out {folder})")
    try:
        schema = pq.read_schema(path)
        kind = kind_of(schema.names)
        if kind is None:
            raise ResultsError(
                f"{path}: not a batch-prediction table (its columns are {', '.join(schema.names[:8])}"
                f"{', ...' if len(schema.names) > 8 else ''})"
            )
        table = pq.read_table(path, columns=[n for n in schema.names if n not in HEAVY]).to_pandas()
        for name in ADDED_COLUMNS[kind]:  # a table written before these columns existed
            if name not in table:
                table[name] = None
    except (OSError, pa.ArrowException) as exc:
        raise ResultsError(f"{path}: cannot be read as parquet ({exc})") from None
    return Results(folder, kind, table.reset_index(drop=True), read_skipped(folder))


def read_skipped(folder: Path) -> pd.DataFrame:
    """``skipped.txt`` (``path<TAB>reason`` lines) as a table; empty when there is none."""
    try:
        lines = (folder / SKIPPED).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    rows = [line.partition("\t")[::2] for line in lines if line.strip()]
    return pd.DataFrame(rows, columns=["path", "reason"])


def summary(res: Results) -> dict[str, float | int]:
    """The headline numbers of a run, per image (OCR rows are per resistor)."""
    images = res.table.image.nunique()
    out: dict[str, float | int] = {"images": int(images), "errors": len(res.errors), "skipped_files": len(res.skipped)}
    ok = res.ok
    if res.kind == "crack":
        rate = ok.masking_rate.dropna()
        out.update(
            with_cracks=int((rate > 0).sum()),
            mean_masking_rate=float(rate.mean()) if len(rate) else float("nan"),
            median_masking_rate=float(rate.median()) if len(rate) else float("nan"),
            max_masking_rate=float(rate.max()) if len(rate) else float("nan"),
        )
    else:
        reads = ok[ok.roi >= 0]
        out.update(
            resistors=len(reads),
            images_without_resistor=int(ok.loc[ok.roi < 0, "image"].nunique()),
            mean_confidence=float(reads.confidence.mean()) if len(reads) else float("nan"),
        )
    return out


def display_table(res: Results) -> pd.DataFrame:
    """The table as listed on the page: the prediction and asset columns, list columns as text."""
    frame = res.table.copy()
    for col in ("char_labels", "char_scores"):
        if col in frame:
            frame[col] = [" ".join(_fmt(x) for x in v) if v is not None else "" for v in frame[col]]
    return frame


def _fmt(x) -> str:
    return f"{x:.2f}" if isinstance(x, (float, np.floating)) else str(x)


def ocr_reads(res: Results) -> pd.DataFrame:
    """One row per resistor read: the string (decoded under the marking grammar), whether it is a
    valid marking, its value in ohms and code kind, the raw string, its confidence and each character
    with its score, and the read status (read | invalid | unreadable). Tables from before the grammar
    or the status show those columns empty."""
    reads = res.ok[res.ok.roi >= 0]
    chars = [
        " ".join(f"{c}:{s:.2f}" for c, s in zip(labels, scores))
        for labels, scores in zip(reads.char_labels, reads.char_scores)
    ]
    columns = ["image", "roi", "text", "read_status", "valid", "value_ohm", "code_kind", "raw_text", "confidence"]
    out = reads[[*columns, "roi_score"]]
    out = out.assign(value=[format_ohm(v) for v in out.value_ohm], characters=chars)
    return out.sort_values(["image", "roi"]).reset_index(drop=True)


def format_ohm(value) -> str:
    """A resistance for people: ``4.7 kOhm``, ``0.047 Ohm``, ``0 Ohm``; empty when unknown."""
    if value is None or not np.isfinite(value):
        return ""
    value = float(value)
    for factor, unit in ((1e9, "GOhm"), (1e6, "MOhm"), (1e3, "kOhm")):
        if abs(value) >= factor:
            return f"{value / factor:.4g} {unit}"
    return f"{value:.4g} Ohm"


def overlay(res: Results, image: str) -> Path | None:
    """The picture of one row key: its PNG for a folder input, the annotated video holding the
    frame for a video input (``clip.mp4#frame=12``), None when there is none (error rows, runs with
    ``--no-overlays``)."""
    base = res.folder / "overlays"
    if FRAME_SEP in image:
        stem = Path(image.partition(FRAME_SEP)[0]).stem
        frame = int(image.rpartition(FRAME_SEP)[2] or 0)
        videos = sorted(res.folder.glob(f"{stem}.annotated*.mp4"), key=lambda p: _first_frame(p.name))
        starts = [v for v in videos if _first_frame(v.name) <= frame]
        return starts[-1] if starts else None
    path = (base / overlay_name(image)).resolve()
    return path if path.is_file() and path.is_relative_to(base.resolve()) else None


def _first_frame(name: str) -> int:
    """``clip.annotated.from-120.mp4`` -> 120 (a resumed run's part); ``clip.annotated.mp4`` -> 0."""
    part = name.rpartition(".from-")[2].removesuffix(".mp4")
    return int(part) if ".from-" in name and part.isdigit() else 0


def coordinates(table: pd.DataFrame) -> tuple[str, str] | None:
    """The (latitude, longitude) columns of the joined assets, if the table has any."""
    return next(((a, b) for a, b in COORDINATES if a in table and b in table), None)


def map_points(res: Results) -> pd.DataFrame | None:
    """Rows with valid coordinates as ``lat``, ``lon``, ``weight`` (masking rate in %, or OCR
    confidence) and ``image``; None when the table has no coordinate columns or no valid point."""
    cols = coordinates(res.table)
    if cols is None:
        return None
    ok = res.ok
    lat = pd.to_numeric(ok[cols[0]], errors="coerce")
    lon = pd.to_numeric(ok[cols[1]], errors="coerce")
    weight = 100 * ok.masking_rate if res.kind == "crack" else ok.confidence
    points = pd.DataFrame({"image": ok.image, "lat": lat, "lon": lon, "weight": pd.to_numeric(weight, errors="coerce")})
    points = points[points.lat.between(-90, 90) & points.lon.between(-180, 180)].dropna(subset=["lat", "lon"])
    points["weight"] = points.weight.fillna(0.0)
    return points.reset_index(drop=True) if len(points) else None


def map_view(
    points: pd.DataFrame, width_px: int = 900, height_px: int = 420, margin: float = 0.85
) -> tuple[float, float, float]:
    """(latitude, longitude, zoom) of a web-mercator view that shows every point in a map of about
    this size, with a margin; a single point (or a few metres of spread) gets street zoom."""
    lat0, lat1, lon0, lon1 = points.lat.min(), points.lat.max(), points.lon.min(), points.lon.max()
    # deck.gl: 512 px show 360 degrees of longitude at zoom 0; a degree of latitude is 1/cos(lat) times longer
    lon_span = max(lon1 - lon0, 1e-4)
    lat_span = max((lat1 - lat0) / max(np.cos(np.radians((lat0 + lat1) / 2)), 0.05), 1e-4)
    zoom = min(np.log2(margin * width_px / 512 * 360 / lon_span), np.log2(margin * height_px / 512 * 360 / lat_span))
    return float((lat0 + lat1) / 2), float((lon0 + lon1) / 2), float(np.clip(zoom, 1, 17))

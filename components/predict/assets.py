"""The asset register joined to the results: where and when each image was taken.

``assets.json`` is a JSON list of objects, each with at least ``name`` (the image's file stem, or
its file name) and any other fields: ``latitude``, ``longitude``, ``timestamp``, ... Nested objects
become dotted columns (``gps.lat``). The join is a left join on the image's stem (for a video
frame, the video's stem): images without an asset keep null (NaN) in the asset columns, assets
without an image are ignored. An asset column whose name is already a result column gets the
prefix ``asset_``.

The file is read and checked before any image is processed, so a malformed register fails the
run at once with the file and the reason, not after an hour of inference.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

import pandas as pd
import pyarrow as pa

from components.predict import PredictError


def load_assets(path: str | Path) -> pd.DataFrame:
    """The register as a table with a unique ``name`` column; PredictError naming the file otherwise."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PredictError(f"{path}: assets file cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise PredictError(f"{path}: assets file is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise PredictError(
            f"{path}: assets file is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        ) from None
    if not isinstance(data, list):
        raise PredictError(
            f"{path}: assets file must hold a JSON list of objects with a 'name', got a JSON {type(data).__name__}"
        )
    for i, obj in enumerate(data):
        if not isinstance(obj, dict):
            raise PredictError(f"{path}: asset {i} is a JSON {type(obj).__name__}, not an object")
        name = obj.get("name")
        if not isinstance(name, str) or not name.strip():
            raise PredictError(f"{path}: asset {i} has no 'name' (a non-empty string: the image's file stem)")
    if not data:
        return pd.DataFrame({"name": pd.Series(dtype=str)})
    frame = pd.json_normalize(data)
    dupes = sorted(frame.loc[frame.name.duplicated(), "name"].unique())
    if dupes:
        raise PredictError(
            f"{path}: asset names must be unique; repeated: {', '.join(dupes[:10])}"
            + (f" and {len(dupes) - 10} more" if len(dupes) > 10 else "")
        )
    return frame


def image_file(key: str) -> PurePosixPath:
    """The file behind a row key: ``a/b.jpg`` -> ``a/b.jpg``; ``clip.mp4#frame=12`` -> ``clip.mp4``."""
    return PurePosixPath(key.partition("#frame=")[0])


def join_assets(table: pa.Table, assets: pd.DataFrame) -> pa.Table:
    """``table`` with the asset columns appended, matched by file stem, else by file name."""
    index = {name: i for i, name in enumerate(assets["name"])}
    matched = []
    for key in table.column("image").to_pylist():
        f = image_file(key)
        matched.append(index.get(f.stem, index.get(f.name)))
    picked = assets.reindex([-1 if m is None else m for m in matched]).reset_index(drop=True)
    out = table
    for col in assets.columns:
        name = f"asset_{col}" if col in table.column_names else col
        out = out.append_column(name, _arrow(picked[col]))
    return out


def _arrow(values: pd.Series) -> pa.Array:
    """A column of JSON values; mixed types (a number here, a string there) become strings."""
    try:
        return pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array(
            [None if _missing(v) else v if isinstance(v, str) else json.dumps(v, default=str) for v in values],
            type=pa.string(),
        )


def _missing(v) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def matched_count(table: pa.Table, assets: pd.DataFrame) -> int:
    """How many distinct images of the table have an asset."""
    names = set(assets["name"])
    files = {image_file(k) for k in table.column("image").to_pylist()}
    return sum(1 for f in files if f.stem in names or f.name in names)

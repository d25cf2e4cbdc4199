"""What every export runtime checks before it runs a model file (docs/architecture.md#reliability-rules).

An export folder holds model files and one metadata JSON that records the schema version and the
sha256 of each file. A runtime reads the metadata with ``read_meta`` and each model's bytes with
``verified_bytes``; the session or interpreter is then built from those same bytes, so what was
checked is what runs. Every failure names the file and the reason. No torch, no TensorFlow.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any


class ExportIntegrityError(ValueError):
    """An exported file that is missing, altered or of an unknown schema; the message names it."""


def read_meta(path: str | Path, schema_version: int, required: Iterable[str] = ()) -> dict[str, Any]:
    """The metadata JSON at ``path``, checked for its schema version and ``required`` keys."""
    path = Path(path)
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExportIntegrityError(f"{path}: missing (not an export folder, or the export stage has not run)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ExportIntegrityError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("schema_version") != schema_version:
        got = meta.get("schema_version") if isinstance(meta, dict) else None
        raise ExportIntegrityError(f"{path}: schema_version {got!r}, this runtime reads {schema_version}")
    missing = [k for k in required if k not in meta]
    if missing:
        raise ExportIntegrityError(f"{path}: missing keys {missing}")
    return meta


def verified_bytes(path: str | Path, sha256: str, meta_name: str) -> bytes:
    """The bytes of ``path`` if their sha256 is ``sha256`` (as recorded in ``meta_name``)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ExportIntegrityError(f"{path}: missing") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise ExportIntegrityError(
            f"{path}: sha256 mismatch (file {digest[:16]}..., {meta_name} expects "
            f"{sha256[:16]}...): the model was altered or is from another export"
        )
    return data

"""Style families: which kind of scene each sample shows, recorded beside the data.

A *family* is a named style of frame (a surface, a light, a camera, a scale, a font set...). The
synthetic generators draw every frame from one family and write ``families.csv`` (``name,family``)
at the root of the dataset folder; a user importing real data may put the same file there (one row
per sample, e.g. the camera or site it came from). The manifest copies the family into its
``family`` column, so any metric can be broken down by family, and some families can be kept out of
training entirely to make a held-out-style (OOD) test set.

Samples without a row get the family ``unknown``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path

from components.io import atomic_write_text

FAMILIES_FILE = "families.csv"
UNKNOWN = "unknown"


class FamiliesFileError(ValueError):
    """``families.csv`` cannot be used; the message names the file and the line."""


def write_families(root: str | Path, rows: Iterable[tuple[str, str]]) -> Path:
    """Write ``root/families.csv`` from ``(name, family)`` pairs, in the order given."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["name", "family"])
    writer.writerows(rows)
    path = Path(root) / FAMILIES_FILE
    atomic_write_text(path, buf.getvalue())
    return path


def read_families(root: str | Path) -> dict[str, str]:
    """``{name: family}`` from ``root/families.csv``; empty when the file is absent."""
    path = Path(root) / FAMILIES_FILE
    if not path.exists():
        return {}
    out: dict[str, str] = {}
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header != ["name", "family"]:
            raise FamiliesFileError(f"{path}: the first line must be 'name,family' (got {header!r})")
        for lineno, row in enumerate(reader, start=2):
            if len(row) != 2 or not row[0].strip() or not row[1].strip():
                raise FamiliesFileError(f"{path}:{lineno}: expected 'name,family', got {row!r}")
            name, family = row[0].strip(), row[1].strip()
            if name in out and out[name] != family:
                raise FamiliesFileError(f"{path}:{lineno}: {name!r} is listed twice with different families")
            out[name] = family
    return out


def family_of(families: dict[str, str], name: str) -> str:
    return families.get(name, UNKNOWN)

"""Safe access to a source folder: walking it without leaving it (symlinks that lead outside are
reported, never read), resolving image paths written in annotations, canonical flat names, and
reading, copying, decoding and encoding files so that every failure is a :class:`_Problem` of one
sample.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import cv2
import numpy as np

from components.data.importers.report import ImportReport, _Problem
from components.io import (
    ImageReadError,
    UnsafePathError,
    atomic_path,
    image_size,
    read_image,
    resolve_inside,
)

_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


def _src_dir(src: Path) -> Path:
    src = Path(src)
    if not src.is_dir():
        raise FileNotFoundError(f"{src}: source folder does not exist or is not a folder")
    return src.absolute()


def _inside(path: Path, root_real: Path) -> bool:
    return path == root_real or root_real in path.parents


def _walk(root: Path, sub: Path, report: ImportReport, recursive: bool = True) -> list[tuple[str, Path]]:
    """Regular files under ``sub`` as (path relative to ``root`` in posix form, real path), sorted.

    Hidden entries are skipped; folder symlinks are not followed (those inside the root are reached
    through their real path anyway); symlinks that lead outside the root are reported, never read.
    """
    root_real = root.resolve()
    out: list[tuple[str, Path]] = []
    if not sub.is_dir():
        return out
    for dirpath, dirnames, filenames in os.walk(sub):
        dp = Path(dirpath)
        keep = []
        for d in sorted(dirnames):
            if d.startswith("."):
                continue
            p = dp / d
            if p.is_symlink():
                if not _inside(p.resolve(), root_real):
                    report.add_problem(
                        p, f"symlinked folder leads outside the source folder (to {p.resolve()}); not followed"
                    )
                continue
            keep.append(d)
        dirnames[:] = keep if recursive else []
        for f in sorted(filenames):
            if f.startswith("."):
                continue
            p = dp / f
            real = p.resolve()
            if not _inside(real, root_real):
                report.add_problem(p, f"symlink leads outside the source folder (to {real}); not read")
                continue
            if not real.is_file():
                report.add_problem(p, "not a regular file (broken symlink?); not read")
                continue
            out.append((p.relative_to(root).as_posix(), real))
    return out


def _flat_name(rel_no_suffix: str) -> str:
    parts = [_UNSAFE_CHARS.sub("_", p).lstrip(".") or "_" for p in rel_no_suffix.replace("\\", "/").split("/") if p]
    return "__".join(parts) or "_"


def _png_first(images: list[tuple[str, Path, Path]]) -> list[tuple[str, Path, Path]]:
    """(key, real, shown) image entries by key, PNG first, so that of two images with the same name the
    one needing no conversion wins."""
    return sorted(images, key=lambda t: (t[0], t[1].suffix.lower() != ".png", t[1].name))


def _claim_key(seen: dict[str, Path], key: str, shown: Path) -> None:
    """Record ``key`` as imported from ``shown``; a second image with the same key is its own problem."""
    if key in seen:
        raise _Problem(shown, f"another image with the same name ({seen[key].name}) was imported; not imported")
    seen[key] = shown


class _Names:
    """Unique canonical names (case-insensitively, for case-insensitive file systems)."""

    def __init__(self) -> None:
        self._used: set[str] = set()

    def claim(self, base: str) -> str:
        name, i = base, 2
        while name.lower() in self._used:
            name, i = f"{base}_{i}", i + 1
        self._used.add(name.lower())
        return name


def _load_json(real: Path, shown: Path):
    try:
        return json.loads(real.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise _Problem(shown, f"not valid JSON (not UTF-8 text: {exc})") from exc
    except json.JSONDecodeError as exc:
        raise _Problem(shown, f"not valid JSON ({exc})") from exc
    except OSError as exc:
        raise _Problem(shown, f"cannot be read ({exc.strerror or exc})") from exc


def _join_rel(rel_dir: str, image_path: str) -> str:
    """``image_path`` (relative to the annotation's folder) as a path relative to the source root.

    Absolute paths are passed through unchanged so that ``resolve_inside`` refuses them.
    """
    norm = image_path.replace("\\", "/")
    if norm.startswith("/") or norm[1:2] == ":" or rel_dir in ("", "."):
        return norm
    return f"{rel_dir}/{norm}"


def _resolve_image(src: Path, rel_dir: str, image_path: str, where: str, prefix: str = "") -> Path:
    joined = _join_rel(rel_dir, image_path)
    try:
        target = resolve_inside(src, joined)
    except UnsafePathError as exc:
        reason = str(exc) if joined == image_path else f"{exc} (written as {image_path!r})"
        norm = image_path.replace("\\", "/")
        if norm.startswith("/") or norm[1:2] == ":" or ".." in norm.split("/"):
            reason += "; write image paths relative to the folder holding the JSON file, without '..'"
        raise _Problem(where, prefix + reason) from exc
    if not target.is_file():
        raise _Problem(where, f"{prefix}image {image_path!r} not found (looked for {target})")
    return target


def _header_size(path: Path, max_pixels: int, shown: str | Path) -> tuple[int, int]:
    """(width, height) from the image header (EXIF orientation applied), without decoding the pixels."""
    try:
        return image_size(path, max_pixels)
    except ImageReadError as exc:
        raise _Problem(shown, str(exc).removeprefix(f"{path}: ")) from exc


def _copy_file(real: Path, dest: Path, shown: str | Path) -> None:
    """Copy the bytes unchanged; a source that cannot be read is a problem of that sample only."""
    try:
        fsrc = open(real, "rb")  # noqa: SIM115 - closed below; only read errors are per-sample
    except OSError as exc:
        raise _Problem(shown, f"cannot be read ({exc.strerror or exc})") from exc
    with fsrc, atomic_path(dest) as tmp, open(tmp, "wb") as fdst:
        shutil.copyfileobj(fsrc, fdst, 1 << 20)


def _encode_png(arr: np.ndarray, shown: str | Path) -> bytes:
    if arr.ndim == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".png", arr)
    if not ok:
        raise _Problem(shown, "cannot be encoded as PNG")
    return buf.tobytes()


def _decode(real: Path, max_pixels: int, shown: str | Path, mode: str = "RGB") -> np.ndarray:
    try:
        return read_image(real, max_pixels=max_pixels, mode=mode)
    except ImageReadError as exc:
        reason = str(exc)
        prefix = f"{real}: "
        raise _Problem(shown, reason.removeprefix(prefix)) from exc

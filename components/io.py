"""Safe file I/O shared by every stage (docs/architecture.md#reliability-rules).

* Writes are atomic (temporary file in the same folder + ``os.replace``), so an interrupted stage
  never leaves a file that looks complete.
* Paths read from annotation files are resolved inside the dataset root: no ``..``, no absolute
  paths, no symlinks that lead outside.
* Images are decoded with a pixel limit (decompression bombs) and every failure names the file.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image

DEFAULT_MAX_PIXELS = 50_000_000


class UnsafePathError(ValueError):
    """A path from an annotation that would leave the dataset root."""


class ImageReadError(ValueError):
    """An image that cannot be used; the message names the file and the reason."""


@contextmanager
def atomic_path(dest: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; it replaces ``dest`` only if the block succeeds."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp" + dest.suffix, dir=dest.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, dest)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_bytes(dest: str | Path, data: bytes) -> None:
    with atomic_path(dest) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(dest: str | Path, text: str) -> None:
    atomic_write_bytes(dest, text.encode("utf-8"))


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def resolve_inside(root: str | Path, relpath: str, source: str | Path | None = None) -> Path:
    """Resolve ``relpath`` (read from an annotation) inside ``root`` or raise UnsafePathError.

    Absolute paths, drive letters, ``..`` components and symlinks whose target lies outside the
    root are all refused; ``source`` (the annotation file) is named in the message.
    """
    where = f"{source}: " if source else ""
    if not relpath or "\x00" in relpath:
        raise UnsafePathError(f"{where}empty or invalid image path {relpath!r}")
    norm = relpath.replace("\\", "/")
    if norm.startswith("/") or (len(norm) > 1 and norm[1] == ":"):
        raise UnsafePathError(f"{where}absolute image path {relpath!r} is not allowed")
    if ".." in norm.split("/"):
        raise UnsafePathError(f"{where}image path {relpath!r} leaves the dataset root ('..')")
    root_real = Path(root).resolve()
    target = (root_real / norm).resolve()
    if target != root_real and root_real not in target.parents:
        raise UnsafePathError(f"{where}image path {relpath!r} resolves to {target}, outside the dataset root {root_real} (symlink?)")
    return target


def read_image(path: str | Path, max_pixels: int = DEFAULT_MAX_PIXELS, mode: str = "RGB") -> np.ndarray:
    """Decode an image fully into a uint8 array; raise ImageReadError naming the file and reason.

    The size is checked from the header before any pixel is decoded, so a decompression bomb is
    refused without allocating it; truncated or corrupted files fail instead of decoding partly.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if size == 0:
        raise ImageReadError(f"{path}: empty file (0 bytes)")
    return _decode(path, str(path), max_pixels, mode)


def decode_image(data: bytes, name: str, max_pixels: int = DEFAULT_MAX_PIXELS, mode: str = "RGB") -> np.ndarray:
    """``read_image`` for bytes already in memory (an HTTP payload); ``name`` is used in errors."""
    if not data:
        raise ImageReadError(f"{name}: empty image (0 bytes)")
    return _decode(io.BytesIO(data), name, max_pixels, mode)


def _decode(source, name: str, max_pixels: int, mode: str) -> np.ndarray:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as im:
                w, h = im.size
                if w * h > max_pixels:
                    raise ImageReadError(f"{name}: {w}x{h} = {w * h} pixels exceeds the limit of {max_pixels} (decompression bomb?)")
                im.load()
                arr = np.asarray(im.convert(mode) if mode else im)
    except ImageReadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageReadError(f"{name}: refused as a decompression bomb ({exc})") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageReadError(f"{name}: cannot be decoded ({exc})") from exc
    return arr


def absolute_sqlite(uri: str, root: Path) -> str:
    """``sqlite:///relative.db`` -> ``sqlite:////root/relative.db``; other URIs unchanged. MLflow
    caches its stores by URI, so a relative SQLite path would keep following the first cwd; the
    stages resolve it against the cwd (the repository root), the dashboard against the repository."""
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        return f"sqlite:///{Path(root) / uri.removeprefix('sqlite:///')}"
    return uri

"""Safe file I/O shared by every stage (docs/architecture.md#reliability-rules).

* Writes are atomic (temporary file in the same folder + ``os.replace``), so an interrupted stage
  never leaves a file that looks complete.
* Paths read from annotation files are resolved inside the dataset root: no ``..``, no absolute
  paths, no symlinks that lead outside.
* Images are decoded with a pixel limit (decompression bombs) and every failure names the file;
  one policy (``_to_array``) turns every bit depth and colour mode into the same 8-bit RGB.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from struct import error as struct_error

import numpy as np
from PIL import Image

DEFAULT_MAX_PIXELS = 50_000_000
# What Pillow and its plugins raise on a truncated or crafted file (more than OSError): "cannot be decoded".
UNDECODABLE = (
    OSError,
    ValueError,
    SyntaxError,
    TypeError,
    KeyError,
    IndexError,
    EOFError,
    struct_error,
    ZeroDivisionError,
)


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


def is_stale_temporary(path: Path) -> bool:
    """A hidden ``.<name>.<random>.tmp<suffix>`` left by :func:`atomic_path` (or a video being
    written) when its process was killed before the rename (SIGKILL, power loss)."""
    name = path.name
    return name.startswith(".") and ".tmp." in name + "." and path.is_file()


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Delete the temporaries a killed run left anywhere under ``folder``; return what was removed.

    Only call it on a folder one run owns (batch prediction's OUT) before that run writes there.
    """
    removed = []
    folder = Path(folder)
    if not folder.is_dir():
        return removed
    for dirpath, _, filenames in os.walk(folder):
        for f in filenames:
            p = Path(dirpath) / f
            if is_stale_temporary(p) and not p.is_symlink():
                p.unlink()
                removed.append(p)
    return sorted(removed)


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


def fingerprint(*parts) -> str:
    """Identity of a training run (its parameters and the bytes of its inputs), for resume: a
    checkpoint is resumed only by a run with the same fingerprint. A Path part counts by its file's
    sha256, a pydantic model by its fields, anything else by its JSON."""
    h = hashlib.sha256()
    for p in parts:
        if isinstance(p, Path):
            h.update(sha256_file(p).encode())
        else:
            value = p.model_dump() if hasattr(p, "model_dump") else p
            h.update(json.dumps(value, sort_keys=True, default=str).encode())
    return h.hexdigest()


def write_csv(rows: list[dict], path: str | Path) -> None:
    """A table of dicts as CSV (columns: every key, in first-seen order), written atomically; the
    per-epoch histories and curves ``dvc plots`` reads."""
    keys: list[str] = []
    for row in rows:
        keys += [k for k in row if k not in keys]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=keys)
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buf.getvalue())


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
        raise UnsafePathError(
            f"{where}image path {relpath!r} resolves to {target}, outside the dataset root {root_real} (symlink?)"
        )
    return target


#: Smallest side (px) of an image worth running a model on; batch prediction and serving both refuse
#: smaller ones through ``read_image`` / ``decode_image(min_side=MIN_PREDICT_SIDE)``.
MIN_PREDICT_SIDE = 32


def read_image(
    path: str | Path, max_pixels: int = DEFAULT_MAX_PIXELS, mode: str = "RGB", min_side: int = 1
) -> np.ndarray:
    """Decode an image fully into a uint8 array; raise ImageReadError naming the file and reason.

    The size is checked from the header before any pixel is decoded, so a decompression bomb is
    refused without allocating it; truncated or corrupted files fail instead of decoding partly.
    Every stage decodes through here, so every stage sees the same pixels (see :func:`_to_array`).
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if size == 0:
        raise ImageReadError(f"{path}: empty file (0 bytes)")
    return _decode(path, str(path), max_pixels, mode, min_side)


def decode_image(
    data: bytes, name: str, max_pixels: int = DEFAULT_MAX_PIXELS, mode: str = "RGB", min_side: int = 1
) -> np.ndarray:
    """``read_image`` for bytes already in memory (an HTTP payload); ``name`` is used in errors."""
    if not data:
        raise ImageReadError(f"{name}: empty image (0 bytes)")
    return _decode(io.BytesIO(data), name, max_pixels, mode, min_side)


_SWAPS_SIDES = (5, 6, 7, 8)  # EXIF orientations that turn the image by 90 degrees


def image_size(path: str | Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[int, int]:
    """(width, height) as :func:`read_image` would return it (EXIF orientation applied), read from
    the header only; ImageReadError names the file and the reason."""
    name = str(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                w, h = im.size
                try:
                    orientation = im.getexif().get(0x0112)
                except Exception:  # noqa: BLE001 - a broken EXIF block is ignored, as exif_transpose does
                    orientation = None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageReadError(f"{name}: refused as a decompression bomb ({exc})") from exc
    except UNDECODABLE as exc:
        raise ImageReadError(f"{name}: image header cannot be read ({type(exc).__name__}: {exc})") from exc
    if w * h > max_pixels:
        raise ImageReadError(
            f"{name}: {w}x{h} = {w * h} pixels exceeds the limit of {max_pixels} (decompression bomb?)"
        )
    return (h, w) if orientation in _SWAPS_SIDES else (w, h)


def read_mask(path: str | Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """A {0, 1} uint8 mask: 1 where any colour channel is non-zero and the pixel is not fully
    transparent. Any bit depth works (a 16-bit value of 1 is crack, not rounded away)."""
    return read_image(path, max_pixels, mode="mask")


def _scale_to_uint8(arr: np.ndarray, mode: str) -> np.ndarray:
    """High-bit-depth samples to 0-255 by their bit depth (not by clipping, which saturates)."""
    if mode.startswith("I;16") or mode == "I":
        # 16-bit PNG/TIFF (Pillow reads 16-bit grey PNGs as "I;16" or "I"): full scale is 65535
        return np.round(np.clip(arr.astype(np.float64), 0, 65535) / 257.0).astype(np.uint8)
    if mode == "F":  # float TIFF: 0-1 if it fits, else taken as 0-255
        a = np.nan_to_num(arr.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        if a.size and a.max() <= 1.0:
            a = a * 255.0
        return np.round(np.clip(a, 0, 255)).astype(np.uint8)
    return arr.astype(np.uint8)


def _to_array(im: Image.Image, mode: str) -> np.ndarray:
    """THE decoding policy, the same for import, validation, training, batch prediction and serving.

    * EXIF orientation is applied (a phone photo stored sideways comes out upright).
    * 16-bit and 32-bit grey are scaled by their bit depth (65535 -> 255), never clipped; 16-bit
      colour PNGs are reduced to 8 bits per channel by Pillow the same way.
    * ``mode="RGB"``: grey, grey+alpha, palette, CMYK, YCbCr and RGBA all become 3-channel RGB; an
      alpha channel is dropped (colours are kept as stored, not blended with a background).
    * ``mode="mask"``: {0, 1}, non-zero colour and not fully transparent.
    * ``mode=""``: the stored channels, 8-bit (for facts about the file).
    """
    from PIL import ImageOps

    im = ImageOps.exif_transpose(im)
    if im.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        grey = _scale_to_uint8(np.asarray(im), im.mode)
        if mode == "mask":
            return (np.asarray(im) != 0).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2) if mode == "RGB" else grey
    if mode == "mask":
        rgba = np.asarray(im.convert("RGBA"))
        return ((rgba[..., :3] > 0).any(axis=2) & (rgba[..., 3] > 0)).astype(np.uint8)
    if mode == "RGB":
        if im.mode == "P" and "transparency" in im.info:
            im = im.convert("RGBA")  # Pillow warns when a palette with transparency goes to RGB directly
        return np.asarray(im.convert("RGB"))
    if mode:
        return np.asarray(im.convert(mode))
    if im.mode not in ("L", "RGB", "RGBA"):
        im = im.convert("RGBA" if im.mode in ("LA", "PA", "RGBa", "La") or "transparency" in im.info else "RGB")
    return np.asarray(im)


def _decode(source, name: str, max_pixels: int, mode: str, min_side: int = 1) -> np.ndarray:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as im:
                w, h = im.size
                if w * h > max_pixels:
                    raise ImageReadError(
                        f"{name}: {w}x{h} = {w * h} pixels exceeds the limit of {max_pixels} (decompression bomb?)"
                    )
                if min(w, h) < max(min_side, 1):
                    raise ImageReadError(f"{name}: {w}x{h} px is smaller than {max(min_side, 1)} px on a side")
                im.load()
                arr = _to_array(im, mode)
    except ImageReadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageReadError(f"{name}: refused as a decompression bomb ({exc})") from exc
    except UNDECODABLE as exc:
        # Pillow's plugins raise more than OSError on crafted headers; any of them means "cannot be decoded"
        raise ImageReadError(f"{name}: cannot be decoded ({type(exc).__name__}: {exc})") from exc
    return np.ascontiguousarray(arr)


def absolute_sqlite(uri: str, root: Path) -> str:
    """``sqlite:///relative.db`` -> ``sqlite:////root/relative.db``; other URIs unchanged. MLflow
    caches its stores by URI, so a relative SQLite path would keep following the first cwd; the
    stages resolve it against the cwd (the repository root), the dashboard against the repository."""
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        return f"sqlite:///{Path(root) / uri.removeprefix('sqlite:///')}"
    return uri


def write_parquet(frame, path: str | Path) -> None:
    """A pandas table as parquet, written atomically (no half-written manifest is ever read)."""
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)

"""What both crack readers share: reading PLINE polylines, masks of any encoding as {0, 1}, writing
one canonical sample (decoding only for a conversion or a mask size check) and the convert job that
does it for one image (``.convert``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from components.data import crack_format as cf
from components.data.importers.convert import _commit, _Converted, _settle, _Where
from components.data.importers.files import (
    _copy_file,
    _decode,
    _encode_png,
    _flat_name,
    _header_size,
    _load_json,
    _Names,
)
from components.data.importers.formats import LOSSY_EXTS
from components.data.importers.report import ImportReport, _Problem
from components.io import (
    atomic_write_bytes,
)


def _read_polylines(real: Path, shown: Path) -> list[np.ndarray]:
    """Polylines of an AI-Hub/canonical PLINE file; extra keys are ignored, pairs are flattened."""
    data = _load_json(real, shown)
    if not isinstance(data, dict) or not isinstance(data.get("annotations"), list):
        raise _Problem(shown, "not a PLINE annotation (a JSON object with an 'annotations' list is expected)")
    lines = []
    for i, a in enumerate(data["annotations"]):
        if not isinstance(a, dict) or "polyline" not in a:
            raise _Problem(shown, f"annotation {i} has no 'polyline'")
        try:
            pts = np.asarray(a["polyline"], dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as exc:
            raise _Problem(shown, f"polyline {i} is not a list of numbers ({exc})") from exc
        if pts.size % 2 or pts.size < 4:
            raise _Problem(shown, f"polyline {i} needs an even number (>= 4) of coordinates, got {pts.size}")
        if not np.isfinite(pts).all():
            raise _Problem(shown, f"polyline {i} has non-finite coordinates (NaN or infinity)")
        lines.append(pts.reshape(-1, 2))
    return lines


def _mask_from_file(real: Path, max_pixels: int, shown: str | Path) -> np.ndarray:
    """A {0, 1} mask from a mask image: 0 is background, any non-zero colour is crack.

    Accepts 0/1, 0/255, 16-bit, palette and RGB(A) masks (fully transparent pixels are background);
    lossy files (JPEG) are thresholded at half intensity to ignore compression noise.
    """
    if real.suffix.lower() not in LOSSY_EXTS:
        return _decode(real, max_pixels, shown, mode="mask")
    rgba = _decode(real, max_pixels, shown, mode="RGBA")
    return ((rgba[..., :3] > 127).any(axis=2) & (rgba[..., 3] > 0)).astype(np.uint8)


def _write_crack_sample(
    root: Path,
    stem: str,
    image: Path,
    image_shown: Path,
    polylines: list[np.ndarray],
    mask_file: tuple[Path, Path] | None,
    max_pixels: int,
    ann_shown: Path | None = None,
) -> tuple[str, ...]:
    """Write one canonical crack sample under ``root`` named ``stem``; decodes only for a conversion or
    a mask size check. Returns the files written, relative to ``root``; a problem leaves none.

    ``mask_file`` is (real path, path to show) of the sample's mask image, if any.
    """
    mask_png = png = None
    if mask_file is not None or image.suffix.lower() != ".png":
        arr = _decode(image, max_pixels, image_shown)
        if mask_file is not None:
            mask = _mask_from_file(mask_file[0], max_pixels, mask_file[1])
            if mask.shape != arr.shape[:2]:
                raise _Problem(
                    mask_file[1],
                    f"mask is {mask.shape[1]}x{mask.shape[0]} but its image {image_shown.name} is "
                    f"{arr.shape[1]}x{arr.shape[0]}",
                )
            mask_png = _encode_png(mask * np.uint8(255), mask_file[1])
        if image.suffix.lower() != ".png":
            png = _encode_png(arr, image_shown)
        h, w = arr.shape[:2]
    elif polylines:
        w, h = _header_size(image, max_pixels, image_shown)
    problem = cf.polyline_problem(polylines, w, h) if polylines else None
    if problem:
        raise _Problem(ann_shown or image_shown, f"{problem}; sample not imported")
    out_image = root / cf.IMAGES_DIR / f"{stem}.png"
    if png is None:
        _copy_file(image, out_image, image_shown)
    else:
        atomic_write_bytes(out_image, png)
    written = [out_image]
    if mask_png is not None:
        written.append(root / cf.MASKS_DIR / f"{stem}.png")
        atomic_write_bytes(written[-1], mask_png)
    written.append(cf.annotation_path(root, stem))
    cf.write_pline(polylines, written[-1])
    return tuple(p.relative_to(root).as_posix() for p in written)


@dataclass(frozen=True)
class _CrackJob:
    """One crack image to convert (both readers): its key below the image folder, real path and path
    to show, its PLINE file and its mask (``(real, shown)``, each None when it has none)."""

    stem: str
    key: str
    real: Path
    shown: Path
    ann: tuple[Path, Path] | None
    mask: tuple[Path, Path] | None


def _convert_crack(where: _Where, job: _CrackJob) -> _Converted:
    """Convert job: read the polylines, check the image and mask and stage the sample; ``named``
    once the polylines are read (from there a sample holds its mask and its name)."""
    try:
        polylines = _read_polylines(*job.ann) if job.ann else []
    except _Problem as p:
        return _Converted.failed(p, named=False)
    try:
        staged = _write_crack_sample(
            where.stage,
            job.stem,
            job.real,
            job.shown,
            polylines,
            job.mask,
            where.max_pixels,
            ann_shown=job.ann[1] if job.ann else None,
        )
    except _Problem as p:
        return _Converted.failed(p, named=True)
    return _Converted(named=True, staged=staged)


def _settle_crack(
    job: _CrackJob, done: _Converted, names: _Names, report: ImportReport, stage: Path, tmp: Path
) -> None:
    """The fold of both crack readers for one job: named after its key, its staged files committed."""
    _settle(done, _flat_name(job.key), names, report, lambda name: _commit(stage, tmp, job.stem, name, done.staged))


def _strip_suffix(rel: str, suffix: str) -> str:
    return rel[: -len(suffix)] if rel.lower().endswith(suffix.lower()) else rel

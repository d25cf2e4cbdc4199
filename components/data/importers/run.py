"""One import as a transaction: pick the reader (or detect it), fill a hidden temporary folder, and
move it into place only when complete, so ``dst`` never holds half an import. The readers' per-sample
work fans out (``.convert``: ``workers`` processes or ``client``'s Dask cluster, from ``min_jobs``
samples on) with the same files and report as in one process.
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

from components.data import crack_format as cf
from components.data.importers.convert import STAGING_DIR, Fanout
from components.data.importers.files import _inside, _src_dir
from components.data.importers.formats import CRACK_FORMATS, OCR_FORMATS, detect_crack_format, detect_ocr_format
from components.data.importers.kaist import _import_kaist
from components.data.importers.labelme import _import_labelme
from components.data.importers.pline import _import_pline
from components.data.importers.png_masks import _import_png_masks
from components.data.importers.report import REPORT_NAME, ImportReport
from components.fanout import ClientSource
from components.io import (
    DEFAULT_MAX_PIXELS,
    atomic_write_text,
)


def _prepare_dst(src: Path, dst: Path, formats: tuple[str, ...], layout_ok) -> Path:
    """Check ``dst`` and return the hidden temporary folder the import is built in."""
    dst = Path(dst).absolute()
    src_r, dst_r = src.resolve(), dst.resolve()
    if _inside(dst_r, src_r):
        raise ValueError(f"{dst}: the destination must not be the source folder or inside it ({src})")
    if src_r in dst_r.parents:
        raise ValueError(f"{dst}: the destination must not contain the source folder ({src})")
    if dst.exists() or dst.is_symlink():
        if not dst.is_dir():
            raise NotADirectoryError(f"{dst}: destination exists and is not a folder")
        entries = list(dst.iterdir())
        if entries and not _is_previous_import(dst, entries, formats, layout_ok):
            raise FileExistsError(
                f"{dst}: destination is not empty and does not hold only a previous import; give an empty or new folder"
            )
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.parent / f".{dst.name}.importing-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    return tmp


def _is_previous_import(dst: Path, entries: list[Path], formats: tuple[str, ...], layout_ok) -> bool:
    try:
        report = json.loads((dst / REPORT_NAME).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    if not isinstance(report, dict) or report.get("format") not in formats:
        return False
    return all(p.name == REPORT_NAME or layout_ok(p) for p in entries)


def _ocr_layout_ok(p: Path) -> bool:
    return p.is_file() and not p.is_symlink() and p.suffix.lower() in (".json", ".jpg", ".png")


def _crack_layout_ok(p: Path) -> bool:
    return p.is_dir() and not p.is_symlink() and p.name in (cf.IMAGES_DIR, cf.ANNOTATIONS_DIR, cf.MASKS_DIR)


def _finish(tmp: Path, dst: Path, report: ImportReport) -> None:
    atomic_write_text(tmp / REPORT_NAME, json.dumps(report.to_dict(), indent=1))
    dst = Path(dst).absolute()
    if dst.exists():
        old = dst.parent / f".{dst.name}.old-{uuid.uuid4().hex[:8]}"
        dst.rename(old)
        tmp.rename(dst)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(dst)


def _hint_format(src: Path, report: ImportReport, detect) -> None:
    """When most of a folder failed and it looks like another format, say so once, first.

    A wrong ``format:`` (``kaist`` on a LabelMe folder) otherwise shows as one "not referenced" line
    per image and no hint at the cause.
    """
    if not report.problems or len(report.imported) * 2 > len(report.problems):
        return
    try:
        likely = detect(src)
    except ValueError:
        return
    if likely != report.format:
        report.problems.insert(
            0,
            (
                str(src),
                (
                    f"imported as format {report.format!r}, but the folder looks like {likely!r} "
                    f"({len(report.imported)} sample(s) imported, {len(report.problems)} problem(s)); "
                    f"set format: {likely} (or auto) for this source"
                ),
            ),
        )


def _run(
    src: Path, dst: Path, fmt: str, kind: str, importers: dict, detect, layout_ok, max_pixels: int, fanout: Fanout
) -> ImportReport:
    """One import of either task: ``fmt`` (``auto``: detected) picks the reader in ``importers``
    (format -> reader), which fills a fresh folder that then replaces ``dst``; its convert jobs run
    where ``fanout`` says and stage their files in a folder removed before the move."""
    src = _src_dir(src)
    formats = tuple(importers)
    if fmt == "auto":
        fmt = detect(src)
    if fmt not in formats:
        raise ValueError(f"unknown {kind} format {fmt!r}; expected one of {formats} or 'auto'")
    tmp = _prepare_dst(src, dst, formats, layout_ok)
    try:
        report = ImportReport(format=fmt)
        importers[fmt](src, tmp, report, max_pixels, fanout.of_format(fmt))
        shutil.rmtree(tmp / STAGING_DIR, ignore_errors=True)  # what failed or duplicate samples staged
        _hint_format(src, report, detect)
        _finish(tmp, dst, report)
        return report
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def import_ocr(
    src: Path,
    dst: Path,
    fmt: str = "auto",
    max_pixels: int = DEFAULT_MAX_PIXELS,
    *,
    workers: int = 1,
    client: ClientSource | None = None,
    min_jobs: int | None = None,
) -> ImportReport:
    """Convert a LabelMe tree or KAIST pairs in ``src`` into a canonical OCR folder ``dst``.

    ``dst`` must be new, empty or hold a previous import (replaced as a whole once the new one is
    complete). Bad samples are listed in the report (and ``dst/import_report.json``), never raised.
    Images are copied byte for byte; only formats other than JPEG/PNG are decoded (to PNG). The
    samples are converted in ``workers`` processes or on ``client``'s Dask cluster from ``min_jobs``
    samples on (None: the format's measured crossover, ``convert.MIN_FANOUT_SAMPLES``, which keeps
    the OCR formats in this process), in this process below that; the result does not depend on where.
    """
    return _run(
        src,
        dst,
        fmt,
        "OCR",
        dict(zip(OCR_FORMATS, (_import_labelme, _import_kaist))),
        detect_ocr_format,
        _ocr_layout_ok,
        max_pixels,
        Fanout(workers, client, min_jobs),
    )


def import_crack(
    src: Path,
    dst: Path,
    fmt: str = "auto",
    max_pixels: int = DEFAULT_MAX_PIXELS,
    *,
    workers: int = 1,
    client: ClientSource | None = None,
    min_jobs: int | None = None,
) -> ImportReport:
    """Convert AI-Hub polylines or PNG masks in ``src`` into a canonical crack folder ``dst``.

    PNG images are copied byte for byte; JPEG and other images are decoded (pixel limit) and written
    as PNG; masks become 0/255 PNGs beside an empty polyline file. Bad samples go to the report.
    Fan-out (``workers``, ``client``, ``min_jobs``) as for :func:`import_ocr`.
    """
    return _run(
        src,
        dst,
        fmt,
        "crack",
        dict(zip(CRACK_FORMATS, (_import_pline, _import_png_masks))),
        detect_crack_format,
        _crack_layout_ok,
        max_pixels,
        Fanout(workers, client, min_jobs),
    )

"""Import real datasets into the canonical formats (docs/architecture.md#data-formats) without
losing anything (docs/architecture.md#reliability-rules).

OCR sources (output: a flat folder of ``<name>.<jpg|png>`` + ``<name>.json``, LabelMe style):

* ``labelme``: any folder tree of LabelMe JSON files (``imagePath`` relative to the JSON's folder).
  Sub-folders are flattened into names joined by ``__`` (``site_a/img_01.json`` -> ``site_a__img_01``).
* ``kaist``: the seed's KAIST/SSD-tutorial pairs ``<split>_images.json`` + ``<split>_objects.json``,
  any number of splits per folder. Integer labels map through ``label_map.json`` ({name: int}) in the
  same folder, else through :data:`DEFAULT_LABEL_MAP`. The format has neither group ids nor texts:
  every character goes to the ROI holding its centre and the text is read with :func:`reading_order`.

Crack sources (output: ``images/<name>.png``, ``annotations/<name>_PLINE.json``, optional
``masks/<name>.png`` 0/255):

* ``pline``: AI-Hub style ``images/`` + ``annotations/*_PLINE.json`` (also a canonical folder, whose
  ``masks/`` are kept).
* ``png_masks``: CrackForest/DeepCrack style images with masks of the same stem in ``masks/``,
  ``labels/``, ``gt/`` or beside the image as ``<stem>_mask.png`` / ``<stem>_label.png``.

Reliability: each bad sample becomes a ``(file, reason)`` entry of the :class:`ImportReport` and the
import goes on; every path comes from inside the source folder (no ``..``, no absolute paths, no
symlinks that lead outside); images are decoded (with a pixel limit) only where a conversion needs it;
the result is built in a hidden temporary folder and moved into place only when complete, with
``import_report.json`` (``{"format", "imported": n, "problems": [{"file", "reason"}]}``) inside.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import cv2
import numpy as np

from components.data import crack_format as cf
from components.data.ocr_format import (
    CHAR_CLASSES,
    ROI_LABEL,
    AnnotationError,
    OcrAnnotation,
    Shape,
    clip_boxes_to_image,
    write_labelme,
)
from components.io import (
    DEFAULT_MAX_PIXELS,
    ImageReadError,
    UnsafePathError,
    atomic_path,
    atomic_write_bytes,
    atomic_write_text,
    image_size,
    read_image,
    resolve_inside,
)

REPORT_NAME = "import_report.json"
LABEL_MAP_NAME = "label_map.json"
OCR_FORMATS = ("labelme", "kaist")
CRACK_FORMATS = ("pline", "png_masks")
MASK_DIRS = ("masks", "labels", "gt")
MASK_SUFFIXES = ("_mask", "_label")
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
LOSSY_EXTS = (".jpg", ".jpeg", ".webp")

#: Integer labels of KAIST files without a ``label_map.json``: 0 background, 1 resistor,
#: 2-11 the digits 0-9, 12-37 the letters A-Z (the order of ``CHAR_CLASSES``).
DEFAULT_LABEL_MAP: dict[str, int] = {"background": 0, ROI_LABEL: 1, **{c: i + 2 for i, c in enumerate(CHAR_CLASSES)}}

_KAIST_IMAGES_RE = re.compile(r"^(?P<split>.+)_images\.json$", re.IGNORECASE)
_KAIST_OBJECTS_RE = re.compile(r"^(?P<split>.+)_objects\.json$", re.IGNORECASE)
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class ImportReport:
    """What an import did: the canonical names written and every ``(file, reason)`` left out."""

    format: str
    imported: list[str] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)

    def add_problem(self, file: str | Path, reason: str) -> None:
        self.problems.append((str(file), reason))

    def to_dict(self) -> dict:
        return {
            "format": self.format,
            "imported": len(self.imported),
            "problems": [{"file": f, "reason": r} for f, r in self.problems],
        }


class _Problem(Exception):
    """One sample cannot be imported; carries the file to name and the reason."""

    def __init__(self, file: str | Path, reason: str):
        super().__init__(f"{file}: {reason}")
        self.file = str(file)
        self.reason = reason


# --------------------------------------------------------------------------------------------------
# reading order
# --------------------------------------------------------------------------------------------------


def reading_order(boxes) -> list[int]:
    """Indices of character boxes ``(x1, y1, x2, y2)`` in reading order along one text line.

    The line direction is the principal axis of the box centres (PCA), oriented to point right
    (positive x; straight down if the line is vertical), so text rotated by up to about ±80° reads
    correctly; the boxes are sorted by their projection on that axis (ties keep the input order).
    """
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    n = len(b)
    if n <= 1:
        return list(range(n))
    centres = np.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2], axis=1)
    d = centres - centres.mean(axis=0)
    cov = d.T @ d
    if not np.isfinite(cov).all() or np.allclose(cov, 0):
        direction = np.array([1.0, 0.0])  # all centres coincide: nothing to learn, keep left-to-right
    else:
        eigvals, eigvecs = np.linalg.eigh(cov)
        direction = eigvecs[:, int(np.argmax(eigvals))]
        if direction[0] < -1e-9 or (abs(direction[0]) <= 1e-9 and direction[1] < 0):
            direction = -direction
    return [int(i) for i in np.argsort(d @ direction, kind="stable")]


# --------------------------------------------------------------------------------------------------
# format detection
# --------------------------------------------------------------------------------------------------


def _src_dir(src: Path) -> Path:
    src = Path(src)
    if not src.is_dir():
        raise FileNotFoundError(f"{src}: source folder does not exist or is not a folder")
    return src.absolute()


def _kaist_pairs_present(src: Path) -> bool:
    for _dirpath, dirnames, filenames in os.walk(src):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        lower = {f.lower() for f in filenames}
        for f in filenames:
            m = _KAIST_IMAGES_RE.match(f)
            if m and f"{m['split']}_objects.json".lower() in lower:
                return True
    return False


def _labelme_present(src: Path) -> bool:
    root_real = src.resolve()
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for f in sorted(filenames):
            if not f.lower().endswith(".json") or f.startswith(".") or _is_special_json(f):
                continue
            real = (Path(dirpath) / f).resolve()
            if not _inside(real, root_real):
                continue
            try:
                data = json.loads(real.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError):
                continue
            if isinstance(data, dict) and "imagePath" in data:
                return True
    return False


def detect_ocr_format(src: Path) -> str:
    """``'kaist'`` (a ``<split>_images.json`` + ``<split>_objects.json`` pair) or ``'labelme'``."""
    src = _src_dir(src)
    kaist = _kaist_pairs_present(src)
    labelme = _labelme_present(src)
    if kaist and labelme:
        raise ValueError(
            f"{src}: holds both KAIST pairs (<split>_images.json) and LabelMe JSON files; pass fmt='kaist' or "
            "fmt='labelme'"
        )
    if kaist:
        return "kaist"
    if labelme:
        return "labelme"
    raise ValueError(
        f"{src}: not a known OCR dataset: found neither a KAIST pair (<split>_images.json + "
        "<split>_objects.json) nor LabelMe JSON files (*.json with 'imagePath')"
    )


def detect_crack_format(src: Path) -> str:
    """``'pline'`` (``annotations/*_PLINE.json``) or ``'png_masks'`` (masks by image stem)."""
    src = _src_dir(src)
    ann = src / cf.ANNOTATIONS_DIR
    if ann.is_dir() and any(p.name.lower().endswith(cf.PLINE_SUFFIX.lower()) for p in ann.rglob("*")):
        return "pline"
    if any((src / d).is_dir() for d in MASK_DIRS):
        return "png_masks"
    for folder in (src / cf.IMAGES_DIR, src):
        if folder.is_dir() and any(
            p.suffix.lower() in IMAGE_EXTS and p.stem.lower().endswith(MASK_SUFFIXES) for p in folder.iterdir()
        ):
            return "png_masks"
    raise ValueError(
        f"{src}: not a known crack dataset: found neither annotations/*_PLINE.json (AI-Hub polylines) "
        f"nor PNG masks ({', '.join(d + '/' for d in MASK_DIRS)} or <stem>_mask.png / <stem>_label.png)"
    )


# --------------------------------------------------------------------------------------------------
# shared helpers
# --------------------------------------------------------------------------------------------------


def _is_special_json(name: str) -> bool:
    low = name.lower()
    return low in (REPORT_NAME, LABEL_MAP_NAME) or bool(_KAIST_IMAGES_RE.match(name) or _KAIST_OBJECTS_RE.match(name))


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


def _canon_label(label) -> str:
    s = str(label).strip()
    if s.lower() == ROI_LABEL:
        return ROI_LABEL
    return s.upper() if len(s) == 1 else s


def _fill_texts(ann: OcrAnnotation) -> None:
    """Give every ROI without a text the text of its characters in reading order."""
    for roi in ann.rois:
        if roi.text is None and roi.group_id is not None:
            chars = ann.chars_of(roi.group_id)
            roi.text = "".join(chars[i].label for i in reading_order([c.box for c in chars]))


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
    src: Path, dst: Path, fmt: str, kind: str, importers: dict, detect, layout_ok, max_pixels: int
) -> ImportReport:
    """One import of either task: ``fmt`` (``auto``: detected) picks the reader in ``importers``
    (format -> reader), which fills a fresh folder that then replaces ``dst``."""
    src = _src_dir(src)
    formats = tuple(importers)
    if fmt == "auto":
        fmt = detect(src)
    if fmt not in formats:
        raise ValueError(f"unknown {kind} format {fmt!r}; expected one of {formats} or 'auto'")
    tmp = _prepare_dst(src, dst, formats, layout_ok)
    try:
        report = ImportReport(format=fmt)
        importers[fmt](src, tmp, report, max_pixels)
        _hint_format(src, report, detect)
        _finish(tmp, dst, report)
        return report
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------------------------------------------
# OCR
# --------------------------------------------------------------------------------------------------


def import_ocr(src: Path, dst: Path, fmt: str = "auto", max_pixels: int = DEFAULT_MAX_PIXELS) -> ImportReport:
    """Convert a LabelMe tree or KAIST pairs in ``src`` into a canonical OCR folder ``dst``.

    ``dst`` must be new, empty or hold a previous import (replaced as a whole once the new one is
    complete). Bad samples are listed in the report (and ``dst/import_report.json``), never raised.
    Images are copied byte for byte; only formats other than JPEG/PNG are decoded (to PNG).
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
    )


def _write_ocr_sample(
    tmp: Path, name: str, image: Path, ann: OcrAnnotation, max_pixels: int, shown: str | Path
) -> None:
    ext = image.suffix.lower()
    if ext in (".jpg", ".jpeg"):
        out_ext = ".jpg"
        _copy_file(image, tmp / f"{name}{out_ext}", shown)
    elif ext == ".png":
        out_ext = ".png"
        _copy_file(image, tmp / f"{name}{out_ext}", shown)
    else:  # only JPEG and PNG are canonical: convert, which needs a decode
        out_ext = ".png"
        atomic_write_bytes(tmp / f"{name}{out_ext}", _encode_png(_decode(image, max_pixels, shown), shown))
    ann.image_path = f"{name}{out_ext}"
    write_labelme(ann, tmp / f"{name}.json")


def _report_unreferenced_images(
    files: list[tuple[str, Path]], used: set[Path], src: Path, report: ImportReport
) -> None:
    for rel, real in files:
        if Path(rel).suffix.lower() in IMAGE_EXTS and real not in used:
            report.add_problem(src / rel, "image is not referenced by any annotation; not imported")


def _labelme_shapes_as_rectangles(data: dict) -> None:
    """Polygons become their bounding rectangles (canonical boxes are axis-aligned)."""
    shapes = data.get("shapes")
    if not isinstance(shapes, list):
        return
    for s in shapes:
        if isinstance(s, dict) and s.get("shape_type") == "polygon" and isinstance(s.get("points"), list):
            try:
                pts = np.asarray(s["points"], dtype=np.float64).reshape(-1, 2)
            except (TypeError, ValueError):
                continue
            if len(pts):
                s["points"] = [
                    [float(pts[:, 0].min()), float(pts[:, 1].min())],
                    [float(pts[:, 0].max()), float(pts[:, 1].max())],
                ]
                s["shape_type"] = "rectangle"


def _import_labelme(src: Path, tmp: Path, report: ImportReport, max_pixels: int) -> None:
    files = _walk(src, src, report)
    names = _Names()
    used: set[Path] = set()
    for rel, real in files:
        if not rel.lower().endswith(".json") or _is_special_json(Path(rel).name):
            continue
        shown = src / rel
        try:
            data = _load_json(real, shown)
            if not isinstance(data, dict) or "imagePath" not in data:
                raise _Problem(shown, "not a LabelMe annotation (a JSON object with 'imagePath' is expected)")
            rel_dir = Path(rel).parent.as_posix()
            image = _resolve_image(src, rel_dir, str(data["imagePath"]), str(shown))
            used.add(image)
            _labelme_shapes_as_rectangles(data)
            if data.get("imageWidth") is None or data.get("imageHeight") is None:
                data["imageWidth"], data["imageHeight"] = _header_size(image, max_pixels, shown)
            try:
                ann = OcrAnnotation.from_dict(data, source=str(shown))
                clip_boxes_to_image(ann, str(shown))
            except AnnotationError as exc:
                raise _Problem(shown, str(exc).removeprefix(f"{shown}: ")) from exc
            except (AttributeError, TypeError, ValueError) as exc:  # e.g. a shape that is not an object
                raise _Problem(shown, f"not a LabelMe rectangle annotation ({type(exc).__name__}: {exc})") from exc
            for s in ann.shapes:
                s.label = _canon_label(s.label)
                if s.text is not None:
                    s.text = s.text.strip().upper()
            _fill_texts(ann)
            name = names.claim(_flat_name(rel[: -len(".json")]))
            _write_ocr_sample(tmp, name, image, ann, max_pixels, shown)
            report.imported.append(name)
        except _Problem as p:
            report.add_problem(p.file, p.reason)
    _report_unreferenced_images(files, used, src, report)


def _read_label_map(real: Path, shown: Path) -> dict[int, str]:
    data = _load_json(real, shown)
    if not isinstance(data, dict) or not all(isinstance(v, int) and not isinstance(v, bool) for v in data.values()):
        raise _Problem(shown, "a label map must be a JSON object {label name: integer}")
    inverse: dict[int, str] = {}
    for name, value in data.items():
        if value in inverse:
            raise _Problem(shown, f"integer {value} is given to both {inverse[value]!r} and {name!r}")
        inverse[value] = _canon_label(name)
    return inverse


def _kaist_label(label, inverse: dict[int, str] | None, map_source: str) -> str:
    if isinstance(label, float) and label.is_integer():
        label = int(label)
    if isinstance(label, bool) or not isinstance(label, (int, str)):
        raise TypeError(f"label {label!r} is neither a string nor an integer")
    if isinstance(label, int):
        if inverse is None:
            raise ValueError(f"integer label {label} cannot be mapped: {map_source} is unusable")
        if label not in inverse:
            raise ValueError(f"integer label {label} is not in {map_source}")
        return inverse[label]
    return _canon_label(label)


def _box(b) -> tuple[float, float, float, float]:
    if not isinstance(b, (list, tuple)) or len(b) != 4:
        raise ValueError(f"box {b!r} is not [xmin, ymin, xmax, ymax]")
    x1, y1, x2, y2 = (float(v) for v in b)
    if not all(math.isfinite(v) for v in (x1, y1, x2, y2)):
        raise ValueError(f"box {b!r} has non-finite coordinates")
    return min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def kaist_shapes(boxes, labels) -> tuple[list[Shape], list[str]]:
    """Canonical shapes from KAIST boxes and (string) labels, plus one message per orphan character.

    ROIs get group ids 0, 1, ... in the order they appear; each character joins the ROI holding its
    centre (the one it overlaps most if several do); ROI texts are read with :func:`reading_order`.
    """
    shapes = [Shape(label=lab, x1=b[0], y1=b[1], x2=b[2], y2=b[3]) for b, lab in zip(boxes, labels)]
    rois = [s for s in shapes if s.is_roi]
    for gid, roi in enumerate(rois):
        roi.group_id = gid
    orphans = []
    for j, s in enumerate(shapes):
        if s.is_roi:
            continue
        cx, cy = (s.x1 + s.x2) / 2, (s.y1 + s.y2) / 2
        holders = [r for r in rois if r.x1 <= cx <= r.x2 and r.y1 <= cy <= r.y2]
        if not holders:
            orphans.append(
                f"character box {j} ({s.label!r} at {[s.x1, s.y1, s.x2, s.y2]}) lies in no {ROI_LABEL!r} box"
            )
            continue
        s.group_id = max(holders, key=lambda r: _overlap(r.box, s.box)).group_id
    for roi in rois:
        chars = [s for s in shapes if not s.is_roi and s.group_id == roi.group_id]
        roi.text = "".join(chars[i].label for i in reading_order([c.box for c in chars]))
    return shapes, orphans


def _import_kaist(src: Path, tmp: Path, report: ImportReport, max_pixels: int) -> None:
    files = _walk(src, src, report)
    by_dir: dict[str, dict[str, Path]] = {}
    for rel, real in files:
        p = Path(rel)
        by_dir.setdefault(p.parent.as_posix(), {})[p.name] = real
    names = _Names()
    used: set[Path] = set()
    referenced: set[Path] = set()
    for rel_dir in sorted(by_dir):
        folder_files = by_dir[rel_dir]
        lower = {n.lower(): n for n in folder_files}
        folder = src / rel_dir if rel_dir != "." else src
        image_lists = sorted(n for n in folder_files if _KAIST_IMAGES_RE.match(n))
        paired_objects = set()
        if not image_lists:
            continue
        inverse: dict[int, str] | None = {v: k for k, v in DEFAULT_LABEL_MAP.items()}
        map_source = f"the default label map (no {LABEL_MAP_NAME} in {folder})"
        if LABEL_MAP_NAME in lower:
            map_file = folder / lower[LABEL_MAP_NAME]
            map_source = str(map_file)
            try:
                inverse = _read_label_map(folder_files[lower[LABEL_MAP_NAME]], map_file)
            except _Problem as p:
                report.add_problem(p.file, p.reason)
                inverse = None
        for images_name in image_lists:
            split = _KAIST_IMAGES_RE.match(images_name)["split"]
            images_file = folder / images_name
            objects_name = lower.get(f"{split}_objects.json".lower())
            if objects_name is None:
                report.add_problem(
                    images_file, f"no matching {split}_objects.json in the same folder; split not imported"
                )
                continue
            paired_objects.add(objects_name)
            objects_file = folder / objects_name
            try:
                paths = _load_json(folder_files[images_name], images_file)
                objects = _load_json(folder_files[objects_name], objects_file)
                if not isinstance(paths, list):
                    raise _Problem(images_file, "expected a JSON list of image paths; split not imported")
                if not isinstance(objects, list):
                    raise _Problem(
                        objects_file, "expected a JSON list of {boxes, labels, difficulties}; split not imported"
                    )
                if len(paths) != len(objects):
                    raise _Problem(
                        objects_file,
                        f"{len(objects)} entries but {images_name} lists {len(paths)} images; cannot pair them, "
                        "split not imported",
                    )
            except _Problem as p:
                report.add_problem(p.file, p.reason)
                continue
            for i, (image_path, obj) in enumerate(zip(paths, objects)):
                try:
                    if not isinstance(image_path, str):
                        raise _Problem(images_file, f"entry {i}: {image_path!r} is not an image path")
                    image = _resolve_image(src, rel_dir, image_path, str(images_file), prefix=f"entry {i}: ")
                    referenced.add(image)
                    if image in used:  # only an imported entry counts: a failed one must not shadow a good one
                        raise _Problem(
                            images_file, f"entry {i}: image {image_path!r} is listed more than once; kept the first"
                        )
                    where = f"entry {i} (image {image_path!r})"
                    try:
                        if not isinstance(obj, dict):
                            raise TypeError("not a JSON object {boxes, labels, difficulties}")
                        raw_boxes, raw_labels = obj.get("boxes"), obj.get("labels")
                        if not isinstance(raw_boxes, list) or not isinstance(raw_labels, list):
                            raise TypeError("'boxes' and 'labels' must be lists")
                        if len(raw_boxes) != len(raw_labels):
                            raise ValueError(f"{len(raw_boxes)} boxes but {len(raw_labels)} labels")
                        boxes = [_box(b) for b in raw_boxes]
                        labels = [_kaist_label(lab, inverse, map_source) for lab in raw_labels]
                    except (TypeError, ValueError) as exc:
                        raise _Problem(objects_file, f"{where}: {exc}") from exc
                    if "background" in labels:
                        raise _Problem(
                            objects_file, f"{where}: box {labels.index('background')} has the background label"
                        )
                    shapes, orphans = kaist_shapes(boxes, labels)
                    if orphans:
                        raise _Problem(objects_file, f"{where}: " + "; ".join(orphans))
                    w, h = _header_size(image, max_pixels, src / _join_rel(rel_dir, image_path))
                    ann = OcrAnnotation(image_path="", width=w, height=h, shapes=shapes)
                    try:
                        clip_boxes_to_image(ann, where)
                    except AnnotationError as exc:
                        raise _Problem(objects_file, str(exc)) from exc
                    name = names.claim(
                        _flat_name(PurePosixPath(_join_rel(rel_dir, image_path)).with_suffix("").as_posix())
                    )
                    _write_ocr_sample(tmp, name, image, ann, max_pixels, images_file)
                    used.add(image)
                    report.imported.append(name)
                except _Problem as p:
                    report.add_problem(p.file, p.reason)
        for n in sorted(folder_files):
            if _KAIST_OBJECTS_RE.match(n) and n not in paired_objects:
                report.add_problem(folder / n, "no matching <split>_images.json in the same folder; not imported")
    _report_unreferenced_images(files, referenced, src, report)


# --------------------------------------------------------------------------------------------------
# crack
# --------------------------------------------------------------------------------------------------


def import_crack(src: Path, dst: Path, fmt: str = "auto", max_pixels: int = DEFAULT_MAX_PIXELS) -> ImportReport:
    """Convert AI-Hub polylines or PNG masks in ``src`` into a canonical crack folder ``dst``.

    PNG images are copied byte for byte; JPEG and other images are decoded (pixel limit) and written
    as PNG; masks become 0/255 PNGs beside an empty polyline file. Bad samples go to the report.
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
    tmp: Path,
    name: str,
    image: Path,
    image_shown: Path,
    polylines: list[np.ndarray],
    mask_file: tuple[Path, Path] | None,
    max_pixels: int,
    ann_shown: Path | None = None,
) -> None:
    """Write one canonical crack sample; decodes only for a conversion or a mask size check.

    ``mask_file`` is (real path, path to show) of the sample's mask image, if any.
    """
    mask = png = None
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
        if image.suffix.lower() != ".png":
            png = _encode_png(arr, image_shown)
        h, w = arr.shape[:2]
    elif polylines:
        w, h = _header_size(image, max_pixels, image_shown)
    problem = cf.polyline_problem(polylines, w, h) if polylines else None
    if problem:
        raise _Problem(ann_shown or image_shown, f"{problem}; sample not imported")
    out_image = tmp / cf.IMAGES_DIR / f"{name}.png"
    if png is None:
        _copy_file(image, out_image, image_shown)
    else:
        atomic_write_bytes(out_image, png)
    if mask is not None:
        atomic_write_bytes(tmp / cf.MASKS_DIR / f"{name}.png", _encode_png(mask * np.uint8(255), mask_file[1]))
    cf.write_pline(polylines, cf.annotation_path(tmp, name))


def _strip_suffix(rel: str, suffix: str) -> str:
    return rel[: -len(suffix)] if rel.lower().endswith(suffix.lower()) else rel


def _import_pline(src: Path, tmp: Path, report: ImportReport, max_pixels: int) -> None:
    img_root, ann_root, mask_root = src / cf.IMAGES_DIR, src / cf.ANNOTATIONS_DIR, src / cf.MASKS_DIR
    images: list[tuple[str, Path, Path]] = []  # (key, real, shown)
    for rel, real in _walk(src, img_root, report):
        shown = src / rel
        if Path(rel).suffix.lower() not in IMAGE_EXTS:
            report.add_problem(shown, "not an image file (png, jpg, ...); not imported")
            continue
        images.append((Path(rel).relative_to(cf.IMAGES_DIR).with_suffix("").as_posix(), real, shown))
    anns: dict[str, tuple[Path, Path]] = {}
    for rel, real in _walk(src, ann_root, report):
        shown = src / rel
        if not rel.lower().endswith(cf.PLINE_SUFFIX.lower()):
            report.add_problem(shown, f"not a *{cf.PLINE_SUFFIX} annotation; not imported")
            continue
        anns[_strip_suffix(Path(rel).relative_to(cf.ANNOTATIONS_DIR).as_posix(), cf.PLINE_SUFFIX)] = (real, shown)
    masks: dict[str, tuple[Path, Path]] = {}
    for rel, real in _walk(src, mask_root, report):
        if Path(rel).suffix.lower() in IMAGE_EXTS:
            masks[Path(rel).relative_to(cf.MASKS_DIR).with_suffix("").as_posix()] = (real, src / rel)
        else:
            report.add_problem(src / rel, "not a mask image; not imported")
    ann_by_stem: dict[str, list[str]] = {}
    for key in anns:
        ann_by_stem.setdefault(key.rsplit("/", 1)[-1], []).append(key)
    names = _Names()
    used_anns: set[str] = set()
    used_masks: set[str] = set()
    seen_keys: dict[str, Path] = {}
    for key, real, shown in _png_first(images):
        try:
            _claim_key(seen_keys, key, shown)
            akey = key if key in anns else None
            if akey is None:
                stem = key.rsplit("/", 1)[-1]
                candidates = ann_by_stem.get(stem, [])
                akey = candidates[0] if len(candidates) == 1 else None
            if akey is None:
                raise _Problem(
                    shown,
                    f"no annotation file {cf.ANNOTATIONS_DIR}/{key}{cf.PLINE_SUFFIX}; an image without cracks "
                    "needs an annotation file with an empty 'annotations' list",
                )
            used_anns.add(akey)
            polylines = _read_polylines(*anns[akey])
            mkey = key if key in masks else None
            if mkey is not None:
                used_masks.add(mkey)
            name = names.claim(_flat_name(key))
            _write_crack_sample(
                tmp, name, real, shown, polylines, masks[mkey] if mkey else None, max_pixels, ann_shown=anns[akey][1]
            )
            report.imported.append(name)
        except _Problem as p:
            report.add_problem(p.file, p.reason)
    for key, (_, shown) in sorted(anns.items()):
        if key not in used_anns:
            report.add_problem(shown, "annotation has no image in images/; not imported")
    for key, (_, shown) in sorted(masks.items()):
        if key not in used_masks:
            report.add_problem(shown, "mask has no image of the same name in images/; not imported")


def _import_png_masks(src: Path, tmp: Path, report: ImportReport, max_pixels: int) -> None:
    img_root = src / cf.IMAGES_DIR
    in_subdir = img_root.is_dir()
    listed = _walk(src, img_root if in_subdir else src, report, recursive=in_subdir)
    images: list[tuple[str, Path, Path]] = []  # (key relative to the image folder, real, shown)
    siblings: dict[str, tuple[Path, Path]] = {}  # "<dir>/<stem>" of the image -> sibling mask
    for rel, real in listed:
        p = Path(rel)
        if p.suffix.lower() not in IMAGE_EXTS:
            if in_subdir:
                report.add_problem(src / rel, "not an image file; not imported")
            continue
        stem_low = p.stem.lower()
        for suffix in MASK_SUFFIXES:
            if stem_low.endswith(suffix):
                siblings[p.with_name(p.stem[: -len(suffix)]).as_posix()] = (real, src / rel)
                break
        else:
            key = p.relative_to(cf.IMAGES_DIR).with_suffix("").as_posix() if in_subdir else p.with_suffix("").as_posix()
            images.append((key, real, src / rel))
    dir_masks: dict[str, tuple[Path, Path]] = {}
    suffixed: list[tuple[str, tuple[Path, Path]]] = []
    for d in MASK_DIRS:
        for rel, real in _walk(src, src / d, report):
            p = Path(rel)
            if p.suffix.lower() not in IMAGE_EXTS:
                report.add_problem(src / rel, "not a mask image; not imported")
                continue
            key = p.relative_to(d).with_suffix("").as_posix()
            dir_masks.setdefault(key, (real, src / rel))
            for suffix in MASK_SUFFIXES:
                if key.lower().endswith(suffix):
                    suffixed.append((key[: -len(suffix)], (real, src / rel)))
    for key, entry in suffixed:  # masks/<stem>_mask.png also serves <stem>, unless masks/<stem>.png exists
        dir_masks.setdefault(key, entry)
    names = _Names()
    used_masks: set[Path] = set()
    seen_keys: dict[str, Path] = {}
    for key, real, shown in _png_first(images):
        try:
            _claim_key(seen_keys, key, shown)
            found = dir_masks.get(key) or siblings.get(Path(shown).relative_to(src).with_suffix("").as_posix())
            if found is None:
                stem = Path(key).name
                raise _Problem(
                    shown,
                    f"no mask found (looked for {', '.join(f'{d}/{key}.*' for d in MASK_DIRS)} and "
                    f"{stem}_mask.* / {stem}_label.* beside the image)",
                )
            used_masks.add(found[0])
            name = names.claim(_flat_name(key))
            _write_crack_sample(tmp, name, real, shown, [], found, max_pixels)
            report.imported.append(name)
        except _Problem as p:
            report.add_problem(p.file, p.reason)
    leftovers = {real: shown for real, shown in list(dir_masks.values()) + list(siblings.values())}
    for real, shown in sorted(leftovers.items(), key=lambda t: str(t[1])):
        if real not in used_masks:
            report.add_problem(shown, "mask has no image of the same name; not imported")

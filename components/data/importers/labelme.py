"""Reader of LabelMe trees (``format: labelme``): any folder tree of LabelMe JSON files, flattened into
canonical names joined by ``__``. One convert job per JSON file (``.convert``): parse, check, stage
the image; the fold names the samples in file order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from components.data.importers.convert import STAGING_DIR, Fanout, _convert_all, _Converted, _settle, _Where
from components.data.importers.files import _flat_name, _header_size, _load_json, _Names, _resolve_image, _walk
from components.data.importers.formats import _is_special_json
from components.data.importers.ocr_samples import (
    _canon_label,
    _fill_texts,
    _place_ocr_sample,
    _report_unreferenced_images,
    _write_ocr_image,
)
from components.data.importers.report import ImportReport, _Problem
from components.data.ocr_format import (
    AnnotationError,
    OcrAnnotation,
    clip_boxes_to_image,
)


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


@dataclass(frozen=True)
class _LabelmeJob:
    """One LabelMe file to convert: its path relative to the source folder and its real path."""

    stem: str
    rel: str
    real: Path


def _import_labelme(src: Path, tmp: Path, report: ImportReport, max_pixels: int, fanout: Fanout) -> None:
    files = _walk(src, src, report)
    annotations = [(r, real) for r, real in files if r.lower().endswith(".json") and not _is_special_json(Path(r).name)]
    steps = [_LabelmeJob(str(i), rel, real) for i, (rel, real) in enumerate(annotations)]
    where = _Where(src, tmp / STAGING_DIR, max_pixels)
    names = _Names()
    used: set[Path] = set()

    def fold(job: _LabelmeJob, done: _Converted) -> None:
        image, ann = done.extra
        if image is not None:  # its path resolved: the image counts as referenced, imported or not
            used.add(image)
        _settle(
            done,
            _flat_name(job.rel[: -len(".json")]),
            names,
            report,
            lambda name: _place_ocr_sample(where.stage, tmp, job.stem, name, done.staged[0], ann),
        )

    _convert_all(steps, _convert_labelme, where, fanout, report, fold)
    _report_unreferenced_images(files, used, src, report)


def _convert_labelme(where: _Where, job: _LabelmeJob) -> _Converted:
    """Convert job: parse and check one LabelMe file and stage its image (``extra``: the image
    resolved, or None, and the canonical annotation)."""
    shown = where.src / job.rel
    image = None
    try:
        data = _load_json(job.real, shown)
        if not isinstance(data, dict) or "imagePath" not in data:
            raise _Problem(shown, "not a LabelMe annotation (a JSON object with 'imagePath' is expected)")
        rel_dir = Path(job.rel).parent.as_posix()
        image = _resolve_image(where.src, rel_dir, str(data["imagePath"]), str(shown))
        _labelme_shapes_as_rectangles(data)
        if data.get("imageWidth") is None or data.get("imageHeight") is None:
            data["imageWidth"], data["imageHeight"] = _header_size(image, where.max_pixels, shown)
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
    except _Problem as p:
        return _Converted.failed(p, named=False, extra=(image, None))
    try:
        staged = _write_ocr_image(where.stage, job.stem, image, where.max_pixels, shown)
    except _Problem as p:
        return _Converted.failed(p, named=True, extra=(image, None))
    return _Converted(named=True, staged=(staged,), extra=(image, ann))

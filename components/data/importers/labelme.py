"""Reader of LabelMe trees (``format: labelme``): any folder tree of LabelMe JSON files, flattened into
canonical names joined by ``__``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from components.data.importers.files import _flat_name, _header_size, _load_json, _Names, _resolve_image, _walk
from components.data.importers.formats import _is_special_json
from components.data.importers.ocr_samples import (
    _canon_label,
    _fill_texts,
    _report_unreferenced_images,
    _write_ocr_sample,
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

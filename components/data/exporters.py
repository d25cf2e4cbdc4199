"""Export canonical datasets (docs/architecture.md#data-formats) into the foreign formats that :mod:`importers` reads.

Used by the round-trip tests and by users who need those formats. Each exporter reads a canonical
folder (a bad canonical file raises ``AnnotationError`` naming it: canonical data is expected to be
valid), copies images byte for byte, writes every file atomically and returns the exported names.

* :func:`export_kaist`: ``<SPLIT>_images.json`` + ``<SPLIT>_objects.json`` (+ ``label_map.json`` for
  integer labels); images beside them, so that the paths are relative and the names survive a
  round trip. Several splits may be exported into one folder (the label map is extended).
* :func:`export_labelme`: a LabelMe tree in which the ``__`` of a canonical name become sub-folders
  (``site_a__img_01`` -> ``site_a/img_01.json``), the inverse of the importer's flattening.
* :func:`export_pline`: AI-Hub ``images/`` + ``annotations/*_PLINE.json``; canonical ``masks/`` (from
  mask-based datasets, which polylines cannot express) are copied too, and the importer keeps them.
* :func:`export_png_masks`: ``images/`` + ``masks/`` 0/255 PNGs (stored masks, else the polylines
  rasterised with ``thickness``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np

from components.data import crack_format as cf
from components.data.importers import DEFAULT_LABEL_MAP, LABEL_MAP_NAME, REPORT_NAME
from components.data.ocr_format import (
    AnnotationError,
    OcrAnnotation,
    read_labelme,
    write_labelme,
)
from components.io import (
    atomic_path,
    atomic_write_bytes,
    atomic_write_text,
    image_size,
    resolve_inside,
)


def _copy(src: Path, dest: Path) -> None:
    with atomic_path(dest) as tmp:
        shutil.copyfile(src, tmp)


def _ocr_samples(canonical: Path) -> list[tuple[str, OcrAnnotation, Path]]:
    """(name, annotation, image path) of every sample of a canonical OCR folder, sorted by name."""
    canonical = Path(canonical)
    out = []
    for jp in sorted(canonical.glob("*.json")):
        if jp.name == REPORT_NAME or jp.name.startswith("."):
            continue
        ann = read_labelme(jp)
        image = resolve_inside(canonical, ann.image_path, source=jp)
        if not image.is_file():
            raise AnnotationError(f"{jp}: image {ann.image_path!r} not found")
        out.append((jp.stem, ann, image))
    return out


def export_kaist(canonical_ocr: Path, dst: Path, split: str = "TRAIN", int_labels: bool = True) -> list[str]:
    """Write ``dst/<split>_images.json`` and ``dst/<split>_objects.json`` with the images beside them.

    Group ids and texts are dropped (the format has none; the importer rebuilds them). With
    ``int_labels`` the labels are integers of ``dst/label_map.json`` (the default map, extended by
    any other label met, and kept consistent with a map already in ``dst``).
    """
    dst = Path(dst)
    dst.mkdir(parents=True, exist_ok=True)
    label_map = dict(DEFAULT_LABEL_MAP)
    if int_labels and (dst / LABEL_MAP_NAME).is_file():
        label_map = json.loads((dst / LABEL_MAP_NAME).read_text(encoding="utf-8"))
    paths, objects, names = [], [], []
    for name, ann, image in _ocr_samples(canonical_ocr):
        rel = f"{name}{image.suffix.lower()}"
        _copy(image, dst / rel)
        labels = []
        for s in ann.shapes:
            if int_labels and s.label not in label_map:
                label_map[s.label] = max(label_map.values(), default=-1) + 1
            labels.append(label_map[s.label] if int_labels else s.label)
        paths.append(rel)
        objects.append(
            {
                "boxes": [[s.x1, s.y1, s.x2, s.y2] for s in ann.shapes],
                "labels": labels,
                "difficulties": [0] * len(ann.shapes),
            }
        )
        names.append(name)
    atomic_write_text(dst / f"{split}_objects.json", json.dumps(objects))
    atomic_write_text(dst / f"{split}_images.json", json.dumps(paths, indent=1))
    if int_labels:
        atomic_write_text(dst / LABEL_MAP_NAME, json.dumps(label_map, indent=1))
    return names


def export_labelme(canonical_ocr: Path, dst: Path) -> list[str]:
    """Write a LabelMe tree: ``a__b__c`` -> ``dst/a/b/c.json`` beside ``dst/a/b/c.<ext>``."""
    dst = Path(dst)
    names = []
    for name, ann, image in _ocr_samples(canonical_ocr):
        parts = [p for p in name.split("__") if p] or [name]
        folder = dst.joinpath(*parts[:-1])
        image_name = f"{parts[-1]}{image.suffix.lower()}"
        _copy(image, folder / image_name)
        ann.image_path = image_name
        write_labelme(ann, folder / f"{parts[-1]}.json")
        names.append(name)
    return names


def _crack_names(canonical_crack: Path) -> list[str]:
    return sorted(p.stem for p in (Path(canonical_crack) / cf.IMAGES_DIR).glob("*.png") if not p.name.startswith("."))


def export_pline(canonical_crack: Path, dst: Path) -> list[str]:
    """Write AI-Hub ``dst/images/<name>.png`` + ``dst/annotations/<name>_PLINE.json`` (+ stored masks)."""
    canonical_crack, dst = Path(canonical_crack), Path(dst)
    names = _crack_names(canonical_crack)
    for name in names:
        polylines = cf.read_pline(cf.annotation_path(canonical_crack, name))
        _copy(canonical_crack / cf.IMAGES_DIR / f"{name}.png", dst / cf.IMAGES_DIR / f"{name}.png")
        cf.write_pline(polylines, cf.annotation_path(dst, name))
        mask = canonical_crack / cf.MASKS_DIR / f"{name}.png"
        if mask.is_file():
            _copy(mask, dst / cf.MASKS_DIR / f"{name}.png")
    return names


def export_png_masks(canonical_crack: Path, dst: Path, thickness: int = cf.DEFAULT_THICKNESS) -> list[str]:
    """Write ``dst/images/<name>.png`` + ``dst/masks/<name>.png`` (0/255, crack_format.load_mask)."""
    canonical_crack, dst = Path(canonical_crack), Path(dst)
    names = _crack_names(canonical_crack)
    for name in names:
        image = canonical_crack / cf.IMAGES_DIR / f"{name}.png"
        width, height = image_size(image)
        mask = cf.load_mask(canonical_crack, name, height, width, thickness) * np.uint8(255)
        ok, buf = cv2.imencode(".png", mask)
        if not ok:
            raise AnnotationError(f"{image}: mask cannot be encoded")
        _copy(image, dst / cf.IMAGES_DIR / f"{name}.png")
        atomic_write_bytes(dst / cf.MASKS_DIR / f"{name}.png", buf.tobytes())
    return names

"""The formats the importers read, their file-name conventions, and detection of a folder's format
(``fmt="auto"``).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from components.data import crack_format as cf
from components.data.importers.files import _inside, _src_dir
from components.data.importers.report import REPORT_NAME
from components.data.ocr_format import (
    CHAR_CLASSES,
    ROI_LABEL,
)

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


def _is_special_json(name: str) -> bool:
    low = name.lower()
    return low in (REPORT_NAME, LABEL_MAP_NAME) or bool(_KAIST_IMAGES_RE.match(name) or _KAIST_OBJECTS_RE.match(name))


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

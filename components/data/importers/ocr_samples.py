"""What both OCR readers share: label spelling, ROI texts from their characters, writing one
canonical sample (its image by a convert job, bytes unchanged where possible; its annotation, which
names the image, by the fold once the name is claimed) and naming the images nobody references.
"""

from __future__ import annotations

from pathlib import Path

from components.data.importers.convert import _commit
from components.data.importers.files import _copy_file, _decode, _encode_png
from components.data.importers.formats import IMAGE_EXTS
from components.data.importers.reading import reading_order
from components.data.importers.report import ImportReport
from components.data.ocr_format import (
    ROI_LABEL,
    OcrAnnotation,
    write_labelme,
)
from components.io import (
    atomic_write_bytes,
)


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


def _write_ocr_image(root: Path, stem: str, image: Path, max_pixels: int, shown: str | Path) -> str:
    """Write a sample's image as ``root/<stem>.jpg`` or ``.png`` and return that file name: JPEG and
    PNG bytes unchanged, any other format decoded and written as PNG (a convert job, any worker)."""
    ext = image.suffix.lower()
    if ext in (".jpg", ".jpeg"):
        out = f"{stem}.jpg"
        _copy_file(image, root / out, shown)
    elif ext == ".png":
        out = f"{stem}.png"
        _copy_file(image, root / out, shown)
    else:  # only JPEG and PNG are canonical: convert, which needs a decode
        out = f"{stem}.png"
        atomic_write_bytes(root / out, _encode_png(_decode(image, max_pixels, shown), shown))
    return out


def _place_ocr_sample(stage: Path, tmp: Path, stem: str, name: str, image_file: str, ann: OcrAnnotation) -> None:
    """Move a staged image (``image_file``, written under ``stem``) to ``tmp/<name>.<ext>`` and write
    its annotation beside it, which names that image (the fold, in this process)."""
    _commit(stage, tmp, stem, name, (image_file,))
    ann.image_path = name + Path(image_file).suffix
    write_labelme(ann, tmp / f"{name}.json")


def _report_unreferenced_images(
    files: list[tuple[str, Path]], used: set[Path], src: Path, report: ImportReport
) -> None:
    for rel, real in files:
        if Path(rel).suffix.lower() in IMAGE_EXTS and real not in used:
            report.add_problem(src / rel, "image is not referenced by any annotation; not imported")

"""What both OCR readers share: label spelling, ROI texts from their characters, writing one
canonical sample (image bytes unchanged where possible) and naming the images nobody references.
"""

from __future__ import annotations

from pathlib import Path

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

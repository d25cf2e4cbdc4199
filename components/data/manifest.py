"""Manifests: one row per sample (docs/architecture.md#data-formats), built by reading every file of a canonical
dataset.

Building a manifest decodes every image and annotation once, so everything that can be wrong with a
file is found here and recorded in the row (``status`` = ``error`` and a ``reason`` naming the file)
instead of raising: one bad sample never hides the others. Great Expectations then checks the table
(components/data/validation.py); later stages read the manifest, not the folder.

OCR datasets also get a box table (one row per ROI or character) so box-level rules are plain
column expectations too.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from components.data import crack_format
from components.data.families import UNKNOWN, read_families
from components.data.ocr_format import AnnotationError, read_labelme
from components.fanout import ClientSource, map_ordered
from components.io import (
    ImageReadError,
    UnsafePathError,
    read_image,
    resolve_inside,
    sha256_file,
)
from components.splits import split_of

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}
IMPORT_REPORT = "import_report.json"
#: Below this many files a cluster's start-up costs more than it saves (docs/operations.md#fan-out-on-dask).
MIN_FANOUT_FILES = 500

SAMPLE_COLUMNS = [
    "name",
    "path",
    "annotation",
    "sha256",
    "width",
    "height",
    "channels",
    "split",
    "family",
    "status",
    "reason",
]
OCR_COLUMNS = SAMPLE_COLUMNS + ["n_rois", "n_chars", "text", "annotated_width", "annotated_height"]
CRACK_COLUMNS = SAMPLE_COLUMNS + ["n_polylines", "mask_coverage", "mask_source"]
BOX_COLUMNS = [
    "name",
    "path",
    "kind",
    "label",
    "x1",
    "y1",
    "x2",
    "y2",
    "group_id",
    "text",
    "text_len",
    "image_width",
    "image_height",
    "inside_roi",
    "chars_match_text",
]


@dataclass(frozen=True)
class Splits:
    train: float
    val: float
    test: float

    def of(self, name: str) -> str:
        return split_of(name, self.train, self.val, self.test)


@dataclass(frozen=True)
class FixedSplit:
    """Every sample in one split: the fixed evaluation sets (``test``, ``ood``) are not divided."""

    name: str

    def of(self, name: str) -> str:
        return self.name


def with_families(samples: pd.DataFrame, root: Path) -> pd.DataFrame:
    """Fill the ``family`` column from ``root/families.csv`` (``unknown`` where a sample has no row)."""
    families = read_families(root)
    samples["family"] = [families.get(n, UNKNOWN) for n in samples["name"]]
    return samples


def _error_row(columns: list[str], name: str, path: str, annotation: str, reason: str, split: str) -> dict:
    row = {c: None for c in columns}
    row.update(name=name, path=path, annotation=annotation, split=split, status="error", reason=reason)
    return row


def _image_facts(path: Path, max_pixels: int) -> dict:
    arr = read_image(path, max_pixels=max_pixels)  # the decoding policy every later stage uses
    return {
        "sha256": sha256_file(path),
        "width": int(arr.shape[1]),
        "height": int(arr.shape[0]),
        "channels": 1 if arr.ndim == 2 else int(arr.shape[2]),
    }


IMPORT_ROW_PREFIX = "import:"


def _import_problem_rows(root: Path, columns: list[str], splits: Splits) -> list[dict]:
    """Problems an importer met (files it could not bring in) become error rows, one per source file.

    A row is named ``import:<source file>``, never after the file's stem: a stray ``x.png`` beside a
    good ``x.jpg`` + ``x.json`` must not give the good sample ``x`` its error (the problem sticks to
    the file that has it).
    """
    report = root / IMPORT_REPORT
    if not report.exists():
        return []
    by_file: dict[str, list[str]] = {}
    for p in json.loads(report.read_text(encoding="utf-8")).get("problems", []):
        by_file.setdefault(str(p["file"]), []).append(str(p["reason"]))
    return [
        _error_row(
            columns,
            f"{IMPORT_ROW_PREFIX}{file}",
            file,
            "",
            "; ".join(f"{file}: {r}" for r in reasons),
            splits.of(f"{IMPORT_ROW_PREFIX}{file}"),
        )
        for file, reasons in by_file.items()
    ]


def _mark_duplicates(rows: list[dict], root: Path) -> None:
    """Of samples with identical image bytes (sha256), keep the first by sorted path; the others
    become error rows that name the one kept. Only usable (``ok``) samples take part."""
    by_hash: dict[str, list[dict]] = {}
    for row in rows:
        if row["status"] == "ok" and row.get("sha256"):
            by_hash.setdefault(row["sha256"], []).append(row)
    for group in by_hash.values():
        if len(group) < 2:
            continue
        group.sort(key=lambda r: r["path"])
        kept = group[0]["path"]
        for row in group[1:]:
            row["status"] = "error"
            row["reason"] = (
                f"{Path(root) / row['path']}: duplicate of {kept} (same image bytes, sha256 "
                f"{row['sha256'][:12]}...); the first by sorted path is kept, this copy is left out"
            )


# ----------------------------------------------------------------------------------------- OCR ---


def _ocr_sample(args: tuple[Path, Path, Splits, int]) -> tuple[dict, list[dict]]:
    root, json_path, splits, max_pixels = args
    name = json_path.stem
    rel_json = json_path.relative_to(root).as_posix()
    split = splits.of(name)
    try:
        ann = read_labelme(json_path)
        rel_img = resolve_inside(root, ann.image_path, source=json_path).relative_to(root.resolve()).as_posix()
        img_path = root / rel_img  # named as the user gave the root, not as the resolved absolute path
        if not img_path.exists():
            raise ImageReadError(f"{json_path}: image {ann.image_path!r} does not exist")
        facts = _image_facts(img_path, max_pixels)
    except (AnnotationError, UnsafePathError, ImageReadError) as exc:
        return _error_row(OCR_COLUMNS, name, rel_json, rel_json, str(exc), split), []

    rois = ann.rois
    chars = [s for s in ann.shapes if not s.is_roi]
    boxes = []
    for s in ann.shapes:
        row = {
            "name": name,
            "path": rel_json,
            "kind": "roi" if s.is_roi else "char",
            "label": s.label,
            "x1": s.x1,
            "y1": s.y1,
            "x2": s.x2,
            "y2": s.y2,
            "group_id": s.group_id,
            "text": s.text,
            "text_len": len(s.text) if s.text is not None else None,
            "image_width": facts["width"],
            "image_height": facts["height"],
            "inside_roi": None,
            "chars_match_text": None,
        }
        if s.is_roi:
            members = ann.chars_of(s.group_id) if s.group_id is not None else []
            row["chars_match_text"] = s.text is not None and sorted(c.label for c in members) == sorted(s.text)
        else:
            parent = next((r for r in rois if r.group_id is not None and r.group_id == s.group_id), None)
            row["inside_roi"] = parent is not None and (
                s.x1 >= parent.x1 - 1 and s.y1 >= parent.y1 - 1 and s.x2 <= parent.x2 + 1 and s.y2 <= parent.y2 + 1
            )
        boxes.append(row)
    sample = {
        "name": name,
        "path": rel_img,
        "annotation": rel_json,
        "split": split,
        "status": "ok",
        "reason": "",
        **facts,
        "n_rois": len(rois),
        "n_chars": len(chars),
        "text": "|".join(r.text or "" for r in rois),
        "annotated_width": ann.width,
        "annotated_height": ann.height,
    }
    return sample, boxes


def build_ocr_manifest(
    root: Path,
    splits: Splits,
    max_pixels: int,
    workers: int = 1,
    progress: bool = True,
    client: ClientSource | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sample and box tables of a canonical OCR folder (JSON beside each image); files are read in
    ``workers`` processes or on ``client``'s cluster (``components.fanout``) from :data:`MIN_FANOUT_FILES` on."""
    root = Path(root)
    jsons = sorted(p for p in root.rglob("*.json") if p.name != IMPORT_REPORT)
    annotated = set()
    for p in jsons:
        for suffix in IMAGE_SUFFIXES:
            annotated.add(p.with_suffix(suffix))
    samples, boxes = [], []
    jobs = [(root, p, splits, max_pixels) for p in jsons]
    for sample, bx in map_ordered(
        _ocr_sample,
        jobs,
        workers,
        client=client,
        min_jobs=MIN_FANOUT_FILES,
        desc=f"manifest {root.name}",
        progress=progress,
    ):
        samples.append(sample)
        boxes.extend(bx)
    _mark_duplicates(samples, root)
    # images nobody annotated: reported, not silently skipped
    for img in sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p not in annotated):
        rel = img.relative_to(root).as_posix()
        samples.append(
            _error_row(
                OCR_COLUMNS, img.stem, rel, "", f"{img}: image has no annotation JSON beside it", splits.of(img.stem)
            )
        )
    samples += _import_problem_rows(root, OCR_COLUMNS, splits)
    return with_families(_frame(samples, OCR_COLUMNS), root), _frame(boxes, BOX_COLUMNS)


# --------------------------------------------------------------------------------------- crack ---


def _crack_sample(args: tuple[Path, Path, Splits, int, int]) -> dict:
    root, img_path, splits, max_pixels, thickness = args
    name = img_path.stem
    rel_img = img_path.relative_to(root).as_posix()
    ann_path = crack_format.annotation_path(root, name)
    rel_ann = ann_path.relative_to(root).as_posix()
    split = splits.of(name)
    try:
        if img_path.is_symlink():
            resolve_inside(root, rel_img, source=img_path)
        facts = _image_facts(img_path, max_pixels)
        if not ann_path.exists():
            raise AnnotationError(f"{ann_path}: annotation file missing for image {rel_img}")
        polylines = crack_format.read_pline(ann_path)
        mask = crack_format.load_mask(root, name, facts["height"], facts["width"], thickness)
    except (AnnotationError, UnsafePathError, ImageReadError) as exc:
        return _error_row(CRACK_COLUMNS, name, rel_img, rel_ann, str(exc), split)
    has_png = (root / crack_format.MASKS_DIR / f"{name}.png").exists()
    return {
        "name": name,
        "path": rel_img,
        "annotation": rel_ann,
        "split": split,
        "status": "ok",
        "reason": "",
        **facts,
        "n_polylines": len(polylines),
        "mask_coverage": float(mask.mean()),
        "mask_source": "png" if has_png else "pline",
    }


def build_crack_manifest(
    root: Path,
    splits: Splits,
    max_pixels: int,
    thickness: int,
    workers: int = 1,
    progress: bool = True,
    client: ClientSource | None = None,
) -> pd.DataFrame:
    """Sample table of a canonical crack folder (images/, annotations/, optional masks/); fanned out as
    :func:`build_ocr_manifest`."""
    root = Path(root)
    images = sorted(
        p
        for p in (root / crack_format.IMAGES_DIR).glob("*")
        if p.suffix.lower() in IMAGE_SUFFIXES or p.stat().st_size == 0
    )
    jobs = [(root, p, splits, max_pixels, thickness) for p in images]
    rows = list(
        map_ordered(
            _crack_sample,
            jobs,
            workers,
            client=client,
            min_jobs=MIN_FANOUT_FILES,
            desc=f"manifest {root.name}",
            progress=progress,
        )
    )
    _mark_duplicates(rows, root)
    names = {p.stem for p in images}
    for ann in sorted((root / crack_format.ANNOTATIONS_DIR).glob(f"*{crack_format.PLINE_SUFFIX}")):
        stem = ann.name[: -len(crack_format.PLINE_SUFFIX)]
        if stem not in names:
            rel = ann.relative_to(root).as_posix()
            rows.append(
                _error_row(
                    CRACK_COLUMNS, stem, rel, rel, f"{ann}: annotation without an image in images/", splits.of(stem)
                )
            )
    rows += _import_problem_rows(root, CRACK_COLUMNS, splits)
    return with_families(_frame(rows, CRACK_COLUMNS), root)


# ------------------------------------------------------------------------------------- helpers ---


def _frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns)


def statistics(samples: pd.DataFrame, boxes: pd.DataFrame | None = None) -> dict:
    """Dataset statistics for MLflow and the metrics file: counts per split and class, sizes, coverage."""
    ok = samples[samples.status == "ok"]
    stats: dict = {
        "samples": int(len(samples)),
        "samples_ok": int(len(ok)),
        "samples_bad": int((samples.status != "ok").sum()),
        "split": {s: int((ok.split == s).sum()) for s in sorted({"train", "val", "test"} | set(ok.split))},
        "family": {str(f): int(n) for f, n in sorted(ok.family.value_counts().items())} if "family" in ok else {},
        "width": {"min": int(ok.width.min()), "max": int(ok.width.max())} if len(ok) else {},
        "height": {"min": int(ok.height.min()), "max": int(ok.height.max())} if len(ok) else {},
    }
    if "mask_coverage" in samples:
        cov = ok.mask_coverage.astype(float)
        stats["mask_coverage"] = {
            "mean": float(cov.mean()) if len(ok) else 0.0,
            "max": float(cov.max()) if len(ok) else 0.0,
        }
        stats["crack_free"] = int((ok.n_polylines.eq(0) & cov.eq(0)).sum())
    if boxes is not None and len(boxes):
        good = boxes[boxes.name.isin(set(ok.name))]
        stats["rois"] = int((good.kind == "roi").sum())
        stats["chars"] = int((good.kind == "char").sum())
        stats["char_classes"] = dict(sorted(Counter(good[good.kind == "char"].label).items()))
        stats["chars_per_split"] = {
            s: int(((good.kind == "char") & good.name.isin(set(ok[ok.split == s].name))).sum())
            for s in ("train", "val", "test")
        }
    return stats


__all__ = ["Splits", "build_ocr_manifest", "build_crack_manifest", "statistics"]

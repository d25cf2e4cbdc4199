"""Reader of the KAIST/SSD-tutorial pairs (``format: kaist``): ``<split>_images.json`` +
``<split>_objects.json``, integer labels through ``label_map.json`` or :data:`DEFAULT_LABEL_MAP`;
characters join the ROI holding their centre and the text is read in reading order. The lists and
label maps are read while planning; one convert job per entry (``.convert``), and the fold decides
which entry of an image listed twice is kept and names the samples in list order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from components.data.importers.convert import STAGING_DIR, Fanout, _convert_all, _Converted, _settle, _Where
from components.data.importers.files import (
    _flat_name,
    _header_size,
    _join_rel,
    _load_json,
    _Names,
    _resolve_image,
    _walk,
)
from components.data.importers.formats import _KAIST_IMAGES_RE, _KAIST_OBJECTS_RE, DEFAULT_LABEL_MAP, LABEL_MAP_NAME
from components.data.importers.ocr_samples import (
    _canon_label,
    _place_ocr_sample,
    _report_unreferenced_images,
    _write_ocr_image,
)
from components.data.importers.reading import reading_order
from components.data.importers.report import ImportReport, _Problem
from components.data.ocr_format import (
    ROI_LABEL,
    AnnotationError,
    OcrAnnotation,
    Shape,
    clip_boxes_to_image,
)


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


@dataclass(frozen=True)
class _KaistJob:
    """Entry ``i`` of a split to convert: its image (resolved) and object entry, the files that list
    them (named by problems) and the integer -> label map of their folder."""

    stem: str
    rel_dir: str
    i: int
    image_path: str
    image: Path
    obj: object
    images_file: Path
    objects_file: Path
    inverse: dict[int, str] | None
    map_source: str


@dataclass
class _KaistPlan:
    """The plan of one KAIST import: the steps (entries to convert and problems found on the way, in
    the order of the folders, splits and entries) and every image an entry names, imported or not."""

    src: Path
    steps: list = field(default_factory=list)
    referenced: set[Path] = field(default_factory=set)

    def problem(self, file: str | Path, reason: str) -> None:
        self.steps.append(_Problem(file, reason))


def _import_kaist(src: Path, tmp: Path, report: ImportReport, max_pixels: int, fanout: Fanout) -> None:
    files = _walk(src, src, report)
    by_dir: dict[str, dict[str, Path]] = {}
    for rel, real in files:
        p = Path(rel)
        by_dir.setdefault(p.parent.as_posix(), {})[p.name] = real
    plan = _KaistPlan(src)
    for rel_dir in sorted(by_dir):
        _plan_kaist_folder(plan, rel_dir, by_dir[rel_dir])
    where = _Where(src, tmp / STAGING_DIR, max_pixels)
    names = _Names()
    used: set[Path] = set()  # images imported: a later entry of the same image is a duplicate

    def fold(job: _KaistJob, done: _Converted) -> None:
        if job.image in used:  # only an imported entry counts: a failed one must not shadow a good one
            report.add_problem(
                job.images_file, f"entry {job.i}: image {job.image_path!r} is listed more than once; kept the first"
            )
            return
        rel = PurePosixPath(_join_rel(job.rel_dir, job.image_path)).with_suffix("").as_posix()
        if _settle(
            done,
            _flat_name(rel),
            names,
            report,
            lambda name: _place_ocr_sample(where.stage, tmp, job.stem, name, done.staged[0], done.extra),
        ):
            used.add(job.image)

    _convert_all(plan.steps, _convert_kaist, where, fanout, report, fold)
    _report_unreferenced_images(files, plan.referenced, src, report)


def _plan_kaist_folder(plan: _KaistPlan, rel_dir: str, folder_files: dict[str, Path]) -> None:
    """Every ``<split>_images.json`` + ``<split>_objects.json`` pair of one folder, with its label map."""
    lower = {n.lower(): n for n in folder_files}
    folder = plan.src / rel_dir if rel_dir != "." else plan.src
    image_lists = sorted(n for n in folder_files if _KAIST_IMAGES_RE.match(n))
    paired_objects = set()
    if not image_lists:
        return
    inverse, map_source = _folder_label_map(plan, folder, folder_files, lower)
    for images_name in image_lists:
        split = _KAIST_IMAGES_RE.match(images_name)["split"]
        images_file = folder / images_name
        objects_name = lower.get(f"{split}_objects.json".lower())
        if objects_name is None:
            plan.problem(images_file, f"no matching {split}_objects.json in the same folder; split not imported")
            continue
        paired_objects.add(objects_name)
        objects_file = folder / objects_name
        try:
            paths, objects = _read_split(folder_files, images_name, objects_name, images_file, objects_file)
        except _Problem as p:
            plan.steps.append(p)
            continue
        for i, (image_path, obj) in enumerate(zip(paths, objects)):
            try:
                if not isinstance(image_path, str):
                    raise _Problem(images_file, f"entry {i}: {image_path!r} is not an image path")
                image = _resolve_image(plan.src, rel_dir, image_path, str(images_file), prefix=f"entry {i}: ")
            except _Problem as p:
                plan.steps.append(p)
                continue
            plan.referenced.add(image)
            stem = str(len(plan.steps))
            job = _KaistJob(stem, rel_dir, i, image_path, image, obj, images_file, objects_file, inverse, map_source)
            plan.steps.append(job)
    for n in sorted(folder_files):
        if _KAIST_OBJECTS_RE.match(n) and n not in paired_objects:
            plan.problem(folder / n, "no matching <split>_images.json in the same folder; not imported")


def _folder_label_map(
    plan: _KaistPlan, folder: Path, folder_files: dict[str, Path], lower: dict[str, str]
) -> tuple[dict[int, str] | None, str]:
    """The folder's integer -> label map (its ``label_map.json``, else the default) and where it came
    from; None when the folder's map is unusable (then every integer label is a problem)."""
    inverse: dict[int, str] | None = {v: k for k, v in DEFAULT_LABEL_MAP.items()}
    map_source = f"the default label map (no {LABEL_MAP_NAME} in {folder})"
    if LABEL_MAP_NAME in lower:
        map_file = folder / lower[LABEL_MAP_NAME]
        map_source = str(map_file)
        try:
            inverse = _read_label_map(folder_files[lower[LABEL_MAP_NAME]], map_file)
        except _Problem as p:
            plan.steps.append(p)
            inverse = None
    return inverse, map_source


def _read_split(
    folder_files: dict[str, Path], images_name: str, objects_name: str, images_file: Path, objects_file: Path
) -> tuple[list, list]:
    """The image paths and object entries of one split, checked to pair up one to one."""
    paths = _load_json(folder_files[images_name], images_file)
    objects = _load_json(folder_files[objects_name], objects_file)
    if not isinstance(paths, list):
        raise _Problem(images_file, "expected a JSON list of image paths; split not imported")
    if not isinstance(objects, list):
        raise _Problem(objects_file, "expected a JSON list of {boxes, labels, difficulties}; split not imported")
    if len(paths) != len(objects):
        raise _Problem(
            objects_file,
            f"{len(objects)} entries but {images_name} lists {len(paths)} images; cannot pair them, split not imported",
        )
    return paths, objects


def _convert_kaist(where: _Where, job: _KaistJob) -> _Converted:
    """Convert job: one entry's objects and image as a canonical sample, its image staged
    (``extra``: the annotation). Whether it is a duplicate is the fold's to say."""
    at = f"entry {job.i} (image {job.image_path!r})"
    try:
        shapes = _entry_shapes(job.obj, job.inverse, job.map_source, job.objects_file, at)
        shown = where.src / _join_rel(job.rel_dir, job.image_path)
        w, h = _header_size(job.image, where.max_pixels, shown)
        ann = OcrAnnotation(image_path="", width=w, height=h, shapes=shapes)
        try:
            clip_boxes_to_image(ann, at)
        except AnnotationError as exc:
            raise _Problem(job.objects_file, str(exc)) from exc
    except _Problem as p:
        return _Converted.failed(p, named=False)
    try:
        staged = _write_ocr_image(where.stage, job.stem, job.image, where.max_pixels, job.images_file)
    except _Problem as p:
        return _Converted.failed(p, named=True)
    return _Converted(named=True, staged=(staged,), extra=ann)


def _entry_shapes(obj, inverse: dict[int, str] | None, map_source: str, objects_file: Path, where: str) -> list[Shape]:
    """Canonical shapes of one ``{boxes, labels, difficulties}`` entry; a malformed one raises a problem."""
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
        raise _Problem(objects_file, f"{where}: box {labels.index('background')} has the background label")
    shapes, orphans = kaist_shapes(boxes, labels)
    if orphans:
        raise _Problem(objects_file, f"{where}: " + "; ".join(orphans))
    return shapes

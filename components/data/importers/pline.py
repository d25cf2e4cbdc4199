"""Reader of AI-Hub style polylines (``format: pline``): ``images/`` + ``annotations/*_PLINE.json``,
and canonical folders, whose ``masks/`` are kept. Images are paired with their files while planning;
one convert job per image (``.convert``), named in key order by the fold.
"""

from __future__ import annotations

from pathlib import Path

from components.data import crack_format as cf
from components.data.importers.convert import STAGING_DIR, Fanout, _convert_all, _Converted, _Where
from components.data.importers.crack_samples import _convert_crack, _CrackJob, _settle_crack, _strip_suffix
from components.data.importers.files import _claim_key, _Names, _png_first, _walk
from components.data.importers.formats import IMAGE_EXTS
from components.data.importers.report import ImportReport, _Problem


def _import_pline(src: Path, tmp: Path, report: ImportReport, max_pixels: int, fanout: Fanout) -> None:
    images, anns, masks = _pline_files(src, report)
    ann_by_stem: dict[str, list[str]] = {}
    for key in anns:
        ann_by_stem.setdefault(key.rsplit("/", 1)[-1], []).append(key)
    steps: list = []
    used_anns: set[str] = set()
    seen_keys: dict[str, Path] = {}
    for key, real, shown in _png_first(images):
        try:
            _claim_key(seen_keys, key, shown)
            akey = _annotation_key(key, anns, ann_by_stem, shown)
        except _Problem as p:
            steps.append(p)
            continue
        used_anns.add(akey)
        steps.append(_CrackJob(str(len(steps)), key, real, shown, anns[akey], masks.get(key)))
    where = _Where(src, tmp / STAGING_DIR, max_pixels)
    names = _Names()
    used_masks: set[str] = set()

    def fold(job: _CrackJob, done: _Converted) -> None:
        if done.named and job.mask is not None:  # its polylines were read: the sample takes its mask
            used_masks.add(job.key)
        _settle_crack(job, done, names, report, where.stage, tmp)

    _convert_all(steps, _convert_crack, where, fanout, report, fold)
    for key, (_, shown) in sorted(anns.items()):
        if key not in used_anns:
            report.add_problem(shown, "annotation has no image in images/; not imported")
    for key, (_, shown) in sorted(masks.items()):
        if key not in used_masks:
            report.add_problem(shown, "mask has no image of the same name in images/; not imported")


def _pline_files(
    src: Path, report: ImportReport
) -> tuple[list[tuple[str, Path, Path]], dict[str, tuple[Path, Path]], dict[str, tuple[Path, Path]]]:
    """The images ``(key, real, shown)``, annotations and masks (``key -> (real, shown)``) of a PLINE
    folder, keyed by their path below their folder without suffix; other files are reported."""
    img_root, ann_root, mask_root = src / cf.IMAGES_DIR, src / cf.ANNOTATIONS_DIR, src / cf.MASKS_DIR
    images: list[tuple[str, Path, Path]] = []
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
    return images, anns, masks


def _annotation_key(key: str, anns: dict, ann_by_stem: dict[str, list[str]], shown: Path) -> str:
    """The annotation of image ``key``: same path, else the only one with the same file stem."""
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
    return akey

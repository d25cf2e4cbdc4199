"""Reader of mask datasets (``format: png_masks``, CrackForest/DeepCrack style): images with masks of
the same stem in ``masks/``, ``labels/``, ``gt/`` or beside the image (``_mask`` / ``_label``). Images
are paired with their masks while planning; one convert job per image (``.convert``), named in key
order by the fold.
"""

from __future__ import annotations

from pathlib import Path

from components.data import crack_format as cf
from components.data.importers.convert import STAGING_DIR, Fanout, _convert_all, _Converted, _Where
from components.data.importers.crack_samples import _convert_crack, _CrackJob, _settle_crack
from components.data.importers.files import _claim_key, _Names, _png_first, _walk
from components.data.importers.formats import IMAGE_EXTS, MASK_DIRS, MASK_SUFFIXES
from components.data.importers.report import ImportReport, _Problem


def _import_png_masks(src: Path, tmp: Path, report: ImportReport, max_pixels: int, fanout: Fanout) -> None:
    images, siblings = _images_and_sibling_masks(src, report)
    dir_masks = _folder_masks(src, report)
    steps: list = []
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
        except _Problem as p:
            steps.append(p)
            continue
        used_masks.add(found[0])
        steps.append(_CrackJob(str(len(steps)), key, real, shown, None, found))
    where = _Where(src, tmp / STAGING_DIR, max_pixels)
    names = _Names()

    def fold(job: _CrackJob, done: _Converted) -> None:  # a job without polylines is always named
        _settle_crack(job, done, names, report, where.stage, tmp)

    _convert_all(steps, _convert_crack, where, fanout, report, fold)
    leftovers = {real: shown for real, shown in list(dir_masks.values()) + list(siblings.values())}
    for real, shown in sorted(leftovers.items(), key=lambda t: str(t[1])):
        if real not in used_masks:
            report.add_problem(shown, "mask has no image of the same name; not imported")


def _images_and_sibling_masks(
    src: Path, report: ImportReport
) -> tuple[list[tuple[str, Path, Path]], dict[str, tuple[Path, Path]]]:
    """The images ``(key relative to the image folder, real, shown)`` in ``images/`` (else the folder
    itself, not recursively) and the masks beside them (``"<dir>/<stem>"`` of the image -> mask)."""
    img_root = src / cf.IMAGES_DIR
    in_subdir = img_root.is_dir()
    listed = _walk(src, img_root if in_subdir else src, report, recursive=in_subdir)
    images: list[tuple[str, Path, Path]] = []
    siblings: dict[str, tuple[Path, Path]] = {}
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
    return images, siblings


def _folder_masks(src: Path, report: ImportReport) -> dict[str, tuple[Path, Path]]:
    """Masks in ``masks/``, ``labels/`` or ``gt/`` by key (first folder wins); ``<stem>_mask`` also
    serves ``<stem>`` unless a mask of that exact name exists."""
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
    for key, entry in suffixed:
        dir_masks.setdefault(key, entry)
    return dir_masks

"""The prepare step: produce a canonical dataset folder from the synthetic generator or real data.

``source`` is ``synthetic`` or the path of a folder under ``data/sources/`` (put there with
``dvc add`` or ``dvc import``, so DVC versions it and ``dvc.yaml`` can depend on it). The result is
built in a temporary sibling folder and renamed into place only when complete: an interrupted
prepare never leaves a dataset that looks finished.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from components.data.check_source import describe, escaping_symlinks
from components.data.families import FAMILIES_FILE, read_families, write_families
from components.data.importers import import_crack, import_ocr
from components.fanout import ClientSource

SOURCES_DIR = Path("data/sources")
SYNTHETIC = "synthetic"


class SourceError(ValueError):
    """The configured data source cannot be used; the message says why and what to do."""


def resolve_source(source: str, root: str | Path = ".") -> Path | None:
    """None for the synthetic generator, else the real-data folder (checked to be under
    data/sources/ of the project at ``root``)."""
    if source == SYNTHETIC:
        return None
    path = Path(root) / source
    if not path.is_dir():
        raise SourceError(f"data source {source!r} is not a folder (use 'synthetic' or a folder under {SOURCES_DIR}/)")
    if (Path(root) / SOURCES_DIR).resolve() not in path.resolve().parents:
        raise SourceError(
            f"data source {source!r} must lie under {SOURCES_DIR}/ so that DVC versions it "
            f"(dvc add {SOURCES_DIR}/<name>) and the prepare stage depends on it"
        )
    found = escaping_symlinks(path)
    if found:  # the importers would skip them, but DVC would not: refuse before anything is versioned or built
        raise SourceError(describe(found, source) + f"\n(check with: python -m components.data.check_source {source})")
    return path


def _replace_dir(tmp: Path, out: Path) -> None:
    old = out.with_name(f".{out.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if out.exists():
        out.rename(old)
    tmp.rename(out)
    if old.exists():
        shutil.rmtree(old)


def _fresh_tmp(out: Path) -> Path:
    tmp = out.with_name(f".{out.name}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    return tmp


def prepare_dataset(
    dataset: str,
    source: str,
    fmt: str,
    out: Path,
    *,
    num_frames: int,
    width: int,
    height: int,
    seed: int,
    workers: int,
    max_pixels: int,
    families: list[str] | None = None,
    progress: bool = True,
    root: str | Path = ".",
    client: ClientSource | None = None,
    crack_free_frames: int = 0,
) -> dict:
    """Write the canonical ``ocr`` or ``crack`` dataset to ``out``; return what was done (for tracking).

    ``families`` are the generator's style families to draw from (synthetic only; None: its
    defaults). Real data keeps the ``families.csv`` of its source folder when it has one. Generation
    and the import of real data fan out over ``workers`` processes or ``client``'s Dask cluster
    (``components.fanout``), each only from its own crossover on. ``crack_free_frames``: synthetic
    crack data only, frames without cracks added after the ``num_frames`` (``generate_crack_dataset``).
    """
    from components.data.synth_cracks import generate_crack_dataset
    from components.data.synth_resistors import generate_resistor_dataset

    generate, import_real, synthetic_format = {
        "ocr": (generate_resistor_dataset, import_ocr, "labelme"),
        "crack": (generate_crack_dataset, import_crack, "pline"),
    }[dataset]
    if crack_free_frames and dataset != "crack":
        raise ValueError(f"crack_free_frames is for the crack dataset, not {dataset!r}")
    extra = {"crack_free_frames": crack_free_frames} if crack_free_frames else {}
    src = resolve_source(source, root)
    tmp = _fresh_tmp(Path(out))
    if src is None:
        names = generate(
            tmp,
            num_frames,
            seed,
            workers=workers,
            width=width,
            height=height,
            progress=progress,
            families=families,
            client=client,
            **extra,
        )
        summary = {"source": SYNTHETIC, "format": synthetic_format, "samples": len(names), "import_problems": 0}
    else:
        report = import_real(src, tmp, fmt=fmt, max_pixels=max_pixels, workers=workers, client=client)
        if (src / FAMILIES_FILE).is_file():
            write_families(tmp, read_families(src).items())
        summary = {
            "source": str(Path(source)),
            "format": report.format,
            "samples": len(report.imported),
            "import_problems": len(report.problems),
        }
    _replace_dir(tmp, Path(out))
    return summary

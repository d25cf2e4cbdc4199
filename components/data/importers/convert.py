"""The readers' fan-out: a sequential plan, one convert job per sample (``components.fanout``: in this
process or on a Dask cluster) and a fold in input order, so that an import writes the same files and
the same report whatever the number of workers.

* The **plan** (this process) walks the source folder, pairs files and finds what depends on the
  samples before (a second image of the same key, an image without annotation or mask). Its output
  is a list of steps in input order: a job, or a problem found while planning.
* A **convert job** (a module-level function of the reader, on any worker) parses, validates,
  decodes and writes one sample and says how far it got (:class:`_Converted`).
* The **fold** (this process) walks the steps in plan order with their jobs' results: it claims
  the canonical names, moves the files into place and fills the :class:`ImportReport`, so problems
  keep their order.

Why the files are staged: a sample claims its name (``_Names.claim``: first come, first served,
case-insensitively) only once it got past parsing, so whether a sample is named ``a`` or ``a_2``
depends on whether an earlier sample with the same name was readable, which a job cannot know. A
job therefore writes under a staging name of its own (``<staging>/<index>...``, inside the import's
temporary folder, so on the same filesystem) and the fold, having claimed the names in input order,
renames the files; an OCR annotation, which holds its image's file name, is written by the fold.
The staging folder is removed before the import is moved into place.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from components.data.importers.files import _Names
from components.data.importers.report import ImportReport, _Problem
from components.fanout import ClientSource, map_ordered

#: Samples from which an import of each format fans out, where a cluster's start-up (~2 s) is earned
#: back; None: in this process unless ``min_jobs`` is given. Measured (docs/operations.md#fan-out-on-dask):
#: masks are decoded and encoded (~12 ms a sample), PLINE images copied with a header read (~5 ms);
#: OCR images are copied, not decoded (~1 ms), and the share no worker can take (walking the folder,
#: receiving the results, writing the annotations, renaming) already costs what one process spends.
MIN_FANOUT_SAMPLES: dict[str, int | None] = {"labelme": None, "kaist": None, "pline": 1000, "png_masks": 500}

#: Where the convert jobs write, inside an import's temporary folder (hidden, removed before the move).
STAGING_DIR = ".staging"


@dataclass(frozen=True)
class Fanout:
    """Where the convert jobs of one import run (``components.fanout.map_ordered``): ``workers``
    processes or ``client``'s cluster, from ``min_jobs`` jobs on; in this process below that."""

    workers: int = 1
    client: ClientSource | None = None
    min_jobs: int | None = None

    def of_format(self, fmt: str) -> Fanout:
        """The fan-out of an import of ``fmt``: ``min_jobs`` if given, else the format's crossover
        (:data:`MIN_FANOUT_SAMPLES`, read at call time); a format without one stays in this process."""
        if self.min_jobs is not None:
            return self
        least = MIN_FANOUT_SAMPLES.get(fmt)
        return Fanout() if least is None else replace(self, min_jobs=least)


@dataclass(frozen=True)
class _Where:
    """What every job of one import needs besides its own sample (sent with each batch of jobs)."""

    src: Path
    stage: Path
    max_pixels: int


@dataclass
class _Converted:
    """What a convert job did with its sample.

    ``named``: it got past parsing, where a sample claims its name (the fold claims it, and keeps it
    claimed even when the sample failed later, as a one-process import always did). ``problem``: ``(file,
    reason)`` when the sample is not imported. ``staged``: the files written, relative to the staging
    folder, their names starting with the job's staging stem. ``extra``: what the reader's fold needs
    (the image resolved, the annotation to write).
    """

    named: bool = False
    problem: tuple[str, str] | None = None
    staged: tuple[str, ...] = ()
    extra: object = None

    @classmethod
    def failed(cls, p: _Problem, named: bool, extra: object = None) -> _Converted:
        return cls(named=named, problem=(p.file, p.reason), extra=extra)


def _convert_all(
    steps: list,
    convert: Callable,
    where: _Where,
    fanout: Fanout,
    report: ImportReport,
    fold: Callable[[object, _Converted], None],
) -> None:
    """Run ``convert(where, job)`` on the jobs among ``steps`` (fanned out), and walk the steps in plan
    order: a ``_Problem`` found while planning goes to ``report``, a job goes to ``fold`` with its
    result. An error stops the walk and cancels the jobs still queued."""
    jobs = [s for s in steps if not isinstance(s, _Problem)]
    results = map_ordered(
        partial(convert, where),
        jobs,
        fanout.workers,
        client=fanout.client,
        min_jobs=fanout.min_jobs or 0,
        progress=False,
    )
    try:
        for step in steps:
            if isinstance(step, _Problem):
                report.add_problem(step.file, step.reason)
            else:
                fold(step, next(results))
    finally:
        results.close()


def _settle(
    done: _Converted,
    base: str,
    names: _Names,
    report: ImportReport,
    place: Callable[[str], None],
) -> bool:
    """The part every reader's fold shares: a sample that got past parsing claims a name from
    ``base`` (kept even when it failed later); a failed one goes to ``report``, a converted one is
    ``place``d under its name and listed as imported. Returns whether it was imported."""
    name = names.claim(base) if done.named else ""
    if done.problem:
        report.add_problem(*done.problem)
        return False
    place(name)
    report.imported.append(name)
    return True


def _commit(stage: Path, tmp: Path, stem: str, name: str, staged: tuple[str, ...]) -> None:
    """Move the files a job staged under ``stem`` to their places in ``tmp``, named ``name``."""
    for rel in staged:
        rel_path = Path(rel)
        dest = tmp / rel_path.parent / (name + rel_path.name[len(stem) :])
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(stage / rel_path, dest)

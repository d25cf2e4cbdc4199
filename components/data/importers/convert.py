"""The readers' fan-out: a sequential plan, one convert job per sample (``components.fanout``: in this
process or on a Dask cluster) and a fold in input order, so that an import writes the same files and
the same report whatever the number of workers.

* The **plan** (this process) walks the source folder, pairs files and finds what depends on the
  samples before (a second image of the same key, an image without annotation or mask). Its output
  is a list of steps in the order of the sequential loop: a job, or a problem found while planning.
* A **convert job** (a module-level function of the reader, on any worker) parses, validates,
  decodes and writes one sample and says how far it got (:class:`_Converted`).
* The **fold** (this process) walks the steps in plan order with their jobs' results: it claims
  the canonical names, moves the files into place and fills the :class:`ImportReport`, so problems
  keep their order.

Why the files are staged: the sequential loop claimed a name (``_Names.claim``: first come, first
served, case-insensitively) only for a sample that got past parsing, so whether a sample is named
``a`` or ``a_2`` depends on whether an earlier sample with the same name was readable, which a job
cannot know. A job therefore writes under a staging name of its own (``<staging>/<index>...``,
inside the import's temporary folder, so on the same filesystem) and the fold, having claimed the
name exactly as the loop did, renames the files; an OCR annotation, which holds its image's file
name, is written by the fold. The staging folder is removed before the import is moved into place.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from components.data.importers.report import ImportReport, _Problem
from components.fanout import ClientSource, map_ordered

#: Below this many samples a cluster's start-up costs more than it saves (docs/operations.md#fan-out-on-dask).
MIN_FANOUT_SAMPLES = 500

#: Where the convert jobs write, inside an import's temporary folder (hidden, removed before the move).
STAGING_DIR = ".staging"


@dataclass(frozen=True)
class Fanout:
    """Where the convert jobs of one import run (``components.fanout.map_ordered``): ``workers``
    processes or ``client``'s cluster, from ``min_jobs`` jobs on (None: :data:`MIN_FANOUT_SAMPLES`);
    in this process below that."""

    workers: int = 1
    client: ClientSource | None = None
    min_jobs: int | None = None


@dataclass(frozen=True)
class _Where:
    """What every job of one import needs besides its own sample (sent with each batch of jobs)."""

    src: Path
    stage: Path
    max_pixels: int


@dataclass
class _Converted:
    """What a convert job did with its sample.

    ``named``: it got as far as the point where the sequential loop claimed the sample's name (the
    fold claims it then, even if the sample fails later, as the loop did). ``problem``: ``(file,
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
    least = MIN_FANOUT_SAMPLES if fanout.min_jobs is None else fanout.min_jobs
    results = map_ordered(
        partial(convert, where), jobs, fanout.workers, client=fanout.client, min_jobs=least, progress=False
    )
    try:
        for step in steps:
            if isinstance(step, _Problem):
                report.add_problem(step.file, step.reason)
            else:
                fold(step, next(results))
    finally:
        results.close()


def _commit(stage: Path, tmp: Path, stem: str, name: str, staged: tuple[str, ...]) -> None:
    """Move the files a job staged under ``stem`` to their places in ``tmp``, named ``name``."""
    for rel in staged:
        rel_path = Path(rel)
        dest = tmp / rel_path.parent / (name + rel_path.name[len(stem) :])
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(stage / rel_path, dest)

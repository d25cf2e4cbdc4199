"""Ordered parallel map over processes with a progress bar, shared by generators and manifests.

Results come back in input order, so outputs do not depend on the number of workers. Workers reset
SIGINT/SIGTERM handlers inherited from the parent (Prefect installs its own), and the pool is closed
and joined rather than terminated, so a normal run ends without stray tracebacks and Ctrl-C in the
parent stops everything.
"""

from __future__ import annotations

import signal
from multiprocessing import get_context
from typing import Callable, Iterable, Iterator, TypeVar

from tqdm import tqdm

T = TypeVar("T")
R = TypeVar("R")


def _worker_init() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and tears the pool down


def imap_ordered(fn: Callable[[T], R], jobs: Iterable[T], workers: int, *, desc: str = "", unit: str = "img",
                 progress: bool = True, total: int | None = None, chunksize: int = 4) -> Iterator[R]:
    """Yield ``fn(job)`` for each job in order, using ``workers`` processes (1 = in this process)."""
    jobs = list(jobs)
    bar = tqdm(total=total or len(jobs), desc=desc, unit=unit, disable=not progress, dynamic_ncols=True)
    try:
        if workers <= 1:
            for job in jobs:
                yield fn(job)
                bar.update()
            return
        pool = get_context("fork").Pool(workers, initializer=_worker_init)
        try:
            for result in pool.imap(fn, jobs, chunksize=chunksize):
                yield result
                bar.update()
            pool.close()
        except BaseException:
            pool.terminate()
            raise
        finally:
            pool.join()
    finally:
        bar.close()

"""Ordered parallel map over processes with a progress bar, shared by generators and manifests.

Results come back in input order, so outputs do not depend on the number of workers. Workers start
from a fork server: a plain fork after OpenCV has started its thread pool can deadlock in the child,
and a fork would also inherit Prefect's signal handlers. The pool is closed and joined rather than
terminated, so a normal run ends without stray tracebacks, and Ctrl-C in the parent stops it all.
"""

from __future__ import annotations

import signal
import sys
from multiprocessing import get_context
from typing import Callable, Iterable, Iterator, TypeVar

import cv2
from tqdm import tqdm

T = TypeVar("T")
R = TypeVar("R")


def _worker_init() -> None:
    cv2.setNumThreads(1)  # one process per core already: no oversubscription
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and tears the pool down


def imap_ordered(fn: Callable[[T], R], jobs: Iterable[T], workers: int, *, desc: str = "", unit: str = "img",
                 progress: bool = True, total: int | None = None, chunksize: int = 4) -> Iterator[R]:
    """Yield ``fn(job)`` for each job in order, using ``workers`` processes (1 = in this process)."""
    jobs = list(jobs)
    bar = tqdm(total=total or len(jobs), desc=desc, unit=unit, disable=not progress, dynamic_ncols=True, file=sys.stderr)
    try:
        if workers <= 1:
            for job in jobs:
                yield fn(job)
                bar.update()
            return
        pool = get_context("forkserver").Pool(workers, initializer=_worker_init)
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

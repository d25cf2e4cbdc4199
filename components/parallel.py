"""Ordered parallel map over processes with a progress bar, shared by generators and manifests.

Results come back in input order, so outputs do not depend on the number of workers. Workers start
from a fork server: a plain fork after OpenCV has started its thread pool can deadlock in the child,
and a fork would also inherit Prefect's signal handlers. The pool is closed and joined rather than
terminated, so a normal run ends without stray tracebacks, and Ctrl-C in the parent stops it all.
"""

from __future__ import annotations

import signal
import sys
from contextlib import contextmanager, nullcontext
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


@contextmanager
def _main_module_hidden() -> Iterator[None]:
    """Start workers without re-importing ``__main__`` in them.

    multiprocessing makes each non-fork worker import the parent's main module (``flows.validate``
    say, which pulls in Prefect, MLflow and GX: ~10 s per worker), and an unguarded script would
    even start pools recursively. The work sent to the workers lives in importable modules, so the
    main module is not needed there: hide its name while the workers start.
    """
    main = sys.modules["__main__"]
    saved = {k: main.__dict__[k] for k in ("__spec__", "__file__") if k in main.__dict__}
    main.__spec__ = None
    main.__dict__.pop("__file__", None)
    try:
        yield
    finally:
        main.__dict__.update(saved)


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
        ctx = get_context("forkserver")
        ctx.set_forkserver_preload([fn.__module__])  # imported once in the server, inherited by each worker
        with _main_module_hidden() if fn.__module__ != "__main__" else nullcontext():
            pool = ctx.Pool(workers, initializer=_worker_init)
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

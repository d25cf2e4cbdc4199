"""Ordered fan-out over ``dask.distributed``, shared by the generators, the manifests and batch prediction.

``map_ordered(fn, jobs, workers, client=...)`` yields ``fn(job)`` for every job, in input order, so
an output never depends on the number of workers or on which worker finishes first. Where it runs:

* **in this process** when there are fewer than ``min_jobs`` jobs, or when no cluster is asked for
  (``workers <= 1`` and no ``client``): starting worker processes costs seconds, which a small input
  never earns back (the crossovers are measured in docs/operations.md);
* on the cluster of ``client``: a ``distributed.Client``, or a function returning one that is
  called only when the jobs are many enough (the flows pass the client of their Prefect
  ``DaskTaskRunner``, see ``flows/fanout.py``; ``lazy_client`` gives the same outside a flow);
* else on a ``LocalCluster`` of ``workers`` processes started for the call and closed after it.

Jobs travel in batches (one Dask task per batch, so scheduling costs little), with a bounded number
of batches in flight; results are yielded as soon as the next one in order is back. Closing the
iterator early or an exception (Ctrl-C included) cancels what is still queued. A job function must
be importable (a module-level function), since workers unpickle it by reference.

This module knows nothing of Prefect: a component gets a client or a worker count, never a flow.
Workers of a ``local_cluster`` are processes with one thread each, OpenCV single-threaded (one
process per core already), and ignore Ctrl-C: the parent handles it and tears the cluster down.
"""

from __future__ import annotations

import math
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from itertools import islice
from typing import TypeVar

import dask.config
from distributed import Client, LocalCluster, WorkerPlugin
from tqdm import tqdm

T = TypeVar("T")
R = TypeVar("R")

#: A cluster to run on: a client, or a function that connects (or starts a cluster) on first use.
ClientSource = Client | Callable[[], Client]


class _WorkerSetup(WorkerPlugin):
    """Runs in each worker process of a ``local_cluster`` as it starts (in its main thread)."""

    name = "inspection-worker-setup"

    def setup(self, worker) -> None:
        import cv2

        cv2.setNumThreads(1)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in a terminal reaches the whole group


@contextmanager
def _main_module_hidden() -> Iterator[None]:
    """Start worker processes without re-importing ``__main__`` in them.

    Dask starts workers with multiprocessing's *spawn*, which makes each worker import the parent's
    main module (``flows.validate`` say, which pulls in Prefect, MLflow and GX: ~10 s per worker),
    and an unguarded script would even start clusters recursively. The work sent to the workers
    lives in importable modules, so the main module is not needed there: hide its name while the
    workers start.
    """
    main = sys.modules["__main__"]
    saved = {k: main.__dict__[k] for k in ("__spec__", "__file__") if k in main.__dict__}
    main.__spec__ = None
    main.__dict__.pop("__file__", None)
    try:
        yield
    finally:
        main.__dict__.update(saved)


#: glibc malloc settings of the worker processes, replacing Dask's ``MALLOC_TRIM_THRESHOLD_=65536``.
#: Dask sets that to hand freed memory back to the OS at once; it also pins glibc's mmap threshold at
#: 128 KiB, so every frame-sized numpy temporary a generator makes is a fresh mapping whose pages fault
#: in again. Measured on 1280x960 resistor frames: 74,000 page faults and 0.15 s of system time per
#: frame against 1,200 and 0.03 s with these values; the ``prepare_ocr`` stage (2,000 frames, 2 idle
#: cores) took 174 s against 298-337 s (docs/operations.md#fan-out-on-dask). A worker now keeps up to
#: 256 MiB of freed heap for reuse (arrays below 64 MiB come from the heap). Set before the workers
#: start: glibc reads them once. A value in the environment of the process that starts the cluster
#: still wins.
WORKER_MALLOC_ENV = {"MALLOC_TRIM_THRESHOLD_": 256 * 2**20, "MALLOC_MMAP_THRESHOLD_": 64 * 2**20}


def local_cluster(workers: int = 2, **kwargs) -> LocalCluster:
    """A ``LocalCluster`` of ``workers`` single-threaded worker processes on loopback, no dashboard.

    Also the ``cluster_class`` of the flows' Prefect ``DaskTaskRunner`` (``flows/fanout.py``). The
    scheduler's small HTTP server (health checks) takes a free port rather than 8787, which another
    cluster on the machine may hold. The workers start with :data:`WORKER_MALLOC_ENV`.
    """
    options = {
        "n_workers": int(workers),
        "threads_per_worker": 1,
        "processes": True,
        "host": "127.0.0.1",
        "dashboard_address": "127.0.0.1:0",
        "scheduler_kwargs": {"dashboard": False},
        "plugins": {_WorkerSetup()},
        **kwargs,
    }
    environ = {f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in WORKER_MALLOC_ENV.items()}
    with _main_module_hidden(), dask.config.set(environ):
        return LocalCluster(**options)


@contextmanager
def lazy_client(workers: int = 1, scheduler: str | None = None) -> Iterator[Callable[[], Client] | None]:
    """Outside a flow: a function returning a client of the cluster at ``scheduler``, or of a
    ``LocalCluster`` of ``workers`` processes, connected or started on its first call and closed when
    the block ends; ``None`` when ``workers <= 1`` and no scheduler is given (all in this process)."""
    if not scheduler and workers <= 1:
        yield None
        return
    held: list = []

    def get() -> Client:
        if not held:
            cluster = None if scheduler else local_cluster(workers)
            held.append(cluster)
            held.append(Client(scheduler or cluster, set_as_default=False))
        return held[-1]

    try:
        yield get
    finally:
        for thing in reversed(held):  # the client, then the cluster it runs on
            if thing is not None:
                thing.close()


def slots(client: Client) -> int:
    """Tasks the cluster runs at once (threads over all workers; at least 1)."""
    return max(1, sum(client.nthreads().values()))


def _run_batch(fn: Callable[[T], R], batch: list[T]) -> list[R]:
    return [fn(job) for job in batch]


def _resolve(client: ClientSource | None, workers: int):
    if client is None:
        return _own_cluster(workers)
    return nullcontext(client() if callable(client) and not isinstance(client, Client) else client)


@contextmanager
def _own_cluster(workers: int) -> Iterator[Client]:
    with local_cluster(workers) as cluster, Client(cluster, set_as_default=False) as client:
        yield client


def ordered_on(
    client: Client,
    fn: Callable[[T], R],
    jobs: Iterable[T],
    *,
    count: int | None = None,
    batch: int | None = None,
    in_flight: int | None = None,
) -> Iterator[R]:
    """``fn(job)`` for each job on ``client``'s cluster, in input order (see the module docstring).

    ``jobs`` is read lazily, as batches are sent: a video's decoded frames are never all in memory.
    """
    n = slots(client)
    if count is None and hasattr(jobs, "__len__"):
        count = len(jobs)
    size = batch or max(1, min(16, math.ceil((count or 16 * n * 8) / (n * 8))))  # ~8 batches per slot
    source = iter(jobs)
    batches = iter(lambda: list(islice(source, size)), [])
    pending: deque = deque()
    try:
        for b in islice(batches, in_flight or 2 * n + 1):
            pending.append(client.submit(_run_batch, fn, b, pure=False))
        while pending:
            results = pending.popleft().result()
            nxt = next(batches, None)
            if nxt is not None:
                pending.append(client.submit(_run_batch, fn, nxt, pure=False))
            yield from results
    finally:
        if pending:
            client.cancel(list(pending))


def map_ordered(
    fn: Callable[[T], R],
    jobs: Iterable[T],
    workers: int = 1,
    *,
    client: ClientSource | None = None,
    min_jobs: int = 0,
    count: int | None = None,
    batch: int | None = None,
    desc: str = "",
    unit: str = "img",
    progress: bool = True,
    total: int | None = None,
) -> Iterator[R]:
    """Yield ``fn(job)`` for each job in order, in this process or on a Dask cluster (module docstring).

    ``count`` is the number of jobs when ``jobs`` is a lazy iterable (else its length); it decides
    between this process and the cluster and sizes the batches.
    """
    if count is None:
        jobs = jobs if hasattr(jobs, "__len__") else list(jobs)
        count = len(jobs)
    bar = tqdm(total=total or count, desc=desc, unit=unit, disable=not progress, dynamic_ncols=True, file=sys.stderr)
    try:
        if count < max(min_jobs, 1) or (client is None and workers <= 1):
            for job in jobs:
                yield fn(job)
                bar.update()
            return
        with _resolve(client, workers) as c:
            for result in ordered_on(c, fn, jobs, count=count, batch=batch):
                yield result
                bar.update()
    finally:
        bar.close()

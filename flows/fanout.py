"""How the flows fan out: Prefect's Dask task runner (``prefect-dask``) owns the cluster.

The fan-out flows (prepare, validate, eval_data, batch_predict) are declared with
``task_runner=dask_runner()``. Prefect starts a fresh copy of that runner for each flow run and
closes it when the run ends, crash and Ctrl-C included; the runner starts (or connects to) its
cluster only when something first asks for its client, so a run that fans out nothing starts
nothing. ``flow_client(workers, scheduler)`` sets the run's cluster from the run's own parameters
before that first use, and returns the function the components call to get the client
(``components.fanout``: Client.map-style fan-out with an ordered gather; components never see
Prefect).

Which cluster, in this order: the ``scheduler`` given (a flow parameter, ``--scheduler`` on the
command line), else the ``DASK_SCHEDULER_ADDRESS`` environment variable (Dask's own setting, for the
DVC stages whose commands are fixed), else a ``LocalCluster`` of ``workers`` processes
(``data.workers``, ``--workers``). An existing cluster's workers must see the same paths (a shared
filesystem, the repository at the same place) and run the same environment.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from distributed import Client
from prefect.context import FlowRunContext
from prefect_dask import DaskTaskRunner

from components.fanout import lazy_client, local_cluster

SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"


def scheduler_address(scheduler: str | None = None) -> str | None:
    """The cluster to use: ``scheduler``, else ``$DASK_SCHEDULER_ADDRESS``, else None (a LocalCluster)."""
    return scheduler or os.environ.get(SCHEDULER_ENV) or None


def dask_runner(workers: int = 2) -> DaskTaskRunner:
    """The task runner of the fan-out flows: a LocalCluster of ``workers`` processes by default."""
    return DaskTaskRunner(cluster_class=local_cluster, cluster_kwargs={"workers": workers})


def _dask_runner_of_this_run() -> DaskTaskRunner | None:
    ctx = FlowRunContext.get()
    runner = ctx.task_runner if ctx is not None else None
    return runner if isinstance(runner, DaskTaskRunner) else None


def flow_client(workers: int, scheduler: str | None = None) -> Callable[[], Client] | None:
    """Inside a flow run on a ``DaskTaskRunner``: size its cluster for this run and return the function
    giving its client (the cluster starts on the first call). ``None`` when the run asks for no
    cluster (``workers <= 1`` and no scheduler: all in the flow's process) or is not on such a runner."""
    runner = _dask_runner_of_this_run()
    address = scheduler_address(scheduler)
    if runner is None or (address is None and workers <= 1):
        return None
    if runner._client is None:  # not started yet: this run's parameters decide the cluster
        if address:
            runner.address, runner.cluster_class, runner.resolved_cluster_class = address, None, None
            runner.cluster_kwargs = {}
        else:
            runner.cluster_kwargs = {**runner.cluster_kwargs, "workers": workers}
    return lambda: runner.client


@contextmanager
def fanout_client(workers: int, scheduler: str | None = None) -> Iterator[Callable[[], Client] | None]:
    """``flow_client`` inside a flow run on a ``DaskTaskRunner``; elsewhere (``flows.predict
    --no-prefect``, plain Python) the same choice of cluster made by ``components.fanout.lazy_client``,
    closed at the block's end."""
    if _dask_runner_of_this_run() is not None:
        yield flow_client(workers, scheduler)
        return
    with lazy_client(workers, scheduler_address(scheduler)) as get:
        yield get


def scheduler_option(parser) -> None:
    """``--scheduler`` for a stage command (``flows.stage.command(options=...)``)."""
    parser.add_argument(
        "--scheduler",
        help="address of a running Dask scheduler (default: $DASK_SCHEDULER_ADDRESS, "
        "else a LocalCluster of data.workers processes)",
    )

"""Small helpers for the fan-out tests. Kept light: Dask workers import the module of any function
sent to them, and this one pulls in neither torch nor the test configuration."""

from __future__ import annotations


def on_cluster(client, run) -> tuple:
    """``run()``'s result and the keys of the fan-out batches the cluster executed meanwhile."""
    from distributed import get_task_stream

    with get_task_stream(client) as stream:
        result = run()
    return result, [t["key"] for t in stream.data if "_run_batch" in str(t["key"])]


def loads_of(spec) -> int:
    """On a worker: 1 if it holds the loaded predictor of ``spec`` (``components.predict.predictors``)."""
    from components.predict import predictors

    return int(spec in predictors._LOADED)

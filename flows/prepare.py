"""Prepare flow: synthetic generation or import of real data into the canonical layout.

DVC stages ``prepare_ocr`` and ``prepare_crack`` run ``python -m flows.prepare {ocr,crack}``.
Generation fans out on the flow's Dask task runner (``flows/fanout.py``): a LocalCluster of
``data.workers`` processes, or the cluster at ``--scheduler`` / ``$DASK_SCHEDULER_ADDRESS``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import mlflow
from prefect import flow, get_run_logger, task

from components import tracking
from components.config import load_params
from components.data.prepare import prepare_dataset
from flows.common import tag_prefect_run
from flows.fanout import dask_runner, flow_client

OUT = {"ocr": Path("data/ocr"), "crack": Path("data/crack")}


@task(name="build-dataset")
def build_dataset(dataset: str, data, out: Path, scheduler: str | None = None) -> dict:
    spec = getattr(data, dataset)
    return prepare_dataset(dataset, spec.source, spec.format, out, num_frames=spec.num_frames, width=spec.width,
                           height=spec.height, seed=data.seed, workers=data.workers, max_pixels=data.max_pixels,
                           families=list(spec.families), client=flow_client(data.workers, scheduler))


@flow(name="prepare", log_prints=True, task_runner=dask_runner())
def prepare(dataset: str, params_file: str = "params.yaml", scheduler: str | None = None) -> dict:
    """Build ``data/<dataset>`` and record one MLflow run with its source and DVC hash."""
    params = load_params(params_file)
    log = get_run_logger()
    out = OUT[dataset]
    with tracking.stage_run(f"prepare_{dataset}", params.mlflow.tracking_uri, params.mlflow.experiment):
        tag_prefect_run()
        spec = getattr(params.data, dataset)
        mlflow.log_params({"dataset": dataset, "seed": params.data.seed, **spec.model_dump()})
        summary = build_dataset(dataset, params.data, out, scheduler)
        data_hash = tracking.dvc_hash(out)
        mlflow.set_tags({"dvc_data_hash": data_hash, "data_source": summary["source"], "data_format": summary["format"]})
        mlflow.log_metrics({"samples": summary["samples"], "import_problems": summary["import_problems"]})
        log.info("%s: %d samples from %s (%s) -> %s, DVC hash %s", dataset, summary["samples"], summary["source"],
                 summary["format"], out, data_hash)
        if summary["import_problems"]:
            log.warning("%d file(s) could not be imported; they are listed in %s/import_report.json and will be "
                        "reported by validation", summary["import_problems"], out)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.prepare", description=__doc__.splitlines()[0])
    parser.add_argument("dataset", choices=sorted(OUT))
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--scheduler", help="address of a running Dask scheduler (default: $DASK_SCHEDULER_ADDRESS, "
                        "else a LocalCluster of data.workers processes)")
    args = parser.parse_args(argv)
    prepare(args.dataset, args.params, args.scheduler)
    return 0


if __name__ == "__main__":
    sys.exit(main())

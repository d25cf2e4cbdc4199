"""Prepare flow: synthetic generation or import of real data into the canonical layout.

DVC stages ``prepare_ocr`` and ``prepare_crack`` run ``python -m flows.prepare {ocr,crack}``.
Generation and the import of real data fan out on the flow's Dask task runner (``flows/fanout.py``):
a LocalCluster of ``data.workers`` processes, or the cluster at ``--scheduler`` /
``$DASK_SCHEDULER_ADDRESS``; small inputs stay in the flow's process.
"""

from __future__ import annotations

import sys
from pathlib import Path

import mlflow
from prefect import flow, task

from components.data.prepare import prepare_dataset
from flows.fanout import dask_runner, flow_client, scheduler_option
from flows.stage import Stage, command

OUT = {"ocr": Path("data/ocr"), "crack": Path("data/crack")}


@task(name="build-dataset")
def build_dataset(dataset: str, data, out: Path, root: Path, scheduler: str | None = None) -> dict:
    spec = getattr(data, dataset)
    return prepare_dataset(
        dataset,
        spec.source,
        spec.format,
        out,
        num_frames=spec.num_frames,
        width=spec.width,
        height=spec.height,
        seed=data.seed,
        workers=data.workers,
        max_pixels=data.max_pixels,
        families=list(spec.families),
        root=root,
        client=flow_client(data.workers, scheduler),
    )


@flow(name="prepare", log_prints=True, task_runner=dask_runner())
def prepare(
    dataset: str, params_file: str = "params.yaml", root: Path | None = None, scheduler: str | None = None
) -> dict:
    """Build ``data/<dataset>`` and record one MLflow run with its source and DVC hash."""
    st = Stage.load(f"prepare_{dataset}", params_file, root)
    params, out = st.params, OUT[dataset]
    with st.run():
        spec = getattr(params.data, dataset)
        st.log_params({"dataset": dataset, "seed": params.data.seed, **spec.model_dump()})
        summary = build_dataset(dataset, params.data, st.path(out), st.root, scheduler)
        data_hash = st.dvc_hash(out)
        st.set_tags({"dvc_data_hash": data_hash, "data_source": summary["source"], "data_format": summary["format"]})
        mlflow.log_metrics({"samples": summary["samples"], "import_problems": summary["import_problems"]})
        st.log.info(
            "%s: %d samples from %s (%s) -> %s, DVC hash %s",
            dataset,
            summary["samples"],
            summary["source"],
            summary["format"],
            out,
            data_hash,
        )
        if summary["import_problems"]:
            st.log.warning(
                "%d file(s) could not be imported; they are listed in %s/import_report.json and will be "
                "reported by validation",
                summary["import_problems"],
                out,
            )
    return summary


main = command(
    "flows.prepare",
    __doc__,
    lambda a: prepare(a.dataset, a.params, scheduler=a.scheduler),
    choices=("dataset", OUT),
    options=scheduler_option,
)

if __name__ == "__main__":
    sys.exit(main())

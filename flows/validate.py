"""Validate flow: manifest + Great Expectations over a canonical dataset.

DVC stages ``validate_ocr`` and ``validate_crack`` run ``python -m flows.validate {ocr,crack}``.
Writes ``data/manifests/<dataset>.parquet`` (plus ``ocr_boxes.parquet``), the GX data docs and the
bad-sample list under ``reports/validation/<dataset>/``, and ``metrics/validate_<dataset>.json``.
Reading the files fans out on the flow's Dask task runner as in ``flows.prepare`` (``flows/fanout.py``).
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import mlflow
import pandas as pd
from prefect import flow, task

from components.data.manifest import (
    Splits,
    build_crack_manifest,
    build_ocr_manifest,
    statistics,
)
from components.data.report import render_report
from components.data.validation import (
    DatasetReport,
    DataValidationError,
    describe_bad,
    validate_dataset,
)
from components.io import atomic_path, atomic_write_text, write_parquet
from flows.common import flat
from flows.fanout import dask_runner, flow_client, scheduler_option
from flows.stage import Stage, command

DATA = {"ocr": Path("data/ocr"), "crack": Path("data/crack")}
MANIFESTS = Path("data/manifests")
REPORTS = Path("reports/validation")


@task(name="build-manifest", retries=1, retry_delay_seconds=2)
def build_manifest(
    root: Path, dataset: str, params, scheduler: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    d = params.data
    splits = Splits(d.splits.train, d.splits.val, d.splits.test)
    client = flow_client(d.workers, scheduler)
    if dataset == "ocr":
        return build_ocr_manifest(root / DATA["ocr"], splits, d.max_pixels, workers=d.workers, client=client)
    return build_crack_manifest(
        root / DATA["crack"], splits, d.max_pixels, d.crack.line_thickness, workers=d.workers, client=client
    ), None


@task(name="run-expectations")
def run_expectations(root: Path, dataset: str, samples, boxes, params) -> DatasetReport:
    v = params.validation
    docs = root / REPORTS / dataset
    return validate_dataset(dataset, samples, boxes, root / DATA[dataset], docs, v, v.min_split_size.model_dump())


@flow(name="validate", log_prints=True, task_runner=dask_runner())
def validate(
    dataset: str, params_file: str = "params.yaml", root: Path | None = None, scheduler: str | None = None
) -> dict:
    """Validate ``data/<dataset>``; under ``on_error: fail`` raise listing every bad sample."""
    st = Stage.load(f"validate_{dataset}", params_file, root)
    params, log = st.params, st.log
    on_error = params.validation.on_error
    reports, manifests = st.path(REPORTS / dataset), st.path(MANIFESTS)
    with st.run(data=DATA[dataset], tags={"dataset": dataset}):
        data_hash = st.data_hash
        st.log_params(
            {"on_error": on_error, "dataset_root": str(DATA[dataset]), **flat(params.validation.model_dump())}
        )
        samples, boxes = build_manifest(st.root, dataset, params, scheduler)
        report = run_expectations(st.root, dataset, samples, boxes, params)

        stats = statistics(report.samples, report.boxes)
        stats["bad_samples"] = len(report.bad)
        stats["on_error"] = on_error
        bad_list = pd.DataFrame(
            [{"sample": n, "reason": r} for n, rs in sorted(report.bad.items()) for r in rs],
            columns=["sample", "reason"],
        )
        with atomic_path(reports / "bad_samples.csv") as tmp:
            bad_list.to_csv(tmp, index=False)
        atomic_write_text(reports / "report.html", render_report(dataset, report, stats, data_hash, on_error, reports))
        mlflow.log_metrics(flat(stats))  # includes counts per class and per split
        mlflow.log_dict(stats, "dataset_statistics.json")
        with warnings.catch_warnings():  # MLflow's hint about integer columns is about model signatures
            warnings.simplefilter("ignore", UserWarning)
            manifest_ds = mlflow.data.from_pandas(
                report.samples,
                source=str(DATA[dataset]),
                name=f"{dataset}-manifest",
                digest=data_hash.removesuffix(".dir")[:32],
            )
        mlflow.log_input(manifest_ds, context="validation")
        st.log_artifacts(REPORTS / dataset, artifact_path="validation_report")
        log.info(
            "%s: %d samples, %d ok, %d bad; report: %s",
            dataset,
            stats["samples"],
            stats["samples_ok"],
            len(report.bad),
            REPORTS / dataset / "report.html",
        )
        if report.bad or report.failed_rules:
            rules = "; ".join(report.failed_rules)
            msg = f"{dataset}: {len(report.bad)} bad sample(s) ({rules}):\n{describe_bad(report.bad, 200)}"
            mlflow.set_tag("validation", "failed" if on_error == "fail" else "quarantined")
            if on_error == "fail":  # reports only: no manifest that later stages could take for a good one
                for stale in manifests.glob(f"{dataset}*.parquet"):
                    stale.unlink()
                raise DataValidationError(
                    msg + f"\nReport: {REPORTS / dataset}. "
                    "Set validation.on_error: quarantine to continue without them."
                )
            log.warning("quarantined (training continues without them): %s", msg)
        else:
            mlflow.set_tag("validation", "passed")
        write_parquet(report.samples, manifests / f"{dataset}.parquet")
        if report.boxes is not None:
            write_parquet(report.boxes, manifests / f"{dataset}_boxes.parquet")
        st.write_metrics(stats)
    return stats


main = command(
    "flows.validate",
    __doc__,
    lambda a: validate(a.dataset, a.params, scheduler=a.scheduler),
    choices=("dataset", DATA),
    failures={DataValidationError: "validation failed"},
    options=scheduler_option,
)

if __name__ == "__main__":
    sys.exit(main())

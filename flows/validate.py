"""Validate flow: manifest + Great Expectations over a canonical dataset.

DVC stages ``validate_ocr`` and ``validate_crack`` run ``python -m flows.validate {ocr,crack}``.
Writes ``data/manifests/<dataset>.parquet`` (plus ``ocr_boxes.parquet``), the GX data docs and the
bad-sample list under ``reports/validation/<dataset>/``, and ``metrics/validate_<dataset>.json``.
Reading the files fans out on the flow's Dask task runner as in ``flows.prepare`` (``flows/fanout.py``).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import mlflow
import pandas as pd
from prefect import flow, get_run_logger, task

from components import tracking
from components.config import load_params
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
    validate_crack,
    validate_ocr,
)
from components.io import atomic_path, atomic_write_text, write_parquet
from flows.common import flat, tag_prefect_run, write_metrics
from flows.fanout import dask_runner, flow_client

DATA = {"ocr": Path("data/ocr"), "crack": Path("data/crack")}
MANIFESTS = Path("data/manifests")
REPORTS = Path("reports/validation")


@task(name="build-manifest", retries=1, retry_delay_seconds=2)
def build_manifest(dataset: str, params, scheduler: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    d = params.data
    splits = Splits(d.splits.train, d.splits.val, d.splits.test)
    client = flow_client(d.workers, scheduler)
    if dataset == "ocr":
        return build_ocr_manifest(DATA["ocr"], splits, d.max_pixels, workers=d.workers, client=client)
    return build_crack_manifest(DATA["crack"], splits, d.max_pixels, d.crack.line_thickness, workers=d.workers,
                                client=client), None


@task(name="run-expectations")
def run_expectations(dataset: str, samples, boxes, params) -> DatasetReport:
    v = params.validation
    minimum = v.min_split_size.model_dump()
    docs = REPORTS / dataset
    if dataset == "ocr":
        return validate_ocr(samples, boxes, DATA["ocr"], docs, min_size=v.ocr.min_size, max_size=v.ocr.max_size,
                            max_rois=v.ocr.max_rois_per_image, min_split=minimum)
    return validate_crack(samples, DATA["crack"], docs, min_size=v.crack.min_size, max_size=v.crack.max_size,
                          max_coverage=v.crack.max_mask_coverage, min_split=minimum)


@flow(name="validate", log_prints=True, task_runner=dask_runner())
def validate(dataset: str, params_file: str = "params.yaml", scheduler: str | None = None) -> dict:
    """Validate ``data/<dataset>``; under ``on_error: fail`` raise listing every bad sample."""
    params = load_params(params_file)
    log = get_run_logger()
    on_error = params.validation.on_error
    with tracking.stage_run(f"validate_{dataset}", params.mlflow.tracking_uri, params.mlflow.experiment):
        tag_prefect_run()
        data_hash = tracking.dvc_hash(DATA[dataset])
        mlflow.set_tags({"dvc_data_hash": data_hash, "dataset": dataset})
        mlflow.log_params({"on_error": on_error, "dataset_root": str(DATA[dataset]), **flat(params.validation.model_dump())})
        samples, boxes = build_manifest(dataset, params, scheduler)
        report = run_expectations(dataset, samples, boxes, params)

        stats = statistics(report.samples, report.boxes)
        stats["bad_samples"] = len(report.bad)
        stats["on_error"] = on_error
        bad_list = pd.DataFrame([{"sample": n, "reason": r} for n, rs in sorted(report.bad.items()) for r in rs],
                                columns=["sample", "reason"])
        with atomic_path(REPORTS / dataset / "bad_samples.csv") as tmp:
            bad_list.to_csv(tmp, index=False)
        atomic_write_text(REPORTS / dataset / "report.html",
                          render_report(dataset, report, stats, data_hash, on_error, REPORTS / dataset))
        mlflow.log_metrics(flat(stats))  # includes counts per class and per split
        mlflow.log_dict(stats, "dataset_statistics.json")
        with warnings.catch_warnings():  # MLflow's hint about integer columns is about model signatures
            warnings.simplefilter("ignore", UserWarning)
            manifest_ds = mlflow.data.from_pandas(report.samples, source=str(DATA[dataset]), name=f"{dataset}-manifest",
                                                  digest=data_hash.removesuffix(".dir")[:32])
        mlflow.log_input(manifest_ds, context="validation")
        mlflow.log_artifacts(str(REPORTS / dataset), artifact_path="validation_report")
        log.info("%s: %d samples, %d ok, %d bad; report: %s", dataset, stats["samples"], stats["samples_ok"],
                 len(report.bad), REPORTS / dataset / "report.html")
        if report.bad or report.failed_rules:
            msg = f"{dataset}: {len(report.bad)} bad sample(s) ({'; '.join(report.failed_rules)}):\n{describe_bad(report.bad, 200)}"
            mlflow.set_tag("validation", "failed" if on_error == "fail" else "quarantined")
            if on_error == "fail":  # reports only: no manifest that later stages could take for a good one
                for stale in MANIFESTS.glob(f"{dataset}*.parquet"):
                    stale.unlink()
                raise DataValidationError(msg + f"\nReport: {REPORTS / dataset}. "
                                          "Set validation.on_error: quarantine to continue without them.")
            log.warning("quarantined (training continues without them): %s", msg)
        else:
            mlflow.set_tag("validation", "passed")
        write_parquet(report.samples, MANIFESTS / f"{dataset}.parquet")
        if report.boxes is not None:
            write_parquet(report.boxes, MANIFESTS / f"{dataset}_boxes.parquet")
        write_metrics(f"validate_{dataset}", stats)
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.validate", description=__doc__.splitlines()[0])
    parser.add_argument("dataset", choices=sorted(DATA))
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--scheduler", help="address of a running Dask scheduler (default: $DASK_SCHEDULER_ADDRESS, "
                        "else a LocalCluster of data.workers processes)")
    args = parser.parse_args(argv)
    try:
        validate(args.dataset, args.params, args.scheduler)
    except DataValidationError as exc:
        print(f"validation failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

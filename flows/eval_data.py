"""Eval-data flow: the fixed test sets every model is judged on, built once and kept.

DVC stages ``eval_data_ocr`` and ``eval_data_crack`` run ``python -m flows.eval_data {ocr,crack}``.
Each builds two sets under ``data/eval/<task>/``:

* ``test``: in-distribution, drawn from the training families (``data.<task>.families``);
* ``ood``: out-of-distribution, drawn only from ``eval_data.<task>.ood_families``, styles that
  training never sees (held-out surfaces, fonts, cameras, scales).

Both are generated with their own seed (``eval_data.seed``) and size (``eval_data.num_frames``),
so they do not change when the training data grows or is regenerated: a metric moves only when the
model does. Either set may instead be a folder of real data under ``data/sources/``. The stage then
builds each set's manifest (``data/manifests/<task>_<set>.parquet``, every row in split ``test`` or
``ood``) and runs the same Great Expectations checks as the training data; a bad sample fails the
stage under ``validation.on_error: fail``. Generation and reading fan out on the flow's Dask task
runner as in ``flows.prepare`` (``flows/fanout.py``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import mlflow
from prefect import flow, get_run_logger, task

from components import tracking
from components.config import Params, load_params
from components.data.manifest import (
    FixedSplit,
    build_crack_manifest,
    build_ocr_manifest,
    statistics,
)
from components.data.prepare import prepare_dataset
from components.data.validation import (
    DataValidationError,
    describe_bad,
    validate_crack,
    validate_ocr,
)
from components.io import write_parquet
from flows.common import flat, tag_prefect_run, write_metrics
from flows.fanout import dask_runner, flow_client

EVAL_ROOT = Path("data/eval")
MANIFESTS = Path("data/manifests")
REPORTS = Path("reports/validation")
SETS = ("test", "ood")
SEED_OFFSET = {"test": 0, "ood": 1}   # the two synthetic sets never share a frame


def set_dir(dataset: str, name: str) -> Path:
    """``data/eval/<dataset>/<name>``: the canonical folder of one evaluation set."""
    return EVAL_ROOT / dataset / name


def set_manifest(dataset: str, name: str, boxes: bool = False) -> Path:
    """``data/manifests/<dataset>_<name>.parquet`` (``..._boxes.parquet`` for OCR boxes)."""
    return MANIFESTS / f"{dataset}_{name}{'_boxes' if boxes else ''}.parquet"


@task(name="build-eval-set")
def build_set(dataset: str, name: str, params: Params, scheduler: str | None = None) -> dict:
    spec, sets = getattr(params.data, dataset), getattr(params.eval_data, dataset)
    source = getattr(sets, name)
    families = list(spec.families) if name == "test" else list(sets.ood_families)
    return prepare_dataset(dataset, source, spec.format, set_dir(dataset, name), num_frames=params.eval_data.num_frames,
                           width=spec.width, height=spec.height, seed=params.eval_data.seed + SEED_OFFSET[name],
                           workers=params.data.workers, max_pixels=params.data.max_pixels, families=families,
                           client=flow_client(params.data.workers, scheduler))


@task(name="check-eval-set")
def check_set(dataset: str, name: str, params: Params, scheduler: str | None = None):
    d, v = params.data, params.validation
    root, docs = set_dir(dataset, name), REPORTS / f"{dataset}_{name}"
    minimum = {name: 1}
    client = flow_client(d.workers, scheduler)
    if dataset == "ocr":
        samples, boxes = build_ocr_manifest(root, FixedSplit(name), d.max_pixels, workers=d.workers, client=client)
        return validate_ocr(samples, boxes, root, docs, min_size=v.ocr.min_size, max_size=v.ocr.max_size,
                            max_rois=v.ocr.max_rois_per_image, min_split=minimum)
    samples = build_crack_manifest(root, FixedSplit(name), d.max_pixels, d.crack.line_thickness, workers=d.workers,
                                   client=client)
    return validate_crack(samples, root, docs, min_size=v.crack.min_size, max_size=v.crack.max_size,
                          max_coverage=v.crack.max_mask_coverage, min_split=minimum)


@flow(name="eval_data", log_prints=True, task_runner=dask_runner())
def eval_data(dataset: str, params_file: str = "params.yaml", scheduler: str | None = None) -> dict:
    """Build and check ``data/eval/<dataset>/{test,ood}``; write their manifests."""
    params = load_params(params_file)
    log = get_run_logger()
    stats: dict = {}
    with tracking.stage_run(f"eval_data_{dataset}", params.mlflow.tracking_uri, params.mlflow.experiment):
        tag_prefect_run()
        mlflow.log_params({"dataset": dataset, "seed": params.eval_data.seed,
                           "num_frames": params.eval_data.num_frames,
                           **{f"{k}": str(v) for k, v in getattr(params.eval_data, dataset).model_dump().items()}})
        for name in SETS:
            summary = build_set(dataset, name, params, scheduler)
            report = check_set(dataset, name, params, scheduler)
            stats[name] = {**statistics(report.samples, report.boxes), "bad_samples": len(report.bad),
                           "source": summary["source"]}
            if report.bad or report.failed_rules:
                msg = (f"{set_dir(dataset, name)}: {len(report.bad)} bad sample(s) "
                       f"({'; '.join(report.failed_rules)}):\n{describe_bad(report.bad, 50)}")
                if params.validation.on_error == "fail":
                    raise DataValidationError(msg)
                log.warning("quarantined (left out of evaluation): %s", msg)
            write_parquet(report.samples, set_manifest(dataset, name))
            if report.boxes is not None:
                write_parquet(report.boxes, set_manifest(dataset, name, boxes=True))
            log.info("%s %s set: %d frames ok (%s) from %s", dataset, name, stats[name]["samples_ok"],
                     ", ".join(f"{f} {n}" for f, n in stats[name]["family"].items()), summary["source"])
        mlflow.set_tags({f"dvc_data_hash_{name}": tracking.dvc_hash(set_dir(dataset, name)) for name in SETS})
        mlflow.log_metrics(flat({k: {kk: vv for kk, vv in v.items() if kk != "source"} for k, v in stats.items()}))
        write_metrics(f"eval_data_{dataset}", stats)
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.eval_data", description=__doc__.splitlines()[0])
    parser.add_argument("dataset", choices=("ocr", "crack"))
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--scheduler", help="address of a running Dask scheduler (default: $DASK_SCHEDULER_ADDRESS, "
                        "else a LocalCluster of data.workers processes)")
    args = parser.parse_args(argv)
    try:
        eval_data(args.dataset, args.params, args.scheduler)
    except DataValidationError as exc:
        print(f"evaluation set failed validation: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

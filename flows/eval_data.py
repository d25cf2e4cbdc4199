"""Eval-data flow: the fixed test sets every model is judged on, built once and kept.

DVC stages ``eval_data_ocr`` and ``eval_data_crack`` run ``python -m flows.eval_data {ocr,crack}``.
Each builds two sets under ``data/eval/<task>/``:

* ``test``: in-distribution, drawn from the training families (``data.<task>.families``);
* ``ood``: out-of-distribution, drawn only from ``eval_data.<task>.ood_families``, styles that
  training never sees (held-out surfaces, fonts, cameras, scales).

Both are generated with their own seed (``eval_data.seed``) and size (``eval_data.num_frames``),
so they do not change when the training data grows or is regenerated: a metric moves only when the
model does. The synthetic crack ``test`` set also gets ``eval_data.crack.test_crack_free`` frames
without cracks after its ``num_frames``: the false-alarm rate is a share of crack-free frames, and
the quantization and champion gates on it need thousands of them to tell a point from noise.
Either set may instead be a folder of real data under ``data/sources/``. The stage then
builds each set's manifest (``data/manifests/<task>_<set>.parquet``, every row in split ``test`` or
``ood``) and runs the same Great Expectations checks as the training data; a bad sample fails the
stage under ``validation.on_error: fail``. Generation and reading fan out on the flow's Dask task
runner as in ``flows.prepare`` (``flows/fanout.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from prefect import flow, task

from components.config import Params
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
    validate_dataset,
)
from components.io import write_parquet
from flows.fanout import dask_runner, flow_client, scheduler_option
from flows.paths import SETS, set_dir, set_manifest
from flows.stage import Stage, command

REPORTS = Path("reports/validation")
SEED_OFFSET = {"test": 0, "ood": 1}  # the two synthetic sets never share a frame


@task(name="build-eval-set")
def build_set(project: Path, dataset: str, name: str, params: Params, scheduler: str | None = None) -> dict:
    spec, sets = getattr(params.data, dataset), getattr(params.eval_data, dataset)
    source = getattr(sets, name)
    families = list(spec.families) if name == "test" else list(sets.ood_families)
    return prepare_dataset(
        dataset,
        source,
        spec.format,
        project / set_dir(dataset, name),
        num_frames=params.eval_data.num_frames,
        width=spec.width,
        height=spec.height,
        seed=params.eval_data.seed + SEED_OFFSET[name],
        workers=params.data.workers,
        max_pixels=params.data.max_pixels,
        families=families,
        root=project,
        client=flow_client(params.data.workers, scheduler),
        crack_free_frames=sets.test_crack_free if dataset == "crack" and name == "test" else 0,
    )


@task(name="check-eval-set")
def check_set(project: Path, dataset: str, name: str, params: Params, scheduler: str | None = None):
    d, v = params.data, params.validation
    root, docs = project / set_dir(dataset, name), project / REPORTS / f"{dataset}_{name}"
    minimum = {name: 1}
    client = flow_client(d.workers, scheduler)
    if dataset == "ocr":
        samples, boxes = build_ocr_manifest(root, FixedSplit(name), d.max_pixels, workers=d.workers, client=client)
    else:
        boxes = None
        samples = build_crack_manifest(
            root, FixedSplit(name), d.max_pixels, d.crack.line_thickness, workers=d.workers, client=client
        )
    return validate_dataset(dataset, samples, boxes, root, docs, v, minimum)


@flow(name="eval_data", log_prints=True, task_runner=dask_runner())
def eval_data(
    dataset: str, params_file: str = "params.yaml", root: Path | None = None, scheduler: str | None = None
) -> dict:
    """Build and check ``data/eval/<dataset>/{test,ood}``; write their manifests."""
    st = Stage.load(f"eval_data_{dataset}", params_file, root)
    params, log = st.params, st.log
    stats: dict = {}
    with st.run():
        st.log_params(
            {
                "dataset": dataset,
                "seed": params.eval_data.seed,
                "num_frames": params.eval_data.num_frames,
                **{f"{k}": str(v) for k, v in getattr(params.eval_data, dataset).model_dump().items()},
            }
        )
        for name in SETS:
            summary = build_set(st.root, dataset, name, params, scheduler)
            report = check_set(st.root, dataset, name, params, scheduler)
            stats[name] = {
                **statistics(report.samples, report.boxes),
                "bad_samples": len(report.bad),
                "source": summary["source"],
            }
            if report.bad or report.failed_rules:
                msg = (
                    f"{set_dir(dataset, name)}: {len(report.bad)} bad sample(s) "
                    f"({'; '.join(report.failed_rules)}):\n{describe_bad(report.bad, 50)}"
                )
                if params.validation.on_error == "fail":
                    raise DataValidationError(msg)
                log.warning("quarantined (left out of evaluation): %s", msg)
            write_parquet(report.samples, st.path(set_manifest(dataset, name)))
            if report.boxes is not None:
                write_parquet(report.boxes, st.path(set_manifest(dataset, name, boxes=True)))
            log.info(
                "%s %s set: %d frames ok (%s) from %s",
                dataset,
                name,
                stats[name]["samples_ok"],
                ", ".join(f"{f} {n}" for f, n in stats[name]["family"].items()),
                summary["source"],
            )
        st.set_tags({f"dvc_data_hash_{name}": st.dvc_hash(set_dir(dataset, name)) for name in SETS})
        st.finish(stats)
    return stats


main = command(
    "flows.eval_data",
    __doc__,
    lambda a: eval_data(a.dataset, a.params, scheduler=a.scheduler),
    choices=("dataset", ("ocr", "crack")),
    options=scheduler_option,
    failures={DataValidationError: "evaluation set failed validation"},
)

if __name__ == "__main__":
    sys.exit(main())

"""Batch prediction flow: a folder of images or a video through a registered (or exported) model.

``python -m flows.predict {ocr,crack} INPUT --model MODEL --out OUT [--stride N] [--assets FILE]
[--resume] [--threads N] [--tiling {auto,always,never}] [--workers N] [--scheduler ADDRESS]
[--no-progress] [--no-overlays] [--no-prefect]``

INPUT is a folder (recursive; files that are not images are listed in ``OUT/skipped.txt``), a video
file (every ``--stride``-th frame, rows keyed ``clip.mp4#frame=120``, annotated video in OUT) or one
image. MODEL is ``models:/<name>@<alias>``, ``models:/<name>/<version>`` or an export folder. OUT
receives ``results.parquet`` + ``results.csv`` (one row per ROI for OCR, one per image for crack,
error rows for unreadable images), ``overlays/`` and ``skipped.txt``; it may not be the input
folder or inside it. Ctrl-C merges what was processed into consistent tables and exits 130;
``--resume`` continues such a run. See ``components.predict`` for the pieces.

``--workers N`` (N > 1) shards the images over a Dask ``LocalCluster`` of N processes, ``--scheduler``
over an existing cluster (also ``$DASK_SCHEDULER_ADDRESS``); each worker loads the model once, and
the tables are those of a run in one process. Inputs under ``--fanout-min`` images stay in this
process (``flows/fanout.py``, ``components.predict.runner``).

The Prefect flow ``batch_predict`` takes a ``PredictOptions`` (a form in the UI; deployment
``batch-predict`` in prefect.yaml). The CLI runs it as a flow run like the other stages (a
temporary Prefect server unless ``PREFECT_API_URL`` is set, or the server of a pipeline running in
the same checkout: ``flows.common.shared_prefect_api``); ``--no-prefect`` runs the same code
without one, which starts in seconds instead of about 20 s. Should the temporary server not start,
the run goes on without the API after a one-line warning.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Literal

import httpx
from prefect import flow, get_run_logger
from prefect.exceptions import MissingContextError
from pydantic import BaseModel, Field, model_validator

from components.crack.tiling import TILING_CHOICES, Tiling
from components.io import remove_stale_temporaries
from components.predict import PredictError
from components.predict.assets import load_assets
from components.predict.models import resolve_model
from components.predict.predictors import PredictorSpec, loaded
from components.predict.runner import MIN_FANOUT_IMAGES, run_batch
from components.predict.sources import check_output_location, open_source
from components.predict.store import ResultStore, write_skipped
from flows.common import shared_prefect_api
from flows.fanout import dask_runner, fanout_client

DEFAULT_MODEL = "models:/resistor-ocr@champion"


class PredictOptions(BaseModel):
    """One batch run; Prefect shows these fields as a form for the deployment."""

    kind: Literal["ocr", "crack"] = Field(
        "ocr", description="ocr: resistor-ocr rows per ROI; crack: road-crack masks per image"
    )
    input: str = Field(description="folder of images (recursive), a video file, or one image")
    out: str = Field(description="output folder, outside the input folder")
    model: str = Field(
        DEFAULT_MODEL, description="models:/<name>@<alias>, models:/<name>/<version> or an export folder"
    )
    stride: int = Field(1, ge=1, description="video: process every Nth frame")
    assets: str | None = Field(
        None, description="assets.json to join by file stem (name, latitude, longitude, timestamp, ...)"
    )
    resume: bool = Field(False, description="skip images already in OUT's results and add the rest")
    threads: int = Field(1, ge=1, description="inference threads of the runtime")
    tiling: Tiling = Field(
        "auto",
        description="crack only: large frames in tiles at full resolution (always), shrunk whole (never), "
        "or by size (auto: more than 2x the model input); docs/crack.md says which suits your camera",
    )
    overlays: bool = Field(True, description="write overlay PNGs (folders) or an annotated video (videos)")
    progress: bool = Field(True, description="progress bar with ETA on stderr")
    flush_every: int = Field(100, ge=1, description="write a results chunk every N images (also every 60 s)")
    workers: int = Field(
        1, ge=1, description="Dask worker processes of a LocalCluster to shard the images over (1: this process)"
    )
    scheduler: str | None = Field(
        None, description="address of a running Dask scheduler to use instead (or $DASK_SCHEDULER_ADDRESS)"
    )
    fanout_min: int | None = Field(
        None, ge=0, description="inputs with fewer images run in this process (default: 200 OCR, 700 crack)"
    )

    @model_validator(mode="after")
    def _tiling_is_for_cracks(self) -> PredictOptions:
        if self.tiling != "auto" and self.kind != "crack":
            raise ValueError(f"tiling {self.tiling!r} applies to crack models only (kind is {self.kind!r})")
        return self


def _logger() -> logging.Logger | logging.LoggerAdapter:
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("flows.predict")


def run_predict(options: PredictOptions) -> dict:
    """The whole run, outside or inside a flow run; returns the summary as a dict."""
    log = _logger()
    source = open_source(options.input, options.stride)
    check_output_location(options.input, options.out)
    store = ResultStore(options.out, options.kind, options.flush_every)
    done: set[str] = set()
    earlier: list[str] = []
    if store.has_results():
        if not options.resume:
            raise PredictError(
                f"{options.out} already holds results ({store.results.name}); pass --resume to continue "
                f"that run, or choose another output folder"
            )
        table, _ = store.load()
        done = set(table.column("image").to_pylist())
        earlier = sorted(set(table.column("model").to_pylist()))
    assets = load_assets(options.assets) if options.assets else None
    with resolve_model(options.model, options.kind) as model:
        if done and earlier != [model.label]:
            log.warning(
                "resuming with %s; the stored rows came from %s (the model column tells them apart)",
                model.label,
                ", ".join(earlier),
            )
        spec = PredictorSpec(options.kind, model.export_dir, model.label, options.threads, options.tiling)
        loaded(spec)  # checked (sha256, kind) here, before any output
        store.out.mkdir(parents=True, exist_ok=True)  # nothing is written before everything checks out
        stale = remove_stale_temporaries(store.out)  # a SIGKILLed earlier run leaves hidden .*.tmp.* files
        if stale:
            log.warning(
                "removed %d temporary file(s) left by an interrupted run in %s: %s",
                len(stale),
                store.out,
                ", ".join(str(p.relative_to(store.out)) for p in stale[:5]) + (", ..." if len(stale) > 5 else ""),
            )
        write_skipped(store.out, source.skipped)
        log.info(
            "%s with %s -> %s%s",
            source.describe(),
            model.label,
            store.out,
            f" (resuming: {len(done)} done)" if done else "",
        )
        with fanout_client(options.workers, options.scheduler) as client:
            summary = run_batch(
                source,
                spec,
                store,
                done=done,
                assets=assets,
                overlays=options.overlays,
                progress=options.progress,
                log=log,
                workers=options.workers,
                client=client,
                min_fanout=options.fanout_min,
            )
    return summary.as_dict()


_FINISHED: dict[str, dict] = {}  # summaries of the flow bodies that ran to their end in this process, by OUT


@flow(name="batch_predict", task_runner=dask_runner())
def batch_predict(options: PredictOptions) -> dict:
    """Predict every image of ``options.input`` with ``options.model`` into ``options.out``."""
    summary = run_predict(options)
    _FINISHED[options.out] = summary
    return summary


def parse_args(argv: list[str] | None = None) -> tuple[PredictOptions, bool]:
    parser = argparse.ArgumentParser(prog="python -m flows.predict", description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["ocr", "crack"])
    parser.add_argument("input", help="folder of images (recursive), video file, or one image")
    parser.add_argument(
        "--model", required=True, help="models:/<name>@<alias>, models:/<name>/<version> or an export folder"
    )
    parser.add_argument("--out", required=True, help="output folder (not the input folder, nor inside it)")
    parser.add_argument("--stride", type=int, default=1, help="video: process every Nth frame (default 1)")
    parser.add_argument(
        "--assets", help="assets.json: a list of objects with 'name' (file stem), joined to the results"
    )
    parser.add_argument("--resume", action="store_true", help="skip images already in OUT's results")
    parser.add_argument("--threads", type=int, default=1, help="runtime inference threads (default 1)")
    parser.add_argument(
        "--tiling",
        choices=TILING_CHOICES,
        default="auto",
        help="crack: read large frames in tiles at full resolution (always), shrink them (never), or by size (auto)",
    )
    parser.add_argument("--flush-every", type=int, default=100, help="write a chunk of results every N images")
    parser.add_argument(
        "--workers", type=int, default=1, help="shard the images over N Dask worker processes (default 1)"
    )
    parser.add_argument("--scheduler", help="address of a running Dask scheduler (default: $DASK_SCHEDULER_ADDRESS)")
    parser.add_argument(
        "--fanout-min",
        type=int,
        help="inputs with fewer images run in this process (default "
        + ", ".join(f"{n} {k}" for k, n in MIN_FANOUT_IMAGES.items())
        + ")",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--no-overlays", action="store_true", help="no overlay PNGs / annotated video")
    parser.add_argument("--no-prefect", action="store_true", help="run without a Prefect flow run (no API server)")
    args = parser.parse_args(argv)
    try:
        options = PredictOptions(
            kind=args.kind,
            input=args.input,
            out=args.out,
            model=args.model,
            stride=args.stride,
            assets=args.assets,
            resume=args.resume,
            threads=args.threads,
            tiling=args.tiling,
            overlays=not args.no_overlays,
            progress=not args.no_progress,
            flush_every=args.flush_every,
            workers=args.workers,
            scheduler=args.scheduler,
            fanout_min=args.fanout_min,
        )
    except ValueError as exc:  # pydantic's ValidationError: --stride 0, --threads 0, ...
        parser.error(str(exc))
    return options, not args.no_prefect


_PLAIN_HANDLER = "flows.predict.plain"


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (a test's capture may replace it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def plain_logging() -> None:
    """INFO lines on stderr in a plain format, for the run without Prefect.

    Importing Prefect puts its console handler on the root logger at WARNING, which hid every INFO
    line of a ``--no-prefect`` run (the summary included) and made ``logging.basicConfig`` a no-op.
    Prefect's handler is replaced by a plain one; handlers of others (pytest's) stay.
    """
    from prefect.logging.handlers import PrefectConsoleHandler

    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, PrefectConsoleHandler) or handler.get_name() == _PLAIN_HANDLER:
            root.removeHandler(handler)
    handler = _StderrHandler()
    handler.set_name(_PLAIN_HANDLER)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def _with_prefect(options: PredictOptions) -> dict:
    """The run as a flow run: on the server of a pipeline running in this checkout if there is one;
    without the API (one warning) if Prefect's temporary server cannot start or the shared one is gone."""
    _FINISHED.pop(options.out, None)
    with shared_prefect_api() as shared:
        if shared:
            print(
                f"predict: using the Prefect server of the pipeline running in this checkout ({shared})",
                file=sys.stderr,
            )
        try:
            return batch_predict(options)
        except RuntimeError as exc:  # raised before the flow body runs, when the client first connects
            if "ephemeral Prefect API server" not in str(exc):
                raise
            why = f"its temporary server did not start: {str(exc).splitlines()[0][:200]}"
        except httpx.TransportError as exc:
            if not shared:
                raise
            # the pipeline ended and its server with it: the body goes on without the API (its log
            # lines then fail to send), and recording the flow run's end fails after the results are in
            if options.out in _FINISHED:
                print(
                    f"predict: warning: the pipeline's Prefect server went away during the run ({exc}); the "
                    f"results are complete, the flow run's end is not recorded",
                    file=sys.stderr,
                )
                return _FINISHED.pop(options.out)
            why = f"the pipeline's server at {shared} went away: {exc}"
    print(f"predict: warning: running without the Prefect API ({why})", file=sys.stderr)
    plain_logging()
    return run_predict(options)


def main(argv: list[str] | None = None) -> int:
    options, with_prefect = parse_args(argv)
    if not with_prefect:
        plain_logging()
    try:
        summary = _with_prefect(options) if with_prefect else run_predict(options)
    except PredictError as exc:
        print(f"predict: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            f"predict: interrupted; the images processed so far are in {options.out}/results.parquet "
            f"(continue with --resume)",
            file=sys.stderr,
        )
        return 130
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

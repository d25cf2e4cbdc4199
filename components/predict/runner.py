"""The batch loop: every image through the model, one failure never stops the run, Ctrl-C keeps
what is done (docs/architecture.md#reliability-rules).

* An image that cannot be read or predicted becomes an error row with the reason; the loop goes on.
* Rows are flushed to part files in chunks (``components.predict.store``); whatever ends the loop
  (the last image, Ctrl-C, a crash) the ``finally`` merges everything processed into
  ``results.parquet`` and ``results.csv`` and closes the annotated video. A second Ctrl-C during
  that merge is held back until it is done (main thread only), so the tables stay consistent.
* After an interruption the runner raises ``KeyboardInterrupt`` again (the CLI exits 130, Prefect
  marks the flow run crashed), after logging how far it got.
* A progress bar with rate and ETA (tqdm) on stderr, unless turned off.
* Fan-out (``components.fanout``): with ``workers > 1`` or a Dask ``client``, and at least
  ``min_fanout`` images, the image list is cut into shards that go to the Dask workers; each worker
  loads the model once (``predictors.loaded``), decodes and predicts its shards and writes their
  PNG overlays itself. Results come back in input order and go through the same store, so the
  tables equal those of a run in one process, and an interrupted run holds a prefix of the input
  list, exactly as in one process. Video frames are decoded here (one reader) and sent out; the
  annotated video is written here, in order.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

import pandas as pd
import pyarrow as pa
from tqdm import tqdm

from components.fanout import ClientSource, map_ordered
from components.predict.assets import join_assets, matched_count
from components.predict.overlays import PngTree, VideoOverlay
from components.predict.predictors import PredictorSpec, loaded
from components.predict.rows import ERROR, error_rows
from components.predict.sources import Item, Source, VideoSource
from components.predict.store import ResultStore

#: Below this many images a Dask cluster's start-up costs more than it saves, per kind
#: (crossovers on 2 free cores, docs/operations.md#fan-out-on-dask).
MIN_FANOUT_IMAGES = {"ocr": 200, "crack": 200}


@dataclass
class Summary:
    """What a run did; returned by the flow and printed by the CLI."""

    out: str
    model: str
    source: str
    processed: int = 0  # images (frames) processed by this run
    errors: int = 0  # of which failed (error rows)
    already_done: int = 0  # skipped because OUT had them (--resume)
    skipped_files: list[str] = field(default_factory=list)  # input files that are not images
    total_images: int = 0  # distinct images in results.parquet after the run
    total_rows: int = 0
    assets_matched: int | None = None
    videos: list[str] = field(default_factory=list)
    interrupted: bool = False
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


@contextmanager
def sigint_held() -> Iterator[list[int]]:
    """Hold Ctrl-C back during the block; the yielded list tells whether one came. Only the main
    thread can set signal handlers; elsewhere the block runs unprotected (signals go to the main
    thread anyway)."""
    caught: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield caught
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield caught
    finally:
        signal.signal(signal.SIGINT, previous)


def predict_item(
    spec: PredictorSpec, draw: bool, pngs: PngTree | None, item: Item
) -> tuple[str, list[dict], object, bool]:
    """One image through the model: ``(key, rows, picture or None, failed)``. A failure becomes an
    error row. With ``pngs`` the overlay is written here (on the worker) and not sent back."""
    predictor = loaded(spec)
    try:
        rows, picture = predictor(item.key, item.load(), draw)
    except Exception as exc:  # noqa: BLE001  one bad image (decode error, odd shape, runtime error) -> error row
        return item.key, error_rows(predictor.kind, item.key, _reason(exc), predictor.model), None, True
    if picture is not None and pngs is not None:
        pngs.write(item, picture)
        picture = None
    return item.key, rows, picture, False


def run_batch(
    source: Source,
    spec: PredictorSpec,
    store: ResultStore,
    *,
    done: set[str] | None = None,
    assets: pd.DataFrame | None = None,
    overlays: bool = True,
    progress: bool = True,
    log: logging.Logger | logging.LoggerAdapter | None = None,
    workers: int = 1,
    client: ClientSource | None = None,
    min_fanout: int | None = None,
) -> Summary:
    """Process every image of ``source`` not in ``done``; return the summary (see module docstring).
    ``min_fanout``: fewest images to fan out (``None``: ``MIN_FANOUT_IMAGES`` of the kind)."""
    log = log or logging.getLogger(__name__)
    done = done or set()
    start = time.perf_counter()
    summary = Summary(
        str(store.out),
        spec.model,
        source.describe(),
        already_done=len(done),
        skipped_files=[p for p, _ in source.skipped],
    )
    video = isinstance(source, VideoSource)
    if video:
        sink = VideoOverlay(store.out, source.name, source.fps / source.stride) if overlays else None
    else:
        sink = PngTree(store.out) if overlays else None
    expected = source.expected(done)
    work = partial(predict_item, spec, sink is not None, None if video else sink)
    least = MIN_FANOUT_IMAGES[spec.kind] if min_fanout is None else min_fanout
    results = map_ordered(
        work, source.items(done), workers, client=client, min_jobs=least, count=expected, progress=False
    )
    bar = tqdm(total=expected or None, unit="img", desc=spec.kind, disable=not progress, dynamic_ncols=True)
    failure: BaseException | None = None
    try:
        for key, rows, picture, failed in results:
            if failed:
                summary.errors += 1
                log.warning("%s: %s", key, rows[0]["error"])
            if picture is not None:
                sink.write(Item(key, _not_sent), picture)
            store.add(rows)
            summary.processed += 1
            bar.update()
    except BaseException as exc:  # noqa: BLE001  Ctrl-C, a signal turned exception, or a failure: re-raised below
        failure = exc
        summary.interrupted = isinstance(exc, KeyboardInterrupt)
    finally:
        results.close()  # a fanned-out run: cancel the shards still queued
        bar.close()
        try:
            with sigint_held() as held:
                if sink is not None:
                    summary.videos = [str(p) for p in sink.close()]
                table = store.finalize((lambda t: join_assets(t, assets)) if assets is not None else None)
            if held and failure is None:
                failure, summary.interrupted = KeyboardInterrupt(), True
        except BaseException as exc:
            if failure is None:
                raise
            log.error("could not merge the results after %s: %s", type(failure).__name__, exc)
            raise failure from exc
    summary.total_rows = table.num_rows
    summary.total_images = len(set(table.column("image").to_pylist()))
    if assets is not None:
        summary.assets_matched = matched_count(table, assets)
    summary.seconds = round(time.perf_counter() - start, 2)
    _report(summary, table, source, log)
    if failure is not None:
        raise failure
    return summary


def _not_sent():
    raise RuntimeError("the pixels of a predicted item stay where it was predicted")


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    return text if text else type(exc).__name__


def _report(summary: Summary, table: pa.Table, source: Source, log) -> None:
    errors_total = sum(1 for s in table.column("status").to_pylist() if s == ERROR)
    how = "INTERRUPTED, flushed" if summary.interrupted else "done"
    log.info(
        "%s: %d images this run (%d errors) in %.1f s; %s holds %d images, %d rows (%d error rows)%s",
        how,
        summary.processed,
        summary.errors,
        summary.seconds,
        Path(summary.out) / "results.parquet",
        summary.total_images,
        summary.total_rows,
        errors_total,
        f"; {summary.already_done} already done" if summary.already_done else "",
    )
    if summary.skipped_files:
        shown = ", ".join(summary.skipped_files[:5]) + (", ..." if len(summary.skipped_files) > 5 else "")
        log.info("skipped %d files that are not images (listed in skipped.txt): %s", len(summary.skipped_files), shown)
    if isinstance(source, VideoSource) and source.bad_frames:
        log.warning(
            "%s: %d unreadable frame(s) skipped mid-file and recorded as error rows: %s",
            source.path,
            len(source.bad_frames),
            ", ".join(map(str, source.bad_frames[:10])) + (", ..." if len(source.bad_frames) > 10 else ""),
        )
    if (
        isinstance(source, VideoSource)
        and not summary.interrupted
        and source.frame_count
        and source.frames_read + 1 < source.frame_count
    ):
        log.warning(
            "%s: the video ended at frame %d of the %d its header announces (truncated or corrupt?)",
            source.path,
            source.frames_read,
            source.frame_count,
        )

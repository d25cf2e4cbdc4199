"""Results dashboard: ``streamlit run dashboard/app.py`` (from the repository root or anywhere).

Three tabs, each bound to the URL (``?tab=Results``) and computed only when open:

* Models: the MLflow registry: each model's champion, its metrics and gate results, the version
  history and model cards (``components.dashboard.registry``);
* Results: a ``flows.predict`` output folder: table, masking-rate histogram and boxplot, a map with a
  heat layer when the table has coordinates, overlays, OCR reads (``components.dashboard.results``);
* Pipeline: the last MLflow run of every DVC stage (``components.dashboard.status``).

This file only draws; the page logic is in ``components/dashboard/`` and tested there. Settings:
``MLFLOW_TRACKING_URI`` (else params.yaml), ``DASHBOARD_RESULTS`` (else ``predictions/``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import altair as alt
import pandas as pd
import pydeck as pdk
import streamlit as st

from components.dashboard import registry, results, settings, status

if TYPE_CHECKING:
    from mlflow import MlflowClient

ROOT = Path(__file__).resolve().parents[1]  # params.yaml's folder; `components` imports as an installed package

TABS = ("Models", "Results", "Pipeline")
MAP_HEIGHT = 420
TTL = 60  # seconds the MLflow answers are reused; "Refresh" forgets them
PREDICT_HINT = (
    "python -m flows.predict crack <images> --model models:/road-crack-segmenter@champion --out predictions/<name>"
)


# -- data access (cached per tracking URI / results file) -----------------------------------------
# mlflow is imported where it is needed: it takes seconds, and the Results tab does not need it.


@st.cache_resource(show_spinner=False)
def client(uri: str) -> MlflowClient:
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=uri, registry_uri=uri)


@st.cache_data(ttl=TTL, show_spinner="Reading the model registry ...")
def model_overviews(uri: str) -> list[registry.ModelOverview]:
    c = client(uri)
    return [registry.overview(c, name) for name in registry.model_names(c)]


@st.cache_data(ttl=TTL, show_spinner=False)
def version_detail(uri: str, name: str, version: int) -> registry.VersionDetail:
    return registry.version_detail(client(uri), name, version)


@st.cache_data(ttl=TTL, show_spinner="Reading the pipeline runs ...")
def stage_runs(uri: str, experiment: str, stages: tuple[str, ...]) -> tuple[pd.DataFrame, dict | None]:
    c = client(uri)
    return status.last_stage_runs(c, experiment, list(stages)), status.last_pipeline_run(c, experiment)


@st.cache_data(max_entries=8, show_spinner="Loading results ...")
def load_results(folder: str, stamp: float) -> results.Results:  # stamp: the table's mtime, so a new run reloads
    return results.load(folder)


def _stamp(folder: Path) -> float:
    try:
        return (folder / "results.parquet").stat().st_mtime
    except OSError:
        return 0.0


def _store_ok(cfg: settings.Settings) -> bool:
    missing = settings.missing_store(cfg.tracking_uri)
    if missing is not None:
        st.warning(
            f"No MLflow store at `{missing}` yet: run the pipeline (`python -m flows.pipeline`) first, "
            "or point `MLFLOW_TRACKING_URI` at a tracking server."
        )
    return missing is None


def _mlflow_error(exc: Exception, cfg: settings.Settings) -> None:
    st.error(f"MLflow at `{cfg.tracking_uri}` did not answer: {exc}")


# -- Models ---------------------------------------------------------------------------------------


def _pass_fail(value) -> str:
    colors = {
        "pass": "color: #1b7f3b",
        "passed": "color: #1b7f3b",
        "FAIL": "color: #c62828; font-weight: 600",
        "failed": "color: #c62828; font-weight: 600",
    }
    return colors.get(value, "")


def _version(v) -> str:
    return "none" if pd.isna(v) else f"v{int(v)}"


def models_page(cfg: settings.Settings) -> None:
    st.header("Models")
    if not _store_ok(cfg):
        return
    from mlflow.exceptions import MlflowException

    try:
        overviews = model_overviews(cfg.tracking_uri)
        if not overviews:
            st.info(
                "No registered models yet: `python -m flows.register ocr` / `crack` (or the whole pipeline) "
                "registers them."
            )
            return
        table = registry.champions(overviews)
        table[["champion", "latest"]] = table[["champion", "latest"]].map(_version)
        st.dataframe(table.style.map(_pass_fail, subset=["latest_gates"]), hide_index=True)
        for o in overviews:
            st.divider()
            _model_section(cfg, o)
    except (MlflowException, OSError) as exc:
        _mlflow_error(exc, cfg)


def _model_section(cfg: settings.Settings, o: registry.ModelOverview) -> None:
    title = f"{o.name} · champion v{o.champion}" if o.champion is not None else f"{o.name} · no champion"
    st.subheader(title)
    if len(o.history) == 0:
        st.info("No versions registered.")
        return
    versions = [int(v) for v in o.history.version]
    default = versions.index(o.champion) if o.champion in versions else 0
    version = st.selectbox(
        "Version",
        versions,
        index=default,
        key=f"version-{o.name}",
        format_func=lambda v: f"v{v}" + (" (champion)" if v == o.champion else ""),
    )
    d = version_detail(cfg.tracking_uri, o.name, version)
    if d.gate_passed is True:
        st.success(f"v{d.version} passed all {len(d.gates)} gates" + (" and is the champion." if d.champion else "."))
    elif d.gate_passed is False:
        st.error(f"v{d.version} failed the gates: {d.gate_reasons}")
    else:
        st.info(f"v{d.version} was not judged by the gates (no gate tags).")

    headline = [(k, v) for k, v in d.metrics.items() if k in registry.HEADLINE]
    for start in range(0, len(headline), 7):
        for col, (k, v) in zip(st.columns(7), headline[start : start + 7]):
            col.metric(k, registry.format_metric(k, v))
    both = registry.test_vs_ood(d.metrics)
    if len(both):
        st.markdown("**Fixed test set vs held-out styles (OOD)**, 95 % bootstrap intervals over frames")
        st.dataframe(both, hide_index=True)

    st.caption(
        " · ".join(
            f"{label} `{d.tags[k]}`"
            for label, k in (
                ("form", "model_form"),
                ("git commit", "git_commit"),
                ("DVC data", "dvc_data_hash"),
                ("test split", "test_split"),
                ("MLflow run", "source_run_id"),
            )
            if d.tags.get(k)
        )
    )
    st.markdown("**Gate results**")
    gates = d.gates.assign(passed=d.gates.passed.map({True: "pass", False: "FAIL"})).rename(
        columns={"passed": "result"}
    )
    st.dataframe(
        gates.style.map(_pass_fail, subset=["result"]),
        hide_index=True,
        column_config={"detail": st.column_config.TextColumn("detail", width="large")},
    )
    st.markdown("**Version history**")
    st.dataframe(
        o.history.style.map(_pass_fail, subset=["gates"]),
        hide_index=True,
        column_config={
            "created": st.column_config.DatetimeColumn("created (UTC)", format="YYYY-MM-DD HH:mm"),
            "version": st.column_config.NumberColumn("version", format="v%d"),
        },
    )
    others = {k: v for k, v in d.metrics.items() if k not in registry.HEADLINE}
    with st.expander(f"All metrics of v{d.version} ({len(d.metrics)})"):
        st.dataframe(pd.DataFrame({"metric": list(d.metrics), "value": list(d.metrics.values())}), hide_index=True)
        if others:
            st.caption("Besides the standard metric keys: " + ", ".join(others))
    with st.expander(f"Model card of v{d.version}"):
        st.markdown(d.card or "_(no description)_")


# -- Results --------------------------------------------------------------------------------------


def pick_results(cfg: settings.Settings) -> tuple[Path, list[Path]]:
    """The sidebar's results folder: a text field and the result folders found under it. Both are
    bound to the URL (``?results=preds&run=drive``), so a view can be shared as a link."""
    shown = cfg.results.relative_to(cfg.root) if cfg.results.is_relative_to(cfg.root) else cfg.results
    text = st.sidebar.text_input(
        "Results folder",
        value=str(shown),
        key="results",
        bind="query-params",
        help="An output folder of `python -m flows.predict --out`, or a folder holding "
        "several (searched 3 levels deep). Relative to the repository root.",
    )
    root = cfg.path(text)
    found = results.find_folders(root)
    if len(found) > 1:
        names = [p.relative_to(root).as_posix() for p in found]
        return root / st.sidebar.selectbox("Run", names, key="run", bind="query-params"), found
    return (found[0] if found else root), found


def results_page(folder: Path, found: list[Path]) -> None:
    st.header("Results")
    if not found:
        st.info(f"No results in `{folder}`. Write some with `{PREDICT_HINT}`, or type another folder in the sidebar.")
        return
    try:
        res = load_results(str(folder), _stamp(folder))
    except results.ResultsError as exc:
        st.error(str(exc))
        return
    models = ", ".join(sorted(set(res.table.model.dropna())))
    st.caption(
        f"{'Crack segmentation' if res.kind == 'crack' else 'Resistor OCR'} results in `{folder}` · model {models}"
    )
    _summary(res)
    if len(res.errors):
        with st.expander(f"{len(res.errors)} image(s) could not be processed"):
            st.dataframe(res.errors, hide_index=True)
    if len(res.skipped):
        with st.expander(f"{len(res.skipped)} input file(s) skipped (not images)"):
            st.dataframe(res.skipped, hide_index=True)
    if res.kind == "crack":
        _crack_charts(res)
    else:
        _ocr_reads(res)
    _map(res)
    _overlays(res)
    st.subheader("Table")
    st.dataframe(results.display_table(res), hide_index=True)


def _summary(res: results.Results) -> None:
    s = results.summary(res)
    if res.kind == "crack":
        cells = [
            ("images", s["images"]),
            ("with cracks", s["with_cracks"]),
            ("mean masking rate", f"{100 * s['mean_masking_rate']:.2f} %"),
            ("median", f"{100 * s['median_masking_rate']:.2f} %"),
            ("max", f"{100 * s['max_masking_rate']:.2f} %"),
            ("errors", s["errors"]),
        ]
    else:
        cells = [
            ("images", s["images"]),
            ("resistors read", s["resistors"]),
            ("frames without resistor", s["images_without_resistor"]),
            ("mean confidence", f"{s['mean_confidence']:.3f}"),
            ("errors", s["errors"]),
        ]
    for col, (label, value) in zip(st.columns(len(cells)), cells):
        col.metric(label, value)


def _crack_charts(res: results.Results) -> None:
    rates = pd.DataFrame({"image": res.ok.image, "masking rate (%)": 100 * res.ok.masking_rate}).dropna()
    st.subheader("Masking rate")
    if rates.empty:
        st.info("No processed images.")
        return
    x = alt.X("masking rate (%):Q", title="masking rate (%)")
    hist = (
        alt.Chart(rates)
        .mark_bar()
        .encode(
            alt.X("masking rate (%):Q", bin=alt.Bin(maxbins=30), title="masking rate (%)"),
            alt.Y("count():Q", title="images"),
        )
    )
    box = alt.Chart(rates).mark_boxplot(extent=1.5, size=40).encode(x, tooltip=["image"])
    left, right = st.columns([3, 2])
    left.altair_chart(hist.properties(height=260, title="Histogram"), width="stretch")
    right.altair_chart(box.properties(height=260, title="Boxplot (whiskers 1.5 IQR)"), width="stretch")


def _ocr_reads(res: results.Results) -> None:
    reads = results.ocr_reads(res)
    st.subheader("Reads")
    if reads.empty:
        st.info("No resistor was found.")
        return
    hist = (
        alt.Chart(reads)
        .mark_bar()
        .encode(
            alt.X("confidence:Q", bin=alt.Bin(maxbins=20, extent=[0, 1]), title="confidence"),
            alt.Y("count():Q", title="resistors"),
        )
    )
    left, right = st.columns([3, 2])
    left.dataframe(
        reads,
        hide_index=True,
        column_config={
            "confidence": st.column_config.ProgressColumn("confidence", min_value=0.0, max_value=1.0, format="%.3f"),
            "roi_score": st.column_config.NumberColumn("ROI score", format="%.3f"),
            "read_status": st.column_config.TextColumn("status", help="read | invalid | unreadable"),
            "valid": st.column_config.CheckboxColumn("valid marking"),
            "value_ohm": st.column_config.NumberColumn("value (ohm)", format="%g"),
            "code_kind": st.column_config.TextColumn("code"),
            "raw_text": st.column_config.TextColumn("raw text"),
            "characters": st.column_config.TextColumn("characters (label:score)"),
        },
    )
    right.altair_chart(hist.properties(height=260, title="Confidence"), width="stretch")


def _map(res: results.Results) -> None:
    points = results.map_points(res)
    if points is None:
        st.caption("No map: the table has no latitude/longitude columns (join an asset register with `--assets`).")
        return
    st.subheader("Map")
    weight = "masking rate (%)" if res.kind == "crack" else "confidence"
    lat, lon, zoom = results.map_view(points, height_px=MAP_HEIGHT)
    view = pdk.ViewState(latitude=lat, longitude=lon, zoom=zoom)
    heat = pdk.Layer(
        "HeatmapLayer",
        data=points,
        get_position=["lon", "lat"],
        get_weight="weight",
        radius_pixels=45,
        aggregation=pdk.types.String("SUM"),
    )
    dots = pdk.Layer(
        "ScatterplotLayer",
        data=points,
        get_position=["lon", "lat"],
        get_radius=3,
        radius_units=pdk.types.String("pixels"),
        get_fill_color=[60, 60, 60, 200],
        pickable=True,
    )
    # map_provider=None: no basemap, so nothing is fetched from a tile server (no internet needed; Streamlit
    # would fill in a Carto basemap for map_style=None). Strings are pydeck expressions unless wrapped in String.
    deck = pdk.Deck(
        layers=[heat, dots],
        initial_view_state=view,
        map_provider=None,
        tooltip={"text": "{image}\n" + weight + ": {weight}"},
    )
    st.pydeck_chart(deck, height=MAP_HEIGHT)
    st.caption(f"{len(points)} images with coordinates; heat = {weight}; no base map (offline).")


def _overlays(res: results.Results) -> None:
    ok = res.ok.drop_duplicates("image")
    if res.kind == "crack":
        ok = ok.sort_values("masking_rate", ascending=False)
        labels = {img: f"{img} · {100 * r:.2f} %" for img, r in zip(ok.image, ok.masking_rate)}
    else:
        reads = res.ok.groupby("image").text.agg(lambda t: " / ".join(x for x in t if x) or "(no resistor)")
        labels = {img: f"{img} · {reads.get(img, '')}" for img in ok.image}
    if not labels:
        return
    st.subheader("Overlays")
    image = st.selectbox(
        "Image",
        list(labels),
        format_func=labels.get,
        key=f"overlay-{res.folder}",
        help="Crack results are listed from the highest masking rate down.",
    )
    path = results.overlay(res, image)
    if path is None:
        st.info(f"No overlay for {image} (the run used --no-overlays, or it is missing).")
    elif path.suffix == ".mp4":
        st.video(str(path))
        st.caption(f"{path.name}: the annotated video holding {image}")
    else:
        st.image(str(path), caption=labels[image])
        if res.kind == "ocr":
            st.dataframe(results.ocr_reads(res).query("image == @image"), hide_index=True)


# -- Pipeline -------------------------------------------------------------------------------------


def _status_color(value) -> str:
    return {
        "FINISHED": "color: #1b7f3b",
        "FAILED": "color: #c62828; font-weight: 600",
        "KILLED": "color: #c62828",
        "RUNNING": "color: #b26a00",
        status.NEVER: "color: #888888",
    }.get(value, "")


def _rows_height(n: int) -> int:
    """A dataframe height that shows ``n`` rows without scrolling (35 px a row, plus the header)."""
    return 38 + 35 * max(n, 1)


def pipeline_page(cfg: settings.Settings) -> None:
    st.header("Pipeline")
    if not _store_ok(cfg):
        return
    from mlflow.exceptions import MlflowException

    try:
        stages, pipeline = stage_runs(cfg.tracking_uri, cfg.experiment, tuple(status.dvc_stages(cfg.dvc_yaml)))
    except (MlflowException, OSError) as exc:
        return _mlflow_error(exc, cfg)
    counts = stages.status.value_counts()
    cells = [
        ("stages", len(stages)),
        ("finished", int(counts.get("FINISHED", 0))),
        ("failed", int(counts.get("FAILED", 0))),
        ("running", int(counts.get("RUNNING", 0))),
        ("never run", int(counts.get(status.NEVER, 0))),
    ]
    for col, (label, value) in zip(st.columns(len(cells)), cells):
        col.metric(label, value)
    for row in stages[stages.status.isin(["FAILED", "KILLED"])].itertuples():
        st.error(
            f"Last run of `{row.stage}` {row.status.lower()} (started {row.started:%Y-%m-%d %H:%M} UTC, run "
            f"{row.run_id})."
        )
    st.markdown(f"**Last run of each stage** (experiment `{cfg.experiment}`, stages in `dvc.yaml` order)")
    columns = {
        "started": st.column_config.DatetimeColumn("started (UTC)", format="YYYY-MM-DD HH:mm"),
        "duration_s": st.column_config.NumberColumn("duration (s)", format="%.1f"),
        "git_commit": st.column_config.TextColumn("git commit"),
        "metrics": st.column_config.TextColumn("metrics", width="large"),
    }
    st.dataframe(
        stages.style.map(_status_color, subset=["status"]),
        hide_index=True,
        height=_rows_height(len(stages)),
        column_config=columns,
    )
    if pipeline:
        wall = f", wall time {pipeline['wall_time_s']:.0f} s" if pipeline.get("wall_time_s") else ""
        st.markdown(
            f"**Newest pipeline run**: {pipeline['name']} ({pipeline['status']}{wall}), started "
            f"{pipeline['started']:%Y-%m-%d %H:%M} UTC, commit `{status.short_commit(pipeline['git_commit'])}`, "
            f"stages: {', '.join(pipeline['stages']) or 'none yet'}."
        )
        st.caption(
            "A pipeline run opened by a stage started on its own (plain `dvc repro`) stays RUNNING: it only "
            "groups the stage runs of one commit. `python -m flows.pipeline` closes its run when it ends."
        )


# -- page -----------------------------------------------------------------------------------------


def main() -> None:
    st.set_page_config(page_title="Inspection dashboard", layout="wide")
    cfg = settings.load(ROOT)
    settings.apply_http_defaults()
    st.sidebar.title("Inspection dashboard")
    folder, found = pick_results(cfg)
    st.sidebar.caption(f"MLflow: `{cfg.tracking_uri}`")
    if st.sidebar.button("Refresh", help=f"MLflow answers are reused for {TTL} s; this reads them again."):
        st.cache_data.clear()
    models, res, pipe = st.tabs(list(TABS), key="tab", bind="query-params")
    if models.open:
        with models:
            models_page(cfg)
    if res.open:
        with res:
            results_page(folder, found)
    if pipe.open:
        with pipe:
            pipeline_page(cfg)


main()

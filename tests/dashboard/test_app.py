"""The Streamlit page itself, run by Streamlit's ``AppTest`` (in-process, no browser) against the real
store and result folders of conftest: each tab shows what it must, and bad inputs become messages."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from components.dashboard import results, settings
from tests.helpers import REPO
from tests.helpers.dashboard import CRACK_REASON, N_CRACK

APP = str(REPO / "dashboard/app.py")


@pytest.fixture
def app(store, results_root, monkeypatch):
    """The app pointed at the test store and ``results_root``; call it with the tab to open."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    monkeypatch.setenv("DASHBOARD_RESULTS", str(results_root))
    for key, value in settings.HTTP_DEFAULTS.items():  # what the app sets, undone after the test
        monkeypatch.setenv(key, value)

    def run(tab: str | None = None, **query: str) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=120)
        at.query_params.update({"tab": tab, **query} if tab else query)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return run


def _elements(at: AppTest, kind: str) -> list:
    return [n for n in at.main if getattr(n, "type", None) == kind]


def _tables(at: AppTest, *columns: str) -> list:
    """The dataframes shown (as pandas) that have these columns."""
    return [d.value for d in at.dataframe if set(columns) <= set(d.value.columns)]


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_models_tab_shows_champions_metrics_and_gate_failures(app):
    at = app()  # Models is the first tab
    assert [s.value for s in at.subheader] == ["resistor-ocr · champion v1", "road-crack-segmenter · no champion"]
    assert at.selectbox(key="version-resistor-ocr").value == 1, "the champion is shown first, not the newest v2"
    assert [s.value for s in at.success] == ["v1 passed all 2 gates and is the champion."]
    assert [e.value for e in at.error] == [f"v1 failed the gates: {CRACK_REASON}"]
    shown = [(m.label, m.value) for m in at.metric]
    assert ("string_accuracy", "0.491") in shown and ("model_bytes", "1.60 MB") in shown and ("dice", "0.686") in shown
    (summary,) = _tables(at, "model", "champion")
    assert summary.model.tolist() == ["resistor-ocr", "road-crack-segmenter"] and summary.champion.tolist() == [
        "v1",
        "none",
    ]
    ocr_gates, crack_gates = _tables(at, "check", "result")
    assert crack_gates.iloc[0].tolist() == ["quantization.dice", "FAIL", CRACK_REASON] and set(ocr_gates.result) == {
        "pass"
    }

    at.selectbox(key="version-resistor-ocr").set_value(2).run()
    assert at.error[0].value.startswith("v2 failed the gates: string_accuracy 0.4100 < champion v1")


def test_results_tab_for_a_crack_run_with_coordinates(app, results_root):
    at = app("Results", run="crack")
    assert _metrics(at)["images"] == str(N_CRACK + 1) and _metrics(at)["errors"] == "1"
    assert [s.value for s in at.subheader] == ["Masking rate", "Map", "Overlays", "Table"]
    assert len(_elements(at, "vega_lite_chart")) == 2, "histogram and boxplot"
    (deck,) = _elements(at, "deck_gl_json_chart")
    spec = deck.proto.json
    assert "HeatmapLayer" in spec and "ScatterplotLayer" in spec and "__MAP_STYLE__" in spec, "heat layer, no base map"
    picked = at.selectbox(key=f"overlay-{Path(at.sidebar.text_input(key='results').value) / 'crack'}").value
    table = results.load(results_root / "crack").table
    assert picked == table.image[table.masking_rate.idxmax()], "the highest masking rate first"
    (image,) = at.image
    assert image.captions[0].startswith(picked) and image.value[0], "the overlay of the selected image"
    assert "road/broken.png" in at.expander[0].children[0].value.image.tolist()


def test_results_tab_for_an_ocr_run_has_reads_and_no_map(app):
    at = app("Results", run="ocr")
    assert _metrics(at)["resistors read"] == "3" and _metrics(at)["frames without resistor"] == "1"
    assert not _elements(at, "deck_gl_json_chart")
    assert any("no latitude/longitude columns" in c.value for c in at.caption)
    reads, _ = _tables(at, "text", "confidence", "characters")  # all reads, then those of the overlay's image
    assert reads.text.tolist() == ["4R7", "103", "01C"] and reads.confidence.tolist() == [0.91, 0.62, 0.45]


def test_results_tab_reports_a_corrupt_table_and_an_empty_folder(app, tmp_path, results_root):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "results.parquet").write_bytes((results_root / "ocr/results.parquet").read_bytes()[:200])
    at = app("Results", results=str(bad))
    assert len(at.error) == 1 and f"{bad}/results.parquet: cannot be read as parquet" in at.error[0].value
    at = app("Results", results=str(tmp_path / "empty"))
    assert "No results in" in at.info[0].value and "python -m flows.predict" in at.info[0].value


def test_pipeline_tab_shows_the_last_run_of_each_stage(app):
    at = app("Pipeline")
    (table,) = _tables(at, "stage", "status")
    table = table.set_index("stage")
    assert table.loc["validate_crack", "status"] == "FAILED" and table.loc["register_ocr", "status"] == "FINISHED"
    assert _metrics(at)["failed"] == "1" and int(_metrics(at)["never run"]) == len(table) - 5
    assert at.error[0].value.startswith("Last run of `validate_crack` failed")


def test_a_missing_store_is_reported_not_created(app, monkeypatch, tmp_path):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/none.db")
    for tab in (None, "Pipeline"):
        at = app(tab)
        assert f"No MLflow store at `{tmp_path}/none.db`" in at.warning[0].value
    assert not (tmp_path / "none.db").exists()


def test_an_unreachable_tracking_server_is_an_error_message(app, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # nothing listens on the discard port
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # the app's 1 retry costs seconds
    for tab in (None, "Pipeline"):
        at = app(tab)
        assert at.error[0].value.startswith("MLflow at `http://127.0.0.1:9` did not answer")

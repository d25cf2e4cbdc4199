"""bench/report.py writes its generated block into the docs page (docs/benchmarks.md), not into the
README: the block between the markers is replaced, the hand-written text around it is kept, and the
plot is copied beside the page so the docs site can show it. Rendering and plotting are stubbed."""

from __future__ import annotations

from pathlib import Path

from bench import common, report

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_update_docs_rewrites_only_the_generated_block(tmp_path, monkeypatch):
    def fake_plot(results, path):
        path.write_bytes(b"PNG")
        return path

    monkeypatch.setattr(report, "plot", fake_plot)
    monkeypatch.setattr(report, "render", lambda results, level=2: f"TABLES at level {level}\n")
    page = tmp_path / "docs" / "benchmarks.md"
    page.parent.mkdir()
    page.write_text(
        f"# Benchmarks\n\nhow to run\n\n## Results\n\n{common.README_BEGIN}\nold\n{common.README_END}\n\nafter\n"
    )
    plot_copy = tmp_path / "docs" / "img" / "bench_scaling.png"

    out = report.write_report({}, tmp_path / "results", update_docs=True, page=page, plot_copy=plot_copy)

    text = page.read_text()
    assert out == tmp_path / "results" / "RESULTS.md" and "TABLES at level 2" in out.read_text()
    assert text.startswith("# Benchmarks\n\nhow to run\n\n## Results\n") and text.endswith("\n\nafter\n")
    assert "old" not in text and "TABLES at level 3" in text and "![scaling](img/bench_scaling.png)" in text
    assert "--update-docs" in text and plot_copy.read_bytes() == b"PNG"
    report.write_report({}, tmp_path / "results", update_docs=True, page=page, plot_copy=plot_copy)
    assert page.read_text() == text  # idempotent


def test_without_update_docs_the_page_is_untouched(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "plot", lambda results, path: None)
    monkeypatch.setattr(report, "render", lambda results, level=2: "T\n")
    page = tmp_path / "benchmarks.md"
    report.write_report({}, tmp_path / "results", page=page, plot_copy=tmp_path / "p.png")
    assert not page.exists() and not (tmp_path / "p.png").exists()

"""A self-contained HTML summary of one validation run.

GX data docs fetch their stylesheets and scripts from a CDN, so on an offline inspection PC they
render unstyled and their index stays empty. This page needs nothing but the file itself: status,
counts, every rule with its result, and every bad sample with its reasons, linking to the GX pages.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from components.data.validation import DatasetReport

MAX_ROWS = 1000

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:24px 0 8px}
table{border-collapse:collapse;width:100%} th,td{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4} .ok{color:#11772b;font-weight:600} .bad{color:#b3261e;font-weight:600}
.muted{color:#666} code{font-size:12px}
"""


def _status(report: DatasetReport, on_error: str) -> tuple[str, str]:
    if not report.bad and not report.failed_rules:
        return "passed", "ok"
    return ("failed" if on_error == "fail" else "quarantined"), "bad"


def render_report(
    dataset: str, report: DatasetReport, stats: dict, data_hash: str, on_error: str, docs_dir: Path
) -> str:
    """HTML text of the summary; links are relative to ``docs_dir`` where the page is written."""
    status, css = _status(report, on_error)
    split = stats.get("split", {})
    rows = []
    for o in report.outcomes:
        mark = '<span class="ok">pass</span>' if o.success else '<span class="bad">FAIL</span>'
        rows.append(
            f"<tr><td>{mark}</td><td>{escape(o.table)}</td><td>{escape(o.meaning)}</td>"
            f"<td><code>{escape(o.expectation)}</code></td><td>{o.unexpected} / {o.rows}</td></tr>"
        )
    bad_rows = [(n, r) for n, rs in sorted(report.bad.items()) for r in rs]
    bad_html = "".join(f"<tr><td>{escape(n)}</td><td>{escape(r)}</td></tr>" for n, r in bad_rows[:MAX_ROWS])
    more = (
        f'<p class="muted">{len(bad_rows) - MAX_ROWS} more in bad_samples.csv</p>' if len(bad_rows) > MAX_ROWS else ""
    )
    links = "".join(
        f'<li><a href="{escape(p.relative_to(docs_dir).as_posix())}">{escape(p.parent.parent.parent.name)}</a></li>'
        for p in sorted(docs_dir.glob("validations/*/*/*/*.html"))
    )
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Validation: {escape(dataset)}</title>
<style>{_STYLE}</style></head><body>
<h1>Validation of <code>{escape(dataset)}</code>: <span class="{css}">{status}</span></h1>
<p class="muted">DVC data hash <code>{escape(data_hash)}</code> · on_error: {escape(on_error)}</p>
<table><tr><th>samples</th><th>usable</th><th>bad</th><th>train</th><th>val</th><th>test</th></tr>
<tr><td>{stats.get("samples", 0)}</td><td>{stats.get("samples_ok", 0)}</td><td>{len(report.bad)}</td>
<td>{split.get("train", 0)}</td><td>{split.get("val", 0)}</td><td>{split.get("test", 0)}</td></tr></table>
<h2>Rules (Great Expectations)</h2>
<table><tr><th></th><th>table</th><th>rule</th><th>expectation</th><th>unexpected / rows</th></tr>{"".join(rows)}</table>
<h2>Bad samples ({len(report.bad)})</h2>
{"<table><tr><th>sample</th><th>reason</th></tr>" + bad_html + "</table>" if bad_rows else '<p class="ok">none</p>'}{more}
<h2>Great Expectations data docs</h2><ul><li><a href="index.html">index</a></li>{links}</ul>
</body></html>
"""

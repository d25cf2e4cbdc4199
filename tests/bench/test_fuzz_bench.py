"""bench/fuzz.py: per-property counts from Hypothesis, and a falsified property counted as a failure."""

from __future__ import annotations

import json
import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from bench.fuzz import run_property
from tests.helpers import REPO


@settings(max_examples=50, deadline=None, derandomize=True, database=None)
@given(st.integers(0, 1000))
def _falsified(n):
    assert n < 500


@settings(max_examples=30, deadline=None, derandomize=True, database=None)
@given(st.integers())
def _holds(n):
    assert isinstance(n, int)


def test_counts_examples_and_failures():
    ok = run_property(_holds)
    assert ok["examples"] == ok["valid"] == 30 and ok["distinct_failures"] == 0 and ok["error"] is None
    bad = run_property(_falsified)
    assert bad["distinct_failures"] == 1 and bad["failing"] >= 1 and "n=500" in bad["error"]


def test_cli_runs_the_properties_with_the_given_count(tmp_path):
    out = tmp_path / "fuzz.json"
    proc = subprocess.run(
        [sys.executable, "bench/fuzz.py", "--examples", "3", "-k", "decoder", "--out", str(out)],
        check=False,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "test_serving_decoder_returns_images_or_a_short_400" in proc.stdout
    assert "0 distinct failure(s)" in proc.stdout
    rows = json.loads(out.read_text())["properties"]
    assert {r["property"] for r in rows} == {
        "test_decoder_returns_rgb_or_a_named_error",
        "test_serving_decoder_returns_images_or_a_short_400",
    }
    assert all(r["examples"] == 3 for r in rows)

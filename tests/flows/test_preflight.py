"""A bad params.yaml stops a stage command before Prefect, MLflow or a framework is imported (issue #22, item 9)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.helpers import REPO

HEAVY = ("prefect", "mlflow", "torch", "tensorflow", "tf_keras")


def _run(args: list[str], cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )


@pytest.fixture
def bad_project(tmp_path):
    text = (REPO / "params.yaml").read_text()
    (tmp_path / "params.yaml").write_text(text.replace("\n  seed: 42", "\n  seed: 42\n  seed: 7", 1))
    return tmp_path


@pytest.mark.parametrize(
    "command",
    [
        ["flows.train_crack"],
        ["flows.train_roi", "--no-progress"],
        ["flows.prepare", "ocr"],
        ["flows.register", "crack"],
        ["flows.pipeline"],
    ],
)
def test_bad_params_stop_a_stage_command_first_with_the_check_message(bad_project, command):
    expected = _run(["-m", "components.config", "check"], bad_project)
    assert expected.returncode == 2 and "duplicate key 'seed'" in expected.stderr
    t0 = time.perf_counter()
    got = _run(["-X", "importtime", "-m", *command], bad_project)
    seconds = time.perf_counter() - t0
    imported = {
        line.split("|")[-1].strip().split(".")[0] for line in got.stderr.splitlines() if line.startswith("import time:")
    }
    message = [line for line in got.stderr.splitlines() if not line.startswith("import time:")]
    assert got.returncode == 2, got.stderr[-2000:]
    assert message == expected.stderr.splitlines()  # the same one line, no traceback
    assert not imported & set(HEAVY), imported & set(HEAVY)
    assert "components" in imported and seconds < 30  # a few seconds at most, even on a loaded machine


@pytest.mark.slow
def test_a_valid_params_file_lets_the_command_through(tmp_path):
    (tmp_path / "params.yaml").write_text((REPO / "params.yaml").read_text())
    got = _run(["-m", "flows.prepare", "nope"], tmp_path)  # params fine: the flow's own parser answers
    assert got.returncode == 2 and "invalid choice: 'nope'" in got.stderr

"""The stage lifecycle's command line: expected failures are one line and an exit code, not a traceback."""

from __future__ import annotations

import shutil

import pytest

from components.config import ParamsError
from flows.stage import Stage, command
from tests.helpers import REPO


class Refused(RuntimeError):
    pass


def _raise(exc: Exception):
    raise exc


def test_expected_failures_are_one_line_with_their_exit_code(capsys):
    main = command(
        "flows.x",
        "X flow.",
        lambda a: _raise(Refused(f"{a.model} said no")),
        choices=("model", ("a", "b")),
        failures={Refused: "x {model} failed"},
    )
    assert main(["b"]) == 1
    assert capsys.readouterr().err == "x b failed: b said no\n"
    bad = command("flows.x", "X flow.", lambda a: _raise(ParamsError(f"{a.params}: 1 invalid parameter(s)")))
    assert bad(["--params", "p.yaml"]) == 2
    assert capsys.readouterr().err == "p.yaml: 1 invalid parameter(s)\n"
    assert command("flows.x", "X flow.", lambda a: None, progress=True)(["--no-progress"]) == 0
    with pytest.raises(KeyError):  # a bug keeps its traceback
        command("flows.x", "X flow.", lambda a: _raise(KeyError("bug")))([])
    with pytest.raises(SystemExit):
        main(["c"])  # argparse: not a choice


def test_a_stage_reads_params_and_paths_under_its_root(tmp_path):
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    st = Stage.load("train_roi", root=tmp_path)
    assert st.root == tmp_path and st.path("data/ocr") == tmp_path / "data/ocr"
    assert st.params.mlflow.experiment == "inspection-pipeline"
    path = st.write_metrics({"a": {"b": 1.5}})
    assert path == tmp_path / "metrics/train_roi.json" and path.read_text() == '{\n  "a": {\n    "b": 1.5\n  }\n}\n'
    with pytest.raises(ParamsError, match="cannot be read"):
        Stage.load("train_roi", "other.yaml", root=tmp_path)

"""Imports without hazards: process-wide switches in one place, no sys.path edits, no imports from conftest
files, either framework first.

``components/__init__.py`` sets ``TF_USE_LEGACY_KERAS`` (and hides triton once TensorFlow is loaded:
see its docstring); the project is an installed (editable) package, so nothing edits ``sys.path``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("components", "flows", "dashboard", "bench", "tests")
SWITCH_HOME = REPO / "components" / "__init__.py"


def project_files() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py"))


def hazards(path: Path, name: str) -> list[str]:
    """``sys.path`` edits (also in code strings run as subprocesses) and the process-wide environment
    switches named outside their one home, as ``name:line: what``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ("insert", "append")
            and ast.unparse(node.value) == "sys.path"
        ):
            found.append(f"{name}:{node.lineno}: sys.path.{node.attr}")
        elif isinstance(node, ast.Constant) and node.value in ("TF_USE_LEGACY_KERAS", "GX_ANALYTICS_ENABLED"):
            if path != SWITCH_HOME:
                found.append(f"{name}:{node.lineno}: {node.value} set outside components/__init__.py")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "sys.path.insert" in node.value:
            found.append(f"{name}:{node.lineno}: sys.path.insert in a code string")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[-1] == "conftest":
            found.append(f"{name}:{node.lineno}: imports from a conftest file (shared helpers live in tests/helpers)")
    return found


def test_hazards_are_caught(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        'import os, sys\nsys.path.insert(0, ".")\nos.environ.setdefault("TF_USE_LEGACY_KERAS", "1")\n'
        "CODE = \"import sys; sys.path.insert(0, 'x')\"\nfrom tests.conftest import REPO\n"
    )
    assert sorted(hazards(bad, "bad.py")) == [
        "bad.py:2: sys.path.insert",
        "bad.py:3: TF_USE_LEGACY_KERAS set outside components/__init__.py",
        "bad.py:4: sys.path.insert in a code string",
        "bad.py:5: imports from a conftest file (shared helpers live in tests/helpers)",
    ]
    assert hazards(SWITCH_HOME, "components/__init__.py") == []


def test_no_sys_path_edits_and_one_home_for_the_switches():
    found = [h for p in project_files() if p != Path(__file__).resolve() for h in hazards(p, str(p.relative_to(REPO)))]
    assert not found, "\n".join(found)


def test_the_project_is_installed():
    """``uv sync`` installs the project editable, so its packages import from any folder."""
    code = "import bench.common, components, dashboard, flows; print(components.__file__)"
    out = subprocess.run([sys.executable, "-c", code], cwd="/", capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout.strip()) == SWITCH_HOME


@pytest.mark.slow
@pytest.mark.parametrize("first", ["tensorflow", "torch"])
def test_tensorflow_and_torch_import_in_either_order(first):
    """TensorFlow before torchvision.ops used to segfault (two copies of LLVM; see components/__init__.py).

    The TensorFlow side imports the QAT module, which must not load Keras 3 on the way (tfmot would,
    for nothing, 6-10 s a process; see ``components.crack.qat._keras3_hidden``) and must leave it
    importable.
    """
    tf_side = "import components.crack.qat; import tensorflow as tf; keras = tf.keras.__name__"
    torch_side = "import components.ocr.model; import torchvision.ops; import torch._dynamo"
    body = f"{tf_side}\n{torch_side}" if first == "tensorflow" else f"{torch_side}\n{tf_side}"
    check = "import importlib.util, sys; print('keras' in sys.modules, importlib.util.find_spec('keras') is not None)"
    code = f"{body}\n{check}\nprint(keras)"
    out = subprocess.run([sys.executable, "-c", code], cwd="/", capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, f"rc={out.returncode}\n{out.stderr[-2000:]}"
    *_, keras3, keras = out.stdout.strip().splitlines()
    assert keras3 == "False True"  # Keras 3 not loaded, still findable
    assert keras.startswith("tf_keras")  # the tf-keras switch took effect

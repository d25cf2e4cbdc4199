"""dvc.yaml's ``deps`` cannot drift from the code: each stage depends on every project file it imports.

DVC reruns a stage only when one of its ``deps`` changed, so a module the stage imports but does
not list would let an edit go unnoticed (a stale model with fresh code). For each stage, the flow
module named by ``cmd`` (``python -m flows.<name>``) is parsed (``ast``, nothing is imported) and
its import closure over the project's own packages (``components/``, ``flows/``) is followed: every
``import``/``from ... import`` anywhere in a file, function-level ones included (they run too), plus
the ``__init__.py`` of each package on the way when it holds code (a docstring-only one cannot
change what runs). Each file of the closure must be a dep of the stage, or lie in a folder that is;
and a project ``.py`` file among the deps must be in the closure (a stale dep reruns the stage for nothing).

The second half checks that the paths the flows hard-code (``Path("data/crack")``, ``MODELS /
"float.keras"``) are the ones dvc.yaml declares: each is a dep/out/metric/plot of some stage or a
folder holding one; ``.`` (the project root) and ``.cache/`` (resume state, deliberately outside DVC)
are exempt.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path, PurePosixPath

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PROJECT_PACKAGES = ("components", "flows")
CMD = re.compile(r"^python3? -m ((?:flows)\.[\w.]+)")


def module_file(root: Path, dotted: str) -> Path | None:
    """The file of a project module (``a/b.py`` or ``a/b/__init__.py``), None when it is not one."""
    if dotted.split(".")[0] not in PROJECT_PACKAGES:
        return None
    base = root.joinpath(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def has_code(init: Path) -> bool:
    """Whether a package ``__init__.py`` does more than hold a docstring."""
    body = ast.parse(init.read_text()).body
    return any(not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)) for n in body)


def _package_of(root: Path, path: Path) -> list[str]:
    """The package a file belongs to, as parts (a package's ``__init__.py`` belongs to the package itself)."""
    return list(path.relative_to(root).parent.parts)


def imported_modules(root: Path, path: Path) -> set[str]:
    """Dotted names a file imports (absolute and resolved relative imports; ``from m import x`` gives
    ``m`` and ``m.x``, since ``x`` may be a submodule)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = _package_of(root, path)
                base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def import_closure(root: Path, start: Path) -> set[Path]:
    """Every project file that running ``start`` imports, ``start`` included."""
    seen: set[Path] = set()
    todo = [start]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for dotted in imported_modules(root, path):
            parts = dotted.split(".")
            for i in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__ and a/b/__init__ first
                found = module_file(root, ".".join(parts[:i]))
                if found is not None and (found.name != "__init__.py" or has_code(found)):
                    todo.append(found)
    return seen


def stage_module(stage: dict) -> str | None:
    match = CMD.match(str(stage.get("cmd", "")).strip())
    return match.group(1) if match else None


def missing_deps(root: Path, name: str, stage: dict) -> list[str]:
    """Files stage ``name`` imports that its ``deps`` do not cover (a folder dep covers its files)."""
    module = stage_module(stage)
    if module is None:
        return []
    start = module_file(root, module)
    if start is None:
        raise FileNotFoundError(f"dvc.yaml stage {name}: cmd runs {module}, which has no file under {root}")
    deps = {PurePosixPath(str(d)) for d in stage.get("deps", [])}
    missing = []
    for path in sorted(import_closure(root, start)):
        rel = PurePosixPath(path.relative_to(root).as_posix())
        if not any(rel == d or d in rel.parents for d in deps):
            missing.append(str(rel))
    return missing


def stale_deps(root: Path, stage: dict) -> list[str]:
    """Python files of the project among a stage's deps that it does not import (they rerun it for nothing)."""
    module = stage_module(stage)
    closure = {p.relative_to(root).as_posix() for p in import_closure(root, module_file(root, module))}
    return [
        str(d)
        for d in stage.get("deps", [])
        if str(d).endswith(".py") and str(d).split("/")[0] in PROJECT_PACKAGES and str(d) not in closure
    ]


def stages(root: Path = REPO) -> dict[str, dict]:
    return yaml.safe_load((root / "dvc.yaml").read_text())["stages"]


def dvc_paths(root: Path = REPO) -> set[str]:
    """Every path dvc.yaml names: deps, outs, metrics and plots of all stages."""
    out: set[str] = set()
    for stage in stages(root).values():
        for key in ("deps", "outs", "metrics", "plots"):
            for entry in stage.get(key, []) or []:
                out.update(entry if isinstance(entry, dict) else [entry])
    return {PurePosixPath(p).as_posix() for p in out}


def _path_value(node: ast.AST, env: dict[str, str]) -> str | None:
    if (
        isinstance(node, ast.Call)
        and ast.unparse(node.func) in ("Path", "pathlib.Path")
        and len(node.args) == 1
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return PurePosixPath(node.args[0].value).as_posix()
    if isinstance(node, ast.Name):
        return env.get(node.id)
    if (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Div)
        and isinstance(node.right, ast.Constant)
        and isinstance(node.right.value, str)
    ):
        left = _path_value(node.left, env)
        return None if left is None else (PurePosixPath(left) / node.right.value).as_posix()
    return None


def hard_coded_paths(path: Path) -> dict[str, int]:
    """Relative paths a flow module spells: each ``Path("literal")`` call, and module-level constants
    built from one with ``/ "literal"`` (``FLOAT_MODEL = MODELS / "float.keras"``), with their lines."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: dict[str, int] = {}
    for node in ast.walk(tree):
        value = _path_value(node, {}) if isinstance(node, ast.Call) else None
        if value is not None:
            found.setdefault(value, node.lineno)
    env: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            value = _path_value(node.value, env)
            if value is not None:
                env.update({t.id: value for t in targets if isinstance(t, ast.Name)})
                found.setdefault(value, node.lineno)
    return {p: line for p, line in found.items() if not PurePosixPath(p).is_absolute()}


def undeclared_paths(root: Path = REPO) -> list[str]:
    declared = dvc_paths(root)
    bad = []
    for path in sorted((root / "flows").glob("*.py")):
        for p, line in hard_coded_paths(path).items():
            if p == "." or p.split("/")[0] == ".cache":  # the project root; resume state outside DVC
                continue
            if p not in declared and not any(d.startswith(p + "/") for d in declared):
                bad.append(f"{path.relative_to(root)}:{line}: {p} is neither a path of dvc.yaml nor a folder of one")
    return bad


# ---------------------------------------------------------------------------------------- tests ---


@pytest.mark.parametrize("name", sorted(stages()))
def test_stage_deps_cover_its_import_closure(name):
    stage = stages()[name]
    missing = missing_deps(REPO, name, stage)
    assert not missing, (
        f"dvc.yaml stage {name} ({stage['cmd']}) imports files that are not in its deps "
        f"(an edit to them would not rerun it): {', '.join(missing)}"
    )


@pytest.mark.parametrize("name", sorted(stages()))
def test_stage_deps_list_no_module_it_does_not_import(name):
    stale = stale_deps(REPO, stages()[name])
    assert not stale, f"dvc.yaml stage {name} lists project files it does not import: {', '.join(stale)}"


def test_every_stage_runs_a_flow_module():
    """The closure check needs each ``cmd`` to name its flow module; a new form of cmd must be taught to it."""
    odd = {name: s["cmd"] for name, s in stages().items() if stage_module(s) is None}
    assert not odd, f"dvc.yaml stages whose cmd is not `python -m flows.<module> ...`: {odd}"


def test_flow_paths_are_the_ones_dvc_yaml_declares():
    bad = undeclared_paths()
    assert not bad, "\n".join(bad)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_a_missing_dep_is_named(tmp_path):
    """A tiny project: the flow imports a component directly, one lazily in a function, one relatively."""
    _write(tmp_path / "flows/__init__.py", '"""Docstring only: not a dependency."""\n')
    _write(tmp_path / "components/__init__.py", "import os\n")  # holds code: a dependency
    _write(tmp_path / "components/sub/__init__.py", "")
    _write(tmp_path / "components/sub/a.py", "from . import b\n")
    _write(tmp_path / "components/sub/b.py", "X = 1\n")
    _write(tmp_path / "components/lazy.py", "import numpy\n")
    _write(tmp_path / "flows/job.py", "from components.sub import a\n\ndef run():\n    import components.lazy\n")
    stage = {"cmd": "python -m flows.job ocr", "deps": ["flows/job.py", "components/sub/a.py"]}
    assert missing_deps(tmp_path, "job", stage) == [
        "components/__init__.py",
        "components/lazy.py",
        "components/sub/b.py",
    ]
    stage["deps"] += ["components/__init__.py", "components/lazy.py", "components/sub"]  # a folder covers b.py
    assert missing_deps(tmp_path, "job", stage) == []
    assert stale_deps(tmp_path, stage) == []
    stage["deps"].append("components/sub/b.py")  # imported (covered twice): not stale
    stage["deps"].append("flows/other.py")
    assert stale_deps(tmp_path, stage) == ["flows/other.py"]
    with pytest.raises(FileNotFoundError, match="stage gone: cmd runs flows.nothing"):
        missing_deps(tmp_path, "gone", {"cmd": "python -m flows.nothing"})


def test_a_path_dvc_yaml_does_not_declare_is_named(tmp_path):
    _write(
        tmp_path / "dvc.yaml",
        yaml.safe_dump(
            {
                "stages": {
                    "s": {
                        "cmd": "python -m flows.job",
                        "deps": ["data/in"],
                        "outs": ["models/m/float.keras"],
                        "metrics": [{"metrics/s.json": {"cache": False}}],
                    }
                }
            }
        ),
    )
    _write(
        tmp_path / "flows/job.py",
        'from pathlib import Path\nMODELS = Path("models/m")\n'
        'FLOAT = MODELS / "float.keras"\nQAT = MODELS / "qat.h5"\n'
        'STATE = Path(".cache/m")\nIN = {"a": Path("data/in")}\nM = Path("metrics")\n'
        'def f(root=Path(".")): ...\n',
    )
    assert undeclared_paths(tmp_path) == [
        "flows/job.py:4: models/m/qat.h5 is neither a path of dvc.yaml nor a folder of one"
    ]


def test_python_bytecode_is_not_part_of_a_folder_dependency(tmp_path):
    """A folder dep (``components/data/importers``) hashes its sources only: with ``__pycache__`` counted,
    merely importing the package in one checkout and not in another changed the hash in dvc.lock."""
    import shutil
    import subprocess
    import sys

    from dvc.repo import Repo

    subprocess.run([sys.executable, "-m", "dvc", "init", "--no-scm", "-q"], cwd=tmp_path, check=True)
    shutil.copy(REPO / ".dvcignore", tmp_path / ".dvcignore")
    _write(tmp_path / "pkg/mod.py", "X = 1\n")
    _write(tmp_path / "pkg/__pycache__/mod.cpython-311.pyc", "bytecode")
    _write(tmp_path / "pkg/sub/stray.pyc", "bytecode")
    with Repo(str(tmp_path)) as repo:
        seen = sorted(
            str(PurePosixPath(Path(root).relative_to(tmp_path)) / name)
            for root, _, files in repo.dvcignore.walk(repo.fs, str(tmp_path / "pkg"))
            for name in files
        )
    assert seen == ["pkg/mod.py"]

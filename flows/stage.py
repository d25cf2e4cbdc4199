"""One lifecycle for every stage flow (docs/architecture.md#stage-lifecycle).

A flow builds a :class:`Stage` (its name, checked params, the project root), does what must come
before tracking (devices, seeds, inputs a failure should stop early), then works inside
``with stage.run(...)``: the MLflow stage run nested under the pipeline run, tagged with the Prefect
flow run and the DVC hash of its data. It ends with :meth:`Stage.finish` (metrics to MLflow and to
``metrics/<stage>.json`` for DVC). ``main`` comes from :func:`command`: the parser every stage
shares (:func:`cli`), and expected failures as one line and an exit code (:func:`run_cli`).

Every path a flow uses is relative to the project root (``Stage.path``), which defaults to the
working directory, so a test runs a flow on a scratch project by passing ``root``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import mlflow
from prefect import get_run_logger

from components import tracking
from components.config import PARAMS_FILE, Params, ParamsError, load_params
from flows.common import flat, tag_prefect_run, write_metrics


def param_dict(values, prefix: str = "") -> dict[str, str]:
    """Every leaf of a params sub-model (or dict) as ``a.b`` -> value, strings and lists included (for
    mlflow.log_params; ``flat`` keeps numbers only, as metrics need)."""
    out: dict[str, str] = {}
    for k, v in (values.model_dump() if hasattr(values, "model_dump") else values).items():
        if isinstance(v, dict):
            out.update(param_dict(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = str(list(v)) if isinstance(v, tuple) else str(v)
    return out


@dataclass
class Stage:
    """One run of one DVC stage: its name, params and project root; see the module docstring."""

    name: str
    params: Params
    root: Path
    data_hash: str | None = field(default=None, init=False)  # of ``run(data=...)``, once the run is open

    @classmethod
    def load(cls, name: str, params_file: str | Path = PARAMS_FILE, root: str | Path | None = None) -> Stage:
        """The stage ``name`` of the project at ``root`` (default: cwd) with its checked params
        (``params_file``, relative to ``root``)."""
        if root is None:  # as given: errors name the file as the command line did
            return cls(name, load_params(params_file), Path.cwd())
        base = Path(root).absolute()
        return cls(name, load_params(base / params_file), base)

    def path(self, relative: str | Path) -> Path:
        """A project path (as dvc.yaml spells it) under this stage's root."""
        return self.root / relative

    @property
    def log(self):
        return get_run_logger()

    @contextmanager
    def run(self, data: str | Path | None = None, tags: dict | None = None) -> Iterator[Stage]:
        """The MLflow stage run (nested under the pipeline run), cross-referenced with the Prefect flow
        run; ``data``'s DVC hash is tagged ``dvc_data_hash`` (and kept in ``data_hash``), then ``tags``."""
        m = self.params.mlflow
        with tracking.stage_run(self.name, m.tracking_uri, m.experiment, root=self.root):
            tag_prefect_run()
            if data is not None:
                self.data_hash = self.dvc_hash(data)
                mlflow.set_tag("dvc_data_hash", self.data_hash)
            if tags:
                self.set_tags(tags)
            yield self

    def dvc_hash(self, relative: str | Path) -> str:
        """The md5 DVC records for a project path (as in dvc.lock)."""
        return tracking.dvc_hash(self.path(relative))

    def git_commit(self) -> str:
        return tracking.git_commit(self.root)

    def log_params(self, values: dict) -> None:
        mlflow.log_params(values)

    def set_tags(self, tags: dict) -> None:
        mlflow.set_tags(tags)

    def log_artifact(self, relative: str | Path, artifact_path: str | None = None) -> None:
        mlflow.log_artifact(str(self.path(relative)), artifact_path=artifact_path)

    def log_artifacts(self, relative: str | Path, artifact_path: str | None = None) -> None:
        mlflow.log_artifacts(str(self.path(relative)), artifact_path=artifact_path)

    def write_metrics(self, metrics: dict, name: str | None = None) -> Path:
        """``metrics/<stage>.json`` for DVC (flat or one level of nesting, docs/architecture.md#metrics)."""
        return write_metrics(name or self.name, metrics, self.root)

    def finish(self, metrics: dict) -> dict:
        """Log the numeric leaves of ``metrics`` to the stage run and write its metrics file."""
        mlflow.log_metrics(flat(metrics))
        self.write_metrics(metrics)
        return metrics


def command(
    module: str,
    doc: str,
    call: Callable[[argparse.Namespace], object],
    *,
    choices: tuple[str, Iterable[str]] | None = None,
    progress: bool = False,
    options: Callable[[argparse.ArgumentParser], None] | None = None,
    failures: dict[type[Exception], str] | None = None,
) -> Callable[[list[str] | None], int]:
    """A stage's ``main(argv) -> exit code``: parse with :func:`cli` (plus ``options``), then
    ``call(args)`` under :func:`run_cli`; a ``failures`` prefix may name arguments (``{model}``)."""

    def main(argv: list[str] | None = None) -> int:
        parser = cli(module, doc, choices, progress)
        if options is not None:
            options(parser)
        args = parser.parse_args(argv)
        return run_cli(lambda: call(args), {kind: text.format(**vars(args)) for kind, text in (failures or {}).items()})

    return main


def cli(
    module: str, doc: str, choices: tuple[str, Iterable[str]] | None = None, progress: bool = False
) -> argparse.ArgumentParser:
    """The parser every stage command shares: ``python -m <module> [CHOICE] [--params FILE] [--no-progress]``."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=doc.splitlines()[0])
    if choices is not None:
        parser.add_argument(choices[0], choices=sorted(choices[1]))
    parser.add_argument("--params", default=str(PARAMS_FILE))
    if progress:
        parser.add_argument("--no-progress", action="store_true", help="no progress bars (logs only)")
    return parser


def run_cli(call: Callable[[], object], failures: dict[type[Exception], str] | None = None) -> int:
    """Run a stage command: 0 when done; an invalid params file (2) or a failure listed in ``failures``
    (exception type -> message prefix, 1) is one message on stderr, not a traceback."""
    failures = failures or {}
    try:
        call()
    except ParamsError as exc:
        print(exc, file=sys.stderr)
        return 2
    except tuple(failures) as exc:
        prefix = next(text for kind, text in failures.items() if isinstance(exc, kind))
        print(f"{prefix}: {exc}", file=sys.stderr)
        return 1
    return 0

"""Which model a batch run uses: a registry URI or a local export folder, as an export folder.

* ``models:/<name>@<alias>`` (``models:/resistor-ocr@champion``) or ``models:/<name>/<version>``:
  the alias is resolved to its version number *first*, then exactly that version is downloaded,
  so an alias that moves during the run cannot mix two models, and every row records
  ``models:/<name>/<version>``. The registered pyfunc model ships its export folder as the artifact
  ``artifacts/export``; the download lives in a temporary folder for the duration of the run.
* a local folder: an export folder (``models/export/ocr``) or a downloaded MLflow model holding
  ``artifacts/export``; rows record its absolute path.

The tracking URI is ``MLFLOW_TRACKING_URI`` when set, else ``mlflow.tracking_uri`` of ``params.yaml``
in the working directory, else the project default ``sqlite:///mlruns/mlflow.db`` (as
``components.tracking.configure``). A SQLite store that does not exist is an error here rather
than a new empty store.

The export folder must be of the requested kind (``ocr_meta.json`` or ``crack_meta.json``), so
``ocr`` with a crack model fails before any image is read.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from components.predict import PredictError

META_FILES = {"ocr": "ocr_meta.json", "crack": "crack_meta.json"}
DEFAULT_TRACKING_URI = "sqlite:///mlruns/mlflow.db"
_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/@]+)|/(?P<version>\d+))/?$")


@dataclass(frozen=True)
class ResolvedModel:
    export_dir: Path
    label: str  # recorded in every row: models:/<name>/<version> or the folder's absolute path


def tracking_uri() -> str:
    from components.tracking import resolve_uri

    uri = DEFAULT_TRACKING_URI
    if not os.environ.get("MLFLOW_TRACKING_URI") and Path("params.yaml").is_file():
        from components.config import ParamsError, load_params

        with suppress(ParamsError):
            uri = load_params().mlflow.tracking_uri
    return resolve_uri(uri)


def export_folder(path: Path, kind: str, what: str) -> Path:
    """``path`` or its ``artifacts/export`` if that holds the kind's metadata; else PredictError."""
    candidates = (path, path / "artifacts" / "export")
    for candidate in candidates:
        if (candidate / META_FILES[kind]).is_file():
            return candidate
    other = next((k for k in META_FILES if k != kind and any((c / META_FILES[k]).is_file() for c in candidates)), None)
    hint = f": it is a {other} export" if other else ""
    raise PredictError(
        f"{what}: not {'an OCR' if kind == 'ocr' else 'a crack'} export "
        f"(no {META_FILES[kind]} in it or in its artifacts/export){hint}"
    )


@contextmanager
def resolve_model(spec: str, kind: str) -> Iterator[ResolvedModel]:
    """The export folder behind ``spec`` for the duration of the block (downloads are removed after)."""
    if kind not in META_FILES:
        raise PredictError(f"unknown model kind {kind!r}; expected one of {sorted(META_FILES)}")
    if not spec.startswith("models:"):
        path = Path(spec)
        if not path.is_dir():
            raise PredictError(
                f"model {spec}: no such folder (expected models:/<name>@<alias>, "
                f"models:/<name>/<version> or an export folder)"
            )
        yield ResolvedModel(export_folder(path, kind, f"model {spec}"), str(path.resolve()))
        return
    m = _URI.match(spec)
    if not m:
        raise PredictError(f"model {spec}: expected models:/<name>@<alias> or models:/<name>/<version>")
    name, version = registry_version(m["name"], m["alias"], m["version"], spec)
    label = f"models:/{name}/{version}"
    with tempfile.TemporaryDirectory(prefix="predict-model-") as tmp:
        local = download_export(name, version, Path(tmp), spec)
        what = f"model {spec}" + (f" ({label})" if label != spec else "")
        yield ResolvedModel(export_folder(local, kind, what), label)


def download_export(name: str, version: str, dst: Path, spec: str) -> Path:
    """The version's files into ``dst``: only its ``artifacts/export`` folder when the store lays the
    model out as ``log_model`` does (the model also carries a copy of the code), else all of it.
    The version's own artifact location is downloaded, not ``models:/...``: that would look the
    version up again through MLflow's process-wide default registry, not the URI given here."""
    import mlflow

    uri = tracking_uri()
    root = (
        mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
        .get_model_version_download_uri(name, version)
        .rstrip("/")
    )
    error = ""
    for source, sub in ((f"{root}/artifacts/export", "export"), (root, "model")):
        try:
            local = Path(
                mlflow.artifacts.download_artifacts(
                    artifact_uri=source, dst_path=str(dst / sub), tracking_uri=uri, registry_uri=uri
                )
            )
        except (mlflow.exceptions.MlflowException, OSError) as exc:
            error = getattr(exc, "message", None) or str(exc)
            continue
        if source == root or any((local / meta).is_file() for meta in META_FILES.values()):
            return local
    raise PredictError(f"model {spec}: download of models:/{name}/{version} from {root} failed ({error})")


def registry_version(name: str, alias: str | None, version: str | None, spec: str) -> tuple[str, str]:
    """(name, version number) of a registry reference, checked against the store."""
    uri = tracking_uri()
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).is_file():
        raise PredictError(
            f"model {spec}: no MLflow store at {uri} (set MLFLOW_TRACKING_URI to the tracking server, "
            f"or run from the project folder)"
        )
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    try:
        found = client.get_model_version_by_alias(name, alias) if alias else client.get_model_version(name, version)
    except mlflow.exceptions.MlflowException as exc:
        raise PredictError(f"model {spec}: not found in the registry at {uri} ({exc.message})") from None
    return found.name, str(found.version)

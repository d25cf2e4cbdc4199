"""Registering the deployable models in the MLflow model registry and moving ``champion``
(docs/architecture.md#registry-and-gates).

Every export that reaches the ``register`` stage becomes a registered version, passing or not, so
the history of what was tried stays visible. A version carries, as tags: the git commit, the DVC
hash of its data, the fingerprint of the test split it was judged on, its metrics
(``metric.<key>``) and one ``gate.<check>`` tag per promotion check; its description is the
model card. Only a version that passes every gate gets the ``champion`` alias.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types.schema import Array, ColSpec, Schema

from components.registry.gates import GateResult
from components.registry.pyfunc_models import (
    IMAGE_COLUMN,
    ResistorOcrModel,
    RoadCrackModel,
    encode_image_file,
)

CHAMPION = "champion"


def _requirements(*dists: str) -> list[str]:
    """Exact versions of what the serving side imports, from this environment (no inference pass)."""
    return [
        f"{d}=={metadata.version(d)}" for d in ("mlflow", "numpy", "pandas", "pillow", "opencv-python-headless", *dists)
    ]


@dataclass(frozen=True)
class DeployableModel:
    """One registered model: its name, pyfunc class, output schema and which export files it ships."""

    key: str  # "ocr" | "crack"
    name: str  # registered model name
    python_model: type
    output: Schema
    runtime_dist: str  # the runtime package serving needs
    ships: tuple[str, ...]  # glob patterns of the export folder's files that go into the model
    # logged model_config beyond form and threads: MLflow lets a loader (load_model's model_config,
    # MLFLOW_PYFUNC_INFERENCE_CONFIG for ``mlflow models serve``) override only keys logged here
    config: tuple[tuple[str, object], ...] = ()

    def signature(self) -> ModelSignature:
        return ModelSignature(inputs=Schema([ColSpec("string", IMAGE_COLUMN)]), outputs=self.output)


MODELS = {
    "ocr": DeployableModel(
        "ocr",
        "resistor-ocr",
        ResistorOcrModel,
        Schema(
            [
                ColSpec("long", "image"),
                ColSpec("long", "roi"),
                *(ColSpec("double", k) for k in ("x1", "y1", "x2", "y2")),
                ColSpec("double", "roi_score"),
                ColSpec("string", "text"),
                ColSpec("double", "confidence"),
                ColSpec("string", "raw_text"),
                ColSpec("boolean", "valid"),
                ColSpec("double", "value_ohm", required=False),
                ColSpec("string", "code_kind", required=False),
                ColSpec("string", "read_status"),
                ColSpec(Array(Array("double")), "char_boxes"),
                ColSpec(Array("string"), "char_labels"),
                ColSpec(Array("double"), "char_scores"),
            ]
        ),
        "onnxruntime",
        ("*int8*.onnx", "*.json"),
    ),
    "crack": DeployableModel(
        "crack",
        "road-crack-segmenter",
        RoadCrackModel,
        Schema(
            [
                ColSpec("long", "image"),
                ColSpec("long", "height"),
                ColSpec("long", "width"),
                ColSpec("double", "masking_rate"),
                ColSpec("long", "crack_pixels"),
                ColSpec(Array("long"), "mask_indptr"),
                ColSpec(Array("long"), "mask_indices"),
            ]
        ),
        "ai-edge-litert",
        ("*int8*.tflite", "*.json"),
        (("tiling", "auto"),),  # large frames: auto | always | never (docs/usage.md#serving)
    ),
}


def split_fingerprint(manifest: str | Path | pd.DataFrame, split: str = "test") -> str:
    """sha256 over the (name, content hash) of the usable samples of one split: two versions were
    judged on the same test split exactly when their fingerprints are equal."""
    rows = manifest if isinstance(manifest, pd.DataFrame) else pd.read_parquet(manifest)
    rows = rows[(rows.status == "ok") & (rows.split == split)].sort_values("name")
    h = hashlib.sha256()
    for name, digest in zip(rows.name, rows.sha256):
        h.update(f"{name}:{digest}\n".encode())
    return h.hexdigest()


def deployable_files(export_dir: Path, picked: set[Path]) -> set[Path]:
    """Files the metadata lists for the int8 form beyond the name patterns: a detector kept fp32
    (``export.ocr.float_detectors``, or a checked one that failed its check) is read from its
    ``*_fp32.onnx`` file."""
    extra = set()
    for meta in (p for p in picked if p.suffix == ".json"):
        for key, entry in json.loads(meta.read_text()).get("files", {}).items():
            if key != "int8" and not key.endswith("_int8"):
                continue
            name = entry.get("path") or entry.get("file")  # ocr_meta.json: path, crack_meta.json: file
            if (export_dir / name).is_file():
                extra.add(export_dir / name)
    return extra


def stage_export(model: DeployableModel, export_dir: str | Path, dst: Path) -> Path:
    """Copy the files the deployable form needs (int8 model(s) + metadata) into ``dst``."""
    export_dir = Path(export_dir)
    dst.mkdir(parents=True, exist_ok=True)
    picked = {p for pattern in model.ships for p in export_dir.glob(pattern) if p.is_file()}
    picked = sorted(picked | deployable_files(export_dir, picked))
    if not any(p.suffix in (".onnx", ".tflite") for p in picked):
        raise FileNotFoundError(
            f"{export_dir}: no {' or '.join(model.ships)} files to register (run the export stage first)"
        )
    for p in picked:
        shutil.copy2(p, dst / p.name)
    return dst


def log_and_register(
    model: DeployableModel, export_dir: str | Path, card: str, example_image: bytes, tags: dict[str, str]
) -> mlflow.entities.model_registry.ModelVersion:
    """Log the pyfunc model into the active run and register it as a new version of ``model.name``."""
    client = mlflow.MlflowClient()
    with tempfile.TemporaryDirectory() as tmp:
        shipped = stage_export(model, export_dir, Path(tmp) / "export")
        card_path = Path(tmp) / "model_card.md"
        card_path.write_text(card, encoding="utf-8")
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=model.python_model(),
            artifacts={"export_dir": str(shipped), "model_card": str(card_path)},
            code_paths=[str(Path(__file__).resolve().parents[1])],  # the components package
            signature=model.signature(),
            input_example=pd.DataFrame({IMAGE_COLUMN: [encode_image_file(example_image)]}),
            pip_requirements=_requirements(model.runtime_dist),
            model_config={"form": "int8", "threads": 1, **dict(model.config)},
            registered_model_name=model.name,
        )
    version = client.get_model_version(model.name, str(info.registered_model_version))
    for k, v in tags.items():
        client.set_model_version_tag(model.name, version.version, k, v)
    client.update_model_version(model.name, version.version, description=card)
    return version


def champion(name: str) -> mlflow.entities.model_registry.ModelVersion | None:
    client = mlflow.MlflowClient()
    try:
        return client.get_model_version_by_alias(name, CHAMPION)
    except mlflow.exceptions.MlflowException:
        return None


def version_metrics(version) -> dict[str, float]:
    """The ``metric.<key>`` tags of a version as numbers."""
    return {k.removeprefix("metric."): float(v) for k, v in version.tags.items() if k.startswith("metric.")}


def record_gates(name: str, version: str, result: GateResult) -> bool:
    """Tag the version with every check and its outcome; give it ``champion`` only if all pass."""
    client = mlflow.MlflowClient()
    for c in result.checks:
        client.set_model_version_tag(name, version, f"gate.{c.name}", f"{'pass' if c.passed else 'fail'}: {c.detail}")
    client.set_model_version_tag(name, version, "gate.passed", str(result.passed).lower())
    client.set_model_version_tag(name, version, "gate.reasons", "; ".join(result.reasons) or "all gates passed")
    if result.passed:
        client.set_registered_model_alias(name, CHAMPION, version)
    return result.passed

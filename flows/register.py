"""Register flow: the quantized export of one model becomes a registry version; gates decide ``champion``.

DVC stages ``register_ocr`` and ``register_crack`` run ``python -m flows.register ocr|crack``. It
reads the export's metrics (quantized form and its float parent, same evaluator, same test split),
finds the current champion's metrics on the same test split (from its tags when it was judged on
the same split, otherwise by evaluating it again here), logs the pyfunc model with its model card,
registers it, applies the gates from ``registry.<model>`` in params.yaml and moves ``champion``
only when all pass. Writes ``metrics/register_<model>.json``. Exits 0 when a version was registered
even if it failed the gates: a failing candidate is a result, not an error; the reasons are tagged
on the version and printed.
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import dataclass, fields, replace
from pathlib import Path

import mlflow
import pandas as pd
from prefect import flow, get_run_logger, task

from components import tracking
from components.io import resolve_inside
from components.per_frame import PER_FRAME
from components.registry import model_card, registry
from components.registry.evaluation import read_frame_scores
from components.registry.gates import Bootstrap, FrameScores, GateResult, check_gates
from flows.common import flat
from flows.paths import set_dir, set_manifest
from flows.stage import Stage, command

FRAMES_ARTIFACTS = "per_frame"  # where a registering run keeps the candidate's per-frame scores


@dataclass(frozen=True)
class Source:
    """Where one model's export, metrics, per-frame scores and test set live, and which forms to compare."""

    export_dir: Path
    metrics: Path  # metrics of the quantized form (and of the float parent for OCR)
    quantized: str
    quantized_frames: Path  # per-frame tables of the quantized form
    float_metrics: Path
    float_form: str
    float_frames: Path  # per-frame tables of the float parent
    data: Path  # the fixed test set the gates judge on
    manifest: Path

    def under(self, root: Path) -> Source:
        """The same source with every path under the project ``root``."""
        return replace(
            self,
            **{f.name: root / getattr(self, f.name) for f in fields(self) if isinstance(getattr(self, f.name), Path)},
        )


SOURCES = {
    "ocr": Source(
        Path("models/export/ocr"),
        Path("metrics/export_ocr.json"),
        "onnx_int8",
        PER_FRAME / "export_ocr",
        Path("metrics/export_ocr.json"),
        "torch_fp32",
        PER_FRAME / "export_ocr",
        set_dir("ocr", "test"),
        set_manifest("ocr", "test"),
    ),
    "crack": Source(
        Path("models/export/crack"),
        Path("metrics/export_crack.json"),
        "tflite_int8",
        PER_FRAME / "export_crack",
        Path("metrics/evaluate_crack.json"),
        "float",
        PER_FRAME / "evaluate_crack",
        set_dir("crack", "test"),
        set_manifest("crack", "test"),
    ),
}


def _read_form(path: Path, form: str) -> dict:
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise FileNotFoundError(f"{path}: cannot be read ({exc.strerror}); run the stage that writes it first") from exc
    if form not in data or not isinstance(data[form], dict):
        raise ValueError(f"{path}: no metrics for model form {form!r} (found {sorted(data)})")
    return data[form]


def reevaluate_champion(key: str, source: Source, version, params) -> tuple[dict, FrameScores]:
    """The champion's metrics and per-frame scores on *this* test set, from its own registered files."""
    from components.registry.evaluation import evaluate_export

    with tempfile.TemporaryDirectory() as tmp:
        local = mlflow.artifacts.download_artifacts(f"models:/{version.name}/{version.version}", dst_path=tmp)
        return evaluate_export(key, Path(local) / "artifacts" / "export", source.manifest, source.data, params)


def _stored_frame_scores(key: str, source: Source, version, params) -> FrameScores | None:
    """The per-frame scores the champion's registering run kept, or None (older versions kept none)."""
    run_id = version.tags.get("source_run_id")
    if not run_id:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        try:
            local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=FRAMES_ARTIFACTS, dst_path=tmp)
        except Exception:  # noqa: BLE001 - a version registered before per-frame scores existed
            return None
        return read_frame_scores(key, local, source.quantized, params)


@task(name="champion-metrics")
def champion_metrics(
    key: str, source: Source, name: str, split: str, params
) -> tuple[str | None, dict | None, FrameScores | None]:
    champ = registry.champion(name)
    if champ is None:
        return None, None, None
    if champ.tags.get("test_split") == split:
        return champ.version, registry.version_metrics(champ), _stored_frame_scores(key, source, champ, params)
    get_run_logger().info("champion v%s was judged on another test set: evaluating it on this one", champ.version)
    metrics, scores = reevaluate_champion(key, source, champ, params)
    return champ.version, metrics, scores


@task(name="register-version")
def register_version(model: registry.DeployableModel, source: Source, card: str, example: bytes, tags: dict):
    return registry.log_and_register(model, source.export_dir, card, example, tags)


@flow(name="register", log_prints=True)
def register(model_key: str, params_file: str = "params.yaml", root: Path | None = None) -> dict:
    st = Stage.load(f"register_{model_key}", params_file, root)
    params = st.params
    model, source = registry.MODELS[model_key], SOURCES[model_key].under(st.root)
    gates = getattr(params.registry, model_key)
    log = st.log
    quantized = _read_form(source.metrics, source.quantized)
    parent = _read_form(source.float_metrics, source.float_form)
    manifest = pd.read_parquet(source.manifest)
    split = registry.split_fingerprint(manifest)
    test_rows = manifest[(manifest.status == "ok") & (manifest.split == "test")].sort_values("name")
    if test_rows.empty:
        raise ValueError(
            f"{SOURCES[model_key].manifest}: no usable test samples; the gates need the fixed test set "
            f"(run the eval_data_{model_key} stage)"
        )
    frames = {
        "quantized": read_frame_scores(model_key, source.quantized_frames, source.quantized, params),
        "float": read_frame_scores(model_key, source.float_frames, source.float_form, params),
    }
    boot = Bootstrap.from_params(params.bootstrap)
    example = resolve_inside(source.data, test_rows.iloc[0].path).read_bytes()

    with st.run(data=SOURCES[model_key].data, tags={"dataset": model_key}):
        data_hash = st.data_hash
        champ_version, champ, frames["champion"] = champion_metrics(model_key, source, model.name, split, params)
        result: GateResult = check_gates(quantized, parent, champ, gates, frames, boot)
        for path in sorted(source.quantized_frames.glob(f"{source.quantized}_test*.parquet")):
            mlflow.log_artifact(str(path), artifact_path=FRAMES_ARTIFACTS)
        facts = model_card.CardFacts(
            model_key,
            model.name,
            getattr(params.data, model_key).source,
            data_hash,
            split,
            len(test_rows),
            st.git_commit(),
            {source.float_form: parent, source.quantized: quantized},
            source.quantized,
        )
        card = model_card.render(facts, result)
        tags = {
            "git_commit": facts.git_commit,
            "dvc_data_hash": data_hash,
            "test_split": split,
            "model_form": source.quantized,
            "source_run_id": mlflow.active_run().info.run_id,
            **{f"metric.{k}": str(v) for k, v in flat(quantized).items()},
        }
        version = register_version(model, source, card, example, tags)
        promoted = registry.record_gates(model.name, version.version, result)
        st.set_tags(
            {
                "registered_model": model.name,
                "registered_version": version.version,
                "gate.passed": str(promoted).lower(),
            }
        )
        mlflow.log_metrics(
            {"gate_passed": float(promoted), **{f"candidate.{k}": v for k, v in flat(quantized).items()}}
        )
        out = {
            "version": int(version.version),
            "promoted": promoted,
            "previous_champion": int(champ_version or 0),
            "checks_failed": len(result.reasons),
        }
        st.write_metrics(out)
        for c in result.checks:
            log.info("%s %s: %s", "PASS" if c.passed else "FAIL", c.name, c.detail)
        log.info(
            "%s v%s %s",
            model.name,
            version.version,
            "is now champion" if promoted else f"registered, NOT promoted: {'; '.join(result.reasons)}",
        )
    return out


main = command(
    "flows.register",
    __doc__,
    lambda a: register(a.model, a.params),
    choices=("model", SOURCES),
    failures={tracking.TrackingUnavailable: "register {model} failed"},
)

if __name__ == "__main__":
    sys.exit(main())

"""The model registry as tables: champions, their metrics, version history and gate results.

Reads what ``flows.register`` writes (``components.registry.registry``): every version carries
``metric.<key>`` tags (numbers as strings), one ``gate.<check>`` tag per promotion check
(``"pass: <detail>"`` / ``"fail: <detail>"``), ``gate.passed`` (``true``/``false``),
``gate.reasons``, ``git_commit``, ``dvc_data_hash``, ``test_split``, ``model_form``, and its model
card as description; the alias ``champion`` names the promoted version. The tag names are not
imported from there because that module pulls in ``mlflow.pyfunc`` (seconds of start-up for
nothing); the tests write the tags with the real ``record_gates`` so the two cannot drift apart.

Everything takes an ``MlflowClient``, so the caller decides which store (and caching) to use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:  # mlflow takes seconds to import; callers hand in a client
    from mlflow import MlflowClient

CHAMPION = "champion"
# the metric keys (docs/architecture.md#metrics) shared by DVC metrics files, MLflow and the dashboard, in display order
HEADLINE = (
    "roi_ap50",
    "char_map50",
    "char_map",
    "string_accuracy",
    "cer",
    "roi_precision",
    "roi_recall",
    "dice",
    "dice_cracked",
    "false_alarm_rate",
    "pixel_dice",
    "pixel_iou",
    "iou",
    "precision",
    "recall",
    "latency_ms_p50",
    "latency_ms_p95",
    "fps",
    "model_bytes",
)
GATE_PREFIX, METRIC_PREFIX = "gate.", "metric."
GATE_SUMMARY = ("gate.passed", "gate.reasons")


@dataclass
class VersionDetail:
    """One registered version: what it measured, how it was judged, and where it came from."""

    name: str
    version: int
    aliases: list[str]
    metrics: dict[str, float]
    gates: pd.DataFrame  # check, passed, detail
    gate_passed: bool | None  # None: never judged (registered by hand)
    gate_reasons: str
    card: str  # the model card (markdown)
    tags: dict[str, str] = field(default_factory=dict)
    run_id: str = ""

    @property
    def champion(self) -> bool:
        return CHAMPION in self.aliases


@dataclass
class ModelOverview:
    name: str
    champion: int | None  # version holding the alias, None when nothing passed the gates yet
    latest: int | None
    history: pd.DataFrame  # one row per version, newest first


def metrics_from_tags(tags: dict[str, str]) -> dict[str, float]:
    """The ``metric.<key>`` tags as numbers, headline keys first; unparsable values are left out."""
    out = {}
    for k, v in tags.items():
        if k.startswith(METRIC_PREFIX):
            try:
                out[k.removeprefix(METRIC_PREFIX)] = float(v)
            except ValueError:
                continue
    order = {k: i for i, k in enumerate(HEADLINE)}
    return dict(sorted(out.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))


def gates_from_tags(tags: dict[str, str]) -> pd.DataFrame:
    """One row per promotion check (``gate.minimum.dice`` -> ``minimum.dice``), failures first."""
    rows = []
    for k, v in tags.items():
        if k.startswith(GATE_PREFIX) and k not in GATE_SUMMARY:
            outcome, _, detail = v.partition(": ")
            rows.append(
                {"check": k.removeprefix(GATE_PREFIX), "passed": outcome.strip().lower() == "pass", "detail": detail}
            )
    frame = pd.DataFrame(rows, columns=["check", "passed", "detail"]).astype({"passed": bool})
    return frame.sort_values(["passed", "check"]).reset_index(drop=True)


def _gate_passed(tags: dict[str, str]) -> bool | None:
    value = tags.get("gate.passed")
    return None if value is None else value.strip().lower() == "true"


def _aliases(client: MlflowClient, name: str) -> dict[int, list[str]]:
    """version -> its aliases (``search_model_versions`` leaves a version's aliases empty)."""
    out: dict[int, list[str]] = {}
    for alias, version in client.get_registered_model(name).aliases.items():
        out.setdefault(int(version), []).append(alias)
    return out


def model_names(client: MlflowClient) -> list[str]:
    return sorted(m.name for m in client.search_registered_models())


def history(client: MlflowClient, name: str) -> pd.DataFrame:
    """The version history of one model, newest first: aliases, gate outcome, provenance and the
    headline metrics it has."""
    aliases = _aliases(client, name)
    rows = []
    for v in client.search_model_versions(f"name = '{name}'"):
        tags, n = v.tags or {}, int(v.version)
        passed = _gate_passed(tags)
        metrics = metrics_from_tags(tags)
        rows.append(
            {
                "version": n,
                "aliases": ", ".join(sorted(aliases.get(n, []))),
                "created": pd.to_datetime(v.creation_timestamp, unit="ms", utc=True),
                "gates": "not judged" if passed is None else "passed" if passed else "failed",
                "gate_reasons": "" if passed else tags.get("gate.reasons", ""),
                "model_form": tags.get("model_form", ""),
                **{k: metrics[k] for k in HEADLINE if k in metrics},
                "git_commit": tags.get("git_commit", ""),
                "dvc_data_hash": tags.get("dvc_data_hash", ""),
                "test_split": tags.get("test_split", "")[:12],
            }
        )
    if not rows:
        return pd.DataFrame(columns=["version", "aliases", "created", "gates", "gate_reasons"])
    return pd.DataFrame(rows).sort_values("version", ascending=False).reset_index(drop=True)


def overview(client: MlflowClient, name: str) -> ModelOverview:
    table = history(client, name)
    champ = next((int(v) for v, a in zip(table.version, table.aliases) if CHAMPION in a.split(", ")), None)
    return ModelOverview(name, champ, int(table.version.max()) if len(table) else None, table)


def champions(overviews: list[ModelOverview]) -> pd.DataFrame:
    """One row per registered model: its champion (if any), latest version and how that one was judged."""
    rows = []
    for o in overviews:
        latest = o.history.iloc[0] if len(o.history) else None
        rows.append(
            {
                "model": o.name,
                "champion": o.champion,
                "latest": o.latest,
                "versions": len(o.history),
                "latest_gates": None if latest is None else latest.gates,
                "latest_gate_reasons": "" if latest is None else latest.gate_reasons,
            }
        )
    columns = ["model", "champion", "latest", "versions", "latest_gates", "latest_gate_reasons"]
    return pd.DataFrame(rows, columns=columns).astype({"champion": "Int64", "latest": "Int64"})


def version_detail(client: MlflowClient, name: str, version: int) -> VersionDetail:
    v = client.get_model_version(name, str(version))
    tags = dict(v.tags or {})
    return VersionDetail(
        name,
        int(v.version),
        sorted(_aliases(client, name).get(int(v.version), [])),
        metrics_from_tags(tags),
        gates_from_tags(tags),
        _gate_passed(tags),
        tags.get("gate.reasons", ""),
        v.description or "",
        tags,
        v.run_id or "",
    )


def with_interval(metrics: dict, key: str) -> str:
    """``0.812 [0.801, 0.823]``: a metric with its 95 % interval when the metrics have one."""
    if key not in metrics:
        return ""
    low, high = metrics.get(f"{key}_ci_low"), metrics.get(f"{key}_ci_high")
    text = format_metric(key, metrics[key])
    return f"{text} [{low:.3f}, {high:.3f}]" if low is not None and high is not None else text


def test_vs_ood(metrics: dict) -> pd.DataFrame:
    """One row per headline metric measured on both fixed sets: the in-distribution test set, the
    held-out-style (OOD) set, each with its interval, and the gap between them."""
    rows = [
        {
            "metric": k,
            "test": with_interval(metrics, k),
            "ood": with_interval(metrics, f"{k}_ood"),
            "gap (ood - test)": round(metrics[f"{k}_ood"] - metrics[k], 4),
        }
        for k in HEADLINE
        if k in metrics and f"{k}_ood" in metrics
    ]
    return pd.DataFrame(rows, columns=["metric", "test", "ood", "gap (ood - test)"])


def format_metric(key: str, value: float) -> str:
    """A metric as people read it: sizes in MB, latencies in ms, rates with one decimal, scores to 3."""
    if key == "model_bytes":
        return f"{value / 1e6:.2f} MB"
    if key.startswith("latency_ms"):
        return f"{value:.1f} ms"
    if key.startswith("fps"):
        return f"{value:.1f}"
    if float(value).is_integer() and abs(value) >= 10:
        return f"{int(value)}"
    return f"{value:.3f}"

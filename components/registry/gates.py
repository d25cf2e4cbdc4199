"""Promotion gates (docs/architecture.md#registry-and-gates): may a newly registered version become ``champion``?

Three kinds of check, all on the *quantized* model that will be deployed:

* absolute: each metric in ``minimums`` (``maximums`` for lower-is-better keys such as ``cer``);
* quantization: the quantized model loses at most ``max_quantization_drop`` against its float
  parent, evaluated by the same evaluator on the same split;
* champion: not worse than the current champion by ``compare_key`` on the same test split
  (``champion_tolerance`` allowed), so a retrain on new data cannot silently demote quality.

Pure functions over metric dicts: the registry flow gathers the numbers and records the outcome.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from components.registry.config import Gates

LOWER_IS_BETTER = frozenset({"cer", "latency_ms_p50", "latency_ms_p95", "model_bytes"})


@dataclass(frozen=True)
class Check:
    name: str      # e.g. "minimum.char_map50", "quantization.dice", "champion.string_accuracy"
    passed: bool
    detail: str    # human-readable, with the numbers


@dataclass(frozen=True)
class GateResult:
    checks: tuple[Check, ...]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def reasons(self) -> list[str]:
        """The details of the failed checks (what a failing version is tagged with)."""
        return [c.detail for c in self.checks if not c.passed]


def _value(metrics: dict, key: str) -> float | None:
    v = metrics.get(key)
    if v is None or not isinstance(v, (int, float)) or math.isnan(v):
        return None
    return float(v)


def check_gates(quantized: dict, float_parent: dict, champion: dict | None, gates: Gates) -> GateResult:
    """All checks of ``gates`` for a candidate with ``quantized`` metrics; ``champion`` is the current
    champion's metrics on the same test split, or None when there is no champion yet."""
    checks: list[Check] = []
    for key, low in sorted(gates.minimums.items()):
        v = _value(quantized, key)
        ok = v is not None and v >= low
        checks.append(Check(f"minimum.{key}", ok, f"{key} {v:.4f} {'>=' if ok else '<'} minimum {low}"
                            if v is not None else f"{key} missing from the quantized model's metrics"))
    for key, high in sorted(gates.maximums.items()):
        v = _value(quantized, key)
        ok = v is not None and v <= high
        checks.append(Check(f"maximum.{key}", ok, f"{key} {v:.4f} {'<=' if ok else '>'} maximum {high}"
                            if v is not None else f"{key} missing from the quantized model's metrics"))
    for key, tol in sorted(gates.max_quantization_drop.items()):
        q, f = _value(quantized, key), _value(float_parent, key)
        if q is None or f is None:
            checks.append(Check(f"quantization.{key}", False, f"{key} missing from the quantized or float metrics"))
            continue
        drop = (q - f) if key in LOWER_IS_BETTER else (f - q)
        ok = drop <= tol + 1e-9
        checks.append(Check(f"quantization.{key}", ok, f"{key} quantized {q:.4f} vs float {f:.4f}: "
                            f"drop {drop:.4f} {'<=' if ok else '>'} tolerance {tol}"))
    key, tol = gates.compare_key, gates.champion_tolerance
    name = f"champion.{key}"
    if champion is None:
        checks.append(Check(name, True, "no champion yet"))
    else:
        q, c = _value(quantized, key), _value(champion, key)
        if q is None or c is None:
            checks.append(Check(name, False, f"{key} missing from the candidate's or the champion's metrics"))
        else:
            worse = (q - c) if key in LOWER_IS_BETTER else (c - q)
            ok = worse <= tol + 1e-9
            checks.append(Check(name, ok, f"{key} {q:.4f} vs champion {c:.4f} on the same test split: "
                                + ("not worse" if ok else f"worse by {worse:.4f} (tolerance {tol})")))
    return GateResult(tuple(checks))

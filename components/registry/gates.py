"""Promotion gates (docs/architecture.md#registry-and-gates): may a newly registered version become ``champion``?

Three kinds of check, all on the *quantized* model that will be deployed:

* absolute: each metric in ``minimums`` (``maximums`` for lower-is-better keys such as ``cer``);
* quantization: the quantized model loses at most ``max_quantization_drop`` against its float
  parent, evaluated by the same evaluator on the same split;
* champion: not worse than the current champion by ``compare_key`` on the same test split
  (``champion_tolerance`` allowed), so a retrain on new data cannot silently demote quality.

The quantization and champion checks compare two models *scored on the same test frames*, so
they are decided by a paired bootstrap over those frames (components/bootstrap.py), not by two
point values: the candidate passes when the one-sided upper confidence bound of its shortfall is
within the margin (a non-inferiority test). On 1,000 frames a flip of one frame moves a metric by
0.001, far inside the interval, so it cannot flip a decision, while a model that is really worse
has a whole interval beyond the margin. Without per-frame scores (older versions) the check falls
back to the point values. The absolute minimums compare point values.

Pure functions over metric dicts and per-frame scores: the registry flow gathers them and records
the outcome.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from components.bootstrap import Ratio, paired_difference, resample_weights
from components.ocr.metrics import DetectionRecords, weighted_voc_map
from components.registry.config import Gates

LOWER_IS_BETTER = frozenset({"cer", "false_alarm_rate", "latency_ms_p50", "latency_ms_p95", "model_bytes"})


@dataclass(frozen=True)
class Check:
    name: str  # e.g. "minimum.char_map50", "quantization.dice", "champion.string_accuracy"
    passed: bool
    detail: str  # human-readable, with the numbers


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


@dataclass(frozen=True)
class FrameScores:
    """One model's per-frame scores on one evaluation set: ratio metrics (string accuracy, Dice on
    cracked frames, ...) and, for AP keys, the detection outcomes."""

    names: tuple[str, ...]
    ratios: dict[str, Ratio] = field(default_factory=dict)
    detections: dict[str, DetectionRecords] = field(default_factory=dict)

    def has(self, key: str) -> bool:
        return key in self.ratios or key in self.detections


def ocr_frame_scores(
    names, columns: dict, rois: DetectionRecords | None, chars: DetectionRecords | None
) -> FrameScores:
    """An OCR evaluation's per-frame columns and detection outcomes as the scores the gates compare."""
    from components.ocr.evaluate import frame_ratios

    detections = {k: v for k, v in (("roi_ap50", rois), ("char_map50", chars)) if v is not None}
    return FrameScores(tuple(names), frame_ratios(columns), detections)


@dataclass(frozen=True)
class Bootstrap:
    resamples: int = 1000
    seed: int = 0
    confidence: float = 0.95

    @classmethod
    def from_params(cls, b) -> Bootstrap:
        """From ``params.bootstrap`` (resamples, seed, confidence)."""
        return cls(b.resamples, b.seed, b.confidence)


def paired_shortfall(candidate: FrameScores, reference: FrameScores, key: str, boot: Bootstrap) -> tuple[float, float]:
    """How much worse the candidate is than the reference on ``key`` (point value, one-sided upper
    confidence bound), both scored on the same frames."""
    if candidate.names != reference.names:
        raise ValueError(
            f"{key}: the two models were not scored on the same frames "
            f"({len(candidate.names)} vs {len(reference.names)})"
        )
    if key in candidate.ratios:
        diff = paired_difference(candidate.ratios[key], reference.ratios[key], boot.resamples, boot.seed)
        value, samples = diff.value, diff.samples
    else:
        n = len(candidate.names)
        weights = resample_weights(n, boot.resamples, boot.seed)
        ones = np.ones((1, n))
        value = float(
            weighted_voc_map(candidate.detections[key], ones)[0] - weighted_voc_map(reference.detections[key], ones)[0]
        )
        samples = weighted_voc_map(candidate.detections[key], weights) - weighted_voc_map(
            reference.detections[key], weights
        )
    shortfall = samples if key in LOWER_IS_BETTER else -samples
    point = value if key in LOWER_IS_BETTER else -value
    shortfall = shortfall[~np.isnan(shortfall)]
    upper = float(np.percentile(shortfall, boot.confidence * 100.0)) if len(shortfall) else float("nan")
    return point, upper


def _value(metrics: dict, key: str) -> float | None:
    v = metrics.get(key)
    if v is None or not isinstance(v, (int, float)) or math.isnan(v):
        return None
    return float(v)


def _paired_check(
    name: str,
    key: str,
    candidate: FrameScores | None,
    reference: FrameScores | None,
    tol: float,
    boot: Bootstrap,
    what: str,
) -> Check | None:
    """The noise-aware form of a comparison, or None when either side lacks per-frame scores."""
    if candidate is None or reference is None or not (candidate.has(key) and reference.has(key)):
        return None
    point, upper = paired_shortfall(candidate, reference, key, boot)
    ok = upper <= tol + 1e-9
    return Check(
        name,
        ok,
        f"{key}: shortfall vs {what} {point:+.4f}, {boot.confidence:.0%} upper bound {upper:+.4f} "
        f"{'<=' if ok else '>'} margin {tol} (paired bootstrap over {len(candidate.names)} frames)",
    )


def paired_checks(
    candidate: FrameScores, reference: FrameScores, margins: dict[str, float], boot: Bootstrap, what: str, kind: str
) -> GateResult:
    """``kind.<key>`` for every key of ``margins``: the candidate's paired shortfall against
    ``reference`` (``what``) within the key's margin. Both must hold per-frame scores for every key:
    there is no fallback to point values here."""
    checks = []
    for key, tol in sorted(margins.items()):
        check = _paired_check(f"{kind}.{key}", key, candidate, reference, tol, boot, what)
        if check is None:
            raise ValueError(f"{key}: no per-frame scores to compare against {what}")
        checks.append(check)
    return GateResult(tuple(checks))


def check_gates(
    quantized: dict,
    float_parent: dict,
    champion: dict | None,
    gates: Gates,
    frames: dict[str, FrameScores | None] | None = None,
    boot: Bootstrap = Bootstrap(),
) -> GateResult:
    """All checks of ``gates`` for a candidate with ``quantized`` metrics; ``champion`` is the current
    champion's metrics on the same test split, or None when there is no champion yet.

    ``frames`` holds per-frame scores under ``quantized``, ``float`` and ``champion``; where both
    sides of a comparison have them the check is the paired bootstrap, else the point values."""
    frames = frames or {}
    checks: list[Check] = []
    for key, low in sorted(gates.minimums.items()):
        v = _value(quantized, key)
        ok = v is not None and v >= low
        checks.append(
            Check(
                f"minimum.{key}",
                ok,
                f"{key} {v:.4f} {'>=' if ok else '<'} minimum {low}"
                if v is not None
                else f"{key} missing from the quantized model's metrics",
            )
        )
    for key, high in sorted(gates.maximums.items()):
        v = _value(quantized, key)
        ok = v is not None and v <= high
        checks.append(
            Check(
                f"maximum.{key}",
                ok,
                f"{key} {v:.4f} {'<=' if ok else '>'} maximum {high}"
                if v is not None
                else f"{key} missing from the quantized model's metrics",
            )
        )
    for key, tol in sorted(gates.max_quantization_drop.items()):
        paired = _paired_check(
            f"quantization.{key}", key, frames.get("quantized"), frames.get("float"), tol, boot, "its float parent"
        )
        if paired is not None:
            checks.append(paired)
            continue
        q, f = _value(quantized, key), _value(float_parent, key)
        if q is None or f is None:
            checks.append(Check(f"quantization.{key}", False, f"{key} missing from the quantized or float metrics"))
            continue
        drop = (q - f) if key in LOWER_IS_BETTER else (f - q)
        ok = drop <= tol + 1e-9
        checks.append(
            Check(
                f"quantization.{key}",
                ok,
                f"{key} quantized {q:.4f} vs float {f:.4f}: drop {drop:.4f} {'<=' if ok else '>'} tolerance {tol}",
            )
        )
    key, tol = gates.compare_key, gates.champion_tolerance
    name = f"champion.{key}"
    paired = _paired_check(name, key, frames.get("quantized"), frames.get("champion"), tol, boot, "the champion")
    if champion is None:
        checks.append(Check(name, True, "no champion yet"))
    elif paired is not None:
        checks.append(paired)
    else:
        q, c = _value(quantized, key), _value(champion, key)
        if q is None or c is None:
            checks.append(Check(name, False, f"{key} missing from the candidate's or the champion's metrics"))
        else:
            worse = (q - c) if key in LOWER_IS_BETTER else (c - q)
            ok = worse <= tol + 1e-9
            checks.append(
                Check(
                    name,
                    ok,
                    f"{key} {q:.4f} vs champion {c:.4f} on the same test split: "
                    + ("not worse" if ok else f"worse by {worse:.4f} (tolerance {tol})"),
                )
            )
    return GateResult(tuple(checks))

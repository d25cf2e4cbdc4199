"""Bootstrap over frames: confidence intervals of a metric, and paired comparisons of two models.

Every headline metric of this project is a ratio of sums over test frames: mean Dice is
``sum(dice_f) / sum(1)``, string accuracy ``sum(exact_f) / sum(rois_f)``, pixel Dice
``sum(2 tp_f) / sum(2 tp_f + fp_f + fn_f)``. A :class:`Ratio` holds the two per-frame columns, so a
resample of the frames is just a vector of weights (how often each frame was drawn) and the
metric of the resample is ``(w @ num) / (w @ den)``: thousands of resamples cost two matrix
products. Average precision is not a ratio of sums; ``components.ocr.metrics.bootstrap_voc_map``
uses the same weights.

Resampling *frames* (not pixels or characters) is what makes the interval honest: errors are
correlated within a frame (one blurred frame loses all its characters), and the frame is what a
camera delivers.

For a gate, two models are scored on the same frames and the same weights are applied to both
(:func:`paired_difference`): the spread of the *difference* is far smaller than that of either
metric when the models agree on most frames, which is what lets a 1,000-frame test set decide
"the int8 model loses at most 0.01" while a flip of one frame cannot.

Everything is seeded: the same per-frame scores give the same interval and the same gate decision
on any machine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 0


@dataclass(frozen=True)
class Ratio:
    """A metric ``sum(num) / sum(den)`` over frames (one entry per frame in each array)."""

    num: np.ndarray
    den: np.ndarray

    def __post_init__(self) -> None:
        num = np.asarray(self.num, np.float64).reshape(-1)
        den = np.asarray(self.den, np.float64).reshape(-1)
        if num.shape != den.shape:
            raise ValueError(f"numerator and denominator differ in length ({len(num)} vs {len(den)})")
        object.__setattr__(self, "num", num)
        object.__setattr__(self, "den", den)

    def __len__(self) -> int:
        return len(self.num)

    @classmethod
    def mean(cls, values, where=None) -> Ratio:
        """Mean of ``values`` over the frames where ``where`` is true (all frames when None)."""
        values = np.asarray(values, np.float64)
        mask = np.ones(len(values)) if where is None else np.asarray(where, np.float64)
        return cls(values * mask, mask)

    def value(self) -> float:
        den = self.den.sum()
        return float(self.num.sum() / den) if den else float("nan")

    def resampled(self, weights: np.ndarray) -> np.ndarray:
        """The metric under each row of ``weights`` (B, N); NaN where a resample has no denominator."""
        den = weights @ self.den
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, (weights @ self.num) / np.where(den > 0, den, 1.0), np.nan)


def resample_weights(n: int, resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED) -> np.ndarray:
    """(resamples, n) counts: how often each of ``n`` frames is drawn in each bootstrap resample."""
    if n <= 0:
        return np.zeros((resamples, 0))
    rng = np.random.default_rng(seed)
    return rng.multinomial(n, np.full(n, 1.0 / n), size=resamples).astype(np.float64)


def percentile_interval(samples: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """Two-sided percentile interval of bootstrap ``samples`` (NaN resamples ignored)."""
    samples = np.asarray(samples, np.float64)
    samples = samples[~np.isnan(samples)]
    if not len(samples):
        return float("nan"), float("nan")
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(samples, [tail, 100.0 - tail])
    return float(low), float(high)


def with_interval(
    name: str, value: float, samples: np.ndarray, confidence: float = 0.95, digits: int = 5
) -> dict[str, float]:
    """``{name, name_ci_low, name_ci_high}`` rounded for a metrics file."""
    low, high = percentile_interval(samples, confidence)
    return {name: round(value, digits), f"{name}_ci_low": round(low, digits), f"{name}_ci_high": round(high, digits)}


def ratio_metrics(
    ratios: dict[str, Ratio],
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = 0.95,
    suffix: str = "",
) -> dict[str, float]:
    """Each ratio's value and 95 % interval, keys ``<name><suffix>``, ``..._ci_low``, ``..._ci_high``."""
    out: dict[str, float] = {}
    if not ratios:
        return out
    n = len(next(iter(ratios.values())))
    weights = resample_weights(n, resamples, seed)
    for name, ratio in ratios.items():
        out.update(with_interval(name + suffix, ratio.value(), ratio.resampled(weights), confidence))
    return out


@dataclass(frozen=True)
class PairedDifference:
    """``candidate - reference`` on the same frames, with its bootstrap distribution."""

    value: float
    samples: np.ndarray

    def upper(self, confidence: float = 0.95) -> float:
        """One-sided upper confidence bound of the difference."""
        s = self.samples[~np.isnan(self.samples)]
        return float(np.percentile(s, confidence * 100.0)) if len(s) else float("nan")

    def lower(self, confidence: float = 0.95) -> float:
        """One-sided lower confidence bound of the difference."""
        s = self.samples[~np.isnan(self.samples)]
        return float(np.percentile(s, (1.0 - confidence) * 100.0)) if len(s) else float("nan")


def paired_difference(
    candidate: Ratio, reference: Ratio, resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED
) -> PairedDifference:
    """``candidate - reference`` where both were scored on the same frames, in the same order."""
    if len(candidate) != len(reference):
        raise ValueError(f"paired comparison needs the same frames: {len(candidate)} vs {len(reference)} scores")
    weights = resample_weights(len(candidate), resamples, seed)
    return PairedDifference(
        candidate.value() - reference.value(), candidate.resampled(weights) - reference.resampled(weights)
    )

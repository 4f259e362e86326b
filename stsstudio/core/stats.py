"""Honest numbers: bootstrap intervals for correlations and a plain-words verdict.

Dev sets in an expert's project hold 10 to a few hundred pairs. A Spearman correlation on 20
pairs has a 95 % interval about ±0.1 wide, so every figure the app shows carries its interval,
and a tuned model is called "better" only when a paired bootstrap on the same dev pairs says so.

Pure numpy/scipy; no torch, no Qt. Every function is seeded and deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

DEFAULT_RESAMPLES = 1000
CONFIDENCE = 0.95


def _rank(x: np.ndarray) -> np.ndarray:
    """Average ranks along the last axis (ties share their mean rank), like scipy's rankdata."""
    from scipy.stats import rankdata

    return rankdata(x, axis=-1)


def _pearson_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row of ``a`` with the same row of ``b``; NaN where undefined."""
    a = a - a.mean(axis=-1, keepdims=True)
    b = b - b.mean(axis=-1, keepdims=True)
    den = np.sqrt((a * a).sum(-1) * (b * b).sum(-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (a * b).sum(-1) / den, np.nan)


def spearman(pred: Sequence[float], gold: Sequence[float]) -> float:
    """Spearman's rho of two equal-length sequences (NaN when either is constant)."""
    p, g = np.asarray(pred, float), np.asarray(gold, float)
    if len(p) < 2:
        return float("nan")
    return float(_pearson_rows(_rank(p)[None], _rank(g)[None])[0])


def bootstrap_indices(n: int, resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> np.ndarray:
    """``resamples`` x ``n`` row indices drawn with replacement (the same draw serves paired tests)."""
    return np.random.default_rng(seed).integers(0, n, size=(resamples, n))


def spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman of each row of ``x`` with the same row of ``y`` (bootstraps, vectorised); NaN where
    a row is constant."""
    return _pearson_rows(_rank(x), _rank(y))


def _spearman_resampled(pred: np.ndarray, gold: np.ndarray, idx: np.ndarray) -> np.ndarray:
    return spearman_rows(pred[idx], gold[idx])


def _interval(values: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    values = values[np.isfinite(values)]
    if values.size == 0:
        return (float("nan"), float("nan"))
    tail = (1 - confidence) / 2 * 100
    lo, hi = np.percentile(values, [tail, 100 - tail])
    return (float(lo), float(hi))


def spearman_ci(pred: Sequence[float], gold: Sequence[float], *, resamples: int = DEFAULT_RESAMPLES,
                seed: int = 0, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Percentile bootstrap interval of Spearman's rho over the pairs.

    Args:
        pred: predicted similarities, one per pair.
        gold: the labels of the same pairs.
        resamples: bootstrap resamples.
        seed: the resampling seed (same seed, same interval).
        confidence: the interval's coverage, 0.95 by default.

    Returns:
        ``(low, high)``; NaNs with fewer than 3 pairs.
    """
    p, g = np.asarray(pred, float), np.asarray(gold, float)
    if len(p) < 3:
        return (float("nan"), float("nan"))
    return _interval(_spearman_resampled(p, g, bootstrap_indices(len(p), resamples, seed)), confidence)


@dataclass
class Comparison:
    """Tuned against base on the same pairs: the figures behind the verdict."""

    pairs: int
    base: float
    tuned: float
    diff: float
    diff_ci: tuple[float, float]
    tuned_ci: tuple[float, float]
    outcome: str                  # "better" | "worse" | "unclear"
    more_pairs_needed: int | None  # for "unclear": about how many more dev labels would settle it
    verdict: str                  # the plain-words sentence

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["diff_ci"] = list(self.diff_ci)
        d["tuned_ci"] = list(self.tuned_ci)
        return d


def more_pairs_needed(diff: float, ci: tuple[float, float], n: int) -> int | None:
    """About how many more labeled pairs would make an interval of this width exclude zero.

    The interval's half-width shrinks like 1/sqrt(n); solve half_width * sqrt(n / m) = |diff| for
    the total m. None when the difference is zero (no number of pairs would settle it) or the
    answer is absurd (more than 100x the pairs at hand, reported as None too).
    """
    half = (ci[1] - ci[0]) / 2
    if not (math.isfinite(half) and half > 0 and math.isfinite(diff)) or abs(diff) < 1e-9 or n < 1:
        return None
    total = n * (half / abs(diff)) ** 2
    extra = math.ceil(total - n)
    if extra > 100 * n:
        return None
    return max(extra, 1)


def compare_to_base(tuned: Sequence[float], base: Sequence[float], gold: Sequence[float], *,
                    resamples: int = DEFAULT_RESAMPLES, seed: int = 0,
                    confidence: float = CONFIDENCE, what: str = "dev pairs") -> Comparison:
    """Paired bootstrap of Spearman(tuned) - Spearman(base) on the same labeled pairs.

    Both models are scored on every resample of the same pairs, so the pair-to-pair difficulty
    that both share cancels out, and the interval is much narrower than two separate ones.

    Args:
        tuned: the tuned model's similarities.
        base: the base model's similarities on the same pairs, same order.
        gold: the labels.
        what: how the verdict names the pairs ("dev pairs", "held-out pairs").
    """
    t, b, g = (np.asarray(x, float) for x in (tuned, base, gold))
    n = len(g)
    st, sb = spearman(t, g), spearman(b, g)
    diff = st - sb
    if n < 3:
        return Comparison(n, sb, st, diff, (float("nan"), float("nan")), (float("nan"), float("nan")),
                          "unclear", None, f"Too few {what} ({n}) to compare the models.")
    idx = bootstrap_indices(n, resamples, seed)
    rt = _spearman_resampled(t, g, idx)
    rb = _spearman_resampled(b, g, idx)
    ci = _interval(rt - rb, confidence)
    tuned_ci = _interval(rt, confidence)
    if ci[0] > 0:
        outcome = "better"
        verdict = (f"Better than the base model: {diff:+.3f} (95 % interval {ci[0]:+.3f} to {ci[1]:+.3f}) "
                   f"on {n} {what}.")
        need = None
    elif ci[1] < 0:
        outcome = "worse"
        verdict = (f"Worse than the base model: {diff:+.3f} (95 % interval {ci[0]:+.3f} to {ci[1]:+.3f}) "
                   f"on {n} {what}. The base model is kept as the default.")
        need = None
    else:
        outcome = "unclear"
        need = more_pairs_needed(diff, ci, n)
        verdict = (f"Not distinguishable from the base model on {n} {what}: {diff:+.3f} "
                   f"(95 % interval {ci[0]:+.3f} to {ci[1]:+.3f}).")
        if need is not None:
            verdict += f" About {need} more dev labels would settle it."
    return Comparison(n, sb, st, diff, ci, tuned_ci, outcome, need, verdict)


def format_ci(value: float | None, ci: Sequence[float] | None) -> str:
    """``0.812 (95 % CI 0.76–0.85)``, or just the value when there is no interval."""
    if value is None or not math.isfinite(value):
        return "–"
    if not ci or len(ci) != 2 or not all(math.isfinite(c) for c in ci):
        return f"{value:.3f}"
    return f"{value:.3f} (95 % interval {ci[0]:.3f}–{ci[1]:.3f})"


HEADLINES = {
    "better": ("The tuned model ranks your pairs more like you do than the base model.", "ok"),
    "unclear": ("The tuned model is not measurably better than the base model yet.", "warn"),
    "worse": ("The tuned model ranks your pairs worse than the base model; Try and Export keep the base "
              "model as the default.", "error"),
}


def headline(outcome: str) -> tuple[str, str]:
    """The plain-words first sentence for a run's outcome, and its tone ("ok", "warn", "error").

    The GUI banner, the run history and the model card lead with it; the verdict (with the
    numbers and their interval) follows as the detail.
    """
    return HEADLINES.get(outcome, ("The run finished.", "ok"))

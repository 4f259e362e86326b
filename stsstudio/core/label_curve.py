"""How many labels do I need? The gain from more labels, estimated from the run's own folds.

The estimate's k-fold cross-validation gives out-of-fold predictions from models trained on
(k-1)/k of the labels (``n_full``). Small models, each trained on one fold alone (``n_half``, a
subset of the training part of every other fold's model), predict pairs of the other folds
(core/estimate.py, ``curve_subsets``). On those pairs that gives two predictions of every label,
from models trained on about n_full and n_half labels. Gains in Spearman grow about linearly in the
logarithm of the label count over the range an expert meets (measured in bench/small_data.py), so
the difference between the two is the gain per doubling of the labels, and:

    gain(m labels) = gain(n_full) + per_doubling * log2(m / n_full)

The interval is a paired bootstrap over the labels (every resample re-ranks both predictions
and the gold scores), so it widens with fewer labels. It does not see the luck of the training
seed; bench/small_data.py reports how often the true gain fell inside it.

Pure numpy and scipy: the Train view, the model card and ``train --json`` read the same dict.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from stsstudio.core import stats

BOOTSTRAP = 1000
LEVEL = 0.95


def fit(gold: Any, base: Any, full: Any, half: Any, *, n_full: float, n_half: float, labels: int,
        seed: int = 0, bootstrap: int = BOOTSTRAP) -> dict[str, Any]:
    """The label curve from out-of-fold predictions.

    Args:
        gold: the labels (0-1), one per labeled pair.
        base, full, half: the base model's predictions and the out-of-sample predictions of the
            models trained on about ``n_full`` and ``n_half`` labels (nested), pair by pair.
        n_full, n_half: the mean training labels of those models.
        labels: the labels the final model trains on (the project's count).

    Returns:
        ``per_doubling`` (estimate, lo, hi), ``now`` (the gain over the base model expected of
        the final model, with interval) and ``more``: for 2x and 4x the labels, the added gain
        (estimate, lo, hi) over the final model.
    """
    gold = np.asarray(gold, float)
    preds = np.vstack([np.asarray(base, float), np.asarray(full, float), np.asarray(half, float)])
    n = gold.size
    idx = np.vstack([np.arange(n), stats.bootstrap_indices(n, bootstrap, seed)])
    g = gold[idx]
    sp = np.stack([stats.spearman_rows(p[idx], g) for p in preds])      # 3 x (B+1)
    doublings = math.log2(max(n_full, 1.0) / max(n_half, 1.0)) or 1.0
    slope = (sp[1] - sp[2]) / doublings
    to_now = math.log2(max(labels, 1) / max(n_full, 1.0))
    now = (sp[1] - sp[0]) + slope * to_now
    alpha = (1 - LEVEL) / 2

    def interval(values: np.ndarray) -> list[float]:
        lo, hi = np.nanquantile(values[1:], [alpha, 1 - alpha])
        return [round(float(values[0]), 4), round(float(lo), 4), round(float(hi), 4)]

    more = {f"{factor}x": {"labels": labels * factor, "added": interval(slope * math.log2(factor))}
            for factor in (2, 4)}
    return {"labels": int(labels), "n_full": round(float(n_full), 1), "n_half": round(float(n_half), 1),
            "per_doubling": interval(slope), "now": interval(now), "more": more,
            "cv_gain": round(float(sp[1, 0] - sp[0, 0]), 4),
            "half_gain": round(float(sp[2, 0] - sp[0, 0]), 4)}


def predict_added(curve: dict[str, Any], labels: int) -> list[float]:
    """The added gain (estimate, lo, hi) over the final model at ``labels`` labels in all."""
    steps = math.log2(max(labels, 1) / max(curve["labels"], 1))
    est, lo, hi = curve["per_doubling"]
    ends = sorted((lo * steps, hi * steps))
    return [round(est * steps, 4), round(ends[0], 4), round(ends[1], 4)]


def _signed(x: float) -> str:
    return f"{x:+.2f}".replace("+0.00", "0.00").replace("-0.00", "0.00")


def sentence(curve: dict[str, Any] | None) -> str:
    """The curve in one plain sentence, e.g. "About 300 more labels (600 in all) would likely add
    +0.01 to +0.03 Spearman; 900 more, +0.02 to +0.06." Empty without a curve."""
    if not curve:
        return ""
    n = int(curve["labels"])
    two, four = curve["more"]["2x"]["added"], curve["more"]["4x"]["added"]
    if two[2] <= 0.005:
        return (f"More labels of the same kind would likely add little: doubling them to {2 * n:,} is "
                f"expected to change the Spearman by {_signed(two[1])} to {_signed(two[2])}.")
    return (f"About {n:,} more labels ({2 * n:,} in all) would likely add {_signed(two[1])} to "
            f"{_signed(two[2])} Spearman; {3 * n:,} more, {_signed(four[1])} to {_signed(four[2])}.")

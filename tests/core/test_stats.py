"""Bootstrap intervals and the paired verdict, checked against a direct numpy computation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from stsstudio.core import stats


@pytest.fixture
def fixed():
    rng = np.random.default_rng(7)
    gold = rng.uniform(0, 1, 60)
    base = gold + rng.normal(0, 0.35, 60)
    tuned = gold + rng.normal(0, 0.15, 60)
    return tuned, base, gold


def _direct_spearman_ci(pred, gold, resamples, seed):
    """The textbook loop: resample rows, scipy's Spearman, 2.5th and 97.5th percentiles."""
    idx = np.random.default_rng(seed).integers(0, len(gold), size=(resamples, len(gold)))
    vals = [spearmanr(pred[i], gold[i]).statistic for i in idx]
    return np.percentile(vals, [2.5, 97.5])


def test_spearman_matches_scipy(fixed):
    tuned, _, gold = fixed
    assert stats.spearman(tuned, gold) == pytest.approx(spearmanr(tuned, gold).statistic, abs=1e-12)
    ties = np.array([1, 1, 2, 2, 3, 3.0])
    assert stats.spearman(ties, [1, 2, 3, 4, 5, 6]) == pytest.approx(
        spearmanr(ties, [1, 2, 3, 4, 5, 6]).statistic, abs=1e-12)


def test_spearman_ci_matches_direct_loop(fixed):
    tuned, _, gold = fixed
    lo, hi = stats.spearman_ci(tuned, gold, resamples=300, seed=3)
    dlo, dhi = _direct_spearman_ci(tuned, gold, 300, 3)
    assert (lo, hi) == pytest.approx((dlo, dhi), abs=1e-9)
    assert lo < stats.spearman(tuned, gold) < hi
    # Same seed, same interval; fewer pairs, wider interval.
    assert stats.spearman_ci(tuned, gold, resamples=300, seed=3) == (lo, hi)
    lo10, hi10 = stats.spearman_ci(tuned[:10], gold[:10], resamples=300, seed=3)
    assert hi10 - lo10 > hi - lo


def test_paired_bootstrap_matches_direct_loop(fixed):
    tuned, base, gold = fixed
    c = stats.compare_to_base(tuned, base, gold, resamples=400, seed=5)
    idx = np.random.default_rng(5).integers(0, len(gold), size=(400, len(gold)))
    diffs = [spearmanr(tuned[i], gold[i]).statistic - spearmanr(base[i], gold[i]).statistic for i in idx]
    assert c.diff_ci == pytest.approx(tuple(np.percentile(diffs, [2.5, 97.5])), abs=1e-9)
    assert c.diff == pytest.approx(spearmanr(tuned, gold).statistic - spearmanr(base, gold).statistic)
    assert c.outcome == "better" and c.diff_ci[0] > 0
    assert c.verdict.startswith("Better than the base model: +")
    assert "on 60 dev pairs" in c.verdict


def test_verdict_worse_and_unclear(fixed):
    tuned, base, gold = fixed
    worse = stats.compare_to_base(base, tuned, gold, seed=1)
    assert worse.outcome == "worse" and "base model is kept" in worse.verdict
    # Two models of the same quality on 20 pairs: no verdict, and a finite number of labels to settle it.
    rng = np.random.default_rng(11)
    g = rng.uniform(0, 1, 20)
    a, b = g + rng.normal(0, 0.3, 20), g + rng.normal(0, 0.3, 20)
    c = stats.compare_to_base(a, b, g, seed=2)
    assert c.outcome == "unclear"
    assert c.diff_ci[0] <= 0 <= c.diff_ci[1]
    assert c.verdict.startswith("Not distinguishable from the base model on 20 dev pairs")
    if c.more_pairs_needed is not None:
        assert f"About {c.more_pairs_needed} more dev labels" in c.verdict


def test_more_pairs_needed_scales_with_the_interval():
    # Half-width 0.1 on 25 pairs, difference 0.05: the width must halve, so 4x the pairs, 75 more.
    assert stats.more_pairs_needed(0.05, (-0.05, 0.15), 25) == 75
    assert stats.more_pairs_needed(0.0, (-0.1, 0.1), 25) is None
    assert stats.more_pairs_needed(0.2, (-0.05, 0.15), 25) == 1  # already settled by width: at least one


def test_tiny_inputs_do_not_crash():
    assert np.isnan(stats.spearman_ci([0.1, 0.2], [0.3, 0.1])[0])
    c = stats.compare_to_base([0.1, 0.2], [0.2, 0.1], [0.0, 1.0])
    assert c.outcome == "unclear" and "Too few" in c.verdict
    assert stats.format_ci(0.81234, (0.7, 0.9)) == "0.812 (95 % interval 0.700–0.900)"
    assert stats.format_ci(None, None) == "–"

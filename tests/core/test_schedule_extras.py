"""Issue 23's automatic additions: silver pairs only where the bench measured them better, each
part a switch that gives back the plain schedule, and the label curve's arithmetic."""

from __future__ import annotations

import numpy as np
import pytest

from stsstudio.core import label_curve
from stsstudio.core.schedule import automatic_blend, automatic_silver, resolve


def test_silver_is_automatic_only_from_a_thousand_labels() -> None:
    assert [automatic_silver(n) for n in (50, 100, 300, 999)] == [0, 0, 0, 0]
    assert automatic_silver(1000) == 2000 and automatic_silver(3000) == 2000
    assert automatic_silver(3001) == 0
    assert automatic_blend(100) == 1.0        # measured, not shipped


def test_switches_give_the_plain_schedule_and_the_sentence_says_what_runs() -> None:
    auto = resolve(1200, 0)
    assert auto.silver == 2000 and "silver pairs labeled by a cross-encoder" in auto.describe()
    off = resolve(1200, 0, silver=0, blend=1.0)
    assert off.silver == 0 and off.blend == 1.0 and "silver" not in off.describe()
    assert (off.steps, off.learning_rate, off.loss) == (auto.steps, auto.learning_rate, auto.loss)
    blended = resolve(100, 0, blend=0.7)
    assert "blended 70% with the base model" in blended.describe()


def test_label_curve_recovers_a_known_slope() -> None:
    rng = np.random.default_rng(0)
    gold = rng.random(400)
    noise = rng.normal(size=400)
    base = gold + 1.2 * noise
    half = gold + 0.9 * noise
    full = gold + 0.6 * noise
    curve = label_curve.fit(gold, base, full, half, n_full=200, n_half=100, labels=300, bootstrap=300)
    est, lo, hi = curve["per_doubling"]
    assert lo < est < hi and est > 0
    assert curve["cv_gain"] > curve["half_gain"] > 0
    assert curve["more"]["4x"]["added"][0] == pytest.approx(2 * curve["more"]["2x"]["added"][0], abs=1e-3)
    assert label_curve.predict_added(curve, 600)[0] == pytest.approx(est, abs=1e-3)
    text = label_curve.sentence(curve)
    assert text.startswith("About 300 more labels (600 in all) would likely add")


def test_a_flat_curve_says_more_labels_add_little() -> None:
    rng = np.random.default_rng(1)
    gold = rng.random(300)
    same = gold + rng.normal(size=300)
    curve = label_curve.fit(gold, same - 0.1 * rng.normal(size=300), same, same, n_full=100, n_half=50,
                            labels=120, bootstrap=200)
    assert curve["per_doubling"][0] == 0.0
    assert label_curve.sentence(curve).startswith("More labels of the same kind would likely add little")

"""The model's guess as a person reads it (issue 20, points 8 and 11): one core rule for the
calibrated guess, a word when the calibration is too rough, and a word when a sentence is longer
than the model reads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stsstudio.core import inference
from stsstudio.core.calibration import (
    MIN_USEFUL_LABELS,
    Calibration,
    calibrated_guess,
    fit_calibration,
    project_guess,
)
from stsstudio.core.store import Project


def _project(path: Path, labels: list[float], cosine: list[float]) -> Project:
    project = Project.create(path)
    project.set_display_scale("1-5")
    project.pairs.insert([(f"s{i} a", f"s{i} b", y, "dev", i + 1, None) for i, y in enumerate(labels)])
    project.predictions.start(0)
    project.predictions.add(0, [(i + 1, c, None) for i, c in enumerate(cosine)])
    project.predictions.finish(0, "m", project.pairs.version(), len(cosine))
    return project


def test_a_calibration_on_a_few_pairs_says_it_is_rough(tmp_path: Path) -> None:
    # Eight labels: the isotonic map has few steps, so most cosines get the same guess.
    labels = [0.5, 0.7, 0.6, 0.8, 0.65, 0.75, 0.7, 0.2]
    cosine = [0.30, 0.35, 0.40, 0.45, 0.5, 0.55, 0.6, 0.65]
    with _project(tmp_path / "few", labels, cosine) as project:
        cal = fit_calibration(project, 0)
        assert cal is not None and cal.labels == 8 and cal.coarse
        guesses = {round(cal.guess(c), 3) for c in np.linspace(0.4, 0.7, 30)}
        assert len(guesses) <= 3                  # the "many guesses were the same 3.7" picture
        guess = project_guess(project, 0, 0.5)
        assert guess.calibrated and guess.value == pytest.approx(cal.guess(0.5))
        assert "fitted on only 8 labelled pairs" in guess.caveat()
        assert guess.describe("1-5").startswith(f"{1 + 4 * guess.value:.1f} of 5: ")


def test_a_calibration_on_enough_spread_pairs_has_no_caveat(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    labels = rng.uniform(0, 1, MIN_USEFUL_LABELS + 20)
    cosine = 0.3 + 0.4 * labels + rng.normal(0, 0.02, len(labels))
    with _project(tmp_path / "many", [float(v) for v in labels], [float(c) for c in cosine]) as project:
        cal = fit_calibration(project, 0)
        assert cal is not None and not cal.coarse and cal.caveat() == ""
        assert project_guess(project, 0, 0.5).caveat() == ""


def test_without_a_calibration_the_guess_is_the_clipped_cosine_and_says_so() -> None:
    guess = calibrated_guess(1.3, 2, None)
    assert guess.value == 1.0 and not guess.calibrated and guess.model == "run 2"
    assert "not fitted to your labels yet" in guess.caveat()
    cal = Calibration(0, [0.0, 1.0], [0.2, 0.8], labels=40, fitted_on="dev")
    assert calibrated_guess(0.5, 0, cal).value == pytest.approx(0.5)


def test_the_cli_and_try_use_the_same_rule(tmp_path: Path) -> None:
    from stsstudio.cli import _calibrated_line

    labels = [0.5, 0.7, 0.6, 0.8, 0.65, 0.75, 0.7, 0.2]
    with _project(tmp_path / "p", labels, [0.30, 0.35, 0.40, 0.45, 0.5, 0.55, 0.6, 0.65]) as project:
        fit_calibration(project, 0)
        line = _calibrated_line(project, "base", 0.5)
        guess = project_guess(project, 0, 0.5)
        assert line.startswith(guess.describe("1-5")) and "cosine 0.5000" in line
        assert guess.caveat() in line


def test_cut_note_names_the_sentence_longer_than_the_model_reads(tiny_model_dir: Path) -> None:
    inference.clear_model_cache()
    model = inference.get_model(str(tiny_model_dir), device="cpu")
    limit = model.max_seq_length
    short, long = "the dog is running", " ".join(["the dog is running"] * limit)
    got_limit, counts = inference.token_counts(model, [short, long])
    assert got_limit == limit and counts[0] < limit < counts[1]
    note = inference.cut_note(got_limit, counts)
    assert note == (f"Only the first {limit} tokens of the second sentence were read (it has {counts[1]}); "
                    "the rest does not count.")
    assert inference.cut_note(got_limit, [counts[0], counts[0]]) == ""
    assert inference.loaded_model(None, str(tiny_model_dir)) is model     # loaded: found, not reloaded
    inference.clear_model_cache()
    assert inference.loaded_model(None, str(tiny_model_dir)) is None      # never loads one itself

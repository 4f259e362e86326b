"""The model in the loop (issue 12): stored predictions, calibration, model queue orders, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from training_support import add_finished_run, stsb_rows

from stsstudio import cli
from stsstudio.core import inference
from stsstudio.core.calibration import Calibration, _pav, describe_guess, fit_calibration, isotonic
from stsstudio.core.label_queue import (
    LabelQueue,
    OrderPlan,
    next_pairs,
    order_plan,
    rank_pairs,
    why_empty,
)
from stsstudio.core.predictions import (
    NoPredictionsError,
    current_prediction_run,
    guesses,
    predict_pairs,
)
from stsstudio.core.store import Project


def _tiny_project(path: Path, model: Path, n: int = 12, labeled: int = 8) -> Project:
    inference.clear_model_cache()
    project = Project.create(path, base_model=str(model))
    rows = stsb_rows(n)
    project.pairs.insert([(a, b, y if i < labeled else None, "dev" if i % 3 == 0 else "train", i + 1, None)
                          for i, (a, b, y) in enumerate(rows)])
    return project


def _known(project: Project, run_id: int, scores: dict[int, float], model: str = "m") -> None:
    project.predictions.start(run_id)
    project.predictions.add(run_id, [(pid, s, None) for pid, s in scores.items()])
    project.predictions.finish(run_id, model, project.pairs.version(), len(scores))


# -- predictions ----------------------------------------------------------------------------


def test_predictions_are_stored_per_run_and_refreshed(tmp_path: Path, tiny_model_dir: Path) -> None:
    with _tiny_project(tmp_path / "p", tiny_model_dir) as project:
        assert current_prediction_run(project) is None
        result = predict_pairs(project, "best")          # no run yet: the base model
        assert result.run_id == 0 and result.pairs == 12
        base = project.predictions.get(0)
        assert sorted(base) == sorted(pid for pid, _, _ in project.pairs.targets())
        pair = project.pairs.get(3)
        expected = inference.similarity("base", pair.sentence1, pair.sentence2, project=project)
        assert base[3][0] == pytest.approx(expected, abs=1e-5)
        assert current_prediction_run(project) == 0

        run_id = add_finished_run(project, tiny_model_dir)
        assert current_prediction_run(project) == 0      # the run is not scored yet: base stays
        assert predict_pairs(project, "best").run_id == run_id
        assert set(project.predictions.sets()) == {0, run_id}
        assert current_prediction_run(project) == run_id

        # New pairs: a fresh scoring of the run covers them, the base set is untouched.
        project.pairs.insert([("a new pair here", "another new pair", None, "none", 99, None)])
        predict_pairs(project, run_id)
        assert len(project.predictions.get(run_id)) == 13 and len(project.predictions.get(0)) == 12
        project.runs.delete(run_id)
        assert set(project.predictions.sets()) == {0} and project.predictions.get(run_id) == {}


def test_cancelled_scoring_leaves_no_half_set(tmp_path: Path, tiny_model_dir: Path) -> None:
    class Cancel:
        def progress(self, done: int, total: int) -> None:
            pass

        def is_cancelled(self) -> bool:
            return True

    from stsstudio.core.errors import Cancelled

    with _tiny_project(tmp_path / "p", tiny_model_dir) as project:
        with pytest.raises(Cancelled):
            predict_pairs(project, "base", task=Cancel())
        assert project.predictions.sets() == {}


# -- calibration ----------------------------------------------------------------------------


def test_calibration_is_monotone_and_lowers_the_error_of_compressed_cosine(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    labels = rng.uniform(0, 1, 80)
    # A base model's picture: everything between 0.3 and 0.7, order mostly right.
    cosine = 0.3 + 0.4 * labels + rng.normal(0, 0.03, 80)
    with Project.create(tmp_path / "p") as project:
        project.set_display_scale("1-5")
        project.pairs.insert([(f"s{i} a", f"s{i} b", float(y), "dev", i + 1, None)
                              for i, y in enumerate(labels)])
        _known(project, 0, {i + 1: float(c) for i, c in enumerate(cosine)})
        cal = fit_calibration(project, 0)
        assert cal is not None and cal.fitted_on == "dev" and cal.labels == 80
        assert all(b >= a for a, b in zip(cal.y, cal.y[1:])) and all(b >= a for a, b in zip(cal.x, cal.x[1:]))
        grid = cal.apply(np.linspace(-1, 1, 401))
        assert np.all(np.diff(grid) >= 0)
        assert cal.mae_calibrated < 0.5 * cal.mae_raw     # on the 1-5 scale, held out (k-fold)
        stored = Calibration.load(project, 0)
        assert stored is not None and stored.x == cal.x and stored.mae_raw == cal.mae_raw
        # The guesses the views show go through it.
        g = guesses(project, [1, 2])
        assert g[1] == pytest.approx(cal.guess(cosine[0]))
        assert describe_guess(0.725, "1-5") == "3.9 of 5: mostly equivalent"


def test_pav_fallback_matches_scipy() -> None:
    y = np.array([0.1, 0.5, 0.3, 0.2, 0.9, 0.8, 1.0])
    assert np.allclose(_pav(y, np.ones(len(y))), isotonic(y))


# -- queue orders ---------------------------------------------------------------------------

# Pairs 1-4 labeled, 5-10 unlabeled. Pair 7 and 8 are near-copies.
TEXTS = [
    ("a man plays guitar", "a man plays a guitar", 0.9),
    ("a dog runs", "a cat sleeps", 0.1),
    ("the vpn drops", "vpn keeps dropping", 0.8),
    ("printer is slow", "the weather is nice", 0.0),
    ("a woman slices cheese", "a woman cuts cheese", None),
    ("kids play football", "children are eating", None),
    ("the laptop screen is broken today", "my laptop screen broke", None),
    ("the laptop screen is broken today!", "my laptop screen broke again", None),
    ("stocks fell sharply", "markets dropped", None),
    ("a bird sings", "the train is late", None),
]
BASE = {1: 0.6, 2: 0.3, 3: 0.5, 4: 0.25, 5: 0.55, 6: 0.35, 7: 0.5, 8: 0.5, 9: 0.4, 10: 0.2}
TUNED = {1: 0.97, 2: 0.1, 3: 0.2, 4: 0.05, 5: 0.85, 6: 0.45, 7: 0.95, 8: 0.94, 9: 0.47, 10: 0.17}


@pytest.fixture
def known(tmp_path: Path, tiny_model_dir: Path) -> Project:
    project = Project.create(tmp_path / "q")
    project.pairs.insert([(a, b, y, "train", i + 1, None) for i, (a, b, y) in enumerate(TEXTS)])
    run_id = add_finished_run(project, tiny_model_dir)
    assert run_id == 1
    _known(project, 0, BASE)
    _known(project, 1, TUNED)
    yield project
    project.close()


def test_review_disagreements_ranks_labeled_pairs_by_gap(known: Project) -> None:
    choices = rank_pairs(known, "review")
    # |label - guess| with no calibration stored: 3: 0.6, 1: 0.07, 4: 0.05, 2: 0.0
    assert [c.pair_id for c in choices] == [3, 1, 4, 2]
    assert choices[0].value == pytest.approx(0.6) and "run 1" in choices[0].reason
    assert all(known.pairs.get(c.pair_id).score is not None for c in choices)


def test_most_informative_ranks_by_disagreement_and_spreads_near_copies(known: Project,
                                                                        monkeypatch) -> None:
    import stsstudio.core.label_queue as lq

    order = [c.pair_id for c in rank_pairs(known, "informative")]
    # gaps: 7: .45, 8: .44, 5: .30, 6: .10, 9: .07, 10: .03; 8 is a near-copy of 7
    assert order == [7, 5, 6, 9, 10, 8]
    monkeypatch.setattr(lq, "DIVERSITY_BATCH", 2)
    choices = rank_pairs(known, "informative")
    ids = [c.pair_id for c in choices]
    assert ids[:2] == [7, 5]                  # 8 is a near-copy of 7: not in the same batch
    assert set(ids) == {5, 6, 7, 8, 9, 10}    # unlabeled only
    assert "later batch" in next(c for c in choices if c.pair_id == 8).reason
    monkeypatch.setattr(lq, "DIVERSITY_BATCH", 20)
    assert [c.pair_id for c in rank_pairs(known, "informative")] == [7, 5, 6, 9, 10, 8]


def test_thin_bands_fills_the_emptiest_band_first(known: Project) -> None:
    # Guesses of the unlabeled pairs 5-10:
    # 5: .85 (band 8), 6: .45 (4), 7: .95 (9), 8: .94 (9), 9: .47 (4), 10: .17 (1)
    # Labels: .9 (band 9), .1 (band 1), .8 (band 8), .0 (band 0).
    choices = rank_pairs(known, "thin_bands")
    ids = [c.pair_id for c in choices]
    # Band 4 has no labels: 6 first. Then bands 1, 4, 8 and 9 all count 1: the lower band
    # first (10, 9, 5, 7); band 9 then counts 2 and gives its second pair (8) last.
    assert ids == [6, 10, 9, 5, 7, 8]
    assert "had 0 labels" in choices[0].reason


def test_the_view_queue_reads_the_model_orders(known: Project) -> None:
    queue = LabelQueue(known, order="review")
    queue.extend()
    assert queue.ids == [3, 1, 4, 2] and "guesses" in queue.reasons[3]
    queue = LabelQueue(known, order="informative")
    while queue.extend():
        pass
    assert queue.ids[:6] == [7, 5, 6, 9, 10, 8] and set(queue.ids[6:]) == {1, 2, 3, 4}


def test_model_orders_without_predictions_say_what_is_missing(tmp_path: Path) -> None:
    with Project.create(tmp_path / "e") as project:
        project.pairs.insert([("a", "b", None, "train", 1, None), ("c", "d", None, "train", 2, None),
                              ("e", "f", None, "train", 3, None)])
        with pytest.raises(NoPredictionsError) as raised:
            rank_pairs(project, "thin_bands")
        assert "stsstudio" not in str(raised.value)          # the app shows it: no command
        plan = order_plan(project, "informative")
        assert not plan.ready and plan.missing == (0,) and plan.missing_names == "the base model"
        assert order_plan(project, "file") == OrderPlan("file")
        assert [c.pair_id for c in next_pairs(project, "file", limit=5)] == [1, 2, 3]


def test_most_informative_before_any_run_uses_the_base_model_alone(tmp_path: Path) -> None:
    with Project.create(tmp_path / "e") as project:
        project.pairs.insert([(f"s{i} x", f"t{i} y", None, "train", i, None) for i in range(1, 5)])
        _known(project, 0, {1: 0.9, 2: 0.45, 3: 0.1, 4: 0.58})
        plan = order_plan(project, "informative")
        assert plan.ready and plan.missing == ()
        assert "No trained run yet" in plan.uses and "the base model alone" in plan.uses
        choices = rank_pairs(project, "informative")
        # nearest the middle of the scale first: |guess - 0.5| = .05, .08, .4, .4
        assert [c.pair_id for c in choices] == [2, 4, 1, 3]
        assert "least sure" in choices[0].reason
        queue = LabelQueue(project, order="informative")
        queue.extend()
        assert queue.ids[:4] == [2, 4, 1, 3] and not queue.problem


def test_the_plan_names_the_sets_an_order_compares(known: Project) -> None:
    assert order_plan(known, "informative").uses.startswith("Ranked by where run 1 and the base model")
    assert order_plan(known, "informative").missing == ()
    assert "run 1's guesses" in order_plan(known, "review").uses
    known.pairs.insert([("a late pair", "added after scoring", None, "train", 11, None)])
    assert order_plan(known, "informative").missing == (1, 0)    # both miss the new pair
    assert order_plan(known, "thin_bands").missing == (1,)
    assert order_plan(known, "thin_bands").ready


def test_empty_orders_say_why_and_offer_an_order_with_pairs(tmp_path: Path) -> None:
    with Project.create(tmp_path / "w") as project:
        project.pairs.insert([(f"s{i}", f"t{i}", None, "train", i, None) for i in range(1, 6)])
        for pid in (1, 2):
            project.labels.set(pid, 0.4, "ana")
        reason = why_empty(project, "disagreements")
        assert reason is not None and reason.switch_to == "file"
        assert reason.message == ("Only one person has labelled this project, so there are no "
                                  "disagreements to resolve.")
        assert reason.button == "Label the 3 unlabeled pairs"
        project.labels.set(3, 0.9, "ben")
        assert "no pair has labels from two of them" in why_empty(project, "disagreements").message
        project.labels.set(1, 0.45, "ben")                    # close to ana's: no disagreement
        assert "at most a quarter" in why_empty(project, "disagreements").message
        project.labels.set(2, 1.0, "ben")                     # a disagreement: the order has a pair
        assert why_empty(project, "disagreements") is None
        assert why_empty(project, "file") is None            # the end: start over reviews again
        assert "No pairs are assigned to ana" in why_empty(project, "assigned", annotator="ana").message
    with Project.create(tmp_path / "r") as project:
        project.pairs.insert([("a", "b", None, "train", 1, None)])
        assert why_empty(project, "review").title == "Nothing to review yet"


# -- CLI ------------------------------------------------------------------------------------


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _ours(err: str) -> list[str]:
    """stderr's lines but the library's own progress bars ("Loading weights: ...it/s]"), which
    the CLI does not print (issue 20 point 12 silences them)."""
    return [line for line in err.splitlines() if line.strip() and "it/s]" not in line]


def test_cli_queue_scores_a_new_project_itself_then_predict_and_queue(
        tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _tiny_project(tmp_path / "p", tiny_model_dir).close()
    path = str(tmp_path / "p")
    code, out, err = _run(capsys, "queue", path, "--order", "thin_bands", "--json")
    assert code == 0, err
    assert _ours(err) == ["Scoring pairs with the base model for 'Fill thin score bands'…"]
    assert len(json.loads(out)["pairs"]) == 4                  # the 4 unlabeled pairs
    code, out, err = _run(capsys, "queue", path, "--order", "informative", "--limit", "2")
    assert code == 0 and err == ""                             # scored already: no second scoring
    assert len(out.strip().splitlines()) == 2 and "least sure" in out

    code, out, err = _run(capsys, "predict", path, "--model", "base", "--json")
    assert code == 0, err
    done = json.loads(out.strip().splitlines()[-1])
    assert done["run"] == 0 and done["pairs"] == 12 and done["mae_calibrated"] is not None

    code, out, err = _run(capsys, "queue", path, "--order", "thin_bands", "--limit", "3", "--json")
    assert code == 0, err
    listed = json.loads(out)
    assert listed["order"] == "thin_bands" and len(listed["pairs"]) == 3
    with Project.open(path, readonly=True) as project:
        unlabeled = {pid for pid, _, _ in project.pairs.targets(labeled=False)}
    assert all(p["pair_id"] in unlabeled and p["reason"] for p in listed["pairs"])

    code, out, err = _run(capsys, "similarity", path, "--base", "--calibrated", "a man is playing",
                          "a man plays")
    assert code == 0, err
    assert " of 1: " in out and "cosine" in out


def test_cli_queue_informative_on_a_new_project(tmp_path: Path, tiny_model_dir: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    _tiny_project(tmp_path / "p", tiny_model_dir).close()
    code, out, err = _run(capsys, "queue", str(tmp_path / "p"), "--order", "informative", "--json")
    assert code == 0, err
    assert "Scoring pairs with the base model for 'Most informative first'" in err
    assert len(_ours(err)) == 1 and "Traceback" not in err
    pairs = json.loads(out)["pairs"]
    assert len(pairs) == 4 and all("least sure" in p["reason"] for p in pairs)
    with Project.open(tmp_path / "p", readonly=True) as project:
        assert set(project.predictions.sets()) == {0}
    code, out, err = _run(capsys, "queue", str(tmp_path / "p"), "--order", "disagreements")
    assert code == 0 and out == ""
    assert err.strip() == ("Only one person has labelled this project, so there are no disagreements "
                           "to resolve. Try --order file.")


def test_cli_train_scores_the_pairs_with_the_new_run(tmp_path: Path, tiny_model_dir: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    _tiny_project(tmp_path / "p", tiny_model_dir, n=24, labeled=24).close()
    code, out, err = _run(capsys, "train", str(tmp_path / "p"), "--max-steps", "2", "--epochs", "1",
                          "--device", "cpu", "--json")
    assert code == 0, err
    run_id = json.loads(out.strip().splitlines()[-1])["run"]
    with Project.open(tmp_path / "p", readonly=True) as project:
        assert run_id in project.predictions.sets()
        assert len(project.predictions.get(run_id)) == 24


def test_export_ships_the_calibration_and_the_card_shows_how_to_apply_it(tmp_path: Path,
                                                                          tiny_model_dir: Path) -> None:
    from stsstudio.core.export import export_run

    with _tiny_project(tmp_path / "p", tiny_model_dir, n=12, labeled=10) as project:
        project.set_display_scale("0-5")
        run_id = add_finished_run(project, tiny_model_dir)
        predict_pairs(project, run_id)
        cal = Calibration.load(project, run_id)
        assert cal is not None and cal.fitted_on == "all labels" and cal.notes
        out = export_run(project, tmp_path / "out", run_id)
    shipped = json.loads((out / "calibration.json").read_text())
    assert shipped["scale"] == "0-5" and shipped["cosine"] == cal.x
    assert shipped["score"] == pytest.approx([5 * v for v in cal.y])
    card = (out / "README.md").read_text()
    assert "## Scores on the labellers' scale (calibration)" in card
    assert 'np.interp(a @ b, cal["cosine"], cal["score"])' in card
    # Applying it the card's way gives the guess the app shows, on the 0-5 scale.
    cosine = float(np.mean(cal.x))
    applied = float(np.interp(cosine, shipped["cosine"], shipped["score"]))
    assert applied == pytest.approx(5 * cal.guess(cosine))


def test_export_without_calibration_has_no_section(tmp_path: Path, tiny_model_dir: Path) -> None:
    from stsstudio.core.export import export_run

    with _tiny_project(tmp_path / "p", tiny_model_dir) as project:
        run_id = add_finished_run(project, tiny_model_dir)
        out = export_run(project, tmp_path / "out", run_id)
    assert not (out / "calibration.json").exists()
    assert "calibration" not in (out / "README.md").read_text()


def test_the_view_queue_pages_through_a_model_order(known: Project) -> None:
    queue = LabelQueue(known, order="thin_bands", chunk=2)
    assert queue.extend() and queue.ids == [6, 10]
    assert queue.extend() and queue.ids == [6, 10, 9, 5]
    known.labels.set(7, 0.9)                   # labelled meanwhile: the next page skips it
    while queue.extend():
        pass
    assert queue.ids[:5] == [6, 10, 9, 5, 8] and len(queue.ids) == len(set(queue.ids))
    assert set(queue.ids[5:]) == {1, 2, 3, 4, 7}   # then the labeled pairs, for review

"""Evaluation: Spearman/Pearson checked against scipy directly, on our own embeddings."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from stsstudio.core import inference
from stsstudio.core.errors import UserError
from stsstudio.core.evaluation import (
    EvalResult,
    correlations,
    evaluate_pairs,
    evaluate_project,
    predict_split,
)
from stsstudio.core.inference import get_model
from stsstudio.core.store import Project

DEV = [
    ("the man is playing a guitar", "a man is playing the flute", 0.4),
    ("a dog is running on the street", "a cat is sitting", 0.1),
    ("my vpn keeps dropping", "the vpn connection drops again", 0.9),
    ("reset my password please", "i cannot login to my account", 0.6),
    ("the printer is broken", "printer not working today", 0.8),
    ("a woman is eating pizza", "the laptop screen is slow", 0.0),
]


@pytest.fixture
def proj(tmp_path: Path, tiny_model_dir: Path):
    inference.clear_model_cache()
    project = Project.create(tmp_path / "proj", base_model=str(tiny_model_dir))
    rows = [(s1, s2, score, "dev", i + 1, None) for i, (s1, s2, score) in enumerate(DEV)]
    rows += [("the bus is fast", "the train is slow", 0.3, "train", 10, None),
             ("my phone is broken", "phone not working", None, "dev", 11, None),  # unlabeled
             ("new user account", "email server error", 0.2, "test", 12, None)]
    project.pairs.insert(rows)
    yield project
    project.close()


def test_correlations_match_scipy() -> None:
    rng = np.random.default_rng(3)
    gold = rng.uniform(0, 5, 40)
    predicted = gold * 0.1 + rng.normal(0, 0.3, 40)
    spearman, pearson = correlations(gold, predicted)
    assert spearman == pytest.approx(stats.spearmanr(gold, predicted).statistic, abs=1e-12)
    assert pearson == pytest.approx(stats.pearsonr(gold, predicted).statistic, abs=1e-12)
    # Ranks with ties: scipy's average-rank Spearman, not a hand-rolled formula.
    g, p = [1, 2, 2, 3, 5], [0.1, 0.3, 0.2, 0.2, 0.9]
    assert correlations(g, p)[0] == pytest.approx(stats.spearmanr(g, p).statistic)
    assert correlations([0, 1], [0.2, 0.1]) == pytest.approx((-1.0, -1.0))


def test_correlations_refuse_what_is_undefined() -> None:
    with pytest.raises(UserError, match="at least 2"):
        correlations([0.5], [0.5])
    with pytest.raises(UserError, match="at least 2"):
        correlations([], [])
    with pytest.raises(UserError, match="same label"):
        correlations([0.5, 0.5, 0.5], [0.1, 0.2, 0.3])
    with pytest.raises(UserError, match="pair up"):
        correlations([0.1, 0.2], [0.1, 0.2, 0.3])
    with pytest.raises(UserError, match="missing"):
        correlations([0.1, float("nan"), 0.3], [0.1, 0.2, 0.3])
    # A collapsed model (constant predictions) is not the user's fault: nan, shown as null in JSON.
    spearman, pearson = correlations([0.1, 0.5, 0.9], [0.7, 0.7, 0.7])
    assert math.isnan(spearman) and math.isnan(pearson)
    result = EvalResult(spearman, pearson, 3, np.zeros(3), np.zeros(3), [1, 2, 3])
    assert json.loads(json.dumps(result.as_dict())) == {"spearman": None, "pearson": None, "pairs": 3,
                                                        "spearman_ci": [None, None]}


def test_evaluate_pairs_against_scipy_on_independent_embeddings(tiny_model_dir: Path) -> None:
    model = get_model(str(tiny_model_dir), "cpu")
    s1, s2, gold = (list(x) for x in zip(*DEV))
    result = evaluate_pairs(model, s1, s2, gold, batch_size=4)

    # Recompute from scratch with the library's encoder and numpy cosine.
    a = model.encode(s1, convert_to_numpy=True)
    b = model.encode(s2, convert_to_numpy=True)
    cosine = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    np.testing.assert_allclose(result.predicted, cosine, atol=1e-5)
    assert result.spearman == pytest.approx(stats.spearmanr(gold, cosine).statistic, abs=1e-6)
    assert result.pearson == pytest.approx(stats.pearsonr(gold, cosine).statistic, abs=1e-4)
    assert result.pairs == 6 and result.pair_ids == list(range(6))
    np.testing.assert_array_equal(result.gold, gold)
    figures = result.as_dict()
    lo, hi = figures.pop("spearman_ci")
    assert figures == {"spearman": result.spearman, "pearson": result.pearson, "pairs": 6}
    assert lo <= result.spearman <= hi and (lo, hi) == pytest.approx(
        np.nanpercentile([stats.spearmanr(np.asarray(gold)[i], cosine[i]).statistic
                       for i in np.random.default_rng(0).integers(0, 6, size=(1000, 6))], [2.5, 97.5]),
        abs=1e-9)

    # The library's own evaluator agrees (we do not rely on it, but it is a second opinion).
    try:
        from sentence_transformers.sentence_transformer.evaluation import EmbeddingSimilarityEvaluator
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers.evaluation import EmbeddingSimilarityEvaluator

    theirs = EmbeddingSimilarityEvaluator(s1, s2, gold, name="dev")(model)
    assert theirs["dev_spearman_cosine"] == pytest.approx(result.spearman, abs=1e-4)
    assert theirs["dev_pearson_cosine"] == pytest.approx(result.pearson, abs=1e-4)


def test_evaluate_project_uses_labeled_pairs_of_the_split(proj: Project) -> None:
    result = evaluate_project(proj, "base", "dev", device="cpu")
    dev = proj.pairs.labeled("dev")
    assert result.pairs == len(dev) == 6
    assert result.pair_ids == [p.id for p in dev]
    np.testing.assert_allclose(result.gold, [p.score for p in dev])
    model = get_model("base", "cpu", proj)
    direct = evaluate_pairs(model, [p.sentence1 for p in dev], [p.sentence2 for p in dev],
                            [p.score for p in dev])
    assert result.spearman == pytest.approx(direct.spearman)
    assert result.pearson == pytest.approx(direct.pearson)
    # The scatter plot's entry point is the same computation.
    scatter = predict_split(proj, "base", "dev", device="cpu")
    np.testing.assert_allclose(scatter.predicted, result.predicted)

    with pytest.raises(UserError, match="test split has 1 labeled pair;"):
        evaluate_project(proj, "base", "test")
    with pytest.raises(UserError, match="train split has 1 labeled pair"):
        evaluate_project(proj, "base", "train")
    proj.labels.set(proj.pairs.labeled("test")[0].id, 0.2)
    proj.pairs.insert([("the car is new", "an old car", 0.2, "test", 13, None)])
    with pytest.raises(UserError, match="same score|same label|0.2"):
        evaluate_project(proj, "base", "test")
    with pytest.raises(UserError, match="no trained model"):
        evaluate_project(proj, "best", "dev")


def _run_trained_on(project: Project, model_dir: Path, pair_ids: list[int]) -> int:
    import shutil

    run_id = project.runs.create(base_model=project.base_model, loss="cosent", config={})
    shutil.copytree(model_dir, project.runs.folder(run_id) / "model")
    project.runs.update(run_id, status="finished", model_dir=str(project.runs.folder(run_id) / "model"))
    project.runs.record_pairs(run_id, pair_ids)
    return run_id


def test_worst_pairs_follow_the_split_and_leave_out_trained_pairs(proj: Project,
                                                                  tiny_model_dir: Path) -> None:
    """Issue 20, point 5: the core operation behind Try's "Largest disagreements"."""
    from stsstudio.core.evaluation import worst_pairs

    run_id = _run_trained_on(proj, tiny_model_dir, [10, 1, 2])   # pairs 1 and 2 sit in dev
    worst = worst_pairs(proj, f"run:{run_id}", "dev")
    assert {w.pair_id for w in worst} == {3, 4, 5, 6}            # dev, labeled, not trained on
    gaps = [abs(w.gap) for w in worst]
    assert gaps == sorted(gaps, reverse=True)
    # Each row is the model's own figure: the cosine of the pair, clipped to 0..1 without a calibration.
    model = get_model(f"run:{run_id}", device="cpu", project=proj)
    for w in worst:
        pair = proj.pairs.get(w.pair_id)
        assert (w.gold, w.sentence1) == (pair.score, pair.sentence1)
        cos = evaluate_pairs(model, [pair.sentence1, "a"], [pair.sentence2, "b"], [0.0, 1.0]).predicted[0]
        assert w.cosine == pytest.approx(cos, abs=1e-5)
        assert w.guess == pytest.approx(min(max(cos, 0.0), 1.0), abs=1e-5)
    assert [w.pair_id for w in worst_pairs(proj, f"run:{run_id}", "dev", limit=2)] == \
        [w.pair_id for w in worst[:2]]
    # The base model on the same split: every labeled dev pair (no run's pairs to leave out).
    assert {w.pair_id for w in worst_pairs(proj, "base", "dev")} == {1, 2, 3, 4, 5, 6}


def test_file_evaluation_has_the_split_leakage_rule(proj: Project, tiny_model_dir: Path) -> None:
    """Issue 20, point 12: `evaluate --data FILE` with the run's training pairs is not silent."""
    from stsstudio.core.evaluation import evaluate_file_pairs

    run_id = _run_trained_on(proj, tiny_model_dir, [1, 2, 3])
    s1 = [DEV[i][0] for i in range(6)]
    s2 = [DEV[i][1] for i in range(6)]
    gold = [DEV[i][2] for i in range(6)]
    s2[0], s1[0] = s1[0].upper(), s2[0]          # either order, any case: still the same pair
    kept = evaluate_file_pairs(proj, f"run:{run_id}", s1, s2, gold, device="cpu")
    assert kept.pairs == 3 and kept.trained_on == 3 and not kept.leaked
    assert "3 of the 6 pairs were used to train run" in kept.leak_note
    flagged = evaluate_file_pairs(proj, f"run:{run_id}", s1, s2, gold, device="cpu", include_trained=True)
    assert flagged.pairs == 6 and flagged.leaked and flagged.leak_note.startswith("Leaked evaluation")
    with pytest.raises(UserError, match=f"Run {run_id} trained on 3 of the 3 pairs in the file"):
        evaluate_file_pairs(proj, f"run:{run_id}", s1[:3], s2[:3], gold[:3], device="cpu")
    # The split path says the same, through the same rule.
    split = evaluate_project(proj, f"run:{run_id}", "dev", device="cpu")
    assert split.trained_on == 3 and "3 of the 6 pairs were used to train run" in split.leak_note
    base = evaluate_file_pairs(proj, "base", s1, s2, gold, device="cpu")
    assert base.pairs == 6 and base.trained_on == 0 and base.leak_note == ""


def test_next_step_and_best_rule() -> None:
    """Issue 20, point 7: advice in plain words for each outcome; "best" only when better."""
    from types import SimpleNamespace

    from stsstudio.core.advice import describe_export, is_better, next_step, run_state

    unclear = next_step("unclear", {"pairs": 50, "more_pairs_needed": 140})
    assert "keep the base model" in unclear and "about 140 more pairs" in unclear
    assert "about 50 more pairs" in next_step("unclear", {"pairs": 50, "more_pairs_needed": None})
    assert "keep the base model" in next_step("worse", {"pairs": 50}, {"train_pairs": 200})
    assert "about 200 more pairs" in next_step("worse", {"pairs": 50}, {"train_pairs": 200})
    assert "export it" in next_step("better")
    assert "dev split" in next_step("", None, {"dev_pairs": 0})
    for outcome in ("better", "unclear", "worse", ""):
        text = next_step(outcome)
        assert text.startswith("Next: ") and "stsstudio" not in text and "None" not in text
    runs = {o: SimpleNamespace(id=3, loss="cosent", best_dev_spearman=0.8, base_dev_spearman=0.7,
                               config={}, summary={"outcome": o}, status="finished", steps=10,
                               total_steps=10) for o in ("better", "unclear", "worse", "")}
    assert [o for o, r in runs.items() if is_better(r)] == ["better"]
    assert describe_export(runs["better"])[1] is False
    assert all(describe_export(runs[o])[1] for o in ("unclear", "worse", ""))
    assert "worse than the base model" in describe_export(runs["worse"])[0]
    running = SimpleNamespace(status="running", steps=None, total_steps=114)
    assert run_state(running) == "starting"
    running.steps = 12
    assert run_state(running) == "running, step 12 of 114"

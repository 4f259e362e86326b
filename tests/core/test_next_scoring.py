"""Which model to score next (issue 22 point 3): one rule in core that the app's scheduler and
``stsstudio predict --model next`` both follow."""

from __future__ import annotations

from pathlib import Path

import pytest
from training_support import add_finished_run

from stsstudio.core.predictions import BASE_RUN, next_scoring_target, predict_pairs
from stsstudio.core.store import Project


def _pairs(n: int, start: int = 0) -> list[tuple]:
    return [(f"the user {i} cannot login", f"vpn drops at home {i}", (i % 5) / 4 if i % 2 else None,
             "train", i, None) for i in range(start, start + n)]


def _finished_run(project: Project, model: Path, spearman: float) -> int:
    # A copy of the model inside the run's folder, measurably better: it can be the best run.
    return add_finished_run(project, model, spearman=spearman, summary={"outcome": "better"})


def test_the_rule_walks_base_then_the_best_run(tmp_path: Path, tiny_model_dir: Path) -> None:
    with Project.create(tmp_path / "p", base_model=str(tiny_model_dir)) as project:
        project.pairs.insert(_pairs(12))
        assert next_scoring_target(project) == BASE_RUN          # nothing scored yet
        predict_pairs(project, next_scoring_target(project))
        assert next_scoring_target(project) is None               # every wanted set is current
        project.pairs.insert(_pairs(3, start=100))
        assert next_scoring_target(project) == BASE_RUN          # new pairs: the set is stale
        predict_pairs(project, BASE_RUN)
        assert next_scoring_target(project) is None
        # A trained run: its set comes first, then nothing.
        first = _finished_run(project, tiny_model_dir, 0.5)
        assert next_scoring_target(project) == first
        predict_pairs(project, first)
        assert next_scoring_target(project) is None
        # A better run becomes the best: it needs its own set; the old run's set is not wanted.
        better = _finished_run(project, tiny_model_dir, 0.7)
        assert next_scoring_target(project) == better
        # While a run trains, nothing is scored (the run needs the cores).
        running = project.runs.create(base_model=str(tiny_model_dir), loss="cosent", config={}, device="cpu")
        project.runs.update(running, status="running")
        assert next_scoring_target(project) is None


def test_cli_predict_next_scores_what_the_app_would(tmp_path: Path, tiny_model_dir: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    from stsstudio.cli import main

    path = tmp_path / "cli"
    with Project.create(path, base_model=str(tiny_model_dir)) as project:
        project.pairs.insert(_pairs(10))
    assert main(["predict", str(path), "--model", "next", "--device", "cpu", "--json"]) == 0
    out = capsys.readouterr().out
    assert '"run": 0' in out and '"pairs": 10' in out
    with Project.open(path, readonly=True) as project:
        assert BASE_RUN in project.predictions.sets() and next_scoring_target(project) is None
    assert main(["predict", str(path), "--model", "next"]) == 0
    captured = capsys.readouterr()
    assert "Nothing to score" in captured.err and captured.out == ""

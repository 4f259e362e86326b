"""No leaked evaluation: pairs a run trained on are left out of its evaluation, or flagged."""

from __future__ import annotations

from pathlib import Path

import pytest
from training_support import add_finished_run, fill_project

from stsstudio.core.errors import UserError
from stsstudio.core.evaluation import evaluate_project
from stsstudio.core.store import Project


@pytest.fixture
def moved(project: Project, tiny_model_dir: Path) -> tuple[Project, int, list[int]]:
    """A run that trained on the 40 train pairs, three of which were then moved to dev."""
    fill_project(project, train=40, dev=12)
    train_ids = [p.id for p in project.pairs.labeled("train")]
    dev_ids = [p.id for p in project.pairs.labeled("dev")]
    run_id = add_finished_run(project, tiny_model_dir, spearman=0.7)
    project.runs.record_pairs(run_id, train_ids, dev_ids)
    project.pairs.set_split(train_ids[:3], "dev")
    return project, run_id, train_ids[:3]


def test_trained_pairs_are_left_out_and_said(moved) -> None:
    project, run_id, leaked = moved
    result = evaluate_project(project, f"run:{run_id}", "dev", device="cpu")
    assert result.pairs == 12 and not set(leaked) & set(result.pair_ids)
    assert result.trained_on == 3 and not result.leaked
    assert "3 of the 15 pairs were used to train run" in result.leak_note
    assert result.as_dict()["trained_on"] == 3
    # The base model has no training pairs: nothing to leave out.
    base = evaluate_project(project, "base", "dev", device="cpu")
    assert base.pairs == 15 and base.trained_on == 0 and base.leak_note == ""
    # Scored on the same pairs as the run when asked to (the Try view's comparison).
    same = evaluate_project(project, "base", "dev", device="cpu", exclude_run=run_id)
    assert sorted(same.pair_ids) == sorted(result.pair_ids)


def test_including_trained_pairs_is_flagged_loudly(moved, tmp_path: Path, capsys) -> None:
    from stsstudio.cli import main

    project, run_id, leaked = moved
    result = evaluate_project(project, f"run:{run_id}", "dev", device="cpu", include_trained=True)
    assert result.pairs == 15 and set(leaked) <= set(result.pair_ids)
    assert result.leaked and result.leak_note.startswith("Leaked evaluation: 3 of these 15 pairs")
    path = str(project.path)
    project.close()
    assert main(["evaluate", path, "--run", str(run_id), "--include-trained", "--json"]) == 0
    captured = capsys.readouterr()
    assert "Warning: Leaked evaluation" in captured.err and '"leaked": true' in captured.out


def test_too_few_clean_pairs_is_a_clear_error(project: Project, tiny_model_dir: Path) -> None:
    fill_project(project, train=20, dev=0)
    ids = [p.id for p in project.pairs.labeled("train")]
    run_id = add_finished_run(project, tiny_model_dir)
    project.runs.record_pairs(run_id, ids)
    project.pairs.set_split(ids[:5], "dev")
    with pytest.raises(UserError, match="trained on 5 of the 5 labeled dev pairs"):
        evaluate_project(project, f"run:{run_id}", "dev", device="cpu")

"""The training engine on a tiny random BERT: losses, events, cancel, resume, failures, seed, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from db_support import db_rows as _db_rows
from training_support import RecordingReporter, fill_project

from stsstudio.core.models import ModelLoadError
from stsstudio.core.store import Project
from stsstudio.core.training import TrainConfig, TrainingError, resume, train


def _config(model: Path, **kw) -> TrainConfig:
    base = dict(base_model=str(model), batch_size=8, max_steps=4, eval_steps=2, seed=7)
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture
def labeled(project: Project) -> Project:
    fill_project(project, train=40, dev=12)
    return project


@pytest.mark.parametrize("loss,matryoshka", [("cosine", False), ("cosent", False), ("angle", False),
                                             ("cosent", True)])
def test_short_run_with_every_loss(labeled: Project, tiny_model_dir: Path, loss: str,
                                   matryoshka: bool) -> None:
    rep = RecordingReporter()
    result = train(labeled, _config(tiny_model_dir, loss=loss, matryoshka=matryoshka, max_steps=2), rep)
    assert result.status == "finished", result.message
    assert result.steps == 2 and result.device == "cpu"
    run = labeled.runs.get(result.run_id)
    assert run.status == "finished" and run.loss == loss + ("+matryoshka" if matryoshka else "")
    assert run.steps == 2 and run.total_steps == 2 and run.best_step == 2
    assert run.base_dev_spearman == pytest.approx(result.base_dev_spearman)
    assert run.model_dir == result.model_dir and Path(result.model_dir, "modules.json").is_file()
    config = json.loads((labeled.runs.folder(result.run_id) / "config.json").read_text())
    assert config["loss"] == loss and config["seed"] == 7 and config["train_pairs"] == 40
    series = labeled.runs.metrics(result.run_id)
    assert [s for s, _ in series["loss"]] == [1, 2]
    assert [s for s, _ in series["dev_spearman"]] == [0, 2]
    assert set(series) == {"loss", "learning_rate", "dev_spearman", "dev_pearson", "dev_spearman_low",
                           "dev_spearman_high"}
    # Every dev Spearman carries its bootstrap interval.
    for (step, rho), (_, lo), (_, hi) in zip(series["dev_spearman"], series["dev_spearman_low"],
                                             series["dev_spearman_high"]):
        assert lo <= rho <= hi or rho != rho


def test_reporter_events_come_in_order(labeled: Project, tiny_model_dir: Path) -> None:
    rep = RecordingReporter()
    result = train(labeled, _config(tiny_model_dir), rep)
    kinds = [k for k in rep.kinds() if k != "status"]
    assert kinds[0] == "started" and rep.of("started")[0][1:] == (4, "cpu")
    assert kinds[1] == "evaluated" and rep.of("evaluated")[0][1] == 0  # the baseline, before any step
    assert kinds[-1] == "finished" and rep.of("finished")[0][1] is result
    assert [e[1] for e in rep.of("step")] == [1, 2, 3, 4]
    assert [e[1] for e in rep.of("evaluated")] == [0, 2, 4]
    # each evaluation at step n comes after step n and before its checkpoint
    assert kinds.index("checkpoint") == kinds.index("evaluated", 2) + 1
    assert rep.of("checkpoint")[-1][1].endswith("checkpoint-4")
    # 12 dev pairs cannot tell checkpoints apart: the run keeps the model at the end of its schedule.
    assert result.dev_spearman == pytest.approx(rep.of("evaluated")[-1][2])


def test_cancel_is_honoured_within_one_step(labeled: Project, tiny_model_dir: Path) -> None:
    rep = RecordingReporter(cancel_after=2)
    result = train(labeled, _config(tiny_model_dir, max_steps=30, eval_steps=10), rep)
    assert result.status == "cancelled"
    assert result.steps == 2
    assert rep.kinds()[-1] == "cancelled"
    assert max(e[1] for e in rep.of("step")) == 2
    run = labeled.runs.get(result.run_id)
    assert run.status == "cancelled" and run.steps == 2
    assert Path(run.model_dir, "modules.json").is_file()  # the model at cancel time is kept
    assert (labeled.runs.folder(result.run_id) / "checkpoints" / "checkpoint-2").is_dir()


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_resume_after_a_crash(tmp_path: Path, tiny_model_dir: Path) -> None:
    path = tmp_path / "crashy"
    project = Project.create(path)
    fill_project(project)
    config = _config(tiny_model_dir, max_steps=6, eval_steps=2)
    first = train(project, config, RecordingReporter(cancel_after=4))
    assert first.steps == 4
    # Simulate a crash after the step-4 checkpoint: the run is left 'running' by a dead process,
    # with metric points past the checkpoint that the resumed run must replace.
    project.runs.update(first.run_id, status="running", pid=_dead_pid(), model_dir=None)
    project.runs.add_metrics(first.run_id, [(5, "loss", 9.0, 0.5)])
    project.close()

    project = Project.open(path)
    try:
        assert project.runs.get(first.run_id).status == "interrupted"
        rep = RecordingReporter()
        result = resume(project, first.run_id, rep)
        assert result.status == "finished" and result.run_id == first.run_id
        assert result.steps == 6
        assert [e[1] for e in rep.of("step")] == [5, 6]
        assert rep.of("evaluated")[0][1] == 6  # no second baseline
        run = project.runs.get(first.run_id)
        assert run.status == "finished" and run.steps == 6 and run.model_dir
        assert run.base_dev_spearman == pytest.approx(first.base_dev_spearman)
        assert [s for s, _ in project.runs.metrics(first.run_id, "loss")["loss"]] == [1, 2, 3, 4, 5, 6]
        assert 9.0 not in [v for _, v in project.runs.metrics(first.run_id, "loss")["loss"]]
        with pytest.raises(TrainingError, match="already finished"):
            resume(project, first.run_id)
    finally:
        project.close()


def test_too_few_pairs_fails_before_writing(project: Project, tiny_model_dir: Path) -> None:
    fill_project(project, train=8, dev=3)
    before = project.checksum()
    with pytest.raises(TrainingError, match="at least 10 labeled train pairs"):
        train(project, _config(tiny_model_dir))
    assert project.checksum() == before and not any(project.runs_dir.iterdir())


def test_no_dev_split_holds_out_ten_percent(project: Project, tiny_model_dir: Path) -> None:
    fill_project(project, train=60, dev=0)
    rep = RecordingReporter()
    result = train(project, _config(tiny_model_dir, max_steps=2, cv_folds=0), rep)
    assert result.status == "finished"
    assert any("holding out 6" in e[1] for e in rep.of("status"))
    config = project.runs.get(result.run_id).config
    assert (config["train_pairs"], config["dev_pairs"], config["dev_held_out"]) == (54, 6, True)


def test_missing_model_and_bad_settings_fail_clearly(labeled: Project, tmp_path: Path,
                                                     tiny_model_dir: Path) -> None:
    before = labeled.checksum()
    with pytest.raises(ModelLoadError):
        train(labeled, _config(tmp_path / "nowhere"))
    with pytest.raises(ModelLoadError, match="not available offline"):
        train(labeled, _config(tiny_model_dir, base_model="some-org/not-cached-model"))
    with pytest.raises(TrainingError, match="unknown loss"):
        train(labeled, _config(tiny_model_dir, loss="hinge"))
    with pytest.raises(TrainingError, match="batch size"):
        train(labeled, _config(tiny_model_dir, batch_size=0))
    assert labeled.checksum() == before


def test_nan_loss_fails_with_a_suggestion(labeled: Project, tiny_model: Path) -> None:
    import torch
    from safetensors.torch import load_file, save_file

    weights = next(tiny_model.rglob("model.safetensors"))
    state = load_file(str(weights))
    key = next(k for k in state if "word_embeddings" in k)
    state[key] = torch.full_like(state[key], float("nan"))
    save_file(state, str(weights))
    pairs_before = _db_rows(labeled, "SELECT * FROM pairs")
    rep = RecordingReporter()
    result = train(labeled, _config(tiny_model), rep)
    assert result.status == "failed"
    assert "NaN" in result.message and "learning rate" in result.message
    assert rep.kinds()[-1] == "failed"
    run = labeled.runs.get(result.run_id)
    assert run.status == "failed" and run.model_dir is None and "NaN" in run.message
    assert _db_rows(labeled, "SELECT * FROM pairs") == pairs_before


def test_same_seed_same_run(labeled: Project, tiny_model_dir: Path) -> None:
    a, b, c = RecordingReporter(), RecordingReporter(), RecordingReporter()
    train(labeled, _config(tiny_model_dir, seed=3, max_steps=3, eval_steps=10), a)
    train(labeled, _config(tiny_model_dir, seed=3, max_steps=3, eval_steps=10), b)
    train(labeled, _config(tiny_model_dir, seed=4, max_steps=3, eval_steps=10), c)
    losses = [[e[2] for e in r.of("step")] for r in (a, b, c)]
    assert losses[0] == losses[1]
    assert losses[0] != losses[2]
    assert labeled.runs.all()[0].config["seed"] == 3


def test_cli_train_json_and_user_errors(labeled: Project, tiny_model_dir: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    from stsstudio.cli import main

    path = str(labeled.path)
    labeled.close()
    code = main(["train", path, "--base-model", str(tiny_model_dir), "--max-steps", "2", "--batch-size", "8",
                 "--loss", "cosent", "--seed", "5", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    last = json.loads(out.strip().splitlines()[-1])
    assert set(last) == {"run", "status", "device", "steps", "base_dev_spearman", "dev_spearman", "seconds",
                         "dev_spearman_ci", "verdict", "outcome", "next_step", "schedule", "cv",
                         "estimate", "label_curve"}
    assert (last["run"], last["status"], last["device"], last["steps"]) == (1, "finished", "cpu", 2)
    assert "Training 2 steps on cpu" in err and "dev Spearman" in err
    lo, hi = last["dev_spearman_ci"]
    assert lo <= last["dev_spearman"] <= hi and "on 12 dev pairs" in last["verdict"]
    assert last["schedule"]["loss"] == "cosent" and last["schedule"]["automatic"] == ["epochs", "learning_rate"]

    # Two annotators on the dev pairs: the run reports the human ceiling.
    with Project.open(path) as project:
        for i, pair in enumerate(project.pairs.labeled("dev")):
            project.labels.set(pair.id, min(1.0, pair.score + 0.05 * (i % 3)), annotator="ana")
            project.labels.set(pair.id, max(0.0, pair.score - 0.04 * (i % 2)), annotator="ben")
    code = main(["train", path, "--base-model", str(tiny_model_dir), "--max-steps", "2", "--batch-size", "8",
                 "--epochs", "auto", "--lr", "auto", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    last = json.loads(out.strip().splitlines()[-1])
    ceiling = last["human_ceiling"]
    assert ceiling["annotators"] == ["ana", "ben"] and ceiling["pairs"] == 12
    assert ceiling["ci"][0] <= ceiling["spearman"] <= ceiling["ci"][1] and "the model reaches" in ceiling["summary"]

    code = main(["train", path, "--base-model", str(tiny_model_dir / "nope")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and err.startswith("stsstudio train: ")
    code = main(["resume", path, "42"])
    err = capsys.readouterr().err
    assert code == 2 and "no run 42" in err


def test_data_plan_is_the_engine_rule(project: Project) -> None:
    from stsstudio.core.training import HOLDOUT_FRACTION, data_plan, plan_data

    plan = data_plan(project, TrainConfig())
    assert not plan.can_start and "Too few labeled train pairs (0)" in plan.problems[0]
    fill_project(project, train=60, dev=0)
    # 60 labels, no dev split: cross-validation, then every label trains the model.
    plan = data_plan(project, TrainConfig())
    assert (plan.train, plan.dev, plan.held_out, plan.cv_folds, plan.can_start) == (60, 0, False, 3, True)
    assert plan.schedule.describe().startswith("Automatic for 60 labeled pairs")
    # Cross-validation off: the seeded holdout.
    plan = data_plan(project, TrainConfig(cv_folds=0))
    k = round(60 * HOLDOUT_FRACTION)
    assert (plan.train, plan.dev, plan.held_out, plan.can_start) == (60 - k, k, True, True)
    assert any("No dev split" in note for note in plan.notes)
    # Too few to hold out and still train: the engine refuses with the plan's reason.
    small = plan_data(12, 0)
    assert not small.can_start and "at least 15" in small.problems[0]
    blocked = plan_data(8, 3)
    assert len(blocked.problems) == 2 and "dev pairs (3)" in blocked.problems[1]
    assert plan_data(200, 50).notes == ()


def test_kfold_covers_each_label_once_as_validation() -> None:
    from stsstudio.core.schedule import kfold

    folds = kfold(47, 5, seed=3)
    flat = [i for f in folds for i in f]
    assert sorted(flat) == list(range(47)) and len(flat) == 47
    assert [len(f) for f in folds] == [10, 10, 9, 9, 9]
    assert kfold(47, 5, seed=3) == folds and kfold(47, 5, seed=4) != folds


def test_small_project_without_dev_hands_over_the_model_then_estimates(
        project: Project, tiny_model_dir: Path) -> None:
    """Issue 23: the model on every label first (usable at once), the k-fold estimate after."""
    from stsstudio.core.estimate import estimate, pending, with_estimate

    fill_project(project, train=30, dev=0)
    rep = RecordingReporter()
    result = train(project, _config(tiny_model_dir, max_steps=2, eval_steps=None), rep)
    assert result.status == "finished", result.message
    assert Path(result.model_dir, "modules.json").is_file()
    assert result.cv is None and result.verdict == "" and result.estimate == {"status": "pending", "folds": 3}
    assert not any("fold" in e[1] for e in rep.of("status"))   # no fold trained before the model
    # The final model trained on all 30 labels; no pair was used to evaluate it directly.
    assert len(project.runs.pair_ids(result.run_id, "train")) == 30
    assert project.runs.pair_ids(result.run_id, "dev") == set()
    run = project.runs.get(result.run_id)
    assert pending(run)
    weights = Path(result.model_dir, "model.safetensors").read_bytes()

    statuses: list[str] = []

    class Rep:
        def status(self, message: str) -> None:
            statuses.append(message)

        def is_cancelled(self) -> bool:
            return False

    entry = estimate(project, result.run_id, Rep())
    assert entry["status"] == "done", entry
    # Three fold models, then (under 200 labels) one small model per fold for the label curve.
    assert [s for s in statuses if s.startswith("estimating, model")] == [
        "estimating, model 1 of 6 (fold 1: 20 of the 30 labels)…",
        "estimating, model 2 of 6 (fold 2: 20 of the 30 labels)…",
        "estimating, model 3 of 6 (fold 3: 20 of the 30 labels)…",
        *[f"estimating, model {m} of 6 (10 of the 30 labels, for the label curve)…" for m in (4, 5, 6)]]
    run = project.runs.get(result.run_id)
    assert not pending(run) and run.summary["cv"]["folds"] == 3 and len(run.summary["cv"]["fold_spearman"]) == 3
    assert run.summary["outcome"] in ("better", "unclear", "worse")
    assert "3-fold cross-validation" in run.summary["verdict"]
    curve = run.summary["label_curve"]
    assert curve["labels"] == 30 and set(curve["more"]) == {"2x", "4x"}
    lo, hi = run.summary["dev_spearman_ci"]
    assert lo <= run.best_dev_spearman <= hi
    assert Path(result.model_dir, "model.safetensors").read_bytes() == weights   # the model is untouched
    full = with_estimate(result, project)
    assert full.verdict == run.summary["verdict"] and full.label_curve == curve and full.cv["folds"] == 3


@pytest.mark.parametrize("n,models", [(30, 3), (100, 3), (199, 3), (200, 1), (301, 1)])
def test_the_label_curve_models_are_nested_in_the_fold_models_and_predict_only_unseen_pairs(
        n: int, models: int) -> None:
    from stsstudio.core.estimate import curve_subsets
    from stsstudio.core.schedule import CV_FOLDS, curve_models, kfold

    folds = kfold(n, CV_FOLDS, 7)
    assert curve_models(n, CV_FOLDS) == models
    plan = curve_subsets(folds, models)
    assert len(plan) == models
    seen: list[int] = []
    for j, labels, predicted in plan:
        assert labels == folds[j] and not set(labels) & set(predicted)
        for i, fold in enumerate(folds):     # the fold model that predicted the same pairs
            if set(fold) & set(predicted):
                assert set(fold) <= set(predicted) and set(labels) <= set(range(n)) - set(fold)
        seen += predicted
    assert len(seen) == len(set(seen))       # each pair at most once
    # One per fold: every pair; one small model: all but the first fold's.
    assert sorted(seen) == (list(range(n)) if models == CV_FOLDS else sorted(folds[1] + folds[2]))


def test_a_cancelled_estimate_leaves_the_model_intact(project: Project, tiny_model_dir: Path) -> None:
    from stsstudio.core.estimate import estimate, pending

    fill_project(project, train=30, dev=0)
    result = train(project, _config(tiny_model_dir, max_steps=2, eval_steps=None), RecordingReporter())
    weights = Path(result.model_dir, "model.safetensors").read_bytes()
    calls = []

    class Stop:
        def status(self, message: str) -> None:
            calls.append(message)

        def is_cancelled(self) -> bool:
            return len(calls) >= 3     # stops inside the first fold's training

    assert estimate(project, result.run_id, Stop())["status"] == "cancelled"
    run = project.runs.get(result.run_id)
    assert run.status == "finished" and run.model_dir == result.model_dir and pending(run)
    assert "cv" not in run.summary and "label_curve" not in run.summary
    assert Path(result.model_dir, "model.safetensors").read_bytes() == weights


def test_a_run_without_dev_writes_four_resumable_checkpoints(project: Project, tiny_model_dir: Path) -> None:
    """Nothing to evaluate: a checkpoint every quarter of the run, not every tenth (each one is the
    weights and the optimiser state); a dev run keeps one per evaluation (test above)."""
    fill_project(project, train=30, dev=0)
    rep = RecordingReporter()
    result = train(project, _config(tiny_model_dir, max_steps=12, eval_steps=None, estimate=False), rep)
    assert result.status == "finished", result.message
    assert [Path(e[1]).name for e in rep.of("checkpoint")] == [
        "checkpoint-3", "checkpoint-6", "checkpoint-9", "checkpoint-12"]


def test_switching_the_estimate_off_gives_no_pending_estimate(project: Project, tiny_model_dir: Path) -> None:
    fill_project(project, train=30, dev=0)
    result = train(project, _config(tiny_model_dir, max_steps=2, eval_steps=None, estimate=False),
                   RecordingReporter())
    assert result.status == "finished" and result.estimate is None
    assert "estimate" not in project.runs.get(result.run_id).summary


def test_run_records_its_pairs_interval_and_verdict(labeled: Project, tiny_model_dir: Path) -> None:
    result = train(labeled, _config(tiny_model_dir), RecordingReporter())
    train_ids = labeled.runs.pair_ids(result.run_id, "train")
    dev_ids = labeled.runs.pair_ids(result.run_id, "dev")
    assert len(train_ids) == 40 and len(dev_ids) == 12 and not train_ids & dev_ids
    assert {p.id for p in labeled.pairs.labeled("dev")} == dev_ids
    lo, hi = result.dev_spearman_ci
    assert lo <= result.dev_spearman <= hi
    assert result.outcome in ("better", "unclear", "worse")
    assert result.verdict and "on 12 dev pairs" in result.verdict
    assert result.schedule["steps"] == 4
    summary = labeled.runs.get(result.run_id).summary
    assert summary["verdict"] == result.verdict and summary["dev_spearman_ci"] == list(result.dev_spearman_ci)


def test_finished_run_keeps_only_its_model(labeled: Project, tiny_model_dir: Path) -> None:
    result = train(labeled, _config(tiny_model_dir, max_steps=6, eval_steps=2), RecordingReporter())
    run_dir = labeled.runs.folder(result.run_id)
    names = {p.name for p in run_dir.rglob("*")}
    assert not (run_dir / "checkpoints").exists() and not (run_dir / "best").exists()
    assert not {"optimizer.pt", "scheduler.pt", "trainer_state.json"} & names
    model_size = sum(p.stat().st_size for p in Path(result.model_dir).rglob("*") if p.is_file())
    assert labeled.runs.disk_size(result.run_id) <= 1.2 * model_size


def test_max_steps_is_a_cap_and_epochs_agree(labeled: Project, tiny_model_dir: Path) -> None:
    # 40 pairs at batch 8: 5 steps an epoch. One epoch with a larger cap stops after the epoch...
    rep = RecordingReporter()
    result = train(labeled, _config(tiny_model_dir, epochs=1, max_steps=50, eval_steps=5), rep)
    assert result.steps == 5 and rep.of("started")[0][1] == 5
    assert max(e[4] for e in rep.of("step")) <= 1.0 + 1e-9
    # ...and a smaller cap stops at the cap, mid-epoch.
    rep = RecordingReporter()
    result = train(labeled, _config(tiny_model_dir, epochs=3, max_steps=7, eval_steps=7), rep)
    assert result.steps == 7 and [e[1] for e in rep.of("step")][-1] == 7
    assert labeled.runs.get(result.run_id).total_steps == 7


def test_best_checkpoint_only_when_asked_or_dev_is_large(labeled: Project, tiny_model_dir: Path) -> None:
    rep = RecordingReporter()
    result = train(labeled, _config(tiny_model_dir, max_steps=6, eval_steps=2, select_best=True,
                                    learning_rate=5e-4), rep)
    evals = {e[1]: e[2] for e in rep.of("evaluated") if e[1] > 0}
    best_step = max(evals, key=lambda s: (evals[s], s))
    assert result.dev_spearman == pytest.approx(max(evals[6], evals[best_step]))
    assert labeled.runs.get(result.run_id).best_step in evals


def test_worse_run_is_not_the_default_model(labeled: Project, tiny_model_dir: Path) -> None:
    from training_support import add_finished_run

    run_id = add_finished_run(labeled, tiny_model_dir, spearman=0.9)
    assert labeled.runs.best().id == run_id
    labeled.runs.update(run_id, summary={"outcome": "worse", "verdict": "Worse than the base model"})
    assert labeled.runs.best() is None
    from stsstudio.core.errors import UserError
    from stsstudio.core.inference import resolve_model_ref

    with pytest.raises(UserError, match=f"worse than the base model .* \\(run {run_id}\\)"):
        resolve_model_ref(labeled, "best")
    assert resolve_model_ref(labeled, f"run:{run_id}")  # still usable when named

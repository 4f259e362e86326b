"""Typed errors with their hints (issue 22 point 3): each is raised by the real condition in core,
carries its text and its next step, and the CLI shows both on its one line of stderr."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from training_support import RecordingReporter, fill_project

from stsstudio.core import errors
from stsstudio.core.errors import (
    LossNotANumber,
    ModelLoadError,
    ModelUnavailable,
    OutOfMemory,
    ProjectLocked,
    ProjectReadOnly,
    TooFewLabels,
    TrainingError,
    UnsafeModel,
    UserError,
)
from stsstudio.core.models import load_model
from stsstudio.core.store import Project
from stsstudio.core.training import TrainConfig, data_plan, train


def _config(model: Path, **kw) -> TrainConfig:
    base = dict(base_model=str(model), batch_size=8, max_steps=2, eval_steps=2, seed=7, cv_folds=0)
    base.update(kw)
    return TrainConfig(**base)


def test_text_and_hint_compose_and_stay_apart() -> None:
    exc = TooFewLabels("Too few labeled train pairs (3).")
    assert exc.text == "Too few labeled train pairs (3)."
    assert exc.hint == TooFewLabels.hint and "Label view" in exc.hint and "Pairs view" in exc.hint
    assert str(exc) == f"{exc.text} {exc.hint}"
    own = OutOfMemory("The CUDA ran out of memory.", hint="Lower the batch size (e.g. 8).")
    assert own.hint == "Lower the batch size (e.g. 8)." and OutOfMemory.hint != own.hint
    # A hint already in the text is not said twice; an error without hint is its text.
    assert str(ModelUnavailable(f"Gone. {ModelUnavailable.hint}")) == f"Gone. {ModelUnavailable.hint}"
    assert str(UserError("plain")) == "plain" and UserError("plain").hint == ""
    # Every declared class that a user can act on has a hint, and the families hold.
    declared = [ProjectLocked, ProjectReadOnly, ModelLoadError, ModelUnavailable, UnsafeModel, TooFewLabels,
                OutOfMemory, LossNotANumber]
    assert all(cls.hint and cls.__module__ == errors.__name__ for cls in declared)
    assert issubclass(TooFewLabels, TrainingError) and issubclass(UnsafeModel, ModelLoadError)


def test_missing_model_folder_is_unavailable_with_its_hint(project: Project, tmp_path: Path) -> None:
    fill_project(project, train=20, dev=6)
    before = project.checksum()
    with pytest.raises(ModelUnavailable) as err:
        train(project, _config(tmp_path / "no-such-model"))
    assert "does not exist" in err.value.text and "embedded default" in err.value.hint
    with pytest.raises(ModelUnavailable, match="not available offline") as err:
        load_model("some-org/not-cached-model")
    assert "local model folder" in err.value.hint
    assert project.checksum() == before


def test_too_few_labels_in_a_tiny_project(project: Project, tiny_model_dir: Path) -> None:
    fill_project(project, train=8, dev=3)
    plan = data_plan(project)
    assert not plan.can_start and "Label view" in plan.hint
    with pytest.raises(TooFewLabels) as err:
        train(project, _config(tiny_model_dir))
    assert "Too few labeled train pairs (8)" in err.value.text
    assert err.value.hint == plan.hint and "Pairs view" in err.value.hint
    assert not any(project.runs_dir.iterdir())


def _pickled(tiny_model: Path) -> Path:
    """The tiny model with its weights saved as a pickle (pytorch_model.bin) instead of safetensors."""
    import torch
    from safetensors.torch import load_file

    for weights in list(tiny_model.rglob("model.safetensors")):
        torch.save(load_file(str(weights)), weights.with_name("pytorch_model.bin"))
        weights.unlink()
    return tiny_model


def test_pickled_model_folder_is_refused(project: Project, tiny_model: Path) -> None:
    fill_project(project, train=20, dev=6)
    folder = _pickled(tiny_model)
    with pytest.raises(UnsafeModel, match="pytorch_model.bin") as err:
        load_model(str(folder))
    assert "safetensors" in err.value.hint
    with pytest.raises(UnsafeModel):
        train(project, _config(folder))
    assert project.runs.all() == []


def test_custom_code_is_refused(tiny_model: Path, tiny_model_dir: Path) -> None:
    config = tiny_model / "config.json"
    data = json.loads(config.read_text())
    data["auto_map"] = {"AutoModel": "modeling_evil.EvilModel"}
    config.write_text(json.dumps(data))
    with pytest.raises(UnsafeModel, match="auto_map"):
        load_model(str(tiny_model))
    # A module of its own in modules.json is code too.
    other = tiny_model.parent / "custom_module"
    shutil.copytree(tiny_model_dir, other)
    modules = json.loads((other / "modules.json").read_text())
    modules[-1]["type"] = "evil_package.Layer"
    (other / "modules.json").write_text(json.dumps(modules))
    with pytest.raises(UnsafeModel, match="evil_package.Layer"):
        load_model(str(other))
    # The unchanged folder loads.
    assert load_model(str(tiny_model_dir)).encode(["a man is playing a guitar"]).shape[0] == 1


def test_locked_and_read_only_projects(tmp_path: Path, tiny_model_dir: Path) -> None:
    path = tmp_path / "p"
    with Project.create(path) as writer:
        fill_project(writer, train=20, dev=6)
        with pytest.raises(ProjectLocked) as err:
            Project.open(path)      # a second writer (the lock is per open file, even in one process)
        assert "open in another STS Studio window" in err.value.text
        assert err.value.hint == ProjectLocked.hint and "read-only" in err.value.hint
    with Project.open(path, readonly=True) as ro:
        with pytest.raises(ProjectReadOnly) as err:
            ro.set_meta("name", "x")
        assert "open read-only" in err.value.text and "for writing" in err.value.hint
        with pytest.raises(ProjectReadOnly):
            train(ro, _config(tiny_model_dir))


def test_out_of_memory_becomes_the_typed_error(project: Project, tiny_model_dir: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """torch's own OutOfMemoryError, raised inside transformers' training step (a CPU cannot be
    made to run out of memory safely; the device check does it for real on a GPU)."""
    import torch
    import transformers

    def step(*_a, **_k):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(transformers.Trainer, "training_step", step)
    fill_project(project, train=20, dev=6)
    rep = RecordingReporter()
    result = train(project, _config(tiny_model_dir), rep)
    assert result.status == "failed" and isinstance(result.error, OutOfMemory)
    assert "ran out of memory at batch size 8" in result.error.text
    assert "batch size (e.g. 4)" in result.error.hint and "CPU" in result.error.hint
    assert result.message == str(result.error) and rep.kinds()[-1] == "failed"
    assert project.runs.get(result.run_id).status == "failed"
    assert "error" not in result.as_dict()


def test_nan_loss_is_the_typed_error(project: Project, tiny_model: Path) -> None:
    import torch
    from safetensors.torch import load_file, save_file

    weights = next(tiny_model.rglob("model.safetensors"))
    state = load_file(str(weights))
    key = next(k for k in state if "word_embeddings" in k)
    state[key] = torch.full_like(state[key], float("nan"))
    save_file(state, str(weights))
    fill_project(project, train=20, dev=6)
    result = train(project, _config(tiny_model))
    assert result.status == "failed" and isinstance(result.error, LossNotANumber)
    assert "NaN" in result.error.text and "learning rate" in result.error.hint
    assert "warmup" in result.error.hint


def test_cli_prints_text_and_hint_on_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from stsstudio.cli import main

    path = tmp_path / "cli"
    with Project.create(path) as project:
        fill_project(project, train=8, dev=3)
    code = main(["train", str(path), "--base-model", str(tmp_path / "nowhere")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "does not exist" in err and ModelUnavailable.hint in err
    code = main(["train", str(path), "--base-model", "default"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "Too few labeled train pairs (8)" in err and "in the Label view" in err


def test_a_run_whose_model_folder_is_gone(project: Project, tiny_model_dir: Path) -> None:
    from training_support import add_finished_run

    from stsstudio.core.inference import similarity

    run_id = add_finished_run(project, tiny_model_dir)
    shutil.rmtree(project.runs.folder(run_id) / "model")
    with pytest.raises(ModelUnavailable, match=f"model folder of run {run_id} is missing") as err:
        similarity(f"run:{run_id}", "a", "b", project=project)
    assert err.value.hint == "Choose another run or the base model."

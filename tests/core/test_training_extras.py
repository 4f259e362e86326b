"""Issue 23 inside a run: silver pairs and the blend with the base model, each a switch.

Real SQLite, the tiny real model (as the bi-encoder and as the cross-encoder's start)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from training_support import RecordingReporter, fill_project, stsb_rows

from stsstudio.core.hashing import normalise_sentence
from stsstudio.core.store import Project
from stsstudio.core.training import TrainConfig, train


def _config(model: Path, **kw) -> TrainConfig:
    base = dict(base_model=str(model), batch_size=8, max_steps=3, seed=5, estimate=False)
    base.update(kw)
    return TrainConfig(**base)


def _with_unlabelled(project: Project) -> None:
    fill_project(project, train=30, dev=8)
    rows = [(a, b, None, "train", 100 + i, None) for i, (a, b, _) in enumerate(stsb_rows(40, offset=60))]
    rows += [(a, b, 0.5, "test", 200 + i, None) for i, (a, b, _) in enumerate(stsb_rows(6, offset=120))]
    project.pairs.insert(rows, source="more")


def _weights(result) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(Path(result.model_dir, "model.safetensors")))


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_silver_pairs_join_the_run_reproducibly_and_never_touch_dev_or_test(
        project: Project, tiny_model_dir: Path) -> None:
    _with_unlabelled(project)
    first = train(project, _config(tiny_model_dir, silver=24), RecordingReporter())
    assert first.status == "finished", first.message
    summary = project.runs.get(first.run_id).summary
    assert summary["silver"]["pairs"] > 0 and "cross-encoder" in summary["silver"]["description"]
    assert "silver pairs" in first.schedule["description"]
    # Reproducible: the same seed gives the same model.
    again = train(project, _config(tiny_model_dir, silver=24), RecordingReporter())
    assert _same(_weights(first), _weights(again))
    # Which pairs were silver: the run trains on them, so they come from augment's own rule; check
    # that rule's output for this project with the run's inputs.
    from stsstudio.core.augment import silver_pairs

    gold = [(p.sentence1, p.sentence2, float(p.score)) for p in project.pairs.labeled("train")]
    made = silver_pairs(project, gold=gold, n_silver=24, seed=5, device="cpu", base=str(tiny_model_dir),
                        model=str(tiny_model_dir))
    banned = {normalise_sentence(s) for split in ("dev", "test") for p in project.pairs.labeled(split)
              for s in (p.sentence1, p.sentence2)}
    assert made.pairs and not any({normalise_sentence(a), normalise_sentence(b)} & banned
                                  for a, b, _ in made.pairs)


def test_each_part_switched_off_is_the_plain_run(project: Project, tiny_model_dir: Path) -> None:
    _with_unlabelled(project)
    plain = train(project, _config(tiny_model_dir, silver=0, blend=1.0), RecordingReporter())
    again = train(project, _config(tiny_model_dir, silver=0, blend=1.0), RecordingReporter())
    assert _same(_weights(plain), _weights(again))
    summary = project.runs.get(plain.run_id).summary
    assert "silver" not in summary and "blend" not in summary
    blended = train(project, _config(tiny_model_dir, silver=0, blend=0.5), RecordingReporter())
    assert project.runs.get(blended.run_id).summary["blend"] == 0.5
    # Blending is the weight-space midpoint of the plain run and the base model.
    from safetensors.numpy import load_file

    base = load_file(str(tiny_model_dir / "model.safetensors"))
    w_plain, w_blend = _weights(plain), _weights(blended)
    key = next(k for k in w_plain if k.endswith("query.weight"))
    assert np.allclose(w_blend[key], 0.5 * w_plain[key] + 0.5 * base[key], atol=1e-6)


@pytest.mark.parametrize("bad", [dict(blend=0.0), dict(blend=1.5), dict(silver=-1)])
def test_bad_switch_values_are_refused(project: Project, tiny_model_dir: Path, bad: dict) -> None:
    from stsstudio.core.errors import UserError

    fill_project(project, train=20, dev=6)
    with pytest.raises(UserError):
        train(project, _config(tiny_model_dir, **bad), RecordingReporter())

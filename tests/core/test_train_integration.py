"""The real embedded all-MiniLM-L6-v2, trained for a few steps on STSb pairs (slow, still run in CI)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from training_support import RecordingReporter

from stsstudio.core.store import Project
from stsstudio.core.training import TrainConfig, train


def _read(path: Path, n: int) -> list[tuple[str, str, float]]:
    with open(path, encoding="utf8") as f:
        rows = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [(r[5], r[6], float(r[4]) / 5.0) for _, r in zip(range(n), rows)]


@pytest.mark.slow
def test_embedded_model_trains_on_stsb(project: Project, stsb_train: Path, stsb_dev: Path) -> None:
    rows = [(a, b, y, "train", i + 1, None) for i, (a, b, y) in enumerate(_read(stsb_train, 48))]
    rows += [(a, b, y, "dev", i + 1, None) for i, (a, b, y) in enumerate(_read(stsb_dev, 40))]
    project.pairs.insert(rows, source="stsb")
    rep = RecordingReporter()
    result = train(project, TrainConfig(max_steps=5, batch_size=8, eval_steps=5), rep)
    assert result.status == "finished", result.message
    assert result.steps == 5 and project.runs.get(result.run_id).base_model == "default"
    # The pretrained model already ranks STSb pairs well; five small steps must not wreck it.
    assert result.base_dev_spearman > 0.6
    assert result.dev_spearman > result.base_dev_spearman - 0.05
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(result.model_dir, device="cpu", local_files_only=True)
    assert model.encode(["A plane is taking off."]).shape == (1, 384)

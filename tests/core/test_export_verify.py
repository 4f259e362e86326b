"""Export and verify (issue 22 point 3): one core operation that the Export view runs in its
worker and ``stsstudio export`` calls; the written folder is loaded back from disk and scored."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from training_support import add_finished_run, fill_project

from stsstudio.core import inference
from stsstudio.core.errors import UserError
from stsstudio.core.export_verify import ExportCheck, export_and_verify
from stsstudio.core.store import Project


@pytest.fixture
def run_project(tmp_path: Path, tiny_model_dir: Path):
    inference.clear_model_cache()
    with Project.create(tmp_path / "proj", base_model=str(tiny_model_dir)) as project:
        fill_project(project, train=20, dev=6)
        project.run_id = add_finished_run(project, tiny_model_dir, spearman=0.4)
        yield project


def test_export_loads_back_and_scores_as_the_run(run_project: Project, tmp_path: Path) -> None:
    from sentence_transformers import SentenceTransformer

    out = tmp_path / "out"
    check = export_and_verify(run_project, out, run_project.run_id, with_data=True, parquet=True)
    assert isinstance(check, ExportCheck) and Path(check.path) == out.resolve()
    assert check.dimension == 32 and check.max_seq_length == 64 and check.format
    assert {"modules.json", "README.md", "data/labeled_pairs.csv", "data/labeled_pairs.parquet"} \
        <= set(check.files)
    first_dev = run_project.pairs.labeled("dev")[0]
    assert check.sample == (first_dev.sentence1, first_dev.sentence2)
    # The scores are real: the folder from disk and the run's model give the sample's cosine.
    emb = SentenceTransformer(str(out), device="cpu").encode(list(check.sample), normalize_embeddings=True)
    assert check.exported_score == pytest.approx(float(np.dot(emb[0], emb[1])), abs=1e-5)
    assert check.run_score == pytest.approx(check.exported_score, abs=1e-5) and check.same is True
    shown = check.as_dict()
    assert shown["same"] is True and shown["path"] == check.path and shown["files"] == list(check.files)
    assert shown["runtime"] == "sentence-transformers" and check.load_call.startswith("SentenceTransformer(")
    assert "the same as the run" in check.describe()
    # A check that differs says so (the figures decide, not the text).
    off = ExportCheck(**{**check.__dict__, "run_score": check.exported_score + 0.01})
    assert off.same is False and "DIFFERENT" in off.describe()


def test_a_smaller_size_is_checked_at_that_size(run_project: Project, tmp_path: Path) -> None:
    check = export_and_verify(run_project, tmp_path / "small", run_project.run_id, dims=16)
    assert check.dimension == 16 and "truncate_dim=16" in check.load_call
    assert check.same is True


def test_no_label_no_sample_and_errors_write_nothing(tmp_path: Path, tiny_model_dir: Path) -> None:
    with Project.create(tmp_path / "bare", base_model=str(tiny_model_dir)) as project:
        project.pairs.insert([("a man is playing a guitar", "a man is playing the guitar", None, "train", 1,
                               None)])
        with pytest.raises(UserError, match="no trained run"):
            export_and_verify(project, tmp_path / "none")
        assert not (tmp_path / "none").exists()
        run_id = add_finished_run(project, tiny_model_dir)
        check = export_and_verify(project, tmp_path / "bare-out", run_id)
    assert check.sample is None and check.same is None and "sample" not in check.as_dict()
    assert "no labeled pair" in check.describe()


def test_cli_export_prints_the_check(run_project: Project, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    from stsstudio import cli

    path, run_id = run_project.path, run_project.run_id
    run_project.close()
    out = tmp_path / "cli-out"
    assert cli.main(["export", str(path), str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == f"Exported run {run_id} to {out.resolve()}"
    assert "Loaded back from disk with sentence-transformers: 32-dim embeddings" in captured.err
    assert "the same as the run" in captured.err


def test_a_graph_variant_is_loaded_back_with_its_runtime(run_project: Project, tmp_path: Path) -> None:
    from stsstudio.core.export_formats import get_format

    fmt = get_format("onnx")
    try:
        fmt.require()
    except UserError as exc:
        pytest.skip(str(exc))
    check = export_and_verify(run_project, tmp_path / "onnx", run_project.run_id, format="onnx")
    assert check.runtime == fmt.runtime != "sentence-transformers"
    assert check.load_call == fmt.load_hint(check.path, None)
    assert check.same is True and abs(check.exported_score - check.run_score) <= max(1e-4, fmt.tolerance)

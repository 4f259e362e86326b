"""Hugging Face datasets: save_to_disk folders, folders of data files, and an offline Hub."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from stsstudio.core.importers import ImportDataError, ImportOptions, import_pairs, read_table

datasets = pytest.importorskip("datasets")


def _frame(prefix: str, n: int = 4) -> dict[str, list]:
    return {"sentence1": [f"{prefix} first {i}" for i in range(n)],
            "sentence2": [f"{prefix} second {i}" for i in range(n)],
            "score": [i / 5 * 5 for i in range(n)]}


def test_save_to_disk_dataset_dict(project, tmp_path):
    dd = datasets.DatasetDict({"train": datasets.Dataset.from_dict(_frame("tr")),
                               "validation": datasets.Dataset.from_dict(_frame("va", 2))})
    dd.save_to_disk(str(tmp_path / "saved"))
    report = import_pairs(project, tmp_path / "saved", ImportOptions(split="train"))
    assert report.format == "hf" and report.imported == 4 and report.scale == "0-5"
    report = import_pairs(project, tmp_path / "saved", ImportOptions(hf_split="validation", split="dev"))
    assert report.imported == 2
    assert project.stats()["splits"] == {"train": 4, "dev": 2, "test": 0, "none": 0}
    with pytest.raises(ImportDataError, match="no split 'test'; it has train, validation"):
        read_table(tmp_path / "saved", ImportOptions(hf_split="test"))


def test_save_to_disk_single_dataset_with_sick_columns(project, tmp_path):
    ds = datasets.Dataset.from_dict({"sentence_A": ["a", "b"], "sentence_B": ["c", "d"],
                                     "relatedness_score": [1.0, 4.6]})
    ds.save_to_disk(str(tmp_path / "sick"))
    report = import_pairs(project, tmp_path / "sick", ImportOptions(format="hf"))
    assert report.scale == "1-5"
    assert [p.score for p in project.pairs.all()] == pytest.approx([0.0, 0.9])


def test_folder_of_data_files(project, tmp_path):
    folder = tmp_path / "repo" / "data"
    folder.mkdir(parents=True)
    pd.DataFrame(_frame("pq")).to_parquet(folder / "train-00000-of-00001.parquet")
    pd.DataFrame(_frame("te", 3)).to_json(folder / "test.jsonl", orient="records", lines=True)
    (tmp_path / "repo" / "README.md").write_text("# a dataset card\n")
    assert import_pairs(project, tmp_path / "repo").imported == 4
    report = import_pairs(project, tmp_path / "repo", ImportOptions(hf_split="test", split="test"))
    assert report.imported == 3 and report.splits == {"test": 3}


def test_folder_without_data(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ImportDataError, match="holds no dataset"):
        read_table(tmp_path / "empty")


def test_hub_offline_is_fast_and_suggests_a_local_path(project, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    before = project.checksum()
    started = time.monotonic()
    with pytest.raises(ImportDataError) as err:
        import_pairs(project, "sentence-transformers/stsb", ImportOptions(hf_config="default"))
    assert time.monotonic() - started < 5
    text = str(err.value)
    assert "Hub cannot be reached" in text and "offline" in text and "local" in text
    assert project.checksum() == before

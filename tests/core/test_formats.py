"""The one file-format registry (core/formats.py) and the .xlsx format it adds (issue 22 point 2)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from stsstudio import cli
from stsstudio.core import formats, importers
from stsstudio.core.data_export import EXPORT_FORMATS, export_pairs
from stsstudio.core.errors import UserError
from stsstudio.core.formats import FILE_FORMATS, FileFormat
from stsstudio.core.importers import ImportDataError, import_pairs
from stsstudio.core.merge import merge_labels
from stsstudio.core.sentences import import_sentences
from stsstudio.core.store import Project


def test_every_format_has_its_reader_and_writer():
    for fmt in FILE_FORMATS.values():
        if "pairs" in fmt.roles:
            assert fmt.name in importers.READERS, fmt.name
        if "export" in fmt.roles:
            assert fmt.writer is not None, fmt.name
    assert set(importers.FORMATS) == {*formats.format_names("pairs"), "hf"}
    assert set(cli.FORMATS) == set(importers.FORMATS)
    assert set(EXPORT_FORMATS.values()) == set(formats.format_names("export"))


def test_suffix_lookup_follows_the_role():
    assert formats.format_of("a/B.XLSX").name == "xlsx"
    assert formats.format_of("pairs.txt").name == "csv"            # a pair file named .txt
    assert formats.format_of("pool.txt", "sentences").name == "txt"  # one sentence a line
    assert formats.format_of("notes.docx") is None
    assert ".txt" not in formats.dataset_suffixes()   # a README.txt in a dataset folder is no data
    with pytest.raises(UserError, match="ending in .csv, .tsv, .jsonl, .parquet or .xlsx"):
        formats.export_format_of("out.docx")


def test_dialog_filters_list_every_suffix_of_their_role():
    text = formats.dialog_filter("pairs", "Sentence pairs")
    first = text.split(";;")[0]
    for suffix in formats.suffixes("pairs"):
        assert f"*{suffix}" in first
    assert "Excel workbook (*.xlsx)" in text and text.endswith("All files (*)")


def test_a_missing_optional_package_names_its_install_line():
    fmt = FileFormat("fake", "Fake sheets", (".fake",), ("pairs",), module="stsstudio_no_such_pkg",
                     extra="fake")
    with pytest.raises(UserError, match=r'pip install "stsstudio\[fake\]"'):
        fmt.require()
    FILE_FORMATS["xlsx"].require()   # openpyxl is in the test extra


def _workbook(path, rows, *, extra_sheet: bool = False):
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        pd.DataFrame(rows[1:], columns=rows[0]).to_excel(writer, index=False, sheet_name="pairs")
        if extra_sheet:
            pd.DataFrame({"note": ["ignored"]}).to_excel(writer, index=False, sheet_name="notes")
    return path


def test_cli_imports_an_excel_workbook(tmp_path, capsys):
    proj = tmp_path / "p"
    cli.main(["new", str(proj)])
    book = _workbook(tmp_path / "pairs.xlsx", [
        ["id", "sentence1", "sentence2", "rating", "rater"],
        ["007", "A cat sits", "A cat is sitting", 5, "ann"],
        ["008", "Rain today", "Sun today", 1.5, "ann"],
        ["007", "A cat is sitting", "A cat sits", 4, "bob"],
        ["009", "No score yet", "Still none", None, "bob"],
    ], extra_sheet=True)
    capsys.readouterr()
    assert cli.main(["import", str(proj), str(book), "--scale", "1-5", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["format"] == "xlsx" and report["imported"] == 3 and report["labeled"] == 2
    assert report["annotators"] == ["ann", "bob"]
    assert any("has 2 sheets; the first ('pairs') was read" in w for w in report["warnings"])
    with Project.open(proj, readonly=True) as p:
        cat = p.pairs.find("A cat sits", "A cat is sitting")
        assert p.pairs.get(cat).score == pytest.approx((1.0 + 0.75) / 2)
        assert p.pairs.get(cat).metadata == {"id": "007"}   # a text cell stays text
        assert p.pairs.get(p.pairs.find("Rain today", "Sun today")).score == pytest.approx(0.125)


def test_a_bad_row_of_a_workbook_is_named_by_its_sheet_row(tmp_path, project):
    book = _workbook(tmp_path / "bad.xlsx", [["sentence1", "sentence2", "score"],
                                             ["a", "b", 0.5], ["c", None, 0.2]])
    with pytest.raises(ImportDataError, match=r"bad.xlsx, row 3, column 'sentence2': the sentence is empty"):
        import_pairs(project, book)
    assert project.pairs.count() == 0
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(ImportDataError, match="cannot be read as an Excel workbook"):
        import_pairs(project, broken)


def test_export_to_excel_and_back_keeps_formula_like_text(tmp_path, project):
    project.pairs.insert([("=1+1", "plain text", 0.5, "train", 1, None),
                          ("B", "C", None, "dev", 2, None)])
    out = tmp_path / "out.xlsx"
    assert export_pairs(project, out) == 2
    raw = pd.read_excel(out, engine="openpyxl", dtype=object)
    assert raw["sentence1"].tolist()[0] == "'=1+1"   # a spreadsheet would run it otherwise
    report = import_pairs(project, out)
    assert report.duplicates_in_project == 2 and report.imported == 0   # the same pairs


def test_sentences_and_merge_read_workbooks_too(tmp_path, project):
    pool = _workbook(tmp_path / "pool.xlsx", [["text"], ["one sentence"], ["another one"]])
    assert import_sentences(project, pool).imported == 2
    project.pairs.insert([("A", "B", None, "train", 1, None)])
    labels = _workbook(tmp_path / "labels.xlsx", [["sentence1", "sentence2", "score", "coder"],
                                                  ["A", "B", 0.3, "ann"], ["B", "A", 0.7, "bob"]])
    assert merge_labels(project, labels).annotators == ["ann", "bob"]
    assert project.pairs.get(project.pairs.find("A", "B")).score == pytest.approx(0.5)

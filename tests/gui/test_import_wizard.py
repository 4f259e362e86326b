"""The import wizard drives the real core importers into a real project database."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from db_support import db_rows as _db_rows
from PySide6.QtCore import Qt

from stsstudio.core import importers
from stsstudio.core.errors import UserError
from stsstudio.gui.importing.import_wizard import ImportWizard


def _wizard(qtbot, ctx, source: str) -> ImportWizard:
    wizard = ImportWizard(ctx, None, source=source)
    qtbot.addWidget(wizard)
    return wizard


def _wait_page_or_error(qtbot, wizard: ImportWizard, page: str, timeout: int = 15000) -> None:
    qtbot.waitUntil(lambda: (wizard.page() == page and not wizard._busy) or bool(wizard.error_text()),
                    timeout=timeout)


def test_import_stsb_dev_through_the_wizard(qtbot, ctx, stsb_dev):
    project = ctx.project
    wizard = _wizard(qtbot, ctx, str(stsb_dev))
    _wait_page_or_error(qtbot, wizard, "columns")
    assert wizard.error_text() == ""
    # Auto-detection of the headerless STS benchmark file: genre, file, year, id, score, s1, s2.
    assert wizard.s1_combo.currentData() == "5"
    assert wizard.s2_combo.currentData() == "6"
    assert wizard.score_combo.currentData() == "4"
    assert not wizard.header_check.isChecked()
    assert wizard.preview_model.rowCount() == 50
    assert "scale 0-5 (detected)" in wizard.scale_info.text()
    assert wizard.scale_combo.currentText() == "0 – 5 (detected)"  # shown in the menu itself
    assert wizard.histogram.counts.sum() == 1500

    wizard.split_combo.setCurrentIndex(wizard.split_combo.findData("dev"))
    wizard.next_button.click()
    _wait_page_or_error(qtbot, wizard, "summary")
    assert wizard.error_text() == ""
    report = wizard.prepared.report
    assert report.rows == 1500
    assert report.imported + report.duplicates == 1500
    assert wizard.summary_values["imported"].text() == f"<b>{report.imported:,}</b>"
    assert project.stats()["pairs"] == 0  # nothing written before the last step

    with qtbot.waitSignal(ctx.pairsChanged, timeout=15000):
        wizard.next_button.click()
    assert wizard.page() == "import"
    assert wizard.report is not None and wizard.report.imported == report.imported
    stats = project.stats()
    assert stats["pairs"] == report.imported
    assert stats["labeled"] == report.imported
    assert stats["splits"]["dev"] == report.imported
    # Spot-check: row 2 of the file scores 4.750 on the 0-5 scale.
    rows = _db_rows(project, "SELECT sentence1, sentence2, score, split, source_row FROM pairs "
                    "WHERE sentence1 = ?", ("A young child is riding a horse.",))
    assert rows == [("A young child is riding a horse.", "A child is riding a horse.",
                     pytest.approx(4.75 / 5), "dev", 2)]
    wizard.next_button.click()  # "Close"
    assert not wizard.isVisible()


def test_changing_columns_and_scale_updates_the_preview(qtbot, ctx, tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("left\tright\trating\n" + "".join(
        f"The cat number {i} sleeps.\tA cat {i} is asleep.\t{i % 101}\n" for i in range(200)),
        encoding="utf-8")
    wizard = _wizard(qtbot, ctx, str(path))
    _wait_page_or_error(qtbot, wizard, "columns")
    assert (wizard.s1_combo.currentData(), wizard.s2_combo.currentData()) == ("left", "right")
    assert wizard.score_combo.currentData() == "rating"
    assert "scale 0-100 (detected)" in wizard.scale_info.text()
    # The stored 0-1 value sits next to the raw one, in the score column itself.
    assert wizard.preview_model.data(wizard.preview_model.index(50 - 1, 2)) == f"49  →  {49 / 100:.2f}"
    # A wrong scale is shown at once, with the row, before anything is imported.
    wizard.scale_combo.setCurrentIndex(wizard.scale_combo.findData("0-5"))
    assert not wizard.preview_warning.isHidden()
    assert "outside the 0-5 scale" in wizard.preview_warning.text()
    # No score column: everything arrives unlabeled.
    wizard.score_combo.setCurrentIndex(wizard.score_combo.findData(""))
    assert "arrive unlabeled" in wizard.scale_info.text()
    wizard.next_button.click()
    _wait_page_or_error(qtbot, wizard, "summary")
    assert wizard.prepared.report.unlabeled == 200
    with qtbot.waitSignal(ctx.pairsChanged, timeout=15000):
        wizard.next_button.click()
    assert ctx.project.stats()["unlabeled"] == 200


BAD_FILES: dict[str, bytes] = {
    "missing_column.csv": b"sentence1,score\nA cat sits on the mat.,3\nA dog runs in the park.,4\n",
    "bad_score.csv": b"sentence1,sentence2,score\nA cat sits.,A cat sat.,4\nA dog runs.,A dog ran.,high\n",
    "empty.csv": b"",
    "binary.csv": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8,
    "wrong_encoding.csv": "sentence1,sentence2,score\nA cat sits.,A cat sat.,4\n".encode("utf-16"),
    "duplicate_header.csv": b"sentence1,sentence2,Sentence1\na,b,c\nd,e,f\n",
    "huge_line.csv": b"sentence1,sentence2,score\nA cat.,A dog.,3\n" + b"x" * 1_000_000 + b",b,3\n",
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_shows_the_core_message_and_writes_nothing(qtbot, ctx, tmp_path, name):
    project = ctx.project
    project.pairs.insert([("An existing pair.", "Already here.", 0.5, "train", 1, None)])
    before = project.checksum()
    path = tmp_path / name
    path.write_bytes(BAD_FILES[name])
    with pytest.raises(UserError) as expected:
        importers.prepare_import(path, importers.ImportOptions(), project)

    wizard = _wizard(qtbot, ctx, str(path))
    _wait_page_or_error(qtbot, wizard, "columns")
    if not wizard.error_text():
        wizard.next_button.click()  # the problem is found when the pairs are validated
        _wait_page_or_error(qtbot, wizard, "summary")
    assert wizard.error_text() == str(expected.value)
    assert not wizard.error_label.isHidden()
    assert wizard.page() in ("source", "columns")
    assert project.checksum() == before


def test_cancelled_import_leaves_the_project_unchanged(qtbot, ctx, tmp_path):
    path = tmp_path / "many.csv"
    path.write_text("sentence1,sentence2,score\n" + "".join(
        f"Sentence number {i} about cats.,Another sentence {i} about dogs.,{i % 6}\n"
        for i in range(60_000)), encoding="utf-8")
    project = ctx.project
    before = project.checksum()
    wizard = _wizard(qtbot, ctx, str(path))
    _wait_page_or_error(qtbot, wizard, "columns")
    wizard.next_button.click()
    _wait_page_or_error(qtbot, wizard, "summary", timeout=30000)
    wizard.next_button.click()
    assert wizard.page() == "import" and wizard._busy == "commit"
    wizard.cancel_button.click()
    qtbot.waitUntil(lambda: not wizard._busy, timeout=30000)
    if wizard.report is None:  # cancelled in time: nothing written
        assert wizard.import_title.text() == "Import cancelled"
        assert project.checksum() == before
    else:  # the machine was faster than the click: everything written
        assert project.stats()["pairs"] == wizard.report.imported


def test_hugging_face_folder_source(qtbot, ctx, tmp_path):
    folder = tmp_path / "dataset"
    folder.mkdir()
    (folder / "train.jsonl").write_text(
        '{"sentence1": "A man plays a guitar.", "sentence2": "A person plays guitar.", "score": 0.9}\n'
        '{"sentence1": "A dog runs.", "sentence2": "A plane takes off.", "score": 0.0}\n',
        encoding="utf-8")
    wizard = ImportWizard(ctx, None)
    qtbot.addWidget(wizard)
    wizard.hf_radio.setChecked(True)
    wizard.hf_id_edit.setText(str(folder))
    wizard.next_button.click()
    _wait_page_or_error(qtbot, wizard, "columns")
    if wizard.error_text():
        pytest.skip(f"the core cannot read this folder: {wizard.error_text()}")
    wizard.next_button.click()
    _wait_page_or_error(qtbot, wizard, "summary")
    with qtbot.waitSignal(ctx.pairsChanged, timeout=15000):
        wizard.next_button.click()
    assert ctx.project.stats()["pairs"] == 2


def test_source_page_requires_a_source(qtbot, ctx):
    wizard = ImportWizard(ctx, None)
    qtbot.addWidget(wizard)
    wizard.next_button.click()
    assert wizard.page() == "source"
    assert "Choose a file" in wizard.error_text()


def test_missing_file_message(qtbot, ctx, tmp_path):
    missing = tmp_path / "nope.csv"
    wizard = _wizard(qtbot, ctx, str(missing))
    _wait_page_or_error(qtbot, wizard, "columns")
    assert wizard.page() == "source"
    assert "nope.csv" in wizard.error_text()
    assert not Path(os.fspath(missing)).exists()


# -- raters and workbooks (issue 20 point 3, issue 22 point 2) ---------------------------------


def _rater_file(tmp_path: Path) -> Path:
    src = tmp_path / "clinic.csv"
    src.write_text("case_id,finding_a,finding_b,rating,rater\n"
                   "c1,Small opacity left,Opacity on the left,4.5,rater_a\n"
                   "c1,Opacity on the left,Small opacity left,3.5,rater_b\n"   # B,A: the same pair
                   "c2,No effusion,Large effusion,1,rater_a\n"
                   "c2,No effusion,Large effusion,,rater_b\n"                  # rating left empty
                   "c3,Heart size normal,Normal heart size,5,rater_b\n", encoding="utf-8")
    return src


def test_wizard_reads_the_rater_column_and_imports_each_raters_labels(qtbot, ctx, tmp_path):
    project = ctx.project
    wizard = _wizard(qtbot, ctx, str(_rater_file(tmp_path)))
    _wait_page_or_error(qtbot, wizard, "columns")
    assert wizard.rater_combo.currentData() == "rater"
    assert not wizard.raters_label.isHidden()
    assert wizard.raters_label.text() == "2 raters: rater_a, rater_b"
    header = wizard.preview_model.headerData(4, Qt.Horizontal)
    assert header == "rater  ·  Rater"
    wizard.scale_combo.setCurrentIndex(wizard.scale_combo.findData("1-5"))
    wizard.next_button.click()
    _wait_page_or_error(qtbot, wizard, "summary")
    assert wizard.error_text() == ""
    assert wizard.summary_values["raters"].text() == "2 raters: rater_a, rater_b; 4 labels"
    assert wizard.summary_values["imported"].text() == "<b>3</b>"
    with qtbot.waitSignal(ctx.pairsChanged, timeout=15000):
        wizard.next_button.click()
    labels = {(project.pairs.get(pid).source_row, who): score
              for pid, _s, who, score in project.labels.by_annotator()}
    assert labels == {(2, "rater_a"): pytest.approx(0.875), (2, "rater_b"): pytest.approx(0.625),
                      (4, "rater_a"): pytest.approx(0.0), (6, "rater_b"): pytest.approx(1.0)}
    first = project.pairs.get(project.pairs.find("Small opacity left", "Opacity on the left"))
    assert first.score == pytest.approx(0.75)   # the mean of the two raters
    assert first.metadata == {"case_id": "c1"}


def test_wizard_rater_column_can_be_switched_off(qtbot, ctx, tmp_path):
    project = ctx.project
    wizard = _wizard(qtbot, ctx, str(_rater_file(tmp_path)))
    _wait_page_or_error(qtbot, wizard, "columns")
    wizard.rater_combo.setCurrentIndex(wizard.rater_combo.findData(""))
    assert wizard.raters_label.isHidden()
    assert wizard.options().annotator_column == ""
    wizard.scale_combo.setCurrentIndex(wizard.scale_combo.findData("1-5"))
    wizard.next_button.click()
    _wait_page_or_error(qtbot, wizard, "summary")
    assert wizard.summary_values["raters"].text() == "– (no rater column)"
    with qtbot.waitSignal(ctx.pairsChanged, timeout=15000):
        wizard.next_button.click()
    assert {who for _p, _s, who, _v in project.labels.by_annotator()} == {"import"}
    assert "rater" in project.pairs.metadata_keys()


def test_wizard_default_split_is_cores_default(qtbot, ctx, tmp_path):
    from stsstudio.core.importers import DEFAULT_SPLIT, default_dev_fraction

    wizard = _wizard(qtbot, ctx, str(_rater_file(tmp_path)))
    _wait_page_or_error(qtbot, wizard, "columns")
    options = wizard.options()
    assert wizard.dev_check.isChecked() and options.split == DEFAULT_SPLIT
    assert options.dev_fraction == default_dev_fraction(None, DEFAULT_SPLIT) > 0


def test_wizard_imports_an_excel_workbook(qtbot, ctx, tmp_path):
    import pandas as pd

    book = tmp_path / "pairs.xlsx"
    pd.DataFrame({"sentence1": ["A cat sits", "Rain today", "Snow falls"],
                  "sentence2": ["A cat is sitting", "Sun today", "It is snowing"],
                  "score": [4.5, 0.5, 4.0]}).to_excel(book, index=False, engine="openpyxl")
    project = ctx.project
    wizard = _wizard(qtbot, ctx, str(book))
    _wait_page_or_error(qtbot, wizard, "columns")
    assert wizard.error_text() == ""
    assert "XLSX" in wizard.source_info.text()
    assert (wizard.s1_combo.currentData(), wizard.s2_combo.currentData(),
            wizard.score_combo.currentData()) == ("sentence1", "sentence2", "score")
    assert wizard.header_check.isEnabled() and wizard.header_check.isChecked()
    wizard.scale_combo.setCurrentIndex(wizard.scale_combo.findData("0-5"))
    wizard.next_button.click()
    _wait_page_or_error(qtbot, wizard, "summary")
    with qtbot.waitSignal(ctx.pairsChanged, timeout=15000):
        wizard.next_button.click()
    assert project.pairs.count() == 3
    assert project.pairs.get(project.pairs.find("Rain today", "Sun today")).score == pytest.approx(0.1)


def test_the_file_dialog_and_drop_take_every_registered_format():
    from stsstudio.core import formats
    from stsstudio.gui.importing.import_pages import FILE_FILTER
    from stsstudio.gui.shell.main_window import IMPORTABLE_SUFFIXES

    for suffix in formats.suffixes("pairs"):
        assert f"*{suffix}" in FILE_FILTER.split(";;")[0]
        assert suffix in IMPORTABLE_SUFFIXES

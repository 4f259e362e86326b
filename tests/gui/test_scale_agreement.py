"""The import wizard and `stsstudio import` agree on the scale and on every stored score.

Both call core's one score parser and scale detector (core/scales.py); this drives the real
wizard and the real CLI on the same files and compares the two projects' stored scores.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stsstudio.cli import main
from stsstudio.core.store import Project
from stsstudio.gui.importing.import_wizard import ImportWizard


def _rows(scores: list[str], sep: str = ",") -> str:
    return "".join(f"The cat number {i} sleeps.{sep}A cat {i} is asleep.{sep}{s}\n"
                   for i, s in enumerate(scores))


# name -> (file name, text, the scale both must detect)
FILES: dict[str, tuple[str, str, str]] = {
    "0-1": ("zero_one.csv", "sentence1,sentence2,score\n"
            + _rows([f"{(i % 11) / 10:.2f}" for i in range(30)]), "0-1"),
    "0-5": ("zero_five.csv", "sentence1,sentence2,score\n"
            + _rows([f"{(i % 26) / 5:.1f}" for i in range(30)]), "0-5"),
    "1-5 decimals": ("likert_dec.csv", "pair_id,text_a,text_b,rating,judgment\n" + "".join(
        f"p{i},Patient {i} reports mild pain in the left knee after walking.,"
        f"The patient number {i} has some knee pain when walking.,{1 + (i % 17) / 4:.2f},ok\n"
        for i in range(30)), "1-5"),
    "1-5 integers": ("likert_int.csv", "sentence1,sentence2,score\n"
                     + _rows([str(1 + i % 5) for i in range(30)]), "1-5"),
    "0-100": ("hundred.csv", "sentence1,sentence2,score\n"
              + _rows([str((i * 7) % 101) for i in range(30)]), "0-100"),
    "decimal commas": ("commas.csv", "sentence1;sentence2;score\n"
                       + _rows([f"{(i % 11) / 2:.1f}".replace(".", ",") for i in range(30)], ";"),
                       "0-5"),
    "min exactly 1": ("min_one.csv", "sentence1,sentence2,score\n"
                      + _rows(["1", "2.5", "3.7", "1.2", "2", "3.1"] * 3), "1-5"),
    "single value": ("single.csv", "sentence1,sentence2,score\n" + _rows(["3"] * 12), "1-5"),
    "scale in header": ("header.csv", "sentence1,sentence2,Similarity (1-5)\n"
                        + _rows(["1.5", "2", "4.4", "3.3"] * 4), "1-5"),
    "0-10 with blanks": ("ten.csv", "sentence1,sentence2,score\n"
                         + _rows([str(i % 11) if i % 4 else "" for i in range(30)]), "0-10"),
}


def _wizard(qtbot, ctx, source: Path) -> ImportWizard:
    wizard = ImportWizard(ctx, None, source=str(source))
    qtbot.addWidget(wizard)
    qtbot.waitUntil(lambda: (wizard.page() == "columns" and not wizard._busy) or bool(wizard.error_text()),
                    timeout=15000)
    assert wizard.error_text() == ""
    return wizard


def _stored(project: Project) -> dict[tuple[str, str], float | None]:
    return {(p.sentence1, p.sentence2): p.score for p in project.pairs.all()}


@pytest.mark.parametrize("case", list(FILES))
def test_wizard_and_cli_store_the_same_scores(qtbot, ctx, tmp_path, case, capsys):
    name, text, expected_scale = FILES[case]
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")

    # The CLI, into its own project.
    cli_project = tmp_path / "cli_project"
    assert main(["new", str(cli_project)]) == 0
    capsys.readouterr()
    assert main(["import", str(cli_project), str(path), "--json"]) == 0
    cli_report = json.loads(capsys.readouterr().out)

    # The wizard, into ctx.project.
    wizard = _wizard(qtbot, ctx, path)
    assert wizard.scored is not None and wizard.scored.problem is None
    assert wizard.scored.guess.scale == expected_scale == cli_report["scale"]
    assert wizard.scale_combo.currentData() == "auto"
    assert wizard.scale_combo.currentText().endswith(("(detected)", "(from the column name)"))
    assert wizard.scale_combo.currentText().startswith(expected_scale.replace("-", " – "))
    preview = {(wizard.preview_model.data(wizard.preview_model.index(r, c1)),
                wizard.preview_model.data(wizard.preview_model.index(r, c2))): wizard.preview_model.stored(r)
               for r in range(wizard.preview_model.rowCount())
               for c1, c2 in [(wizard.raw.columns.index(wizard.s1_combo.currentData()),
                               wizard.raw.columns.index(wizard.s2_combo.currentData()))]}
    wizard.next_button.click()
    qtbot.waitUntil(lambda: (wizard.page() == "summary" and not wizard._busy) or bool(wizard.error_text()),
                    timeout=15000)
    assert wizard.error_text() == ""
    report = wizard.prepared.report
    assert (report.scale, report.scale_ambiguous, report.scale_note) == (
        cli_report["scale"], cli_report["scale_ambiguous"], cli_report["scale_note"])
    with qtbot.waitSignal(ctx.pairsChanged, timeout=15000):
        wizard.next_button.click()

    gui_scores = _stored(ctx.project)
    with Project.open(cli_project, readonly=True) as project:
        cli_scores = _stored(project)
        assert project.display_scale() == ctx.project.display_scale() == expected_scale
    assert len(gui_scores) == len(cli_scores) == cli_report["imported"] > 0
    assert gui_scores.keys() == cli_scores.keys()
    for key, score in gui_scores.items():
        assert score == cli_scores[key], key  # exactly the same number, not merely close
    # The preview showed the very numbers that were stored.
    for key, shown in preview.items():
        stored = gui_scores[key]
        assert (stored is None and shown != shown) or shown == stored, key


def test_ambiguous_min_of_one_is_asked_plainly(qtbot, ctx, tmp_path):
    path = tmp_path / "min_one.csv"
    path.write_text(FILES["min exactly 1"][1], encoding="utf-8")
    wizard = _wizard(qtbot, ctx, path)
    box = wizard.scale_box
    assert not box.question_label.isHidden()
    assert "Is 1 your lowest possible score?" in box.question_label.text()
    answers = {b.property("scale"): b for b in box.answer_buttons}
    assert set(answers) == {"1-5", "0-5"}
    first = wizard.preview_model.stored(0)  # raw 1 on 1-5
    assert first == 0.0
    answers["0-5"].click()  # "No, 0 is"
    assert wizard.scale_combo.currentData() == "0-5"
    assert wizard.preview_model.stored(0) == pytest.approx(0.2)
    assert box.question_label.isHidden()  # answered
    wizard.next_button.click()
    qtbot.waitUntil(lambda: wizard.page() == "summary" and not wizard._busy, timeout=15000)
    assert wizard.prepared.report.scale == "0-5" and not wizard.prepared.report.scale_ambiguous


def test_outlier_guess_is_refused_in_the_wizard_as_in_the_cli(qtbot, ctx, tmp_path, capsys):
    path = tmp_path / "outlier.csv"
    path.write_text("sentence1,sentence2,score\n" + _rows([f"{(i % 10) / 10}" for i in range(40)] + ["3"]),
                    encoding="utf-8")
    cli_project = tmp_path / "cli_project"
    assert main(["new", str(cli_project)]) == 0
    capsys.readouterr()
    assert main(["import", str(cli_project), str(path)]) == 2
    cli_error = capsys.readouterr().err.strip()
    wizard = _wizard(qtbot, ctx, path)
    assert "rests on 1 of 41 scores" in wizard.preview_warning.text()
    assert cli_error.endswith(wizard.preview_warning.text())
    assert {b.property("scale") for b in wizard.scale_box.answer_buttons} == {"0-5", "0-1"}
    before = ctx.project.checksum()
    wizard.next_button.click()
    qtbot.waitUntil(lambda: bool(wizard.error_text()), timeout=15000)
    assert cli_error.endswith(wizard.error_text())
    assert ctx.project.checksum() == before


def test_word_column_is_explained_and_can_be_imported_unlabeled(qtbot, ctx, tmp_path):
    path = tmp_path / "words.csv"
    path.write_text("sentence1,sentence2,score\n" + _rows(["low"] * 20 + ["high"] * 19 + ["4"]),
                    encoding="utf-8")
    wizard = _wizard(qtbot, ctx, path)
    assert "39 of 40 values are not numbers (low, high)" in wizard.scale_info.text()
    assert " labeled, " not in wizard.scale_info.text()  # no misleading counts
    box = wizard.scale_box
    assert not box.unlabeled_button.isHidden() and not box.other_column_button.isHidden()
    box.unlabeled_button.click()
    assert wizard.score_combo.currentData() == ""
    assert "arrive unlabeled" in wizard.scale_info.text()
    assert box.unlabeled_button.isHidden()
    wizard.next_button.click()
    qtbot.waitUntil(lambda: wizard.page() == "summary" and not wizard._busy, timeout=15000)
    assert wizard.prepared.report.unlabeled == 40


def test_stored_value_is_in_view_at_the_default_size(qtbot, ctx, tmp_path):
    path = tmp_path / "clinic.csv"
    path.write_text(FILES["1-5 decimals"][1], encoding="utf-8")
    wizard = _wizard(qtbot, ctx, path)
    wizard.show()
    qtbot.waitExposed(wizard)
    preview = wizard.preview
    col = wizard.raw.columns.index("rating")
    assert wizard.preview_model.score_column() == col
    left = preview.columnViewportPosition(col)
    assert left >= 0 and left + preview.columnWidth(col) <= preview.viewport().width()
    text = wizard.preview_model.data(wizard.preview_model.index(0, col))
    assert text == "1.00  →  0.00"
    width = preview.fontMetrics().horizontalAdvance(text)
    assert width <= preview.columnWidth(col)

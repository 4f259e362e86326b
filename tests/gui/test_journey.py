"""The whole first session of a user, through the real main window, checked in the database:
create a project, import sts-dev.csv through the wizard, label 20 pairs by keyboard, undo one,
flag one, close, reopen."""

from __future__ import annotations

import pytest
from db_support import db_rows as _db_rows
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from stsstudio.core.store import Project
from stsstudio.gui.common.context import ProjectContext
from stsstudio.gui.shell.main_window import MainWindow

DIGITS = [Qt.Key.Key_0, Qt.Key.Key_1, Qt.Key.Key_2, Qt.Key.Key_3, Qt.Key.Key_4, Qt.Key.Key_5]


def test_create_import_label_undo_flag_reopen(qtbot, tmp_path, monkeypatch, stsb_dev):
    ctx = ProjectContext()
    ctx.annotator = "dr. rivera"  # set, so the name dialog does not open
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()

    # 1. create a project from the welcome page
    target = tmp_path / "Clinical notes"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(target), "")))
    window.welcome.new_button.click()
    project = ctx.project
    assert project is not None and project.stats()["pairs"] == 0

    # 2. import sts-dev.csv through the wizard, auto-detected, as the dev split
    wizard = window.open_import_wizard(str(stsb_dev))
    qtbot.waitUntil(lambda: wizard.page() == "columns" and not wizard._busy, timeout=20000)
    wizard.split_combo.setCurrentIndex(wizard.split_combo.findData("dev"))
    wizard.next_button.click()
    qtbot.waitUntil(lambda: wizard.page() == "summary" and not wizard._busy, timeout=20000)
    assert project.stats()["pairs"] == 0
    with qtbot.waitSignal(ctx.pairsChanged, timeout=20000):
        wizard.next_button.click()
    imported = wizard.report.imported
    assert imported + wizard.report.duplicates == 1500
    assert project.stats()["splits"]["dev"] == imported
    wizard.next_button.click()  # Close

    # 3. label 20 pairs by keyboard in the Label view
    window.show_view("label")
    view = window.view("label")
    view.setFocus()
    scores = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    given: dict[int, float] = {}
    order: list[int] = []
    for i in range(20):
        pair_id = view.current.id
        qtbot.keyClick(view, DIGITS[i % 6])
        qtbot.keyClick(view, Qt.Key.Key_Return)
        assert project.pairs.get(pair_id).score == pytest.approx(scores[i % 6])
        given[pair_id] = scores[i % 6]
        order.append(pair_id)
    assert len(set(order)) == 20

    # 4. undo the last label (Ctrl+Z), then flag that pair (F)
    last = order[-1]
    qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert view.current.id == last
    assert project.pairs.get(last).annotator != "dr. rivera"
    del given[last]
    qtbot.keyClick(view, Qt.Key.Key_F)
    assert project.pairs.get(last).flagged

    # 5. close the project, reopen it: every label with its annotator is there
    window.action_close.trigger()
    assert ctx.project is None
    with Project.open(target) as reopened:
        for pair_id, score in given.items():
            pair = reopened.pairs.get(pair_id)
            assert pair.score == pytest.approx(score)
            assert pair.annotator == "dr. rivera"
        assert reopened.pairs.get(last).flagged
        assert _db_rows(reopened, "SELECT COUNT(*) FROM labels WHERE annotator = 'dr. rivera'")[0][0] == 19
        assert reopened.stats()["pairs"] == imported

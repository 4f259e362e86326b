"""File ▸ Back up… writes the open project, every label included, to one file."""

from __future__ import annotations

import os

from PySide6.QtWidgets import QFileDialog

from stsstudio.core.store import Project


def test_back_up_menu_item(main_window, project, tmp_path, monkeypatch, warnings_shown):
    window = main_window
    action = window.backup_action.action
    assert action in window.menuBar().actions()[0].menu().actions()
    assert action.isEnabled()
    project.pairs.insert([("a cat", "a dog", None, "train", 1, None)])
    project.labels.set(1, 0.25, annotator="me")
    target = tmp_path / "copy.stsproj"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(target), "")))
    action.trigger()
    assert target.is_file() and not warnings_shown
    assert "Backed up" in window.statusBar().currentMessage()
    folder = tmp_path / "restored"
    folder.mkdir()
    os.replace(target, folder / "project.stsproj")
    with Project.open(folder, readonly=True) as copy:
        assert copy.pairs.get(1).score == 0.25
    # Over the project's own database: refused with a message, nothing written.
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(project.db_path), "")))
    action.trigger()
    assert warnings_shown and "a file of the open project" in warnings_shown[-1][1]
    assert project.pairs.get(1).score == 0.25
    window.ctx.set_project(None)
    assert not action.isEnabled()

"""Issue 24: a received project with planted links, stored paths outside and unreadable run
records opens in the app, every view shows, and nothing outside the project is read or changed."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import sys
from pathlib import Path

from stsstudio.core.store import Project
from stsstudio.gui.shell.main_window import VIEW_KEYS

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from training_support import add_finished_run, fill_project  # noqa: E402


def _snapshot(folder: Path) -> dict[str, str]:
    out = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            p = Path(root) / name
            out[str(p.relative_to(folder))] = (hashlib.sha256(p.read_bytes()).hexdigest()
                                               if p.is_file() else "dir")
    return out


def test_hostile_project_opens_and_every_view_shows(empty_window, qtbot, tmp_path, tiny_model):
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(tiny_model, elsewhere / "model")
    (elsewhere / "checkpoints").mkdir()
    path = tmp_path / "received"
    with Project.create(path, name="Received") as p:
        fill_project(p, train=16, dev=6)
        outside_run = add_finished_run(p, tiny_model)
        linked_run = p.runs.create(base_model="default", loss="cosent", config={})
        broken_run = add_finished_run(p, tiny_model)
    (path / "runs" / str(linked_run)).rmdir()
    (path / "runs" / str(linked_run)).symlink_to(elsewhere, target_is_directory=True)
    with sqlite3.connect(path / "project.stsproj") as conn:
        conn.execute("UPDATE runs SET model_dir = ?, best_dev_spearman = 0.99 WHERE id = ?",
                     (str(elsewhere / "model"), outside_run))
        conn.execute("UPDATE runs SET status = 'interrupted' WHERE id = ?", (linked_run,))
        conn.execute("UPDATE runs SET config = 'not json', summary = '[1, 2]', steps = 'many', "
                     "best_dev_spearman = 'high' WHERE id = ?", (broken_run,))
        conn.execute("PRAGMA ignore_check_constraints = 1")
        conn.execute("UPDATE pairs SET score = 'high' WHERE id = 1")
        conn.execute("UPDATE labels SET score = 7 WHERE pair_id = 2")
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('display_scale', '7-3')")
        conn.execute("INSERT OR REPLACE INTO calibrations (run_id, created_at, payload) "
                     "VALUES (?, 0, '[1, 2]')", (broken_run,))
    before = _snapshot(elsewhere)
    window = empty_window
    assert window.open_project(str(path)) is True
    for key in VIEW_KEYS:
        window.show_view(key)
        qtbot.wait(50)
    qtbot.wait(300)
    window.close_project()
    assert _snapshot(elsewhere) == before
    with Project.open(path, readonly=True) as p:
        assert p.runs.get(broken_run).config == {} and p.runs.get(broken_run).summary == {}

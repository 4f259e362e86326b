"""The shell: start-up, welcome, projects, menus, status bar, settings, crash dialog."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, QRect, Qt, QTimer, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QFileDialog, QMessageBox

from stsstudio.core.store import Project
from stsstudio.gui.common.context import ProjectContext
from stsstudio.gui.shell import settings
from stsstudio.gui.shell.main_window import VIEW_KEYS, MainWindow, PlaceholderView

REPO = Path(__file__).resolve().parents[2]


def _pairs(project: Project, n: int, labeled: int) -> None:
    project.pairs.insert([(f"Sentence {i} about a cat.", f"Sentence {i} about a dog.",
                           0.5 if i < labeled else None, "train", i + 1, None) for i in range(n)])


def test_starts_on_the_welcome_page(empty_window, qtbot):
    window = empty_window
    window.show()
    qtbot.waitExposed(window)
    assert window.pages.currentWidget() is window.welcome
    assert window.windowTitle() == "STS Studio"
    assert window.project_label.text() == "No project open"
    assert not window.action_import.isEnabled()
    assert not window.action_close.isEnabled()
    assert "Loading ML libraries" in window.ml_label.text()
    assert window.welcome.no_recent.isVisibleTo(window.welcome)


def test_first_paint_subprocess_without_torch(tmp_path):
    """The app on a PROJECT paints its window before torch is imported (the startup bench's
    child opens it with the app's own start_gui and watches the first paint from outside)."""
    Project.create(tmp_path / "p").close()
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", STSSTUDIO_BENCH_T0=repr(time.time()))
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "first_paint.py"), str(tmp_path / "p")],
                          env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("{"))
    result = json.loads(line)
    assert result["view"] == "pairs"
    assert result["torch_imported"] is False
    assert result["sentence_transformers_imported"] is False
    assert result["first_paint_s"] > 0


def test_building_the_window_imports_no_torch():
    code = ("import os, sys; os.environ['QT_QPA_PLATFORM']='offscreen'\n"
            "from stsstudio.app import create_application\n"
            "from stsstudio.gui.common.context import ProjectContext\n"
            "from stsstudio.gui.shell.main_window import MainWindow\n"
            "app = create_application(); w = MainWindow(ProjectContext()); w.show(); app.processEvents()\n"
            "bad = [m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules]\n"
            "print('HEAVY', bad)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY []" in proc.stdout


def test_new_project_from_the_welcome_page(empty_window, qtbot, tmp_path, monkeypatch):
    target = tmp_path / "My project"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(target), "")))
    window = empty_window
    window.welcome.new_button.click()
    project = window.ctx.project
    assert project is not None and project.path == target.resolve()
    assert (target / "project.stsproj").exists()
    assert project.stats()["pairs"] == 0
    assert window.pages.currentWidget() is window.workspace
    assert window.current_view() == "pairs"
    assert window.windowTitle().startswith("My project")
    assert settings.recent_projects() == [str(target.resolve())]
    qtbot.waitUntil(lambda: window.counts_label.text() == "0 pairs · 0 labeled", timeout=5000)
    window.action_close.trigger()
    assert window.ctx.project is None
    assert window.pages.currentWidget() is window.welcome
    assert window.welcome.recent_list.count() == 1
    # Ctrl+N from the menu does the same, and an existing project folder is refused.
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda *a, **k: shown.append(a[2])))
    window.action_new.trigger()
    assert window.ctx.project is None and "already holds a project" in shown[0]


def test_open_project_from_menu_and_recent_list(empty_window, qtbot, tmp_path, monkeypatch):
    path = tmp_path / "proj"
    with Project.create(path, name="Helpdesk") as p:
        _pairs(p, 12, 5)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(path)))
    window = empty_window
    window.action_open.trigger()
    assert window.ctx.project is not None and window.ctx.project.name == "Helpdesk"
    assert window.project_label.text() == "Helpdesk"
    qtbot.waitUntil(lambda: window.counts_label.text() == "12 pairs · 5 labeled", timeout=5000)
    window.close_project()
    item = window.welcome.recent_list.item(0)
    assert item.data(Qt.UserRole) == str(path.resolve())
    window.welcome.recent_list.itemActivated.emit(item)
    assert window.ctx.project is not None and window.ctx.project.path == path.resolve()


def test_opening_a_locked_project_shows_a_message(empty_window, project, warnings_shown):
    # `project` holds the writer lock, as another window would.
    window = empty_window
    assert window.open_project(str(project.path)) is False
    assert window.ctx.project is None
    assert window.pages.currentWidget() is window.welcome
    title, text = warnings_shown[0]
    assert title == "Could not open the project"
    assert "open in another STS Studio window" in text


def test_opening_a_newer_project_shows_a_message(empty_window, tmp_path, warnings_shown):
    path = tmp_path / "future"
    Project.create(path).close()
    with sqlite3.connect(path / "project.stsproj") as conn:
        conn.execute("PRAGMA user_version = 99")
    assert empty_window.open_project(str(path)) is False
    assert "newer STS Studio" in warnings_shown[0][1]
    assert empty_window.ctx.project is None


def test_views_menus_and_requests(main_window, qtbot):
    window = main_window
    ctx = window.ctx
    window.show()
    assert window.current_view() == "pairs"
    for key in VIEW_KEYS:
        window.view_actions[key].trigger()
        assert window.current_view() == key
        assert window.sidebar.currentItem().data(Qt.UserRole) == key
        assert window.view_actions[key].isChecked()
    assert window.view_actions["train"].shortcut().toString() == "Ctrl+3"
    ctx.showViewRequested.emit("pairs")
    assert window.current_view() == "pairs"
    ctx.openPairRequested.emit(1)
    assert window.current_view() == "label"
    window.sidebar.setCurrentRow(VIEW_KEYS.index("export"))
    assert window.current_view() == "export"
    # Every view exists: the real one, or a tidy placeholder while it is not written yet.
    for key in VIEW_KEYS:
        view = window.views[key]
        if isinstance(view, PlaceholderView):
            assert "will appear here" in view.spec.placeholder


def test_standard_shortcuts(main_window):
    window = main_window
    shortcuts = {a.text().replace("&", ""): a.shortcut().toString() for a in
                 (window.action_new, window.action_open, window.action_import, window.action_quit,
                  window.action_undo, window.action_redo, window.action_shortcuts)}
    assert shortcuts["New project…"] == "Ctrl+N"
    assert shortcuts["Open project…"] == "Ctrl+O"
    assert shortcuts["Import pairs…"] == "Ctrl+I"
    assert shortcuts["Quit"] == "Ctrl+Q"
    assert window.action_undo.shortcut().toString() == "Ctrl+Z"
    assert window.action_redo.shortcut().toString() == "Ctrl+Shift+Z"
    assert shortcuts["Keyboard shortcuts"] == "F1"


def test_shortcut_sheet_lists_the_labelling_keys(main_window, qtbot):
    dialog = main_window.show_shortcuts()
    qtbot.addWidget(dialog)
    rows = dict(dialog.rows())
    for keys in ("0 – 5", "← / →", "Shift+← / Shift+→", "Enter", "Backspace", "S", "F", "N",
                 "Ctrl+Z", "Ctrl+Shift+Z", "F1", "Ctrl+1"):
        assert keys in rows, keys
    dialog.close()


def test_undo_redo_actions_follow_the_undo_stack(main_window):
    from PySide6.QtGui import QUndoCommand

    class Note(QUndoCommand):
        def __init__(self, project, text):
            super().__init__("edit note")
            self.project, self.text = project, text

        def redo(self):
            self.project.pairs.set_note(1, self.text)

        def undo(self):
            self.project.pairs.set_note(1, "")

    project = main_window.ctx.project
    _pairs(project, 1, 0)
    main_window.ctx.undo_stack.push(Note(project, "check me"))
    assert project.pairs.get(1).note == "check me"
    main_window.action_undo.trigger()
    assert project.pairs.get(1).note == ""
    main_window.action_redo.trigger()
    assert project.pairs.get(1).note == "check me"


def test_status_bar_counts_follow_changes(main_window, qtbot):
    window = main_window
    project = window.ctx.project
    qtbot.waitUntil(lambda: window.counts_label.text() == "0 pairs · 0 labeled", timeout=5000)
    _pairs(project, 30, 0)
    window.ctx.pairsChanged.emit()
    qtbot.waitUntil(lambda: window.counts_label.text() == "30 pairs · 0 labeled", timeout=5000)
    project.labels.set(3, 0.8, "ann")
    window.ctx.pairChanged.emit(3)
    qtbot.waitUntil(lambda: window.counts_label.text() == "30 pairs · 1 labeled", timeout=5000)


def test_ml_ready_indicator(main_window):
    window = main_window
    assert "Loading ML libraries" in window.ml_label.text()
    window.ctx.device_label = "CPU (2 cores)"
    window.ctx.mlReady.emit()
    assert "Model engine ready · CPU (2 cores)" in window.ml_label.text()


def test_ml_loader_signals_ready(qtbot, monkeypatch):
    from stsstudio import app

    monkeypatch.setattr(app, "load_ml_stack", lambda: "Test device")
    ctx = ProjectContext()
    loader = app.MlLoader(ctx)
    with qtbot.waitSignal(ctx.mlReady, timeout=5000):
        loader.start()
    assert ctx.ml_ready and ctx.device_label == "Test device"


def test_settings_keep_geometry_recent_and_annotator(qtbot, tmp_path):
    ctx = ProjectContext()
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.resize(780, 650)
    window.show()
    qtbot.waitExposed(window)
    window.close()
    settings.add_recent_project(tmp_path)
    settings.set(settings.ANNOTATOR, "Ada")
    again = MainWindow(ProjectContext())
    qtbot.addWidget(again)
    assert (again.width(), again.height()) == (780, 650)
    assert settings.get(settings.ANNOTATOR) == "Ada"
    assert settings.get(settings.RECENT_PROJECTS) == [str(tmp_path.resolve())]
    for i in range(12):
        settings.add_recent_project(tmp_path / f"p{i}")
    assert len(settings.get(settings.RECENT_PROJECTS)) == settings.MAX_RECENT
    ini = Path(os.environ["STSSTUDIO_SETTINGS_DIR"]) / "stsstudio.ini"
    assert ini.exists()


def test_annotator_is_asked_once_when_labelling_starts(main_window, qtbot, monkeypatch):
    window = main_window
    window.resize(1024, 640)
    window.show()
    window.ctx.annotator = ""
    monkeypatch.setattr(settings, "default_annotator", lambda: "root")
    window.show_view("label")
    assert getattr(window, "_annotator_dialog", None) is None   # nothing to label yet: no dialog
    _pairs(window.ctx.project, 3, 0)
    window.ctx.pairsChanged.emit()
    qtbot.waitUntil(lambda: getattr(window, "_annotator_dialog", None) is not None)
    dialog = window._annotator_dialog
    assert dialog.isVisible()
    assert dialog.textValue() == ""          # "root" is no one's name: not filled in
    assert window.ctx.annotator == "root"    # labels never lack a name
    # The dialog leaves the second sentence in view.
    view = window.view("label")
    card2 = view.card2.rect().translated(view.card2.mapToGlobal(view.card2.rect().topLeft()))
    assert not dialog.frameGeometry().intersects(card2)
    dialog.setTextValue("Grace")
    dialog.accept()
    assert window.ctx.annotator == "Grace"
    assert settings.get(settings.ANNOTATOR) == "Grace"
    window.show_view("pairs")
    window._annotator_dialog = None
    window.show_view("label")
    assert window._annotator_dialog is None


def test_dropping_a_file_opens_the_import_wizard(main_window, qtbot, stsb_dev):
    window = main_window
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(stsb_dev))])
    event = QDropEvent(QPointF(10, 10), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    window.dropEvent(event)
    wizard = window._import_wizard
    assert wizard is not None
    qtbot.waitUntil(lambda: wizard.page() == "columns" and not wizard._busy, timeout=15000)
    assert wizard.file_edit.text() == str(stsb_dev)
    wizard.reject()


def test_uncaught_exception_shows_the_crash_dialog_and_the_app_lives(main_window, qtbot, monkeypatch):
    from stsstudio.gui.shell.crash_dialog import CrashHandler

    window = main_window
    handler = CrashHandler(window)
    monkeypatch.setattr(sys, "excepthook", handler)
    monkeypatch.setattr(sys, "stderr", open(os.devnull, "w"))  # noqa: SIM115 - the traceback print

    def boom() -> None:
        raise RuntimeError("a bug in a slot")

    QTimer.singleShot(0, boom)
    qtbot.waitUntil(lambda: handler.dialog is not None and handler.dialog.isVisible(), timeout=5000)
    dialog = handler.dialog
    qtbot.addWidget(dialog)
    assert "RuntimeError: a bug in a slot" in dialog.summary_label.text()
    assert "Traceback" in dialog.details.toPlainText()
    dialog.copy_button.click()
    from PySide6.QtGui import QGuiApplication

    assert "a bug in a slot" in QGuiApplication.clipboard().text()
    # A second error while the dialog is open is added to it, not stacked.
    QTimer.singleShot(0, boom)
    qtbot.waitUntil(lambda: dialog.count == 2, timeout=5000)
    dialog.close()
    # The app is still alive and the project still works.
    window.show_view("train")
    assert window.current_view() == "train"
    window.ctx.project.pairs.insert([("a b", "c d", None, "none", 1, None)])
    assert window.ctx.project.stats()["pairs"] == 1


def test_empty_pages_import_button_opens_the_wizard(main_window, qtbot):
    from stsstudio.gui.importing.import_wizard import ImportWizard

    window = main_window
    window.resize(1024, 640)
    window.show()
    for key in ("pairs", "label"):
        window.show_view(key)
        view = window.view(key)
        empty = view.empty
        qtbot.waitUntil(lambda: empty.isVisible())
        # The explanation is shown whole: the label is as tall as its wrapped text needs.
        message = empty.message
        assert message.text()
        needed = message.fontMetrics().boundingRect(
            QRect(0, 0, message.contentsRect().width(), 10_000),
            int(Qt.AlignHCenter | Qt.TextWordWrap), message.text()).height()
        assert message.contentsRect().height() >= needed
        empty.button.click()
        wizard = window._import_wizard
        assert isinstance(wizard, ImportWizard) and wizard.isVisible()
        wizard.reject()
        window._import_wizard = None


def test_sidebar_elides_a_long_project_name(main_window, qtbot):
    window = main_window
    window.ctx.project.set_meta("name", "Clinic similarity pilot study, second round")
    window.resize(1024, 640)
    window.show()
    window._on_project_changed()
    title = window.side_panel.title
    qtbot.waitUntil(lambda: title.text().endswith("…"))
    assert title.fontMetrics().horizontalAdvance(title.text()) <= title.contentsRect().width()
    assert "Clinic similarity pilot study, second round" in title.toolTip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Qt's xcb plugin is Linux only")
def test_a_missing_xcb_library_is_named_in_one_line(tmp_path):
    """Qt aborts (exit 134) when its X11 plugin lacks a library; the app says which one first."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    ldd = bin_dir / "ldd"   # an ldd that reports what a fresh Debian desktop reported
    ldd.write_text("#!/bin/sh\necho '\tlibxcb-icccm.so.4 => not found'\n"
                   "echo '\tlibxkbcommon-x11.so.0 => not found'\necho '\tlibc.so.6 => /lib/libc.so.6'\n")
    ldd.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env.update(DISPLAY=":97", PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}")
    proc = subprocess.run([sys.executable, "-m", "stsstudio", "demo", "--first-paint"], env=env,
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "libxcb-icccm.so.4, libxkbcommon-x11.so.0 are missing" in lines[0]
    assert "sudo apt-get install libxcb-icccm4 libxkbcommon-x11-0" in lines[0]
    # Without a display at all: one line too.
    env.pop("DISPLAY")
    proc = subprocess.run([sys.executable, "-m", "stsstudio", "demo", "--first-paint"], env=env,
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1
    assert "No display" in proc.stderr


def test_readme_names_the_xcb_packages_the_app_names():
    """One list of system packages: the README's install lines are the ones the app prints."""
    from stsstudio.gui.shell.application import XCB_PACKAGES

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"sudo apt-get install {XCB_PACKAGES['apt-get']}\n" in readme
    assert f"sudo dnf install {XCB_PACKAGES['dnf']}\n" in readme
    assert f"sudo pacman -S {XCB_PACKAGES['pacman']}\n" in readme
    quick_start = readme.split("## Quick start", 1)[1].split("## Install", 1)[0]
    assert "apt-get install" in quick_start and "venv" in quick_start

"""GUI fixtures: a ProjectContext on a fresh or demo project, the main window, and a guard that
fails any test leaving a worker thread running (napari's ``_dangling_qthreads``)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest


@pytest.fixture
def ctx(project, qtbot):
    """A ProjectContext on the fresh empty ``project``."""
    from stsstudio.gui.common.context import ProjectContext

    context = ProjectContext()
    context.set_project(project)
    yield context
    context.set_project(None)


@pytest.fixture
def demo_project(tmp_path: Path):
    """A fresh demo project (resources/demo/demo_pairs.csv) in tmp_path, open for writing."""
    try:
        from stsstudio.core.demo import create_demo_project
    except ImportError:
        pytest.skip("core.demo is not available yet")
    project = create_demo_project(tmp_path / "demo")
    yield project
    project.close()


@pytest.fixture
def demo_ctx(demo_project, qtbot):
    """A ProjectContext on a fresh demo project."""
    from stsstudio.gui.common.context import ProjectContext

    context = ProjectContext()
    context.annotator = "tester"
    context.set_project(demo_project)
    yield context
    context.set_project(None)


@pytest.fixture
def main_window(ctx, qtbot):
    """The main window on ``ctx`` (not shown; call ``.show()`` when a test needs it)."""
    from stsstudio.gui.shell.main_window import MainWindow

    window = MainWindow(ctx)
    qtbot.addWidget(window)
    yield window


@pytest.fixture(scope="session", autouse=True)
def _gc_on_the_gui_thread(qapp):
    """As in the app: cyclic garbage is collected on the GUI thread only, never by a worker
    thread in the middle of a training run (which has crashed the interpreter)."""
    from stsstudio.gui.common.workers import GuiThreadGarbageCollector

    collector = GuiThreadGarbageCollector(500)
    yield collector
    collector.stop()


@pytest.fixture(autouse=True)
def _no_app_wide_comfort_filter(qapp):
    """A test that runs the app's setup in-process (create_application: screenshots) installs
    the comfort filter (gui/shell/comfort.py); the next test starts without it, so a window a test
    sizes beyond the 800x800 offscreen screen keeps that size. test_comfort.py installs it."""
    yield
    from stsstudio.gui.shell import comfort

    comfort.uninstall(qapp)


@pytest.fixture(autouse=True)
def _collect_garbage_after_each_test(qtbot):
    """Collect the test's cyclic garbage (widgets, plots) right after it, on the GUI thread, once
    its workers ended: left for a later test, a full collection of many tests' garbage has
    crashed the interpreter."""
    yield
    import gc

    from stsstudio.gui.common.workers import active_workers

    qtbot.waitUntil(lambda: not active_workers(), timeout=10_000)
    qtbot.wait(10)
    with qtbot.capture_exceptions():
        gc.collect()


@pytest.fixture(autouse=True)
def _no_dangling_workers(qtbot):
    """Fail a test that leaves a worker thread (started via gui.workers) running."""
    yield
    from stsstudio.gui.common.workers import active_workers

    deadline = time.monotonic() + 5.0
    while active_workers() and time.monotonic() < deadline:
        qtbot.wait(20)
    left = active_workers()
    if left:
        from stsstudio.gui.common.workers import wait_for_workers_to_quit

        names = ", ".join(type(w).__name__ for w in left)
        wait_for_workers_to_quit(5000)
        pytest.fail(f"the test left worker threads running: {names}")


@pytest.fixture
def empty_window(qtbot):
    """The main window with no project (the welcome page)."""
    from stsstudio.gui.common.context import ProjectContext
    from stsstudio.gui.shell.main_window import MainWindow

    ctx = ProjectContext()
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    yield window
    ctx.set_project(None)


@pytest.fixture
def warnings_shown(monkeypatch):
    """Every QMessageBox.warning the test triggers, as (title, text), instead of a modal box."""
    from PySide6.QtWidgets import QMessageBox

    shown: list[tuple[str, str]] = []

    def fake_warning(parent, title, text, *args, **kwargs):
        shown.append((title, text))
        return QMessageBox.Ok

    monkeypatch.setattr(QMessageBox, "warning", staticmethod(fake_warning))
    return shown

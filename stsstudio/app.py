"""The desktop app: QApplication, style, crash dialog, main window, background ML import.

The window paints before torch, transformers or sentence-transformers are imported (importing
sentence-transformers alone takes seconds); a worker imports them afterwards and the status
bar says when the model engine is ready.
"""

from __future__ import annotations

import os
import signal
import sys
import time

from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMessageBox

from stsstudio.core.errors import UserError
from stsstudio.gui.common.context import ProjectContext
from stsstudio.gui.common.workers import (
    FunctionWorker,
    freeze_long_lived_objects,
    start_worker,
    wait_for_workers_to_quit,
)
from stsstudio.gui.shell import settings
from stsstudio.gui.shell.application import (
    create_application,
    load_ml_stack,
    platform_problem,
    quiet_progress_bars,
)
from stsstudio.gui.shell.crash_dialog import CrashHandler
from stsstudio.gui.shell.main_window import MainWindow

__all__ = ["MlLoader", "create_application", "load_ml_stack", "main", "run_gui", "start_gui"]


class MlLoader(QObject):
    """Starts :func:`load_ml_stack` in a worker and tells the context when it is done."""

    def __init__(self, ctx: ProjectContext) -> None:
        super().__init__(ctx)
        self.ctx = ctx
        self.worker: FunctionWorker | None = None
        self.started_at = 0.0

    @Slot()
    def start(self) -> None:
        if self.worker is not None or self.ctx.ml_ready:
            return
        self.started_at = time.perf_counter()
        self.worker = FunctionWorker(load_ml_stack)
        self.worker.finished.connect(self._on_finished)
        self.worker.failed.connect(self._on_failed)
        start_worker(self.worker)

    @Slot(object)
    def _on_finished(self, device_label: str) -> None:
        freeze_long_lived_objects()
        self.ctx.ml_ready = True
        self.ctx.device_label = str(device_label)
        self.ctx.mlReady.emit()

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        if details:
            print(details, file=sys.stderr)
        self.ctx.statusMessage.emit(f"The ML libraries could not be loaded: {message}")


def start_gui(project: str | None = None, demo: bool = False,
              demo_fresh: bool = False) -> tuple[MainWindow, CrashHandler]:
    """Build and show the main window on ``project`` (or a fresh demo copy), as the app does.

    Call after :func:`create_application`. Benches call this too and observe the window from
    outside (``window.firstPainted``), so the production window carries no bench code.
    """
    ctx = ProjectContext()
    ctx.annotator = settings.get(settings.ANNOTATOR)
    window = MainWindow(ctx)
    crash_handler = CrashHandler(window)
    crash_handler.install()

    error: str | None = None
    if demo:
        window.open_demo(fresh=demo_fresh)
    elif project:
        from stsstudio.core.store import Project

        try:
            window._set_project(Project.open(project))
        except UserError as exc:
            error = str(exc)
    window.show()
    if error:
        box = QMessageBox(QMessageBox.Warning, "Could not open the project", error,
                          QMessageBox.Ok, window)
        box.open()
    return window, crash_handler


class FirstPaintReport(QObject):
    """``--first-paint``: one line once the window has painted, then quit."""

    def __init__(self, window: MainWindow, t0: float) -> None:
        super().__init__(window)
        self.window, self.t0 = window, t0
        self.painted_ok = False

    @Slot()
    def painted(self) -> None:
        self.painted_ok = True
        size = self.window.size()
        print(f"first paint after {time.monotonic() - self.t0:.2f} s: {self.window.windowTitle()} "
              f"({size.width()}x{size.height()}, {QGuiApplication.platformName()})", flush=True)
        QTimer.singleShot(0, QGuiApplication.quit)

    @Slot()
    def timed_out(self) -> None:
        if not self.painted_ok:
            print("stsstudio: the window did not paint within 60 s", file=sys.stderr, flush=True)
            QGuiApplication.exit(1)


def run_gui(project: str | None = None, demo: bool = False, demo_fresh: bool = False,
            first_paint: bool = False) -> int:
    """Open the desktop app (on ``project``, or on the demo, rebuilt when ``demo_fresh``) and
    run it until quit. ``first_paint``: quit once the window has painted, saying how long that
    took (exit 1 if it never does); CI checks the start-up on a real X server with it."""
    t0 = time.monotonic()
    problem = platform_problem()
    if problem:
        print(f"stsstudio: {problem}", file=sys.stderr)
        return 1
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    quiet_progress_bars()
    app = create_application()
    # Ctrl+C in the terminal quits; every label is already committed.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    window, crash_handler = start_gui(project, demo, demo_fresh)
    ctx = window.ctx

    if first_paint:
        report = FirstPaintReport(window, t0)
        window.firstPainted.connect(report.painted)
        QTimer.singleShot(60_000, report.timed_out)
    loader = MlLoader(ctx)
    if os.environ.get("STSSTUDIO_NO_ML_PRELOAD") != "1" and not first_paint:
        # After the first paint, so the imports (which hold the GIL) cannot delay it.
        window.firstPainted.connect(loader.start)
        QTimer.singleShot(1500, loader.start)
    try:
        rc = app.exec()
    finally:
        crash_handler.uninstall()
    # Workers first (cancel, then wait), then the project: a worker may still be using it.
    workers_ended = wait_for_workers_to_quit(5000)
    if ctx.project is not None:
        ctx.set_project(None)
    if not workers_ended:
        # A thread that cannot be cancelled (an import of torch, say) is still running, and
        # destroying a running QThread aborts the process. Every label is committed and the
        # project is closed, so leave without the interpreter's teardown.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(rc)
    return rc


def main() -> int:
    args = sys.argv[1:]
    if args and args[0] == "demo":
        return run_gui(demo=True, demo_fresh="--fresh" in args[1:])
    return run_gui(project=args[0] if args else None)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

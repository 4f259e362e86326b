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

_T0 = time.time()  # when this module was imported, for the first-paint bench

from PySide6.QtCore import QObject, Qt, QTimer, Slot  # noqa: E402
from PySide6.QtWidgets import QApplication, QMessageBox  # noqa: E402

from stsstudio import APP_ID, APP_NAME, __version__  # noqa: E402
from stsstudio.core.errors import UserError  # noqa: E402
from stsstudio.gui import icons, settings  # noqa: E402
from stsstudio.gui.context import ProjectContext  # noqa: E402
from stsstudio.gui.crash_dialog import CrashHandler  # noqa: E402
from stsstudio.gui.main_window import MainWindow  # noqa: E402
from stsstudio.gui.style import apply_style  # noqa: E402
from stsstudio.gui.workers import (  # noqa: E402
    FunctionWorker,
    GuiThreadGarbageCollector,
    freeze_long_lived_objects,
    start_worker,
    wait_for_workers_to_quit,
)


def create_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication with our names, icon and style (reuses an existing one)."""
    app = QApplication.instance()
    if app is None:
        QApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(list(sys.argv if argv is None else argv))
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.setOrganizationName("stsstudio")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(APP_ID)
    app.setWindowIcon(icons.app_icon())
    apply_style(app)
    if app.property("stsstudio_gc") is None:
        # Collect cyclic garbage on the GUI thread only (see GuiThreadGarbageCollector).
        app._stsstudio_gc = GuiThreadGarbageCollector(1000, app)
        app.setProperty("stsstudio_gc", True)
    return app


def load_ml_stack() -> str:
    """Import the ML libraries (in a worker thread) and return the training device's label."""
    import importlib

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    importlib.import_module("torch")
    # Only a warm-up of the package import; the API is used in core/training, inference, export.
    importlib.import_module("sentence_transformers")
    from stsstudio.core.devices import resolve_device

    try:
        return resolve_device("auto").label
    except UserError:
        return "CPU"


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


def run_gui(project: str | None = None, demo: bool = False) -> int:
    """Open the desktop app (on ``project``, or on a fresh demo copy) and run it until quit."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    bench = os.environ.get("STSSTUDIO_BENCH_FIRST_PAINT") == "1"
    if bench:
        os.environ.setdefault("STSSTUDIO_BENCH_T0", str(_T0))
    app = create_application()
    # Ctrl+C in the terminal quits; every label is already committed.
    signal.signal(signal.SIGINT, signal.SIG_DFL)

    ctx = ProjectContext()
    ctx.annotator = settings.get(settings.ANNOTATOR)
    window = MainWindow(ctx)
    crash_handler = CrashHandler(window)
    crash_handler.install()

    error: str | None = None
    if demo:
        window.open_demo()
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

    loader = MlLoader(ctx)
    if not bench and os.environ.get("STSSTUDIO_NO_ML_PRELOAD") != "1":
        # After the first paint, so the imports (which hold the GIL) cannot delay it.
        window.firstPainted.connect(loader.start)
        QTimer.singleShot(1500, loader.start)
    try:
        rc = app.exec()
    finally:
        crash_handler.uninstall()
        if ctx.project is not None:
            ctx.set_project(None)
    if not wait_for_workers_to_quit(5000):
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
        return run_gui(demo=True)
    return run_gui(project=args[0] if args else None)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""The QApplication as the app sets it up, and the background import of the ML stack.

Shared by the app (``stsstudio/app.py``), screenshots and benches; it lives in ``gui`` so that
none of them has to import the app module itself.
"""

from __future__ import annotations

import os
import sys

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from stsstudio import APP_ID, APP_NAME, __version__
from stsstudio.core.errors import UserError
from stsstudio.gui import icons
from stsstudio.gui.style import apply_style
from stsstudio.gui.workers import GuiThreadGarbageCollector


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

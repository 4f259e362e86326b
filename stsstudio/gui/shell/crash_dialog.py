"""The dialog an uncaught exception shows: what happened, the details, a Copy button.

The app keeps running: labels are committed to the project as they are given, so nothing
is lost, and the user can carry on or quit.
"""

from __future__ import annotations

import sys
import traceback
from types import TracebackType

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from stsstudio import __version__


def format_details(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> str:
    from PySide6 import __version__ as pyside_version

    text = "".join(traceback.format_exception(exc_type, exc, tb))
    return (f"STS Studio {__version__} · Python {sys.version.split()[0]} · PySide6 {pyside_version} "
            f"· {sys.platform}\n\n{text}")


class CrashDialog(QDialog):
    """Shows an unexpected error. Further errors while it is open are appended, not stacked."""

    def __init__(self, summary: str, details: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Unexpected error")
        self.setMinimumSize(620, 380)
        self.count = 1

        layout = QVBoxLayout(self)
        layout.setSpacing(12)
        top = QHBoxLayout()
        top.setSpacing(14)
        icon = QLabel()
        icon.setPixmap(self.style().standardIcon(QStyle.SP_MessageBoxWarning).pixmap(40, 40))
        top.addWidget(icon, 0, Qt.AlignTop)
        text = QLabel(
            "<b>Something went wrong.</b><br>STS Studio keeps running, and your labels are safe: "
            "each one is saved the moment you give it. You can carry on, or copy the details "
            "below into a bug report."
        )
        text.setWordWrap(True)
        text.setTextFormat(Qt.RichText)
        top.addWidget(text, 1)
        layout.addLayout(top)

        self.summary_label = QLabel(summary)
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.summary_label.setObjectName("errorLabel")
        layout.addWidget(self.summary_label)

        self.details = QPlainTextEdit(details)
        self.details.setReadOnly(True)
        self.details.setFont(QFontDatabase.systemFont(QFontDatabase.FixedFont))
        self.details.setLineWrapMode(QPlainTextEdit.NoWrap)
        layout.addWidget(self.details, 1)

        buttons = QDialogButtonBox()
        self.copy_button = QPushButton("Copy details")
        self.copy_button.clicked.connect(self._on_copy)
        buttons.addButton(self.copy_button, QDialogButtonBox.ActionRole)
        close = buttons.addButton(QDialogButtonBox.Close)
        close.setDefault(True)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def add_error(self, summary: str, details: str) -> None:
        self.count += 1
        self.summary_label.setText(f"{summary}  (and {self.count - 1} more)")
        self.details.appendPlainText("\n" + "-" * 60 + "\n" + details)

    @Slot()
    def _on_copy(self) -> None:
        QGuiApplication.clipboard().setText(self.details.toPlainText())
        self.copy_button.setText("Copied")


class CrashHandler:
    """``sys.excepthook`` for the GUI: print the traceback and show (or extend) the dialog."""

    def __init__(self, parent: QWidget | None = None) -> None:
        self.parent = parent
        self.dialog: CrashDialog | None = None
        self._previous = sys.excepthook
        self._handling = False

    def install(self) -> None:
        sys.excepthook = self

    def uninstall(self) -> None:
        if sys.excepthook is self:
            sys.excepthook = self._previous

    def __call__(self, exc_type: type[BaseException], exc: BaseException,
                 tb: TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            from PySide6.QtWidgets import QApplication

            QApplication.quit()
            return
        traceback.print_exception(exc_type, exc, tb)
        if self._handling:  # an error while showing the dialog: the traceback above must do
            return
        self._handling = True
        try:
            summary = f"{exc_type.__name__}: {exc}"
            details = format_details(exc_type, exc, tb)
            if self.dialog is not None and self.dialog.isVisible():
                self.dialog.add_error(summary, details)
            else:
                self.dialog = CrashDialog(summary, details, self.parent)
                # Not exec(): a nested event loop inside an excepthook can re-enter the
                # code that just failed. The dialog is window-modal and non-blocking.
                self.dialog.setWindowModality(Qt.ApplicationModal)
                self.dialog.show()
                self.dialog.raise_()
        finally:
            self._handling = False

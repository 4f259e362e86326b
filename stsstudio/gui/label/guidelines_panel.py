"""The guidelines beside the labelling view: rendered Markdown, editable in place."""

from __future__ import annotations

import re

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from stsstudio.gui.common import style
from stsstudio.gui.common.context import ProjectContext


def _demote_headings(markdown: str) -> str:
    """Render headings two levels down: a side panel is no place for a page-sized title."""
    return re.sub(r"^(#{1,4})(?=\s)", lambda m: m.group(1) + "##", markdown, flags=re.MULTILINE)


class GuidelinesPanel(QWidget):
    """The project's guidelines: rendered Markdown, editable in place, saved as you type."""

    SAVE_DELAY_MS = 800
    saved = Signal()
    editingDone = Signal()   # the Done button: the keys may go back to the labelling view

    def __init__(self, ctx: ProjectContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("guidelinesPanel")
        self.setStyleSheet(style.sheet(_GUIDELINES_STYLE))
        title = QLabel("Guidelines")
        f = QFont(title.font())
        f.setWeight(QFont.Weight.DemiBold)
        f.setPointSizeF(f.pointSizeF() * 1.1)
        title.setFont(f)
        self.edit_button = QPushButton("Edit")
        self.edit_button.setCheckable(True)
        self.edit_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.edit_button.setToolTip("Edit the guidelines; they are saved in the project as you type")
        self.edit_button.toggled.connect(self._on_edit_toggled)
        head = QHBoxLayout()
        head.addWidget(title)
        head.addStretch(1)
        head.addWidget(self.edit_button)

        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(True)
        self.browser.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.browser.setFrameShape(QFrame.Shape.NoFrame)
        self.editor = QPlainTextEdit()
        self.editor.setObjectName("guidelinesEditor")
        self.editor.setPlaceholderText("How should annotators judge similarity in this project?")
        self.editor.textChanged.connect(self._on_text_changed)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.browser)
        self.stack.addWidget(self.editor)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 14, 14, 14)
        layout.setSpacing(8)
        layout.addLayout(head)
        layout.addWidget(self.stack, 1)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(self.SAVE_DELAY_MS)
        self._timer.timeout.connect(self.save)
        self._loading = False
        self._pending = False

    def load(self) -> None:
        self.save()
        project = self.ctx.project
        text = project.guidelines if project is not None else ""
        self._loading = True
        self.editor.setPlainText(text)
        self._loading = False
        self.browser.setMarkdown(_demote_headings(text))
        self.edit_button.setEnabled(project is not None and not project.readonly)

    def _on_text_changed(self) -> None:
        if not self._loading:
            self._pending = True
            self._timer.start()

    def save(self) -> None:
        """Write pending edits to the project now (also called when the view hides)."""
        if not self._pending:
            return
        self._pending = False
        self._timer.stop()
        project = self.ctx.project
        if project is not None and not project.closed and not project.readonly:
            project.set_meta("guidelines", self.editor.toPlainText())
            self.saved.emit()

    def _on_edit_toggled(self, editing: bool) -> None:
        if editing:
            self.stack.setCurrentWidget(self.editor)
            self.edit_button.setText("Done")
            self.editor.setFocus()
        else:
            self.save()
            self.browser.setMarkdown(_demote_headings(self.editor.toPlainText()))
            self.stack.setCurrentWidget(self.browser)
            self.edit_button.setText("Edit")
            self.editingDone.emit()


_GUIDELINES_STYLE = """
QWidget#guidelinesPanel { background: $panel; }
QTextBrowser { background: $panel; border: none; }
"""

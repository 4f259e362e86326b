"""The keyboard shortcut sheet (F1): every shortcut of the app, grouped by where it works."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from stsstudio.core.scales import format_score, key_range, key_scores, key_steps


def labelling_shortcuts(scale: str | None = None) -> list[tuple[str, str]]:
    """The labelling view's keys, with the scores and steps of the project's scale."""
    values = [format_score(v, scale) for _k, v in sorted(key_scores(scale).items(),
                                                         key=lambda kv: kv[1])]
    step, fine = key_steps(scale)
    return [
        (key_range(scale).replace("–", " – "),
         f"Set the score to {', '.join(values[:-1])} or {values[-1]}"),
        ("← / →", f"Lower / raise the score by {step:g}"),
        ("Shift+← / Shift+→", f"Lower / raise the score by {fine:g}"),
        *LABELLING_SHORTCUTS,
    ]


LABELLING_SHORTCUTS: list[tuple[str, str]] = [
    ("Enter", "Save the score and go to the next pair"),
    ("Backspace", "Go back to the previous pair"),
    ("Ctrl+Z", "Undo the last label"),
    ("S", "Skip this pair"),
    ("F", "Flag / unflag this pair"),
    ("N", "Edit the note of this pair"),
]


def _native(text: str) -> str:
    return QKeySequence(text).toString(QKeySequence.NativeText) or text


def app_shortcuts() -> list[tuple[str, str]]:
    """The window-wide shortcuts (kept in step with MainWindow's menus)."""
    rows = [
        ("Ctrl+N", "New project"), ("Ctrl+O", "Open project"), ("Ctrl+I", "Import pairs"),
        ("Ctrl+W", "Close project"), ("Ctrl+Q", "Quit"), ("Ctrl+Z", "Undo"),
        ("Ctrl+Shift+Z", "Redo"),
    ]
    for i, name in enumerate(("Pairs", "Label", "Train", "Try", "Export"), start=1):
        rows.append((f"Ctrl+{i}", f"Show {name}"))
    rows.append(("F1", "This keyboard shortcut sheet"))
    return [(_native(k), d) for k, d in rows]


class ShortcutsDialog(QDialog):
    def __init__(self, parent: QWidget | None = None,
                 extra: list[tuple[str, str]] | None = None, scale: str | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(560, 620)
        layout = QVBoxLayout(self)
        self.tree = QTreeWidget()
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Keys", "Action"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionMode(QTreeWidget.NoSelection)
        self.tree.setFocusPolicy(Qt.NoFocus)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeToContents)
        header.setStretchLastSection(True)
        groups = [("Everywhere", app_shortcuts()), ("Labelling view", labelling_shortcuts(scale))]
        if extra:
            groups.append(("More", extra))
        for title, rows in groups:
            group = QTreeWidgetItem([title, ""])
            font = group.font(0)
            font.setBold(True)
            group.setFont(0, font)
            group.setFirstColumnSpanned(True)
            self.tree.addTopLevelItem(group)
            for keys, description in rows:
                group.addChild(QTreeWidgetItem([keys, description]))
            group.setExpanded(True)
        self.tree.setIndentation(12)
        layout.addWidget(self.tree)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def rows(self) -> list[tuple[str, str]]:
        """Every (keys, action) row, for tests."""
        out = []
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            for j in range(group.childCount()):
                out.append((group.child(j).text(0), group.child(j).text(1)))
        return out

"""The main window's Annotators menu: merge labels, agreement, and the overlap assignment.

Kept out of main_window.py so that the window only calls :func:`install_annotator_menu`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from stsstudio.core.changes import Changes
from stsstudio.core.errors import UserError
from stsstudio.core.formats import file_name
from stsstudio.core.store import Project

if TYPE_CHECKING:
    from stsstudio.gui.common.context import ProjectContext


class OverlapDialog(QDialog):
    """"Double-label X % of pairs": every annotator gets a share plus the seeded overlap."""

    def __init__(self, project: Project, parent: QWidget | None = None, *, annotator: str = "") -> None:
        super().__init__(parent)
        self.project = project
        self.summary: dict[str, dict[str, int]] | None = None
        self.setWindowTitle("Share pairs among annotators")
        intro = QLabel("Each annotator gets their own share of the pairs, and every annotator labels the "
                       "overlap, on which agreement is measured. After Assign, Save labelling packs… "
                       "writes one file per annotator to send them; bring their labels back with "
                       "Annotators ▸ Merge labels….")
        intro.setWordWrap(True)
        self.names = QLineEdit(annotator)
        self.names.setPlaceholderText("ana, ben, chloe")
        self.overlap = QDoubleSpinBox()
        self.overlap.setRange(0, 100)
        self.overlap.setValue(20)
        self.overlap.setSuffix(" %")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setValue(42)
        self.unlabeled_only = QCheckBox("Only pairs without a label yet")
        self.unlabeled_only.setChecked(True)
        form = QFormLayout()
        form.addRow("Annotators", self.names)
        form.addRow("Double-label", self.overlap)
        form.addRow("Seed", self.seed)
        form.addRow("", self.unlabeled_only)
        self.result = QLabel()
        self.result.setWordWrap(True)
        current = project.assignments.summary()
        if current:
            self.result.setText("Now: " + self._describe(current))
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Close)
        buttons.button(QDialogButtonBox.Ok).setText("Assign")
        self.save_button = buttons.addButton("Save labelling packs…", QDialogButtonBox.ActionRole)
        self.save_button.setEnabled(bool(current))
        self.save_button.clicked.connect(self._on_save_clicked)
        buttons.accepted.connect(self.assign)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.result)
        layout.addWidget(buttons)

    @staticmethod
    def _describe(summary: dict[str, dict[str, int]]) -> str:
        return "; ".join(f"{name}: {n['share']:,} own + {n['overlap']:,} shared"
                         for name, n in summary.items())

    @Slot()
    def assign(self) -> None:
        names = [n.strip() for n in self.names.text().replace(";", ",").split(",") if n.strip()]
        try:
            if len(names) < 2:
                raise UserError("name two or more annotators, separated by commas")
            self.summary = self.project.assignments.assign(names, self.overlap.value() / 100,
                                                       seed=self.seed.value(),
                                                       unlabeled_only=self.unlabeled_only.isChecked())
        except UserError as exc:
            self.result.setText(str(exc))
            return
        self.result.setText(self._describe(self.summary) + ". Now save their labelling packs.")
        self.save_button.setEnabled(True)

    @Slot()
    def _on_save_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save labelling packs into")
        if not folder:
            return
        there = [_pack_file(n) for n in self.project.assignments.summary()
                 if (Path(folder) / _pack_file(n)).exists()]
        if there and QMessageBox.question(self, "Save labelling packs",
                                          f"{', '.join(there)} already exist in {folder}. Replace them?") \
                != QMessageBox.Yes:
            return
        self.save_packs(folder, replace=bool(there))

    def save_packs(self, folder: str, *, replace: bool = False) -> list[str]:
        """One CSV per assigned annotator in ``folder`` (``NAME.csv``): their share, the overlap
        and their labels so far, as Merge labels… reads it back. Returns the files written."""
        from stsstudio.core.data_export import export_pairs

        written: list[str] = []
        try:
            for name in self.project.assignments.summary():
                path = Path(folder) / _pack_file(name)
                n = export_pairs(self.project, path, annotator=name, assignment=True, force=replace)
                written.append(f"{path.name} ({n:,} pairs)")
        except UserError as exc:
            self.result.setText(f"Saving the labelling packs stopped: {exc}")
            return written
        self.result.setText(f"Saved {', '.join(written)} in {folder}. Send each annotator their file, "
                            "then bring it back with Annotators ▸ Merge labels….")
        return written


def _pack_file(name: str) -> str:
    """An annotator's pack file name: their name, with no folder separators in it."""
    safe = "".join(c if c.isalnum() or c in "-_. " else "_" for c in name).strip(". ")
    return file_name(safe or "annotator", "csv")


class AnnotatorActions(QObject):
    """Opens the three dialogs for the open project, as children of ``window``."""

    def __init__(self, window: QWidget, ctx: ProjectContext) -> None:
        super().__init__(window)
        self.window = window
        self.ctx = ctx
        self.agreement_dialog: QDialog | None = None
        self.merge_dialog: QDialog | None = None

    def _project(self, title: str) -> Project | None:
        project = self.ctx.project
        if project is None:
            QMessageBox.information(self.window, title, "Create or open a project first.")
        return project

    @Slot()
    def open_merge(self) -> QDialog | None:
        project = self._project("Merge labels")
        if project is None:
            return None
        from stsstudio.gui.importing.merge_dialog import MergeLabelsDialog

        dialog = MergeLabelsDialog(project, self.window)
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        dialog.merged.connect(self._on_merged)
        self.merge_dialog = dialog
        dialog.open()
        return dialog

    @Slot()
    def _on_target_changed(self) -> None:
        """The agreement panel changed how labels combine: every target may have moved."""
        self.ctx.apply(Changes.merged())

    @Slot(object)
    def _on_merged(self, report: object) -> None:
        self.ctx.apply(Changes.merged())
        self.ctx.statusMessage.emit(f"Merged {getattr(report, 'written', 0):,} labels.")

    @Slot()
    def open_agreement(self) -> QDialog | None:
        project = self._project("Agreement")
        if project is None:
            return None
        from stsstudio.gui.annotators.agreement_panel import AgreementDialog

        dialog = AgreementDialog(project, self.window)
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        dialog.panel.targetChanged.connect(self._on_target_changed)
        self.agreement_dialog = dialog
        dialog.show()
        return dialog

    @Slot()
    def open_overlap(self) -> QDialog | None:
        project = self._project("Share pairs among annotators")
        if project is None:
            return None
        dialog = OverlapDialog(project, self.window, annotator=self.ctx.annotator)
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        dialog.open()
        return dialog


def install_annotator_menu(menu: QMenu, window: QWidget, ctx: ProjectContext) -> AnnotatorActions:
    """Fill ``menu`` (the Annotators menu the shell made) with actions on ``ctx``'s project whose
    dialogs open over ``window``; returns the actions' owner."""
    actions = AnnotatorActions(window, ctx)
    actions.action_merge_labels = menu.addAction("&Merge labels…", actions.open_merge)
    actions.action_agreement = menu.addAction("&Agreement…", actions.open_agreement)
    menu.addSeparator()
    actions.action_overlap = menu.addAction("&Double-label a share of pairs…", actions.open_overlap)
    return actions

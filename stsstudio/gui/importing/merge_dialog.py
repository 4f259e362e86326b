"""The "Merge labels…" dialog: bring a colleague's labels in from their project copy or a file.

The same core call as ``stsstudio merge-labels``: a dry run shows the report (matched, new,
conflicting, unchanged, skipped), then Merge writes it in one transaction.
"""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from stsstudio.core.formats import dialog_filter, labels_list
from stsstudio.core.merge import CONFLICT_POLICIES, MergeReport, merge_labels
from stsstudio.core.scales import SCALES, format_score
from stsstudio.core.store import Project
from stsstudio.gui.common import style
from stsstudio.gui.common.widgets import project_scale
from stsstudio.gui.common.workers import JobRunner

_POLICY_TEXT = {"keep": "Keep the project's label", "replace": "Use the incoming label"}


def report_text(report: MergeReport, *, written: bool) -> str:
    """The dialog's one-paragraph summary of a merge (or of its preview)."""
    who = ", ".join(report.annotators) or "no annotators"
    verb = "Merged" if written else "Ready to merge"
    text = (f"{verb} {report.written:,} label{'s' if report.written != 1 else ''} from {who}: "
            f"{report.matched:,} matched ({report.unchanged:,} unchanged), {report.new:,} new on "
            f"{report.new_pairs:,} new pairs, {report.conflicting:,} conflicting, "
            f"{report.skipped:,} skipped.")
    if report.conflicting:
        text += (" Conflicts keep the project's label." if report.on_conflict == "keep"
                 else " Conflicts take the incoming label.")
    if report.adjudicated or report.adjudicated_left_out:
        text += (f" Adjudicated values: {report.adjudicated:,} brought, {report.adjudicated_left_out:,} "
                 "left out (this project settled those pairs differently).")
    if report.joined:
        text += f" Spellings of one annotator joined: {', '.join(report.joined)}."
    return text


class MergeLabelsDialog(QDialog):
    """Preview, then merge another annotator's labels into the open project."""

    merged = Signal(object)  # the MergeReport once written

    def __init__(self, project: Project, parent: QWidget | None = None, *, source: str = "") -> None:
        super().__init__(parent)
        self.project = project
        self.report: MergeReport | None = None
        self._writing = False
        self.setWindowTitle("Merge labels")
        self.resize(720, 480)
        self._runner = JobRunner(self)
        self._runner.finished.connect(self._on_finished)
        self._runner.failed.connect(self._on_failed)

        intro = QLabel("Bring in a colleague's labels: their copy of this project, or a "
                       f"{labels_list('pairs')} file with sentence1, sentence2, score and optionally "
                       "an annotator (or rater) column. Pairs match in either order; nothing is "
                       "written until you press Merge.")
        intro.setWordWrap(True)
        form = self._build_form(source)
        self.summary = QLabel("Choose a source to see what would be merged.")
        self.summary.setWordWrap(True)
        self.conflicts = QTableWidget(0, 4)
        self.conflicts.setHorizontalHeaderLabels(["Annotator", "Project", "Incoming", "Pair"])
        self.conflicts.verticalHeader().hide()
        self.conflicts.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.conflicts.setWordWrap(False)
        self.conflicts.horizontalHeader().setSectionResizeMode(3, QHeaderView.Stretch)
        self.conflicts.hide()

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.summary)
        layout.addWidget(self.conflicts, 1)
        layout.addStretch(0)
        layout.addWidget(self._build_buttons())

    def _build_form(self, source: str) -> QFormLayout:
        """Where the labels come from and how to read them; any change drops the preview."""
        self.source_edit = QLineEdit(source)
        self.source_edit.setPlaceholderText("A project folder or a file")
        self.source_edit.textChanged.connect(self._on_inputs_changed)
        folder_button = QPushButton("Project…")
        folder_button.clicked.connect(self._choose_folder)
        file_button = QPushButton("File…")
        file_button.clicked.connect(self._choose_file)
        source_row = QHBoxLayout()
        source_row.addWidget(self.source_edit, 1)
        source_row.addWidget(folder_button)
        source_row.addWidget(file_button)
        self.annotator_edit = QLineEdit()
        self.annotator_edit.setPlaceholderText("Annotator of rows that name none")
        self.annotator_edit.textChanged.connect(self._on_inputs_changed)
        self.scale_combo = QComboBox()
        self.scale_combo.addItems(list(SCALES))
        self.scale_combo.currentIndexChanged.connect(self._on_inputs_changed)
        self.policy_combo = QComboBox()
        for policy in CONFLICT_POLICIES:
            self.policy_combo.addItem(_POLICY_TEXT[policy], policy)
        self.policy_combo.currentIndexChanged.connect(self._on_inputs_changed)
        form = QFormLayout()
        form.addRow("Source", source_row)
        form.addRow("Annotator", self.annotator_edit)
        form.addRow("Score scale", self.scale_combo)
        form.addRow("On conflict", self.policy_combo)
        return form

    def _build_buttons(self) -> QDialogButtonBox:
        self.buttons = QDialogButtonBox()
        self.preview_button = self.buttons.addButton("Preview", QDialogButtonBox.ActionRole)
        self.merge_button = self.buttons.addButton("Merge", QDialogButtonBox.AcceptRole)
        self.buttons.addButton(QDialogButtonBox.Close)
        self.preview_button.clicked.connect(self.preview)
        self.merge_button.clicked.connect(self.merge)
        self.buttons.rejected.connect(self.reject)
        self.merge_button.setEnabled(False)
        return self.buttons

    # -- inputs ----------------------------------------------------------------------

    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Project to merge labels from")
        if path:
            self.source_edit.setText(path)
            self.preview()

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Labels to merge", "",
                                              dialog_filter("pairs", "Labels", each=False))
        if path:
            self.source_edit.setText(path)
            self.preview()

    @Slot()
    def _on_inputs_changed(self) -> None:
        self.report = None
        self.merge_button.setEnabled(False)

    def _options(self) -> dict:
        return {"annotator": self.annotator_edit.text().strip() or None,
                "scale": self.scale_combo.currentText(),
                "on_conflict": self.policy_combo.currentData()}

    # -- preview and merge -------------------------------------------------------------

    @Slot()
    def preview(self) -> None:
        source = self.source_edit.text().strip()
        if not source:
            self.summary.setText("Choose a project folder or a file first.")
            return
        self._writing = False
        self.summary.setText("Reading…")
        self.merge_button.setEnabled(False)
        self._runner.start(merge_labels, self.project, source, dry_run=True, **self._options())

    @Slot()
    def merge(self) -> None:
        if self.report is None or self.project.readonly:
            return
        self._writing = True
        self.summary.setText("Merging…")
        self.merge_button.setEnabled(False)
        self.preview_button.setEnabled(False)
        self._runner.start(merge_labels, self.project, self.source_edit.text().strip(), **self._options())

    def is_busy(self) -> bool:
        return self._runner.is_running()

    @Slot(object)
    def _on_finished(self, report: MergeReport) -> None:
        self.preview_button.setEnabled(True)
        self.summary.setStyleSheet("")
        self.summary.setText(report_text(report, written=self._writing))
        self.conflicts.setVisible(bool(report.conflicts))
        self.conflicts.setRowCount(len(report.conflicts))
        scale = project_scale(self.project)
        for r, c in enumerate(report.conflicts):
            cells = (c["annotator"], format_score(c["project"], scale), format_score(c["source"], scale),
                     f"{c['sentence1']}  ⟷  {c['sentence2']}")
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.conflicts.setItem(r, col, item)
        if self._writing:
            self.report = None
            self.merged.emit(report)
        else:
            self.report = report
            self.merge_button.setEnabled(report.written > 0 and not self.project.readonly)

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        self.preview_button.setEnabled(True)
        self.report = None
        self.summary.setStyleSheet(f"color: {style.DANGER};")
        self.summary.setText(message)

    def done(self, result: int) -> None:  # noqa: D401 - Qt override
        if not self._writing:
            self._runner.cancel(quiet=True)
        super().done(result)


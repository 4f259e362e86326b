"""The import wizard: source → columns and scale → summary → import, driven by core.importers.

Every step that touches the data (reading, validating, writing) runs in a worker, so a large
file never freezes the window. Errors show the core's own message (file, row, column) inline,
and the project stays as it was: the import is one transaction. The pages are widgets of
their own (``import_pages.py``); this dialog runs the steps between them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from stsstudio.core import importers
from stsstudio.core.changes import Changes
from stsstudio.core.importers import ImportOptions, ImportReport, PreparedImport, RawTable
from stsstudio.core.store import DEV_FRACTION
from stsstudio.gui.common import style
from stsstudio.gui.common.context import ProjectContext
from stsstudio.gui.common.workers import FunctionWorker, JobRunner, Worker
from stsstudio.gui.importing.import_pages import (
    PREVIEW_ROWS,
    ColumnsPage,
    ImportPage,
    SourcePage,
    SummaryPage,
)
from stsstudio.gui.shell import settings

PAGES = ("source", "columns", "summary", "import")


# ----------------------------------------------------------------------------------------
# Background functions (plain Python; run in workers)


def _read(source: str, options: ImportOptions) -> RawTable:
    return importers.read_table(source, options)


def _prepare(raw: RawTable, options: ImportOptions, project: Any, task: Any = None) -> PreparedImport:
    return importers.prepare_import(raw, options, project, task=task)


def _commit(project: Any, prepared: PreparedImport, task: Any = None) -> ImportReport:
    return importers.commit_import(project, prepared, task=task)


# ----------------------------------------------------------------------------------------
# The wizard


class ImportWizard(QDialog):
    """Import pairs into ``ctx.project``. ``source`` (a path) skips straight to reading it."""

    imported = Signal(object)   # the ImportReport, after a successful commit
    sentencesRequested = Signal(str)  # the source is a list of sentences: pool it instead
    pageChanged = Signal(str)

    def __init__(self, ctx: ProjectContext, parent: QWidget | None = None,
                 source: str | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.raw: RawTable | None = None
        self.prepared: PreparedImport | None = None
        self.report: ImportReport | None = None
        self.scored: importers.ScoredColumn | None = None
        self.worker: Worker | None = None
        # Latest step wins: a read started again (say, header toggled) drops the older answer.
        self._jobs = JobRunner(self)
        self._jobs.finished.connect(self._on_job_finished)
        self._jobs.failed.connect(self._on_failed)
        self._jobs.cancelled.connect(self._on_cancelled)
        self._job_done: Any = None
        self._busy = ""
        self.setWindowTitle("Import pairs")
        self.setModal(True)
        self.resize(940, 680)
        self.setMinimumSize(760, 560)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.setSpacing(12)
        self.steps_label = QLabel()
        self.steps_label.setTextFormat(Qt.RichText)
        layout.addWidget(self.steps_label)
        self.source_page, self.columns_page = SourcePage(), ColumnsPage()
        self.summary_page, self.import_page = SummaryPage(), ImportPage()
        self.stack = QStackedWidget()
        for page in (self.source_page, self.columns_page, self.summary_page, self.import_page):
            self.stack.addWidget(page)
        layout.addWidget(self.stack, 1)
        self._alias_page_widgets()
        self.source_page.submitted.connect(self.next)
        self.columns_page.mappingChanged.connect(self._on_mapping_changed)
        self.columns_page.headerToggled.connect(self._on_header_toggled)
        layout.addWidget(self._build_sentences_hint())
        layout.addWidget(self._build_error_label())
        layout.addWidget(self._build_busy_bar())
        layout.addLayout(self._build_buttons())
        self._set_page("source")
        if source:
            self.file_edit.setText(str(source))
            self.file_radio.setChecked(True)
            self.next()

    def _alias_page_widgets(self) -> None:
        """The pages' widgets, under the names tests and callers use on the wizard."""
        src, cols, box = self.source_page, self.columns_page, self.columns_page.scale_box
        self.file_radio, self.hf_radio, self.file_edit = src.file_radio, src.hf_radio, src.file_edit
        self.hf_id_edit, self.hf_config_edit = src.hf_id_edit, src.hf_config_edit
        self.hf_split_edit = src.hf_split_edit
        self.s1_combo, self.s2_combo, self.score_combo = cols.s1_combo, cols.s2_combo, cols.score_combo
        self.split_col_combo, self.split_combo = cols.split_col_combo, cols.split_combo
        self.rater_combo, self.raters_label = cols.rater_combo, cols.raters_label
        self.split_label, self.header_check = cols.split_label, cols.header_check
        self.dev_check = cols.dev_check
        self.preview, self.preview_model = cols.preview, cols.preview_model
        self.source_info = cols.source_info
        self.scale_box, self.scale_combo, self.histogram = box, box.scale_combo, box.histogram
        self.scale_info, self.preview_warning = box.scale_info, box.preview_warning
        self.summary_values, self.summary_warnings = self.summary_page.values, self.summary_page.warnings
        self.import_title, self.import_result = self.import_page.title, self.import_page.result
        self.import_progress = self.import_page.progress

    def _build_sentences_hint(self) -> QLabel:
        self.sentences_hint = QLabel()
        self.sentences_hint.setWordWrap(True)
        self.sentences_hint.setTextFormat(Qt.RichText)
        self.sentences_hint.linkActivated.connect(self._on_sentences_link)
        self.sentences_hint.setVisible(False)
        return self.sentences_hint

    def _offer_sentences(self, raw: RawTable) -> None:
        """A file with one text column is a list of sentences: offer the sentence pool."""
        from stsstudio.core.sentences import single_text_column

        column = single_text_column(raw)
        self.sentences_hint.setVisible(column is not None)
        if column is not None:
            self.sentences_hint.setText(
                f"This file has one text column (<b>{column}</b>): it looks like a list of "
                "sentences, not pairs. <a href='sentences'>Add them to the sentence pool and "
                "suggest pairs…</a>")

    @Slot(str)
    def _on_sentences_link(self, _link: str) -> None:
        if self.raw is not None:
            self.sentencesRequested.emit(self.raw.source)
            self.reject()

    def _build_error_label(self) -> QLabel:
        self.error_label = QLabel()
        self.error_label.setObjectName("errorLabel")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.error_label.hide()
        return self.error_label

    def _build_busy_bar(self) -> QProgressBar:
        self.busy_bar = QProgressBar()
        self.busy_bar.setTextVisible(False)
        self.busy_bar.setMaximumHeight(6)
        self.busy_bar.hide()
        return self.busy_bar

    def _build_buttons(self) -> QHBoxLayout:
        buttons = QHBoxLayout()
        self.status_label = QLabel()
        self.status_label.setObjectName("hint")
        buttons.addWidget(self.status_label, 1)
        self.back_button = QPushButton("Back")
        self.next_button = QPushButton("Next")
        self.next_button.setObjectName("primary")
        self.next_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel")
        self.back_button.clicked.connect(self.back)
        self.next_button.clicked.connect(self.next)
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        for b in (self.back_button, self.cancel_button, self.next_button):
            buttons.addWidget(b)
        return buttons

    # -- navigation ------------------------------------------------------------------

    def page(self) -> str:
        return PAGES[self.stack.currentIndex()]

    def _set_page(self, name: str) -> None:
        self.stack.setCurrentIndex(PAGES.index(name))
        parts = []
        for i, (key, label) in enumerate((("source", "Source"), ("columns", "Columns & scale"),
                                          ("summary", "Summary"), ("import", "Import"))):
            current = key == name
            color = style.ACCENT_DARK if current else style.MUTED
            weight = "600" if current else "400"
            parts.append(f"<span style='color:{color}; font-weight:{weight}'>{i + 1}. {label}</span>")
        self.steps_label.setText(" &nbsp;›&nbsp; ".join(parts))
        self._update_buttons()
        self.pageChanged.emit(name)

    def _update_buttons(self) -> None:
        name = self.page()
        busy = bool(self._busy)
        self.back_button.setVisible(name in ("columns", "summary"))
        self.back_button.setEnabled(not busy)
        if name == "import":
            done = self.report is not None or (not busy and self.worker is None)
            self.next_button.setText("Close")
            self.next_button.setEnabled(done)
            self.cancel_button.setVisible(not done)
            self.cancel_button.setEnabled(busy)
        else:
            self.next_button.setText("Import" if name == "summary" else "Next")
            self.next_button.setEnabled(not busy)
            self.cancel_button.setVisible(True)
            self.cancel_button.setEnabled(True)

    @Slot()
    def next(self) -> None:
        """The primary button: read → prepare → commit → close."""
        if self._busy:
            return
        self.clear_error()
        name = self.page()
        if name == "source":
            self._start_read()
        elif name == "columns":
            self._start_prepare()
        elif name == "summary":
            self._start_commit()
        else:
            self.accept()

    @Slot()
    def back(self) -> None:
        if self._busy:
            return
        self.clear_error()
        self._set_page("columns" if self.page() == "summary" else "source")

    @Slot()
    def _on_cancel_clicked(self) -> None:
        if self._busy == "commit" and self.worker is not None:
            self.worker.cancel()
            self.status_label.setText("Cancelling…")
            return
        self.reject()

    def reject(self) -> None:
        if self._busy == "commit":
            # The transaction is rolled back when the worker notices; wait for that.
            if self.worker is not None:
                self.worker.cancel()
            return
        if self.worker is not None:
            self.worker.cancel()
        super().reject()

    # -- errors ----------------------------------------------------------------------

    def show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.show()

    def clear_error(self) -> None:
        self.error_label.clear()
        self.error_label.hide()

    def error_text(self) -> str:
        """The error shown (the core's message), or "" when there is none."""
        return self.error_label.text()

    def _set_busy(self, what: str, text: str = "") -> None:
        self._busy = what
        self.busy_bar.setVisible(bool(what) and what != "commit")
        if what:
            self.busy_bar.setRange(0, 0)
        self.status_label.setText(text)
        self._update_buttons()

    def _run(self, worker: Worker, what: str, text: str, on_done: Any) -> None:
        self.worker = worker
        self._job_done = on_done
        self._set_busy(what, text)
        self._jobs.start(worker)

    @Slot(object)
    def _on_job_finished(self, result: Any) -> None:
        self._job_done(result)

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        self._end_unfinished(message, cancelled=False)

    @Slot()
    def _on_cancelled(self) -> None:
        self._end_unfinished("Import cancelled", cancelled=True)

    def _end_unfinished(self, message: str, cancelled: bool) -> None:
        what = self._busy
        self.worker = None
        self._set_busy("")
        if what == "commit":
            self.import_title.setText("Import cancelled" if cancelled else "Import failed")
            self.import_result.setText("Nothing was written; the project is unchanged.")
            self.import_progress.setValue(0)
            if not cancelled:
                self.show_error(message)
            self._update_buttons()
            return
        self.show_error(message)

    # -- step 1: read ----------------------------------------------------------------

    def _source_and_options(self, has_header: bool | None = None) -> tuple[str, ImportOptions]:
        if self.hf_radio.isChecked():
            source = self.hf_id_edit.text().strip()
            options = ImportOptions(format="hf", hf_config=self.hf_config_edit.text().strip() or None,
                                    hf_split=self.hf_split_edit.text().strip() or None)
        else:
            source = self.file_edit.text().strip()
            options = ImportOptions(has_header=has_header)
        return source, options

    def _start_read(self, has_header: bool | None = None) -> None:
        source, options = self._source_and_options(has_header)
        if not source:
            self.show_error("Choose a file or name a dataset first.")
            return
        if self.file_radio.isChecked():
            path = Path(source).expanduser()
            if path.is_file():
                settings.set(settings.LAST_IMPORT_DIR, str(path.parent))
        self._read_options = options
        self._run(FunctionWorker(_read, source, options), "read",
                  f"Reading {Path(source).name or source}…", self._on_read)

    @Slot(object)
    def _on_read(self, raw: RawTable) -> None:
        self.worker = None
        self._set_busy("")
        self.raw = raw
        self._fill_columns_page(raw)
        self._set_page("columns")

    def _fill_columns_page(self, raw: RawTable) -> None:
        self.columns_page.fill(raw)
        self._offer_sentences(raw)
        self._on_mapping_changed()
        self.columns_page.fit_columns()

    @Slot(bool)
    def _on_header_toggled(self, checked: bool) -> None:
        if self.raw is not None and not self._busy:
            self.clear_error()
            self._start_read(has_header=checked)

    # -- step 2: columns and scale ---------------------------------------------------

    def options(self) -> ImportOptions:
        """The ImportOptions the columns page describes."""
        base = getattr(self, "_read_options", ImportOptions())
        split_column = self.split_col_combo.currentData() or ""
        return ImportOptions(
            format=base.format or (self.raw.format if self.raw else None),
            sentence1=self.s1_combo.currentData(),
            sentence2=self.s2_combo.currentData(),
            score=self.score_combo.currentData() if self.score_combo.count() else "",
            split_column=split_column,
            has_header=self.raw.has_header if self.raw is not None else base.has_header,
            scale=self.scale_combo.currentData() or "auto",
            split="none" if split_column else (self.split_combo.currentData() or "none"),
            hf_config=base.hf_config, hf_split=base.hf_split, encoding=base.encoding,
            dev_fraction=DEV_FRACTION if self.dev_check.isEnabled() and self.dev_check.isChecked()
            else 0.0, annotator_column=self.rater_combo.currentData() or "")

    @Slot()
    def _on_mapping_changed(self) -> None:
        """Preview the scores with the import's own function: the numbers shown are stored."""
        raw = self.raw
        if raw is None:
            return
        self.preview_model.set_roles(self.columns_page.roles())
        self.columns_page.show_raters(raw)
        has_split_col = bool(self.split_col_combo.currentData())
        self.split_combo.setEnabled(not has_split_col)
        self.split_label.setEnabled(not has_split_col)
        self.dev_check.setEnabled(not has_split_col
                                  and self.split_combo.currentData() in ("train", "none"))
        score_col = self.score_combo.currentData() or None
        scored = importers.score_preview(raw, score_col, self.scale_box.chosen())
        error = importers.score_error(raw, score_col, scored) if scored is not None else None
        self.scored = scored
        self.preview_model.set_scores(score_col, scored.scores if scored is not None else
                                      self._no_scores(len(raw)))
        self.scale_box.show_scores(scored, len(raw), str(error) if error else "")
        self.columns_page.reveal_scores()

    @staticmethod
    def _no_scores(n: int) -> Any:
        import numpy as np

        return np.full(min(n, PREVIEW_ROWS), np.nan)

    # -- step 3: summary -------------------------------------------------------------

    def _start_prepare(self) -> None:
        if self.raw is None or self.ctx.project is None:
            self.show_error("Open a project first.")
            return
        self._prepare_options = self.options()
        self._run(FunctionWorker(_prepare, self.raw, self._prepare_options, self.ctx.project), "prepare",
                  "Checking the pairs…", self._on_prepared)

    @Slot(object)
    def _on_prepared(self, prepared: PreparedImport) -> None:
        self.worker = None
        self._set_busy("")
        self.prepared = prepared
        self.summary_page.show_report(prepared.report, prepared.raw.display_name)
        self._set_page("summary")

    # -- step 4: commit --------------------------------------------------------------

    def _start_commit(self) -> None:
        if self.prepared is None or self.ctx.project is None:
            return
        self._set_page("import")
        self.import_title.setText("Importing…")
        self.import_result.setText(f"Writing {self.prepared.report.imported:,} pairs.")
        self.import_progress.setValue(0)
        worker = FunctionWorker(_commit, self.ctx.project, self.prepared)
        worker.progressed.connect(self._on_commit_progress)
        self._run(worker, "commit", "", self._on_committed)

    @Slot(int, int)
    def _on_commit_progress(self, done: int, total: int) -> None:
        self.import_progress.setValue(int(100 * done / total) if total else 0)

    @Slot(object)
    def _on_committed(self, report: ImportReport) -> None:
        self.worker = None
        self.report = report
        self._set_busy("")
        self.import_progress.setValue(100)
        self.import_title.setText("Import finished")
        self.import_result.setText(
            f"Imported {report.imported:,} pairs ({report.labeled:,} labeled, {report.unlabeled:,} "
            f"unlabeled){_took(report.seconds)}.")
        self._update_buttons()
        self.ctx.apply(Changes.new_pairs())
        self.ctx.statusMessage.emit(f"Imported {report.imported:,} pairs.")
        self.imported.emit(report)

    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        if self._busy == "commit":
            event.ignore()
            if self.worker is not None:
                self.worker.cancel()
            return
        if self.worker is not None:
            self.worker.cancel()
        super().closeEvent(event)


def _took(seconds: float) -> str:
    """" in 3.2 s" for an import worth timing; nothing for one that took no noticeable time."""
    return f" in {seconds:.1f} s" if seconds >= 1 else ""

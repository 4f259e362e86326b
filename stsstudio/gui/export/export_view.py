"""The Export page: write a run's model to a folder that ``SentenceTransformer(folder)`` loads.

Choose a run (the best by default), a folder and whether to include the labeled pairs; read the
model card before writing; export in a worker with progress; then the folder is loaded back from
disk (in the worker) and a sample pair is scored with it and with the run, as a check.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from PySide6.QtCore import QStandardPaths, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from stsstudio.core.export_formats import EXPORT_FORMATS, get_format
from stsstudio.gui.common import style
from stsstudio.gui.common.context import ProjectContext
from stsstudio.gui.common.widgets import WrapLabel
from stsstudio.gui.common.workers import JobRunner, Worker
from stsstudio.gui.export.export_variants import VariantTable
from stsstudio.gui.train.run_combo import fill_run_combo
from stsstudio.gui.train.train_form import _form_label, _stack


def card_job(project: Any, run_id: int) -> str:
    from stsstudio.core.export import model_card_text

    return model_card_text(project, run_id)


def export_job(project: Any, out_dir: str, run_id: int, with_data: bool, parquet: bool, force: bool,
               format: str = "torch", dims: int | None = None, measured: Any = None,
               task: Any = None) -> dict[str, Any]:
    """Core's export-and-verify, in the view's worker; the view shows its check."""
    from stsstudio.core.export_verify import export_and_verify

    return export_and_verify(project, out_dir, run_id, with_data=with_data, parquet=parquet, force=force,
                             format=format, dims=dims, measured=measured, task=task).as_dict()


def default_export_parent(project_path: Path) -> Path:
    """Where an exported model goes by default: next to the project, unless the project sits in
    the app's own data folder (the demo), which people never look in: then the documents folder."""
    from stsstudio.core.paths import user_data_dir

    try:
        hidden = project_path.resolve().is_relative_to(user_data_dir().resolve())
    except OSError:
        hidden = False
    if not hidden:
        return project_path.parent
    documents = QStandardPaths.writableLocation(QStandardPaths.DocumentsLocation)
    return Path(documents) if documents and Path(documents).is_dir() else Path.home()


def show_run_note(label: QLabel, run: Any) -> None:
    """What the export writes (core.advice), in the warning colour when the run is not better than
    the base model; the next step in the tooltip."""
    from stsstudio.core.advice import describe_export, run_advice

    text, warn = describe_export(run)
    label.setText(("⚠ " if warn else "") + text)
    label.setStyleSheet(style.text_color("warning" if warn else "hint"))
    label.setToolTip(run_advice(run) if run is not None else "")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-").lower() or "model"


class ExportView(QWidget):
    """Choose a run and a folder, read the model card, export and check."""

    def __init__(self, ctx: ProjectContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        # A newer card replaces one still being prepared (one at a time); the export runs alone
        # (its button is disabled meanwhile) and is cancelled through its runner.
        self._card_runner = JobRunner(self, serial=True)
        self._card_runner.finished.connect(self._on_card)
        self._card_runner.failed.connect(self._on_card_failed)
        self._card_running_for: int | None = None
        self._exporter = JobRunner(self)
        self._exporter.progressed.connect(self._on_progress)
        self._exporter.statusChanged.connect(self._on_status)
        self._exporter.finished.connect(self._on_exported)
        self._exporter.failed.connect(self._on_export_failed)
        self._exporter.cancelled.connect(self._on_export_cancelled)
        self._exporter.done.connect(self._on_export_done)
        self._card_for: int | None = None
        self._path_edited = False
        self.last_result: dict[str, Any] | None = None
        self.last_error = ""
        self.last_card = ""
        self._build_ui()
        ctx.projectChanged.connect(self._on_project_changed)
        ctx.runsChanged.connect(self._reload_runs)
        self._on_project_changed()

    # ------------------------------------------------------------------------------------
    # UI

    def _build_ui(self) -> None:
        root = QHBoxLayout(self)
        root.setContentsMargins(10, 10, 10, 10)
        split = QSplitter(Qt.Horizontal)
        split.setChildrenCollapsible(False)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 6, 0)
        left_layout.addWidget(self._build_model_box())
        left_layout.addWidget(self._build_action_box())
        left_layout.addStretch(1)
        left.setMinimumWidth(380)
        # Scrollable: after an export the result joins the form, and on a 1024x640 screen the
        # column is taller than the window; squeezed, the wrapped hints overlapped the controls.
        left_scroll = QScrollArea()
        left_scroll.setWidget(left)
        left_scroll.setWidgetResizable(True)
        left_scroll.setFrameShape(QFrame.NoFrame)
        left_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        left_scroll.setMinimumWidth(left.minimumWidth() + 12)

        right_split = QSplitter(Qt.Vertical)
        right_split.setChildrenCollapsible(False)
        right_split.addWidget(self._build_variants_box())
        right_split.addWidget(self._build_card_box())
        right_split.setStretchFactor(0, 1)
        right_split.setStretchFactor(1, 1)
        split.addWidget(left_scroll)
        split.addWidget(right_split)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        root.addWidget(split)
        self._on_format_changed()

    def _build_model_box(self) -> QGroupBox:
        """What to export: the run, the folder, the format and whether the pairs go with it."""
        box = QGroupBox("Export a model")
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignRight | Qt.AlignTop)
        form.setVerticalSpacing(10)
        self.run_combo = QComboBox()
        self.run_combo.currentIndexChanged.connect(self._on_run_changed)
        # What is exported, from core; a warning when the run is not better than the base model.
        self.run_note = self._hint("The best run is chosen for you.")
        form.addRow(_form_label("Run"), _stack(self.run_combo, self.run_note))
        form.addRow(_form_label("Folder"), self._build_folder_field())
        form.addRow(_form_label("Format"), self._build_format_field())
        self.with_data = QCheckBox("Include the labeled pairs (CSV and JSONL)")
        self.with_data.toggled.connect(self._on_with_data)
        self.parquet = QCheckBox("Also as Parquet")
        self.parquet.setEnabled(False)
        form.addRow(_form_label("Data"), _stack(
            self.with_data, self.parquet,
            self._hint("Written to data/ beside the model, so others can retrain or check it.")))
        return box

    def _build_folder_field(self) -> QWidget:
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("/path/to/new-model-folder")
        self.folder.textEdited.connect(self._on_folder_edited)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._on_browse)
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        folder_row = QWidget()
        folder_row.setLayout(row)
        self.overwrite = QCheckBox("Replace the folder if it is not empty")
        return _stack(folder_row, self._hint("A new or empty folder. Written atomically: nothing "
                                             "half-done is left behind."), self.overwrite)

    def _build_format_field(self) -> QWidget:
        """The formats of core's registry (those missing a package greyed out) and the size."""
        self.format_combo = QComboBox()
        for fmt in EXPORT_FORMATS.values():
            self.format_combo.addItem(fmt.label, fmt.name)
            reason = fmt.unavailable_reason(deep=False)
            index = self.format_combo.count() - 1
            self.format_combo.setItemData(index, reason or fmt.help, Qt.ToolTipRole)
            if reason:   # greyed out; the tooltip and the compare table give the pip line
                self.format_combo.model().item(index).setEnabled(False)
        self.dims_combo = QComboBox()
        self.dims_combo.addItem("Full size", 0)
        self.dims_combo.setToolTip("Smaller sizes come from a Matryoshka run; compare the variants "
                                   "to list them.")
        self.format_combo.currentIndexChanged.connect(self._on_format_changed)
        self.dims_combo.currentIndexChanged.connect(self._on_format_changed)
        format_row = QHBoxLayout()
        format_row.setContentsMargins(0, 0, 0, 0)
        format_row.addWidget(self.format_combo, 1)
        format_row.addWidget(self.dims_combo)
        format_box = QWidget()
        format_box.setLayout(format_row)
        self.format_hint = self._hint("")
        return _stack(format_box, self.format_hint)

    def _build_action_box(self) -> QGroupBox:
        """The Export and Cancel buttons, the progress and the result of the last export."""
        action = QGroupBox("Export")
        action_layout = QVBoxLayout(action)
        buttons = QHBoxLayout()
        self.export_button = QPushButton("Export model")
        self.export_button.setMinimumHeight(30)
        self.export_button.setStyleSheet(style.sheet(style.ACTION_BUTTON))
        self.export_button.clicked.connect(self.start_export)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.setMinimumHeight(30)
        self.cancel_button.clicked.connect(self.cancel_export)
        buttons.addWidget(self.export_button, 1)
        buttons.addWidget(self.cancel_button)
        action_layout.addLayout(buttons)
        action_layout.addWidget(self._hint("Writes the model, its tokenizer and this model card, then loads "
                                           "the folder back with SentenceTransformer to check it."))
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("")
        self.progress.setVisible(False)     # shown once an export starts
        action_layout.addWidget(self.progress)
        action_layout.addWidget(self._build_result_frame())
        return action

    def _build_result_frame(self) -> QFrame:
        self.result_label = QLabel()
        self.result_label.setWordWrap(True)
        self.result_label.setTextFormat(Qt.RichText)
        self.result_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.result_frame = QFrame()
        self.result_frame.setFrameShape(QFrame.StyledPanel)
        result_layout = QVBoxLayout(self.result_frame)
        result_layout.addWidget(self.result_label)
        self.open_button = QPushButton("Open folder")
        self.open_button.clicked.connect(self.open_folder)
        open_row = QHBoxLayout()
        open_row.addStretch(1)
        open_row.addWidget(self.open_button)
        result_layout.addLayout(open_row)
        self.result_frame.setVisible(False)
        return self.result_frame

    def _build_variants_box(self) -> QGroupBox:
        variants_box = QGroupBox("Compare variants")
        variants_layout = QVBoxLayout(variants_box)
        self.variants = VariantTable()
        self.variants.variantChosen.connect(self._on_variant_chosen)
        variants_layout.addWidget(self.variants)
        return variants_box

    def _build_card_box(self) -> QGroupBox:
        """The model card as it will be written, rendered from its markdown."""
        right = QGroupBox("Model card (README.md)")
        right_layout = QVBoxLayout(right)
        self.card_state = QLabel()
        self.card_state.setStyleSheet(style.text_color("hint"))
        self.card_state.setWordWrap(True)
        right_layout.addWidget(self.card_state)
        self.card = QTextBrowser()
        self.card.setOpenExternalLinks(True)
        card_font = self.card.font()
        card_font.setPointSizeF(max(7.5, card_font.pointSizeF() - 1.5))  # markdown headings scale from it
        self.card.document().setDefaultFont(card_font)
        self.card.document().setDefaultStyleSheet(
            "h1 { font-size: 15pt; } h2 { font-size: 12.5pt; margin-top: 12px; } h3 { font-size: 11pt; }"
            f" code, pre {{ background: {style.color('code_bg')}; }} table {{ border-collapse: collapse; }}"
            " th, td { padding: 2px 6px; }")
        right_layout.addWidget(self.card, 1)
        return right

    @staticmethod
    def _hint(text: str) -> QLabel:
        label = WrapLabel(text)
        label.setStyleSheet(style.text_color("hint"))
        return label

    # ------------------------------------------------------------------------------------
    # State

    @property
    def worker(self) -> Worker | None:
        """The export job while it runs."""
        return self._exporter.worker

    @property
    def _card_worker(self) -> Worker | None:
        return self._card_runner.worker

    @Slot()
    def _on_project_changed(self) -> None:
        self._path_edited = False
        self._card_runner.cancel(quiet=True)   # a card of the previous project is dropped
        self._card_for = None
        self.card.clear()
        self.result_frame.setVisible(False)
        self._reload_runs()

    @Slot()
    def _reload_runs(self) -> None:
        project = self.ctx.project
        current = self.selected_run_id()
        fill_run_combo(self.run_combo, project, current)
        if project is None or project.closed:
            self._update_enabled()
            return
        self._on_run_changed()

    def selected_run_id(self) -> int | None:
        data = self.run_combo.currentData()
        return int(data) if data is not None else None

    def select_run(self, run_id: int) -> None:
        index = self.run_combo.findData(run_id)
        if index >= 0:
            self.run_combo.setCurrentIndex(index)

    @Slot()
    def _on_run_changed(self) -> None:
        run_id = self.selected_run_id()
        project = self.ctx.project
        if not self._path_edited and project is not None and run_id is not None:
            self.folder.setText(str(default_export_parent(project.path)
                                    / f"{_slug(project.name)}-run{run_id}-model"))
        self.variants.set_run(project, run_id)
        show_run_note(self.run_note,
                      project.runs.get(run_id) if project is not None and run_id is not None else None)
        self._set_dims_choices([])
        self._update_enabled()
        if run_id is None:
            self.card.setPlainText("")
            self.card_state.setText("Train a run first; its model card appears here before you export.")
        elif self.isVisible():
            self.load_card()

    def _update_enabled(self) -> None:
        ok = self.selected_run_id() is not None and self.worker is None
        self.export_button.setEnabled(ok)

    def selected_format(self) -> str:
        return str(self.format_combo.currentData() or "torch")

    def selected_dims(self) -> int:
        return int(self.dims_combo.currentData() or 0)

    def _set_dims_choices(self, dims: list[int]) -> None:
        current = self.selected_dims()
        self.dims_combo.blockSignals(True)
        self.dims_combo.clear()
        self.dims_combo.addItem("Full size", 0)
        for d in dims:
            self.dims_combo.addItem(f"{d} dims", d)
        index = self.dims_combo.findData(current)
        self.dims_combo.setCurrentIndex(max(0, index))
        self.dims_combo.blockSignals(False)
        self.dims_combo.setVisible(bool(dims))

    @Slot(str, int)
    def _on_variant_chosen(self, name: str, dims: int) -> None:
        result = self.variants.result
        if result is not None:
            full = result.rows[0].full_dims if result.rows else 0
            self._set_dims_choices(sorted({r.dims for r in result.rows if r.dims != full}, reverse=True))
        self.format_combo.blockSignals(True)
        self.format_combo.setCurrentIndex(max(0, self.format_combo.findData(name)))
        self.format_combo.blockSignals(False)
        self.dims_combo.blockSignals(True)
        self.dims_combo.setCurrentIndex(max(0, self.dims_combo.findData(dims)))
        self.dims_combo.blockSignals(False)
        self._on_format_changed()

    @Slot()
    def _on_format_changed(self) -> None:
        fmt = get_format(self.selected_format())
        dims = self.selected_dims() or None
        row = self.variants.result.row(fmt.name, dims) if self.variants.result is not None else None
        measured = ""
        if row is not None and row.available:
            measured = (f" Measured: dev Spearman {row.spearman:.4f} ({row.delta:+.4f} vs torch), "
                        f"{row.sentences_per_s:,.0f} sentences/s.")
        self.format_combo.setToolTip(fmt.help)
        self.format_hint.setText(f"{fmt.load_hint('folder', dims)}{measured}")
        if self.variants.chosen() is None or self.variants.chosen()[:2] != (fmt.name, dims or 0):
            self.variants.select(fmt.name, dims or 0)

    def _measured_row(self) -> Any:
        if self.variants.result is None:
            return None
        row = self.variants.result.row(self.selected_format(), self.selected_dims() or None)
        return row if row is not None and row.available else None

    @Slot(str)
    def _on_folder_edited(self, _text: str) -> None:
        self._path_edited = True

    @Slot(bool)
    def _on_with_data(self, checked: bool) -> None:
        self.parquet.setEnabled(checked)

    @Slot()
    def _on_browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose an export folder", self.folder.text())
        if folder:
            self.folder.setText(folder)
            self._path_edited = True

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if self.selected_run_id() is not None and self._card_for != self.selected_run_id():
            self.load_card()

    # ------------------------------------------------------------------------------------
    # Model card

    @Slot()
    def load_card(self) -> None:
        run_id = self.selected_run_id()
        project = self.ctx.project
        if run_id is None or project is None:
            return
        if self._card_runner.is_running() and self._card_running_for == run_id:
            return                             # already on its way
        self.card_state.setText(f"Preparing the model card of run {run_id} (evaluates dev and test)…")
        self._card_running_for = run_id
        self._card_runner.start(card_job, project, run_id)

    @Slot(object)
    def _on_card(self, text: str) -> None:
        self._card_for = self._card_running_for
        self.set_card_text(text)

    def set_card_text(self, text: str) -> None:
        self.last_card = text
        # The card starts with YAML front matter for the Hub; show the readable part.
        body = text
        if body.startswith("---"):
            end = body.find("\n---", 3)
            if end > 0:
                body = body[end + 4:].lstrip()
        self.card.setMarkdown(body)
        self.card_state.setText(f"This README.md is written with the model of run {self._card_for}.")

    @Slot(str, str)
    def _on_card_failed(self, message: str, _details: str) -> None:
        self.card_state.setText(style.span("danger", html.escape(message)))

    # ------------------------------------------------------------------------------------
    # Export

    @Slot()
    def start_export(self) -> None:
        project = self.ctx.project
        run_id = self.selected_run_id()
        folder = self.folder.text().strip()
        if project is None or run_id is None or self.worker is not None:
            return
        if not folder:
            self._show_result(False, "Choose a folder to export to.")
            return
        self.last_result = None
        self.last_error = ""
        self.result_frame.setVisible(False)
        self.progress.setRange(0, 0)
        self.progress.setFormat("Exporting…")
        self.progress.setVisible(True)
        self.export_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self._exporter.start(export_job, project, folder, run_id, self.with_data.isChecked(),
                             self.parquet.isChecked() and self.with_data.isChecked(),
                             self.overwrite.isChecked(), format=self.selected_format(),
                             dims=self.selected_dims() or None, measured=self._measured_row())

    @Slot()
    def cancel_export(self) -> None:
        if self._exporter.is_running():
            self._exporter.cancel()
            self.cancel_button.setEnabled(False)

    @Slot(int, int)
    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        self.progress.setFormat("Exporting… %p%")

    @Slot(str)
    def _on_status(self, text: str) -> None:
        self.progress.setFormat(text)

    @Slot(object)
    def _on_exported(self, result: dict[str, Any]) -> None:
        self.last_result = result
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.progress.setFormat("Done")
        lines = [f"<b>Exported {html.escape(result.get('format', ''))} to</b> {html.escape(result['path'])}",
                 (f"<code>{html.escape(result.get('load_call', ''))}</code>"
                  if result.get("runtime", "sentence-transformers") == "sentence-transformers"
                  else html.escape(result.get("load_call", ""))),
                 f"Loaded back with {html.escape(result.get('runtime', 'SentenceTransformer'))}: "
                 f"{result['dimension']}-dim embeddings"
                 + (f", max length {result['max_seq_length']}" if result.get("max_seq_length") else "") + "."]
        if "exported_score" in result:
            s1, s2 = result["sample"]
            same = result["same"]       # core's check (core/export_verify.py)
            mark = style.span("success", "✓ same as the run") if same else \
                style.span("danger", "✗ differs from the run")
            lines.append(f"Sample pair “{html.escape(s1[:50])}” / “{html.escape(s2[:50])}”: "
                         f"{result['exported_score']:.4f} {mark} ({result['run_score']:.4f}).")
        files = result.get("files", [])
        if files:
            shown = ", ".join(html.escape(f) for f in files[:8]) + (" …" if len(files) > 8 else "")
            lines.append(style.span("hint", f"{len(files)} files: {shown}"))
        self._show_result(True, "<br>".join(lines), rich=True)

    @Slot(str, str)
    def _on_export_failed(self, message: str, _details: str) -> None:
        self.last_error = message
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("Failed")
        self._show_result(False, message)

    @Slot()
    def _on_export_cancelled(self) -> None:
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("Cancelled: nothing was written")

    @Slot()
    def _on_export_done(self) -> None:
        self.cancel_button.setEnabled(False)
        self._update_enabled()

    def _show_result(self, ok: bool, text: str, rich: bool = False) -> None:
        color, bg = (style.color("success"), style.color("success_bg")) if ok else \
            (style.color("danger"), style.color("danger_bg"))
        self.result_frame.setStyleSheet(f"QFrame {{ background: {bg}; border: 1px solid {color};"
                                        " border-radius: 4px; } QLabel { border: none; }")
        self.result_label.setText(text if rich else html.escape(text))
        self.open_button.setVisible(ok)
        self.result_frame.setVisible(True)

    @Slot()
    def open_folder(self) -> None:
        if self.last_result:
            QDesktopServices.openUrl(QUrl.fromLocalFile(self.last_result["path"]))

    # ------------------------------------------------------------------------------------
    # Screenshot

    def prepare_for_screenshot(self) -> None:
        """Show the best run's model card synchronously (the screenshot renders once and exits)."""
        project = self.ctx.project
        self._reload_runs()
        run_id = self.selected_run_id()
        if project is None or run_id is None:
            return
        try:
            self._card_for = run_id
            self.set_card_text(card_job(project, run_id))
        except Exception as exc:  # noqa: BLE001 - the screenshot shows the message instead
            self.card_state.setText(str(exc))
        self.variants.prepare_for_screenshot()

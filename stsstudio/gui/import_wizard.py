"""The import wizard: source → columns and scale → summary → import, driven by core.importers.

Every step that touches the data (reading, validating, writing) runs in a worker, so a large
file never freezes the window. Errors show the core's own message (file, row, column) inline,
and the project stays as it was: the import is one transaction.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QRectF, Qt, Signal, Slot
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from stsstudio.core import importers
from stsstudio.core.importers import ImportOptions, ImportReport, PreparedImport, RawTable
from stsstudio.gui import settings, style
from stsstudio.gui.context import ProjectContext
from stsstudio.gui.workers import FunctionWorker, Worker, start_worker

PREVIEW_ROWS = 50
FILE_FILTER = ("Sentence pairs (*.csv *.tsv *.tab *.txt *.jsonl *.ndjson *.json *.parquet *.pq);;"
               "CSV (*.csv *.txt);;TSV (*.tsv *.tab);;JSON Lines (*.jsonl *.ndjson *.json);;"
               "Parquet (*.parquet *.pq);;All files (*)")
SCALE_LABELS = {"auto": "Detect", "0-1": "0 – 1", "0-5": "0 – 5 (STS benchmark)", "1-5": "1 – 5 (Likert)",
                "0-100": "0 – 100"}
SPLIT_LABELS = {"train": "Train", "dev": "Dev (validation)", "test": "Test", "none": "None (decide later)"}
PAGES = ("source", "columns", "summary", "import")


# ----------------------------------------------------------------------------------------
# Background functions (plain Python; run in workers)


def _read(source: str, options: ImportOptions) -> RawTable:
    return importers.read_table(source, options)


def _prepare(raw: RawTable, options: ImportOptions, project: Any, task: Any = None) -> PreparedImport:
    return importers.prepare_import(raw, options, project, task=task)


def _commit(project: Any, prepared: PreparedImport, task: Any = None) -> ImportReport:
    return importers.commit_import(project, prepared, task=task)


def preview_scores(raw: RawTable, column: str | None, scale: str) -> tuple[np.ndarray, np.ndarray, str, str]:
    """(raw values, normalised values (NaN for unlabeled), the scale used, an error or "").

    A light parse for the live preview; the import itself validates with the core's rules
    and reports the exact row of any problem.
    """
    import pandas as pd

    if column is None:
        return np.array([]), np.array([]), scale, ""
    series = raw.frame[column]
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        bad = np.zeros(len(values), dtype=bool)
    else:
        text = series.map(lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v))
                          else str(v)).str.strip()
        values = pd.to_numeric(text.str.replace(r"^([+-]?\d+),(\d+)$", r"\1.\2", regex=True),
                               errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bad = (text != "").to_numpy() & np.isnan(values)
    labeled = np.isfinite(values)
    used = importers.detect_scale(values[labeled]) if scale == "auto" else scale
    normalised = np.full(len(values), np.nan)
    error = ""
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        row = int(raw.row_numbers[i]) if raw.row_numbers is not None else i + 1
        error = (f"{raw.display_name}, row {row}, column {column!r}: "
                 f"the score {str(series.iloc[i])!r} is not a number")
    if labeled.any():
        try:
            normalised[labeled] = importers.normalise_scores(
                values[labeled], used, rows=np.asarray(raw.row_numbers)[labeled],
                file=raw.display_name, column=column)
        except importers.ImportDataError as exc:
            error = error or str(exc)
            low, high = importers.SCALE_RANGES[used]
            normalised[labeled] = np.clip((values[labeled] - low) / (high - low), 0, 1)
    return values, normalised, used, error


# ----------------------------------------------------------------------------------------
# Widgets


class PreviewModel(QAbstractTableModel):
    """The first rows of a RawTable, with the normalised score as a last column."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._columns: list[str] = []
        self._cells: list[list[str]] = []
        self._rows: list[int] = []
        self._normalised: np.ndarray = np.array([])
        self._roles: dict[str, str] = {}

    def set_table(self, raw: RawTable | None) -> None:
        self.beginResetModel()
        if raw is None:
            self._columns, self._cells, self._rows = [], [], []
        else:
            head = raw.frame.iloc[:PREVIEW_ROWS]
            self._columns = list(raw.columns)
            self._cells = [[_cell_text(v) for v in row] for row in head.itertuples(index=False)]
            self._rows = [int(r) for r in np.asarray(raw.row_numbers)[:PREVIEW_ROWS]]
        self._normalised = np.full(len(self._cells), np.nan)
        self.endResetModel()

    def set_roles(self, roles: dict[str, str]) -> None:
        """``{column: "Sentence 1", ...}``: shown in the header."""
        self._roles = roles
        if self._columns:
            self.headerDataChanged.emit(Qt.Horizontal, 0, len(self._columns))

    def set_normalised(self, values: np.ndarray) -> None:
        self._normalised = np.asarray(values[:len(self._cells)], dtype=float)
        if self._cells:
            col = len(self._columns)
            self.dataChanged.emit(self.index(0, col), self.index(len(self._cells) - 1, col))

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self._cells)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() or not self._columns else len(self._columns) + 1

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.DisplayRole) -> Any:
        if not index.isValid():
            return None
        r, c = index.row(), index.column()
        if c == len(self._columns):
            value = self._normalised[r] if r < len(self._normalised) else math.nan
            if role == Qt.DisplayRole:
                return "" if math.isnan(value) else f"{value:.2f}"
            if role == Qt.TextAlignmentRole:
                return int(Qt.AlignRight | Qt.AlignVCenter)
            if role == Qt.ForegroundRole:
                return QColor(style.ACCENT_DARK)
            return None
        if role in (Qt.DisplayRole, Qt.ToolTipRole):
            return self._cells[r][c]
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.DisplayRole) -> Any:  # noqa: N802
        if role != Qt.DisplayRole:
            return None
        if orientation == Qt.Vertical:
            return str(self._rows[section]) if section < len(self._rows) else None
        if section == len(self._columns):
            return "→ score 0–1"
        name = self._columns[section]
        tag = self._roles.get(name)
        return f"{name}  ·  {tag}" if tag else name


def _cell_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = str(value)
    return text if len(text) <= 300 else text[:300] + "…"


class Histogram(QWidget):
    """A small histogram of normalised scores (QPainter bars; pyqtgraph would slow the wizard)."""

    BINS = 10

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.counts = np.zeros(self.BINS, dtype=int)
        self.setMinimumSize(260, 120)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.setFixedHeight(130)

    def set_values(self, values: np.ndarray) -> None:
        finite = values[np.isfinite(values)] if values.size else values
        self.counts = np.histogram(finite, bins=self.BINS, range=(0.0, 1.0))[0]
        self.update()

    def paintEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        fm = self.fontMetrics()
        left, bottom, top = 8, fm.height() + 6, 16
        w = self.width() - 2 * left
        h = self.height() - bottom - top
        p.setPen(QPen(QColor(style.BORDER), 1))
        p.drawLine(left, top + h, left + w, top + h)
        peak = int(self.counts.max()) if self.counts.size else 0
        bar_w = w / self.BINS
        p.setPen(Qt.NoPen)
        p.setBrush(QColor(style.ACCENT))
        for i, n in enumerate(self.counts):
            if not peak or not n:
                continue
            bh = max(2.0, h * n / peak)
            p.drawRoundedRect(QRectF(left + i * bar_w + 2, top + h - bh, bar_w - 4, bh), 2, 2)
        p.setPen(QColor(style.MUTED))
        for i, label in enumerate(("0", "0.5", "1")):
            x = left + w * i / 2
            tw = fm.horizontalAdvance(label)
            x = min(max(x - tw / 2, 0), self.width() - tw)
            p.drawText(int(x), self.height() - 4, label)
        if peak:
            p.drawText(left, fm.ascent(), f"{peak:,} max per bin")
        p.end()


# ----------------------------------------------------------------------------------------
# The wizard


class ImportWizard(QDialog):
    """Import pairs into ``ctx.project``. ``source`` (a path) skips straight to reading it."""

    imported = Signal(object)   # the ImportReport, after a successful commit
    pageChanged = Signal(str)

    def __init__(self, ctx: ProjectContext, parent: QWidget | None = None,
                 source: str | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.raw: RawTable | None = None
        self.prepared: PreparedImport | None = None
        self.report: ImportReport | None = None
        self.worker: Worker | None = None
        self._busy = ""
        self._loaded_source: tuple[str, bool | None, str] | None = None

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
        self.stack = QStackedWidget()
        self.stack.addWidget(self._build_source_page())
        self.stack.addWidget(self._build_columns_page())
        self.stack.addWidget(self._build_summary_page())
        self.stack.addWidget(self._build_import_page())
        layout.addWidget(self.stack, 1)

        self.error_label = QLabel()
        self.error_label.setObjectName("errorLabel")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.error_label.hide()
        layout.addWidget(self.error_label)

        self.busy_bar = QProgressBar()
        self.busy_bar.setTextVisible(False)
        self.busy_bar.setMaximumHeight(6)
        self.busy_bar.hide()
        layout.addWidget(self.busy_bar)

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
        layout.addLayout(buttons)

        self._set_page("source")
        if source:
            self.file_edit.setText(str(source))
            self.file_radio.setChecked(True)
            self.next()

    # -- pages -----------------------------------------------------------------------

    def _build_source_page(self) -> QWidget:
        page = QWidget()
        col = QVBoxLayout(page)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(14)
        intro = QLabel("Where are the sentence pairs? Each row needs two sentences; a similarity "
                       "score is optional (pairs without one are imported unlabeled).")
        intro.setWordWrap(True)
        col.addWidget(intro)

        self.file_radio = QRadioButton("A file: CSV, TSV, JSON Lines or Parquet")
        self.hf_radio = QRadioButton("A Hugging Face dataset: a dataset id, or a folder saved with datasets")
        group = QButtonGroup(self)
        group.addButton(self.file_radio)
        group.addButton(self.hf_radio)
        self.file_radio.setChecked(True)

        file_box = QGroupBox()
        file_box.setFlat(True)
        file_row = QHBoxLayout(file_box)
        self.file_edit = QLineEdit()
        self.file_edit.setPlaceholderText("/path/to/pairs.csv")
        self.file_edit.setClearButtonEnabled(True)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._on_browse_file)
        file_row.addWidget(self.file_edit, 1)
        file_row.addWidget(browse)

        hf_box = QGroupBox()
        hf_box.setFlat(True)
        hf_form = QFormLayout(hf_box)
        hf_form.setLabelAlignment(Qt.AlignRight | Qt.AlignVCenter)
        self.hf_id_edit = QLineEdit()
        self.hf_id_edit.setPlaceholderText("sentence-transformers/stsb  or  /path/to/saved_dataset")
        hf_id_row = QHBoxLayout()
        hf_id_row.addWidget(self.hf_id_edit, 1)
        hf_browse = QPushButton("Folder…")
        hf_browse.clicked.connect(self._on_browse_folder)
        hf_id_row.addWidget(hf_browse)
        self.hf_config_edit = QLineEdit()
        self.hf_config_edit.setPlaceholderText("default")
        self.hf_split_edit = QLineEdit()
        self.hf_split_edit.setPlaceholderText("train")
        hf_form.addRow("Dataset:", hf_id_row)
        hf_form.addRow("Config:", self.hf_config_edit)
        hf_form.addRow("Split:", self.hf_split_edit)
        hint = QLabel("The Hub is only reached when it is online; a local folder always works.")
        hint.setObjectName("hint")
        hf_form.addRow("", hint)

        col.addWidget(self.file_radio)
        col.addWidget(file_box)
        col.addWidget(self.hf_radio)
        col.addWidget(hf_box)
        col.addStretch(1)
        drop = QLabel("Tip: you can also drop a file on the main window.")
        drop.setObjectName("hint")
        col.addWidget(drop)

        self.file_radio.toggled.connect(file_box.setEnabled)
        self.hf_radio.toggled.connect(hf_box.setEnabled)
        hf_box.setEnabled(False)
        self.file_edit.returnPressed.connect(self.next)
        self.hf_id_edit.textEdited.connect(self._on_hf_edited)
        return page

    def _build_columns_page(self) -> QWidget:
        page = QWidget()
        col = QVBoxLayout(page)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(10)
        self.source_info = QLabel()
        self.source_info.setObjectName("hint")
        self.source_info.setWordWrap(True)
        col.addWidget(self.source_info)

        self.preview_model = PreviewModel(self)
        self.preview = QTableView()
        self.preview.setModel(self.preview_model)
        self.preview.setSelectionMode(QAbstractItemView.NoSelection)
        self.preview.setFocusPolicy(Qt.NoFocus)
        self.preview.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.preview.setWordWrap(False)
        self.preview.setAlternatingRowColors(True)
        self.preview.setHorizontalScrollMode(QAbstractItemView.ScrollPerPixel)
        self.preview.verticalHeader().setDefaultSectionSize(24)
        self.preview.horizontalHeader().setDefaultSectionSize(200)
        self.preview.horizontalHeader().setSectionResizeMode(QHeaderView.Interactive)
        self.preview.horizontalHeader().setDefaultAlignment(Qt.AlignLeft | Qt.AlignVCenter)
        col.addWidget(self.preview, 1)

        controls = QHBoxLayout()
        controls.setSpacing(18)
        mapping = QGroupBox("Columns")
        grid = QGridLayout(mapping)
        grid.setHorizontalSpacing(10)
        self.s1_combo = QComboBox()
        self.s2_combo = QComboBox()
        self.score_combo = QComboBox()
        self.split_col_combo = QComboBox()
        for combo in (self.s1_combo, self.s2_combo, self.score_combo, self.split_col_combo):
            combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(14)
            combo.currentIndexChanged.connect(self._on_mapping_changed)
        self.header_check = QCheckBox("First row is a header")
        self.header_check.toggled.connect(self._on_header_toggled)
        self.split_combo = QComboBox()
        for key, label in SPLIT_LABELS.items():
            self.split_combo.addItem(label, key)
        self.split_combo.setCurrentIndex(list(SPLIT_LABELS).index("train"))
        self.split_label = QLabel("Split of every pair:")
        rows = [("Sentence 1:", self.s1_combo), ("Sentence 2:", self.s2_combo),
                ("Score:", self.score_combo), ("Split column:", self.split_col_combo)]
        for r, (text, widget) in enumerate(rows):
            grid.addWidget(QLabel(text), r, 0, Qt.AlignRight)
            grid.addWidget(widget, r, 1)
        grid.addWidget(self.split_label, 4, 0, Qt.AlignRight)
        grid.addWidget(self.split_combo, 4, 1)
        grid.addWidget(self.header_check, 5, 1)
        grid.setColumnStretch(1, 1)
        controls.addWidget(mapping, 1)

        scale_box = QGroupBox("Score scale")
        scale_col = QVBoxLayout(scale_box)
        scale_row = QHBoxLayout()
        self.scale_combo = QComboBox()
        for key, label in SCALE_LABELS.items():
            self.scale_combo.addItem(label, key)
        self.scale_combo.currentIndexChanged.connect(self._on_mapping_changed)
        scale_row.addWidget(QLabel("Scale:"))
        scale_row.addWidget(self.scale_combo, 1)
        scale_col.addLayout(scale_row)
        self.histogram = Histogram()
        scale_col.addWidget(self.histogram)
        self.scale_info = QLabel()
        self.scale_info.setObjectName("hint")
        self.scale_info.setWordWrap(True)
        scale_col.addWidget(self.scale_info)
        self.preview_warning = QLabel()
        self.preview_warning.setWordWrap(True)
        self.preview_warning.setStyleSheet(f"color: {style.WARNING};")
        self.preview_warning.hide()
        scale_col.addWidget(self.preview_warning)
        controls.addWidget(scale_box, 1)
        col.addLayout(controls)
        return page

    def _build_summary_page(self) -> QWidget:
        page = QWidget()
        col = QVBoxLayout(page)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(12)
        title = QLabel("Ready to import")
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        title.setFont(font)
        col.addWidget(title)
        card = QFrame()
        card.setObjectName("card")
        self.summary_form = QFormLayout(card)
        self.summary_form.setContentsMargins(18, 14, 18, 14)
        self.summary_form.setHorizontalSpacing(24)
        self.summary_form.setVerticalSpacing(8)
        self.summary_values: dict[str, QLabel] = {}
        for key, label in (("source", "Source"), ("rows", "Rows read"), ("imported", "Pairs to import"),
                           ("labeled", "Labeled / unlabeled"), ("duplicates", "Duplicates dropped"),
                           ("leakage", "Leakage"), ("splits", "Splits"), ("scale", "Score scale")):
            value = QLabel()
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextSelectableByMouse)
            self.summary_values[key] = value
            self.summary_form.addRow(f"{label}:", value)
        col.addWidget(card)
        self.summary_warnings = QLabel()
        self.summary_warnings.setWordWrap(True)
        self.summary_warnings.setStyleSheet(f"color: {style.WARNING};")
        col.addWidget(self.summary_warnings)
        note = QLabel("The import is one step: all pairs are written, or none.")
        note.setObjectName("hint")
        col.addWidget(note)
        col.addStretch(1)
        return page

    def _build_import_page(self) -> QWidget:
        page = QWidget()
        col = QVBoxLayout(page)
        col.setContentsMargins(0, 40, 0, 0)
        col.setSpacing(14)
        self.import_title = QLabel("Importing…")
        font = self.import_title.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        self.import_title.setFont(font)
        self.import_progress = QProgressBar()
        self.import_progress.setRange(0, 100)
        self.import_result = QLabel()
        self.import_result.setWordWrap(True)
        col.addWidget(self.import_title)
        col.addWidget(self.import_progress)
        col.addWidget(self.import_result)
        col.addStretch(1)
        return page

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
        worker.finished.connect(on_done)
        worker.failed.connect(self._on_failed)
        worker.cancelled.connect(self._on_cancelled)
        self._set_busy(what, text)
        start_worker(worker)

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        what = self._busy
        self.worker = None
        self._set_busy("")
        if what == "commit":
            cancelled = message.strip().lower().startswith("import cancelled")
            self.import_title.setText("Import cancelled" if cancelled else "Import failed")
            self.import_result.setText("Nothing was written; the project is unchanged.")
            self.import_progress.setValue(0)
            if not cancelled:
                self.show_error(message)
            self._update_buttons()
            return
        self.show_error(message)

    @Slot()
    def _on_cancelled(self) -> None:
        self._on_failed("Import cancelled", "")

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
        rows = len(raw)
        bits = [f"<b>{raw.display_name or raw.source}</b>", f"{rows:,} rows", raw.format.upper()]
        if raw.encoding:
            bits.append(raw.encoding)
        if raw.delimiter:
            bits.append({"\t": "tab-separated", ",": "comma-separated", ";": "semicolon-separated"}
                        .get(raw.delimiter, f"separated by {raw.delimiter!r}"))
        info = " · ".join(bits) + f" — showing the first {min(rows, PREVIEW_ROWS)} rows."
        if raw.warnings:
            info += "<br>" + "<br>".join(f"⚠ {w}" for w in raw.warnings)
        self.source_info.setTextFormat(Qt.RichText)
        self.source_info.setText(info)

        self.preview_model.set_table(raw)
        combos = (self.s1_combo, self.s2_combo, self.score_combo, self.split_col_combo)
        for combo in combos:
            combo.blockSignals(True)
            combo.clear()
        for combo in (self.s1_combo, self.s2_combo):
            combo.addItem("(choose a column)", None)
        self.score_combo.addItem("none – unlabeled", "")
        self.split_col_combo.addItem("none", "")
        for name in raw.columns:
            for combo in combos:
                combo.addItem(name, name)
        guess = raw.guess
        for combo, value in ((self.s1_combo, guess.sentence1), (self.s2_combo, guess.sentence2),
                             (self.score_combo, guess.score), (self.split_col_combo, guess.split_column)):
            i = combo.findData(value) if value is not None else 0
            combo.setCurrentIndex(max(i, 0))
            combo.blockSignals(False)
        self.header_check.blockSignals(True)
        self.header_check.setChecked(raw.has_header)
        self.header_check.setEnabled(raw.format in ("csv", "tsv"))
        self.header_check.blockSignals(False)
        self.scale_combo.blockSignals(True)
        self.scale_combo.setCurrentIndex(0)
        self.scale_combo.blockSignals(False)
        self._on_mapping_changed()
        self.preview.resizeColumnsToContents()
        header = self.preview.horizontalHeader()
        for c in range(self.preview_model.columnCount()):
            header.resizeSection(c, min(max(header.sectionSize(c), 90), 320))

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
            hf_config=base.hf_config, hf_split=base.hf_split, encoding=base.encoding)

    @Slot()
    def _on_mapping_changed(self) -> None:
        raw = self.raw
        if raw is None:
            return
        roles = {}
        for combo, tag in ((self.s1_combo, "Sentence 1"), (self.s2_combo, "Sentence 2"),
                           (self.score_combo, "Score"), (self.split_col_combo, "Split")):
            if combo.currentData():
                roles.setdefault(combo.currentData(), tag)
        self.preview_model.set_roles(roles)
        has_split_col = bool(self.split_col_combo.currentData())
        self.split_combo.setEnabled(not has_split_col)
        self.split_label.setEnabled(not has_split_col)
        score_col = self.score_combo.currentData() or None
        scale = self.scale_combo.currentData() or "auto"
        values, normalised, used, error = preview_scores(raw, score_col, scale)
        self.preview_model.set_normalised(normalised)
        self.histogram.set_values(normalised)
        self.scale_combo.setEnabled(score_col is not None)
        if score_col is None:
            self.scale_info.setText(f"No score column: all {len(raw):,} pairs arrive unlabeled.")
        else:
            labeled = int(np.isfinite(values).sum())
            finite = values[np.isfinite(values)]
            rng = f"raw scores {finite.min():g} – {finite.max():g}" if finite.size else "no scores"
            detected = f"detected {used}" if scale == "auto" else f"scale {used}"
            self.scale_info.setText(f"{labeled:,} labeled, {len(raw) - labeled:,} unlabeled · {rng} · "
                                    f"{detected}, mapped to 0–1.")
        self.preview_warning.setText(error)
        self.preview_warning.setVisible(bool(error))

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
        r = prepared.report
        v = self.summary_values
        v["source"].setText(prepared.raw.display_name or r.source)
        v["rows"].setText(f"{r.rows:,}")
        v["imported"].setText(f"<b>{r.imported:,}</b>")
        v["labeled"].setText(f"{r.labeled:,} labeled · {r.unlabeled:,} unlabeled")
        dup = f"{r.duplicates:,}"
        if r.duplicates:
            dup += (f" ({r.duplicates_in_file:,} repeated in the file, {r.duplicates_in_project:,} "
                    f"already in the project; {r.conflicting_duplicates:,} with a different score)")
        v["duplicates"].setText(dup)
        if r.leakage or r.leakage_sentences:
            v["leakage"].setText(f"<span style='color:{style.WARNING}'>{r.leakage:,} pairs and "
                                 f"{r.leakage_sentences:,} sentences appear in both train and dev/test"
                                 "</span>")
        else:
            v["leakage"].setText("none: no pair or sentence is in both train and dev/test")
        v["splits"].setText(", ".join(f"{k} {n:,}" for k, n in sorted(r.splits.items())) or "–")
        v["scale"].setText(f"{r.scale} → 0–1" if r.labeled else "– (no scores)")
        self.summary_warnings.setText("\n".join(f"⚠ {w}" for w in r.warnings))
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
            f"unlabeled) in {report.seconds:.1f} s.")
        self._update_buttons()
        self.ctx.pairsChanged.emit()
        self.ctx.statusMessage.emit(f"Imported {report.imported:,} pairs.")
        self.imported.emit(report)

    # -- source choosers -------------------------------------------------------------

    @Slot()
    def _on_browse_file(self) -> None:
        start = settings.get(settings.LAST_IMPORT_DIR) or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Import sentence pairs", start, FILE_FILTER)
        if path:
            self.file_edit.setText(path)
            self.file_radio.setChecked(True)

    @Slot()
    def _on_browse_folder(self) -> None:
        start = settings.get(settings.LAST_IMPORT_DIR) or str(Path.home())
        path = QFileDialog.getExistingDirectory(self, "A dataset folder", start)
        if path:
            self.hf_id_edit.setText(path)
            self.hf_radio.setChecked(True)

    @Slot(str)
    def _on_hf_edited(self, text: str) -> None:
        if text:
            self.hf_radio.setChecked(True)

    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        if self._busy == "commit":
            event.ignore()
            if self.worker is not None:
                self.worker.cancel()
            return
        if self.worker is not None:
            self.worker.cancel()
        super().closeEvent(event)

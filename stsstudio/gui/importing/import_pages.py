"""The import wizard's pages: source, columns and scale, summary, import.

Each page is a widget that shows what core computed; the wizard (``import_wizard.py``) runs
the steps. The columns page previews scores with ``importers.score_preview``, the very
function the import stores them with.
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
    QTableView,
    QVBoxLayout,
    QWidget,
)

from stsstudio.core.formats import dialog_filter, file_name, formats_for, header_optional
from stsstudio.core.importers import (
    DEFAULT_SPLIT,
    ImportReport,
    RawTable,
    annotator_names,
    default_dev_fraction,
    raters_note,
)
from stsstudio.core.scales import SCALE_LABELS, ScoredColumn
from stsstudio.core.store import DEV_FRACTION
from stsstudio.gui.common import style
from stsstudio.gui.shell import settings

PREVIEW_ROWS = 50
FILE_FILTER = dialog_filter("pairs", "Sentence pairs")
SPLIT_LABELS = {"train": "Train", "dev": "Dev (validation)", "test": "Test", "none": "None (decide later)"}
SOURCE_WORDS = {"header": "from the column name", "data": "detected", "chosen": "chosen", "none": ""}


def _in_words(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _title_font(label: QLabel) -> None:
    font = label.font()
    font.setPointSizeF(font.pointSizeF() * 1.3)
    font.setBold(True)
    label.setFont(font)


# ----------------------------------------------------------------------------------------
# Preview table and histogram


class PreviewModel(QAbstractTableModel):
    """The first rows of a RawTable; the score column shows "raw → stored 0–1"."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._columns: list[str] = []
        self._cells: list[list[str]] = []
        self._rows: list[int] = []
        self._stored: np.ndarray = np.array([])
        self._score_col: int | None = None
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
        self._stored = np.full(len(self._cells), np.nan)
        self._score_col = None
        self.endResetModel()

    def set_roles(self, roles: dict[str, str]) -> None:
        """``{column: "Sentence 1", ...}``: shown in the header."""
        self._roles = roles
        if self._columns:
            self.headerDataChanged.emit(Qt.Horizontal, 0, len(self._columns) - 1)

    def set_scores(self, column: str | None, stored: np.ndarray) -> None:
        """The score column and the 0–1 value the import stores for each previewed row."""
        self._score_col = self._columns.index(column) if column in self._columns else None
        self._stored = np.asarray(stored[:len(self._cells)], dtype=float)
        if self._cells:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._cells) - 1, len(self._columns) - 1))

    def score_column(self) -> int | None:
        return self._score_col

    def stored(self, row: int) -> float:
        """The 0–1 score the import stores for preview row ``row`` (NaN: unlabeled)."""
        return float(self._stored[row]) if row < len(self._stored) else math.nan

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self._cells)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self._columns)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.DisplayRole) -> Any:
        if not index.isValid():
            return None
        r, c = index.row(), index.column()
        text = self._cells[r][c]
        if c == self._score_col:
            value = self.stored(r)
            if role in (Qt.DisplayRole, Qt.ToolTipRole):
                if not text:
                    return "– unlabeled" if role == Qt.ToolTipRole else ""
                return f"{text}  →  {value:.2f}" if not math.isnan(value) else f"{text}  →  ?"
            if role == Qt.ForegroundRole:
                return QColor(style.ACCENT_DARK)
            return None
        if role in (Qt.DisplayRole, Qt.ToolTipRole):
            return text
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.DisplayRole) -> Any:  # noqa: N802
        if role != Qt.DisplayRole:
            return None
        if orientation == Qt.Vertical:
            return str(self._rows[section]) if section < len(self._rows) else None
        name = self._columns[section]
        if section == self._score_col:
            return f"{name}  ·  Score → stored 0–1"
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
        self.setMinimumSize(260, 100)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.setFixedHeight(110)

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
            p.drawText(left, fm.ascent(), f"{peak:,} max per bin (stored 0–1)")
        p.end()


# ----------------------------------------------------------------------------------------
# Pages


class SourcePage(QWidget):
    """Step 1: a file, or a Hugging Face dataset id or folder."""

    submitted = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(14)
        intro = QLabel("Where are the sentence pairs? Each row needs two sentences; a similarity "
                       "score is optional (pairs without one are imported unlabeled).")
        intro.setWordWrap(True)
        col.addWidget(intro)
        self.file_radio = QRadioButton("A file: " + _in_words([f.label for f in formats_for("pairs")]))
        self.hf_radio = QRadioButton("A Hugging Face dataset: a dataset id, or a folder saved with datasets")
        group = QButtonGroup(self)
        group.addButton(self.file_radio)
        group.addButton(self.hf_radio)
        self.file_radio.setChecked(True)
        col.addWidget(self.file_radio)
        col.addWidget(self._file_box())
        col.addWidget(self.hf_radio)
        col.addWidget(self._hf_box())
        col.addStretch(1)
        drop = QLabel("Tip: you can also drop a file on the main window.")
        drop.setObjectName("hint")
        col.addWidget(drop)

    def _file_box(self) -> QGroupBox:
        box = QGroupBox()
        box.setFlat(True)
        row = QHBoxLayout(box)
        self.file_edit = QLineEdit()
        self.file_edit.setPlaceholderText("/path/to/" + file_name("pairs", "csv"))
        self.file_edit.setClearButtonEnabled(True)
        self.file_edit.returnPressed.connect(self.submitted)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._on_browse_file)
        row.addWidget(self.file_edit, 1)
        row.addWidget(browse)
        self.file_radio.toggled.connect(box.setEnabled)
        return box

    def _hf_box(self) -> QGroupBox:
        box = QGroupBox()
        box.setFlat(True)
        form = QFormLayout(box)
        form.setLabelAlignment(Qt.AlignRight | Qt.AlignVCenter)
        self.hf_id_edit = QLineEdit()
        self.hf_id_edit.setPlaceholderText("sentence-transformers/stsb  or  /path/to/saved_dataset")
        self.hf_id_edit.textEdited.connect(self._on_hf_edited)
        id_row = QHBoxLayout()
        id_row.addWidget(self.hf_id_edit, 1)
        browse = QPushButton("Folder…")
        browse.clicked.connect(self._on_browse_folder)
        id_row.addWidget(browse)
        self.hf_config_edit = QLineEdit()
        self.hf_config_edit.setPlaceholderText("default")
        self.hf_split_edit = QLineEdit()
        self.hf_split_edit.setPlaceholderText("train")
        form.addRow("Dataset:", id_row)
        form.addRow("Config:", self.hf_config_edit)
        form.addRow("Split:", self.hf_split_edit)
        hint = QLabel("The Hub is only reached when it is online; a local folder always works.")
        hint.setObjectName("hint")
        form.addRow("", hint)
        self.hf_radio.toggled.connect(box.setEnabled)
        box.setEnabled(False)
        return box

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


class ScaleBox(QGroupBox):
    """The scale menu (the detected scale shown in it), a histogram, and plain questions."""

    scaleChosen = Signal(str)        # an explicit scale, from a question's answer
    importUnlabeled = Signal()
    chooseAnotherColumn = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Score scale", parent)
        col = QVBoxLayout(self)
        row = QHBoxLayout()
        self.scale_combo = QComboBox()
        self.scale_combo.addItem("Detect", "auto")
        for key, label in SCALE_LABELS.items():
            self.scale_combo.addItem(label, key)
        row.addWidget(QLabel("Scale:"))
        row.addWidget(self.scale_combo, 1)
        col.addLayout(row)
        self.histogram = Histogram()
        col.addWidget(self.histogram)
        self.scale_info = QLabel()
        self.scale_info.setObjectName("hint")
        self.scale_info.setWordWrap(True)
        col.addWidget(self.scale_info)
        self.question_label = QLabel()
        self.question_label.setWordWrap(True)
        col.addWidget(self.question_label)
        self.answers = QHBoxLayout()
        col.addLayout(self.answers)
        self.answer_buttons: list[QPushButton] = []
        self.preview_warning = QLabel()
        self.preview_warning.setWordWrap(True)
        self.preview_warning.setStyleSheet(f"color: {style.WARNING};")
        self.preview_warning.setTextInteractionFlags(Qt.TextSelectableByMouse)
        col.addWidget(self.preview_warning)
        self.unlabeled_button = QPushButton("Import them as unlabeled")
        self.other_column_button = QPushButton("Choose another column")
        self.unlabeled_button.clicked.connect(self.importUnlabeled)
        self.other_column_button.clicked.connect(self.chooseAnotherColumn)
        ways = QHBoxLayout()
        ways.addWidget(self.unlabeled_button)
        ways.addWidget(self.other_column_button)
        ways.addStretch(1)
        col.addLayout(ways)
        self.show_scores(None, 0, "")

    def chosen(self) -> str:
        return self.scale_combo.currentData() or "auto"

    def reset(self) -> None:
        self.scale_combo.blockSignals(True)
        self.scale_combo.setCurrentIndex(0)
        self.scale_combo.setItemText(0, "Detect")
        self.scale_combo.blockSignals(False)

    def show_scores(self, scored: ScoredColumn | None, rows: int, error: str) -> None:
        """Show what the import will do with the score column (None: there is none)."""
        self.scale_combo.setEnabled(scored is not None)
        self._set_answers("", [])
        bad = scored is not None and bool(scored.parsed.bad.any())
        self.unlabeled_button.setVisible(bad)
        self.other_column_button.setVisible(bad)
        self.preview_warning.setText(error)
        self.preview_warning.setVisible(bool(error))
        if scored is None:
            self.histogram.set_values(np.array([]))
            self.scale_combo.setItemText(0, "Detect")
            self.scale_info.setText(f"No score column: all {rows:,} pairs arrive unlabeled.")
            return
        self.histogram.set_values(scored.scores)
        guess = scored.guess
        if self.chosen() == "auto":
            how = SOURCE_WORDS.get(guess.source, "")
            self.scale_combo.setItemText(0, f"{SCALE_LABELS[guess.scale]} ({how})" if how else "Detect")
        if bad:
            self.scale_info.setText(f"The score column has a problem: {scored.parsed.problem()}. "
                                    "Import the pairs unlabeled, or choose the column that holds "
                                    "the scores.")
            return
        numbers = scored.parsed.numbers
        labeled = int(numbers.size)
        rng = f"raw scores {numbers.min():g} – {numbers.max():g}" if labeled else "no scores"
        used = f"scale {guess.scale}" + (f" ({SOURCE_WORDS[guess.source]})" if guess.source != "none" else "")
        self.scale_info.setText(f"{labeled:,} labeled, {rows - labeled:,} unlabeled · {rng} · {used}, "
                                "stored as 0–1 (shown after → in the table).")
        if self.chosen() == "auto" and labeled and (guess.question or guess.refused):
            text = f"<b>{guess.question}</b>" if guess.question else ""
            if guess.note:
                text += f" <span style='color:{style.MUTED}'>({guess.note}.)</span>"
            self._set_answers(text, guess.choices)

    def _set_answers(self, text: str, choices: list[tuple[str, str]]) -> None:
        self.question_label.setText(text)
        self.question_label.setVisible(bool(text))
        for button in self.answer_buttons:
            self.answers.removeWidget(button)
            button.deleteLater()
        self.answer_buttons = []
        for answer, scale in choices:
            button = QPushButton(answer)
            button.setProperty("scale", scale)
            button.clicked.connect(self._on_answer)
            self.answers.addWidget(button)
            self.answer_buttons.append(button)

    @Slot()
    def _on_answer(self) -> None:
        scale = self.sender().property("scale")
        self.scale_combo.setCurrentIndex(self.scale_combo.findData(scale))
        self.scaleChosen.emit(scale)


class ColumnsPage(QWidget):
    """Step 2: the preview table, the column mapping and the score scale."""

    mappingChanged = Signal()
    headerToggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(10)
        self.source_info = QLabel()
        self.source_info.setObjectName("hint")
        self.source_info.setWordWrap(True)
        self.source_info.setTextFormat(Qt.RichText)
        col.addWidget(self.source_info)
        self.preview_model = PreviewModel(self)
        self.preview = _preview_table(self.preview_model)
        col.addWidget(self.preview, 1)
        controls = QHBoxLayout()
        controls.setSpacing(18)
        controls.addWidget(self._mapping_box(), 1)
        self.scale_box = ScaleBox()
        self.scale_box.scale_combo.currentIndexChanged.connect(self.mappingChanged)
        self.scale_box.importUnlabeled.connect(self._on_import_unlabeled)
        self.scale_box.chooseAnotherColumn.connect(self._on_choose_another_column)
        controls.addWidget(self.scale_box, 1)
        col.addLayout(controls)

    def _mapping_box(self) -> QGroupBox:
        mapping = QGroupBox("Columns")
        grid = QGridLayout(mapping)
        grid.setHorizontalSpacing(10)
        self.s1_combo, self.s2_combo, self.score_combo, self.split_col_combo, self.rater_combo = (
            QComboBox(), QComboBox(), QComboBox(), QComboBox(), QComboBox())
        self.rater_combo.setToolTip("The column naming who gave each row's score: each rater's "
                                    "scores become their own labels, and Agreement compares them.")
        for combo in (self.s1_combo, self.s2_combo, self.score_combo, self.split_col_combo,
                      self.rater_combo):
            combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(14)
            combo.currentIndexChanged.connect(self.mappingChanged)
        self.header_check = QCheckBox("First row is a header")
        self.header_check.toggled.connect(self.headerToggled)
        self.split_combo = QComboBox()
        for key, label in SPLIT_LABELS.items():
            self.split_combo.addItem(label, key)
        self.split_combo.setCurrentIndex(list(SPLIT_LABELS).index(DEFAULT_SPLIT))
        self.split_combo.currentIndexChanged.connect(self.mappingChanged)
        self.split_label = QLabel("Split of every pair:")
        # Without a split column nothing would be held out for evaluation: offer it (issue 11).
        self.dev_check = QCheckBox(f"Hold out {DEV_FRACTION:.0%} of the labeled pairs as dev (seeded)")
        self.dev_check.setToolTip("Try and Train compare models on these pairs; a split column in "
                                  "the file takes precedence.")
        self.dev_check.toggled.connect(self.mappingChanged)
        self.raters_label = QLabel()
        self.raters_label.setObjectName("hint")
        self.raters_label.setWordWrap(True)
        self.raters_label.setToolTip("Each rater's scores become their own labels; a pair's target is "
                                     "their mean (or median), and Agreement compares the raters.")
        rows = [("Sentence 1:", self.s1_combo), ("Sentence 2:", self.s2_combo),
                ("Score:", self.score_combo), ("Rater column:", self.rater_combo),
                ("", self.raters_label), ("Split column:", self.split_col_combo)]
        for r, (text, widget) in enumerate(rows):
            grid.addWidget(QLabel(text), r, 0, Qt.AlignRight)
            grid.addWidget(widget, r, 1)
        grid.addWidget(self.split_label, 6, 0, Qt.AlignRight)
        grid.addWidget(self.split_combo, 6, 1)
        grid.addWidget(self.dev_check, 7, 1)
        grid.addWidget(self.header_check, 8, 1)
        grid.setColumnStretch(1, 1)
        return mapping

    def fill(self, raw: RawTable) -> None:
        """Show a freshly read table with the guessed columns (signals held back)."""
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
        self.source_info.setText(info)
        self.preview_model.set_table(raw)
        combos = (self.s1_combo, self.s2_combo, self.score_combo, self.split_col_combo, self.rater_combo)
        for combo in combos:
            combo.blockSignals(True)
            combo.clear()
        for combo in (self.s1_combo, self.s2_combo):
            combo.addItem("(choose a column)", None)
        self.score_combo.addItem("none – unlabeled", "")
        self.split_col_combo.addItem("none", "")
        self.rater_combo.addItem("none – the file's labels", "")
        for name in raw.columns:
            for combo in combos:
                combo.addItem(name, name)
        guess = raw.guess
        for combo, value in ((self.s1_combo, guess.sentence1), (self.s2_combo, guess.sentence2),
                             (self.score_combo, guess.score), (self.split_col_combo, guess.split_column),
                             (self.rater_combo, guess.annotator_column)):
            combo.setCurrentIndex(max(combo.findData(value) if value is not None else 0, 0))
            combo.blockSignals(False)
        self.dev_check.blockSignals(True)
        # On by default without splits: the import's own default (core), as the CLI has it.
        self.dev_check.setChecked(default_dev_fraction(guess.split_column, DEFAULT_SPLIT) > 0)
        self.dev_check.blockSignals(False)
        self.header_check.blockSignals(True)
        self.header_check.setChecked(raw.has_header)
        self.header_check.setEnabled(header_optional(raw.format))
        self.header_check.blockSignals(False)
        self.scale_box.reset()

    def fit_columns(self) -> None:
        """Size the preview's columns so the score column (raw → stored) is in view."""
        self.preview.resizeColumnsToContents()
        header = self.preview.horizontalHeader()
        score_col = self.preview_model.score_column()
        for c in range(self.preview_model.columnCount()):
            cap = 240 if c != score_col else 360
            header.resizeSection(c, min(max(header.sectionSize(c), 80), cap))
        self.reveal_scores()

    def reveal_scores(self) -> None:
        score_col = self.preview_model.score_column()
        if score_col is not None and self.preview_model.rowCount():
            self.preview.scrollTo(self.preview_model.index(0, score_col), QAbstractItemView.EnsureVisible)

    def show_raters(self, raw: RawTable) -> None:
        """The preview note under the rater column: "2 raters: rater_a, rater_b"."""
        column = self.rater_combo.currentData() or None
        self.raters_label.setVisible(column is not None)
        if column is not None:
            self.raters_label.setText(raters_note(annotator_names(raw, column)))

    def roles(self) -> dict[str, str]:
        roles: dict[str, str] = {}
        for combo, tag in ((self.s1_combo, "Sentence 1"), (self.s2_combo, "Sentence 2"),
                           (self.score_combo, "Score"), (self.split_col_combo, "Split"),
                           (self.rater_combo, "Rater")):
            if combo.currentData():
                roles.setdefault(combo.currentData(), tag)
        return roles

    @Slot()
    def _on_import_unlabeled(self) -> None:
        self.score_combo.setCurrentIndex(self.score_combo.findData(""))

    @Slot()
    def _on_choose_another_column(self) -> None:
        self.score_combo.setFocus()
        self.score_combo.showPopup()


def _preview_table(model: PreviewModel) -> QTableView:
    table = QTableView()
    table.setModel(model)
    table.setSelectionMode(QAbstractItemView.NoSelection)
    table.setFocusPolicy(Qt.NoFocus)
    table.setEditTriggers(QAbstractItemView.NoEditTriggers)
    table.setWordWrap(False)
    table.setAlternatingRowColors(True)
    table.setHorizontalScrollMode(QAbstractItemView.ScrollPerPixel)
    table.verticalHeader().setDefaultSectionSize(24)
    table.horizontalHeader().setDefaultSectionSize(200)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.Interactive)
    table.horizontalHeader().setDefaultAlignment(Qt.AlignLeft | Qt.AlignVCenter)
    return table


class SummaryPage(QWidget):
    """Step 3: what the import will write, before anything is written."""

    FIELDS = (("source", "Source"), ("rows", "Rows read"), ("imported", "Pairs to import"),
              ("labeled", "Labeled / unlabeled"), ("duplicates", "Duplicates dropped"),
              ("raters", "Raters"), ("leakage", "Leakage"), ("splits", "Splits"),
              ("scale", "Score scale"))

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(12)
        title = QLabel("Ready to import")
        _title_font(title)
        col.addWidget(title)
        card = QFrame()
        card.setObjectName("card")
        form = QFormLayout(card)
        form.setContentsMargins(18, 14, 18, 14)
        form.setHorizontalSpacing(24)
        form.setVerticalSpacing(8)
        self.values: dict[str, QLabel] = {}
        for key, label in self.FIELDS:
            value = QLabel()
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextSelectableByMouse)
            self.values[key] = value
            form.addRow(f"{label}:", value)
        col.addWidget(card)
        self.warnings = QLabel()
        self.warnings.setWordWrap(True)
        self.warnings.setStyleSheet(f"color: {style.WARNING};")
        col.addWidget(self.warnings)
        note = QLabel("The import is one step: all pairs are written, or none.")
        note.setObjectName("hint")
        col.addWidget(note)
        col.addStretch(1)

    def show_report(self, r: ImportReport, display_name: str) -> None:
        v = self.values
        v["source"].setText(display_name or r.source)
        v["rows"].setText(f"{r.rows:,}")
        v["imported"].setText(f"<b>{r.imported:,}</b>")
        v["labeled"].setText(f"{r.labeled:,} labeled · {r.unlabeled:,} unlabeled")
        dup = f"{r.duplicates:,}"
        if r.duplicates:
            dup += (f" ({r.duplicates_in_file:,} repeated in the file, {r.duplicates_in_project:,} "
                    f"already in the project; {r.conflicting_duplicates:,} with a different score)")
        v["duplicates"].setText(dup)
        raters = "– (no rater column)"
        if r.columns.get("annotator"):
            raters = f"{raters_note(r.annotators)}; {r.labels:,} labels"
            if r.labels_on_existing:
                raters += f", and {r.labels_on_existing:,} on pairs already in the project"
        v["raters"].setText(raters)
        if r.leakage or r.leakage_sentences:
            # Only a pair in both sides inflates a score: shared sentences alone are plain text.
            text = (f"{r.leakage:,} pairs and {r.leakage_sentences:,} sentences appear in both train "
                    "and dev/test")
            v["leakage"].setText(style.span("warning", text) if r.leakage else text)
        else:
            v["leakage"].setText("none: no pair or sentence is in both train and dev/test")
        splits = ", ".join(f"{k} {n:,}" for k, n in sorted(r.splits.items())) or "–"
        if r.held_out:
            splits += f" ({r.held_out:,} labeled pairs held out as dev, seeded)"
        if r.metadata_columns:
            splits += "<br>Kept with each pair: " + ", ".join(r.metadata_columns)
        v["splits"].setText(splits)
        scale = f"{r.scale} ({SOURCE_WORDS.get(r.scale_source, '')}) → stored as 0–1"
        if r.scale_ambiguous:
            scale += f"<br><span style='color:{style.WARNING}'>A guess: {r.scale_note}.</span>"
        v["scale"].setText(scale if r.labeled else "– (no scores)")
        self.warnings.setText("\n".join(f"⚠ {w}" for w in r.warnings))


class ImportPage(QWidget):
    """Step 4: the progress of the write, and its result."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 40, 0, 0)
        col.setSpacing(14)
        self.title = QLabel("Importing…")
        _title_font(self.title)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.result = QLabel()
        self.result.setWordWrap(True)
        col.addWidget(self.title)
        col.addWidget(self.progress)
        col.addWidget(self.result)
        col.addStretch(1)

"""The Export view's "Compare variants" table: every export format (and Matryoshka size) of a
run, measured on the project's data in a worker before anything is written.

Rows come from core's format registry. Before a comparison they show only availability: a
format whose extra is missing is greyed out with the pip line. After one, each row shows dev
Spearman, its change against the torch model with the 95 % interval, sentences/s and size.
Picking an available row emits :attr:`VariantTable.variantChosen`; the view exports that one.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from stsstudio.core.export_formats import EXPORT_FORMATS, CompareResult, VariantRow, format_size
from stsstudio.gui.common import style
from stsstudio.gui.common.workers import JobRunner

COLUMNS = ("Variant", "Dims", "Spearman", "vs torch (95 %)", "Worst cos.", "Sent./s", "Size")
HEADER_TIPS = ("The export format", "Embedding size (smaller sizes from a Matryoshka run)",
               "Dev Spearman of this variant on the project's dev pairs",
               "Change in dev Spearman against the torch model at full size, with the 95 % "
               "interval of a paired bootstrap over the same dev pairs",
               "Encode throughput on this machine's CPU, over the project's own sentences",
               "Size of the exported folder on disk")


def compare_job(project: Any, run_id: int, task: Any = None) -> CompareResult:
    from stsstudio.core.export_compare import compare_exports

    return compare_exports(project, run_id, task=task)


class VariantTable(QWidget):
    """Compare button, status line and the table of variants."""

    variantChosen = Signal(str, int)     # format name, dims (0: full size)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project: Any = None
        self.run_id: int | None = None
        self.result: CompareResult | None = None
        self.last_error = ""
        self._rows: list[VariantRow | None] = []   # per table row: the measured row, if any
        self._names: list[tuple[str, int]] = []    # per table row: (format, dims; 0 = full)
        self._runner = JobRunner(self, serial=True)
        self._runner.progressed.connect(self._on_progress)
        self._runner.statusChanged.connect(self._on_status)
        self._runner.finished.connect(self._on_compared)
        self._runner.failed.connect(self._on_failed)
        self._runner.cancelled.connect(self._on_cancelled)
        self._runner.busyChanged.connect(self._on_busy)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        self.compare_button = QPushButton("Compare variants")
        self.compare_button.setToolTip("Write each variant to a temporary folder and measure it on "
                                       "this project's dev pairs and sentences. Nothing is exported.")
        self.compare_button.clicked.connect(self._on_compare_clicked)
        self.status = QLabel("Measure each format on your data before you write one.")
        self.status.setStyleSheet(style.text_color("hint"))
        self.status.setWordWrap(True)
        top.addWidget(self.compare_button)
        top.addWidget(self.status, 1)
        layout.addLayout(top)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setWordWrap(False)
        for col, tip in enumerate(HEADER_TIPS):
            self.table.horizontalHeaderItem(col).setToolTip(tip)
        header = self.table.horizontalHeader()
        # A handful of rows: sizing to the contents is cheap here.
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.setMinimumHeight(120)
        self.table.itemSelectionChanged.connect(self._on_selection)
        layout.addWidget(self.table, 1)
        self.install_hint = QLabel()
        self.install_hint.setStyleSheet(style.text_color("hint"))
        self.install_hint.setWordWrap(True)
        self.install_hint.setTextInteractionFlags(Qt.TextSelectableByMouse)
        layout.addWidget(self.install_hint)
        self.show_registry()

    # ------------------------------------------------------------------------------------

    def set_run(self, project: Any, run_id: int | None) -> None:
        """A new run (or project): forget the old figures, show the formats again."""
        if project is self.project and run_id == self.run_id:
            return
        self._runner.cancel(quiet=True)
        self.project, self.run_id = project, run_id
        self.result = None
        self.status.setText("Measure each format on your data before you write one.")
        self.show_registry()

    def is_running(self) -> bool:
        return self._runner.is_running()

    def cancel(self) -> None:
        self._runner.cancel(quiet=True)

    def show_registry(self) -> None:
        """Rows for the registry's formats at full size; unavailable ones greyed with the pip line."""
        self._fill([(fmt.name, 0, None, fmt.unavailable_reason(deep=False))
                    for fmt in EXPORT_FORMATS.values()])
        self.compare_button.setEnabled(self.run_id is not None)

    def _fill(self, entries: list[tuple[str, int, VariantRow | None, str | None]]) -> None:
        self.table.blockSignals(True)
        self.table.clearSelection()
        self.table.setRowCount(len(entries))
        self._rows, self._names = [], []
        hints: dict[str, list[str]] = {}   # the reason without the label -> labels
        for r, (name, dims, row, reason) in enumerate(entries):
            fmt = EXPORT_FORMATS[name]
            self._rows.append(row)
            self._names.append((name, dims))
            if row is None or not row.available:
                cells = [fmt.label, "–", "needs extra" if reason else "–", "", "", "", ""]
            else:
                ci = row.delta_ci or (float("nan"), float("nan"))
                change = "reference" if name == "torch" and row.dims == row.full_dims else \
                    f"{row.delta:+.4f} ({ci[0]:+.3f}, {ci[1]:+.3f})"
                worst = "–" if row.worst_cosine is None else f"{row.worst_cosine:.4f}"
                cells = [fmt.label, str(row.dims), f"{row.spearman:.4f}", change, worst,
                         f"{row.sentences_per_s:,.0f}", format_size(row.size_bytes)]
            tip = reason or f"{fmt.help}\n{fmt.load_hint('path/to/model', dims or None)}"
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(tip)
                if c > 0:
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                if reason:
                    item.setFlags(item.flags() & ~(Qt.ItemIsSelectable | Qt.ItemIsEnabled))
                    item.setForeground(QBrush(style.qcolor("faint")))
                self.table.setItem(r, c, item)
            if reason and fmt.label not in hints.get(reason.removeprefix(fmt.label), []):
                hints.setdefault(reason.removeprefix(fmt.label), []).append(fmt.label)
        self.table.blockSignals(False)
        self.install_hint.setText("<br>".join(
            html.escape(" and ".join(labels) + (rest.replace(" needs ", " need ", 1) if len(labels) > 1
                                                else rest), quote=False)
            for rest, labels in hints.items()))
        self.install_hint.setVisible(bool(hints))

    def select(self, name: str, dims: int = 0) -> bool:
        """Select the row of a variant (dims 0: full size); False when it is not selectable."""
        for r, key in enumerate(self._names):
            row = self._rows[r]
            full = row.full_dims if row is not None else 0
            if key[0] == name and (key[1] == dims or (dims == 0 and key[1] == full)):
                item = self.table.item(r, 0)
                if item is None or not item.flags() & Qt.ItemIsEnabled:
                    return False
                self.table.selectRow(r)
                return True
        return False

    def chosen(self) -> tuple[str, int, VariantRow | None] | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        r = rows[0].row()
        name, dims = self._names[r]
        row = self._rows[r]
        if row is not None and row.dims == row.full_dims:
            dims = 0
        return name, dims, row

    def prepare_for_screenshot(self) -> None:
        """Fill the table synchronously (the screenshot renders once and exits)."""
        if self.project is None or self.run_id is None:
            return
        try:
            self._on_compared(compare_job(self.project, self.run_id))
        except Exception as exc:  # noqa: BLE001 - the screenshot shows the message instead
            self.status.setText(str(exc))

    # ------------------------------------------------------------------------------------

    @Slot()
    def _on_compare_clicked(self) -> None:
        if self._runner.is_running():
            self._runner.cancel()
            return
        self.start_compare()

    def start_compare(self) -> None:
        if self.project is None or self.run_id is None:
            return
        self.last_error = ""
        self.status.setText("Writing and measuring each variant…")
        self._runner.start(compare_job, self.project, self.run_id)

    @Slot(bool)
    def _on_busy(self, busy: bool) -> None:
        self.compare_button.setText("Cancel comparison" if busy else "Compare variants")

    @Slot(int, int)
    def _on_progress(self, done: int, total: int) -> None:
        pass  # the status line names the variant being measured

    @Slot(str)
    def _on_status(self, text: str) -> None:
        self.status.setText(text)

    @Slot(object)
    def _on_compared(self, result: CompareResult) -> None:
        self.result = result
        self._fill([(r.format, r.dims, r, None if r.available else r.reason) for r in result.rows])
        self.status.setText(f"{result.dev_pairs:,} dev pairs; speed over {result.throughput_sentences:,} "
                            "of your sentences on this CPU. Pick a row to export it.")
        self.select("torch")

    @Slot(str, str)
    def _on_failed(self, message: str, _details: str) -> None:
        self.last_error = message
        self.status.setText(style.span("danger", html.escape(message)))

    @Slot()
    def _on_cancelled(self) -> None:
        self.status.setText("Comparison cancelled.")

    @Slot()
    def _on_selection(self) -> None:
        chosen = self.chosen()
        if chosen is not None:
            self.variantChosen.emit(chosen[0], chosen[1])

"""The Try view's "Search the project" box: a query, each model's nearest sentences, their pairs.

The view runs the search job; this box shows the hits, lists the pairs of the hit clicked, and
opens a pair in the Label view on a double-click.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from stsstudio.core.scales import format_score
from stsstudio.gui.common import style
from stsstudio.gui.common.context import ProjectContext
from stsstudio.gui.common.widgets import project_scale
from stsstudio.gui.trying.try_tables import result_table, table_item, two_line_rows, two_lines

HIT_PAIRS_HINT = "Click a hit to list its pairs; double-click a pair to label it."


class SearchBox(QGroupBox):
    """Search the project's sentences with the base model and the selected run."""

    searchRequested = Signal()   # Enter in the query, or the Search button

    def __init__(self, ctx: ProjectContext, parent: QWidget | None = None) -> None:
        super().__init__("Search the project", parent)
        self.ctx = ctx
        layout = QVBoxLayout(self)
        layout.addLayout(self._build_query_row())
        results = QHBoxLayout()
        self.base_hits = result_table(["Cosine", "Base model"])
        self.run_hits = result_table(["Cosine", "Selected run"])
        for table in (self.base_hits, self.run_hits):
            table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Fixed)
            table.setColumnWidth(0, 54)
            table.horizontalHeader().setSectionResizeMode(1, QHeaderView.Stretch)
            table.itemSelectionChanged.connect(self._on_hit_selected)
            results.addWidget(table)
        layout.addLayout(results, 2)
        self.hit_pairs_label = QLabel(HIT_PAIRS_HINT)
        self.hit_pairs_label.setStyleSheet(style.text_color("hint"))
        self.hit_pairs_label.setWordWrap(True)
        layout.addWidget(self.hit_pairs_label)
        self.hit_pairs = result_table(["Pair", "Sentences", "Gold", "Split"])
        two_line_rows(self.hit_pairs)
        header = self.hit_pairs.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.Interactive)
        header.setSectionResizeMode(1, QHeaderView.Stretch)
        for col, width in ((0, 50), (2, 50), (3, 50)):
            self.hit_pairs.setColumnWidth(col, width)
        self.hit_pairs.itemDoubleClicked.connect(self._on_pair_double_clicked)
        layout.addWidget(self.hit_pairs, 1)

    def _build_query_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.query = QLineEdit()
        self.query.setPlaceholderText("Type a sentence and press Enter…")
        self.query.setClearButtonEnabled(True)
        self.query.returnPressed.connect(self.searchRequested)
        self.top_k = QSpinBox(minimum=1, maximum=100, value=5)
        self.top_k.setPrefix("top ")
        self.search_button = QPushButton("Search")
        self.search_button.clicked.connect(self.searchRequested)
        row.addWidget(self.query, 1)
        row.addWidget(self.top_k)
        row.addWidget(self.search_button)
        return row

    def query_text(self) -> str:
        return self.query.text().strip()

    def set_query(self, text: str) -> None:
        self.query.setText(text)
        self.query.setCursorPosition(0)

    def set_run_title(self, name: str, has_run: bool) -> None:
        self.run_hits.setHorizontalHeaderLabels(["Cosine", name])
        self.run_hits.setVisible(has_run)   # no run: the base model's hits get the width

    # -- hits ------------------------------------------------------------------------

    def show_hits(self, result: dict[str, Any]) -> None:
        for key, table in (("base", self.base_hits), ("run", self.run_hits)):
            hits = result.get(key, [])
            table.setRowCount(len(hits))
            for row, (sentence, score, pair_ids) in enumerate(hits):
                table.setItem(row, 0, table_item(f"{score:.3f}", pair_ids, right=True))
                table.setItem(row, 1, table_item(sentence, pair_ids))
        self.hit_pairs.setRowCount(0)
        self.hit_pairs_label.setText(HIT_PAIRS_HINT)

    def select_first_hit(self) -> None:
        """The selected run's best hit (the base model's without a run): its pairs are listed."""
        if self.base_hits.rowCount():
            self.run_hits.selectRow(0) if self.run_hits.rowCount() else self.base_hits.selectRow(0)

    def show_error(self, message: str) -> None:
        self.hit_pairs_label.setText(style.span("danger", html.escape(message)))

    def clear_run(self) -> None:
        self.run_hits.setRowCount(0)

    def clear(self) -> None:
        for table in (self.base_hits, self.run_hits, self.hit_pairs):
            table.setRowCount(0)

    # -- the pairs of a hit ----------------------------------------------------------

    @Slot()
    def _on_hit_selected(self) -> None:
        table = self.sender()
        if not isinstance(table, QTableWidget):
            return
        items = table.selectedItems()
        if not items or self.ctx.project is None:
            return
        pair_ids = items[0].data(Qt.UserRole) or []
        self.show_hit_pairs(list(pair_ids), table.item(items[0].row(), 1).text())

    def show_hit_pairs(self, pair_ids: list[int], sentence: str = "") -> None:
        project = self.ctx.project
        if project is None:
            return
        pairs = project.pairs.by_ids(pair_ids)
        rows = [pairs[i] for i in pair_ids if i in pairs]
        scale = project_scale(project)
        short = sentence if len(sentence) <= 40 else sentence[:39] + "…"
        self.hit_pairs_label.setText(f"{len(rows)} pair(s) with “{html.escape(short)}”; "
                                     "double-click to label it.")
        self.hit_pairs.setRowCount(len(rows))
        for row, pair in enumerate(rows):
            gold = format_score(pair.score, scale)
            for col, (text, right) in enumerate(((str(pair.id), True),
                                                 (two_lines(pair.sentence1, pair.sentence2), False),
                                                 (gold, True), (pair.split, False))):
                self.hit_pairs.setItem(row, col, table_item(text, pair.id, right=right))

    @Slot(QTableWidgetItem)
    def _on_pair_double_clicked(self, item: QTableWidgetItem) -> None:
        pair_id = item.data(Qt.UserRole)
        if pair_id is not None:
            self.ctx.openPairRequested.emit(int(pair_id))

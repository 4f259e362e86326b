"""The Try view's result tables: fixed rows, elided text, and the pair id in each item.

The search box and the gold-against-predicted box list hits and pairs the same way.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QTableWidget, QTableWidgetItem


def result_table(headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setDefaultSectionSize(22)
    table.setSelectionBehavior(QAbstractItemView.SelectRows)
    table.setSelectionMode(QAbstractItemView.SingleSelection)
    table.setEditTriggers(QAbstractItemView.NoEditTriggers)
    table.setWordWrap(False)
    table.setAlternatingRowColors(True)
    table.setTextElideMode(Qt.ElideRight)
    return table


def two_line_rows(table: QTableWidget) -> None:
    """Rows of two lines: a pair's sentences one above the other, each with the column's whole
    width (side by side, on a 1024-pixel screen, each kept only a few characters)."""
    table.verticalHeader().setDefaultSectionSize(2 * table.fontMetrics().lineSpacing() + 8)


def two_lines(sentence1: str, sentence2: str) -> str:
    return f"{sentence1}\n{sentence2}"


def table_item(text: str, data: Any = None, right: bool = False,
               tooltip: str | None = None) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    if data is not None:
        item.setData(Qt.UserRole, data)
    if right:
        item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
    item.setToolTip(tooltip if tooltip is not None else text)
    return item

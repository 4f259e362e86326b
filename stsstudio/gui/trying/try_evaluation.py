"""The Try view's "Gold against predicted" box: the scatter, the correlations and the pairs the
models get most wrong.

The view runs the evaluation and review jobs; this box shows their results. A click on a point or
a double-click on a row opens the pair in the Label view.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from stsstudio.core.scales import format_delta, format_score
from stsstudio.gui.common import style
from stsstudio.gui.common.context import ProjectContext
from stsstudio.gui.common.plots import PALETTE, GoldPredictedPlot
from stsstudio.gui.common.widgets import project_scale
from stsstudio.gui.trying.try_tables import result_table, table_item, two_line_rows, two_lines


def _delta_color(delta: float) -> QColor:
    return style.qcolor("danger" if abs(delta) >= 0.3 else "warning")


class EvaluationBox(QGroupBox):
    """Gold scores against each model's predictions on a split, and the largest disagreements."""

    evaluateRequested = Signal()   # the split changed, or "Evaluate again"

    def __init__(self, ctx: ProjectContext, parent: QWidget | None = None) -> None:
        super().__init__("Gold against predicted", parent)
        self.ctx = ctx
        self.review_rows: list[int] = []   # pair ids of the review queue the table shows
        layout = QVBoxLayout(self)
        layout.addLayout(self._build_split_row())
        self.spearman_label = QLabel()
        self.spearman_label.setTextFormat(Qt.RichText)
        self.spearman_label.setWordWrap(True)
        layout.addWidget(self.spearman_label)
        self.scatter = GoldPredictedPlot()
        self.scatter.pairClicked.connect(self._on_point_clicked)
        self.scatter.setMinimumHeight(220)
        layout.addWidget(self.scatter, 3)
        label = QLabel("Largest disagreements between the selected model and the labels "
                       "(click a point or double-click a row to relabel the pair):")
        label.setWordWrap(True)
        label.setStyleSheet(style.text_color("hint"))
        layout.addWidget(label)
        self.disagreements = result_table(["Pair", "Gold", "Pred.", "Δ", "Sentences"])
        two_line_rows(self.disagreements)
        header = self.disagreements.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.Interactive)
        header.setSectionResizeMode(4, QHeaderView.Stretch)
        for col, width in ((0, 44), (1, 48), (2, 48), (3, 52)):
            self.disagreements.setColumnWidth(col, width)
        self.disagreements.itemDoubleClicked.connect(self._on_pair_double_clicked)
        layout.addWidget(self.disagreements, 2)

    def _build_split_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(QLabel("Split"))
        self.split_combo = QComboBox()
        self.split_combo.addItem("dev", "dev")
        self.split_combo.addItem("test", "test")
        self.split_combo.currentIndexChanged.connect(self.evaluateRequested)
        row.addWidget(self.split_combo)
        row.addStretch(1)
        self.evaluate_button = QPushButton("Evaluate again")
        self.evaluate_button.clicked.connect(self.evaluateRequested)
        row.addWidget(self.evaluate_button)
        return row

    def split(self) -> str:
        return self.split_combo.currentData()

    # -- states ----------------------------------------------------------------------

    def show_evaluating(self, labeled: int, split: str) -> None:
        self.spearman_label.setText(style.span("hint", f"Evaluating on {labeled} {split} pairs…"))

    def show_nothing_to_evaluate(self, split: str) -> None:
        self.scatter.clear_series("base")
        self.scatter.clear_series("run")
        self.disagreements.setRowCount(0)
        self.spearman_label.setText(style.span("hint", f"No labeled {split} pairs to evaluate on."))

    def show_error(self, message: str) -> None:
        self.spearman_label.setText(style.span("danger", html.escape(message)))

    def clear_run(self) -> None:
        self.scatter.clear_series("run")

    def clear(self) -> None:
        self.disagreements.setRowCount(0)
        self.scatter.clear_series("base")
        self.scatter.clear_series("run")
        self.spearman_label.setText("")

    # -- results ---------------------------------------------------------------------

    def show_result(self, result: dict[str, Any], run_id: int | None) -> None:
        """The scatter job's result: each model's series and correlations, and its worst pairs."""
        parts = []
        self.scatter.set_scale(project_scale(self.ctx.project))
        for key, label, color in (("base", "base model", style.color("base_model")),
                                  ("run", f"run {run_id}", PALETTE[0])):
            data = result.get(key)
            if not data:
                self.scatter.clear_series(key)
                continue
            sp = data["spearman"]
            name = f"{label} (ρ {sp:.3f})"
            self.scatter.set_series(key, data["gold"], data["predicted"], data["pair_ids"], name)
            parts.append(f"<span style='color:{color}'>■</span> {label}: Spearman <b>{sp:.3f}</b>, "
                         f"Pearson {data['pearson']:.3f}")
        n = len(result.get("base", {}).get("gold", []))
        where = result.get("source") or f"the {result['split']} split"
        count = "&nbsp;&nbsp;" + style.span("hint", f"({n} pairs of {where})")
        note = result.get("leak_note") or ""
        # Pairs the run trained on are left out of the comparison; say so, in the warning colour.
        leak = "<br>" + style.span("warning", f"⚠ {html.escape(note)}") if note else ""
        self.spearman_label.setText("&nbsp;&nbsp;&nbsp;".join(parts) + count + leak)
        self.show_worst(result.get("worst") or [])

    def show_worst(self, rows: list[Any]) -> None:
        """The core's worst pairs of the split (``evaluation.worst_pairs``): label, guess and gap
        on the project's scale. A double-click opens the pair; a pair that is also in the
        "review disagreements" queue opens in that order, so Enter goes on through it."""
        scale = project_scale(self.ctx.project)
        self.disagreements.setRowCount(len(rows))
        for row, worst in enumerate(rows):
            delta = None if worst.guess is None or worst.gold is None else worst.guess - worst.gold
            cells = [(str(worst.pair_id), True), (format_score(worst.gold, scale), True),
                     (format_score(worst.guess, scale), True),
                     (format_delta(delta, scale, signed=True), True),
                     (two_lines(worst.sentence1, worst.sentence2), False)]
            for col, (text, right) in enumerate(cells):
                item = table_item(text, worst.pair_id, right=right)
                if col == 3:
                    item.setForeground(_delta_color(worst.gap))
                self.disagreements.setItem(row, col, item)

    def set_review_ids(self, pair_ids: list[int]) -> None:
        """The pairs of the "review disagreements" queue (double-click opens them in that order)."""
        self.review_rows = list(pair_ids)

    def forget_review(self) -> None:
        """No predictions yet: the table keeps the evaluation's list, opened in file order."""
        self.review_rows = []

    # -- opening a pair --------------------------------------------------------------

    @Slot(QTableWidgetItem)
    def _on_pair_double_clicked(self, item: QTableWidgetItem) -> None:
        pair_id = item.data(Qt.UserRole)
        if pair_id is None:
            return
        if int(pair_id) in self.review_rows:
            # The review queue, not file order: Enter in the Label view goes on through it.
            self.ctx.openPairInOrderRequested.emit(int(pair_id), "review")
        self.ctx.openPairRequested.emit(int(pair_id))

    @Slot(int)
    def _on_point_clicked(self, pair_id: int) -> None:
        self.ctx.openPairRequested.emit(pair_id)

"""The Agreement panel: how much the annotators agree, a scatter of two of them, the largest spreads.

Every figure comes from :mod:`stsstudio.core.agreement` (the same functions as
``stsstudio agreement``), computed in a worker: the bootstrap takes a moment on big projects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from stsstudio.core import agreement as ag
from stsstudio.core.scales import format_delta, format_score, scale_text
from stsstudio.core.store import Project
from stsstudio.gui.common import style
from stsstudio.gui.common.plots import PALETTE, scale_axes, style_plot
from stsstudio.gui.common.widgets import project_scale
from stsstudio.gui.common.workers import JobRunner

SPREAD_ROWS = 50
_SPLIT_CHOICES = (("All splits", None), ("train", "train"), ("dev", "dev"), ("test", "test"))


@dataclass
class AgreementData:
    """What the panel shows, computed off the GUI thread."""

    report: dict[str, Any]
    matrix: ag.LabelMatrix
    spreads: list[tuple[ag.Disagreement, str, str]]


def load_agreement(project: Project, split: str | None = None, n_boot: int = ag.DEFAULT_BOOTSTRAP,
                   seed: int = 0) -> AgreementData:
    """The panel's figures: the agreement report, the label matrix and the largest spreads."""
    report = ag.agreement_report(project, split, n_boot=n_boot, seed=seed)
    matrix = ag.label_matrix(project, split).multi()
    top = ag.disagreements(project, 0.0, split=split, include_adjudicated=True)[:SPREAD_ROWS]
    pairs = project.pairs.by_ids([d.pair_id for d in top])
    spreads = [(d, pairs[d.pair_id].sentence1, pairs[d.pair_id].sentence2) for d in top
               if d.pair_id in pairs]
    return AgreementData(report, matrix, spreads)


def _fmt(value: float | None, ci: list[float | None] | None = None) -> str:
    if value is None:
        return "–"
    text = f"{value:.3f}"
    if ci and ci[0] is not None:
        text += f"  [{ci[0]:.2f}, {ci[1]:.2f}]"
    return text


def _mad_title(scale: str | None) -> str:
    return f"Mean |A − B| (on {scale_text(scale)})"


class _Figure(QFrame):
    """One headline number with its caption."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        self.setStyleSheet(f"#card {{ background: {style.BASE}; border: 1px solid {style.BORDER}; "
                           "border-radius: 6px; }")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        self.caption = caption = QLabel(title)
        caption.setStyleSheet(f"color: {style.MUTED};")
        self.value = QLabel("–")
        self.value.setStyleSheet(f"font-size: {style.pt(15)}pt; font-weight: 600; color: {style.TEXT};")
        self.detail = QLabel()
        self.detail.setStyleSheet(f"color: {style.MUTED};")
        for w in (caption, self.value, self.detail):
            layout.addWidget(w)

    def set(self, value: str, detail: str = "") -> None:
        self.value.setText(value)
        self.detail.setText(detail)


class AgreementPanel(QWidget):
    """Figures, a scatter of annotator A against B, and the pairs with the largest spread."""

    targetChanged = Signal()  # mean/median switched: the pairs' scores changed

    def __init__(self, project: Project | None = None, parent: QWidget | None = None, *,
                 n_boot: int = ag.DEFAULT_BOOTSTRAP) -> None:
        super().__init__(parent)
        self.project = project
        self.n_boot = n_boot
        self.data: AgreementData | None = None
        self._runner = JobRunner(self)
        self._runner.finished.connect(self._on_loaded)
        self._runner.failed.connect(self._on_failed)

        self.state_label = QLabel()
        self.state_label.setStyleSheet(f"color: {style.MUTED};")
        layout = QVBoxLayout(self)
        layout.addLayout(self._build_top_row(project))
        layout.addLayout(self._build_figures())
        layout.addWidget(self.state_label)
        layout.addWidget(self._build_splitter(), 1)
        if project is not None:
            self.refresh()

    # -- construction ----------------------------------------------------------------

    def _build_top_row(self, project: Project | None) -> QHBoxLayout:
        """The title, the split to measure on and the target of pairs with several labels."""
        top = QHBoxLayout()
        title = QLabel("Agreement between annotators")
        title.setStyleSheet(f"font-size: {style.pt(13)}pt; font-weight: 600;")
        top.addWidget(title)
        top.addStretch(1)
        top.addWidget(QLabel("Split"))
        self.split_combo = QComboBox()
        for text, value in _SPLIT_CHOICES:
            self.split_combo.addItem(text, value)
        self.split_combo.currentIndexChanged.connect(self.refresh)
        top.addWidget(self.split_combo)
        top.addSpacing(12)
        top.addWidget(QLabel("Target"))
        self.target_combo = QComboBox()
        self.target_combo.addItem("Mean of labels", "mean")
        self.target_combo.addItem("Median of labels", "median")
        self.target_combo.setToolTip("What pairs with several annotators train on; an adjudicated "
                                     "value always wins")
        if project is not None:
            self.target_combo.setCurrentIndex(self.target_combo.findData(project.labels.aggregate))
            self.target_combo.setEnabled(not project.readonly)
        self.target_combo.currentIndexChanged.connect(self._on_target_changed)
        top.addWidget(self.target_combo)
        return top

    def _build_figures(self) -> QGridLayout:
        figures = QGridLayout()
        self.alpha_card = _Figure("Krippendorff's α (interval)")
        self.spearman_card = _Figure("Mean pairwise Spearman")
        self.mad_card = _Figure(_mad_title(project_scale(self.project)))
        self.pairs_card = _Figure("Pairs with 2+ labels")
        for i, card in enumerate((self.alpha_card, self.spearman_card, self.mad_card, self.pairs_card)):
            figures.addWidget(card, 0, i)
        return figures

    def _build_scatter_box(self) -> QWidget:
        """Two annotator pickers over the plot of A's labels against B's."""
        scatter_box = QWidget()
        scatter_layout = QVBoxLayout(scatter_box)
        scatter_layout.setContentsMargins(0, 0, 0, 0)
        pick = QHBoxLayout()
        self.a_combo = QComboBox()
        self.b_combo = QComboBox()
        pick.addWidget(QLabel("A"))
        pick.addWidget(self.a_combo, 1)
        pick.addWidget(QLabel("B"))
        pick.addWidget(self.b_combo, 1)
        self.a_combo.currentIndexChanged.connect(self._draw_scatter)
        self.b_combo.currentIndexChanged.connect(self._draw_scatter)
        scatter_layout.addLayout(pick)
        self.plot = pg.PlotWidget(background=style.BASE)
        self.plot.setMinimumHeight(200)
        item = self.plot.getPlotItem()
        style_plot(item, title="Annotator A against B", x_label="A", y_label="B")
        item.getViewBox().setMouseEnabled(x=False, y=False)
        item.setXRange(0, 1, padding=0.04)
        item.setYRange(0, 1, padding=0.04)
        self.plot.plot([0, 1], [0, 1], pen=pg.mkPen(style.color("plot_axis"), width=1, style=Qt.DashLine))
        self.scatter = pg.ScatterPlotItem(size=7, pen=pg.mkPen(None),
                                          brush=pg.mkBrush(QColorAlpha(PALETTE[0], 150)))
        self.plot.addItem(self.scatter)
        scatter_layout.addWidget(self.plot, 1)
        return scatter_box

    def _build_tables(self) -> QWidget:
        """Pairwise Spearman above the pairs with the largest spread."""
        self.pairwise_table = QTableWidget(0, 4)
        self.pairwise_table.setHorizontalHeaderLabels(["Annotator A", "Annotator B", "Spearman [95 %]",
                                                       "Pairs"])
        self._table_look(self.pairwise_table)
        self.pairwise_table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.spread_table = QTableWidget(0, 3)
        self.spread_table.setHorizontalHeaderLabels(["Spread", "Labels", "Pair"])
        self._table_look(self.spread_table)
        self.spread_table.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self._heading("Pairwise Spearman"))
        left_layout.addWidget(self.pairwise_table, 1)
        self.pairwise_table.setMaximumHeight(24 * 4 + 30)
        left_layout.addWidget(self._heading("Largest spread between annotators"))
        left_layout.addWidget(self.spread_table, 2)
        return left

    def _build_splitter(self) -> QSplitter:
        splitter = QSplitter(Qt.Horizontal)
        splitter.addWidget(self._build_tables())
        splitter.addWidget(self._build_scatter_box())
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([560, 440])
        return splitter

    @staticmethod
    def _heading(text: str) -> QLabel:
        label = QLabel(text)
        label.setStyleSheet("font-weight: 600; margin-top: 4px;")
        return label

    @staticmethod
    def _table_look(table: QTableWidget) -> None:
        table.verticalHeader().hide()
        table.verticalHeader().setDefaultSectionSize(24)
        table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectRows)
        table.setWordWrap(False)
        table.setTextElideMode(Qt.ElideRight)
        table.horizontalHeader().setStretchLastSection(True)

    # -- loading ---------------------------------------------------------------------

    def set_project(self, project: Project | None) -> None:
        self.project = project
        self.refresh()

    @Slot()
    def refresh(self) -> None:
        if self.project is None:
            return
        self.state_label.setText("Computing agreement and bootstrap intervals…")
        self._runner.start(load_agreement, self.project, self.split_combo.currentData(), self.n_boot)

    def is_busy(self) -> bool:
        return self._runner.is_running()

    @Slot()
    def _on_target_changed(self) -> None:
        how = self.target_combo.currentData()
        if self.project is None or self.project.readonly or how == self.project.labels.aggregate:
            return
        changed = self.project.labels.set_aggregate(how)
        self.targetChanged.emit()
        self.refresh()
        self.state_label.setText(f"Targets are now the {how} of the labels ({changed:,} pairs changed). "
                                 "Computing agreement…")

    @Slot(object)
    def _on_loaded(self, data: AgreementData) -> None:
        self.data = data
        report = data.report
        n_multi = report["pairs_with_multiple_labels"]
        annotators = report["annotators"]
        if n_multi == 0:
            self.state_label.setText("No pair has labels from two annotators yet. Merge a colleague's "
                                     "labels (Annotators ▸ Merge labels…) or double-label a share of the "
                                     "pairs (Annotators ▸ Double-label a share of pairs…).")
        else:
            self.state_label.setText(f"{len(annotators)} annotators: {', '.join(annotators)}. Intervals: "
                                     f"95 % bootstrap over pairs ({report['bootstrap']} resamples). "
                                     f"Target: {report.get('label_aggregate', 'mean')} of their labels.")
        self.alpha_card.set(_fmt(report["alpha"]), self._ci_text(report["alpha_ci"]))
        rhos = [p["spearman"] for p in report["pairwise_spearman"] if p["spearman"] is not None]
        self.spearman_card.set(_fmt(float(np.mean(rhos)) if rhos else None),
                               f"{len(rhos)} annotator pair{'s' if len(rhos) != 1 else ''}")
        self._show_mean_difference(report)
        self.pairs_card.set(f"{n_multi:,}", f"of {report['labeled_pairs']:,} labeled")

        rows = report["pairwise_spearman"]
        self.pairwise_table.setRowCount(len(rows))
        for r, p in enumerate(rows):
            for c, text in enumerate((p["a"], p["b"], _fmt(p["spearman"], p["ci"]), f"{p['pairs']:,}")):
                self.pairwise_table.setItem(r, c, QTableWidgetItem(text))

        self.spread_table.setRowCount(len(data.spreads))
        scale = project_scale(self.project)
        for r, (d, s1, s2) in enumerate(data.spreads):
            labels = ", ".join(f"{a} {format_score(v, scale)}" for a, v in sorted(d.labels.items()))
            if d.adjudicated is not None:
                labels += f" → {format_score(d.adjudicated, scale)}"
            for c, text in enumerate((format_delta(d.spread, scale), labels, f"{s1}  ⟷  {s2}")):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                item.setData(Qt.UserRole, d.pair_id)
                self.spread_table.setItem(r, c, item)
        self.spread_table.setColumnWidth(0, 56)
        self.spread_table.setColumnWidth(1, 220)

        names = data.matrix.annotators
        for combo, default in ((self.a_combo, 0), (self.b_combo, 1)):
            combo.blockSignals(True)
            current = combo.currentText()
            combo.clear()
            combo.addItems(names)
            if current in names:
                combo.setCurrentText(current)
            elif len(names) > default:
                combo.setCurrentIndex(default)
            combo.blockSignals(False)
        self._draw_scatter()

    def _show_mean_difference(self, report: dict[str, Any]) -> None:
        """Mean |A − B| in the project's own units: a difference scales by the span only."""
        scale = project_scale(self.project)

        def fmt(v: float | None) -> str:   # a mean is worth one more decimal than a label
            return format_delta(v, scale, more=1, empty="–")

        ci = report["mean_abs_diff_ci"]
        self.mad_card.caption.setText(_mad_title(scale))
        self.mad_card.set(fmt(report["mean_abs_diff"]),
                          "" if not ci or ci[0] is None else f"95 % interval {fmt(ci[0])} to {fmt(ci[1])}")
        scale_axes(self.plot.getPlotItem(), scale, "bottom", "left")

    @staticmethod
    def _ci_text(ci: list[float | None]) -> str:
        return "" if not ci or ci[0] is None else f"95 % interval {ci[0]:.3f} to {ci[1]:.3f}"

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        self.state_label.setText(f"Agreement could not be computed: {message}")

    @Slot()
    def _draw_scatter(self) -> None:
        if self.data is None:
            return
        m = self.data.matrix
        a, b = self.a_combo.currentText(), self.b_combo.currentText()
        item = self.plot.getPlotItem()
        if a not in m.annotators or b not in m.annotators or a == b:
            self.scatter.setData([], [])
            return
        x, y = m.values[m.annotators.index(a)], m.values[m.annotators.index(b)]
        both = ~np.isnan(x) & ~np.isnan(y)
        self.scatter.setData(x[both], y[both])
        pair = next((p for p in self.data.report["pairwise_spearman"]
                     if {p["a"], p["b"]} == {a, b}), None)
        rho = f"Spearman {pair['spearman']:.3f}, " if pair and pair["spearman"] is not None else ""
        ink, size = style.color("text_soft"), style.pt(10.5)
        item.setTitle(f"<span style='font-size:{size}pt; font-weight:600; color:{ink}'>"
                      f"{a} against {b}</span><span style='color:{ink}'>  "
                      f"({rho}{int(both.sum())} pairs)</span>")
        item.setLabel("bottom", a)
        item.setLabel("left", b)

    def shutdown(self) -> None:
        self._runner.cancel(quiet=True)


def QColorAlpha(hex_color: str, alpha: int):  # noqa: N802 - reads like the Qt constructor
    from PySide6.QtGui import QColor

    color = QColor(hex_color)
    color.setAlpha(alpha)
    return color


class AgreementDialog(QDialog):
    """The Agreement panel in its own window (Annotators ▸ Agreement…)."""

    def __init__(self, project: Project, parent: QWidget | None = None, *,
                 n_boot: int = ag.DEFAULT_BOOTSTRAP) -> None:
        super().__init__(parent)
        self.setWindowTitle("Agreement")
        self.resize(1024, 640)
        self.panel = AgreementPanel(project, self, n_boot=n_boot)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.panel, 1)
        layout.addWidget(buttons)

    def done(self, result: int) -> None:  # noqa: D401 - Qt override
        self.panel.shutdown()
        super().done(result)

"""The Train view's run history: the project's runs (newest first), the selected run's settings,
and Resume. Selecting runs emits ``selectionChanged``; the view shows their curves."""

from __future__ import annotations

import html
import json
import time
from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt, Signal, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QBoxLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from stsstudio.core.advice import run_state
from stsstudio.gui.common import style
from stsstudio.gui.common.plots import PALETTE
from stsstudio.gui.train.train_plots import fmt_corr, fmt_duration

NARROW_HISTORY = 640   # below this width the run details sit under the table
STATUS_ROLES = {"finished": "success", "running": "action", "cancelled": "caution",
                "failed": "danger", "interrupted": "danger"}


def status_color(status: str) -> str:
    return style.color(STATUS_ROLES.get(status, "text_soft"))


def describe_base_model(name: str | None) -> str:
    try:
        from stsstudio.core.models import describe_model

        return describe_model(name)
    except Exception:  # noqa: BLE001 - a label must never break the view
        return str(name or "default")


def _run_tooltip(run: Any) -> str:
    cfg = json.dumps(run.config, indent=1, sort_keys=True, default=str)
    return f"Run {run.id} — {run.status}\n{cfg}"


def details_html(runs: list[Any]) -> str:
    """The selected runs' settings and results (one run), or their legend (several)."""
    if not runs:
        return style.span("hint", "Select a run to see its settings. Select two to compare their curves.")
    if len(runs) > 1:
        rows = "".join(f"<li><span style='color:{PALETTE[i % len(PALETTE)]}'>■</span> run {r.id}: "
                       f"{html.escape(r.loss)}, best {fmt_corr(r.best_dev_spearman)}</li>"
                       for i, r in enumerate(runs))
        return f"<b>Comparing {len(runs)} runs</b><ul style='margin-left:-20px'>{rows}</ul>"
    run = runs[0]
    cfg = run.config or {}
    keys = [("epochs", "Epochs"), ("batch_size", "Batch size"), ("learning_rate", "Learning rate"),
            ("warmup_ratio", "Warmup"), ("max_seq_length", "Max length"), ("seed", "Seed"),
            ("eval_steps", "Eval every"), ("max_steps", "Max steps"), ("matryoshka", "Matryoshka")]
    lines = [f"<b>Run {run.id}</b> · <span style='color:{status_color(run.status)}'>"
             f"{html.escape(run.status)}</span>",
             f"{html.escape(describe_base_model(run.base_model))}, {html.escape(run.loss)} loss"]
    resolved = ((getattr(run, "summary", None) or {}).get("schedule") or cfg.get("schedule") or {})

    def shown(key: str) -> str:
        # Automatic fields are stored as None; show what the schedule chose for them.
        value = cfg.get(key)
        if value is None and key in resolved:
            return f"{resolved[key]:g} (automatic)" if isinstance(resolved[key], float) else \
                f"{resolved[key]} (automatic)"
        return "–" if value is None else str(value)

    hint = style.color("hint")
    table = "".join(f"<tr><td style='color:{hint};padding-right:8px'>{label}</td>"
                    f"<td>{html.escape(shown(key))}</td></tr>"
                    for key, label in keys if key in cfg)
    extra = [f"Device: {html.escape(str(run.device or '–'))}",
             f"Started: {time.strftime('%b %d %H:%M', time.localtime(run.created_at))}",
             f"Time: {fmt_duration(run.seconds)}",
             f"Dev Spearman: {fmt_corr(run.base_dev_spearman)} → {fmt_corr(run.best_dev_spearman)}"]
    summary = getattr(run, "summary", None) or {}
    ci = summary.get("dev_spearman_ci")
    if ci and None not in ci:
        extra[-1] += " " + style.span("hint", f"(95 % interval {ci[0]:.3f}–{ci[1]:.3f})")
    if summary.get("schedule", {}).get("description"):
        extra.append(html.escape(summary["schedule"]["description"]))
    if summary.get("verdict"):
        from stsstudio.core.stats import headline

        words, tone = headline(summary.get("outcome", ""))
        color = style.color({"ok": "success", "warn": "warning", "error": "danger"}[tone])
        extra.append(f"<span style='color:{color}'><b>{html.escape(words)}</b> "
                     f"{html.escape(summary['verdict'])}</span>")
    ceiling = summary.get("human_ceiling") or {}
    if ceiling.get("summary"):
        extra.append(html.escape(ceiling["summary"]))
    size = getattr(run, "disk_bytes", None)
    if size is not None:
        extra.append(f"On disk: {size / 1e6:,.0f} MB")
    if run.message and run.message != summary.get("verdict"):
        extra.append(style.span("warning", html.escape(run.message)))
    return "<br>".join(lines) + f"<table style='margin-top:4px'>{table}</table>" + "<br>".join(extra)


class RunHistory(QWidget):
    """A table of runs beside the selected run's details and the Resume button."""

    selectionChanged = Signal()            # the user selected other runs

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.table = QTableWidget(0, 7)
        self.table.setHorizontalHeaderLabels(["Run", "Started", "Base model", "Loss", "Status",
                                              "Dev ρ", "Disk"])
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.Interactive)
        header.setSectionResizeMode(2, QHeaderView.Stretch)
        header.setMinimumSectionSize(36)
        for col, width in ((0, 40), (1, 96), (3, 58), (4, 76), (5, 104), (6, 60)):
            self.table.setColumnWidth(col, width)
        self.table.itemSelectionChanged.connect(self._on_selection)
        layout.addWidget(self.table, 3)
        self._side = self._build_side()
        layout.addWidget(self._side, 1)
        self._narrow = False

    def resizeEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt override
        """Narrow (a 1024-pixel screen): the details go under the table, which then has the
        whole width for its columns; the start time moves to the details and the tooltip."""
        super().resizeEvent(event)
        narrow = self.width() < NARROW_HISTORY
        if narrow == self._narrow:
            return
        self._narrow = narrow
        self.layout().setDirection(QBoxLayout.TopToBottom if narrow else QBoxLayout.LeftToRight)
        self._side.layout().setDirection(QBoxLayout.LeftToRight if narrow else QBoxLayout.TopToBottom)
        self._side.setMinimumWidth(0 if narrow else 190)
        self._side.setMaximumWidth(16777215 if narrow else 240)
        self._side.setMaximumHeight(72 if narrow else 16777215)
        self.table.setColumnHidden(1, narrow)

    def _build_side(self) -> QWidget:
        side = QVBoxLayout()
        self.details = QLabel("Select a run to see its settings. Select two to compare their curves.")
        self.details.setWordWrap(True)
        self.details.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.details.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.details.setStyleSheet(style.text_color("text_soft"))
        details_scroll = QScrollArea()
        details_scroll.setWidget(self.details)
        details_scroll.setWidgetResizable(True)
        details_scroll.setFrameShape(QFrame.NoFrame)
        side.addWidget(details_scroll, 1)
        self.resume_button = QPushButton("Resume run")
        self.resume_button.setEnabled(False)
        self.resume_button.setToolTip("Continue an interrupted or cancelled run from its last checkpoint.")
        side.addWidget(self.resume_button)
        self.delete_button = QPushButton("Delete run…")
        self.delete_button.setEnabled(False)
        self.delete_button.setToolTip("Delete the selected run and its model folder, after asking.")
        side.addWidget(self.delete_button)
        side_widget = QWidget()
        side_widget.setLayout(side)
        side_widget.setMinimumWidth(190)
        side_widget.setMaximumWidth(240)
        return side_widget

    @Slot()
    def _on_selection(self) -> None:
        self.selectionChanged.emit()

    def reload(self, project: Any) -> None:
        """Refill the table from ``project`` (None: empty), keeping the selection; emits nothing."""
        selected = set(self.selected_run_ids())
        with QSignalBlocker(self.table):
            self.table.setRowCount(0)
            if project is None or project.closed:
                return
            runs = list(reversed(project.runs.all()))   # newest first
            self.table.setRowCount(len(runs))
            for row, run in enumerate(runs):
                run.disk_bytes = project.runs.disk_size(run.id)  # a few files a run: cheap
                self._fill_row(row, run)
                if run.id in selected:
                    self.table.selectRow(row)
            # A handful of rows: every column but the base model's (which stretches) is as wide
            # as its text, so "0.704 (+0.043)" is never cut to "0.704 (+0.0…".
            for col in range(self.table.columnCount()):
                if col != 2:
                    self.table.resizeColumnToContents(col)

    def _fill_row(self, row: int, run: Any) -> None:
        started = time.strftime("%b %d %H:%M", time.localtime(run.created_at))
        best = run.best_dev_spearman
        best_text = fmt_corr(best)
        if best is not None and run.base_dev_spearman is not None:
            best_text += f"  ({best - run.base_dev_spearman:+.3f})"
        size = getattr(run, "disk_bytes", None)
        cells = [str(run.id), started, describe_base_model(run.base_model), run.loss,
                 run_state(run), best_text,
                 "–" if size is None else f"{size / 1e6:,.0f} MB"]
        tooltip = _run_tooltip(run)
        for col, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setData(Qt.UserRole, run.id)
            item.setToolTip(tooltip)
            if col in (0, 5, 6):
                item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
            if col == 4:
                item.setForeground(QColor(status_color(run.status)))
            self.table.setItem(row, col, item)

    def selected_run_ids(self) -> list[int]:
        ids: list[int] = []
        for index in self.table.selectionModel().selectedRows():
            run_id = self.table.item(index.row(), 0).data(Qt.UserRole)
            if run_id not in ids:
                ids.append(int(run_id))
        return sorted(ids)

    def select(self, run_ids: list[int]) -> None:
        """Select exactly these runs (emits nothing)."""
        with QSignalBlocker(self.table):
            self.table.clearSelection()
            mode = self.table.selectionMode()
            self.table.setSelectionMode(QAbstractItemView.MultiSelection)
            for row in range(self.table.rowCount()):
                if self.table.item(row, 0).data(Qt.UserRole) in run_ids:
                    self.table.selectRow(row)
            self.table.setSelectionMode(mode)

    def clear_selection(self) -> None:
        with QSignalBlocker(self.table):
            self.table.clearSelection()

    def run_ids(self) -> list[int]:
        return [int(self.table.item(r, 0).data(Qt.UserRole)) for r in range(self.table.rowCount())]

    def show_details(self, runs: list[Any]) -> None:
        self.details.setText(details_html(runs))

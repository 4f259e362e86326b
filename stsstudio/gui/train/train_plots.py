"""The Train view's live panel: a status strip (progress, epoch, ETA, throughput, device, loss,
best dev Spearman) over the loss and dev plots of ``plots.py``.

Worker events only append to buffers here and mark the panel dirty; a 10 Hz timer pushes the
buffers to the plots and labels, so a fast GPU cannot flood the window.
"""

from __future__ import annotations

import math
import time
from typing import Any

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QLabel,
    QProgressBar,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from stsstudio.gui.common import style
from stsstudio.gui.common.plots import PALETTE, EvalPlot, LossPlot


def fmt_duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "–"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def fmt_corr(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


class TrainPlots(QWidget):
    """Status strip and live plots of the run in progress, or the stored curves of selected runs."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.running = False               # a run is in progress (set by the view)
        self.reset_live()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(self._build_status_box())
        plots = QSplitter(Qt.Horizontal)
        self.loss_plot = LossPlot()
        self.eval_plot = EvalPlot()
        for plot in (self.loss_plot, self.eval_plot):
            plot.setFrameShape(QFrame.StyledPanel)
        plots.addWidget(self.loss_plot)
        plots.addWidget(self.eval_plot)
        plots.setChildrenCollapsible(False)
        # Before any curve exists, a sentence instead of two empty 0–1 "step" axes.
        self.empty_label = QLabel("No curves yet. Start training, or select a run in the history "
                                  "below, to see its training loss and dev correlation here.")
        self.empty_label.setObjectName("plotsEmpty")
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignCenter)
        self.empty_label.setStyleSheet(style.text_color("hint") + " padding: 24px;")
        self.empty_label.setFrameShape(QFrame.StyledPanel)
        self.plot_pages = QStackedWidget()
        self.plot_pages.addWidget(self.empty_label)
        self.plot_pages.addWidget(plots)
        layout.addWidget(self.plot_pages, 1)
        self._timer = QTimer(self)
        self._timer.setInterval(100)         # ~10 Hz redraw
        self._timer.timeout.connect(self._on_tick)

    def _build_status_box(self) -> QFrame:
        frame = QFrame()
        frame.setFrameShape(QFrame.StyledPanel)
        grid = QGridLayout(frame)
        grid.setContentsMargins(10, 8, 10, 8)
        grid.setHorizontalSpacing(18)
        grid.setVerticalSpacing(4)
        self.state_label = QLabel("Ready")
        font = self.state_label.font()
        font.setBold(True)
        self.state_label.setFont(font)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("no run yet")
        self.progress.setTextVisible(True)
        self.progress.setMinimumWidth(120)
        grid.addWidget(self.state_label, 0, 0)
        grid.addWidget(self.progress, 0, 1, 1, 5)
        self._status_grid = grid
        self.epoch_label = QLabel()
        self.eta_label = QLabel()
        self.speed_label = QLabel()
        self.device_label = QLabel()
        self.loss_label = QLabel()
        self.best_label = QLabel()
        # Fixed-size cells: a label whose text changes must not re-run the layout (which would
        # repaint the whole view, plots included, at every refresh).
        # Each cell is as wide as the longest text it shows, so nothing is cut; the state label
        # (a rare change) sizes to its text. Too narrow for one row: two rows of three.
        fm = self.fontMetrics()
        self._cells: list[QWidget] = []
        for title, label, longest in (("Epoch", self.epoch_label, "10.00"),
                                      ("ETA", self.eta_label, "59 min 59 s"),
                                      ("Throughput", self.speed_label, "9,999.9 pairs/s"),
                                      ("Device", self.device_label, "CPU (16 cores)"),
                                      ("Loss", self.loss_label, "0.0000"),
                                      ("Dev Spearman", self.best_label, "0.000  (base 0.000)")):
            label.setText("–")
            label.setTextInteractionFlags(Qt.TextSelectableByMouse)
            label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)
            cell = QLabel(title)
            cell.setStyleSheet(style.text_color("hint"))
            if title == "ETA":
                self.eta_header = cell
            label.setMinimumWidth(max(fm.horizontalAdvance(longest), fm.horizontalAdvance(title)) + 4)
            widget = QWidget()
            box = QVBoxLayout(widget)
            box.setContentsMargins(0, 0, 0, 0)
            box.setSpacing(0)
            box.addWidget(cell)
            box.addWidget(label)
            self._cells.append(widget)
        self._status_columns = 0
        self._lay_out_cells(6)
        frame.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Fixed)
        return frame

    def _lay_out_cells(self, columns: int) -> None:
        if columns == self._status_columns:
            return
        self._status_columns = columns
        grid = self._status_grid
        for i, cell in enumerate(self._cells):
            grid.addWidget(cell, 1 + i // columns, i % columns)
        for col in range(6):
            grid.setColumnStretch(col, 1 if col < columns else 0)
        grid.removeWidget(self.progress)
        grid.addWidget(self.progress, 0, 1, 1, columns - 1)

    def resizeEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt override
        super().resizeEvent(event)
        grid = self._status_grid
        margins = grid.contentsMargins()
        one_row = (sum(cell.minimumSizeHint().width() for cell in self._cells)
                   + grid.horizontalSpacing() * 5 + margins.left() + margins.right() + 4)
        self._lay_out_cells(6 if self.width() >= one_row else 3)

    # ------------------------------------------------------------------------------------
    # A run in progress

    def reset_live(self) -> None:
        """Forget the live run's figures (not the plots: see :meth:`begin`)."""
        self.total_steps = 0
        self.step = 0
        self._epoch = 0.0
        self._t_first: float | None = None
        self._step_first = 0
        self._t_last_step: float | None = None
        self.batch_size = 16
        self._device_label = ""
        self._last_loss: float | None = None
        self._best_spearman: float | None = None
        self._baseline: float | None = None
        self.dirty = False

    def _show_plots(self, shown: bool) -> None:
        self.plot_pages.setCurrentIndex(1 if shown or self.running else 0)

    def begin(self, batch_size: int, device_text: str) -> None:
        """A run starts: clear the plots and the strip, start the redraw timer."""
        self.reset_live()
        self.plot_pages.setCurrentIndex(1)
        self.batch_size = batch_size
        self.running = True
        for plot in (self.loss_plot, self.eval_plot):
            plot.clear_overlays()
            plot.clear_live()
        self.state_label.setText("Loading model…")
        # Not the busy animation (range 0, 0): it repaints ~20 times a second for nothing.
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("preparing the run…")
        for label in (self.epoch_label, self.eta_label, self.speed_label, self.loss_label, self.best_label):
            label.setText("–")
        self.device_label.setText(device_text)
        self.eta_header.setText("ETA")
        self._timer.start()

    def continue_curves(self, metrics: dict[str, list[tuple[int, float]]], baseline: float | None) -> None:
        """A resumed run: continue the curves where they stopped."""
        for step, value in metrics.get("loss", []):
            self.loss_plot.live.append(step, value)
        sp = dict(metrics.get("dev_spearman", []))
        for step, value in metrics.get("dev_pearson", []):
            if step in sp:
                self.eval_plot.add_point(step, sp[step], value)
        high = dict(metrics.get("dev_spearman_high", []))
        for step, low in metrics.get("dev_spearman_low", []):
            if step in high:
                self.eval_plot.add_interval(step, low, high[step])
        self.eval_plot.set_baseline(baseline)
        self.dirty = True

    def started(self, total_steps: int, device: str) -> None:
        self.total_steps = int(total_steps)
        self._device_label = device
        self.progress.setRange(0, max(1, self.total_steps))
        self.progress.setValue(0)
        if self.total_steps:
            self.loss_plot.set_x_extent(self.total_steps)
            self.eval_plot.set_x_extent(self.total_steps)
        self.state_label.setText("Training")
        self.dirty = True

    def add_losses(self, batch: list[tuple[int, float, float, float]]) -> None:
        now = time.monotonic()
        live = self.loss_plot.live
        for step, loss, _lr, epoch in batch:
            if self._t_first is None:
                self._t_first, self._step_first = now, step
            live.append(step, loss)
            self.step, self._epoch, self._last_loss = step, epoch, loss
        self._t_last_step = now
        self.dirty = True

    def add_interval(self, step: int, low: float, high: float) -> None:
        """The bootstrap 95 % interval of the dev Spearman at ``step`` (a band on the plot)."""
        self.eval_plot.add_interval(step, low, high)
        self.dirty = True

    def add_evaluation(self, step: int, spearman: float, pearson: float) -> None:
        if step == 0 or self._baseline is None and self.eval_plot.spearman.n == 0:
            self._baseline = spearman
            self.eval_plot.set_baseline(spearman)
        self.eval_plot.add_point(step, spearman, pearson)
        if math.isfinite(spearman) and (self._best_spearman is None or spearman > self._best_spearman):
            self._best_spearman = spearman
        self.dirty = True

    def end(self, status: str) -> None:
        """The run is over: a last redraw, then the timer stops."""
        self.running = False
        self._timer.stop()
        self._on_tick(force=True)
        if self.total_steps == 0:
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            self.progress.setFormat(status or "stopped")

    @Slot()
    def _on_tick(self, force: bool = False) -> None:
        if not (self.dirty or force):
            return
        self.dirty = False
        self.loss_plot.refresh()
        self.eval_plot.refresh()
        if self.total_steps:
            self.progress.setMaximum(self.total_steps)
            self.progress.setValue(min(self.step, self.total_steps))
            self.progress.setFormat(f"step {self.step:,} / {self.total_steps:,}  (%p%)")
        self.epoch_label.setText(f"{self._epoch:.2f}" if self.step else "–")
        if self._t_first is not None and self._t_last_step is not None and self.step > self._step_first:
            elapsed = self._t_last_step - self._t_first
            rate = (self.step - self._step_first) / elapsed if elapsed > 0 else 0.0
            if rate > 0:
                self.speed_label.setText(f"{rate * self.batch_size:,.1f} pairs/s")
                remaining = (self.total_steps - self.step) / rate if self.total_steps else None
                self.eta_label.setText(fmt_duration(remaining) if self.running else "done")
        self.device_label.setText(self._device_label or self.device_label.text())
        self.loss_label.setText(f"{self._last_loss:.4f}" if self._last_loss is not None else "–")
        if self._best_spearman is not None:
            base = f"  (base {self._baseline:.3f})" if self._baseline is not None else ""
            self.best_label.setText(f"{self._best_spearman:.3f}{base}")

    # ------------------------------------------------------------------------------------
    # Stored runs (when idle, or overlaid on the live run)

    def clear(self) -> None:
        """Clear the overlays, and when idle the live curves and the strip too."""
        self._show_plots(False)
        self.loss_plot.clear_overlays()
        self.eval_plot.clear_overlays()
        if not self.running:
            self.loss_plot.clear_live()
            self.eval_plot.clear_live()
            self.reset_status()

    def show_runs(self, project: Any, runs: list[Any], live_run_id: int | None) -> None:
        """Overlay the stored curves of the selected runs (the live run's stay as they are)."""
        self._show_plots(bool(runs) and project is not None)
        self.loss_plot.clear_overlays()
        self.eval_plot.clear_overlays()
        if not self.running:
            self.loss_plot.clear_live()
            self.eval_plot.clear_live()
        if project is None:
            return
        if len(runs) == 1 and not self.running:
            # One run: show it like a live run (raw + smoothed loss, Spearman and Pearson).
            run = runs[0]
            metrics = project.runs.metrics(run.id)
            for step, value in metrics.get("loss", []):
                self.loss_plot.live.append(step, value)
            pearson = dict(metrics.get("dev_pearson", []))
            for step, value in metrics.get("dev_spearman", []):
                self.eval_plot.add_point(step, value, pearson.get(step, float("nan")))
            high = dict(metrics.get("dev_spearman_high", []))
            for step, low in metrics.get("dev_spearman_low", []):
                if step in high:
                    self.eval_plot.add_interval(step, low, high[step])
            ceiling = (run.summary or {}).get("human_ceiling") if hasattr(run, "summary") else None
            self.eval_plot.set_ceiling(ceiling.get("spearman") if ceiling else None)
            self.loss_plot.refresh()
            self.eval_plot.refresh()
            self.loss_plot.ranges.reset()
            self.eval_plot.ranges.reset()
            self.eval_plot.set_baseline(run.base_dev_spearman)
            return
        baseline = None
        for i, run in enumerate(r for r in runs if r.id != (live_run_id if self.running else None)):
            metrics = project.runs.metrics(run.id)
            color = PALETTE[i % len(PALETTE)]
            loss = metrics.get("loss", [])
            if loss:
                steps, values = zip(*loss)
                self.loss_plot.add_overlay(f"run {run.id}", steps, values, color)
            self.eval_plot.add_overlay(f"run {run.id}", metrics.get("dev_spearman", []),
                                       metrics.get("dev_pearson", []), color)
            if baseline is None:
                baseline = run.base_dev_spearman
        if not self.running:
            self.eval_plot.set_baseline(baseline)
            for plot in (self.loss_plot, self.eval_plot):
                plot.getPlotItem().enableAutoRange()

    def show_run_status(self, run: Any, metrics: dict[str, list[tuple[int, float]]]) -> None:
        """When idle, the status strip summarises the selected run."""
        total = run.total_steps or run.steps or 0
        steps = run.steps or 0
        from stsstudio.core.advice import run_state

        self.state_label.setText(f"Run {run.id}: {run_state(run)}")
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(min(steps, max(1, total)))
        self.progress.setFormat(f"step {steps:,} / {total:,}" if total else run.status)
        cfg = run.config or {}
        loss = metrics.get("loss", [])
        epochs = cfg.get("epochs")
        self.epoch_label.setText(f"{epochs:g}" if isinstance(epochs, (int, float)) else "–")
        self.eta_header.setText("Time")
        self.eta_label.setText(fmt_duration(run.seconds) if run.seconds else "–")
        if run.seconds and steps:
            bs = int(cfg.get("batch_size", 16) or 16)
            self.speed_label.setText(f"{steps * bs / run.seconds:,.1f} pairs/s")
        else:
            self.speed_label.setText("–")
        self.device_label.setText(str(run.device or "–"))
        self.loss_label.setText(f"{loss[-1][1]:.4f}" if loss else "–")
        base = f"  (base {run.base_dev_spearman:.3f})" if run.base_dev_spearman is not None else ""
        self.best_label.setText(f"{fmt_corr(run.best_dev_spearman)}{base}")

    def reset_status(self) -> None:
        self.state_label.setText("Ready")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("no run yet")
        for label in (self.epoch_label, self.eta_label, self.speed_label, self.device_label,
                      self.loss_label, self.best_label):
            label.setText("–")

"""The Train view: the run form, live plots of a run in progress, and the run history.

TrainView composes three widgets, each in its own module: :class:`TrainForm` (train_form.py),
:class:`TrainPlots` (train_plots.py: status strip and live plots) and :class:`RunHistory`
(run_history.py). It owns the run itself: training runs through ``core.training.train`` in a
:class:`TrainingWorker` (its own QThread), whose signals land in slots of this view (GUI thread)
and are handed to the panels. Nothing here imports torch at module import time: devices are
listed in a worker once the ML stack is ready.
"""

from __future__ import annotations

import html
import os
import time
from typing import Any

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from stsstudio.core.changes import Changes
from stsstudio.gui.common import style
from stsstudio.gui.common.context import ProjectContext
from stsstudio.gui.common.workers import JobRunner
from stsstudio.gui.train.run_history import RunHistory, describe_base_model
from stsstudio.gui.train.train_estimate import EstimatePanel
from stsstudio.gui.train.train_form import TrainForm
from stsstudio.gui.train.train_plots import TrainPlots, fmt_corr, fmt_duration
from stsstudio.gui.train.training_worker import TrainingWorker


def _list_devices_job() -> list[tuple[str, str]]:
    """Runs in a worker: importing torch takes seconds."""
    from stsstudio.core.devices import list_devices

    return [(d.id, d.label) for d in list_devices()]


class TrainView(QWidget):
    """Form, live plots and run history for fine-tuning on the open project."""

    # Keep one core for the GUI thread on small machines (torch would take them all).
    reserve_gui_core = True

    def __init__(self, ctx: ProjectContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        # The run: one at a time (the form is disabled meanwhile); its cancel arrives as cancelled.
        self._trainer = JobRunner(self)
        self._trainer.progressed.connect(self._on_progressed)
        self._trainer.statusChanged.connect(self._on_status)
        self._trainer.finished.connect(self._on_finished)
        self._trainer.failed.connect(self._on_failed)
        self._trainer.cancelled.connect(self._on_cancelled)
        self._trainer.done.connect(self._on_done)
        self._devices = JobRunner(self)
        self._devices.finished.connect(self._on_devices)
        self._devices.failed.connect(self._on_devices_failed)
        self._devices_loaded = False
        self._run_id: int | None = None
        self._log_every = 10
        self.last_status: str = ""          # "finished" | "cancelled" | "failed" after a run
        self.last_result: Any = None
        self.last_error: str = ""
        self.next_step: str = ""            # what to do after the last run, in words (core.advice)

        self.form = TrainForm()
        self.plots = TrainPlots()
        self.history = RunHistory()
        self.estimate_panel = EstimatePanel(ctx)   # the estimate after a run, in the background
        self._build_ui()
        self.form.start_button.clicked.connect(self.start_training)
        self.form.settingsChanged.connect(self.refresh_counts)
        self.form.cancel_button.clicked.connect(self.cancel_training)
        self.history.selectionChanged.connect(self._on_history_selection)
        self.history.resume_button.clicked.connect(self.resume_selected)
        self.history.delete_button.clicked.connect(self.delete_selected)

        self._counts_timer = QTimer(self, singleShot=True, interval=0)
        self._counts_timer.timeout.connect(self.refresh_counts)
        ctx.projectChanged.connect(self._on_project_changed)
        ctx.pairsChanged.connect(self._schedule_counts)
        ctx.pairChanged.connect(self._schedule_counts)
        ctx.runsChanged.connect(self._on_runs_changed)
        ctx.mlReady.connect(self._on_ml_ready)
        self._on_project_changed()
        if getattr(ctx, "ml_ready", False):
            self._on_ml_ready()

    def _build_ui(self) -> None:
        root = QHBoxLayout(self)
        root.setContentsMargins(10, 10, 10, 10)
        root.setSpacing(10)
        root.addWidget(self.form)

        # Right: banner, status and plots, history/log.
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.setSpacing(8)
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setVisible(False)
        self.banner.setTextInteractionFlags(Qt.TextSelectableByMouse)
        right_layout.addWidget(self.banner)
        right_layout.addWidget(self.estimate_panel)

        bottom = QTabWidget()
        bottom.addTab(self.history, "Run history")
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(2000)
        self.log.setLineWrapMode(QPlainTextEdit.NoWrap)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.Monospace)
        mono.setPointSizeF(max(8.0, self.font().pointSizeF() - 1))
        self.log.setFont(mono)
        bottom.addTab(self.log, "Log")
        self.bottom_tabs = bottom

        vsplit = QSplitter(Qt.Vertical)
        vsplit.addWidget(self.plots)
        vsplit.addWidget(bottom)
        vsplit.setStretchFactor(0, 3)
        vsplit.setStretchFactor(1, 2)
        vsplit.setSizes([490, 230])
        vsplit.setChildrenCollapsible(False)
        right_layout.addWidget(vsplit, 1)
        root.addWidget(right, 1)

    # ------------------------------------------------------------------------------------
    # The panels' widgets, under the names tests, benches and screenshots use

    def __getattr__(self, name: str) -> Any:
        # Only reached for names TrainView itself lacks: the form's fields, the plots' labels.
        for panel in ("form", "plots"):
            owner = self.__dict__.get(panel) if panel in self.__dict__ else None
            if owner is not None and name in _DELEGATED[panel]:
                return getattr(owner, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def resume_button(self) -> Any:
        return self.history.resume_button

    @property
    def details(self) -> QLabel:
        return self.history.details

    def set_base_model(self, name: str | None) -> None:
        self.form.set_base_model(name)

    def config(self) -> Any:
        """The TrainConfig the form describes."""
        return self.form.config()

    def device_labels(self) -> list[str]:
        return self.form.device_labels()

    # ------------------------------------------------------------------------------------
    # Project state

    @Slot()
    def _on_project_changed(self) -> None:
        self.estimate_panel.stop()
        project = self.ctx.project
        if project is not None and not self.is_training():
            self.form.set_base_model(project.base_model)
        self.plots.clear()
        self.reload_history()
        self.refresh_counts()

    @Slot()
    def _schedule_counts(self, *_: object) -> None:
        self._counts_timer.start()

    @Slot()
    def _on_runs_changed(self) -> None:
        self.reload_history()

    def refresh_counts(self) -> None:
        """Show what a run would use: ``training.data_plan``, the rule ``train`` applies."""
        from stsstudio.core.training import data_plan  # plain Python: cheap

        project = self.ctx.project
        if project is None or project.closed:
            self.form.show_plan(None, training=False)
            return
        plan = data_plan(project, self.form.config())
        self.train_pairs, self.dev_pairs = plan.labeled_train, plan.labeled_dev
        self.form.show_plan(plan, training=self.is_training())

    @Slot()
    def _on_ml_ready(self) -> None:
        if self._devices_loaded or self._devices.is_running():
            return
        self._devices.start(_list_devices_job)

    @Slot(object)
    def _on_devices(self, devices: list[tuple[str, str]]) -> None:
        self._devices_loaded = True
        self.form.set_devices(devices)

    @Slot(str, str)
    def _on_devices_failed(self, message: str, _details: str) -> None:
        self.form.set_devices_failed(message)

    # ------------------------------------------------------------------------------------
    # Run control

    @property
    def worker(self) -> TrainingWorker | None:
        """The run's worker while it runs."""
        return self._trainer.worker  # type: ignore[return-value]

    def is_training(self) -> bool:
        return self._trainer.is_running()

    @Slot()
    def start_training(self) -> None:
        """Start a run with the form's settings (no-op while one runs)."""
        if self.is_training() or self.ctx.project is None:
            return
        config = self.form.config()
        if config.base_model == "":
            self._show_banner("Enter a model folder or a Hub id, or choose the embedded default.", "error")
            return
        from stsstudio.core.training import data_plan  # plain Python: cheap

        plan = data_plan(self.ctx.project, config)
        schedule = plan.schedule.describe() if plan.schedule is not None else ""
        self._begin(TrainingWorker(self.ctx.project, config, num_threads=self._num_threads()),
                    config.batch_size,
                    f"Starting a run: {describe_base_model(config.base_model)}; {schedule}, "
                    f"batch {config.batch_size}")

    @Slot()
    def resume_selected(self) -> None:
        runs = self.history.selected_run_ids()
        if len(runs) != 1 or self.is_training() or self.ctx.project is None:
            return
        run = self.ctx.project.runs.get(runs[0])
        if run is None:
            return
        worker = TrainingWorker(self.ctx.project, resume_run=run.id, num_threads=self._num_threads())
        self._begin(worker, int(run.config.get("batch_size", 16) or 16),
                    f"Resuming run {run.id} from its last checkpoint")
        self.plots.continue_curves(self.ctx.project.runs.metrics(run.id), run.base_dev_spearman)
        self._run_id = run.id

    @Slot()
    def delete_selected(self) -> None:
        """Delete the selected run and its folder, after asking (it cannot be undone)."""
        from PySide6.QtWidgets import QMessageBox

        from stsstudio.core.errors import UserError

        runs = self.history.selected_run_ids()
        project = self.ctx.project
        if len(runs) != 1 or project is None:
            return
        size = project.runs.disk_size(runs[0])
        answer = QMessageBox.question(
            self, "Delete run", f"Delete run {runs[0]} and its model ({size / 1e6:,.0f} MB)? "
            "This cannot be undone.", QMessageBox.Yes | QMessageBox.No, QMessageBox.No)
        if answer != QMessageBox.Yes:
            return
        try:
            freed = project.runs.delete(runs[0])
        except UserError as exc:
            self._show_banner(str(exc), "error")
            return
        self._show_banner(f"Run {runs[0]} deleted; {freed / 1e6:,.0f} MB freed.", "ok")
        self.history.clear_selection()
        self.ctx.apply(Changes.of_runs())

    def _num_threads(self) -> int | None:
        if not self.reserve_gui_core:
            return None
        cores = os.cpu_count() or 1
        return max(1, cores - 1) if cores <= 8 else None

    def _begin(self, worker: TrainingWorker, batch_size: int, message: str) -> None:
        self.estimate_panel.stop()      # a new run needs the cores; that estimate can be made later
        self.banner.setVisible(False)
        self.last_status = ""
        self.last_error = ""
        self.last_result = None
        self._run_id = None
        self.history.clear_selection()
        self.plots.begin(batch_size, self.form.device_combo.currentText())
        self.log.clear()
        self._log(message)
        # The training-only signals come straight from the worker; the common ones via the runner.
        worker.runStarted.connect(self._on_started)
        worker.metricsLogged.connect(self._on_metrics)
        worker.evaluated.connect(self._on_evaluated)
        worker.intervalComputed.connect(self._on_interval)
        worker.checkpointSaved.connect(self._on_checkpoint)
        self.form.set_fields_enabled(False)
        self.form.start_button.setEnabled(False)
        self.history.resume_button.setEnabled(False)
        self.form.cancel_button.setEnabled(True)
        self.form.cancel_button.setText("Cancel")
        self._trainer.start(worker)

    @Slot()
    def cancel_training(self) -> None:
        """Ask the run to stop; the engine stops within one step and keeps the last checkpoint."""
        if self.worker is None:
            return
        self.worker.cancel()
        self.form.cancel_button.setEnabled(False)
        self.form.cancel_button.setText("Cancelling…")
        self.plots.state_label.setText("Cancelling…")
        self._log("Cancel requested; stopping after the current step.")

    # ------------------------------------------------------------------------------------
    # Worker events (GUI thread; cheap: append and mark dirty)

    @Slot(int, str)
    def _on_started(self, total_steps: int, device: str) -> None:
        self.plots.started(total_steps, device)
        self._log_every = max(1, self.plots.total_steps // 25)
        self._log(f"Training {self.plots.total_steps} steps on {device}.")
        project = self.ctx.project
        if project is not None:
            running = [r for r in project.runs.all() if r.status == "running"]
            if running:
                self._run_id = running[-1].id
        self.ctx.apply(Changes.of_runs())

    @Slot(int, int)
    def _on_progressed(self, step: int, total: int) -> None:
        if total:
            self.plots.total_steps = total
        self.plots.dirty = True

    @Slot(object)
    def _on_metrics(self, batch: list[tuple[int, float, float, float]]) -> None:
        previous = self.plots.step
        for step, loss, lr, epoch in batch:
            if step // self._log_every != previous // self._log_every or step == 1:
                self._log(f"step {step:>6}  loss {loss:.4f}  lr {lr:.2e}  epoch {epoch:.2f}")
            previous = step
        self.plots.add_losses(batch)

    @Slot(int, float, float)
    def _on_evaluated(self, step: int, spearman: float, pearson: float) -> None:
        self.plots.add_evaluation(step, spearman, pearson)
        label = "baseline" if step == 0 else f"step {step}"
        self._log(f"dev @ {label}: Spearman {spearman:.4f}  Pearson {pearson:.4f}")

    @Slot(int, float, float)
    def _on_interval(self, step: int, low: float, high: float) -> None:
        self.plots.add_interval(step, low, high)

    @Slot(str)
    def _on_checkpoint(self, path: str) -> None:
        self._log(f"checkpoint saved: {path}")

    @Slot(str)
    def _on_status(self, message: str) -> None:
        self._log(message)
        if self.worker is not None and not self.worker.task.is_cancelled():
            self.plots.state_label.setText(message if len(message) < 40 else message[:38] + "…")

    @Slot(object)
    def _on_finished(self, result: Any) -> None:
        if getattr(result, "status", "finished") == "cancelled":
            self._on_cancelled()
            return
        self.last_status = "finished"
        self.last_result = result
        self._run_id = getattr(result, "run_id", self._run_id)
        best = getattr(result, "dev_spearman", None)
        base = getattr(result, "base_dev_spearman", None)
        gain = f" (baseline {base:.3f}, {best - base:+.3f})" if best is not None and base is not None else ""
        self._log(f"Finished in {fmt_duration(getattr(result, 'seconds', None))}: "
                  f"best dev Spearman {fmt_corr(best)}{gain}.")
        self.plots.state_label.setText("Finished")
        from stsstudio.core.stats import headline

        outcome = getattr(result, "outcome", "")
        words, tone = headline(outcome)
        verdict = getattr(result, "verdict", "")
        detail = verdict or f"Dev Spearman {fmt_corr(best)}{gain}."
        if not verdict and best is None and (getattr(result, "estimate", None) or {}).get("status"):
            words, tone = "The model is ready.", "ok"
            detail = "Try it or export it now; its estimate follows."
        ceiling = getattr(result, "human_ceiling", None)
        if ceiling and ceiling.get("summary"):
            detail += " " + ceiling["summary"]
        self.plots.eval_plot.set_ceiling(ceiling.get("spearman") if ceiling else None)
        from stsstudio.core.advice import run_advice

        self.next_step = run_advice(result)
        self._show_banner(f"Run {self._run_id} finished. {words}\n{detail}\n{self.next_step}", tone)

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        self.last_status = "failed"
        self.last_error = message
        self.last_result = self.worker.result if self.worker is not None else None
        from stsstudio.core.errors import UserError  # the typed error carries its own next step

        error = self.worker.error if self.worker is not None else None
        typed = isinstance(error, UserError)
        text = (f"{error.text if typed else message}\n"
                f"{error.hint if typed and error.hint else 'Check the log below; the project is unchanged.'}")
        self._log("FAILED: " + text.replace("\n", " "))
        if details:
            for line in details.rstrip().splitlines()[-12:]:
                self._log("  " + line)
        self.plots.state_label.setText("Failed")
        self._show_banner(text, "error")

    @Slot()
    def _on_cancelled(self) -> None:
        self.last_status = "cancelled"
        self.last_result = self.worker.result if self.worker is not None else None
        self._log("Cancelled. The last checkpoint is kept; select the run and Resume to continue.")
        self.plots.state_label.setText("Cancelled")
        self._show_banner("Run cancelled. Its last checkpoint is kept: select it in the history and "
                          "press Resume to continue.", "warn")

    @Slot()
    def _on_done(self) -> None:
        self.plots.end(self.last_status)
        self.form.set_fields_enabled(True)
        self.form.cancel_button.setEnabled(False)
        self.form.cancel_button.setText("Cancel")
        self.refresh_counts()
        self.ctx.apply(Changes.of_runs())   # reloads the history
        if self._run_id is not None:
            self.select_runs([self._run_id], show_curves=False)
        result = self.last_result
        if self.last_status == "finished" and ((getattr(result, "estimate", None) or {}).get("status")
                                               == "pending") and self._run_id is not None:
            self.estimate_panel.start(self._run_id)

    # ------------------------------------------------------------------------------------
    # History

    def reload_history(self) -> None:
        project = self.ctx.project
        self.history.reload(project if project is not None and not project.closed else None)
        # Keep the plots as they are: a reload is not a new selection.
        self._on_history_selection(show_curves=False)

    def selected_run_ids(self) -> list[int]:
        return self.history.selected_run_ids()

    def select_runs(self, run_ids: list[int], show_curves: bool = True) -> None:
        self.history.select(run_ids)
        self._on_history_selection(show_curves=show_curves)

    def history_run_ids(self) -> list[int]:
        return self.history.run_ids()

    @Slot()
    def _on_history_selection(self, show_curves: bool = True) -> None:
        project = self.ctx.project
        ids = self.history.selected_run_ids()
        runs = [r for i in ids if project is not None and (r := project.runs.get(i)) is not None]
        self.history.resume_button.setEnabled(len(runs) == 1 and not self.is_training()
                                              and runs[0].status in ("interrupted", "cancelled"))
        self.history.delete_button.setEnabled(len(runs) == 1 and runs[0].status != "running")
        for run in runs:
            run.disk_bytes = project.runs.disk_size(run.id)
        self.history.show_details(runs)
        if show_curves:
            self.plots.show_runs(project, runs, self._run_id)
        self.estimate_panel.show_for(runs[0] if len(runs) == 1 and not self.is_training() else None)
        if len(runs) == 1 and not self.is_training():
            metrics = project.runs.metrics(runs[0].id) if project is not None else {}
            self.plots.show_run_status(runs[0], metrics)
            self._show_verdict(runs[0])

    # ------------------------------------------------------------------------------------
    # Messages

    def _log(self, text: str) -> None:
        self.log.appendPlainText(f"{time.strftime('%H:%M:%S')}  {text}")

    def _show_verdict(self, run: Any) -> None:
        """A selected run's outcome against the base model, in words, in the banner."""
        from stsstudio.core.stats import headline

        summary = getattr(run, "summary", None) or {}
        if not summary.get("verdict"):
            return
        words, tone = headline(summary.get("outcome", ""))
        detail = summary["verdict"]
        ceiling = summary.get("human_ceiling") or {}
        if ceiling.get("summary"):
            detail += " " + ceiling["summary"]
        from stsstudio.core.advice import run_advice

        self._show_banner(f"Run {run.id}: {words}\n{detail}\n{run_advice(run)}", tone)

    def _show_banner(self, text: str, kind: str) -> None:
        tone = {"ok": "success", "warn": "warning", "error": "danger"}.get(kind, "warning")
        bg, fg = style.color(f"{tone}_bg"), style.color(tone)
        self.banner.setStyleSheet(f"QLabel {{ background: {bg}; color: {fg}; border: 1px solid {fg};"
                                  " border-radius: 4px; padding: 6px 10px; }")
        self.banner.setText(html.escape(text).replace("\n", "<br>"))
        self.banner.setVisible(True)

    # ------------------------------------------------------------------------------------
    # Screenshot

    def prepare_for_screenshot(self) -> None:
        """Show the latest finished run's curves (for ``stsstudio screenshot --view train``)."""
        self.refresh_counts()
        self.reload_history()
        project = self.ctx.project
        if project is None:
            return
        if not self._devices_loaded:
            try:
                self._on_devices(_list_devices_job())
            except Exception:  # noqa: BLE001 - the combo keeps Automatic and CPU
                pass
        finished = [r for r in project.runs.all() if r.status == "finished"]
        if finished:
            self.select_runs([finished[-1].id])
            self.bottom_tabs.setCurrentIndex(0)


# Widgets of the panels that tests, benches and screenshots reach as attributes of the view.
_DELEGATED = {
    "form": frozenset({"base_choice", "base_path", "browse_button", "loss_combo", "device_combo", "epochs",
                       "batch_size", "learning_rate", "max_seq_length", "seed", "warmup", "eval_steps",
                       "max_steps", "matryoshka", "advanced", "counts_label", "warnings_label",
                       "start_button", "cancel_button"}),
    "plots": frozenset({"loss_plot", "eval_plot", "state_label", "progress", "epoch_label", "eta_label",
                        "speed_label", "device_label", "loss_label", "best_label"}),
}

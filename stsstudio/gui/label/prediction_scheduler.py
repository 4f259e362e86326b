"""Scores every pair in the background after each finished run, and with the base model when a
project opens with none (issue 12). The GUI never waits: progress goes to the status bar, and
``ctx.predictionsChanged`` tells the views (the Label view's guess, the queue orders, Try)
when a new set is in.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtWidgets import QLabel, QStatusBar

from stsstudio.core.changes import Changes
from stsstudio.gui.common.context import ProjectContext
from stsstudio.gui.common.workers import JobRunner

GUI_PAGE = 1000   # pairs per write: short holds of the project's lock while the user labels
START_DELAY_MS = 1500   # after a project opens or a run ends: the window settles first
BASE_RUN = 0      # core.predictions.BASE_RUN (that module, and numpy, load with the first scoring)


def _score(project: Any, run_id: int, task: Any = None) -> Any:
    import os

    import torch

    from stsstudio.core.predictions import predict_pairs

    cores = os.cpu_count() or 1
    if cores <= 8:   # leave a core to the GUI thread on small machines, as training does
        torch.set_num_threads(max(1, cores - 1))

    return predict_pairs(project, run_id, task=task, page=GUI_PAGE)


class PredictionScheduler(QObject):
    """One scoring at a time; after each one it checks whether another model needs scoring."""

    def __init__(self, ctx: ProjectContext, status_bar: QStatusBar | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.enabled = True                 # tests and the bench may turn the automation off
        self.running: int | None = None     # the run id being scored
        self._problem = ""                  # why the scoring in progress failed
        self.label = QLabel()
        self.label.setObjectName("predictionProgress")
        self.label.setVisible(False)
        if status_bar is not None:
            status_bar.addPermanentWidget(self.label)
        self._runner = JobRunner(self, serial=True)
        self._runner.progressed.connect(self._on_progressed)
        self._runner.finished.connect(self._on_finished)
        self._runner.failed.connect(self._on_failed)
        self._runner.done.connect(self._on_done)
        self._timer = QTimer(self, singleShot=True, interval=START_DELAY_MS)
        self._timer.timeout.connect(self._start_next)
        ctx.projectChanged.connect(self._on_project_changed)
        ctx.runsChanged.connect(self.schedule)
        ctx.pairsChanged.connect(self.schedule)     # new pairs: the sets are out of date
        ctx.mlReady.connect(self.schedule)
        ctx.scoresRequested.connect(self.request)   # a queue order's "Compute the scores" button

    @Slot()
    def _on_project_changed(self) -> None:
        self._timer.stop()
        self._runner.cancel(quiet=True)
        self._set_idle()
        self.schedule()

    def _set_idle(self, problem: str = "") -> None:
        """No scoring runs now; the views that show its progress hear why (``problem``)."""
        if self.running is not None:
            self.ctx.scoringStopped.emit(self.running, problem)
        self.running = None
        self.label.setVisible(False)

    @Slot()
    def request(self) -> None:
        """Score what is missing now, not after the start delay, even after a failed scoring
        (the user asked: a queue order needs the scores). A scoring in progress goes on."""
        self.enabled = True
        self._timer.stop()
        self._start_next()

    @Slot()
    def schedule(self) -> None:
        """Start scoring the next model that needs it, shortly (no-op while one is scored).

        A run that starts training stops a scoring in progress: the run needs the cores, and
        its end (``runsChanged``) schedules the scoring again."""
        project = self.ctx.project
        if self.running is not None and project is not None and not project.closed \
                and any(r.status == "running" for r in project.runs.all()):
            self._runner.cancel(quiet=True)
            self._set_idle("a run is training; the pairs are scored when it ends")
            return
        if self._eligible():
            self._timer.start()

    def _eligible(self) -> bool:
        project = self.ctx.project
        return (self.enabled and project is not None and not project.closed and not project.readonly
                and self.ctx.ml_ready and self.running is None and project.pairs.any())

    @Slot()
    def _start_next(self) -> None:
        if not self._eligible():
            return
        from stsstudio.core.predictions import next_scoring_target  # numpy: loaded once ML is ready

        target = next_scoring_target(self.ctx.project)
        if target is not None:
            self.start(target)

    def start(self, run_id: int) -> None:
        """Score all pairs with run ``run_id`` (0: the base model) in a worker."""
        self.running = run_id
        self.label.setText(f"Scoring pairs with {self._name(run_id)}…")
        self.label.setVisible(True)
        self._problem = ""
        self._runner.start(_score, self.ctx.project, run_id)
        self.ctx.scoringProgressed.emit(run_id, 0, 0)

    @staticmethod
    def _name(run_id: int) -> str:
        return "the base model" if run_id == BASE_RUN else f"run {run_id}"

    @Slot(int, int)
    def _on_progressed(self, done: int, total: int) -> None:
        if self.running is not None and total:
            self.label.setText(f"Scoring pairs with {self._name(self.running)}: {100 * done // total}%")
            self.ctx.scoringProgressed.emit(self.running, done, total)

    @Slot(object)
    def _on_finished(self, result: Any) -> None:
        cal = ""
        if getattr(result, "mae_calibrated", None) is not None:
            cal = f"; guesses calibrated (error {result.mae_calibrated:.2f} vs {result.mae_cosine:.2f})"
        self.ctx.statusMessage.emit(f"Scored {result.pairs:,} pairs with {self._name(result.run_id)}"
                                    f"{cal}.")
        self.ctx.apply(Changes.scored(result.run_id))

    @Slot(str, str)
    def _on_failed(self, message: str, _details: str) -> None:
        self.ctx.statusMessage.emit(f"Scoring the pairs failed: {message}")
        self.enabled = False     # no retry loop; reopening the project (or a request) tries again
        self._problem = message

    @Slot()
    def _on_done(self) -> None:
        self._set_idle(self._problem)
        self.schedule()          # e.g. the base model after a run, or a run finished meanwhile

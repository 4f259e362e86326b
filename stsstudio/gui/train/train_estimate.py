"""The estimate after a run (core/estimate.py), in the background, under the Train view's banner.

The model is handed over when training ends; this panel then runs the k-fold estimate and the
label curve in a worker and says what it is doing, with a button to stop it (the model stays) or,
for a run whose estimate was stopped, to make it now. When it ends it applies a runs change set:
the history and the banner of the run on screen re-read the stored verdict. It never changes which
run is selected.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from stsstudio.core.changes import Changes
from stsstudio.gui.common.workers import JobRunner


def _estimate_job(project: Any, run_id: int, task: Any = None) -> dict[str, Any]:
    from stsstudio.core.estimate import estimate

    return estimate(project, run_id, task)


class EstimatePanel(QWidget):
    """One line and one button: "Run 4: estimating, model 2 of 4… [Stop estimating]"."""

    estimated = Signal(int)      # the run whose estimate ended (done, stopped or failed)

    def __init__(self, ctx: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.run_id: int | None = None
        self._shown: int | None = None      # the run the idle line offers to estimate
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.button = QPushButton("Stop estimating")
        self.button.clicked.connect(self._on_button)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.label, 1)
        row.addWidget(self.button)
        self._runner = JobRunner(self)
        self._runner.statusChanged.connect(self._on_status)
        self._runner.finished.connect(self._on_ended)
        self._runner.failed.connect(self._on_ended)
        self._runner.cancelled.connect(self._on_ended)
        self.setVisible(False)

    @staticmethod
    def _what(run: Any) -> str:
        cv = bool((getattr(run, "config", None) or {}).get("cv_folds"))
        return "its gain and what more labels would add," if cv else "what more labels would add,"

    def is_running(self) -> bool:
        return self.run_id is not None

    def start(self, run_id: int) -> None:
        project = self.ctx.project
        if project is None or self.is_running():
            return
        self.run_id = int(run_id)
        self.label.setText(f"Run {run_id}: estimating {self._what(project.runs.get(self.run_id))[:-1]}…")
        self.button.setText("Stop estimating")
        self.setVisible(True)
        self._runner.start(_estimate_job, project, self.run_id)

    def stop(self) -> None:
        """Stop a running estimate (its run stays, with the estimate marked stopped)."""
        if self.is_running():
            self._runner.cancel()

    def show_for(self, run: Any) -> None:
        """The idle line for the run on screen: offer the estimate when it was never made."""
        if self.is_running():
            return
        from stsstudio.core.estimate import pending

        self._shown = run.id if run is not None and pending(run) else None
        if self._shown is None:
            self.setVisible(False)
            return
        self.label.setText(f"Run {run.id}: the estimate of {self._what(run)[:-1]} is not made yet.")
        self.button.setText("Estimate now")
        self.setVisible(True)

    @Slot()
    def _on_button(self) -> None:
        if self.is_running():
            self.button.setEnabled(False)
            self.label.setText("Stopping the estimate…")
            self.stop()
        elif self._shown is not None:
            self.start(self._shown)

    @Slot(str)
    def _on_status(self, message: str) -> None:
        if self.is_running():
            self.label.setText(f"Run {self.run_id}: {message}")

    @Slot()
    def _on_ended(self, *_: object) -> None:
        run_id, self.run_id = self.run_id, None
        self.button.setEnabled(True)
        self.setVisible(False)
        if run_id is not None:
            self.ctx.apply(Changes.of_runs())
            self.estimated.emit(run_id)

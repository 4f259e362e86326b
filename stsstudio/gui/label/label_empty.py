"""The labelling view's page when no pair is on screen, saying why and what to do next.

No page is a dead end (issue 20): a queue order that needs the model's scores offers to compute
them (the window's :class:`~stsstudio.gui.label.prediction_scheduler.PredictionScheduler` does, in the
background, with progress here), and an order with nothing to show says why in plain words and
offers the order that has pairs (:func:`~stsstudio.core.label_queue.why_empty`).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QProgressBar, QPushButton, QWidget

from stsstudio.core.label_queue import order_plan, queue_order, why_empty
from stsstudio.gui.common.context import ProjectContext
from stsstudio.gui.common.widgets import EmptyState
from stsstudio.gui.label.queue_bar import QueueBar


class LabelEmptyPage(EmptyState):
    """No project, no pairs, the end of the queue, a queue waiting for the model, or ranking.

    ``actionTriggered`` carries the main button: "Import pairs…" or "Start over" (``action``).
    The page's own buttons compute a model order's scores (``compute_button``) or switch the
    queue bar to an order that has pairs (``switch_button``).
    """

    def __init__(self, ctx: ProjectContext | None = None, bar: QueueBar | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__("Nothing to label", "", "Import pairs…", icon_name="label", parent=parent)
        self.ctx, self.bar = ctx, bar
        self.action = "import"
        self.switch_to = ""               # the order the switch button selects
        self.scoring: int | None = None   # the run whose scores are being computed
        self.compute_button = QPushButton("Compute the scores")
        self.compute_button.setObjectName("computeScores")
        self.compute_button.clicked.connect(self._on_compute)
        self.switch_button = QPushButton()
        self.switch_button.setObjectName("switchOrder")
        self.switch_button.clicked.connect(self._on_switch)
        self.score_progress = QProgressBar()
        self.score_progress.setObjectName("scoreProgress")
        self.score_progress.setMaximumWidth(320)
        self.score_progress.setFormat("%p%")
        layout = self.layout()
        for widget in (self.compute_button, self.switch_button, self.score_progress):
            widget.setVisible(False)
            layout.insertWidget(layout.count() - 1, widget, 0, Qt.AlignmentFlag.AlignHCenter)
        if ctx is not None:
            ctx.scoringProgressed.connect(self._on_scoring_progressed)
            ctx.scoringStopped.connect(self._on_scoring_stopped)
        self._state: dict[str, object] = {}

    def show_state(self, *, has_project: bool, problem: str, total: int, labeled: int,
                   split: str | None) -> None:
        """Say why nothing is shown (``problem``: a model order without predictions yet)."""
        self._state = {"has_project": has_project, "problem": problem, "total": total,
                       "labeled": labeled, "split": split}
        self.action, self.switch_to = "", ""
        for widget in (self.compute_button, self.switch_button, self.score_progress):
            widget.setVisible(False)
        if self.bar is not None:
            self.bar.clear_pair()
        project = self.ctx.project if self.ctx is not None else None
        order = self.bar.order if self.bar is not None else "file"
        if not has_project:
            self.set_text("No project open", "Open or create a project to start labelling.")
        elif total == 0:
            where = f" in the {split} split" if split else ""
            self.set_text("Nothing to label", f"There are no pairs{where} yet. Import a file of "
                                              "sentence pairs to start labelling.")
            self.action = "import"
            self.button.setText("Import pairs…")
        elif problem or (project is not None and queue_order(order).needs_predictions
                         and not order_plan(project, order).ready):
            self._show_needs_scores(order, problem)
        elif not self._show_reason(order, split, total - labeled):
            self.set_text("You reached the end", f"{labeled:,} of {total:,} pairs are labeled. "
                                                 "Start over to review them again.")
            self.action = "start_over"
            self.button.setText("Start over")
        self.button.setVisible(bool(self.action))

    def _show_needs_scores(self, order: str, problem: str) -> None:
        """A model order before any model has scored the pairs: offer to compute the scores."""
        project = self.ctx.project if self.ctx is not None else None
        plan = order_plan(project, order) if project is not None and not project.closed else None
        if plan is None or plan.ready:   # ranking failed for another reason: say it
            self.set_text("The queue could not be built", problem)
            self._offer_switch("file", "Label in file order")
            return
        label = queue_order(order).label
        if self.scoring is not None:
            self.set_text("Computing the model's scores…",
                          f"{label} needs the model's guesses: {plan.missing_names} is scoring every "
                          "pair. The queue appears when it is done; you can label in another order "
                          "meanwhile.")
            self.score_progress.setVisible(True)
            return
        if project.readonly:
            self.set_text("This order needs the model's scores",
                          f"{label} ranks the pairs by the model's guesses, and this project is open "
                          "read-only, so no scores can be stored. Open it for writing to compute them.")
            self._offer_switch("file", "Label in file order")
            return
        if any(r.status == "running" for r in project.runs.all()):
            self.set_text("Waiting for the model's scores",
                          f"{label} needs the model's guesses. A run is training now; the pairs are "
                          "scored as soon as it ends.")
            self._offer_switch("file", "Label in file order")
            return
        self.set_text("This order needs the model's scores",
                      f"{label} ranks the pairs by the model's guesses, and {plan.missing_names} has "
                      "not scored them yet. Compute the scores now: it runs in the background, and "
                      "the queue appears when it is done.")
        self.compute_button.setText("Compute the scores")
        self.compute_button.setEnabled(True)
        self.compute_button.setVisible(True)

    def _show_reason(self, order: str, split: str | None, unlabeled: int) -> bool:
        """An order with no pair for a reason other than the end of the queue: say why."""
        project = self.ctx.project if self.ctx is not None else None
        if project is None or project.closed:
            return False
        reason = why_empty(project, order, split=split, annotator=self.ctx.annotator or "",
                           unlabeled=unlabeled)
        if reason is None:
            return False
        self.set_text(reason.title, reason.message)
        self._offer_switch(reason.switch_to, reason.button)
        return True

    def _offer_switch(self, order: str, text: str) -> None:
        if self.bar is None or (self.bar.order == order):
            return
        self.switch_to = order
        self.switch_button.setText(text)
        self.switch_button.setVisible(True)

    @Slot()
    def _on_compute(self) -> None:
        if self.ctx is None:
            return
        self.compute_button.setEnabled(False)
        self.compute_button.setText("Starting…")
        self.ctx.scoresRequested.emit()

    @Slot()
    def _on_switch(self) -> None:
        if self.bar is not None and self.switch_to:
            index = self.bar.order_combo.findData(self.switch_to)
            self.bar.order_combo.setCurrentIndex(index)   # the view rebuilds its queue

    @Slot(int, int, int)
    def _on_scoring_progressed(self, run_id: int, done: int, total: int) -> None:
        started = self.scoring is None
        self.scoring = run_id
        self.score_progress.setRange(0, total if total else 0)
        if total:
            self.score_progress.setValue(done)
        if started:
            self._refresh()

    @Slot(int, str)
    def _on_scoring_stopped(self, _run_id: int, problem: str) -> None:
        self.scoring = None
        self._refresh()
        if problem and self.compute_button.isVisible():
            self.message.setText(f"Scoring the pairs stopped: {problem}. Try again, or label in "
                                 "another order.")

    def _refresh(self) -> None:
        """Show the last state again (a scoring started or stopped) while the page is on screen."""
        if self._state and self.isVisible():
            self.show_state(**self._state)   # type: ignore[arg-type]

    def show_ranking(self, order_label: str) -> None:
        """A model order ranks a big project's predictions in a worker."""
        self.action = ""
        self._state = {}
        for widget in (self.compute_button, self.switch_button, self.score_progress):
            widget.setVisible(False)
        self.set_text("Ranking pairs…", f"{order_label}: the model's predictions are being ranked.")
        self.button.setVisible(False)

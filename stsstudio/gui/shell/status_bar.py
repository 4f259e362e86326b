"""The main window's status bar: the project, its pair counts and whether the ML stack is ready."""

from __future__ import annotations

from PySide6.QtCore import QTimer, Slot
from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from stsstudio.core.store import Project
from stsstudio.gui.common import style
from stsstudio.gui.common.context import ProjectContext
from stsstudio.gui.common.workers import JobRunner


def _count_pairs(project: Project) -> tuple[int, int]:
    counts = project.counts.warm()   # a worker's job: the first count scans every pair
    return counts.total(), counts.labeled()


class StatusBar(QStatusBar):
    """Follows the context: project name, "N pairs · M labeled", ML readiness, messages."""

    def __init__(self, ctx: ProjectContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setSizeGripEnabled(False)
        self.project_label = QLabel()
        self.counts_label = QLabel()
        self.ml_label = QLabel()
        self.ml_label.setToolTip("The machine-learning libraries load in the background, so the "
                                 "window opens at once. Training and Try need them.")
        self.addWidget(self.project_label)
        self.addWidget(self.counts_label)
        self.addPermanentWidget(self.ml_label)
        self.set_ml_status(ctx.ml_ready, "")

        self._counter = JobRunner(self, serial=True)   # one count at a time; the newest wins
        self._counter.finished.connect(self._on_counts_ready)
        self._counts_timer = QTimer(self)
        self._counts_timer.setSingleShot(True)
        self._counts_timer.setInterval(250)
        self._counts_timer.timeout.connect(self.refresh_counts)
        ctx.pairsChanged.connect(self._schedule_counts)
        ctx.pairChanged.connect(self._on_pair_changed)
        ctx.mlReady.connect(self._on_ml_ready)
        ctx.statusMessage.connect(self._on_status_message)

    def show_project(self, project: Project | None) -> None:
        """Name ``project`` (None: no project) and count its pairs."""
        self.counts_label.setText("")
        if project is None:
            self._counter.cancel(quiet=True)   # a late count of the closed project is dropped
            self.project_label.setText("No project open")
            return
        self.project_label.setText(project.name)
        self.project_label.setToolTip(str(project.path))
        self.refresh_counts()

    @Slot(int)
    def _on_pair_changed(self, pair_id: int) -> None:
        self._schedule_counts()

    @Slot()
    def _schedule_counts(self) -> None:
        self._counts_timer.start()

    @Slot()
    def refresh_counts(self) -> None:
        """Update "N pairs · M labeled". Counting a million rows takes a while: off-thread."""
        project = self.ctx.project
        if project is None:
            return
        if project.counts.ready():   # kept in step by the project's writes: no scan
            counts = project.counts.get()
            self._show_counts((counts.total(), counts.labeled()))
            return
        # A failure (the project was closed meanwhile) leaves nothing to show.
        self._counter.start(_count_pairs, project)

    @Slot(object)
    def _on_counts_ready(self, counts: tuple[int, int]) -> None:
        self._show_counts(counts)

    def _show_counts(self, counts: tuple[int, int]) -> None:
        pairs, labeled = counts
        self.counts_label.setText(f"{pairs:,} pairs · {labeled:,} labeled")

    def set_ml_status(self, ready: bool, device: str = "") -> None:
        if ready:
            dot = f"<span style='color:{style.SUCCESS}'>●</span>"
            self.ml_label.setText(f"{dot} Model engine ready" + (f" · {device}" if device else ""))
        else:
            dot = f"<span style='color:{style.WARNING}'>●</span>"
            self.ml_label.setText(f"{dot} Loading ML libraries…")

    @Slot()
    def _on_ml_ready(self) -> None:
        self.set_ml_status(True, getattr(self.ctx, "device_label", ""))

    @Slot(str)
    def _on_status_message(self, text: str) -> None:
        self.showMessage(text, 6000)

"""The labelling view's pair counts: the project's counts for the queue's split, never a scan
on the GUI thread.

The counts are the project's :meth:`~stsstudio.core.store.Project.counts.get`, kept in step by its
own writes. Only the first count of a big project scans every pair (about 150 ms at a million),
so from :data:`ASYNC_COUNT_ROWS` pairs on it runs in a worker; the figures shown meanwhile are
the last ones, with the exact total (``COUNT(*)`` alone walks the smallest b-tree and is quick).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from stsstudio.core.store import PairCounts, Project
from stsstudio.gui.common.workers import JobRunner

ASYNC_COUNT_ROWS = 50_000  # from this many pairs on, the first count leaves the GUI thread


def warm_counts(project: Project) -> PairCounts:
    """The project's counts, for a worker (the first count scans every pair)."""
    return project.counts.warm()


class LabelCounts(QObject):
    """Total and labeled pairs of one split (or all), for the progress and the empty page.

    ``changed`` is emitted when a count from the worker arrives. ``fresh`` is true until the
    event loop turns once after a count, so a show event right after a reload does not count
    again.
    """

    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.total = 0
        self.labeled = 0
        self.split: str | None = None
        self.project: Project | None = None
        self.async_rows = ASYNC_COUNT_ROWS   # tests lower it to drive the worker path
        self.counting = False                # a first count runs in a worker
        self.fresh = False
        self._runner = JobRunner(self)
        self._runner.finished.connect(self._on_counted)
        self._runner.failed.connect(self._on_failed)

    def recount(self, project: Project | None, split: str | None) -> None:
        """Count the pairs of ``split`` (now, or in a worker for a big project's first count)."""
        self.project, self.split = project, split
        if project is None or project.closed:
            self.total = self.labeled = 0
        elif project.counts.ready() or project.pairs.max_id() < self.async_rows:
            self.take(project.counts.get())
        else:
            if not split:
                self.total = project.pairs.count()
            self.counting = True
            self._runner.start(warm_counts, project)
        self.fresh = True
        QTimer.singleShot(0, self._forget)

    def take(self, counts: PairCounts | None = None) -> None:
        """Show the project's counts (when they need no scan), or the given ones."""
        project = self.project
        if counts is None:
            if project is None or project.closed or not project.counts.ready():
                return
            counts = project.counts.get()
        self.total, self.labeled = counts.total(self.split), counts.labeled(self.split)

    def label_added(self, delta: int) -> None:
        """A pair got (+1) or lost (-1) its only label: exact once the first count is in."""
        self.labeled = max(0, self.labeled + delta)
        self.take()

    def _on_counted(self, counts: PairCounts) -> None:
        self.counting = False
        # Labels given since the worker answered are in the project's own counts.
        project = self.project
        self.take(project.counts.get() if project is not None and project.counts.ready() else counts)
        self.changed.emit()

    def _on_failed(self, _message: str, _details: str) -> None:
        self.async_rows = 1 << 62    # count on the GUI thread from now on
        self.counting = False
        self.recount(self.project, self.split)
        self.changed.emit()

    def _forget(self) -> None:
        self.fresh = False

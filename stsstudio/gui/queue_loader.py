"""The labelling view's queue: built on the GUI thread when that is quick, in a worker when a
model order must rank a big project's predictions.

A model order (:data:`~stsstudio.core.label_queue.MODEL_ORDERS`) reads every stored prediction
to rank the pairs: seconds at 200k pairs. From :data:`ASYNC_RANK_ROWS` pairs on the loader ranks
in a worker, and ranks the whole split at once, so no later page is ranked on the GUI thread
either (the queue is ranked again whenever a new prediction set arrives).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from stsstudio.core.label_queue import QUEUE_CHUNK, LabelQueue, queue_order
from stsstudio.core.store import Project
from stsstudio.gui.workers import JobRunner

ASYNC_RANK_ROWS = 20_000   # from this many pairs on, a model order ranks in a worker
WHOLE = 1 << 62            # a page size that takes every pair at once


def _rank_queue(queue: LabelQueue) -> LabelQueue:
    """A worker's job: rank a model order's queue (reads every prediction)."""
    queue.extend()
    return queue


class QueueLoader(QObject):
    """Builds the :class:`LabelQueue` for a split and an order; ``ready`` carries the pair to
    keep on screen (or None) once the queue can be read, at once or after the worker."""

    ready = Signal(object)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.queue = LabelQueue(None)
        self.async_rows = ASYNC_RANK_ROWS   # tests lower it to drive the worker path
        self.ranking = False                # a model order ranks in a worker
        self._keep: int | None = None
        self._runner = JobRunner(self)
        self._runner.finished.connect(self._on_ranked)
        self._runner.failed.connect(self._on_failed)

    def load(self, project: Project | None, split: str | None, order: str, annotator: str = "",
             keep: int | None = None) -> None:
        """A new queue; ``ready`` follows now, or when the worker has ranked it (``ranking``)."""
        self._runner.cancel(quiet=True)
        self.ranking = False
        big = project is not None and queue_order(order).needs_predictions \
            and project.pair_count() >= self.async_rows
        self.queue = LabelQueue(project, split, order, annotator=annotator,
                                chunk=WHOLE if big else QUEUE_CHUNK)
        if big:
            self.ranking, self._keep = True, keep
            self._runner.start(_rank_queue, self.queue)
            return
        self.queue.extend()
        self.ready.emit(keep)

    def _on_ranked(self, queue: LabelQueue) -> None:
        if queue is self.queue:
            self.ranking = False
            self.ready.emit(self._keep)

    def _on_failed(self, message: str, _details: str) -> None:
        self.ranking = False
        self.queue.problem = message
        self.failed.emit(message)

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
from stsstudio.core.store import Pair, Project
from stsstudio.gui.common.workers import JobRunner

ASYNC_RANK_ROWS = 20_000   # from this many pairs on, a model order ranks in a worker
WHOLE = 1 << 62            # a page size that takes every pair at once


def _rank_queue(queue: LabelQueue) -> LabelQueue:
    """A worker's job: rank a model order's queue (reads every prediction)."""
    queue.extend()
    return queue


class QueueLoader(QObject):
    """Builds the :class:`LabelQueue` for a split and an order; ``ready`` carries the pair to
    keep on screen (or None) once the queue can be read, at once or after the worker.

    While a worker ranks, :attr:`queue` stays the previous queue, so the pair on screen and
    the pairs after it keep working; the ranked queue replaces it only when it is ready."""

    ready = Signal(object)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.queue = LabelQueue(None)
        self.async_rows = ASYNC_RANK_ROWS   # tests lower it to drive the worker path
        self.ranking = False                # a model order ranks in a worker
        self._keep: int | None = None
        self._pending: LabelQueue | None = None   # being ranked in the worker
        self._runner = JobRunner(self)
        self._runner.finished.connect(self._on_ranked)
        self._runner.failed.connect(self._on_failed)

    def load(self, project: Project | None, split: str | None, order: str, annotator: str = "",
             keep: int | None = None) -> None:
        """A new queue; ``ready`` follows now, or when the worker has ranked it (``ranking``)."""
        self._runner.cancel(quiet=True)
        self.ranking, self._pending = False, None
        big = project is not None and queue_order(order).needs_predictions \
            and project.pairs.count() >= self.async_rows
        queue = LabelQueue(project, split, order, annotator=annotator,
                           chunk=WHOLE if big else QUEUE_CHUNK)
        if big:
            self.ranking, self._keep, self._pending = True, keep, queue
            self._runner.start(_rank_queue, queue)
            return
        self.queue = queue
        self.queue.extend()
        self.ready.emit(keep)

    def _on_ranked(self, queue: LabelQueue) -> None:
        if queue is self._pending:
            self.queue, self._pending = queue, None
            self.ranking = False
            self.ready.emit(self._keep)

    def _on_failed(self, message: str, _details: str) -> None:
        self.ranking = False
        if self._pending is not None:
            self.queue, self._pending = self._pending, None
        self.queue.problem = message
        self.failed.emit(message)


class PairCache:
    """The Label view's pairs around the queue position, fetched ahead in one query."""

    def __init__(self) -> None:
        self._pairs: dict[int, Pair] = {}

    def __len__(self) -> int:
        return len(self._pairs)

    def clear(self) -> None:
        self._pairs.clear()

    def pop(self, pair_id: int, default: Pair | None = None) -> Pair | None:
        return self._pairs.pop(pair_id, default)

    def get(self, project: Project | None, pair_id: int) -> Pair | None:
        """The pair, from the cache or the project (None: deleted, or no project)."""
        pair = self._pairs.get(pair_id)
        if pair is None and project is not None:
            pair = project.pairs.get(pair_id)
            if pair is not None:
                self._pairs[pair_id] = pair
        return pair

    def prefetch(self, project: Project, ids: list[int], pos: int, ahead: int) -> None:
        """Fetch the ``ahead`` pairs after ``pos`` when half of them are missing; drop what is
        far behind."""
        upcoming = ids[pos + 1:pos + 1 + ahead]
        if any(i not in self._pairs for i in upcoming[:ahead // 2]):
            self._pairs.update(project.pairs.by_ids(upcoming))
        if len(self._pairs) > 4 * ahead:
            keep = set(ids[max(0, pos - ahead):pos + 1 + ahead])
            self._pairs = {k: v for k, v in self._pairs.items() if k in keep}

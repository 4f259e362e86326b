"""The labelling queue: which pair comes next.

Unlabeled pairs come first, in file order or in a seeded shuffle, then the labeled ones for
review. The labelling view shows the queue; the project answers its one query
(:meth:`~stsstudio.core.store.Project.label_queue_ids`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from stsstudio.core.store import Project

RANDOM_SEED = 42
QUEUE_CHUNK = 2000       # ids read at a time in file order


@dataclass(frozen=True)
class QueueOrder:
    name: str
    label: str
    help: str


# The queue orders: the view's combo box reads this table.
QUEUE_ORDERS: tuple[QueueOrder, ...] = (
    QueueOrder("file", "File order", "Unlabeled pairs first, in the order they were imported"),
    QueueOrder("random", "Random order",
               f"Unlabeled pairs first, shuffled (seed {RANDOM_SEED}): the same order every time"),
)


class LabelQueue:
    """Pair ids in labelling order, read from the project a page at a time.

    In file order the ids come in chunks (keyset pagination on the primary key), so opening
    the queue on a million pairs reads a few thousand ids, not all of them. A seeded shuffle
    needs each phase's whole list, once.

    Args:
        project: the open project.
        split: only the pairs of this split, or None for all.
        order: ``"file"`` or ``"random"`` (see :data:`QUEUE_ORDERS`).
        chunk: ids read at a time in file order.
    """

    def __init__(self, project: Project | None, split: str | None = None, order: str = "file",
                 chunk: int = QUEUE_CHUNK) -> None:
        if order not in {o.name for o in QUEUE_ORDERS}:
            raise ValueError(f"unknown queue order {order!r}")
        self.project, self.split, self.order, self.chunk = project, split, order, chunk
        self.ids: list[int] = []
        self.queued: set[int] = set()
        self._phase = "unlabeled" if project is not None else "done"
        self._last_id = 0

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, pair_id: object) -> bool:
        return pair_id in self.queued

    def extend(self) -> bool:
        """Append the next ids; False once every pair of the split is queued."""
        project = self.project
        added = 0
        while self._phase != "done" and not added and project is not None:
            labeled = self._phase == "labeled"
            if self.order == "random":
                ids = project.label_queue_ids(labeled=labeled, split=self.split)
                random.Random(RANDOM_SEED + int(labeled)).shuffle(ids)
                exhausted = True
            else:
                ids = project.label_queue_ids(labeled=labeled, split=self.split,
                                              after_id=self._last_id, limit=self.chunk)
                exhausted = len(ids) < self.chunk
                if ids:
                    self._last_id = ids[-1]
            fresh = [i for i in ids if i not in self.queued]
            self.ids.extend(fresh)
            self.queued.update(fresh)
            added += len(fresh)
            if exhausted:
                self._phase, self._last_id = ("labeled" if not labeled else "done"), 0
        return added > 0

    def insert(self, pos: int, pair_id: int) -> None:
        """Put a pair at ``pos`` (a pair opened from elsewhere)."""
        self.ids.insert(pos, pair_id)
        self.queued.add(pair_id)

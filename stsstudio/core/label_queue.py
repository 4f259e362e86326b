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
    adjudicates: bool = False   # a score given in this order settles the pair (adjudication)


# The queue orders: the view's combo box reads this table.
QUEUE_ORDERS: tuple[QueueOrder, ...] = (
    QueueOrder("file", "File order", "Unlabeled pairs first, in the order they were imported"),
    QueueOrder("random", "Random order",
               f"Unlabeled pairs first, shuffled (seed {RANDOM_SEED}): the same order every time"),
    QueueOrder("assigned", "My assignment",
               "The pairs assigned to you (your share and the shared overlap) that you have not "
               "labeled yet, then the ones you have"),
    QueueOrder("disagreements", "Resolve disagreements",
               "Pairs whose annotators differ by more than a quarter of the scale, largest spread "
               "first; the score you give is recorded as the adjudicated value", adjudicates=True),
)


def queue_order(name: str) -> QueueOrder:
    """The :data:`QUEUE_ORDERS` entry called ``name``."""
    for order in QUEUE_ORDERS:
        if order.name == name:
            return order
    raise ValueError(f"unknown queue order {name!r}")


class LabelQueue:
    """Pair ids in labelling order, read from the project a page at a time.

    In file order the ids come in chunks (keyset pagination on the primary key), so opening
    the queue on a million pairs reads a few thousand ids, not all of them. A seeded shuffle
    needs each phase's whole list, once.

    Args:
        project: the open project.
        split: only the pairs of this split, or None for all.
        order: the name of one of :data:`QUEUE_ORDERS`.
        chunk: ids read at a time in file order.
        annotator: whose assignment the ``"assigned"`` order follows.
    """

    def __init__(self, project: Project | None, split: str | None = None, order: str = "file",
                 chunk: int = QUEUE_CHUNK, annotator: str = "") -> None:
        queue_order(order)
        self.project, self.split, self.order, self.chunk = project, split, order, chunk
        self.annotator = annotator
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
            if self.order in ("assigned", "disagreements"):
                ids = self._annotator_ids(project, labeled)
                exhausted = True
            elif self.order == "random":
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

    def _annotator_ids(self, project: Project, labeled: bool) -> list[int]:
        """The two orders of several annotators (issue 15), in id or spread order."""
        if self.order == "disagreements":
            from stsstudio.core.agreement import disagreements

            return [] if labeled else [d.pair_id for d in disagreements(project, split=self.split)]
        todo = project.assigned_pair_ids(self.annotator, unlabeled_by_annotator=True)
        ids = ([i for i in project.assigned_pair_ids(self.annotator) if i not in set(todo)]
               if labeled else todo)
        if self.split and ids:
            pairs = project.pairs_by_ids(ids)
            ids = [i for i in ids if i in pairs and pairs[i].split == self.split]
        return ids

    def insert(self, pos: int, pair_id: int) -> None:
        """Put a pair at ``pos`` (a pair opened from elsewhere)."""
        self.ids.insert(pos, pair_id)
        self.queued.add(pair_id)

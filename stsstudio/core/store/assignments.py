"""Assignments: each annotator's share of the pairs, plus the shared overlap."""

from __future__ import annotations

from collections.abc import Sequence

from stsstudio.core.errors import UserError
from stsstudio.core.store.annotators import Annotators
from stsstudio.core.store.db import Database
from stsstudio.core.store.labels import Labels
from stsstudio.core.store.pairs import Pairs


class Assignments:
    """``project.assignments``: who labels which pairs."""

    def __init__(self, db: Database, annotators: Annotators, labels: Labels, pairs: Pairs) -> None:
        self._db = db
        self._annotators = annotators
        self._labels = labels
        self._pairs = pairs

    def assign(self, annotators: Sequence[str], overlap: float, *, seed: int = 42,
               unlabeled_only: bool = True) -> dict[str, dict[str, int]]:
        """Share the pairs among annotators, with a seeded overlap that everyone labels.

        A seeded ``overlap`` fraction of the pool goes to every annotator (the double-labelled
        pairs agreement is measured on); the rest is dealt out in disjoint shares. Replaces
        any earlier assignment. Returns ``{annotator: {"share": n, "overlap": k}}``.

        Args:
            annotators: two or more names (duplicates and blanks are dropped).
            overlap: fraction of the pool, 0 to 1.
            seed: the same seed and pool give the same assignment.
            unlabeled_only: the pool is the unlabeled pairs (else every pair).
        """
        import random

        names = list(dict.fromkeys(self._annotators.spellings(annotators, remember=True).values()))
        names = [a for a in names if a]
        if not names:
            raise UserError("name at least one annotator")
        if not 0.0 <= overlap <= 1.0:
            raise UserError(f"the overlap must be between 0 and 100 %, not {overlap * 100:g} %")
        sql = "SELECT id FROM pairs" + (" WHERE score IS NULL" if unlabeled_only else "") + " ORDER BY id"
        pool = [r[0] for r in self._db._execute(sql)]
        random.Random(seed).shuffle(pool)
        k = int(round(len(pool) * overlap))
        shared, rest = pool[:k], pool[k:]
        rows = [(pid, a, 1) for a in names for pid in shared]
        for i, a in enumerate(names):
            rows += [(pid, a, 0) for pid in rest[i::len(names)]]
        with self._db.transaction() as cur:
            cur.execute("DELETE FROM assignments")
            cur.executemany("INSERT INTO assignments (pair_id, annotator, overlap) VALUES (?, ?, ?)", rows)
        return self.summary()

    def summary(self) -> dict[str, dict[str, int]]:
        """``{annotator: {"share": pairs of their own, "overlap": shared pairs}}``."""
        out: dict[str, dict[str, int]] = {}
        for annotator, overlap, n in self._db._execute(
                "SELECT annotator, overlap, COUNT(*) FROM assignments GROUP BY annotator, overlap "
                "ORDER BY annotator"):
            out.setdefault(annotator, {"share": 0, "overlap": 0})["overlap" if overlap else "share"] = n
        return out

    def pair_ids(self, annotator: str, *, unlabeled_by_annotator: bool = False) -> list[int]:
        """The pairs assigned to ``annotator`` (share and overlap), in id order.

        With ``unlabeled_by_annotator``, only those this annotator has not labelled yet: the
        Label view's queue for one annotator.
        """
        annotator = self._annotators.spelling(annotator)
        sql = "SELECT a.pair_id FROM assignments a WHERE a.annotator = ?"
        if unlabeled_by_annotator:
            sql += (" AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.pair_id = a.pair_id "
                    "AND l.annotator = a.annotator AND l.adjudicated = 0)")
        return [r[0] for r in self._db._execute(sql + " ORDER BY a.pair_id", (annotator,))]

    def rows(self, annotator: str) -> list[tuple[str, str, float | None, str]]:
        """A labelling pack: ``(sentence1, sentence2, score, split)`` of the annotator's
        assigned pairs, the score being their own latest label (None when not labelled yet)."""
        annotator = self._annotators.spelling(annotator)
        ids = self.pair_ids(annotator)
        own = {pid: score for pid, _s, a, score in self._labels.by_annotator(pair_ids=ids) if a == annotator}
        pairs = self._pairs.by_ids(ids)
        return [(pairs[i].sentence1, pairs[i].sentence2, own.get(i), pairs[i].split) for i in ids]

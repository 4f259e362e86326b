"""Labels: each pair's history, several annotators' labels and adjudication."""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from typing import Any

from stsstudio.core.errors import ProjectError, UserError
from stsstudio.core.store.annotators import Annotators
from stsstudio.core.store.counts import Counts
from stsstudio.core.store.db import Database, _chunked_rows, _Cursor
from stsstudio.core.store.records import (
    LABEL_AGGREGATES,
    LABEL_SOURCES,
    Label,
    _score_or_none,
    aggregate_target,
    effective_labels,
)


class Labels:
    """``project.labels``: giving, taking back, merging and adjudicating labels."""

    def __init__(self, db: Database, counts: Counts, annotators: Annotators) -> None:
        self._db = db
        self._counts = counts
        self._annotators = annotators

    def set(self, pair_id: int, score: float, annotator: str = "", *, source: str = "",
            model_run: int | None = None, guess: float | None = None,
            surprise: bool = False) -> int:
        """Label a pair now: append to its history and make it the current score.

        Committed before returning, so a crash a moment later loses nothing.
        Returns the new label's id (for undo).

        Args:
            source: "" (a person), "model" (the model's guess accepted as the label) or "review"
                (a revision from the review queue); see :data:`LABEL_SOURCES`.
            model_run: the run whose guess was shown (0: the base model).
            guess: the model's calibrated guess (0..1) at the time.
            surprise: label and guess differed by more than the surprise threshold.
        """
        if source not in LABEL_SOURCES:
            raise ValueError(f"unknown label source {source!r}")
        score = float(score)
        if not 0.0 <= score <= 1.0 or score != score:
            raise ValueError(f"a score must be between 0 and 1, not {score}")
        annotator = self._annotators.spelling(annotator, remember=True)
        now = time.time()
        with self._counts.counting([pair_id]) as cur:
            cur.execute("UPDATE pairs SET score = ?, annotator = ?, updated_at = ? WHERE id = ?",
                        (score, annotator, now, pair_id))
            if cur.rowcount != 1:
                raise ProjectError(f"pair {pair_id} does not exist")
            cur.execute("INSERT INTO labels (pair_id, score, annotator, created_at, source, model_run, "
                        "guess, surprise) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (pair_id, score, annotator, now, source, model_run,
                         None if guess is None else float(guess), int(bool(surprise))))
            label_id = cur.lastrowid
            # With one annotator this keeps the score just written; with several the target
            # is their mean (or median), and an adjudicated value wins.
            refresh_target(cur, pair_id, now)
        return int(label_id)

    def remove(self, label_id: int) -> None:
        """Take one label back (undo): the pair's score becomes its previous label, or none."""
        row = self._db._execute("SELECT pair_id FROM labels WHERE id = ?", (label_id,))
        if not row:
            return
        pair_id = row[0][0]
        with self._counts.counting([pair_id]) as cur:
            row = cur.execute("SELECT pair_id FROM labels WHERE id = ?", (label_id,)).fetchone()
            if row is None:
                return
            cur.execute("DELETE FROM labels WHERE id = ?", (label_id,))
            refresh_target(cur, pair_id)

    def history(self, pair_id: int) -> list[Label]:
        rows = self._db._execute("SELECT id, pair_id, score, annotator, created_at, adjudicated, source, "
                             "model_run, guess, surprise FROM labels "
                             "WHERE pair_id = ? ORDER BY created_at, id", (pair_id,))
        return [Label(*r[:5], adjudicated=bool(r[5]), source=r[6] or "", model_run=r[7], guess=r[8],
                      surprise=bool(r[9])) for r in rows]

    @property
    def aggregate(self) -> str:
        """How several annotators' labels become the target: "mean" (default) or "median"."""
        rows = self._db._execute(_AGGREGATE_SQL)
        return _aggregate_of(rows[0] if rows else None)

    def set_aggregate(self, how: str) -> int:
        """Choose mean or median for pairs with several annotators; returns how many changed."""
        if how not in LABEL_AGGREGATES:
            raise UserError(f"unknown label aggregate {how!r}; use {' or '.join(LABEL_AGGREGATES)}")
        multi = [r[0] for r in self._db._execute(
            "SELECT pair_id FROM labels WHERE adjudicated = 0 GROUP BY pair_id "
            "HAVING COUNT(DISTINCT annotator) > 1")]
        with self._counts.counting(multi) as cur:
            cur.execute("INSERT INTO meta (key, value) VALUES ('label_aggregate', ?) "
                        "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (how,))
            before = dict(_chunked_rows(cur, "SELECT id, score FROM pairs WHERE id IN ({})", multi))
            for pid in multi:
                refresh_target(cur, pid)
            after = dict(_chunked_rows(cur, "SELECT id, score FROM pairs WHERE id IN ({})", multi))
        return sum(1 for pid in multi if before.get(pid) != after.get(pid))

    def adjudicate(self, pair_id: int, score: float, annotator: str = "") -> int:
        """Settle a pair's target: an adjudicated label wins over the annotators' mean.

        Recorded in the history as adjudicated (undo with :meth:`remove`); it is not one
        annotator's label, so agreement figures leave it out. Returns the label's id.
        """
        score = float(score)
        if not 0.0 <= score <= 1.0 or score != score:
            raise ValueError(f"a score must be between 0 and 1, not {score}")
        annotator = self._annotators.spelling(annotator, remember=True)
        now = time.time()
        with self._counts.counting([pair_id]) as cur:
            if cur.execute("SELECT 1 FROM pairs WHERE id = ?", (pair_id,)).fetchone() is None:
                raise ProjectError(f"pair {pair_id} does not exist")
            cur.execute("INSERT INTO labels (pair_id, score, annotator, created_at, adjudicated) "
                        "VALUES (?, ?, ?, ?, 1)", (pair_id, score, annotator, now))
            label_id = cur.lastrowid
            refresh_target(cur, pair_id, now)
        return int(label_id)

    def by_annotator(self, split: str | None = None, pair_ids: Sequence[int] | None = None,
                     *, raw: bool = False) -> list[tuple[int, str, str, float]]:
        """Each annotator's latest label per pair: ``(pair_id, split, annotator, score)``.

        Adjudicated labels are left out, and so are imported labels on a pair a person has
        labelled since (see :func:`effective_labels`), unless ``raw``. Ordered by pair id,
        then annotator.
        """
        sql = ("SELECT l.pair_id, p.split, l.annotator, l.score, l.adjudicated FROM labels l "
               "JOIN pairs p ON p.id = l.pair_id WHERE 1")
        params: list[Any] = []
        if split:
            sql += " AND p.split = ?"
            params.append(split)
        if pair_ids is not None:
            rows: list[tuple] = []
            ids = list(pair_ids)
            for start in range(0, len(ids), 900):
                chunk = ids[start:start + 900]
                rows += self._db._execute(sql + f" AND l.pair_id IN ({','.join('?' * len(chunk))})"
                                      " ORDER BY l.pair_id, l.created_at, l.id", [*params, *chunk])
        else:
            rows = self._db._execute(sql + " ORDER BY l.pair_id, l.created_at, l.id", params)
        out: list[tuple[int, str, str, float]] = []
        for pid, group in itertools.groupby(rows, key=lambda r: r[0]):
            group = list(group)
            latest, _ = effective_labels([(r[3], r[2], r[4]) for r in group
                                          if _score_or_none(r[3]) is not None], keep_import=raw)
            split_of = group[0][1]
            out += [(pid, split_of, a, latest[a]) for a in sorted(latest)]
        return out

    def adjudicated(self) -> dict[int, float]:
        """The latest adjudicated value of each pair that has one."""
        rows = self._db._execute("SELECT pair_id, score FROM labels WHERE adjudicated = 1 "
                             "ORDER BY created_at, id")
        return {pid: score for pid, score in rows if _score_or_none(score) is not None}

    def summaries(self, pair_ids: Sequence[int]) -> dict[int, tuple[int, float]]:
        """``{pair_id: (annotators, spread)}`` for labelled pairs among ``pair_ids``.

        The Pairs table's "Labels" and "Spread" columns: how many annotators' labels make
        the target, and the largest minus the smallest of them.
        """
        by_pair: dict[int, list[float]] = {}
        for pid, _split, _annotator, score in self.by_annotator(pair_ids=pair_ids):
            by_pair.setdefault(pid, []).append(score)
        return {pid: (len(v), max(v) - min(v)) for pid, v in by_pair.items()}

    def merge(self, labels: Sequence[tuple[int, str, float]],
              new_pairs: Sequence[tuple[str, str, str, int, Sequence[tuple[str, float]]]] = (),
              *, source: str | None = None,
              adjudicated: Sequence[tuple[int, float]] = (),
              new_adjudicated: dict[int, float] | None = None) -> list[int]:
        """Write merged labels in one transaction: all or nothing.

        Args:
            labels: ``(pair_id, annotator, score)`` on existing pairs.
            new_pairs: ``(sentence1, sentence2, split, pair_hash, [(annotator, score), ...])``
                of pairs the project does not have yet.
            source: recorded on the new pairs.
            adjudicated: ``(pair_id, score)`` adjudicated values on existing pairs.
            new_adjudicated: adjudicated values of new pairs, by their ``pair_hash``.

        Returns the ids of the new pairs. Targets are recomputed for every pair touched.
        """
        new_adjudicated = new_adjudicated or {}
        scores = [s for _p, _a, s in labels] + [s for _p, s in adjudicated] + list(new_adjudicated.values())
        for score in scores:
            if not 0.0 <= float(score) <= 1.0:
                raise ValueError(f"a score must be between 0 and 1, not {score}")
        spell = self._annotators.spellings([a for _p, a, _s in labels]
                                         + [a for *_x, pl in new_pairs for a, _s in pl], remember=True)
        labels = [(pid, spell[a], s) for pid, a, s in labels]
        new_pairs = [(s1, s2, sp, h, [(spell[a], s) for a, s in pl]) for s1, s2, sp, h, pl in new_pairs]
        touched = sorted({pid for pid, _a, _s in labels} | {pid for pid, _s in adjudicated})
        now = time.time()
        new_ids: list[int] = []
        with self._db._lock, self._counts.counting(touched) as cur:
            cur.executemany("INSERT INTO labels (pair_id, score, annotator, created_at) "
                            "VALUES (?, ?, ?, ?)", [(pid, float(s), a, now) for pid, a, s in labels])
            settled = [(pid, float(s), now) for pid, s in adjudicated]
            for s1, s2, split, h, pair_labels in new_pairs:
                cur.execute("INSERT INTO pairs (sentence1, sentence2, pair_hash, split, source, "
                            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                            (s1, s2, int(h), split, source, now, now))
                pid = cur.lastrowid
                new_ids.append(pid)
                cur.executemany("INSERT INTO labels (pair_id, score, annotator, created_at) "
                                "VALUES (?, ?, ?, ?)", [(pid, float(s), a, now) for a, s in pair_labels])
                if int(h) in new_adjudicated:
                    settled.append((pid, float(new_adjudicated[int(h)]), now))
            cur.executemany("INSERT INTO labels (pair_id, score, annotator, created_at, adjudicated) "
                            "VALUES (?, ?, '', ?, 1)", settled)
            for pid in touched + new_ids:
                refresh_target(cur, pid, now)
        if new_ids:
            with self._db._lock:  # new pairs: the cached counts are recounted on demand
                self._counts.changed({}, {}, exact=False)
        return new_ids

    def surprise_count(self) -> int:
        """How many labels were recorded as a surprise (label far from the model's guess)."""
        return int(self._db._scalar("SELECT COUNT(*) FROM labels WHERE surprise = 1") or 0)


_AGGREGATE_SQL = "SELECT value FROM meta WHERE key = 'label_aggregate'"


def _aggregate_of(row: Sequence[Any] | None) -> str:
    value = row[0] if row else "mean"
    return value if value in LABEL_AGGREGATES else "mean"


def refresh_target(cur: _Cursor, pair_id: int, now: float | None = None) -> None:
    """Set a pair's current score (the training target) from its labels."""
    rows = cur.execute("SELECT score, annotator, adjudicated FROM labels WHERE pair_id = ? "
                       "ORDER BY created_at, id", (pair_id,)).fetchall()
    latest, adjudicated = effective_labels(rows)
    score = aggregate_target(latest, adjudicated, _aggregate_of(cur.execute(_AGGREGATE_SQL).fetchone()))
    annotator = rows[-1][1] if rows else None
    cur.execute("UPDATE pairs SET score = ?, annotator = ?, updated_at = ? WHERE id = ?",
                (score, annotator, time.time() if now is None else now, pair_id))

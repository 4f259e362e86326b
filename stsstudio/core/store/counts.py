"""Pair counts per split, kept in step by the project's own writes."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from stsstudio.core.errors import ProjectError
from stsstudio.core.store.db import Database, _Cursor
from stsstudio.core.store.records import SPLITS, PairCounts

# (split, pairs, labeled, flagged) per split; a scan of the whole table at the first call only.
_COUNTS_SQL = ("SELECT split, COUNT(*), COUNT(score), COALESCE(SUM(flagged), 0) FROM pairs "
               "GROUP BY split")
_COUNTS_SINCE_SQL = ("SELECT split, COUNT(*), COUNT(score), COALESCE(SUM(flagged), 0) FROM pairs "
                     "WHERE id > ? GROUP BY split")
# Above this many pairs a bulk edit drops the cached counts instead of tallying them pair by pair.
_TALLY_MAX = 20_000


def _tally_rows(rows: Iterable[Sequence[Any]]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for split, n, labeled, flagged in rows:
        acc = out.setdefault(split, [0, 0, 0])
        acc[0] += int(n)
        acc[1] += int(labeled)
        acc[2] += int(flagged or 0)
    return out


class Counts:
    """``project.counts``: pairs, labeled and flagged pairs per split."""

    def __init__(self, db: Database) -> None:
        self._db = db
        # Pair counts by split, kept in step by this project's own writes (it is the only writer:
        # the lock file keeps other processes out). None until first computed.
        self._table: dict[str, list[int]] | None = None
        self._generation = 0   # bumped by every write that may change the counts

    @property
    def cached(self) -> bool:
        """Whether the counts are kept (else :meth:`get` scans, and writes need not tally)."""
        return self._table is not None

    def get(self) -> PairCounts:
        """Pairs, labeled pairs and flagged pairs per split: the one count every view shows.

        Computed by one scan at the first call, then kept in step by this project's own
        writes (a label costs two primary-key lookups, never a scan). A read-only project
        counts afresh each time, since another process may be writing.
        """
        with self._db._lock:
            if self._db.closed:
                raise ProjectError("the project is closed")
            table = self._table
            if table is None:
                table = _tally_rows(self._db._conn.execute(_COUNTS_SQL))
                if not self._db.readonly:
                    self._table = table
            return self._record(table)

    def forget(self) -> None:
        """Drop the cached counts: the next :meth:`get` scans again.

        For a caller that wrote pairs through :meth:`Project.transaction` rather than a named method.
        """
        with self._db._lock:
            self._table = None
            self._generation += 1

    def ready(self) -> bool:
        """Whether :meth:`get` answers without a scan (call :meth:`warm` otherwise)."""
        with self._db._lock:
            return self._table is not None and not self._db.closed

    def warm(self) -> PairCounts:
        """Compute the counts for a worker thread, leaving the shared connection free meanwhile.

        The scan runs on a private read-only connection. Its result is kept only if no write
        came in between (else it tries again), so it is exact.
        """
        for _ in range(3):
            with self._db._lock:
                if self._table is not None or self._db.closed or self._db.readonly:
                    return self.get()
                generation = self._generation
            conn = sqlite3.connect(self._db.db_path.as_uri() + "?mode=ro", uri=True)
            try:
                table = _tally_rows(conn.execute(_COUNTS_SQL))
            finally:
                conn.close()
            with self._db._lock:
                if generation == self._generation and self._table is None:
                    self._table = table
                    return self._record(table)
        return self.get()

    @staticmethod
    def _record(table: dict[str, list[int]]) -> PairCounts:
        return PairCounts(
            splits={s: table.get(s, [0, 0, 0])[0] for s in SPLITS},
            labeled_splits={s: table.get(s, [0, 0, 0])[1] for s in SPLITS},
            flagged_splits={s: table.get(s, [0, 0, 0])[2] for s in SPLITS})

    @contextlib.contextmanager
    def counting(self, pair_ids: Sequence[int]) -> Iterator[_Cursor]:
        """A write transaction on some pairs that keeps the cached counts in step.

        Tallies the pairs before and after the write, inside the transaction, and applies the
        difference once it has committed. Bulk edits just drop the cache.
        """
        ids = list(pair_ids)
        with self._db._lock:
            tally = self._table is not None and len(ids) <= _TALLY_MAX
            with self._db.transaction() as cur:
                before = self._tally_ids(cur, ids) if tally else {}
                yield cur
                after = self._tally_ids(cur, ids) if tally else {}
            self.changed(before, after, exact=tally)

    @staticmethod
    def _tally_ids(cur: _Cursor, ids: list[int]) -> dict[str, list[int]]:
        rows: list[tuple] = []
        for start in range(0, len(ids), 900):
            chunk = ids[start:start + 900]
            marks = ",".join("?" * len(chunk))
            rows += cur.execute("SELECT split, COUNT(*), COUNT(score), COALESCE(SUM(flagged), 0) "
                                f"FROM pairs WHERE id IN ({marks}) GROUP BY split", chunk).fetchall()
        return _tally_rows(rows)

    def changed(self, before: dict[str, list[int]], after: dict[str, list[int]],
                exact: bool = True) -> None:
        """Apply a committed write's difference to the cached counts (call with the lock held)."""
        self._generation += 1
        if self._table is None:
            return
        if not exact:
            self._table = None
            return
        for split in set(before) | set(after):
            acc = self._table.setdefault(split, [0, 0, 0])
            b, a = before.get(split, [0, 0, 0]), after.get(split, [0, 0, 0])
            for k in range(3):
                acc[k] += a[k] - b[k]

"""The pairs of a project: insert, read, query, edit, delete and restore."""

from __future__ import annotations

import contextlib
import itertools
import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from stsstudio.core.errors import ProjectError
from stsstudio.core.hashing import pair_hash
from stsstudio.core.store.counts import _COUNTS_SINCE_SQL, Counts, _tally_rows
from stsstudio.core.store.db import _CHUNK_ROWS, Database, _chunked_rows, _Cursor, _sql_literal
from stsstudio.core.store.labels import refresh_target
from stsstudio.core.store.records import (
    _PAIR_COLUMNS,
    PAIR_FILTERS,
    SORTABLE_COLUMNS,
    SPLITS,
    InsertReport,
    Pair,
    PairRows,
    _metadata,
    _pair,
    _score_or_none,
    choose_dev,
)


def _insert_sql(source: str | None, annotator: str, now: float, *, with_metadata: bool) -> str:
    """The statement that inserts one pair row.

    Constants go into the statement as literals so that SQLite binds 6 values per row, not
    10; _sql_literal quotes them safely. Metadata is bound only when a file has it.
    """
    return (
        "INSERT INTO pairs (sentence1, sentence2, score, split, source_row, pair_hash, source, "
        f"annotator, created_at, updated_at{', metadata' if with_metadata else ''}) "
        # Plain ``?`` placeholders (numbered ones with a sequence are deprecated from
        # Python 3.12): the row is a one-row SELECT, so the score is read twice by name.
        "SELECT s1, s2, sc, sp, sr, ph, "
        f"{_sql_literal(source)}, CASE WHEN sc IS NULL THEN NULL ELSE {_sql_literal(annotator)} END, "
        f"{now!r}, {now!r}{', md' if with_metadata else ''} "
        "FROM (SELECT ? AS s1, ? AS s2, ? AS sc, ? AS sp, ? AS sr, ? AS ph"
        f"{', ? AS md' if with_metadata else ''})"
    )


def _write_rows(cur: _Cursor, sql: str, rows: PairRows,
                progress: Callable[[int, int], None] | None) -> None:
    """Insert ``rows`` with ``sql``: in one call, or in chunks with ``progress`` between them."""
    total = len(rows)
    it = iter(rows) if rows.metadata is None else (
        (*row, meta) for row, meta in zip(rows, rows.metadata))
    if progress is None:  # one call: no per-chunk lists to build
        cur.executemany(sql, it)
        return
    done = 0
    while chunk := list(itertools.islice(it, _CHUNK_ROWS)):
        cur.executemany(sql, chunk)
        done += len(chunk)
        progress(done, total)


def _copy_first_labels(cur: _Cursor, before: int, annotator: str, now: float) -> int:
    """Labels that arrive with the pairs (ids above ``before``) become the first entry of their
    history, copied inside SQLite rather than round-tripped through Python. Annotator and time
    are the constants written on those pairs: literals are cheaper than reading the last
    columns of each pair's record. Returns how many."""
    cur.execute("INSERT INTO labels (pair_id, score, annotator, created_at) "
                f"SELECT id, score, {_sql_literal(annotator)}, {now!r} FROM pairs "
                "WHERE id > ? AND score IS NOT NULL ORDER BY id", (before,))
    return cur.rowcount


class Pairs:
    """``project.pairs``: the sentence pairs and their current scores."""

    def __init__(self, db: Database, counts: Counts) -> None:
        self._db = db
        self._counts = counts

    def hashes(self) -> set[int]:
        """All pair hashes in the project, for dedup against the project on import."""
        return self._db._column_set("pairs", "pair_hash")

    def find(self, sentence1: str, sentence2: str) -> int | None:
        """The id of the pair equal to (sentence1, sentence2) in either order, or None."""
        row = self._db._execute("SELECT id FROM pairs WHERE pair_hash = ? ORDER BY id LIMIT 1",
                           (pair_hash(sentence1, sentence2),))
        return row[0][0] if row else None

    def insert(self, rows: Iterable[Sequence[Any]], *, source: str | None = None,
               annotator: str = "import",
               progress: Callable[[int, int], None] | None = None,
               row_labels: Sequence[Sequence[tuple[str, float]]] | None = None,
               existing_labels: Sequence[tuple[int, str, float]] = ()) -> InsertReport:
        """Insert validated pairs in one transaction.

        Args:
            rows: tuples ``(sentence1, sentence2, score_or_None, split, source_row, pair_hash)``,
                or a columnar :class:`PairRows` (the importers' fast path). Scores are already
                normalised to 0–1; ``pair_hash`` may be None to compute it.
            source: the file or dataset the pairs came from.
            annotator: recorded on the labels that arrive with the pairs.
            progress: called as ``progress(done, total)`` between chunks; an exception it
                raises (a cancel) rolls everything back.
            row_labels: a file with a rater column: each row's ``[(annotator, score), ...]``
                (0–1), written instead of one ``annotator`` label per scored row; the pair's
                target then follows :func:`aggregate_target`, as for merged labels.
            existing_labels: ``(pair_id, annotator, score)`` added to pairs already in the
                project (another rater's label on a pair imported before), same transaction.

        All rows or none are written. Validation is the importers' job; the schema's CHECK
        constraints are the last line of defence.
        """
        if not isinstance(rows, PairRows):
            rows = PairRows.from_tuples(rows)
        now = time.time()
        report = InsertReport()
        sql = _insert_sql(source, annotator, now, with_metadata=rows.metadata is not None)
        with self._db._lock, self._foreign_keys_off():
            with self._db.transaction() as cur:
                before = cur.max_id("pairs")
                _write_rows(cur, sql, rows, progress)
                after = cur.max_id("pairs")
                if rows.metadata is not None and rows.metadata_keys and after > before:
                    self._record_metadata_keys(cur, rows.metadata_keys)
                if row_labels is None:
                    report.labeled = _copy_first_labels(cur, before, annotator, now)
                else:
                    if after - before != len(row_labels):  # ids follow the rows one by one
                        raise ProjectError("the new pairs did not get consecutive ids; nothing "
                                           "was imported")
                    report.labeled = self._insert_rater_labels(cur, before, row_labels,
                                                               existing_labels, now)
                report.inserted = after - before
                if report.inserted:
                    report.first_id, report.last_id = before + 1, after
                added = _tally_rows(cur.execute(_COUNTS_SINCE_SQL, (before,))) \
                    if self._counts.cached and report.inserted else {}
            self._counts.changed({}, added, exact=not existing_labels)
        return report

    @contextlib.contextmanager
    def _foreign_keys_off(self) -> Iterator[None]:
        """Foreign-key checks off around a bulk insert (call with the lock held).

        They cost a parent lookup per label (0.4 s a million) and cannot fail there: every
        label points at a pair inserted by the very same transaction. The pragma is a no-op
        inside a transaction, so it is switched around it.
        """
        fk = self._db._conn.execute("PRAGMA foreign_keys").fetchone()[0] if not self._db.closed else 0
        if fk:
            self._db._conn.execute("PRAGMA foreign_keys = OFF")
        try:
            yield
        finally:
            if fk and not self._db.closed:
                self._db._conn.execute("PRAGMA foreign_keys = ON")

    def _record_metadata_keys(self, cur: _Cursor, new_keys: Sequence[str]) -> None:
        """Add an import's metadata keys to the project's list, in the order they came."""
        known = self.metadata_keys()
        keys = known + [k for k in new_keys if k not in known]
        cur.execute("INSERT INTO meta (key, value) VALUES ('metadata_keys', ?) ON "
                    "CONFLICT (key) DO UPDATE SET value = excluded.value", (json.dumps(keys),))

    def _insert_rater_labels(self, cur: _Cursor, before: int,
                             row_labels: Sequence[Sequence[tuple[str, float]]],
                             existing: Sequence[tuple[int, str, float]], now: float) -> int:
        """Write each new pair's raters' labels (ids follow ``before`` in row order) and the
        labels on existing pairs, then set the targets with the multi-annotator rule."""
        rows = [(before + 1 + i, float(s), a, now) for i, labels in enumerate(row_labels)
                for a, s in labels]
        rows += [(pid, float(s), a, now) for pid, a, s in existing]
        if any(not 0.0 <= r[1] <= 1.0 for r in rows):
            raise ValueError("a score must be between 0 and 1")
        cur.executemany("INSERT INTO labels (pair_id, score, annotator, created_at) "
                        "VALUES (?, ?, ?, ?)", rows)
        for pid in sorted({r[0] for r in rows}):
            refresh_target(cur, pid, now)
        return sum(1 for labels in row_labels if labels)

    def get(self, pair_id: int) -> Pair | None:
        rows = self._db._execute(f"SELECT {_PAIR_COLUMNS} FROM pairs WHERE id = ?", (pair_id,))
        return _pair(rows[0]) if rows else None

    def by_ids(self, ids: Sequence[int]) -> dict[int, Pair]:
        """Fetch many pairs at once (one page of the pair table)."""
        out: dict[int, Pair] = {}
        ids = list(ids)
        for start in range(0, len(ids), 900):  # SQLite's bound-parameter limit
            chunk = ids[start:start + 900]
            marks = ",".join("?" * len(chunk))
            for row in self._db._execute(f"SELECT {_PAIR_COLUMNS} FROM pairs WHERE id IN ({marks})", chunk):
                out[row[0]] = _pair(row)
        return out

    def query_ids(self, *, filter: str = "all", split: str | None = None,
                  search: str | None = None, order_by: str = "id",
                  descending: bool = False) -> list[int]:
        """Pair ids matching a filter, sorted by SQLite. The pair table's one query.

        Args:
            filter: one of PAIR_FILTERS.
            split: restrict to one split (or None for all).
            search: case-insensitive substring of either sentence, the note or a value of the
                pair's metadata (the imported file's other columns).
            order_by: one of SORTABLE_COLUMNS.
            descending: reverse the order.
        """
        if filter not in PAIR_FILTERS:
            raise ValueError(f"unknown filter {filter!r}")
        if order_by not in SORTABLE_COLUMNS:
            raise ValueError(f"cannot sort by {order_by!r}")
        where, params = [], []
        if filter == "unlabeled":
            where.append("score IS NULL")
        elif filter == "labeled":
            where.append("score IS NOT NULL")
        elif filter == "flagged":
            where.append("flagged = 1")
        if split:
            where.append("split = ?")
            params.append(split)
        if search:
            where.append("(instr(lower(sentence1), ?) OR instr(lower(sentence2), ?) "
                         "OR instr(lower(note), ?) OR (metadata IS NOT NULL AND EXISTS ("
                         "SELECT 1 FROM json_each(metadata) WHERE instr(lower(value), ?))))")
            needle = search.lower()
            params += [needle, needle, needle, needle]
        sql = "SELECT id FROM pairs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        direction = "DESC" if descending else "ASC"
        sql += f" ORDER BY {order_by} {direction}" + (f", id {direction}" if order_by != "id" else "")
        with self._db._lock:
            return [r[0] for r in self._db._conn.execute(sql, params)]

    def count(self) -> int:
        """How many pairs: the cached ``project.counts`` when ready, else COUNT(*) (milliseconds)."""
        with self._db._lock:
            if self._counts.cached and not self._db.closed:
                return self._counts.get().total()
        return int(self._db._scalar("SELECT COUNT(*) FROM pairs") or 0)

    def any(self) -> bool:
        return self._db._scalar("SELECT 1 FROM pairs LIMIT 1") is not None

    def metadata_keys(self) -> list[str]:
        """The metadata keys pairs carry (imported columns that were not mapped), in the order
        the imports brought them. Recorded by :meth:`insert`, so no scan."""
        try:
            keys = json.loads(self._db.get_meta("metadata_keys") or "[]")
        except ValueError:
            return []
        return [str(k) for k in keys] if isinstance(keys, list) else []

    def max_id(self) -> int:
        """The largest pair id, 0 without pairs: a b-tree lookup, a cheap bound of the count."""
        return int(self._db._scalar("SELECT MAX(id) FROM pairs") or 0)

    def id_span(self) -> tuple[int, int, int]:
        """``(count, min id, max id)`` of the pairs, ``(0, 0, 0)`` without any.

        COUNT(*) walks the smallest b-tree and MIN/MAX are lookups: milliseconds at a million
        pairs. When ``count == max - min + 1`` the ids are exactly that range.
        """
        row = self._db._execute("SELECT COUNT(*), MIN(id), MAX(id) FROM pairs")[0]
        return (int(row[0]), int(row[1] or 0), int(row[2] or 0)) if row[0] else (0, 0, 0)

    def queue_ids(self, *, labeled: bool, split: str | None = None, after_id: int = 0,
                  limit: int | None = None) -> list[int]:
        """Ids of the unlabeled (or labeled) pairs of a split after ``after_id``, in id order.

        The labelling queue's one query: keyset pagination on the primary key, so a page of
        a million-pair project reads only that page.
        """
        where = ["score IS NOT NULL" if labeled else "score IS NULL", "id > ?"]
        params: list[Any] = [after_id]
        if split:
            where.append("split = ?")
            params.append(split)
        sql = f"SELECT id FROM pairs WHERE {' AND '.join(where)} ORDER BY id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        with self._db._lock:
            return [r[0] for r in self._db._conn.execute(sql, params)]

    def keys(self) -> list[tuple[int, float | None, str]]:
        """``(pair_hash, score, split)`` of every pair: the importers' dedup index."""
        return self._db._execute("SELECT pair_hash, score, split FROM pairs")

    def split_sentences(self) -> list[tuple[str, str, str]]:
        """``(sentence1, sentence2, split)`` of the pairs in train, dev or test (leakage checks)."""
        return [tuple(r) for r in self._db._execute(
            "SELECT sentence1, sentence2, split FROM pairs WHERE split != 'none'")]

    def text_rows(self, split: str | None = None, labeled_only: bool = False, *,
                  metadata: bool = False) -> list[tuple]:
        """``(sentence1, sentence2, score, split)`` of the pairs in id order (data export).

        With ``metadata``, each row ends with the pair's metadata as a dict (or None).
        """
        if metadata:
            rows = self.text_rows(split, labeled_only)
            meta = self._db._execute("SELECT metadata FROM pairs WHERE 1"
                                 + (" AND split = ?" if split else "")
                                 + (" AND score IS NOT NULL" if labeled_only else "") + " ORDER BY id",
                                 [split] if split else [])
            return [(*row, _metadata(m)) for row, (m,) in zip(rows, meta)]
        sql = "SELECT sentence1, sentence2, score, split FROM pairs WHERE 1"
        params: list[Any] = []
        if split:
            sql += " AND split = ?"
            params.append(split)
        if labeled_only:
            sql += " AND score IS NOT NULL"
        rows = self._db._execute(sql + " ORDER BY id", params)
        return [(s1, s2, _score_or_none(score), sp) for s1, s2, score, sp in rows]

    def ids_by_sentence(self, sentences: Sequence[str]) -> dict[str, list[int]]:
        """Ids of the pairs each sentence occurs in (either side), in id order; one query."""
        sentences = list(sentences)
        if not sentences:
            return {}
        marks = ",".join("?" * len(sentences))
        rows = self._db._execute(f"SELECT id, sentence1, sentence2 FROM pairs WHERE sentence1 IN ({marks}) "
                             f"OR sentence2 IN ({marks}) ORDER BY id", [*sentences, *sentences])
        wanted = set(sentences)
        out: dict[str, list[int]] = {}
        for pair_id, s1, s2 in rows:
            for s in {s1, s2} & wanted:
                out.setdefault(s, []).append(pair_id)
        return out

    def labeled(self, split: str | None = None) -> list[Pair]:
        """Labeled pairs (current score not null), optionally of one split, in id order."""
        sql = f"SELECT {_PAIR_COLUMNS} FROM pairs WHERE score IS NOT NULL"
        params: list[Any] = []
        if split:
            sql += " AND split = ?"
            params.append(split)
        rows = self._db._execute(sql + " ORDER BY id", params)
        return [p for r in rows if (p := _pair(r)).score is not None]

    def all(self, split: str | None = None, labeled_only: bool = False) -> list[Pair]:
        sql = f"SELECT {_PAIR_COLUMNS} FROM pairs WHERE 1"
        params: list[Any] = []
        if split:
            sql += " AND split = ?"
            params.append(split)
        if labeled_only:
            sql += " AND score IS NOT NULL"
        pairs = [_pair(r) for r in self._db._execute(sql + " ORDER BY id", params)]
        return [p for p in pairs if p.score is not None] if labeled_only else pairs

    def sentences(self) -> list[str]:
        """Every distinct sentence of the project, in first-seen order (the search corpus)."""
        rows = self._db._private_rows(
            "SELECT s FROM (SELECT sentence1 AS s, id, 0 AS k FROM pairs "
            "UNION ALL SELECT sentence2, id, 1 FROM pairs) GROUP BY s ORDER BY MIN(id * 2 + k)")
        return [r[0] for r in rows]

    def with_sentence(self, sentence: str) -> list[Pair]:
        rows = self._db._execute(f"SELECT {_PAIR_COLUMNS} FROM pairs WHERE sentence1 = ? OR sentence2 = ? "
                            "ORDER BY id", (sentence, sentence))
        return [_pair(r) for r in rows]

    def version(self) -> str:
        """A token that changes whenever the set of pair texts changes (for caches)."""
        row = self._db._private_rows("SELECT COUNT(*), COALESCE(MAX(id), 0), "
                                 "COALESCE(SUM(pair_hash % 1000003), 0) FROM pairs")[0]
        return f"{row[0]}-{row[1]}-{row[2]}"

    def hashes_of(self, pair_ids: Sequence[int]) -> dict[int, int]:
        """``{pair_id: pair_hash}`` of some pairs."""
        with self._db._lock:
            return dict(_chunked_rows(self._db._conn, "SELECT id, pair_hash FROM pairs WHERE id IN ({})",
                                      pair_ids))

    def ids_by_hash(self) -> dict[int, int]:
        """``{pair_hash: pair_id}`` of every pair (the first id where a hash repeats)."""
        out: dict[int, int] = {}
        with self._db._lock:
            for h, pid in self._db._conn.execute("SELECT pair_hash, id FROM pairs ORDER BY id DESC"):
                out[h] = pid
        return out

    def targets(self, split: str | None = None, labeled: bool | None = None
                ) -> list[tuple[int, float | None, str]]:
        """``(pair_id, current score, split)`` of the pairs in id order (queues, calibration)."""
        where, params = ["1"], []
        if split:
            where.append("split = ?")
            params.append(split)
        if labeled is not None:
            where.append("score IS NOT NULL" if labeled else "score IS NULL")
        rows = self._db._private_rows(f"SELECT id, score, split FROM pairs WHERE {' AND '.join(where)} "
                                  "ORDER BY id", params)
        rows = [(pid, _score_or_none(score), sp) for pid, score, sp in rows]
        return [r for r in rows if r[1] is not None] if labeled else rows

    def texts_by_ids(self, pair_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
        """Pair id -> ``(sentence1, sentence2)`` for the given ids."""
        with self._db._lock:
            rows = _chunked_rows(self._db._conn,
                                 "SELECT id, sentence1, sentence2 FROM pairs WHERE id IN ({})", pair_ids)
        return {r[0]: (r[1], r[2]) for r in rows}

    def text_page(self, after_id: int, limit: int) -> list[tuple[int, str, str]]:
        """``(id, sentence1, sentence2)`` of up to ``limit`` pairs after ``after_id`` (keyset page)."""
        return self._db._execute("SELECT id, sentence1, sentence2 FROM pairs WHERE id > ? ORDER BY id "
                                 "LIMIT ?", (int(after_id), int(limit)))

    def set_flag(self, pair_ids: Sequence[int], flagged: bool) -> None:
        self._update_many(pair_ids, "flagged", int(bool(flagged)))

    def set_note(self, pair_id: int, note: str) -> None:
        self._update_many([pair_id], "note", note)

    def set_split(self, pair_ids: Sequence[int], split: str) -> None:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
        self._update_many(pair_ids, "split", split)

    def _update_many(self, pair_ids: Sequence[int], column: str, value: Any) -> None:
        now = time.time()
        counted = column in ("flagged", "split")
        with (self._counts.counting(pair_ids) if counted else self._db.transaction()) as cur:
            cur.executemany(f"UPDATE pairs SET {column} = ?, updated_at = ? WHERE id = ?",
                            [(value, now, pid) for pid in pair_ids])

    def snapshot(self, pair_ids: Sequence[int]) -> dict[str, Any]:
        """Everything about some pairs (rows and label history), so a delete can be undone."""
        pairs = []
        labels = []
        assignments: list[tuple] = []
        ids = list(pair_ids)
        for start in range(0, len(ids), 900):
            chunk = ids[start:start + 900]
            marks = ",".join("?" * len(chunk))
            pairs += self._db._execute(f"SELECT * FROM pairs WHERE id IN ({marks})", chunk)
            labels += self._db._execute(f"SELECT * FROM labels WHERE pair_id IN ({marks})", chunk)
            assignments += self._db._execute(
                f"SELECT pair_id, annotator, overlap FROM assignments WHERE pair_id IN ({marks})", chunk)
        return {"pairs": pairs, "labels": labels, "assignments": assignments}

    def delete(self, pair_ids: Sequence[int]) -> dict[str, Any]:
        """Delete pairs with their labels; returns a snapshot that :meth:`restore` undoes."""
        snap = self.snapshot(pair_ids)
        with self._counts.counting(pair_ids) as cur:
            cur.executemany("DELETE FROM pairs WHERE id = ?", [(i,) for i in pair_ids])
        return snap

    def restore(self, snapshot: dict[str, Any]) -> None:
        with self._counts.counting([row[0] for row in snapshot["pairs"]]) as cur:
            for row in snapshot["pairs"]:
                cur.execute(f"INSERT INTO pairs VALUES ({','.join('?' * len(row))})", row)
            for row in snapshot["labels"]:
                cur.execute(f"INSERT INTO labels VALUES ({','.join('?' * len(row))})", row)
            cur.executemany("INSERT INTO assignments (pair_id, annotator, overlap) VALUES (?, ?, ?)",
                            snapshot.get("assignments", []))

    def assign_dev(self, fraction: float = 0.1, seed: int = 42) -> int:
        """Move a seeded random ``fraction`` of the labeled train pairs to dev.

        Returns how many pairs moved. Deterministic for a given project and seed.
        """
        ids = [r[0] for r in self._db._execute(
            "SELECT id FROM pairs WHERE split = 'train' AND score IS NOT NULL ORDER BY id")]
        chosen = choose_dev(ids, fraction, seed)
        self.set_split(chosen, "dev")
        return len(chosen)

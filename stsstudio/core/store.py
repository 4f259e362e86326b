"""The project store: one folder holding a SQLite database (the document) and ``runs/``.

A project folder looks like::

    MyProject/
      project.stsproj      SQLite database (WAL mode), the document itself: no Save step
      runs/<id>/           trained models, checkpoints and config.json of each run
      cache/               corpus embeddings per model (safe to delete)

The database schema version lives in ``PRAGMA user_version`` and is migrated forward only.
Every public write is one transaction: it commits completely or leaves the database as it was.
A :class:`Project` may be shared between threads; an internal lock serialises access to its
single connection, so all writes go through one connection.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import sqlite3
import sys
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stsstudio.core.errors import UserError

DB_NAME = "project.stsproj"
SCHEMA_VERSION = 1
SPLITS = ("train", "dev", "test", "none")
RUN_STATUSES = ("running", "finished", "failed", "cancelled", "interrupted")
PAGE_SIZE = 16384  # of new projects; existing ones keep theirs


class ProjectError(UserError):
    """A user-facing error about a project (bad path, newer schema, locked, ...)."""


class ProjectLockedError(ProjectError):
    """Another process holds the project open for writing."""


# --------------------------------------------------------------------------------------
# Pair identity


def normalise_sentence(text: str) -> str:
    """The form two sentences are compared in for duplicate detection.

    Unicode NFC, whitespace collapsed, case folded: "A  cat." and "a cat." are the same.
    """
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


# Strings that need the full Python normalisation: only ASCII text without odd whitespace
# can take the vectorised lower-case path, and for it both give the same result.
_NEEDS_PYTHON_NORMALISATION = r"[^\x00-\x7f]|[\t\n\r\x0b\x0c\x1c-\x1f]|  |^ | $"


def _may_need_python_normalisation(arr: Any) -> bool:
    """A quick scan of the raw string bytes: False means every string takes the fast path.

    Much cheaper than the per-string regex when, as usual, no string has odd whitespace or
    non-ASCII characters. False positives only cost the precise check.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(arr) == 0:
        return False
    if pc.any(pc.starts_with(arr, " ")).as_py() or pc.any(pc.ends_with(arr, " ")).as_py():
        return True
    chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
    for chunk in chunks:
        buf = chunk.buffers()[2]
        if buf is None or buf.size == 0:
            continue
        # Every string of the chunk back to back (plus maybe some slack), without a copy.
        data = np.frombuffer(buf, dtype=np.uint8)
        if ((data < 0x20) | (data >= 0x80)).any():  # control bytes (tab, newline, ...), non-ASCII
            return True
        spaces = data == 0x20
        if (spaces[1:] & spaces[:-1]).any():
            return True
    return False


def _mix64(x: Any) -> Any:
    """splitmix64's finaliser on a uint64 numpy array (wrapping arithmetic is intended)."""
    import numpy as np

    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def sentence_hashes(sentences: Any, texts: list[str] | None = None) -> Any:
    """64-bit hashes (numpy uint64) of normalised sentences, vectorised for a million rows.

    Args:
        sentences: a list of str, a pandas Series or a pyarrow array, without nulls.
        texts: the same sentences as a Python list, when the caller has one already.

    Equal under :func:`normalise_sentence` means equal hash. Pure-ASCII sentences without odd
    whitespace are just lower-cased; only the rest go through Python's NFC and casefold.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import xxhash

    arr = sentences if isinstance(sentences, (pa.Array, pa.ChunkedArray)) else pa.array(
        sentences, type=pa.large_string(), from_pandas=True)
    if not pa.types.is_large_string(arr.type):
        arr = arr.cast(pa.large_string())
    if texts is None:
        texts = arr.to_pylist()
    digest = xxhash.xxh3_64_intdigest
    if not _may_need_python_normalisation(arr):
        return np.fromiter(map(digest, map(str.encode, map(str.lower, texts))), dtype=np.uint64,
                           count=len(texts))
    special = pc.match_substring_regex(arr, _NEEDS_PYTHON_NORMALISATION).to_numpy(zero_copy_only=False)
    return np.fromiter((digest((normalise_sentence(t) if odd else t.lower()).encode())
                        for t, odd in zip(texts, special.tolist())), dtype=np.uint64, count=len(texts))


def combine_pair_hashes(h1: Any, h2: Any) -> Any:
    """Order-independent 64-bit pair keys (numpy int64) from two arrays of sentence hashes."""
    import numpy as np

    lo, hi = np.minimum(h1, h2), np.maximum(h1, h2)
    with np.errstate(over="ignore"):
        key = _mix64(lo * np.uint64(0xD6E8FEB86659FD93) ^ _mix64(hi))
    return key.view(np.int64)


def pair_hashes(sentences1: Any, sentences2: Any) -> Any:
    """Signed 64-bit keys (numpy int64) of unordered, normalised pairs; see :func:`pair_hash`."""
    return combine_pair_hashes(sentence_hashes(sentences1), sentence_hashes(sentences2))


def pair_hash(sentence1: str, sentence2: str) -> int:
    """A signed 64-bit key of the unordered, normalised pair: (A, B) and (B, A) collide.

    Dedup by this key is far cheaper than a unique index on the text itself. Identical to
    what the importers compute for a million rows at once with :func:`pair_hashes`.
    """
    return int(pair_hashes([sentence1], [sentence2])[0])


# --------------------------------------------------------------------------------------
# Schema and migrations

_MIGRATIONS: list[str] = [
    # 0 -> 1
    """
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE pairs (
        id          INTEGER PRIMARY KEY,
        sentence1   TEXT NOT NULL,
        sentence2   TEXT NOT NULL,
        pair_hash   INTEGER NOT NULL,
        -- OR rather than IN: SQLite builds an ephemeral table for IN on every row, which
        -- doubled the cost of a bulk import.
        split       TEXT NOT NULL DEFAULT 'none'
                    CHECK (split = 'train' OR split = 'dev' OR split = 'test' OR split = 'none'),
        source      TEXT,
        source_row  INTEGER,
        flagged     INTEGER NOT NULL DEFAULT 0,
        note        TEXT NOT NULL DEFAULT '',
        -- The current label, kept in step with the latest row of `labels` so that the
        -- pair table can filter and sort on it without a join.
        score       REAL CHECK (score IS NULL OR (score >= 0 AND score <= 1)),
        annotator   TEXT,
        created_at  REAL NOT NULL,
        updated_at  REAL NOT NULL
    );
    -- No index on pair_hash or split: imports dedup against a scan of pair_hash (one pass,
    -- cheaper than maintaining an index over a million rows), and every pair-table filter
    -- other than id already scans.
    CREATE TABLE labels (
        id          INTEGER PRIMARY KEY,
        pair_id     INTEGER NOT NULL REFERENCES pairs (id) ON DELETE CASCADE,
        score       REAL NOT NULL CHECK (score >= 0 AND score <= 1),
        annotator   TEXT NOT NULL DEFAULT '',
        created_at  REAL NOT NULL
    );
    CREATE INDEX labels_pair ON labels (pair_id);
    CREATE TABLE runs (
        id                 INTEGER PRIMARY KEY,
        created_at         REAL NOT NULL,
        finished_at        REAL,
        status             TEXT NOT NULL DEFAULT 'running',
        base_model         TEXT NOT NULL,
        loss               TEXT NOT NULL,
        config             TEXT NOT NULL DEFAULT '{}',
        device             TEXT,
        seconds            REAL,
        total_steps        INTEGER,
        steps              INTEGER,
        base_dev_spearman  REAL,
        best_dev_spearman  REAL,
        best_step          INTEGER,
        model_dir          TEXT,
        message            TEXT,
        pid                INTEGER
    );
    CREATE TABLE run_metrics (
        run_id  INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        step    INTEGER NOT NULL,
        name    TEXT NOT NULL,
        value   REAL NOT NULL,
        epoch   REAL
    );
    CREATE INDEX run_metrics_run ON run_metrics (run_id, name, step);
    """,
]
assert len(_MIGRATIONS) == SCHEMA_VERSION


# --------------------------------------------------------------------------------------
# Inter-process lock: one writer per project


class _WriterLock:
    """An advisory lock file held while a process has the project open for writing."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: Any = None

    def acquire(self) -> None:
        self._fh = open(self.path, "a+")  # noqa: SIM115 - held open for the lock's lifetime
        try:
            if sys.platform == "win32":
                import msvcrt

                self._fh.seek(0)
                msvcrt.locking(self._fh.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = ""
            try:
                self._fh.seek(0)
                holder = self._fh.read().strip()
            except OSError:
                pass
            self._fh.close()
            self._fh = None
            who = f" (process {holder})" if holder else ""
            raise ProjectLockedError(
                f"{self.path.parent} is open in another STS Studio window or command{who}. "
                "Close it there first, or open this project read-only."
            ) from None
        self._fh.seek(0)
        self._fh.truncate()
        self._fh.write(str(os.getpid()))
        self._fh.flush()

    def release(self) -> None:
        if self._fh is not None:
            try:
                self._fh.seek(0)
                self._fh.truncate()
            except OSError:
                pass
            self._fh.close()  # closing the descriptor drops the lock
            self._fh = None


# --------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class Pair:
    id: int
    sentence1: str
    sentence2: str
    split: str
    score: float | None
    annotator: str | None
    flagged: bool
    note: str
    source: str | None
    source_row: int | None


@dataclass(frozen=True)
class Label:
    id: int
    pair_id: int
    score: float
    annotator: str
    created_at: float


@dataclass
class Run:
    id: int
    created_at: float
    status: str
    base_model: str
    loss: str
    config: dict[str, Any] = field(default_factory=dict)
    finished_at: float | None = None
    device: str | None = None
    seconds: float | None = None
    total_steps: int | None = None
    steps: int | None = None
    base_dev_spearman: float | None = None
    best_dev_spearman: float | None = None
    best_step: int | None = None
    model_dir: str | None = None
    message: str | None = None


@dataclass
class InsertReport:
    """What :meth:`Project.insert_pairs` wrote."""

    inserted: int = 0
    labeled: int = 0
    first_id: int | None = None
    last_id: int | None = None


_PAIR_COLUMNS = "id, sentence1, sentence2, split, score, annotator, flagged, note, source, source_row"


def _pair(row: Sequence[Any]) -> Pair:
    return Pair(row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]), row[7], row[8], row[9])


_CHUNK_ROWS = 50_000


def _sql_literal(value: str | None) -> str:
    """A SQL literal for a constant: NULL or a single-quoted string (SQLite has no escapes)."""
    if value is None:
        return "NULL"
    return "'" + str(value).replace("\x00", "").replace("'", "''") + "'"


class PairRows(Sequence[tuple]):
    """Pairs to insert, kept as columns: the form the importers build for a million rows.

    Behaves as a sequence of ``(sentence1, sentence2, score, split, source_row, pair_hash)``
    tuples. ``split`` is either one split for every row or a list.
    """

    def __init__(self, sentence1: list[str], sentence2: list[str], score: list[float | None],
                 split: str | list[str], source_row: list[int | None], pair_hash: list[int]) -> None:
        n = len(sentence1)
        if isinstance(split, str):
            if split not in SPLITS:
                raise ValueError(f"unknown split {split!r}")
        columns = (sentence2, score, source_row, pair_hash) + (() if isinstance(split, str) else (split,))
        if any(len(c) != n for c in columns):
            raise ValueError("all columns of PairRows must have the same length")
        self.sentence1, self.sentence2, self.score = sentence1, sentence2, score
        self.split, self.source_row, self.pair_hash = split, source_row, pair_hash

    @classmethod
    def from_tuples(cls, rows: Iterable[Sequence[Any]]) -> PairRows:
        rows = list(rows)
        if not rows:
            return cls([], [], [], "none", [], [])
        s1, s2, score, split, source_row, hashes = (list(c) for c in zip(*rows))
        split = [s or "none" for s in split]
        missing = [i for i, h in enumerate(hashes) if h is None]
        if missing:
            computed = pair_hashes([s1[i] for i in missing], [s2[i] for i in missing])
            for i, h in zip(missing, computed.tolist()):
                hashes[i] = h
        return cls(s1, s2, score, split, source_row, hashes)

    def _splits(self) -> Iterable[str]:
        return itertools.repeat(self.split, len(self)) if isinstance(self.split, str) else self.split

    def __len__(self) -> int:
        return len(self.sentence1)

    def __iter__(self):  # type: ignore[override]
        return zip(self.sentence1, self.sentence2, self.score, self._splits(), self.source_row,
                   self.pair_hash)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        split = self.split if isinstance(self.split, str) else self.split[i]
        return (self.sentence1[i], self.sentence2[i], self.score[i], split, self.source_row[i],
                self.pair_hash[i])


# Filters understood by Project.query_pair_ids, shared by the CLI and the pair table.
PAIR_FILTERS = ("all", "unlabeled", "labeled", "flagged")
SORTABLE_COLUMNS = ("id", "sentence1", "sentence2", "score", "split", "annotator", "flagged", "note")


# --------------------------------------------------------------------------------------
# The project


class Project:
    """An open STS Studio project. Use :meth:`create` or :meth:`open`.

    Args:
        path: the project folder.
        readonly: open without taking the writer lock; every write raises ProjectError.
    """

    def __init__(self, path: str | os.PathLike[str], *, readonly: bool = False, _create: bool = False):
        self.path = Path(path).expanduser().resolve()
        self.readonly = readonly
        self._lock = threading.RLock()
        db = self.path / DB_NAME
        if _create:
            if db.exists():
                raise ProjectError(f"{self.path} already holds a project.")
            if self.path.exists() and not self.path.is_dir():
                raise ProjectError(f"{self.path} exists and is not a folder.")
            if self.path.is_dir() and any(self.path.iterdir()):
                raise ProjectError(f"{self.path} is not empty; choose a new or empty folder.")
            self.path.mkdir(parents=True, exist_ok=True)
        elif not db.exists():
            if self.path.is_file() and self.path.name == DB_NAME:
                return self.__init__(self.path.parent, readonly=readonly)  # type: ignore[misc]
            raise ProjectError(f"{self.path} is not an STS Studio project (no {DB_NAME} in it).")
        self._writer: _WriterLock | None = None
        if not readonly:
            self._writer = _WriterLock(self.path / ".lock")
            self._writer.acquire()
        try:
            if readonly:
                uri = db.as_uri() + "?mode=ro"
                self._conn = sqlite3.connect(uri, uri=True, check_same_thread=False,
                                             isolation_level=None)
            else:
                self._conn = sqlite3.connect(db, check_same_thread=False, isolation_level=None,
                                             timeout=10)
            self._conn.execute("PRAGMA foreign_keys = ON")
            if _create:
                # Set before the first write (WAL fixes it for good). 16 KiB pages make a
                # million-pair import 15-20 % cheaper than the default 4 KiB (fewer pages,
                # page splits and WAL frames); single-pair reads and label commits do not notice.
                self._conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
            if not readonly:
                self._conn.execute("PRAGMA journal_mode = WAL")
                self._conn.execute("PRAGMA synchronous = NORMAL")
            self._migrate()
            (self.path / "runs").mkdir(exist_ok=True) if not readonly else None
            if not readonly:
                self._mark_interrupted_runs()
        except sqlite3.DatabaseError as exc:
            self._release()
            raise ProjectError(f"{db} could not be opened as a project database: {exc}") from None
        except BaseException:
            self._release()
            raise

    # -- lifecycle -------------------------------------------------------------------

    @classmethod
    def create(cls, path: str | os.PathLike[str], *, name: str | None = None,
               base_model: str | None = None, guidelines: str | None = None) -> Project:
        """Create a new project in an empty or missing folder and open it for writing."""
        project = cls(path, _create=True)
        project.set_meta("name", name or project.path.name)
        project.set_meta("base_model", base_model or "default")
        project.set_meta("guidelines", guidelines if guidelines is not None else default_guidelines())
        project.set_meta("created_at", str(time.time()))
        return project

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, readonly: bool = False) -> Project:
        """Open an existing project. Raises ProjectError with a readable message."""
        return cls(path, readonly=readonly)

    def close(self) -> None:
        with self._lock:
            if getattr(self, "_conn", None) is not None:
                try:
                    if not self.readonly:
                        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                except sqlite3.Error:
                    pass
                self._conn.close()
                self._conn = None  # type: ignore[assignment]
            self._release()

    def _release(self) -> None:
        if getattr(self, "_writer", None) is not None:
            self._writer.release()
            self._writer = None

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return getattr(self, "_conn", None) is None

    @property
    def db_path(self) -> Path:
        return self.path / DB_NAME

    @property
    def runs_dir(self) -> Path:
        return self.path / "runs"

    @property
    def cache_dir(self) -> Path:
        d = self.path / "cache"
        d.mkdir(exist_ok=True)
        return d

    def _migrate(self) -> None:
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise ProjectError(
                f"{self.path} was written by a newer STS Studio (schema {version}; this version "
                f"reads up to {SCHEMA_VERSION}). Update STS Studio to open it."
            )
        if version == SCHEMA_VERSION:
            return
        if self.readonly:
            raise ProjectError(f"{self.path} needs an upgrade; open it once for writing first.")
        for target in range(version + 1, SCHEMA_VERSION + 1):
            with self.transaction() as cur:
                cur.executescript_in_tx(_MIGRATIONS[target - 1])
                cur.execute(f"PRAGMA user_version = {target}")

    # -- transactions ----------------------------------------------------------------

    def transaction(self) -> _Transaction:
        """A write transaction: ``with project.transaction() as cur: cur.execute(...)``.

        Commits on success; rolls back on any exception, leaving the database as it was.
        """
        if self.readonly:
            raise ProjectError(f"{self.path} is open read-only.")
        return _Transaction(self)

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[tuple]:
        """Run a read query and return all rows."""
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self._lock:
            row = self._conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    # -- meta ------------------------------------------------------------------------

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        value = self.scalar("SELECT value FROM meta WHERE key = ?", (key,))
        return default if value is None else value

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as cur:
            cur.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                        "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, str(value)))

    @property
    def name(self) -> str:
        return self.get_meta("name") or self.path.name

    @property
    def guidelines(self) -> str:
        return self.get_meta("guidelines", "") or ""

    @property
    def base_model(self) -> str:
        return self.get_meta("base_model", "default") or "default"

    # -- pairs -----------------------------------------------------------------------

    def existing_hashes(self) -> set[int]:
        """All pair hashes in the project, for dedup against the project on import."""
        with self._lock:
            return {h for (h,) in self._conn.execute("SELECT pair_hash FROM pairs")}

    def find_pair(self, sentence1: str, sentence2: str) -> int | None:
        """The id of the pair equal to (sentence1, sentence2) in either order, or None."""
        row = self.execute("SELECT id FROM pairs WHERE pair_hash = ? ORDER BY id LIMIT 1",
                           (pair_hash(sentence1, sentence2),))
        return row[0][0] if row else None

    def insert_pairs(self, rows: Iterable[Sequence[Any]], *, source: str | None = None,
                     annotator: str = "import",
                     progress: Callable[[int, int], None] | None = None) -> InsertReport:
        """Insert validated pairs in one transaction.

        Args:
            rows: tuples ``(sentence1, sentence2, score_or_None, split, source_row, pair_hash)``,
                or a columnar :class:`PairRows` (the importers' fast path). Scores are already
                normalised to 0–1; ``pair_hash`` may be None to compute it.
            source: the file or dataset the pairs came from.
            annotator: recorded on the labels that arrive with the pairs.
            progress: called as ``progress(done, total)`` between chunks; an exception it
                raises (a cancel) rolls everything back.

        All rows or none are written. Validation is the importers' job; the schema's CHECK
        constraints are the last line of defence.
        """
        if not isinstance(rows, PairRows):
            rows = PairRows.from_tuples(rows)
        total = len(rows)
        now = time.time()
        report = InsertReport()
        # Constants go into the statement as literals so that SQLite binds 6 values per row,
        # not 10; _sql_literal quotes them safely.
        sql = (
            "INSERT INTO pairs (sentence1, sentence2, score, split, source_row, pair_hash, source, "
            "annotator, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
            f"{_sql_literal(source)}, CASE WHEN ?3 IS NULL THEN NULL ELSE {_sql_literal(annotator)} END, "
            f"{now!r}, {now!r})"
        )
        with self._lock:
            # Foreign-key checks cost a parent lookup per label (0.4 s a million) and cannot
            # fail here: every label below points at a pair inserted by this very transaction.
            # The pragma is a no-op inside a transaction, so it is switched around it.
            fk = self._conn.execute("PRAGMA foreign_keys").fetchone()[0] if not self.closed else 0
            if fk:
                self._conn.execute("PRAGMA foreign_keys = OFF")
            try:
                with self.transaction() as cur:
                    before = cur.execute("SELECT COALESCE(MAX(id), 0) FROM pairs").fetchone()[0]
                    it = iter(rows)
                    done = 0
                    if progress is None:  # one call: no per-chunk lists to build
                        cur.executemany(sql, it)
                    while progress is not None:
                        chunk = list(itertools.islice(it, _CHUNK_ROWS))
                        if not chunk:
                            break
                        cur.executemany(sql, chunk)
                        done += len(chunk)
                        progress(done, total)
                    after = cur.execute("SELECT COALESCE(MAX(id), 0) FROM pairs").fetchone()[0]
                    # Labels that arrive with the pairs become the first entry of their history,
                    # copied inside SQLite rather than round-tripped through Python. Annotator and
                    # time are the constants written on those pairs: literals are cheaper than
                    # reading the last columns of each pair's record.
                    cur.execute(
                        "INSERT INTO labels (pair_id, score, annotator, created_at) "
                        f"SELECT id, score, {_sql_literal(annotator)}, {now!r} FROM pairs "
                        "WHERE id > ? AND score IS NOT NULL ORDER BY id", (before,))
                    report.labeled = cur.rowcount
                    report.inserted = after - before
                    if report.inserted:
                        report.first_id, report.last_id = before + 1, after
            finally:
                if fk and not self.closed:
                    self._conn.execute("PRAGMA foreign_keys = ON")
        return report

    def pair(self, pair_id: int) -> Pair | None:
        rows = self.execute(f"SELECT {_PAIR_COLUMNS} FROM pairs WHERE id = ?", (pair_id,))
        return _pair(rows[0]) if rows else None

    def pairs_by_ids(self, ids: Sequence[int]) -> dict[int, Pair]:
        """Fetch many pairs at once (one page of the pair table)."""
        out: dict[int, Pair] = {}
        ids = list(ids)
        for start in range(0, len(ids), 900):  # SQLite's bound-parameter limit
            chunk = ids[start:start + 900]
            marks = ",".join("?" * len(chunk))
            for row in self.execute(f"SELECT {_PAIR_COLUMNS} FROM pairs WHERE id IN ({marks})", chunk):
                out[row[0]] = _pair(row)
        return out

    def query_pair_ids(self, *, filter: str = "all", split: str | None = None,
                       search: str | None = None, order_by: str = "id",
                       descending: bool = False) -> list[int]:
        """Pair ids matching a filter, sorted by SQLite. The pair table's one query.

        Args:
            filter: one of PAIR_FILTERS.
            split: restrict to one split (or None for all).
            search: case-insensitive substring of either sentence or the note.
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
                         "OR instr(lower(note), ?))")
            needle = search.lower()
            params += [needle, needle, needle]
        sql = "SELECT id FROM pairs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        direction = "DESC" if descending else "ASC"
        sql += f" ORDER BY {order_by} {direction}" + (f", id {direction}" if order_by != "id" else "")
        with self._lock:
            return [r[0] for r in self._conn.execute(sql, params)]

    def labeled_pairs(self, split: str | None = None) -> list[Pair]:
        """Labeled pairs (current score not null), optionally of one split, in id order."""
        sql = f"SELECT {_PAIR_COLUMNS} FROM pairs WHERE score IS NOT NULL"
        params: list[Any] = []
        if split:
            sql += " AND split = ?"
            params.append(split)
        return [_pair(r) for r in self.execute(sql + " ORDER BY id", params)]

    def all_pairs(self, split: str | None = None, labeled_only: bool = False) -> list[Pair]:
        sql = f"SELECT {_PAIR_COLUMNS} FROM pairs WHERE 1"
        params: list[Any] = []
        if split:
            sql += " AND split = ?"
            params.append(split)
        if labeled_only:
            sql += " AND score IS NOT NULL"
        return [_pair(r) for r in self.execute(sql + " ORDER BY id", params)]

    def sentences(self) -> list[str]:
        """Every distinct sentence of the project, in first-seen order (the search corpus)."""
        rows = self.execute(
            "SELECT s FROM (SELECT sentence1 AS s, id, 0 AS k FROM pairs "
            "UNION ALL SELECT sentence2, id, 1 FROM pairs) GROUP BY s ORDER BY MIN(id * 2 + k)")
        return [r[0] for r in rows]

    def pairs_with_sentence(self, sentence: str) -> list[Pair]:
        rows = self.execute(f"SELECT {_PAIR_COLUMNS} FROM pairs WHERE sentence1 = ? OR sentence2 = ? "
                            "ORDER BY id", (sentence, sentence))
        return [_pair(r) for r in rows]

    def data_version(self) -> str:
        """A token that changes whenever the set of pair texts changes (for caches)."""
        row = self.execute("SELECT COUNT(*), COALESCE(MAX(id), 0), COALESCE(SUM(pair_hash % 1000003), 0) "
                           "FROM pairs")[0]
        return f"{row[0]}-{row[1]}-{row[2]}"

    # -- labels ----------------------------------------------------------------------

    def set_label(self, pair_id: int, score: float, annotator: str = "") -> int:
        """Label a pair now: append to its history and make it the current score.

        Committed before returning, so a crash a moment later loses nothing.
        Returns the new label's id (for undo).
        """
        score = float(score)
        if not 0.0 <= score <= 1.0 or score != score:
            raise ValueError(f"a score must be between 0 and 1, not {score}")
        now = time.time()
        with self.transaction() as cur:
            cur.execute("UPDATE pairs SET score = ?, annotator = ?, updated_at = ? WHERE id = ?",
                        (score, annotator, now, pair_id))
            if cur.rowcount != 1:
                raise ProjectError(f"pair {pair_id} does not exist")
            cur.execute("INSERT INTO labels (pair_id, score, annotator, created_at) VALUES (?, ?, ?, ?)",
                        (pair_id, score, annotator, now))
            label_id = cur.lastrowid
        return int(label_id)

    def remove_label(self, label_id: int) -> None:
        """Take one label back (undo): the pair's score becomes its previous label, or none."""
        with self.transaction() as cur:
            row = cur.execute("SELECT pair_id FROM labels WHERE id = ?", (label_id,)).fetchone()
            if row is None:
                return
            pair_id = row[0]
            cur.execute("DELETE FROM labels WHERE id = ?", (label_id,))
            self._refresh_current(cur, pair_id)

    @staticmethod
    def _refresh_current(cur: _Cursor, pair_id: int) -> None:
        last = cur.execute("SELECT score, annotator FROM labels WHERE pair_id = ? "
                           "ORDER BY created_at DESC, id DESC LIMIT 1", (pair_id,)).fetchone()
        score, annotator = (last if last else (None, None))
        cur.execute("UPDATE pairs SET score = ?, annotator = ?, updated_at = ? WHERE id = ?",
                    (score, annotator, time.time(), pair_id))

    def label_history(self, pair_id: int) -> list[Label]:
        rows = self.execute("SELECT id, pair_id, score, annotator, created_at FROM labels "
                            "WHERE pair_id = ? ORDER BY created_at, id", (pair_id,))
        return [Label(*r) for r in rows]

    # -- pair edits ------------------------------------------------------------------

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
        with self.transaction() as cur:
            cur.executemany(f"UPDATE pairs SET {column} = ?, updated_at = ? WHERE id = ?",
                            [(value, now, pid) for pid in pair_ids])

    def snapshot_pairs(self, pair_ids: Sequence[int]) -> dict[str, Any]:
        """Everything about some pairs (rows and label history), so a delete can be undone."""
        pairs = []
        labels = []
        ids = list(pair_ids)
        for start in range(0, len(ids), 900):
            chunk = ids[start:start + 900]
            marks = ",".join("?" * len(chunk))
            pairs += self.execute(f"SELECT * FROM pairs WHERE id IN ({marks})", chunk)
            labels += self.execute(f"SELECT * FROM labels WHERE pair_id IN ({marks})", chunk)
        return {"pairs": pairs, "labels": labels}

    def delete_pairs(self, pair_ids: Sequence[int]) -> dict[str, Any]:
        """Delete pairs with their labels; returns a snapshot that :meth:`restore_pairs` undoes."""
        snap = self.snapshot_pairs(pair_ids)
        with self.transaction() as cur:
            cur.executemany("DELETE FROM pairs WHERE id = ?", [(i,) for i in pair_ids])
        return snap

    def restore_pairs(self, snapshot: dict[str, Any]) -> None:
        with self.transaction() as cur:
            for row in snapshot["pairs"]:
                cur.execute(f"INSERT INTO pairs VALUES ({','.join('?' * len(row))})", row)
            for row in snapshot["labels"]:
                cur.execute(f"INSERT INTO labels VALUES ({','.join('?' * len(row))})", row)

    def assign_dev_split(self, fraction: float = 0.1, seed: int = 42) -> int:
        """Move a seeded random ``fraction`` of the labeled train pairs to dev.

        Returns how many pairs moved. Deterministic for a given project and seed.
        """
        import random

        if not 0 < fraction < 1:
            raise ValueError("the dev fraction must be between 0 and 1")
        ids = [r[0] for r in self.execute(
            "SELECT id FROM pairs WHERE split = 'train' AND score IS NOT NULL ORDER BY id")]
        k = int(round(len(ids) * fraction))
        chosen = random.Random(seed).sample(ids, k) if k else []
        self.set_split(chosen, "dev")
        return len(chosen)

    # -- statistics ------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Counts for ``stsstudio info`` and the status bar."""
        splits = {s: 0 for s in SPLITS}
        labeled_splits = {s: 0 for s in SPLITS}
        for split, n, labeled in self.execute(
                "SELECT split, COUNT(*), COUNT(score) FROM pairs GROUP BY split"):
            splits[split] = n
            labeled_splits[split] = labeled
        pairs = sum(splits.values())
        labeled = sum(labeled_splits.values())
        return {
            "name": self.name,
            "path": str(self.path),
            "base_model": self.base_model,
            "pairs": pairs,
            "labeled": labeled,
            "unlabeled": pairs - labeled,
            "flagged": self.scalar("SELECT COUNT(*) FROM pairs WHERE flagged = 1"),
            "labels": self.scalar("SELECT COUNT(*) FROM labels"),
            "splits": splits,
            "labeled_splits": labeled_splits,
            "runs": self.scalar("SELECT COUNT(*) FROM runs"),
            "schema": SCHEMA_VERSION,
        }

    def checksum(self) -> str:
        """A digest of every table's content; tests compare it before and after a failed write."""
        h = hashlib.sha256()
        with self._lock:
            for table in ("meta", "pairs", "labels", "runs", "run_metrics"):
                for row in self._conn.execute(f"SELECT * FROM {table} ORDER BY rowid"):
                    h.update(repr(row).encode())
        return h.hexdigest()

    # -- runs ------------------------------------------------------------------------

    def create_run(self, *, base_model: str, loss: str, config: dict[str, Any],
                   device: str | None = None) -> int:
        with self.transaction() as cur:
            cur.execute("INSERT INTO runs (created_at, status, base_model, loss, config, device, pid) "
                        "VALUES (?, 'running', ?, ?, ?, ?, ?)",
                        (time.time(), base_model, loss, json.dumps(config), device, os.getpid()))
            return int(cur.lastrowid)

    _RUN_FIELDS = ("finished_at", "status", "device", "seconds", "total_steps", "steps",
                   "base_dev_spearman", "best_dev_spearman", "best_step", "model_dir", "message",
                   "config", "pid")

    def update_run(self, run_id: int, **fields: Any) -> None:
        unknown = set(fields) - set(self._RUN_FIELDS)
        if unknown:
            raise ValueError(f"unknown run fields: {sorted(unknown)}")
        if "status" in fields and fields["status"] not in RUN_STATUSES:
            raise ValueError(f"unknown run status {fields['status']!r}")
        if "config" in fields and not isinstance(fields["config"], str):
            fields["config"] = json.dumps(fields["config"])
        sets = ", ".join(f"{k} = ?" for k in fields)
        with self.transaction() as cur:
            cur.execute(f"UPDATE runs SET {sets} WHERE id = ?", [*fields.values(), run_id])

    def add_metrics(self, run_id: int, rows: Iterable[tuple[int, str, float, float | None]]) -> None:
        """Append metric points ``(step, name, value, epoch)`` to a run."""
        with self.transaction() as cur:
            cur.executemany("INSERT INTO run_metrics (run_id, step, name, value, epoch) "
                            "VALUES (?, ?, ?, ?, ?)", [(run_id, *r) for r in rows])

    def metrics(self, run_id: int, name: str | None = None) -> dict[str, list[tuple[int, float]]]:
        """A run's metric series by name: ``{"loss": [(step, value), ...], ...}``."""
        sql = "SELECT name, step, value FROM run_metrics WHERE run_id = ?"
        params: list[Any] = [run_id]
        if name:
            sql += " AND name = ?"
            params.append(name)
        out: dict[str, list[tuple[int, float]]] = {}
        for n, step, value in self.execute(sql + " ORDER BY name, step, rowid", params):
            out.setdefault(n, []).append((step, value))
        return out

    def run(self, run_id: int) -> Run | None:
        rows = self.execute("SELECT id, created_at, status, base_model, loss, config, finished_at, "
                            "device, seconds, total_steps, steps, base_dev_spearman, "
                            "best_dev_spearman, best_step, model_dir, message FROM runs WHERE id = ?",
                            (run_id,))
        if not rows:
            return None
        r = list(rows[0])
        r[5] = json.loads(r[5] or "{}")
        return Run(*r)

    def runs(self) -> list[Run]:
        ids = [r[0] for r in self.execute("SELECT id FROM runs ORDER BY id")]
        return [run for i in ids if (run := self.run(i)) is not None]

    def best_run(self) -> Run | None:
        """The finished (or cancelled, with a model) run with the best dev Spearman."""
        row = self.execute("SELECT id FROM runs WHERE model_dir IS NOT NULL "
                           "AND status IN ('finished', 'cancelled') "
                           "ORDER BY best_dev_spearman DESC NULLS LAST, id DESC LIMIT 1")
        return self.run(row[0][0]) if row else None

    def run_dir(self, run_id: int) -> Path:
        return self.runs_dir / str(run_id)

    def _mark_interrupted_runs(self) -> None:
        """Runs left 'running' by a process that is gone were interrupted (a crash, a kill)."""
        stale = []
        for run_id, pid in self.execute("SELECT id, pid FROM runs WHERE status = 'running'"):
            if pid is None or not _process_alive(int(pid)) or int(pid) == os.getpid():
                stale.append(run_id)
        for run_id in stale:
            self.update_run(run_id, status="interrupted",
                            message="The run stopped unexpectedly; resume it from its last checkpoint.")


def _process_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def default_guidelines() -> str:
    """The guideline text a new project starts with (shipped in resources/guidelines.md)."""
    from stsstudio.core.resources import read_text

    try:
        return read_text("guidelines.md")
    except (FileNotFoundError, ModuleNotFoundError, OSError):
        return ("Rate how similar the two sentences are in meaning, from 0 (unrelated) "
                "to 1 (equivalent).")


# --------------------------------------------------------------------------------------
# Transactions


class _Cursor:
    """The cursor handed out by :class:`_Transaction`; ``executescript`` stays inside the tx."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._cur = conn.cursor()

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> sqlite3.Cursor:
        return self._cur.execute(sql, params)

    def executemany(self, sql: str, seq: Iterable[Any]) -> sqlite3.Cursor:
        return self._cur.executemany(sql, seq)

    def executescript_in_tx(self, script: str) -> None:
        # sqlite3.executescript would COMMIT first; run statement by statement instead.
        for statement in _split_sql(script):
            self._cur.execute(statement)

    @property
    def lastrowid(self) -> int:
        return self._cur.lastrowid or 0

    @property
    def rowcount(self) -> int:
        return self._cur.rowcount


def _split_sql(script: str) -> list[str]:
    out, buf = [], []
    for line in script.splitlines():
        if line.strip().startswith("--"):
            continue
        buf.append(line)
        if sqlite3.complete_statement("\n".join(buf)):
            out.append("\n".join(buf))
            buf = []
    return [s for s in out if s.strip()]


class _Transaction:
    def __init__(self, project: Project) -> None:
        self._project = project

    def __enter__(self) -> _Cursor:
        self._project._lock.acquire()
        try:
            if self._project.closed:
                raise ProjectError("the project is closed")
            self._project._conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._project._lock.release()
            raise
        return _Cursor(self._project._conn)

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: object) -> None:
        try:
            if exc_type is None:
                self._project._conn.execute("COMMIT")
            else:
                self._project._conn.execute("ROLLBACK")
        finally:
            self._project._lock.release()

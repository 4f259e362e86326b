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

import contextlib
import errno
import hashlib
import itertools
import json
import math
import os
import shutil
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stsstudio.core.errors import (
    ProjectError,
    ProjectFileTargetError,
    ProjectLocked,
    ProjectPathError,
    ProjectReadOnly,
    UserError,
)
from stsstudio.core.hashing import pair_hash, pair_hashes
from stsstudio.core.paths import process_alive

DB_NAME = "project.stsproj"
SPLITS = ("train", "dev", "test", "none")
RUN_STATUSES = ("running", "finished", "failed", "cancelled", "interrupted")
PAGE_SIZE = 16384  # of new projects; existing ones keep theirs


class InvalidValueError(ProjectError, ValueError):
    """A value the user gave is out of range (a ValueError for callers, one line for the CLI)."""


ProjectLockedError = ProjectLocked  # its name before the errors were declared in core/errors.py


# --------------------------------------------------------------------------------------
# Schema and migrations

# An entry is a SQL script, or a function (cursor, project folder) for a data migration.
_MIGRATIONS: list[str | Callable[[Any, Path], None]] = [
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
    # 1 -> 2: a pool of single sentences that pairs are suggested from (issue 13)
    """
    CREATE TABLE sentences (
        id          INTEGER PRIMARY KEY,
        text        TEXT NOT NULL,
        -- hashing.sentence_hashes of the text: equal after whitespace and case normalisation
        norm_hash   INTEGER NOT NULL,
        -- NULL until pairs are suggested; then fixed, so a sentence never crosses splits
        split       TEXT CHECK (split IS NULL OR split = 'train' OR split = 'dev' OR split = 'test'),
        metadata    TEXT NOT NULL DEFAULT '{}',
        source      TEXT,
        source_row  INTEGER,
        created_at  REAL NOT NULL
    );
    CREATE UNIQUE INDEX sentences_norm_hash ON sentences (norm_hash);
    """,
    # 2 -> 3: runs.model_dir relative to the project folder (issue 14; see _relative_model_dirs)
    lambda cur, folder: _relative_model_dirs(cur, folder),
    # 3 -> 4: several annotators (issue 15). An adjudicated label settles a pair's target;
    # assignments give each annotator a share of the pairs plus the shared overlap.
    """
    ALTER TABLE labels ADD COLUMN adjudicated INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE assignments (
        pair_id    INTEGER NOT NULL REFERENCES pairs (id) ON DELETE CASCADE,
        annotator  TEXT NOT NULL,
        overlap    INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (annotator, pair_id)
    );
    CREATE INDEX assignments_pair ON assignments (pair_id);
    """,
    # 4 -> 5: what each run trained and was evaluated on (no leaked evaluation), and its summary
    # (schedule, dev interval, verdict against the base model) as written at training time (issue 10).
    """
    CREATE TABLE run_pairs (
        run_id   INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        pair_id  INTEGER NOT NULL,
        role     TEXT NOT NULL CHECK (role = 'train' OR role = 'dev')
    );
    CREATE INDEX run_pairs_run ON run_pairs (run_id, role);
    ALTER TABLE runs ADD COLUMN summary TEXT;
    """,
    # 5 -> 6: the model in the loop (issue 12). Each model's cosine score of every pair, keyed
    # by run (0: the base model); a prediction set counts once its row in prediction_sets is
    # written, so a half-scored set is never read as complete. A run's calibration (cosine ->
    # label, isotonic) is a JSON payload. A label records where it came from: '' a person,
    # 'model' a guess accepted from run model_run, 'review' a revision from the review queue;
    # guess is the model's calibrated guess when the label was given, surprise whether they
    # differed by more than the threshold.
    """
    CREATE TABLE predictions (
        run_id       INTEGER NOT NULL,
        pair_id      INTEGER NOT NULL REFERENCES pairs (id) ON DELETE CASCADE,
        score        REAL NOT NULL,
        uncertainty  REAL,
        PRIMARY KEY (run_id, pair_id)
    ) WITHOUT ROWID;
    CREATE TABLE prediction_sets (
        run_id        INTEGER PRIMARY KEY,
        model         TEXT NOT NULL,
        data_version  TEXT NOT NULL,
        pairs         INTEGER NOT NULL,
        created_at    REAL NOT NULL
    );
    CREATE TABLE calibrations (
        run_id      INTEGER PRIMARY KEY,
        payload     TEXT NOT NULL,
        created_at  REAL NOT NULL
    );
    ALTER TABLE labels ADD COLUMN source TEXT NOT NULL DEFAULT '';
    ALTER TABLE labels ADD COLUMN model_run INTEGER;
    ALTER TABLE labels ADD COLUMN guess REAL;
    ALTER TABLE labels ADD COLUMN surprise INTEGER NOT NULL DEFAULT 0;
    """,
    # 6 -> 7: the columns of an imported file that were not mapped (an ID, a judgment, ...),
    # kept per pair as a JSON object so that exports write them back (issue 11). NULL: none.
    # A nullable column rewrites no rows.
    """
    ALTER TABLE pairs ADD COLUMN metadata TEXT;
    """,
]
# Forward-only: append a migration to the list; never edit one that has shipped.
SCHEMA_VERSION = len(_MIGRATIONS)


def _relative_model_dirs(cur: Any, folder: Path) -> None:
    """Old projects stored absolute model folders, which broke when a project moved or was
    copied (a copy silently used the original's model). Keep the part from ``runs/<id>/``."""
    for run_id, model_dir in cur.execute("SELECT id, model_dir FROM runs "
                                         "WHERE model_dir IS NOT NULL").fetchall():
        rel = _relative_model_dir(model_dir, folder, run_id)
        if rel != model_dir:
            cur.execute("UPDATE runs SET model_dir = ? WHERE id = ?", (rel, run_id))


def _relative_model_dir(model_dir: str, folder: Path, run_id: int | None = None) -> str:
    """``model_dir`` relative to the project ``folder`` when it lies in the project's runs."""
    path = Path(model_dir)
    if not path.is_absolute():
        return model_dir
    try:
        return path.relative_to(folder).as_posix()
    except ValueError:
        pass
    parts = path.parts
    # A project that has since moved: .../runs/<id>/model -> runs/<id>/model
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "runs" and (run_id is None or parts[i + 1] == str(run_id)):
            return Path(*parts[i:]).as_posix()
    return model_dir


# --------------------------------------------------------------------------------------
# Inter-process lock: one writer per project


class _WriterLock:
    """An advisory lock file held while a process has the project open for writing."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: Any = None

    def acquire(self) -> None:
        self._fh = _open_lock_file(self.path)
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
            raise ProjectLocked(
                f"{self.path.parent} is open in another STS Studio window or command{who}.") from None
        try:
            self._fh.seek(0)
            self._fh.truncate()
            self._fh.write(str(os.getpid()))
            self._fh.flush()
        except OSError as exc:
            # A full disk (ENOSPC) or quota: the lock itself is held, only the PID note is lost.
            self._fh.close()
            self._fh = None
            raise ProjectError(f"{self.path.parent} cannot be opened for writing: "
                               f"{_os_reason(exc)}") from None

    def release(self) -> None:
        if self._fh is not None:
            try:
                self._fh.seek(0)
                self._fh.truncate()
            except OSError:
                pass
            self._fh.close()  # closing the descriptor drops the lock
            self._fh = None


def _os_reason(exc: OSError) -> str:
    """An OSError as a short phrase for a one-line message ("No space left on device")."""
    return " ".join(str(exc.strerror or exc).split())


def _open_lock_file(path: Path) -> Any:
    """Open the lock file for reading and writing without ever following a symbolic link.

    A project shared as an archive could carry ``.lock -> ~/somefile``; following it would
    truncate that file. O_NOFOLLOW refuses the link, O_NONBLOCK keeps a FIFO from blocking,
    and anything but a regular file is refused.
    """
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) \
        | getattr(os, "O_CLOEXEC", 0)
    if path.is_symlink():
        raise ProjectError(f"{path} is a symbolic link; a project's lock file must be a plain file. "
                           "Delete the link and open the project again.")
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ProjectError(f"{path} is a symbolic link; a project's lock file must be a plain "
                               "file. Delete the link and open the project again.") from None
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            raise ProjectReadOnly(f"{path.parent} is read-only ({_os_reason(exc)}).",
                                  hint="Open the project read-only, or copy it to a folder you can "
                                  "write to.") from None
        raise ProjectError(f"{path.parent} cannot be opened for writing: {_os_reason(exc)}") from None
    import stat

    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ProjectError(f"{path} is not a plain file; delete it and open the project again.")
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    return os.fdopen(fd, "r+")


def _refuse_links(folder: Path, names: Iterable[str]) -> None:
    """Refuse symbolic links where the project writes (database, WAL, runs, cache).

    Writing through a link planted in a shared project would change a file outside it.
    """
    for name in names:
        p = folder / name
        if p.is_symlink():
            raise ProjectError(f"{p} is a symbolic link; STS Studio does not follow links inside a "
                               "project. Replace it with the real file or folder.")


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
    # The imported file's unmapped columns ({"pair_id": "c-17", ...}); None when it had none.
    metadata: dict[str, Any] | None = field(default=None, hash=False)


@dataclass(frozen=True)
class Label:
    id: int
    pair_id: int
    score: float
    annotator: str
    created_at: float
    adjudicated: bool = False
    source: str = ""                 # "" a person, "model" an accepted guess, "review" a revision
    model_run: int | None = None     # the run whose guess was shown (0: the base model)
    guess: float | None = None       # the model's calibrated guess (0..1) when the label was given
    surprise: bool = False           # label and guess differed by more than the threshold


# Where a label came from: a person, the model's guess accepted, a revision in review.
LABEL_SOURCES = ("", "model", "review")
# Labels that arrive with imported pairs carry this annotator name.
IMPORT_ANNOTATOR = "import"
# The annotator spellings a project has seen, oldest first (a JSON list in meta).
_SPELLINGS_KEY = "annotator_spellings"
# How several annotators' latest labels become a pair's target (meta "label_aggregate").
LABEL_AGGREGATES = ("mean", "median")


def effective_labels(rows: Iterable[Sequence[Any]], *,
                     keep_import: bool = False) -> tuple[dict[str, float], float | None]:
    """Each annotator's latest label, and the latest adjudicated value, of one pair.

    Args:
        rows: the pair's history in time order, as ``(score, annotator, adjudicated)``.

    A label that came with an import stands in only until a person labels the pair: it
    keeps a corrected pair's target the correction, as with a single annotator.
    """
    latest: dict[str, float] = {}
    adjudicated: float | None = None
    for score, annotator, adj in rows:
        if adj:
            adjudicated = score
        else:
            latest[annotator or ""] = score
    if len(latest) > 1 and not keep_import:
        latest.pop(IMPORT_ANNOTATOR, None)
    return latest, adjudicated


def aggregate_target(latest: dict[str, float], adjudicated: float | None,
                     how: str = "mean") -> float | None:
    """A pair's training target: the adjudicated value, else the mean (or median) of labels."""
    if adjudicated is not None:
        return adjudicated
    if not latest:
        return None
    values = list(latest.values())
    if len(values) == 1:
        return values[0]
    if how == "median":
        import statistics

        return float(statistics.median(values))
    return math.fsum(values) / len(values)


def _chunked_rows(cur: Any, sql: str, ids: Sequence[int]) -> list[tuple]:
    """Run ``sql`` (with one ``IN ({})``) over ``ids`` in chunks under SQLite's bound limit."""
    rows: list[tuple] = []
    ids = list(ids)
    for start in range(0, len(ids), 900):
        chunk = ids[start:start + 900]
        rows += cur.execute(sql.format(",".join("?" * len(chunk))), chunk).fetchall()
    return rows


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
    summary: dict[str, Any] = field(default_factory=dict)  # schedule, dev interval, verdict (training)

    @property
    def outcome(self) -> str:
        """"better" | "unclear" | "worse" against the base model, or "" when never compared."""
        return str(self.summary.get("outcome") or "")


@dataclass(frozen=True)
class PoolSentence:
    """One sentence of the project's pool (pairs are suggested from it)."""

    id: int
    text: str
    split: str | None
    metadata: dict[str, Any]
    source: str | None
    source_row: int | None


@dataclass
class InsertReport:
    """What :meth:`Project.insert_pairs` wrote."""

    inserted: int = 0
    labeled: int = 0
    first_id: int | None = None
    last_id: int | None = None


@dataclass(frozen=True)
class PairCounts:
    """How many pairs each split holds, how many are labeled and flagged: every view's counts.

    Returned by :meth:`Project.counts`. Methods take a split, or None for the whole project.
    """

    splits: dict[str, int]
    labeled_splits: dict[str, int]
    flagged_splits: dict[str, int]

    def total(self, split: str | None = None) -> int:
        return self.splits.get(split, 0) if split else sum(self.splits.values())

    def labeled(self, split: str | None = None) -> int:
        return self.labeled_splits.get(split, 0) if split else sum(self.labeled_splits.values())

    def unlabeled(self, split: str | None = None) -> int:
        return self.total(split) - self.labeled(split)

    def flagged(self, split: str | None = None) -> int:
        return self.flagged_splits.get(split, 0) if split else sum(self.flagged_splits.values())


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


_PAIR_COLUMNS = ("id, sentence1, sentence2, split, score, annotator, flagged, note, source, source_row, "
                 "metadata")


def _pair(row: Sequence[Any]) -> Pair:
    return Pair(row[0], row[1], row[2], row[3], _score_or_none(row[4]), row[5], bool(row[6]), row[7],
                row[8], row[9], _metadata(row[10]))


def _score_or_none(value: Any) -> float | None:
    """A stored score as a number in 0..1, or None for anything else.

    The CHECK constraints keep such values out, but a database edited past them (a received
    project) may hold text or 7.0 in a score: those read as no score, never as a traceback.
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0.0 <= value <= 1.0:
        return float(value)
    return None


def _metadata(text: str | None) -> dict[str, Any] | None:
    """A pair's metadata column as a dict (None: the pair has none, or it is unreadable)."""
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _run_fields(row: Sequence[Any]) -> list[Any]:
    """A runs row as :class:`Run` fields, whatever a received project stored in it.

    Config and summary that are not JSON objects read as empty; numbers stored as text (SQLite
    allows it) read as None, so that no view or command meets a type it does not expect.
    """
    r = list(row)
    for i in (5, 16):
        value = _metadata(r[i] if isinstance(r[i], str) else None)
        r[i] = value if value is not None else {}
    for i in (1, 6, 8, 11, 12):  # created_at, finished_at, seconds, base and best dev Spearman
        if r[i] is not None and (isinstance(r[i], bool) or not isinstance(r[i], (int, float))):
            r[i] = 0.0 if i == 1 else None
    for i in (9, 10, 13):  # total_steps, steps, best_step
        if r[i] is not None and not isinstance(r[i], int):
            r[i] = int(r[i]) if isinstance(r[i], float) and math.isfinite(r[i]) else None
    for i in (2, 3, 4, 7, 14, 15):  # status, base_model, loss, device, model_dir, message
        if r[i] is not None and not isinstance(r[i], str):
            r[i] = str(r[i]) if i in (3, 4) else None
    if r[2] not in RUN_STATUSES:
        r[2] = "failed"
    return r


_CHUNK_ROWS = 50_000


def _sql_literal(value: str | None) -> str:
    """A SQL literal for a constant: NULL or a single-quoted string (SQLite has no escapes)."""
    if value is None:
        return "NULL"
    return "'" + str(value).replace("\x00", "").replace("'", "''") + "'"


class PairRows(Sequence[tuple]):
    """Pairs to insert, kept as columns: the form the importers build for a million rows.

    Behaves as a sequence of ``(sentence1, sentence2, score, split, source_row, pair_hash)``
    tuples. ``split`` is either one split for every row or a list. ``metadata`` is None (no
    extra columns: the fast path) or one JSON object text (or None) per row.
    """

    def __init__(self, sentence1: list[str], sentence2: list[str], score: list[float | None],
                 split: str | list[str], source_row: list[int | None], pair_hash: list[int],
                 metadata: list[str | None] | None = None,
                 metadata_keys: Sequence[str] = ()) -> None:
        n = len(sentence1)
        if isinstance(split, str):
            if split not in SPLITS:
                raise ValueError(f"unknown split {split!r}")
        columns = (sentence2, score, source_row, pair_hash) + (() if isinstance(split, str) else (split,))
        if any(len(c) != n for c in columns) or (metadata is not None and len(metadata) != n):
            raise ValueError("all columns of PairRows must have the same length")
        self.sentence1, self.sentence2, self.score = sentence1, sentence2, score
        self.split, self.source_row, self.pair_hash = split, source_row, pair_hash
        self.metadata = metadata
        self.metadata_keys = list(metadata_keys)  # the keys the metadata objects use

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
        # Pair counts by split, kept in step by this object's own writes (it is the only writer:
        # the lock file keeps other processes out). None until first computed.
        self._counts: dict[str, list[int]] | None = None
        self._counts_generation = 0   # bumped by every write that may change the counts
        self._spellings: list[str] | None = None  # annotator spellings seen, oldest first
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
        _refuse_links(self.path, (DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm", DB_NAME + "-journal",
                                  "runs", "cache"))
        if not _create and db.stat().st_size == 0:
            raise ProjectError(f"{db} is empty (0 bytes): the project database is lost or was never "
                               "written. Restore it from a backup.")
        if not readonly:
            self._writer = _WriterLock(self.path / ".lock")
            self._writer.acquire()
        try:
            if readonly:
                uri = db.as_uri() + "?mode=ro"
                if not os.access(self.path, os.W_OK) and not (self.path / (DB_NAME + "-shm")).exists():
                    # A WAL database in a read-only folder cannot create its shared-memory file;
                    # nobody can be writing to it either, so read it as immutable.
                    uri = db.as_uri() + "?immutable=1"
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
            self._migrate(creating=_create)
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
        self.inside(d)
        return d

    def cache_file(self, name: str) -> Path:
        """``cache/<name>``, refused when it is a link leading outside the project."""
        path = self.cache_dir / name
        if path.is_symlink():
            self.inside(path)
        return path

    def _migrate(self, creating: bool = False) -> None:
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        if version < 0 or (version == 0 and not creating):
            tables = self._conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]
            what = ("holds no tables" if not tables else f"has the invalid schema version {version}")
            raise ProjectError(f"{self.db_path} {what}: it is damaged or not an STS Studio project "
                               "database. Restore it from a backup.")
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
                step = _MIGRATIONS[target - 1]
                if callable(step):  # a data migration in Python
                    step(cur, self.path)
                else:
                    cur.executescript_in_tx(step)
                cur.execute(f"PRAGMA user_version = {target}")

    # -- transactions ----------------------------------------------------------------

    def transaction(self) -> _Transaction:
        """A write transaction: ``with project.transaction() as cur: cur.execute(...)``.

        Commits on success; rolls back on any exception, leaving the database as it was.
        """
        if self.readonly:
            raise ProjectReadOnly(f"{self.path} is open read-only.")
        return _Transaction(self)

    @contextlib.contextmanager
    def background_writes(self) -> Iterator[Callable[[], None]]:
        """Long background writing (scoring every pair) that never stalls a label's commit.

        SQLite copies the write-ahead log into the database (a checkpoint) on the commit that
        grows the log past 1,000 pages: with a worker writing, that is often a label's commit
        on the GUI thread, 40-70 ms at 100k predictions. Inside this block the project's
        connection does not checkpoint; the yielded ``checkpoint()`` does it on a connection of
        its own, without the project lock (a passive checkpoint waits for nobody), and the
        worker calls it between its writes.
        """
        if self.readonly:
            raise ProjectReadOnly(f"{self.path} is open read-only.")
        with self._lock:
            self._conn.execute("PRAGMA wal_autocheckpoint = 0")
        side = sqlite3.connect(self.db_path, check_same_thread=False, isolation_level=None, timeout=10)

        def checkpoint() -> None:
            side.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

        try:
            yield checkpoint
        finally:
            try:
                checkpoint()
            finally:
                side.close()
                with self._lock:
                    if not self.closed:
                        self._conn.execute("PRAGMA wal_autocheckpoint = 1000")

    # Reads. Private: SQL stays in this module; other modules call the named methods below.

    def _execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[tuple]:
        """Run a read query and return all rows."""
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def _scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self._lock:
            row = self._conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    # -- meta ------------------------------------------------------------------------

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        value = self._scalar("SELECT value FROM meta WHERE key = ?", (key,))
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

    def display_scale(self) -> str | None:
        """The scale people read scores on ("1-5", "0-100", ...), taken from the import.

        Storage is always 0..1; :mod:`stsstudio.core.scales` converts. None: never set (0-1).
        """
        from stsstudio.core.scales import SCALE_RANGES

        scale = self.get_meta("display_scale") or None
        return scale if scale in SCALE_RANGES else None  # an unknown one (edited) reads as 0-1

    def set_display_scale(self, scale: str) -> None:
        """Remember the scale people read scores on (a name from ``scales.SCALE_RANGES``)."""
        self.set_meta("display_scale", scale)

    # -- pairs -----------------------------------------------------------------------

    def existing_hashes(self) -> set[int]:
        """All pair hashes in the project, for dedup against the project on import."""
        with self._lock:
            return {h for (h,) in self._conn.execute("SELECT pair_hash FROM pairs")}

    def find_pair(self, sentence1: str, sentence2: str) -> int | None:
        """The id of the pair equal to (sentence1, sentence2) in either order, or None."""
        row = self._execute("SELECT id FROM pairs WHERE pair_hash = ? ORDER BY id LIMIT 1",
                           (pair_hash(sentence1, sentence2),))
        return row[0][0] if row else None

    def insert_pairs(self, rows: Iterable[Sequence[Any]], *, source: str | None = None,
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
        total = len(rows)
        now = time.time()
        report = InsertReport()
        # Constants go into the statement as literals so that SQLite binds 6 values per row,
        # not 10; _sql_literal quotes them safely. Metadata is bound only when a file has it.
        metadata = rows.metadata
        sql = (
            "INSERT INTO pairs (sentence1, sentence2, score, split, source_row, pair_hash, source, "
            f"annotator, created_at, updated_at{', metadata' if metadata is not None else ''}) "
            # Plain ``?`` placeholders (numbered ones with a sequence are deprecated from
            # Python 3.12): the row is a one-row SELECT, so the score is read twice by name.
            "SELECT s1, s2, sc, sp, sr, ph, "
            f"{_sql_literal(source)}, CASE WHEN sc IS NULL THEN NULL ELSE {_sql_literal(annotator)} END, "
            f"{now!r}, {now!r}{', md' if metadata is not None else ''} "
            "FROM (SELECT ? AS s1, ? AS s2, ? AS sc, ? AS sp, ? AS sr, ? AS ph"
            f"{', ? AS md' if metadata is not None else ''})"
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
                    it = iter(rows) if metadata is None else (
                        (*row, meta) for row, meta in zip(rows, metadata))
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
                    if metadata is not None and rows.metadata_keys and after > before:
                        known = self.metadata_keys()
                        keys = known + [k for k in rows.metadata_keys if k not in known]
                        cur.execute("INSERT INTO meta (key, value) VALUES ('metadata_keys', ?) ON "
                                    "CONFLICT (key) DO UPDATE SET value = excluded.value",
                                    (json.dumps(keys),))
                    # Labels that arrive with the pairs become the first entry of their history,
                    # copied inside SQLite rather than round-tripped through Python. Annotator and
                    # time are the constants written on those pairs: literals are cheaper than
                    # reading the last columns of each pair's record.
                    if row_labels is None:
                        cur.execute(
                            "INSERT INTO labels (pair_id, score, annotator, created_at) "
                            f"SELECT id, score, {_sql_literal(annotator)}, {now!r} FROM pairs "
                            "WHERE id > ? AND score IS NOT NULL ORDER BY id", (before,))
                        report.labeled = cur.rowcount
                    else:
                        if after - before != len(row_labels):  # ids follow the rows one by one
                            raise ProjectError("the new pairs did not get consecutive ids; nothing "
                                               "was imported")
                        report.labeled = self._insert_rater_labels(cur, before, row_labels,
                                                                   existing_labels, now)
                    report.inserted = after - before
                    if report.inserted:
                        report.first_id, report.last_id = before + 1, after
                    added = _tally_rows(cur.execute(
                        _COUNTS_SINCE_SQL, (before,))) \
                        if self._counts is not None and report.inserted else {}
                self._counts_changed({}, added, exact=not existing_labels)
            finally:
                if fk and not self.closed:
                    self._conn.execute("PRAGMA foreign_keys = ON")
        return report

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
            self._refresh_current(cur, pid, now)
        return sum(1 for labels in row_labels if labels)

    def pair(self, pair_id: int) -> Pair | None:
        rows = self._execute(f"SELECT {_PAIR_COLUMNS} FROM pairs WHERE id = ?", (pair_id,))
        return _pair(rows[0]) if rows else None

    def pairs_by_ids(self, ids: Sequence[int]) -> dict[int, Pair]:
        """Fetch many pairs at once (one page of the pair table)."""
        out: dict[int, Pair] = {}
        ids = list(ids)
        for start in range(0, len(ids), 900):  # SQLite's bound-parameter limit
            chunk = ids[start:start + 900]
            marks = ",".join("?" * len(chunk))
            for row in self._execute(f"SELECT {_PAIR_COLUMNS} FROM pairs WHERE id IN ({marks})", chunk):
                out[row[0]] = _pair(row)
        return out

    def query_pair_ids(self, *, filter: str = "all", split: str | None = None,
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
        with self._lock:
            return [r[0] for r in self._conn.execute(sql, params)]

    def pair_count(self) -> int:
        """How many pairs: the cached :meth:`counts` when ready, else COUNT(*) (milliseconds)."""
        with self._lock:
            if self._counts is not None and not self.closed:
                return self.counts().total()
        return int(self._scalar("SELECT COUNT(*) FROM pairs") or 0)

    def has_pairs(self) -> bool:
        return self._scalar("SELECT 1 FROM pairs LIMIT 1") is not None

    def metadata_keys(self) -> list[str]:
        """The metadata keys pairs carry (imported columns that were not mapped), in the order
        the imports brought them. Recorded by :meth:`insert_pairs`, so no scan."""
        try:
            keys = json.loads(self.get_meta("metadata_keys") or "[]")
        except ValueError:
            return []
        return [str(k) for k in keys] if isinstance(keys, list) else []

    def max_pair_id(self) -> int:
        """The largest pair id, 0 without pairs: a b-tree lookup, a cheap bound of the count."""
        return int(self._scalar("SELECT MAX(id) FROM pairs") or 0)

    def pair_id_span(self) -> tuple[int, int, int]:
        """``(count, min id, max id)`` of the pairs, ``(0, 0, 0)`` without any.

        COUNT(*) walks the smallest b-tree and MIN/MAX are lookups: milliseconds at a million
        pairs. When ``count == max - min + 1`` the ids are exactly that range.
        """
        row = self._execute("SELECT COUNT(*), MIN(id), MAX(id) FROM pairs")[0]
        return (int(row[0]), int(row[1] or 0), int(row[2] or 0)) if row[0] else (0, 0, 0)

    def label_queue_ids(self, *, labeled: bool, split: str | None = None, after_id: int = 0,
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
        with self._lock:
            return [r[0] for r in self._conn.execute(sql, params)]

    def pair_keys(self) -> list[tuple[int, float | None, str]]:
        """``(pair_hash, score, split)`` of every pair: the importers' dedup index."""
        return self._execute("SELECT pair_hash, score, split FROM pairs")

    def split_sentence_rows(self) -> list[tuple[str, str, str]]:
        """``(sentence1, sentence2, split)`` of the pairs in a split (not 'none'): leak checks."""
        return self._execute("SELECT sentence1, sentence2, split FROM pairs WHERE split != 'none'")

    def pair_text_rows(self, split: str | None = None, labeled_only: bool = False, *,
                       metadata: bool = False) -> list[tuple]:
        """``(sentence1, sentence2, score, split)`` of the pairs in id order (data export).

        With ``metadata``, each row ends with the pair's metadata as a dict (or None).
        """
        if metadata:
            rows = self.pair_text_rows(split, labeled_only)
            meta = self._execute("SELECT metadata FROM pairs WHERE 1"
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
        rows = self._execute(sql + " ORDER BY id", params)
        return [(s1, s2, _score_or_none(score), sp) for s1, s2, score, sp in rows]

    def pair_ids_by_sentence(self, sentences: Sequence[str]) -> dict[str, list[int]]:
        """Ids of the pairs each sentence occurs in (either side), in id order; one query."""
        sentences = list(sentences)
        if not sentences:
            return {}
        marks = ",".join("?" * len(sentences))
        rows = self._execute(f"SELECT id, sentence1, sentence2 FROM pairs WHERE sentence1 IN ({marks}) "
                             f"OR sentence2 IN ({marks}) ORDER BY id", [*sentences, *sentences])
        wanted = set(sentences)
        out: dict[str, list[int]] = {}
        for pair_id, s1, s2 in rows:
            for s in {s1, s2} & wanted:
                out.setdefault(s, []).append(pair_id)
        return out

    def labeled_pairs(self, split: str | None = None) -> list[Pair]:
        """Labeled pairs (current score not null), optionally of one split, in id order."""
        sql = f"SELECT {_PAIR_COLUMNS} FROM pairs WHERE score IS NOT NULL"
        params: list[Any] = []
        if split:
            sql += " AND split = ?"
            params.append(split)
        return [p for r in self._execute(sql + " ORDER BY id", params) if (p := _pair(r)).score is not None]

    def all_pairs(self, split: str | None = None, labeled_only: bool = False) -> list[Pair]:
        sql = f"SELECT {_PAIR_COLUMNS} FROM pairs WHERE 1"
        params: list[Any] = []
        if split:
            sql += " AND split = ?"
            params.append(split)
        if labeled_only:
            sql += " AND score IS NOT NULL"
        pairs = [_pair(r) for r in self._execute(sql + " ORDER BY id", params)]
        return [p for p in pairs if p.score is not None] if labeled_only else pairs

    def _private_rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """A long read on a private read-only connection (WAL: it sees the last commit), so the
        shared connection, and the GUI thread's label writes, never wait for it."""
        try:
            conn = sqlite3.connect(self.db_path.as_uri() + "?mode=ro", uri=True)
            try:
                return conn.execute(sql, params).fetchall()
            finally:
                conn.close()
        except sqlite3.Error:   # e.g. a read-only folder without the WAL index: share the connection
            return self._execute(sql, params)

    def sentences(self) -> list[str]:
        """Every distinct sentence of the project, in first-seen order (the search corpus)."""
        rows = self._private_rows(
            "SELECT s FROM (SELECT sentence1 AS s, id, 0 AS k FROM pairs "
            "UNION ALL SELECT sentence2, id, 1 FROM pairs) GROUP BY s ORDER BY MIN(id * 2 + k)")
        return [r[0] for r in rows]

    def pairs_with_sentence(self, sentence: str) -> list[Pair]:
        rows = self._execute(f"SELECT {_PAIR_COLUMNS} FROM pairs WHERE sentence1 = ? OR sentence2 = ? "
                            "ORDER BY id", (sentence, sentence))
        return [_pair(r) for r in rows]

    def data_version(self) -> str:
        """A token that changes whenever the set of pair texts changes (for caches)."""
        row = self._private_rows("SELECT COUNT(*), COALESCE(MAX(id), 0), "
                                 "COALESCE(SUM(pair_hash % 1000003), 0) FROM pairs")[0]
        return f"{row[0]}-{row[1]}-{row[2]}"

    # -- labels ----------------------------------------------------------------------

    def set_label(self, pair_id: int, score: float, annotator: str = "", *, source: str = "",
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
        annotator = self.annotator_spelling(annotator, remember=True)
        now = time.time()
        with self._counting([pair_id]) as cur:
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
            self._refresh_current(cur, pair_id, now)
        return int(label_id)

    def remove_label(self, label_id: int) -> None:
        """Take one label back (undo): the pair's score becomes its previous label, or none."""
        row = self._execute("SELECT pair_id FROM labels WHERE id = ?", (label_id,))
        if not row:
            return
        pair_id = row[0][0]
        with self._counting([pair_id]) as cur:
            row = cur.execute("SELECT pair_id FROM labels WHERE id = ?", (label_id,)).fetchone()
            if row is None:
                return
            cur.execute("DELETE FROM labels WHERE id = ?", (label_id,))
            self._refresh_current(cur, pair_id)

    def _refresh_current(self, cur: _Cursor, pair_id: int, now: float | None = None) -> None:
        """Set a pair's current score (the training target) from its labels."""
        rows = cur.execute("SELECT score, annotator, adjudicated FROM labels WHERE pair_id = ? "
                           "ORDER BY created_at, id", (pair_id,)).fetchall()
        latest, adjudicated = effective_labels(rows)
        score = aggregate_target(latest, adjudicated, self._aggregate(cur))
        annotator = rows[-1][1] if rows else None
        cur.execute("UPDATE pairs SET score = ?, annotator = ?, updated_at = ? WHERE id = ?",
                    (score, annotator, time.time() if now is None else now, pair_id))

    def label_history(self, pair_id: int) -> list[Label]:
        rows = self._execute("SELECT id, pair_id, score, annotator, created_at, adjudicated, source, "
                             "model_run, guess, surprise FROM labels "
                             "WHERE pair_id = ? ORDER BY created_at, id", (pair_id,))
        return [Label(*r[:5], adjudicated=bool(r[5]), source=r[6] or "", model_run=r[7], guess=r[8],
                      surprise=bool(r[9])) for r in rows]

    # -- several annotators (issue 15) ---------------------------------------------------

    def _aggregate(self, cur: _Cursor | None = None) -> str:
        sql = "SELECT value FROM meta WHERE key = 'label_aggregate'"
        if cur is not None:
            row = cur.execute(sql).fetchone()
        else:
            rows = self._execute(sql)
            row = rows[0] if rows else None
        value = row[0] if row else "mean"
        return value if value in LABEL_AGGREGATES else "mean"

    @property
    def label_aggregate(self) -> str:
        """How several annotators' labels become the target: "mean" (default) or "median"."""
        return self._aggregate()

    def set_label_aggregate(self, how: str) -> int:
        """Choose mean or median for pairs with several annotators; returns how many changed."""
        if how not in LABEL_AGGREGATES:
            raise UserError(f"unknown label aggregate {how!r}; use {' or '.join(LABEL_AGGREGATES)}")
        multi = [r[0] for r in self._execute(
            "SELECT pair_id FROM labels WHERE adjudicated = 0 GROUP BY pair_id "
            "HAVING COUNT(DISTINCT annotator) > 1")]
        with self._counting(multi) as cur:
            cur.execute("INSERT INTO meta (key, value) VALUES ('label_aggregate', ?) "
                        "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (how,))
            before = dict(_chunked_rows(cur, "SELECT id, score FROM pairs WHERE id IN ({})", multi))
            for pid in multi:
                self._refresh_current(cur, pid)
            after = dict(_chunked_rows(cur, "SELECT id, score FROM pairs WHERE id IN ({})", multi))
        return sum(1 for pid in multi if before.get(pid) != after.get(pid))

    def adjudicate(self, pair_id: int, score: float, annotator: str = "") -> int:
        """Settle a pair's target: an adjudicated label wins over the annotators' mean.

        Recorded in the history as adjudicated (undo with :meth:`remove_label`); it is not one
        annotator's label, so agreement figures leave it out. Returns the label's id.
        """
        score = float(score)
        if not 0.0 <= score <= 1.0 or score != score:
            raise ValueError(f"a score must be between 0 and 1, not {score}")
        annotator = self.annotator_spelling(annotator, remember=True)
        now = time.time()
        with self._counting([pair_id]) as cur:
            if cur.execute("SELECT 1 FROM pairs WHERE id = ?", (pair_id,)).fetchone() is None:
                raise ProjectError(f"pair {pair_id} does not exist")
            cur.execute("INSERT INTO labels (pair_id, score, annotator, created_at, adjudicated) "
                        "VALUES (?, ?, ?, ?, 1)", (pair_id, score, annotator, now))
            label_id = cur.lastrowid
            self._refresh_current(cur, pair_id, now)
        return int(label_id)

    def annotator_spellings(self, names: Iterable[str], *, remember: bool = False) -> dict[str, str]:
        """Each name mapped to the spelling this project keeps for that annotator.

        One person is one annotator: names are compared by :func:`annotators.annotator_key`
        (NFC, trimmed, zero-width characters removed, case-folded), and the first spelling the
        project saw is kept. The label-writing methods apply it (``remember``: the names are
        being written); callers use it to say which spellings were joined.
        """
        from stsstudio.core.annotators import join_spellings

        with self._lock:
            if self._spellings is None:
                self._spellings = self._known_spellings(persist=remember)
            names = list(names)
            out = join_spellings(names, self._spellings)
            if remember:
                known = set(self._spellings)
                new = [v for v in dict.fromkeys(out.values()) if v and v not in known]
                if new:
                    self._spellings += new
                    if not self.readonly:
                        self.set_meta(_SPELLINGS_KEY, json.dumps(self._spellings, ensure_ascii=False))
        return out

    def _known_spellings(self, persist: bool) -> list[str]:
        """The annotator spellings seen, oldest first: kept in meta, so that the first label
        of a session does not scan every label (0.9 s at a million labels)."""
        stored = _metadata('{"v": ' + (self.get_meta(_SPELLINGS_KEY) or "null") + "}")
        value = (stored or {}).get("v")
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return list(value)
        rows = self._execute("SELECT annotator FROM (SELECT annotator, MIN(id) AS first "
                             "FROM labels GROUP BY annotator UNION ALL SELECT annotator, "
                             "NULL FROM assignments GROUP BY annotator) ORDER BY first IS NULL, first")
        spellings = list(dict.fromkeys(r[0] for r in rows if isinstance(r[0], str) and r[0]))
        if persist and not self.readonly:
            self.set_meta(_SPELLINGS_KEY, json.dumps(spellings, ensure_ascii=False))
        return spellings

    def annotator_spelling(self, name: str | None, *, remember: bool = False) -> str:
        """The spelling this project keeps for ``name`` (see :meth:`annotator_spellings`)."""
        if not name:
            return ""
        return self.annotator_spellings([name], remember=remember)[name]

    def annotator_labels(self, split: str | None = None, pair_ids: Sequence[int] | None = None,
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
                rows += self._execute(sql + f" AND l.pair_id IN ({','.join('?' * len(chunk))})"
                                      " ORDER BY l.pair_id, l.created_at, l.id", [*params, *chunk])
        else:
            rows = self._execute(sql + " ORDER BY l.pair_id, l.created_at, l.id", params)
        out: list[tuple[int, str, str, float]] = []
        for pid, group in itertools.groupby(rows, key=lambda r: r[0]):
            group = list(group)
            latest, _ = effective_labels([(r[3], r[2], r[4]) for r in group
                                          if _score_or_none(r[3]) is not None], keep_import=raw)
            split_of = group[0][1]
            out += [(pid, split_of, a, latest[a]) for a in sorted(latest)]
        return out

    def adjudicated_scores(self) -> dict[int, float]:
        """The latest adjudicated value of each pair that has one."""
        rows = self._execute("SELECT pair_id, score FROM labels WHERE adjudicated = 1 "
                             "ORDER BY created_at, id")
        return {pid: score for pid, score in rows if _score_or_none(score) is not None}

    def label_summaries(self, pair_ids: Sequence[int]) -> dict[int, tuple[int, float]]:
        """``{pair_id: (annotators, spread)}`` for labelled pairs among ``pair_ids``.

        The Pairs table's "Labels" and "Spread" columns: how many annotators' labels make
        the target, and the largest minus the smallest of them.
        """
        by_pair: dict[int, list[float]] = {}
        for pid, _split, _annotator, score in self.annotator_labels(pair_ids=pair_ids):
            by_pair.setdefault(pid, []).append(score)
        return {pid: (len(v), max(v) - min(v)) for pid, v in by_pair.items()}

    def pair_hashes_of(self, pair_ids: Sequence[int]) -> dict[int, int]:
        """``{pair_id: pair_hash}`` of some pairs."""
        with self._lock:
            return dict(_chunked_rows(self._conn, "SELECT id, pair_hash FROM pairs WHERE id IN ({})",
                                      pair_ids))

    def pair_ids_by_hash(self) -> dict[int, int]:
        """``{pair_hash: pair_id}`` of every pair (the first id where a hash repeats)."""
        out: dict[int, int] = {}
        with self._lock:
            for h, pid in self._conn.execute("SELECT pair_hash, id FROM pairs ORDER BY id DESC"):
                out[h] = pid
        return out

    def add_annotator_labels(self, labels: Sequence[tuple[int, str, float]],
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
        spell = self.annotator_spellings([a for _p, a, _s in labels]
                                         + [a for *_x, pl in new_pairs for a, _s in pl], remember=True)
        labels = [(pid, spell[a], s) for pid, a, s in labels]
        new_pairs = [(s1, s2, sp, h, [(spell[a], s) for a, s in pl]) for s1, s2, sp, h, pl in new_pairs]
        touched = sorted({pid for pid, _a, _s in labels} | {pid for pid, _s in adjudicated})
        now = time.time()
        new_ids: list[int] = []
        with self._lock, self._counting(touched) as cur:
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
                self._refresh_current(cur, pid, now)
        if new_ids:
            with self._lock:  # new pairs: the cached counts are recounted on demand
                self._counts_changed({}, {}, exact=False)
        return new_ids

    # -- overlap assignment ----------------------------------------------------------

    def assign_overlap(self, annotators: Sequence[str], overlap: float, *, seed: int = 42,
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

        names = list(dict.fromkeys(self.annotator_spellings(annotators, remember=True).values()))
        names = [a for a in names if a]
        if not names:
            raise UserError("name at least one annotator")
        if not 0.0 <= overlap <= 1.0:
            raise UserError(f"the overlap must be between 0 and 100 %, not {overlap * 100:g} %")
        sql = "SELECT id FROM pairs" + (" WHERE score IS NULL" if unlabeled_only else "") + " ORDER BY id"
        pool = [r[0] for r in self._execute(sql)]
        random.Random(seed).shuffle(pool)
        k = int(round(len(pool) * overlap))
        shared, rest = pool[:k], pool[k:]
        rows = [(pid, a, 1) for a in names for pid in shared]
        for i, a in enumerate(names):
            rows += [(pid, a, 0) for pid in rest[i::len(names)]]
        with self.transaction() as cur:
            cur.execute("DELETE FROM assignments")
            cur.executemany("INSERT INTO assignments (pair_id, annotator, overlap) VALUES (?, ?, ?)", rows)
        return self.assignment_summary()

    def assignment_summary(self) -> dict[str, dict[str, int]]:
        """``{annotator: {"share": pairs of their own, "overlap": shared pairs}}``."""
        out: dict[str, dict[str, int]] = {}
        for annotator, overlap, n in self._execute(
                "SELECT annotator, overlap, COUNT(*) FROM assignments GROUP BY annotator, overlap "
                "ORDER BY annotator"):
            out.setdefault(annotator, {"share": 0, "overlap": 0})["overlap" if overlap else "share"] = n
        return out

    def assigned_pair_ids(self, annotator: str, *, unlabeled_by_annotator: bool = False) -> list[int]:
        """The pairs assigned to ``annotator`` (share and overlap), in id order.

        With ``unlabeled_by_annotator``, only those this annotator has not labelled yet: the
        Label view's queue for one annotator.
        """
        annotator = self.annotator_spelling(annotator)
        sql = "SELECT a.pair_id FROM assignments a WHERE a.annotator = ?"
        if unlabeled_by_annotator:
            sql += (" AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.pair_id = a.pair_id "
                    "AND l.annotator = a.annotator AND l.adjudicated = 0)")
        return [r[0] for r in self._execute(sql + " ORDER BY a.pair_id", (annotator,))]

    def assignment_rows(self, annotator: str) -> list[tuple[str, str, float | None, str]]:
        """A labelling pack: ``(sentence1, sentence2, score, split)`` of the annotator's
        assigned pairs, the score being their own latest label (None when not labelled yet)."""
        annotator = self.annotator_spelling(annotator)
        ids = self.assigned_pair_ids(annotator)
        own = {pid: score for pid, _s, a, score in self.annotator_labels(pair_ids=ids) if a == annotator}
        pairs = self.pairs_by_ids(ids)
        return [(pairs[i].sentence1, pairs[i].sentence2, own.get(i), pairs[i].split) for i in ids]

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
        counted = column in ("flagged", "split")
        with (self._counting(pair_ids) if counted else self.transaction()) as cur:
            cur.executemany(f"UPDATE pairs SET {column} = ?, updated_at = ? WHERE id = ?",
                            [(value, now, pid) for pid in pair_ids])

    def snapshot_pairs(self, pair_ids: Sequence[int]) -> dict[str, Any]:
        """Everything about some pairs (rows and label history), so a delete can be undone."""
        pairs = []
        labels = []
        assignments: list[tuple] = []
        ids = list(pair_ids)
        for start in range(0, len(ids), 900):
            chunk = ids[start:start + 900]
            marks = ",".join("?" * len(chunk))
            pairs += self._execute(f"SELECT * FROM pairs WHERE id IN ({marks})", chunk)
            labels += self._execute(f"SELECT * FROM labels WHERE pair_id IN ({marks})", chunk)
            assignments += self._execute(
                f"SELECT pair_id, annotator, overlap FROM assignments WHERE pair_id IN ({marks})", chunk)
        return {"pairs": pairs, "labels": labels, "assignments": assignments}

    def delete_pairs(self, pair_ids: Sequence[int]) -> dict[str, Any]:
        """Delete pairs with their labels; returns a snapshot that :meth:`restore_pairs` undoes."""
        snap = self.snapshot_pairs(pair_ids)
        with self._counting(pair_ids) as cur:
            cur.executemany("DELETE FROM pairs WHERE id = ?", [(i,) for i in pair_ids])
        return snap

    def restore_pairs(self, snapshot: dict[str, Any]) -> None:
        with self._counting([row[0] for row in snapshot["pairs"]]) as cur:
            for row in snapshot["pairs"]:
                cur.execute(f"INSERT INTO pairs VALUES ({','.join('?' * len(row))})", row)
            for row in snapshot["labels"]:
                cur.execute(f"INSERT INTO labels VALUES ({','.join('?' * len(row))})", row)
            cur.executemany("INSERT INTO assignments (pair_id, annotator, overlap) VALUES (?, ?, ?)",
                            snapshot.get("assignments", []))

    def assign_dev_split(self, fraction: float = 0.1, seed: int = 42) -> int:
        """Move a seeded random ``fraction`` of the labeled train pairs to dev.

        Returns how many pairs moved. Deterministic for a given project and seed.
        """
        ids = [r[0] for r in self._execute(
            "SELECT id FROM pairs WHERE split = 'train' AND score IS NOT NULL ORDER BY id")]
        chosen = choose_dev(ids, fraction, seed)
        self.set_split(chosen, "dev")
        return len(chosen)

    # -- counts ----------------------------------------------------------------------

    def counts(self) -> PairCounts:
        """Pairs, labeled pairs and flagged pairs per split: the one count every view shows.

        Computed by one scan at the first call, then kept in step by this project's own
        writes (a label costs two primary-key lookups, never a scan). A read-only project
        counts afresh each time, since another process may be writing.
        """
        with self._lock:
            if self.closed:
                raise ProjectError("the project is closed")
            table = self._counts
            if table is None:
                table = _tally_rows(self._conn.execute(_COUNTS_SQL))
                if not self.readonly:
                    self._counts = table
            return self._counts_record(table)

    def forget_counts(self) -> None:
        """Drop the cached counts: the next :meth:`counts` scans again.

        For a caller that wrote pairs through :meth:`transaction` rather than a named method.
        """
        with self._lock:
            self._counts = None
            self._counts_generation += 1

    def counts_ready(self) -> bool:
        """Whether :meth:`counts` answers without a scan (call :meth:`warm_counts` otherwise)."""
        with self._lock:
            return self._counts is not None and not self.closed

    def warm_counts(self) -> PairCounts:
        """Compute the counts for a worker thread, leaving the shared connection free meanwhile.

        The scan runs on a private read-only connection. Its result is kept only if no write
        came in between (else it tries again), so it is exact.
        """
        for _ in range(3):
            with self._lock:
                if self._counts is not None or self.closed or self.readonly:
                    return self.counts()
                generation = self._counts_generation
            conn = sqlite3.connect(self.db_path.as_uri() + "?mode=ro", uri=True)
            try:
                table = _tally_rows(conn.execute(_COUNTS_SQL))
            finally:
                conn.close()
            with self._lock:
                if generation == self._counts_generation and self._counts is None:
                    self._counts = table
                    return self._counts_record(table)
        return self.counts()

    @staticmethod
    def _counts_record(table: dict[str, list[int]]) -> PairCounts:
        return PairCounts(
            splits={s: table.get(s, [0, 0, 0])[0] for s in SPLITS},
            labeled_splits={s: table.get(s, [0, 0, 0])[1] for s in SPLITS},
            flagged_splits={s: table.get(s, [0, 0, 0])[2] for s in SPLITS})

    @contextlib.contextmanager
    def _counting(self, pair_ids: Sequence[int]) -> Iterator[_Cursor]:
        """A write transaction on some pairs that keeps the cached counts in step.

        Tallies the pairs before and after the write, inside the transaction, and applies the
        difference once it has committed. Bulk edits just drop the cache.
        """
        ids = list(pair_ids)
        with self._lock:
            tally = self._counts is not None and len(ids) <= _TALLY_MAX
            with self.transaction() as cur:
                before = self._tally_ids(cur, ids) if tally else {}
                yield cur
                after = self._tally_ids(cur, ids) if tally else {}
            self._counts_changed(before, after, exact=tally)

    @staticmethod
    def _tally_ids(cur: _Cursor, ids: list[int]) -> dict[str, list[int]]:
        rows: list[tuple] = []
        for start in range(0, len(ids), 900):
            chunk = ids[start:start + 900]
            marks = ",".join("?" * len(chunk))
            rows += cur.execute("SELECT split, COUNT(*), COUNT(score), COALESCE(SUM(flagged), 0) "
                                f"FROM pairs WHERE id IN ({marks}) GROUP BY split", chunk).fetchall()
        return _tally_rows(rows)

    def _counts_changed(self, before: dict[str, list[int]], after: dict[str, list[int]],
                        exact: bool = True) -> None:
        """Apply a committed write's difference to the cached counts (call with the lock held)."""
        self._counts_generation += 1
        if self._counts is None:
            return
        if not exact:
            self._counts = None
            return
        for split in set(before) | set(after):
            acc = self._counts.setdefault(split, [0, 0, 0])
            b, a = before.get(split, [0, 0, 0]), after.get(split, [0, 0, 0])
            for k in range(3):
                acc[k] += a[k] - b[k]

    # -- statistics ------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Counts for ``stsstudio info`` and the model card; the pair counts are :meth:`counts`."""
        counts = self.counts()
        splits, labeled_splits = dict(counts.splits), dict(counts.labeled_splits)
        pairs, labeled = counts.total(), counts.labeled()
        return {
            "name": self.name,
            "path": str(self.path),
            "base_model": self.base_model,
            "pairs": pairs,
            "labeled": labeled,
            "unlabeled": pairs - labeled,
            "flagged": counts.flagged(),
            "labels": self._scalar("SELECT COUNT(*) FROM labels"),
            "splits": splits,
            "labeled_splits": labeled_splits,
            "runs": self._scalar("SELECT COUNT(*) FROM runs"),
            "sentences": self._scalar("SELECT COUNT(*) FROM sentences"),
            "schema": SCHEMA_VERSION,
        }

    def checksum(self) -> str:
        """A digest of every table's content; tests compare it before and after a failed write."""
        h = hashlib.sha256()
        with self._lock:
            for table in ("meta", "pairs", "labels", "runs", "run_metrics", "sentences",
                          "assignments"):
                for row in self._conn.execute(f"SELECT * FROM {table} ORDER BY rowid"):
                    h.update(repr(row).encode())
        return h.hexdigest()

    # -- sentence pool ---------------------------------------------------------------

    def pool_norm_hashes(self) -> set[int]:
        """The normalised-text hashes of every pooled sentence (dedup on import)."""
        with self._lock:
            return {h for (h,) in self._conn.execute("SELECT norm_hash FROM sentences")}

    def insert_sentences(self, rows: Iterable[Sequence[Any]], *, source: str | None = None
                         ) -> InsertReport:
        """Add sentences to the pool in one transaction: all rows or none.

        Args:
            rows: tuples ``(text, norm_hash, metadata_json, source_row)``, already validated
                and deduplicated by :mod:`stsstudio.core.sentences`.
            source: the file or dataset they came from.
        """
        now = time.time()
        report = InsertReport()
        with self.transaction() as cur:
            before = cur.execute("SELECT COALESCE(MAX(id), 0) FROM sentences").fetchone()[0]
            cur.executemany(
                "INSERT INTO sentences (text, norm_hash, metadata, source_row, source, created_at) "
                f"VALUES (?, ?, ?, ?, {_sql_literal(source)}, {now!r})", rows)
            after = cur.execute("SELECT COALESCE(MAX(id), 0) FROM sentences").fetchone()[0]
        report.inserted = after - before
        if report.inserted:
            report.first_id, report.last_id = before + 1, after
        return report

    def pool_counts(self) -> dict[str, int]:
        """How many pooled sentences there are, in all and per assigned split."""
        out = {"sentences": 0, "train": 0, "dev": 0, "test": 0, "unassigned": 0}
        for split, n in self._execute("SELECT split, COUNT(*) FROM sentences GROUP BY split"):
            out[split or "unassigned"] = n
            out["sentences"] += n
        return out

    def pool_sentences(self) -> tuple[list[int], list[str], list[str | None]]:
        """Every pooled sentence as columns ``(ids, texts, splits)``, in id order."""
        rows = self._execute("SELECT id, text, split FROM sentences ORDER BY id")
        if not rows:
            return [], [], []
        ids, texts, splits = (list(c) for c in zip(*rows))
        return ids, texts, splits

    def pool_by_ids(self, ids: Sequence[int]) -> dict[int, PoolSentence]:
        """Pooled sentences by id, with their metadata decoded."""
        out: dict[int, PoolSentence] = {}
        ids = list(ids)
        for start in range(0, len(ids), 900):
            chunk = ids[start:start + 900]
            marks = ",".join("?" * len(chunk))
            for r in self._execute("SELECT id, text, split, metadata, source, source_row FROM "
                                  f"sentences WHERE id IN ({marks})", chunk):
                out[r[0]] = PoolSentence(r[0], r[1], r[2], json.loads(r[3] or "{}"), r[4], r[5])
        return out

    def set_pool_splits(self, assignments: Iterable[tuple[int, str]]) -> None:
        """Fix the split of pooled sentences that have none yet: ``(sentence_id, split)``.

        A sentence's split never changes once set, so no sentence crosses splits.
        """
        rows = [(split, sid) for sid, split in assignments]
        if any(split not in ("train", "dev", "test") for split, _ in rows):
            raise ValueError("a pooled sentence's split is train, dev or test")
        with self.transaction() as cur:
            cur.executemany("UPDATE sentences SET split = ? WHERE id = ? AND split IS NULL", rows)

    def pool_version(self) -> str:
        """A token that changes whenever pooled sentences are added or removed (for caches)."""
        row = self._execute("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM sentences")[0]
        return f"{row[0]}-{row[1]}"

    def split_pair_sentences(self) -> list[tuple[str, str, str]]:
        """``(sentence1, sentence2, split)`` of the pairs in train, dev or test (leakage checks)."""
        return [tuple(r) for r in self._execute(
            "SELECT sentence1, sentence2, split FROM pairs WHERE split != 'none'")]

    # -- runs ------------------------------------------------------------------------

    def create_run(self, *, base_model: str, loss: str, config: dict[str, Any],
                   device: str | None = None) -> int:
        with self.transaction() as cur:
            cur.execute("INSERT INTO runs (created_at, status, base_model, loss, config, device, pid) "
                        "VALUES (?, 'running', ?, ?, ?, ?, ?)",
                        (time.time(), base_model, loss, json.dumps(config), device, os.getpid()))
            run_id = int(cur.lastrowid)
            # Inside the transaction: a refused folder leaves no run behind.
            self._make_run_dir(run_id)
            return run_id

    _RUN_FIELDS = ("finished_at", "status", "device", "seconds", "total_steps", "steps",
                   "base_dev_spearman", "best_dev_spearman", "best_step", "model_dir", "message",
                   "config", "pid", "summary")

    def update_run(self, run_id: int, **fields: Any) -> None:
        unknown = set(fields) - set(self._RUN_FIELDS)
        if unknown:
            raise ValueError(f"unknown run fields: {sorted(unknown)}")
        if "status" in fields and fields["status"] not in RUN_STATUSES:
            raise ValueError(f"unknown run status {fields['status']!r}")
        for key in ("config", "summary"):
            if key in fields and fields[key] is not None and not isinstance(fields[key], str):
                fields[key] = json.dumps(fields[key])
        if fields.get("model_dir"):
            # Relative to the project, so that a moved or copied project keeps its models.
            fields["model_dir"] = _relative_model_dir(str(fields["model_dir"]), self.path, run_id)
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
        for n, step, value in self._execute(sql + " ORDER BY name, step, rowid", params):
            out.setdefault(n, []).append((step, value))
        return out

    def metric_rows(self, run_id: int) -> list[tuple[int, str, float, float | None]]:
        """A run's metric points ``(step, name, value, epoch)`` in the order they were logged."""
        return self._execute("SELECT step, name, value, epoch FROM run_metrics WHERE run_id = ? "
                             "ORDER BY step, rowid", (run_id,))

    def delete_metrics_after(self, run_id: int, step: int) -> None:
        """Drop a run's metric points past ``step`` (a resumed run logs them again)."""
        with self.transaction() as cur:
            cur.execute("DELETE FROM run_metrics WHERE run_id = ? AND step > ?", (run_id, step))

    def run(self, run_id: int) -> Run | None:
        rows = self._execute("SELECT id, created_at, status, base_model, loss, config, finished_at, "
                            "device, seconds, total_steps, steps, base_dev_spearman, "
                            "best_dev_spearman, best_step, model_dir, message, summary "
                            "FROM runs WHERE id = ?",
                            (run_id,))
        if not rows:
            return None
        r = _run_fields(rows[0])
        if r[14] and not Path(r[14]).is_absolute():
            r[14] = str(self.path / r[14])
        run = Run(*r)
        if run.status == "running" and self._run_is_stale(run_id):
            # Read-only views see a killed run as it is, before any writer marks it.
            run.status = "interrupted"
            run.message = run.message or _INTERRUPTED_MESSAGE
        return run

    def _run_is_stale(self, run_id: int) -> bool:
        """A 'running' run whose process is gone, or whose project nobody holds for writing."""
        pid = self._scalar("SELECT pid FROM runs WHERE id = ?", (run_id,))
        if pid is None or not process_alive(int(pid)):
            return True
        if int(pid) == os.getpid():
            return False
        if self._writer is not None:
            return False  # we hold the lock, and the run's process is alive: leave it
        return not _lock_is_held(self.path / ".lock")

    def runs(self) -> list[Run]:
        ids = [r[0] for r in self._execute("SELECT id FROM runs ORDER BY id")]
        return [run for i in ids if (run := self.run(i)) is not None]

    def best_run(self) -> Run | None:
        """The run marked "best" and offered first by Try and Export: finished (or cancelled, with
        a model), measurably better than the base model on its dev pairs
        (:func:`~stsstudio.core.advice.is_better`), highest dev Spearman. None: the base model is
        the default (no run yet, or none was measurably better than it)."""
        from stsstudio.core.advice import is_better

        rows = self._execute("SELECT id FROM runs WHERE model_dir IS NOT NULL "
                             "AND status IN ('finished', 'cancelled') "
                             "ORDER BY best_dev_spearman DESC NULLS LAST, id DESC")
        for (run_id,) in rows:
            run = self.run(run_id)
            if run is not None and is_better(run):
                return run
        return None

    def record_run_pairs(self, run_id: int, train_ids: Sequence[int], dev_ids: Sequence[int] = ()) -> None:
        """Record exactly which pairs a run trains and is evaluated on."""
        with self.transaction() as cur:
            cur.executemany("INSERT INTO run_pairs (run_id, pair_id, role) VALUES (?, ?, ?)",
                            [(run_id, int(i), "train") for i in train_ids]
                            + [(run_id, int(i), "dev") for i in dev_ids])

    def run_pair_ids(self, run_id: int, role: str = "train") -> set[int]:
        """The ids of the pairs run ``run_id`` trained on (``role="train"``) or was evaluated on."""
        return {r[0] for r in self._execute("SELECT pair_id FROM run_pairs WHERE run_id = ? AND role = ?",
                                            (run_id, role))}

    def delete_run(self, run_id: int) -> int:
        """Delete a run: its row, metrics, pair records and folder. Returns the bytes freed.

        Raises:
            ProjectError: the run does not exist or is still running.
        """
        run = self.run(run_id)
        if run is None:
            raise ProjectError(f"{self.name} has no run {run_id}.")
        if run.status == "running":
            raise ProjectError(f"Run {run_id} is still running; stop it before deleting it.")
        folder = self.runs_dir / str(int(run_id))
        freed = folder_size(folder)
        with self.transaction() as cur:
            cur.execute("DELETE FROM run_metrics WHERE run_id = ?", (run_id,))
            cur.execute("DELETE FROM run_pairs WHERE run_id = ?", (run_id,))
            cur.execute("DELETE FROM predictions WHERE run_id = ?", (run_id,))
            cur.execute("DELETE FROM prediction_sets WHERE run_id = ?", (run_id,))
            cur.execute("DELETE FROM calibrations WHERE run_id = ?", (run_id,))
            cur.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        if folder.is_symlink():
            folder.unlink(missing_ok=True)  # the link only: never what it points to
        elif folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)  # rmtree removes links, never follows them
        return freed

    def run_disk_size(self, run_id: int) -> int:
        """Bytes the run's folder takes on disk (links not followed)."""
        return folder_size(self.runs_dir / str(int(run_id)))

    def run_dir(self, run_id: int) -> Path:
        """Run ``run_id``'s folder, checked: not a link, and no link under it leads outside.

        Raises:
            ProjectPathError: the folder or something in it would lead outside the project.
        """
        folder = self.runs_dir / str(int(run_id))
        if folder.is_symlink():
            raise ProjectPathError(folder, "is a symbolic link")
        if folder.is_dir():
            self.inside(folder, tree=True)
        return folder

    def inside(self, path: str | os.PathLike[str], *, tree: bool = False) -> Path:
        """``path`` (absolute, or relative to the project folder) with every link followed.

        The one rule for paths a project stores or finds (run and model folders, checkpoints,
        cache files): they must resolve inside the project folder. With ``tree``, no symbolic
        link anywhere under the folder may lead outside either.

        Raises:
            ProjectPathError: naming the path that leads outside.
        """
        given = Path(path)
        if not given.is_absolute():
            given = self.path / given
        try:
            real = given.resolve()
        except (OSError, RuntimeError):
            raise ProjectPathError(given, "cannot be followed (a loop of links?)") from None
        if not real.is_relative_to(self.path):
            raise ProjectPathError(given, f"leads outside the project folder (to {real})")
        if tree and real.is_dir():
            for root, dirs, files in os.walk(real):
                for name in dirs + files:
                    entry = Path(root) / name
                    if entry.is_symlink():
                        self.inside(entry)
        return real

    def refuse_own_file(self, target: str | os.PathLike[str]) -> None:
        """Refuse an export target that is, or links to, a file or folder of this project.

        The database and its -wal, -shm and -journal files, the lock, the project folder, and
        everything under ``runs/`` and ``cache/``: writing over any of them, through a name, a
        symbolic link or a hard link, would break the project.

        Raises:
            ProjectFileTargetError: naming the target and the project file it would replace.
        """
        given = Path(target).expanduser()
        try:
            real = given.resolve()
        except (OSError, RuntimeError):
            return  # the caller's own check reports a link loop
        own = [self.path / n for n in (DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm",
                                       DB_NAME + "-journal", ".lock")]
        hit: Path | None = None
        if real == self.path or any(real == p for p in own):
            hit = real
        for folder in (self.runs_dir, self.path / "cache"):
            if real == folder or real.is_relative_to(folder):
                hit = real
        if hit is None and real.is_file():
            for p in own:  # a hard link to the database is the database
                try:
                    if p.exists() and os.path.samefile(p, real):
                        hit = p
                except OSError:
                    pass
        if hit is not None:
            raise ProjectFileTargetError(given, hit, self.name)

    def backup_to(self, target: str | os.PathLike[str], *, force: bool = False) -> Path:
        """Copy the database, with every committed label, to one file ``target``.

        SQLite's backup API reads a consistent snapshot, the labels still in the ``-wal`` file
        included, so it is safe while the app (or another command) has the project open. The
        copy goes to a temporary beside ``target`` and is renamed into place. Open the copy as
        a project by putting it in a folder as ``project.stsproj``.

        Raises:
            UserError: ``target`` exists (without ``force``), is a folder, is a file of this
                project, or cannot be written.
        """
        from stsstudio.core.paths import apply_umask, temp_prefix

        given = Path(target).expanduser()
        out = given.resolve()
        if out.is_dir():
            raise UserError(f"{given} is a folder; give the backup a file name (e.g. labels.stsproj)")
        if out.exists() and not force:
            raise UserError(f"{given} already exists; choose another name, or replace it (--force)")
        self.refuse_own_file(out)
        if not out.parent.is_dir():
            raise UserError(f"the folder {out.parent} does not exist")
        tmp = out.with_name(f"{temp_prefix(out)}backup.tmp")
        try:
            dest = sqlite3.connect(tmp)
            try:
                with self._lock:
                    self._conn.backup(dest)
                dest.execute("PRAGMA journal_mode = DELETE")  # one file, whatever the source uses
            finally:
                dest.close()
            apply_umask(tmp)
            os.replace(tmp, out)
        except (OSError, sqlite3.Error) as exc:
            raise UserError(f"cannot write the backup {given}: {exc}") from None
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()
        return out

    def _make_run_dir(self, run_id: int) -> Path:
        """Create a new run's folder, refusing anything already there (a planted folder or link)."""
        self.runs_dir.mkdir(exist_ok=True)
        folder = self.runs_dir / str(int(run_id))
        try:
            os.mkdir(folder)  # never follows a link: an existing one, even dangling, is an error
        except FileExistsError:
            what = "is a symbolic link" if folder.is_symlink() else "already exists"
            raise ProjectPathError(folder, f"{what}, but run {run_id} is new") from None
        except OSError as exc:
            raise ProjectError(f"{folder} cannot be created: {_os_reason(exc)}") from None
        self.inside(folder)
        return folder

    # -- predictions and calibration (issue 12) ---------------------------------------------

    def start_predictions(self, run_id: int) -> None:
        """Forget run ``run_id``'s predictions (0: the base model) before it is scored afresh."""
        with self.transaction() as cur:
            cur.execute("DELETE FROM prediction_sets WHERE run_id = ?", (run_id,))
            cur.execute("DELETE FROM predictions WHERE run_id = ?", (run_id,))

    def add_predictions(self, run_id: int,
                        rows: Iterable[tuple[int, float, float | None]]) -> None:
        """Store a batch of ``(pair_id, cosine, uncertainty or None)`` of one model, in one write.

        The rows are converted before the write starts: the project lock (which the GUI thread
        needs for a label) is held only for the insert itself."""
        values = [(run_id, int(p), float(s), None if u is None else float(u)) for p, s, u in rows]
        with self.transaction() as cur:
            cur.executemany("INSERT OR REPLACE INTO predictions (run_id, pair_id, score, uncertainty) "
                            "VALUES (?, ?, ?, ?)", values)

    def finish_predictions(self, run_id: int, model: str, data_version: str, pairs: int) -> None:
        """Mark run ``run_id``'s prediction set complete (features read only complete sets)."""
        with self.transaction() as cur:
            cur.execute("INSERT OR REPLACE INTO prediction_sets (run_id, model, data_version, pairs, "
                        "created_at) VALUES (?, ?, ?, ?, ?)",
                        (run_id, model, data_version, int(pairs), time.time()))

    def prediction_sets(self) -> dict[int, dict[str, Any]]:
        """The complete prediction sets: run id (0: base) -> model, data_version, pairs, created_at."""
        rows = self._execute("SELECT run_id, model, data_version, pairs, created_at FROM prediction_sets "
                             "ORDER BY run_id")
        return {r[0]: {"model": r[1], "data_version": r[2], "pairs": r[3], "created_at": r[4]}
                for r in rows}

    def predictions(self, run_id: int, pair_ids: Sequence[int] | None = None
                    ) -> dict[int, tuple[float, float | None]]:
        """Pair id -> ``(cosine, uncertainty)`` of one model; all pairs, or only ``pair_ids``."""
        if pair_ids is None:
            rows = self._private_rows("SELECT pair_id, score, uncertainty FROM predictions "
                                      "WHERE run_id = ?", (run_id,))
        else:
            with self._lock:
                rows = _chunked_rows(self._conn, "SELECT pair_id, score, uncertainty FROM predictions "
                                     f"WHERE run_id = {int(run_id)} AND pair_id IN ({{}})", pair_ids)
        return {r[0]: (r[1], r[2]) for r in rows}

    def predicted_max_pair_id(self, run_id: int) -> int:
        """The highest pair id run ``run_id`` has a prediction for (0: none); one index seek.
        Pair texts never change and deleted pairs take their predictions with them, so a set is
        complete while no pair id above this one exists."""
        return int(self._scalar("SELECT MAX(pair_id) FROM predictions WHERE run_id = ?", (run_id,)) or 0)

    def pair_targets(self, split: str | None = None, labeled: bool | None = None
                     ) -> list[tuple[int, float | None, str]]:
        """``(pair_id, current score, split)`` of the pairs in id order (queues, calibration)."""
        where, params = ["1"], []
        if split:
            where.append("split = ?")
            params.append(split)
        if labeled is not None:
            where.append("score IS NOT NULL" if labeled else "score IS NULL")
        rows = self._private_rows(f"SELECT id, score, split FROM pairs WHERE {' AND '.join(where)} "
                                  "ORDER BY id", params)
        rows = [(pid, _score_or_none(score), sp) for pid, score, sp in rows]
        return [r for r in rows if r[1] is not None] if labeled else rows

    def pair_text_by_ids(self, pair_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
        """Pair id -> ``(sentence1, sentence2)`` for the given ids."""
        with self._lock:
            rows = _chunked_rows(self._conn, "SELECT id, sentence1, sentence2 FROM pairs WHERE id IN ({})",
                                 pair_ids)
        return {r[0]: (r[1], r[2]) for r in rows}

    def pair_text_page(self, after_id: int, limit: int) -> list[tuple[int, str, str]]:
        """``(id, sentence1, sentence2)`` of up to ``limit`` pairs after ``after_id`` (keyset page)."""
        return self._execute("SELECT id, sentence1, sentence2 FROM pairs WHERE id > ? ORDER BY id LIMIT ?",
                             (int(after_id), int(limit)))

    def set_calibration(self, run_id: int, payload: dict[str, Any]) -> None:
        """Store run ``run_id``'s calibration (0: the base model) as JSON."""
        with self.transaction() as cur:
            cur.execute("INSERT OR REPLACE INTO calibrations (run_id, payload, created_at) VALUES (?, ?, ?)",
                        (run_id, json.dumps(payload), time.time()))

    def calibration(self, run_id: int) -> dict[str, Any] | None:
        """Run ``run_id``'s stored calibration payload, or None."""
        rows = self._execute("SELECT payload FROM calibrations WHERE run_id = ?", (run_id,))
        return _metadata(rows[0][0] if rows and isinstance(rows[0][0], str) else None)

    def surprise_count(self) -> int:
        """How many labels were recorded as a surprise (label far from the model's guess)."""
        return int(self._scalar("SELECT COUNT(*) FROM labels WHERE surprise = 1") or 0)

    def _mark_interrupted_runs(self) -> None:
        """Runs left 'running' by a process that is gone were interrupted (a crash, a kill)."""
        stale = []
        for run_id, pid in self._execute("SELECT id, pid FROM runs WHERE status = 'running'"):
            if pid is None or not process_alive(int(pid)) or int(pid) == os.getpid():
                stale.append(run_id)
        for run_id in stale:
            self.update_run(run_id, status="interrupted", message=_INTERRUPTED_MESSAGE)


_INTERRUPTED_MESSAGE = "The run stopped unexpectedly; resume it from its last checkpoint."


def _lock_is_held(path: Path) -> bool:
    """Whether some process holds the project's writer lock (without taking it)."""
    if sys.platform == "win32" or path.is_symlink() or not path.is_file():
        return sys.platform == "win32"
    import fcntl

    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing drops the shared lock at once
    return False


def folder_size(folder: Path) -> int:
    """Bytes of the regular files under ``folder`` (links not followed); 0 when it is missing."""
    total = 0
    if folder.is_symlink() or not folder.is_dir():
        return 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                st = os.lstat(os.path.join(root, name))
            except OSError:
                continue
            total += st.st_size
    return total


DEV_FRACTION = 0.1  # the share of labeled pairs held out as dev when a file has no split
DEV_SEED = 42


def choose_dev(items: Sequence[Any], fraction: float = DEV_FRACTION, seed: int = DEV_SEED) -> list[Any]:
    """The seeded random ``fraction`` of ``items`` (labeled train pairs) that becomes dev.

    The one rule behind ``assign-dev`` and the import's "hold out 10 % as dev": the same
    items, fraction and seed always give the same choice.
    """
    import random

    if not 0 < fraction < 1:
        raise InvalidValueError(f"the dev fraction must be between 0 and 1, not {fraction:g}")
    items = list(items)
    k = int(round(len(items) * fraction))
    return random.Random(seed).sample(items, k) if k else []


def default_guidelines() -> str:
    """The guideline text a new project starts with: the neutral template with placeholders
    (:mod:`stsstudio.core.guidelines`; the demo passes its own)."""
    from stsstudio.core.guidelines import template_text

    return template_text()


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
        conn = self._project._conn
        try:
            if exc_type is None:
                try:
                    conn.execute("COMMIT")
                except sqlite3.Error as error:
                    _rollback(conn)
                    raise _storage_error(self._project, error) or error from None
            else:
                # SQLite may already have rolled back (a full disk does): a second ROLLBACK
                # would raise "no transaction is active" and hide the real error.
                _rollback(conn)
                if isinstance(exc, sqlite3.Error):
                    friendly = _storage_error(self._project, exc)
                    if friendly is not None:
                        raise friendly from None
        finally:
            self._project._lock.release()


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass


def _storage_error(project: Project, exc: sqlite3.Error) -> ProjectError | None:
    """A ProjectError for what the user can fix (full disk, read-only file), else None."""
    text = str(exc)
    for needle, why in (("disk is full", "the disk is full"),
                        ("readonly database", "the project file is read-only"),
                        ("disk I/O error", "a disk I/O error occurred"),
                        ("unable to open database", "the project file cannot be opened")):
        if needle in text:
            return ProjectError(f"{project.path}: nothing was written because {why} ({text}); "
                                "the project is as it was before.")
    return None

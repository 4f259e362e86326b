"""The connection and its transactions, shared by the project and its managers."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from stsstudio.core.errors import (
    ProjectError,
    ProjectPathError,
    ProjectReadOnly,
)
from stsstudio.core.store.records import DB_NAME


def _chunked_rows(cur: Any, sql: str, ids: Sequence[int]) -> list[tuple]:
    """Run ``sql`` (with one ``IN ({})``) over ``ids`` in chunks under SQLite's bound limit."""
    rows: list[tuple] = []
    ids = list(ids)
    for start in range(0, len(ids), 900):
        chunk = ids[start:start + 900]
        rows += cur.execute(sql.format(",".join("?" * len(chunk))), chunk).fetchall()
    return rows


_CHUNK_ROWS = 50_000

# Named queries: a manager asks for one by name (``Database._rows``, ``_rows_for_ids``,
# ``_Cursor.run_many``) and the SQL text lives here, beside the connection. A name that is not
# here is refused. ``{}`` is the id list of ``_rows_for_ids``.
_QUERIES: dict[str, str] = {
    "sentences.insert": "INSERT INTO sentences (text, norm_hash, metadata, source_row, source, created_at) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
    "sentences.split_counts": "SELECT split, COUNT(*) FROM sentences GROUP BY split",
    "sentences.columns": "SELECT id, text, split FROM sentences ORDER BY id",
    "sentences.by_ids": "SELECT id, text, split, metadata, source, source_row FROM sentences "
                        "WHERE id IN ({})",
    "sentences.set_split": "UPDATE sentences SET split = ? WHERE id = ? AND split IS NULL",
    "sentences.version": "SELECT COUNT(*), COALESCE(MAX(id), 0) FROM sentences",
}


def _named(name: str) -> str:
    try:
        return _QUERIES[name]
    except KeyError:
        raise ValueError(f"no named query {name!r}") from None


def _sql_literal(value: str | None) -> str:
    """A SQL literal for a constant: NULL or a single-quoted string (SQLite has no escapes)."""
    if value is None:
        return "NULL"
    return "'" + str(value).replace("\x00", "").replace("'", "''") + "'"


class Database:
    """The open project's connection, its transactions, its paths and its metadata.

    :class:`~stsstudio.core.store.project.Project` opens it; the managers (``project.pairs``,
    ``project.labels``, ...) share it, so every write goes through one connection and one lock.
    """

    path: Path
    readonly: bool
    _lock: threading.RLock
    _conn: sqlite3.Connection
    _writer: Any

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

    def _execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[tuple]:
        """Run a read query and return all rows."""
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def _rows(self, name: str, params: Sequence[Any] = ()) -> list[tuple]:
        """All rows of the named query ``name`` (:data:`_QUERIES`)."""
        return self._execute(_named(name), params)

    def _rows_for_ids(self, name: str, ids: Sequence[int]) -> list[tuple]:
        """All rows of the named query ``name`` over ``ids``, in chunks under SQLite's bound limit."""
        sql = _named(name)
        with self._lock:
            return _chunked_rows(self._conn, sql, ids)

    def _column_set(self, table: str, column: str) -> set[Any]:
        """Every value of ``table.column`` (the hash sets imports deduplicate against)."""
        if (table, column) not in _HASH_COLUMNS:
            raise ValueError(f"no named hash column {table}.{column}")
        with self._lock:
            return {v for (v,) in self._conn.execute(f"SELECT {column} FROM {table}")}

    def _scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self._lock:
            row = self._conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

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


# The tables and columns the named queries above may name (never text from outside).
_ID_TABLES = frozenset({"pairs", "sentences"})
_HASH_COLUMNS = frozenset({("pairs", "pair_hash"), ("sentences", "norm_hash")})


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

    def run_many(self, name: str, seq: Iterable[Any]) -> sqlite3.Cursor:
        """The named query ``name`` (:data:`_QUERIES`) once per parameter row of ``seq``."""
        return self._cur.executemany(_named(name), seq)

    def max_id(self, table: str) -> int:
        """The highest row id of ``table`` inside this transaction (0 when empty): an insert's new
        ids are the ones between this before and after it."""
        if table not in _ID_TABLES:
            raise ValueError(f"no id table {table!r}")
        return int(self._cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()[0])

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
    def __init__(self, project: Database) -> None:
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


def _storage_error(project: Database, exc: sqlite3.Error) -> ProjectError | None:
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

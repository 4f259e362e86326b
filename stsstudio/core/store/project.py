"""The open project: opening, the writer lock, migrations, and the managers it is made of."""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from stsstudio.core.errors import ProjectError, ProjectFileTargetError, UserError
from stsstudio.core.store.annotators import Annotators
from stsstudio.core.store.assignments import Assignments
from stsstudio.core.store.counts import Counts
from stsstudio.core.store.db import Database
from stsstudio.core.store.labels import Labels
from stsstudio.core.store.locking import _refuse_links, _WriterLock
from stsstudio.core.store.pairs import Pairs
from stsstudio.core.store.pool import Pool
from stsstudio.core.store.predictions import Predictions
from stsstudio.core.store.records import (
    DB_NAME,
    PAGE_SIZE,
    default_guidelines,
)
from stsstudio.core.store.runs import Runs
from stsstudio.core.store.schema import _MIGRATIONS, SCHEMA_VERSION


class Project(Database):
    """An open STS Studio project. Use :meth:`create` or :meth:`open`.

    Composed of small managers that share its connection and transactions:
    ``pairs``, ``labels``, ``annotators``, ``assignments``, ``runs``, ``predictions``, ``pool``
    (the sentence pool) and ``counts``.

    Args:
        path: the project folder.
        readonly: open without taking the writer lock; every write raises ProjectError.
    """

    def __init__(self, path: str | os.PathLike[str], *, readonly: bool = False, _create: bool = False):
        self.path = Path(path).expanduser().resolve()
        self.readonly = readonly
        self._lock = threading.RLock()
        self._compose()
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
                self.runs.mark_interrupted()
        except sqlite3.DatabaseError as exc:
            self._release()
            raise ProjectError(f"{db} could not be opened as a project database: {exc}") from None
        except BaseException:
            self._release()
            raise

    def _compose(self) -> None:
        """The managers, each sharing this project's connection, lock and transactions."""
        self.counts = Counts(self)
        self.annotators = Annotators(self)
        self.pairs = Pairs(self, self.counts)
        self.labels = Labels(self, self.counts, self.annotators)
        self.assignments = Assignments(self, self.annotators, self.labels, self.pairs)
        self.pool = Pool(self)
        self.runs = Runs(self)
        self.predictions = Predictions(self)

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

    def stats(self) -> dict[str, Any]:
        """Counts for ``stsstudio info`` and the model card; the pair counts are ``project.counts``."""
        counts = self.counts.get()
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

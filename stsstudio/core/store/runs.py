"""Runs: each training run's record, metrics, pairs and folder."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from stsstudio.core.errors import ProjectError, ProjectPathError
from stsstudio.core.paths import process_alive
from stsstudio.core.store.db import Database
from stsstudio.core.store.locking import _lock_is_held, _os_reason
from stsstudio.core.store.records import (
    RUN_STATUSES,
    Run,
    _run_fields,
    folder_size,
)
from stsstudio.core.store.schema import _relative_model_dir

_INTERRUPTED_MESSAGE = "The run stopped unexpectedly; resume it from its last checkpoint."

class Runs:
    """``project.runs``: training runs."""

    _RUN_FIELDS = ("finished_at", "status", "device", "seconds", "total_steps", "steps",
                   "base_dev_spearman", "best_dev_spearman", "best_step", "model_dir", "message",
                   "config", "pid", "summary")

    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, *, base_model: str, loss: str, config: dict[str, Any],
               device: str | None = None) -> int:
        with self._db.transaction() as cur:
            cur.execute("INSERT INTO runs (created_at, status, base_model, loss, config, device, pid) "
                        "VALUES (?, 'running', ?, ?, ?, ?, ?)",
                        (time.time(), base_model, loss, json.dumps(config), device, os.getpid()))
            run_id = int(cur.lastrowid)
            # Inside the transaction: a refused folder leaves no run behind.
            self._make_folder(run_id)
            return run_id

    def update(self, run_id: int, **fields: Any) -> None:
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
            fields["model_dir"] = _relative_model_dir(str(fields["model_dir"]), self._db.path, run_id)
        sets = ", ".join(f"{k} = ?" for k in fields)
        with self._db.transaction() as cur:
            cur.execute(f"UPDATE runs SET {sets} WHERE id = ?", [*fields.values(), run_id])

    def add_metrics(self, run_id: int, rows: Iterable[tuple[int, str, float, float | None]]) -> None:
        """Append metric points ``(step, name, value, epoch)`` to a run."""
        with self._db.transaction() as cur:
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
        for n, step, value in self._db._execute(sql + " ORDER BY name, step, rowid", params):
            out.setdefault(n, []).append((step, value))
        return out

    def metric_rows(self, run_id: int) -> list[tuple[int, str, float, float | None]]:
        """A run's metric points ``(step, name, value, epoch)`` in the order they were logged."""
        return self._db._execute("SELECT step, name, value, epoch FROM run_metrics WHERE run_id = ? "
                             "ORDER BY step, rowid", (run_id,))

    def delete_metrics_after(self, run_id: int, step: int) -> None:
        """Drop a run's metric points past ``step`` (a resumed run logs them again)."""
        with self._db.transaction() as cur:
            cur.execute("DELETE FROM run_metrics WHERE run_id = ? AND step > ?", (run_id, step))

    def get(self, run_id: int) -> Run | None:
        rows = self._db._execute("SELECT id, created_at, status, base_model, loss, config, finished_at, "
                            "device, seconds, total_steps, steps, base_dev_spearman, "
                            "best_dev_spearman, best_step, model_dir, message, summary "
                            "FROM runs WHERE id = ?",
                            (run_id,))
        if not rows:
            return None
        r = _run_fields(rows[0])
        if r[14] and not Path(r[14]).is_absolute():
            r[14] = str(self._db.path / r[14])
        run = Run(*r)
        if run.status == "running" and self._run_is_stale(run_id):
            # Read-only views see a killed run as it is, before any writer marks it.
            run.status = "interrupted"
            run.message = run.message or _INTERRUPTED_MESSAGE
        return run

    def _run_is_stale(self, run_id: int) -> bool:
        """A 'running' run whose process is gone, or whose project nobody holds for writing."""
        pid = self._db._scalar("SELECT pid FROM runs WHERE id = ?", (run_id,))
        if pid is None or not process_alive(int(pid)):
            return True
        if int(pid) == os.getpid():
            return False
        if self._db._writer is not None:
            return False  # we hold the lock, and the run's process is alive: leave it
        return not _lock_is_held(self._db.path / ".lock")

    def all(self) -> list[Run]:
        ids = [r[0] for r in self._db._execute("SELECT id FROM runs ORDER BY id")]
        return [run for i in ids if (run := self.get(i)) is not None]

    def best(self) -> Run | None:
        """The run marked "best" and offered first by Try and Export: finished (or cancelled, with
        a model), measurably better than the base model on its dev pairs
        (:func:`~stsstudio.core.advice.is_better`), highest dev Spearman. None: the base model is
        the default (no run yet, or none was measurably better than it)."""
        from stsstudio.core.advice import is_better

        rows = self._db._execute("SELECT id FROM runs WHERE model_dir IS NOT NULL "
                             "AND status IN ('finished', 'cancelled') "
                             "ORDER BY best_dev_spearman DESC NULLS LAST, id DESC")
        for (run_id,) in rows:
            run = self.get(run_id)
            if run is not None and is_better(run):
                return run
        return None

    def record_pairs(self, run_id: int, train_ids: Sequence[int], dev_ids: Sequence[int] = ()) -> None:
        """Record exactly which pairs a run trains and is evaluated on."""
        with self._db.transaction() as cur:
            cur.executemany("INSERT INTO run_pairs (run_id, pair_id, role) VALUES (?, ?, ?)",
                            [(run_id, int(i), "train") for i in train_ids]
                            + [(run_id, int(i), "dev") for i in dev_ids])

    def pair_ids(self, run_id: int, role: str = "train") -> set[int]:
        """The ids of the pairs run ``run_id`` trained on (``role="train"``) or was evaluated on."""
        return {r[0] for r in self._db._execute("SELECT pair_id FROM run_pairs WHERE run_id = ? AND role = ?",
                                            (run_id, role))}

    def delete(self, run_id: int) -> int:
        """Delete a run: its row, metrics, pair records and folder. Returns the bytes freed.

        Raises:
            ProjectError: the run does not exist or is still running.
        """
        run = self.get(run_id)
        if run is None:
            raise ProjectError(f"{self._db.name} has no run {run_id}.")
        if run.status == "running":
            raise ProjectError(f"Run {run_id} is still running; stop it before deleting it.")
        folder = self._db.runs_dir / str(int(run_id))
        freed = folder_size(folder)
        with self._db.transaction() as cur:
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

    def disk_size(self, run_id: int) -> int:
        """Bytes the run's folder takes on disk (links not followed)."""
        return folder_size(self._db.runs_dir / str(int(run_id)))

    def folder(self, run_id: int) -> Path:
        """Run ``run_id``'s folder, checked: not a link, and no link under it leads outside.

        Raises:
            ProjectPathError: the folder or something in it would lead outside the project.
        """
        folder = self._db.runs_dir / str(int(run_id))
        if folder.is_symlink():
            raise ProjectPathError(folder, "is a symbolic link")
        if folder.is_dir():
            self._db.inside(folder, tree=True)
        return folder

    def _make_folder(self, run_id: int) -> Path:
        """Create a new run's folder, refusing anything already there (a planted folder or link)."""
        self._db.runs_dir.mkdir(exist_ok=True)
        folder = self._db.runs_dir / str(int(run_id))
        try:
            os.mkdir(folder)  # never follows a link: an existing one, even dangling, is an error
        except FileExistsError:
            what = "is a symbolic link" if folder.is_symlink() else "already exists"
            raise ProjectPathError(folder, f"{what}, but run {run_id} is new") from None
        except OSError as exc:
            raise ProjectError(f"{folder} cannot be created: {_os_reason(exc)}") from None
        self._db.inside(folder)
        return folder

    def mark_interrupted(self) -> None:
        """Runs left 'running' by a process that is gone were interrupted (a crash, a kill)."""
        stale = []
        for run_id, pid in self._db._execute("SELECT id, pid FROM runs WHERE status = 'running'"):
            if pid is None or not process_alive(int(pid)) or int(pid) == os.getpid():
                stale.append(run_id)
        for run_id in stale:
            self.update(run_id, status="interrupted", message=_INTERRUPTED_MESSAGE)

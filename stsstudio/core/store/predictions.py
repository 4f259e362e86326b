"""Predictions: each model's score of every pair, and its calibration (issue 12)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from typing import Any

from stsstudio.core.store.db import Database, _chunked_rows
from stsstudio.core.store.records import (
    _metadata,
)


class Predictions:
    """``project.predictions``: the model in the loop's stored scores."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def start(self, run_id: int) -> None:
        """Forget run ``run_id``'s predictions (0: the base model) before it is scored afresh."""
        with self._db.transaction() as cur:
            cur.execute("DELETE FROM prediction_sets WHERE run_id = ?", (run_id,))
            cur.execute("DELETE FROM predictions WHERE run_id = ?", (run_id,))

    def add(self, run_id: int,
            rows: Iterable[tuple[int, float, float | None]]) -> None:
        """Store a batch of ``(pair_id, cosine, uncertainty or None)`` of one model, in one write.

        The rows are converted before the write starts: the project lock (which the GUI thread
        needs for a label) is held only for the insert itself."""
        values = [(run_id, int(p), float(s), None if u is None else float(u)) for p, s, u in rows]
        with self._db.transaction() as cur:
            cur.executemany("INSERT OR REPLACE INTO predictions (run_id, pair_id, score, uncertainty) "
                            "VALUES (?, ?, ?, ?)", values)

    def finish(self, run_id: int, model: str, data_version: str, pairs: int) -> None:
        """Mark run ``run_id``'s prediction set complete (features read only complete sets)."""
        with self._db.transaction() as cur:
            cur.execute("INSERT OR REPLACE INTO prediction_sets (run_id, model, data_version, pairs, "
                        "created_at) VALUES (?, ?, ?, ?, ?)",
                        (run_id, model, data_version, int(pairs), time.time()))

    def sets(self) -> dict[int, dict[str, Any]]:
        """The complete prediction sets: run id (0: base) -> model, data_version, pairs, created_at."""
        rows = self._db._execute("SELECT run_id, model, data_version, pairs, created_at FROM prediction_sets "
                             "ORDER BY run_id")
        return {r[0]: {"model": r[1], "data_version": r[2], "pairs": r[3], "created_at": r[4]}
                for r in rows}

    def get(self, run_id: int, pair_ids: Sequence[int] | None = None
            ) -> dict[int, tuple[float, float | None]]:
        """Pair id -> ``(cosine, uncertainty)`` of one model; all pairs, or only ``pair_ids``."""
        if pair_ids is None:
            rows = self._db._private_rows("SELECT pair_id, score, uncertainty FROM predictions "
                                      "WHERE run_id = ?", (run_id,))
        else:
            with self._db._lock:
                rows = _chunked_rows(self._db._conn, "SELECT pair_id, score, uncertainty FROM predictions "
                                     f"WHERE run_id = {int(run_id)} AND pair_id IN ({{}})", pair_ids)
        return {r[0]: (r[1], r[2]) for r in rows}

    def highest_pair_id(self, run_id: int) -> int:
        """The highest pair id run ``run_id`` has a prediction for (0: none); one index seek.
        Pair texts never change and deleted pairs take their predictions with them, so a set is
        complete while no pair id above this one exists."""
        return int(self._db._scalar("SELECT MAX(pair_id) FROM predictions WHERE run_id = ?", (run_id,)) or 0)

    def set_calibration(self, run_id: int, payload: dict[str, Any]) -> None:
        """Store run ``run_id``'s calibration (0: the base model) as JSON."""
        with self._db.transaction() as cur:
            cur.execute("INSERT OR REPLACE INTO calibrations (run_id, payload, created_at) VALUES (?, ?, ?)",
                        (run_id, json.dumps(payload), time.time()))

    def calibration(self, run_id: int) -> dict[str, Any] | None:
        """Run ``run_id``'s stored calibration payload, or None."""
        rows = self._db._execute("SELECT payload FROM calibrations WHERE run_id = ?", (run_id,))
        return _metadata(rows[0][0] if rows and isinstance(rows[0][0], str) else None)

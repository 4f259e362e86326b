"""The sentence pool: single sentences that pairs are suggested from (issue 13)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from typing import Any

from stsstudio.core.store.db import Database
from stsstudio.core.store.records import (
    InsertReport,
    PoolSentence,
)


class Pool:
    """``project.pool``: the project's pooled sentences."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def norm_hashes(self) -> set[int]:
        """The normalised-text hashes of every pooled sentence (dedup on import)."""
        return self._db._column_set("sentences", "norm_hash")

    def insert(self, rows: Iterable[Sequence[Any]], *, source: str | None = None
               ) -> InsertReport:
        """Add sentences to the pool in one transaction: all rows or none.

        Args:
            rows: tuples ``(text, norm_hash, metadata_json, source_row)``, already validated
                and deduplicated by :mod:`stsstudio.core.sentences`.
            source: the file or dataset they came from.
        """
        now = time.time()
        report = InsertReport()
        with self._db.transaction() as cur:
            before = cur.max_id("sentences")
            cur.run_many("sentences.insert", (tuple(row) + (source, now) for row in rows))
            after = cur.max_id("sentences")
        report.inserted = after - before
        if report.inserted:
            report.first_id, report.last_id = before + 1, after
        return report

    def split_counts(self) -> dict[str, int]:
        """How many pooled sentences there are, in all and per assigned split."""
        out = {"sentences": 0, "train": 0, "dev": 0, "test": 0, "unassigned": 0}
        for split, n in self._db._rows("sentences.split_counts"):
            out[split or "unassigned"] = n
            out["sentences"] += n
        return out

    def columns(self) -> tuple[list[int], list[str], list[str | None]]:
        """Every pooled sentence as columns ``(ids, texts, splits)``, in id order."""
        rows = self._db._rows("sentences.columns")
        if not rows:
            return [], [], []
        ids, texts, splits = (list(c) for c in zip(*rows))
        return ids, texts, splits

    def by_ids(self, ids: Sequence[int]) -> dict[int, PoolSentence]:
        """Pooled sentences by id, with their metadata decoded."""
        return {r[0]: PoolSentence(r[0], r[1], r[2], json.loads(r[3] or "{}"), r[4], r[5])
                for r in self._db._rows_for_ids("sentences.by_ids", ids)}

    def set_splits(self, assignments: Iterable[tuple[int, str]]) -> None:
        """Fix the split of pooled sentences that have none yet: ``(sentence_id, split)``.

        A sentence's split never changes once set, so no sentence crosses splits.
        """
        rows = [(split, sid) for sid, split in assignments]
        if any(split not in ("train", "dev", "test") for split, _ in rows):
            raise ValueError("a pooled sentence's split is train, dev or test")
        with self._db.transaction() as cur:
            cur.run_many("sentences.set_split", rows)

    def version(self) -> str:
        """A token that changes whenever pooled sentences are added or removed (for caches)."""
        row = self._db._rows("sentences.version")[0]
        return f"{row[0]}-{row[1]}"

"""The store's records and constants: what its methods take and return."""

from __future__ import annotations

import itertools
import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stsstudio.core.errors import (
    ProjectError,
    ProjectLocked,
)
from stsstudio.core.hashing import pair_hashes

DB_NAME = "project.stsproj"
SPLITS = ("train", "dev", "test", "none")
RUN_STATUSES = ("running", "finished", "failed", "cancelled", "interrupted")
PAGE_SIZE = 16384  # of new projects; existing ones keep theirs


class InvalidValueError(ProjectError, ValueError):
    """A value the user gave is out of range (a ValueError for callers, one line for the CLI)."""


ProjectLockedError = ProjectLocked  # its name before the errors were declared in core/errors.py


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
    """What :meth:`Project.pairs.insert` wrote."""

    inserted: int = 0
    labeled: int = 0
    first_id: int | None = None
    last_id: int | None = None


@dataclass(frozen=True)
class PairCounts:
    """How many pairs each split holds, how many are labeled and flagged: every view's counts.

    Returned by ``project.counts.get()``. Methods take a split, or None for the whole project.
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


# Filters understood by Project.pairs.query_ids, shared by the CLI and the pair table.
PAIR_FILTERS = ("all", "unlabeled", "labeled", "flagged")
SORTABLE_COLUMNS = ("id", "sentence1", "sentence2", "score", "split", "annotator", "flagged", "note")


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

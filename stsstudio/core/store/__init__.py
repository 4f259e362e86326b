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

:class:`Project` opens the database, holds the writer lock, runs migrations and transactions,
and keeps the paths and metadata. The rest is small managers it is made of, one module each,
sharing its connection and transactions (Anki's ``col.decks``, ``col.tags``):

==========================  ============================================================
``project.pairs``           :mod:`.pairs`: insert, read, query, edit, delete, restore pairs
``project.labels``          :mod:`.labels`: label history, several annotators, adjudication
``project.annotators``      :mod:`.annotators`: one spelling per annotator
``project.assignments``     :mod:`.assignments`: each annotator's share and the overlap
``project.runs``            :mod:`.runs`: training runs, metrics, run pairs, run folders
``project.predictions``     :mod:`.predictions`: each model's scores and calibration
``project.pool``            :mod:`.pool`: the sentence pool pairs are suggested from
``project.counts``          :mod:`.counts`: pairs, labeled and flagged pairs per split
==========================  ============================================================

SQL lives only in this package.
"""

from __future__ import annotations

from stsstudio.core.errors import ProjectError
from stsstudio.core.store.project import Project
from stsstudio.core.store.records import (
    DB_NAME,
    DEV_FRACTION,
    DEV_SEED,
    IMPORT_ANNOTATOR,
    LABEL_AGGREGATES,
    LABEL_SOURCES,
    PAGE_SIZE,
    PAIR_FILTERS,
    RUN_STATUSES,
    SORTABLE_COLUMNS,
    SPLITS,
    InsertReport,
    InvalidValueError,
    Label,
    Pair,
    PairCounts,
    PairRows,
    PoolSentence,
    ProjectLockedError,
    Run,
    aggregate_target,
    choose_dev,
    default_guidelines,
    effective_labels,
    folder_size,
)
from stsstudio.core.store.schema import _MIGRATIONS, SCHEMA_VERSION

__all__ = [
    "DB_NAME", "DEV_FRACTION", "DEV_SEED", "IMPORT_ANNOTATOR", "LABEL_AGGREGATES", "LABEL_SOURCES",
    "PAGE_SIZE", "PAIR_FILTERS", "RUN_STATUSES", "SCHEMA_VERSION", "SORTABLE_COLUMNS", "SPLITS",
    "_MIGRATIONS", "InsertReport", "InvalidValueError", "Label", "Pair", "PairCounts", "PairRows",
    "PoolSentence", "Project", "ProjectError", "ProjectLockedError", "Run", "aggregate_target",
    "choose_dev", "default_guidelines", "effective_labels", "folder_size",
]

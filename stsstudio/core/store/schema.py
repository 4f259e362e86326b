"""The database schema: forward-only migrations, one per schema version."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

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

"""The store as small managers (issue 22, point 1): ``Project`` opens, locks, migrates and runs
transactions; pairs, labels, runs, ... are managers it composes, sharing its connection.

Their sizes (no class over 500 lines, no function over 80) are checked with the whole package's
in tests/test_architecture.py."""

from __future__ import annotations

import pytest

from stsstudio.core.store import Project
from stsstudio.core.store.annotators import Annotators
from stsstudio.core.store.assignments import Assignments
from stsstudio.core.store.counts import Counts
from stsstudio.core.store.labels import Labels
from stsstudio.core.store.pairs import Pairs
from stsstudio.core.store.pool import Pool
from stsstudio.core.store.predictions import Predictions
from stsstudio.core.store.runs import Runs

MANAGERS = {"pairs": Pairs, "labels": Labels, "annotators": Annotators, "assignments": Assignments,
            "runs": Runs, "predictions": Predictions, "pool": Pool, "counts": Counts}
# What Project itself keeps: opening and closing, paths, metadata, transactions, whole-project
# figures. Anything else belongs to a manager; no old method name comes back as a shim.
PROJECT_API = {
    "create", "open", "close", "closed", "db_path", "runs_dir", "cache_dir", "cache_file", "inside",
    "refuse_own_file", "backup_to", "transaction", "background_writes", "get_meta", "set_meta",
    "name", "guidelines", "base_model", "display_scale", "set_display_scale", "stats", "checksum",
}


def test_project_is_composed_of_managers_and_keeps_no_old_names(tmp_path) -> None:
    public = {n for n in dir(Project) if not n.startswith("_")}
    assert public == PROJECT_API, f"move these to a manager: {sorted(public - PROJECT_API)}"
    with Project.create(tmp_path / "p") as project:
        for name, cls in MANAGERS.items():
            assert type(getattr(project, name)) is cls
            assert cls.__module__ == f"stsstudio.core.store.{name}"  # one module each
        for name in ("insert_pairs", "set_label", "update_run", "counts_ready", "pool_counts"):
            assert not hasattr(project, name)


def test_managers_share_one_connection_and_its_transactions(tmp_path) -> None:
    """A label written through ``labels`` is read by ``pairs`` and ``counts`` at once; a failed
    transaction rolls back what every manager wrote inside it."""
    with Project.create(tmp_path / "p") as project:
        project.pairs.insert([("a cat", "a dog", None, "train", 1, None)])
        pair_id = project.pairs.query_ids()[0]
        project.labels.set(pair_id, 0.4, "Ann")
        assert project.pairs.get(pair_id).score == pytest.approx(0.4)
        assert project.counts.get().labeled("train") == 1
        before = project.checksum()
        with pytest.raises(RuntimeError), project.transaction() as cur:
            cur.execute("UPDATE pairs SET note = 'gone' WHERE id = ?", (pair_id,))
            raise RuntimeError("cancelled")
        assert project.checksum() == before
        assert project.pairs.get(pair_id).note == ""


def test_the_named_id_and_hash_queries_take_only_known_tables(project) -> None:
    """Managers ask the store's shared layer for "highest id" and "every hash" by name; a name that
    is not one of the store's tables is refused, never pasted into SQL."""
    project.pairs.insert([("a cat sits", "a dog runs", 0.5, "train", 1, None)])
    assert len(project.pairs.hashes()) == 1
    with project.transaction() as cur:
        assert cur.max_id("pairs") == 1 and cur.max_id("sentences") == 0
        with pytest.raises(ValueError):
            cur.max_id("pairs; DROP TABLE pairs")
    with pytest.raises(ValueError):
        project._column_set("labels", "score")
    assert project.pairs.count() == 1        # the refused names changed nothing


def test_the_pool_asks_for_its_queries_by_name(project) -> None:
    """The pool's SQL lives in the store's shared layer as named queries; its behaviour is the
    same: the source is bound per row (a quote in it stays text), ids past SQLite's bound limit
    are read in chunks, and an unknown name is refused before any SQL runs."""
    source = "o'brien.csv; DROP TABLE sentences"
    report = project.pool.insert([(f"sentence {i}", i, "{}", i + 1) for i in range(1200)], source=source)
    assert (report.inserted, report.first_id, report.last_id) == (1200, 1, 1200)
    got = project.pool.by_ids(range(1, 1201))
    assert len(got) == 1200 and got[1000].text == "sentence 999" and got[1000].source == source
    project.pool.set_splits([(1, "dev"), (2, "test")])
    project.pool.set_splits([(1, "train")])          # a set split never changes
    assert project.pool.split_counts() == {"sentences": 1200, "train": 0, "dev": 1, "test": 1,
                                           "unassigned": 1198}
    ids, texts, splits = project.pool.columns()
    assert ids[:2] == [1, 2] and splits[:3] == ["dev", "test", None] and project.pool.version() == "1200-1200"
    with pytest.raises(ValueError):
        project._rows("sentences; DROP TABLE sentences")
    with project.transaction() as cur, pytest.raises(ValueError):
        cur.run_many("pairs.delete_all", [])
    assert project.pool.version() == "1200-1200"

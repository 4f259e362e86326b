"""The project store: SQLite settings, schema version, writer lock, labels, runs, transactions."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from stsstudio.core.hashing import pair_hash
from stsstudio.core.store import (
    DB_NAME,
    SCHEMA_VERSION,
    PairRows,
    Project,
    ProjectError,
    ProjectLockedError,
)


def add_pairs(project: Project, n: int = 3, split: str = "train", scored: bool = True) -> list[int]:
    rows = [(f"first {split} {i}", f"second {split} {i}", (i % 5) / 4 if scored else None, split, i + 1, None)
            for i in range(n)]
    report = project.pairs.insert(rows, source="test.csv")
    return list(range(report.first_id, report.last_id + 1))


def test_new_project_settings(project):
    conn = sqlite3.connect(project.db_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()
    assert project._scalar("PRAGMA foreign_keys") == 1   # on the project's own connection
    assert project.name == "Test project" and project.base_model == "default"
    assert project.guidelines
    assert project.runs_dir.is_dir()


def test_newer_schema_is_a_clear_error(tmp_path):
    Project.create(tmp_path / "p").close()
    conn = sqlite3.connect(tmp_path / "p" / DB_NAME)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    with pytest.raises(ProjectError, match="newer STS Studio"):
        Project.open(tmp_path / "p")


def test_not_a_project_and_not_empty(tmp_path):
    with pytest.raises(ProjectError, match="not an STS Studio project"):
        Project.open(tmp_path)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("x")
    with pytest.raises(ProjectError, match="not empty"):
        Project.create(tmp_path / "full")


_HOLDER = textwrap.dedent("""
    import sys, time
    from stsstudio.core.store import Project
    p = Project.open(sys.argv[1])
    print("open", flush=True)
    sys.stdin.readline()
    p.close()
""")


def test_second_writer_refused_readonly_allowed(tmp_path):
    path = tmp_path / "locked"
    with Project.create(path) as p:
        add_pairs(p, 2)
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(ProjectLockedError, match="open in another STS Studio window") as err:
            Project.open(path)
        assert f"process {holder.pid}" in str(err.value)
        with Project.open(path, readonly=True) as ro:
            assert ro.stats()["pairs"] == 2
            with pytest.raises(ProjectError, match="read-only"):
                ro.set_meta("name", "x")
    finally:
        holder.communicate("\n", timeout=30)  # closes the pipes too
    Project.open(path).close()  # free again once the other process is gone


def test_labels_history_current_score_and_undo(project):
    (pid,) = add_pairs(project, 1, scored=False)
    assert project.pairs.get(pid).score is None
    first = project.labels.set(pid, 0.4, "ann")
    second = project.labels.set(pid, 0.9, "bob")
    # Two annotators: the target is the mean of their latest labels (issue 15).
    assert project.pairs.get(pid).score == pytest.approx(0.65) and project.pairs.get(pid).annotator == "bob"
    assert [(lb.score, lb.annotator) for lb in project.labels.history(pid)] == [(0.4, "ann"), (0.9, "bob")]
    project.labels.remove(second)
    assert project.pairs.get(pid).score == 0.4
    project.labels.remove(first)
    assert project.pairs.get(pid).score is None
    with pytest.raises(ValueError):
        project.labels.set(pid, 1.5)


def test_imported_labels_start_the_history(project):
    ids = add_pairs(project, 3)
    history = project.labels.history(ids[1])
    assert len(history) == 1 and history[0].annotator == "import"
    label = project.labels.set(ids[1], 1.0)
    project.labels.remove(label)
    assert project.pairs.get(ids[1]).score == history[0].score


def test_failed_write_leaves_database_unchanged(project):
    add_pairs(project, 2)
    before = project.checksum()
    rows = [("ok one", "ok two", 0.5, "train", 1, None), ("bad", "score", 7.0, "train", 2, None)]
    with pytest.raises(sqlite3.IntegrityError):
        project.pairs.insert(rows)
    assert project.checksum() == before
    with pytest.raises(RuntimeError):
        with project.transaction() as cur:
            cur.execute("UPDATE pairs SET note = 'changed'")
            raise RuntimeError("boom")
    assert project.checksum() == before
    with pytest.raises(ProjectError):
        project.labels.set(999_999, 0.5)
    assert project.checksum() == before


def test_insert_progress_cancel_rolls_back(project):
    before = project.checksum()
    rows = PairRows([f"a{i}" for i in range(120_000)], [f"b{i}" for i in range(120_000)],
                    [None] * 120_000, "train", list(range(120_000)), list(range(120_000)))

    def cancel(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        project.pairs.insert(rows, progress=cancel)
    assert project.checksum() == before


def test_queries_edits_delete_restore(project):
    train = add_pairs(project, 4, "train")
    dev = add_pairs(project, 2, "dev", scored=False)
    assert project.pairs.query_ids(filter="unlabeled") == dev
    assert project.pairs.query_ids(split="train", order_by="score", descending=True)[0] in train
    assert project.pairs.query_ids(search="SECOND DEV 1") == [dev[1]]
    project.pairs.set_flag([train[0]], True)
    project.pairs.set_note(train[0], "check")
    project.pairs.set_split([dev[0]], "test")
    assert project.pairs.query_ids(filter="flagged") == [train[0]]
    assert project.pairs.get(train[0]).note == "check" and project.pairs.get(dev[0]).split == "test"
    assert set(project.pairs.by_ids(train)) == set(train)
    assert [p.id for p in project.pairs.labeled("train")] == train
    assert project.pairs.find("SECOND train 2", "first train 2") == train[2]
    assert project.pairs.get(train[2]).source == "test.csv" and project.pairs.get(train[2]).source_row == 3
    before = project.checksum()
    version = project.pairs.version()
    snap = project.pairs.delete(train[:2])
    assert project.stats()["pairs"] == 4 and project.pairs.version() != version
    project.pairs.restore(snap)
    assert project.checksum() == before
    assert len(project.pairs.sentences()) == 12


def test_assign_dev_split_is_seeded(tmp_path):
    counts = []
    for name in ("a", "b"):
        with Project.create(tmp_path / name) as p:
            add_pairs(p, 50, "train")
            add_pairs(p, 5, "none", scored=True)
            moved = p.pairs.assign_dev(0.2, seed=7)
            counts.append((moved, p.pairs.query_ids(split="dev")))
    assert counts[0] == counts[1] and counts[0][0] == 10
    with Project.create(tmp_path / "c") as p, pytest.raises(ValueError):
        p.pairs.assign_dev(1.5)


def test_stats_and_pair_hash(project):
    add_pairs(project, 3, "train")
    add_pairs(project, 2, "dev", scored=False)
    s = project.stats()
    assert (s["pairs"], s["labeled"], s["unlabeled"]) == (5, 3, 2)
    assert s["splits"]["dev"] == 2 and s["labeled_splits"]["train"] == 3
    assert pair_hash("A", "B") == pair_hash("b", " a ")


def _scanned_counts(project: Project) -> dict[str, tuple[int, int, int]]:
    """(pairs, labeled, flagged) per split, counted by a second connection from scratch."""
    conn = sqlite3.connect(project.db_path)
    try:
        rows = conn.execute("SELECT split, COUNT(*), COUNT(score), SUM(flagged) FROM pairs "
                            "GROUP BY split").fetchall()
    finally:
        conn.close()
    return {split: (n, labeled, flagged) for split, n, labeled, flagged in rows}


def _cached_counts(project: Project) -> dict[str, tuple[int, int, int]]:
    c = project.counts.get()
    return {s: (c.splits[s], c.labeled_splits[s], c.flagged_splits[s])
            for s in c.splits if c.splits[s]}


def test_counts_follow_every_write_without_a_scan(project):
    train = add_pairs(project, 6, "train", scored=False)
    dev = add_pairs(project, 3, "dev")
    assert not project.counts.ready()
    assert project.counts.warm().total() == 9 and project.counts.ready()
    steps = [
        lambda: project.labels.set(train[0], 0.5, "a"),
        lambda: project.labels.set(train[0], 0.7, "a"),            # relabel: no new labeled pair
        lambda: project.labels.remove(project.labels.history(train[0])[-1].id),
        lambda: project.labels.remove(project.labels.history(train[0])[-1].id),
        lambda: project.pairs.set_flag([train[1], dev[0]], True),
        lambda: project.pairs.set_flag([train[1]], True),                # already flagged
        lambda: project.pairs.set_split([dev[0], train[2]], "test"),
        lambda: project.pairs.set_note(train[3], "a note"),
        lambda: add_pairs(project, 4, "none"),
        lambda: project.pairs.assign_dev(0.5),
    ]
    statements: list[str] = []
    for step in steps:
        project._conn.set_trace_callback(statements.append)
        step()
        project.counts.get()
        project._conn.set_trace_callback(None)
        assert _cached_counts(project) == _scanned_counts(project)
    # Kept in step: no statement counted the whole table again.
    scans = [s for s in statements if "COUNT(" in s and "WHERE" not in s]
    assert statements and not scans, scans
    snap = project.pairs.delete([train[1], dev[0], dev[1]])
    assert _cached_counts(project) == _scanned_counts(project)
    project.pairs.restore(snap)
    assert _cached_counts(project) == _scanned_counts(project)
    c = project.counts.get()
    assert (c.total(), c.labeled("dev"), c.flagged()) == (13, c.labeled_splits["dev"], 2)
    assert c.unlabeled() == c.total() - c.labeled()
    # A failed write leaves the counts as they were.
    before = _cached_counts(project)
    with pytest.raises(ProjectError):
        project.labels.set(10_000, 0.5)
    assert _cached_counts(project) == before


def test_counts_of_a_bulk_edit_are_recounted(project, monkeypatch):
    ids = add_pairs(project, 5, "train")
    project.counts.get()
    monkeypatch.setattr("stsstudio.core.store.counts._TALLY_MAX", 2)
    project.pairs.set_split(ids, "dev")
    assert not project.counts.ready()
    assert _cached_counts(project) == _scanned_counts(project) == {"dev": (5, 5, 0)}


def test_runs_and_interrupted_marking(tmp_path):
    path = tmp_path / "runs"
    with Project.create(path) as p:
        run_id = p.runs.create(base_model="m", loss="cosent", config={"epochs": 1})
        p.runs.add_metrics(run_id, [(1, "loss", 0.5, 0.1), (2, "loss", 0.4, 0.2),
                                    (2, "dev_spearman", 0.7, 0.2)])
        p.runs.update(run_id, best_dev_spearman=0.7, model_dir=str(p.runs.folder(run_id)),
                     summary={"outcome": "better"})
        assert p.runs.metrics(run_id)["loss"] == [(1, 0.5), (2, 0.4)]
        assert p.runs.get(run_id).config == {"epochs": 1}
        stale = p.runs.create(base_model="m", loss="cosent", config={})
        p.runs.update(stale, pid=2**22 + 12345)  # a process that does not exist
        p.runs.update(run_id, status="finished", finished_at=time.time())
    with Project.open(path) as p:
        assert p.runs.get(stale).status == "interrupted"
        assert p.runs.get(run_id).status == "finished"
        assert p.runs.best().id == run_id
        assert [r.id for r in p.runs.all()] == [run_id, stale]


def test_open_by_database_file(tmp_path):
    Project.create(tmp_path / "p").close()
    with Project.open(Path(tmp_path / "p" / DB_NAME)) as p:
        assert p.path == (tmp_path / "p").resolve()


def test_background_writes_leave_the_checkpoint_to_the_worker(tmp_path: Path) -> None:
    """While every pair is scored, no commit on the shared connection copies the log into the
    database (a label would wait 40-70 ms); the worker's own checkpoint does, and the setting
    comes back afterwards."""
    project = Project.create(tmp_path / "p")
    ids = add_pairs(project, 50)
    wal = tmp_path / "p" / f"{DB_NAME}-wal"

    def autocheckpoint() -> int:
        return project._conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]

    with project.background_writes() as checkpoint:
        assert autocheckpoint() == 0
        for start in range(0, 5000, 500):
            project.predictions.add(0, [(ids[i % 50], 0.5, None) for i in range(start, start + 500)])
        grown = wal.stat().st_size
        checkpoint()
        project.labels.set(ids[0], 0.25)
    assert autocheckpoint() == 1000
    assert grown > 0 and project.pairs.get(ids[0]).score == 0.25
    project.close()
    with Project.open(tmp_path / "p") as again:
        assert again.pairs.get(ids[0]).score == 0.25

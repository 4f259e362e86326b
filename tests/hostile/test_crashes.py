"""Issue 14: ``kill -9`` during an import or an export, at several moments.

Afterwards the project opens, ``PRAGMA integrity_check`` is ok, the import is all or nothing,
no confirmed label is lost, and an export is either absent or complete (its leftovers are
cleaned by the next export).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stsstudio.core.store import Project

ROWS = 120_000
LABELS = 30


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("crash") / "big.csv"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("sentence1,sentence2,score\n")
        for i in range(ROWS):
            fh.write(f"the first sentence of pair {i},another sentence for pair {i},{i % 6}\n")
    return path


def _labeled_project(folder: Path) -> dict[int, float]:
    """A project with confirmed labels; returns {pair id: score}."""
    with Project.create(folder) as p:
        p.pairs.insert([(f"kept {i}", f"pair {i}", None, "train", i + 2, None) for i in range(LABELS)])
        ids = p.pairs.query_ids()
        for k, pid in enumerate(ids):
            p.labels.set(pid, (k % 5) / 4, "annotator")
        return {pid: (k % 5) / 4 for k, pid in enumerate(ids)}


def _start(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "stsstudio", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)


def _wait_for(predicate, proc: subprocess.Popen, timeout: float = 60.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.005)
    return False


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)


def _check(folder: Path, labels: dict[int, float]) -> int:
    """Open for writing (recovering the WAL), check integrity and the labels; return the pairs."""
    with Project.open(folder) as p:
        assert p._scalar("PRAGMA integrity_check") == "ok"
        pairs = p.stats()["pairs"]
        for pid, score in labels.items():
            pair = p.pairs.get(pid)
            assert pair is not None and pair.score == pytest.approx(score)
            assert [lab.score for lab in p.labels.history(pid)] == [pytest.approx(score)]
    return pairs


def _wal_size(folder: Path) -> int:
    wal = folder / "project.stsproj-wal"
    return wal.stat().st_size if wal.exists() else 0


# Moments to kill at: while Python starts, once the import holds the write lock (the WAL has
# begun to grow), with a large WAL (deep in the transaction), and around the commit.
MOMENTS = {
    "startup": lambda folder, proc: time.sleep(0.3) or True,
    "wal-begun": lambda folder, proc: _wait_for(lambda: _wal_size(folder) > 0, proc),
    "wal-large": lambda folder, proc: _wait_for(lambda: _wal_size(folder) > 4_000_000, proc),
    "near-commit": lambda folder, proc: _wait_for(lambda: _wal_size(folder) > 12_000_000, proc),
}


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_kill_during_import(moment, tmp_path, big_csv):
    folder = tmp_path / "P"
    labels = _labeled_project(folder)
    proc = _start(["import", str(folder), str(big_csv)])
    reached = MOMENTS[moment](folder, proc)
    finished = proc.poll() is not None
    _kill(proc)
    pairs = _check(folder, labels)
    assert reached or finished, f"the import never reached the moment {moment!r}"
    assert pairs in (LABELS, LABELS + ROWS)  # all rows or none
    if not finished and pairs == LABELS:
        # And the same import then goes through.
        r = subprocess.run([sys.executable, "-m", "stsstudio", "import", str(folder), str(big_csv)],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        assert _check(folder, labels) == LABELS + ROWS


@pytest.fixture(scope="module")
def big_project(tmp_path_factory, big_csv) -> tuple[Path, dict[int, float]]:
    folder = tmp_path_factory.mktemp("bigproj") / "P"
    labels = _labeled_project(folder)
    from stsstudio.core.importers import import_pairs

    with Project.open(folder) as p:
        import_pairs(p, big_csv)
    return folder, labels


@pytest.mark.parametrize("moment", ["startup", "temp-written"])
def test_kill_during_export(moment, tmp_path, big_project):
    folder, labels = big_project
    out = tmp_path / "out.parquet"
    proc = _start(["export-data", str(folder), str(out)])
    if moment == "startup":
        time.sleep(0.3)
    else:
        _wait_for(lambda: any(p.name.endswith(".tmp") for p in tmp_path.iterdir()), proc)
    _kill(proc)
    if out.exists():  # finished before the kill: then it is complete
        import pandas as pd

        assert len(pd.read_parquet(out)) == LABELS + ROWS
        out.unlink()
    _check(folder, labels)
    r = subprocess.run([sys.executable, "-m", "stsstudio", "export-data", str(folder), str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # leftovers cleaned


def _run_row(folder: Path) -> tuple | None:
    import sqlite3

    try:
        conn = sqlite3.connect(f"file:{folder / 'project.stsproj'}?mode=ro", uri=True, timeout=1)
        try:
            return conn.execute("SELECT id, status FROM runs ORDER BY id DESC LIMIT 1").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None


@pytest.mark.parametrize("moment", ["run-created", "checkpoint-written"])
def test_kill_during_training(moment, tmp_path, tiny_model):
    folder = tmp_path / "P"
    labels = _labeled_project(folder)
    with Project.open(folder) as p:
        p.pairs.insert([(f"train left {i}", f"train right {i}", (i % 5) / 4, "train", i, None)
                        for i in range(40)])
        p.pairs.insert([(f"dev left {i}", f"dev right {i}", (i % 5) / 4, "dev", i, None)
                        for i in range(10)])
    proc = _start(["train", str(folder), "--base-model", str(tiny_model), "--max-steps", "200",
                   "--eval-steps", "2", "--batch-size", "4", "--device", "cpu"])
    if moment == "run-created":
        reached = _wait_for(lambda: _run_row(folder) is not None, proc, timeout=120)
    else:
        reached = _wait_for(lambda: any((folder / "runs").glob("*/checkpoints/checkpoint-*")),
                            proc, timeout=180)
    finished = proc.poll() is not None
    _kill(proc)
    assert reached or finished, proc.stderr.read().decode()[-2000:]
    with Project.open(folder, readonly=True) as p:  # seen before any writer tidies up
        run = p.runs.all()[-1]
        assert run.status in (("finished",) if finished else ("interrupted",))
    _check(folder, labels)
    with Project.open(folder) as p:
        assert p.runs.all()[-1].status == ("finished" if finished else "interrupted")
        assert p.stats()["labeled"] == LABELS + 50

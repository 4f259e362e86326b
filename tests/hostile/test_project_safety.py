"""Issue 14: projects that move, are copied, carry planted links, run out of disk, or were
left behind by a killed run."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from stsstudio.cli import main
from stsstudio.core.store import Project, ProjectError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from training_support import add_finished_run  # noqa: E402


def _pairs(n: int, offset: int = 0) -> list[tuple]:
    return [(f"first sentence {i}", f"second sentence {i}", (i % 5) / 4, "train", i + 2, None)
            for i in range(offset, offset + n)]


def test_moved_and_copied_project_keeps_its_runs(tmp_path, tiny_model, capsys):
    original = tmp_path / "P"
    with Project.create(original) as p:
        p.pairs.insert(_pairs(20))
        run_id = add_finished_run(p, tiny_model)
        stored = p._scalar("SELECT model_dir FROM runs WHERE id = ?", (run_id,))
    assert stored == f"runs/{run_id}/model"  # relative: the project can move
    copy = tmp_path / "P2"
    subprocess.run(["cp", "-a", str(original), str(copy)], check=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.move(str(original), str(elsewhere / "P"))

    with Project.open(copy, readonly=True) as p2:
        assert Path(p2.runs.get(run_id).model_dir) == copy.resolve() / "runs" / str(run_id) / "model"
    out = tmp_path / "exported"
    assert main(["export", str(copy), str(out)]) == 0, capsys.readouterr().err
    assert (out / "README.md").is_file()
    assert main(["export", str(elsewhere / "P"), str(tmp_path / "exported2")]) == 0
    (tmp_path / "file.txt").write_text("x")
    capsys.readouterr()
    assert main(["export", str(copy), str(tmp_path / "file.txt" / "sub")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "file.txt is a file" in err, err


def test_old_absolute_model_dirs_are_migrated(tmp_path):
    from stsstudio.core.store import _MIGRATIONS

    # A project as the version before the migration wrote it: the schema up to then, and an
    # absolute path into the project where it was at the time.
    before = next(i for i, m in enumerate(_MIGRATIONS) if callable(m))
    folder = tmp_path / "Old"
    folder.mkdir()
    conn = sqlite3.connect(folder / "project.stsproj", isolation_level=None)
    for script in _MIGRATIONS[:before]:
        conn.executescript(script)
    conn.execute(f"PRAGMA user_version = {before}")
    conn.execute("INSERT INTO meta (key, value) VALUES ('name', 'Old')")
    conn.execute("INSERT INTO runs (created_at, status, base_model, loss, model_dir) "
                 "VALUES (0, 'finished', 'default', 'cosent', '/somewhere/else/Old/runs/1/model')")
    conn.close()
    run_id = 1
    with Project.open(folder) as p:
        assert p._scalar("SELECT model_dir FROM runs") == f"runs/{run_id}/model"
        assert p.runs.get(run_id).model_dir == str(folder.resolve() / "runs" / str(run_id) / "model")


def test_symlinked_lock_never_truncates_its_target(tmp_path, capsys):
    folder = tmp_path / "P"
    Project.create(folder).close()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious data\n")
    (folder / ".lock").unlink(missing_ok=True)
    os.symlink(victim, folder / ".lock")
    with pytest.raises(ProjectError, match="symbolic link"):
        Project.open(folder)
    src = tmp_path / "a.csv"
    src.write_text("sentence1,sentence2\na,b\n")
    assert main(["import", str(folder), str(src)]) == 2
    assert victim.read_text() == "precious data\n"
    # Read-only use still works, and after the link is gone the project opens for writing.
    with Project.open(folder, readonly=True) as p:
        assert p.stats()["pairs"] == 0
    (folder / ".lock").unlink()
    with Project.open(folder) as p:
        assert not (folder / ".lock").is_symlink()
    # A link planted as the database's WAL file is refused the same way.
    os.symlink(victim, folder / "project.stsproj-wal")
    with pytest.raises(ProjectError, match="symbolic link"):
        Project.open(folder)
    assert victim.read_text() == "precious data\n"


def test_killed_run_reads_as_interrupted_and_info_shows_it(tmp_path, capsys):
    folder = tmp_path / "P"
    with Project.create(folder) as p:
        run_id = p.runs.create(base_model="default", loss="cosent", config={})
    # The run's process died without a word: a PID that is certainly gone.
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    conn = sqlite3.connect(folder / "project.stsproj")
    conn.execute("UPDATE runs SET pid = ? WHERE id = ?", (dead.pid, run_id))
    conn.commit()
    conn.close()
    with Project.open(folder, readonly=True) as p:
        assert p.runs.get(run_id).status == "interrupted"
    assert main(["info", str(folder), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["run_list"][0]["status"] == "interrupted"
    assert main(["info", str(folder)]) == 0
    assert "interrupted" in capsys.readouterr().out


def test_running_run_of_a_live_process_without_the_lock_is_interrupted(tmp_path):
    folder = tmp_path / "P"
    with Project.create(folder) as p:
        run_id = p.runs.create(base_model="default", loss="cosent", config={})
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        conn = sqlite3.connect(folder / "project.stsproj")
        conn.execute("UPDATE runs SET pid = ? WHERE id = ?", (alive.pid, run_id))
        conn.commit()
        conn.close()
        with Project.open(folder, readonly=True) as p:
            assert p.runs.get(run_id).status == "interrupted"  # the PID lives, but nobody holds the lock
        holder = Project.open(folder)  # now someone does: the run may really be running
        try:
            with Project.open(folder, readonly=True) as p:
                conn = sqlite3.connect(folder / "project.stsproj")
                conn.execute("UPDATE runs SET status = 'running', pid = ? WHERE id = ?",
                             (alive.pid, run_id))
                conn.commit()
                conn.close()
                assert p.runs.get(run_id).status == "running"
        finally:
            holder.close()
    finally:
        alive.kill()
        alive.wait()


def test_export_data_respects_umask_and_needs_force(tmp_path, capsys):
    folder = tmp_path / "P"
    with Project.create(folder) as p:
        p.pairs.insert(_pairs(3))
    out = tmp_path / "out.csv"
    old = os.umask(0o022)
    try:
        assert main(["export-data", str(folder), str(out)]) == 0
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o644
    out.write_text("mine")
    assert main(["export-data", str(folder), str(out)]) == 2
    assert out.read_text() == "mine"
    assert main(["export-data", str(folder), str(out), "--force"]) == 0
    assert out.read_text().startswith("sentence1,sentence2")


def test_export_leftovers_of_killed_exports_are_cleaned(tmp_path, capsys):
    folder = tmp_path / "P"
    with Project.create(folder) as p:
        p.pairs.insert(_pairs(3))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".out.parquet.{dead.pid}.abc123.tmp"
    stale.write_bytes(b"x" * 1000)
    live = tmp_path / f".out.parquet.{os.getpid()}.zzz.tmp"  # another export still writing
    live.write_bytes(b"y")
    assert main(["export-data", str(folder), str(tmp_path / "out.parquet")]) == 0
    assert not stale.exists() and live.exists()


def test_zero_byte_and_bad_schema_databases_are_clear_errors(tmp_path):
    folder = tmp_path / "P"
    Project.create(folder).close()
    for version, needle in ((-1, "schema version -1"), (0, "schema version 0")):
        conn = sqlite3.connect(folder / "project.stsproj")
        conn.execute(f"PRAGMA user_version = {version}")
        conn.close()
        for readonly in (True, False):
            with pytest.raises(ProjectError, match=needle):
                Project.open(folder, readonly=readonly)
    (folder / "project.stsproj").write_bytes(b"")
    with pytest.raises(ProjectError, match="0 bytes"):
        Project.open(folder)
    assert (folder / "project.stsproj").stat().st_size == 0  # not silently re-initialised


def _can_mount_tmpfs() -> str | None:
    if sys.platform != "linux" or not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "mounting a small tmpfs needs root on Linux"
    return None


@pytest.fixture
def small_disk(tmp_path):
    """A 3 MB tmpfs, unmounted after the test; skipped where it cannot be mounted."""
    why = _can_mount_tmpfs()
    if why:
        pytest.skip(why)
    mount = tmp_path / "small"
    mount.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_disk_full_import_is_one_line_and_changes_nothing(small_disk, tmp_path, capsys):
    folder = small_disk / "P"
    with Project.create(folder) as p:
        p.pairs.insert(_pairs(50))
        p.labels.set(1, 0.9, "ann")
        before = p.checksum()
    src = tmp_path / "big.csv"
    with open(src, "w") as fh:
        fh.write("sentence1,sentence2,score\n")
        for i in range(60_000):
            fh.write(f"a rather long first sentence number {i} with padding,"
                     f"and a second sentence that differs {i} too,{i % 6}\n")
    code = main(["import", str(folder), str(src)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert "full" in err or "space" in err
    with Project.open(folder, readonly=True) as p:
        assert p.checksum() == before
        assert p._scalar("PRAGMA integrity_check") == "ok"


def test_disk_full_lock_and_export_are_one_line(small_disk, tmp_path, capsys):
    folder = small_disk / "P"
    with Project.create(folder) as p:
        p.pairs.insert(_pairs(200))
    (folder / ".lock").unlink(missing_ok=True)
    filler = small_disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)  # fill the disk to the last byte
    for size in (65536, 1):
        try:
            while True:
                os.write(fd, b"\0" * size)
        except OSError:
            pass
    os.close(fd)
    code = main(["assign-dev", str(folder)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    code = main(["export-data", str(folder), str(small_disk / "out.jsonl")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert not (small_disk / "out.jsonl").exists()
    assert not [p for p in small_disk.iterdir() if p.name.endswith(".tmp")]
    filler.unlink()
    with Project.open(folder, readonly=True) as p:
        assert p.stats()["pairs"] == 200


def test_read_only_project_folder(small_disk, tmp_path, capsys):
    folder = small_disk / "P"
    with Project.create(folder) as p:
        p.pairs.insert(_pairs(5))
    (folder / ".lock").unlink(missing_ok=True)
    r = subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot remount read-only: {r.stderr.strip()}")
    src = tmp_path / "a.csv"
    src.write_text("sentence1,sentence2\nx,y\n")
    code = main(["import", str(folder), str(src)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "read-only" in err, err
    assert main(["info", str(folder)]) == 0  # reading still works
    assert "Pairs     5" in capsys.readouterr().out

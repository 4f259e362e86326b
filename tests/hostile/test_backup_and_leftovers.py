"""Issue 24, point 10: a backup while the app runs holds every label; a closed project is one
file; killed comparisons leave nothing behind for good; every listed command exists."""

from __future__ import annotations

import os
import sqlite3
import time

import pytest

from stsstudio.cli import COMMANDS, build_parser, main
from stsstudio.core.export_compare import clean_stale_compare_folders
from stsstudio.core.store import Project


def test_backup_while_the_project_is_open_holds_the_latest_labels(tmp_path, capsys):
    folder = tmp_path / "P"
    with Project.create(folder) as app:  # the app holds it open for writing
        app.pairs.insert([(f"s {i}", f"t {i}", None, "train", i + 1, None) for i in range(50)])
        for pid in range(1, 51):
            app.labels.set(pid, pid / 50, annotator="me")
        assert (folder / "project.stsproj-wal").stat().st_size > 0  # labels still in the WAL
        naive = tmp_path / "naive.stsproj"  # a plain copy of the file misses what sits in the WAL
        naive.write_bytes((folder / "project.stsproj").read_bytes())
        conn = sqlite3.connect(naive)
        try:
            naive_labels = conn.execute("SELECT COUNT(*) FROM labels").fetchone()[0]
        except sqlite3.OperationalError:  # even the schema may still sit in the WAL
            naive_labels = 0
        conn.close()
        assert naive_labels < 50
        out = tmp_path / "backup.stsproj"
        assert main(["backup", str(folder), str(out)]) == 0, capsys.readouterr().err
        assert "Backed up" in capsys.readouterr().out
        # One file, opening as a project with all 50 labels.
        restored = tmp_path / "R"
        restored.mkdir()
        os.replace(out, restored / "project.stsproj")
        with Project.open(restored, readonly=True) as r:
            assert r.counts.get().labeled() == 50
        # The same refusals as any export: an existing file, the project's own database.
        out.write_text("keep")
        assert main(["backup", str(folder), str(out)]) == 2
        assert "already exists" in capsys.readouterr().err and out.read_text() == "keep"
        assert main(["backup", str(folder), str(folder / "project.stsproj"), "--force"]) == 2
        assert "a file of the open project" in capsys.readouterr().err
        assert app.counts.get().labeled() == 50


def test_a_closed_project_is_one_file(tmp_path):
    folder = tmp_path / "P"
    with Project.create(folder) as p:
        p.pairs.insert([("a", "b", 0.5, "train", 1, None)])
    assert sorted(n for n in os.listdir(folder) if n.startswith("project.")) == ["project.stsproj"]
    conn = sqlite3.connect(folder / "project.stsproj")
    assert conn.execute("SELECT COUNT(*) FROM pairs").fetchone() == (1,)
    conn.close()


def test_stale_compare_folders_are_removed(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    legacy = cache / ".stsstudio-compare-abc123"
    (legacy / "onnx").mkdir(parents=True)
    (legacy / "onnx" / "model.onnx").write_bytes(b"x" * 1000)
    old = time.time() - 7200
    os.utime(legacy, (old, old))
    dead = cache / ".stsstudio-compare.999999999.xyz.tmp"  # a PID that cannot be alive
    dead.mkdir()
    alive = cache / f".stsstudio-compare.{os.getpid()}.xyz.tmp"
    alive.mkdir()
    fresh_legacy = cache / ".stsstudio-compare-new"
    fresh_legacy.mkdir()
    removed = clean_stale_compare_folders(cache)
    assert sorted(p.name for p in removed) == sorted([legacy.name, dead.name])
    assert alive.is_dir() and fresh_legacy.is_dir() and not legacy.exists()


def test_every_command_in_help_runs(capsys):
    parser = build_parser()
    listed = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction").choices
    assert set(COMMANDS) == set(listed) and {"delete-run", "backup"} <= set(COMMANDS)
    for command in COMMANDS:
        with pytest.raises(SystemExit) as exc:
            main([command, "--help"])
        assert exc.value.code == 0, command
    capsys.readouterr()

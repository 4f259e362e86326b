"""Issue 24, point 2: an export never writes over a file of the open project, whether it is
named directly, reached through a symbolic link or a hard link."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import pytest

from stsstudio.cli import main
from stsstudio.core.data_export import export_pairs
from stsstudio.core.errors import ProjectFileTargetError
from stsstudio.core.store import Project

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from training_support import add_finished_run  # noqa: E402


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    folder = tmp_path / "P"
    with Project.create(folder) as p:
        p.pairs.insert([(f"a {i}", f"b {i}", 0.5, "train", i + 1, None) for i in range(5)])
        p.runs.create(base_model="default", loss="cosent", config={})
    (folder / "runs" / "1" / "notes.csv").write_text("x\n")
    return folder


@pytest.mark.parametrize("how", ["database link", "wal link", "lock link", "hard link", "run file",
                                 "run file link", "cache file"])
def test_export_data_never_writes_over_the_project(proj, tmp_path, capsys, how):
    target = tmp_path / "out.csv"
    own = {"database link": proj / "project.stsproj", "wal link": proj / "project.stsproj-wal",
           "lock link": proj / ".lock", "hard link": proj / "project.stsproj",
           "run file": proj / "runs" / "1" / "notes.csv",
           "run file link": proj / "runs" / "1" / "notes.csv",
           "cache file": proj / "cache" / "x.csv"}[how]
    with Project.open(proj) as p:  # open for writing, as the app holds it: -wal and .lock exist
        p.set_meta("touched", "1")
        if how == "cache file":
            p.cache_dir
            own.write_text("cached\n")
        if how in ("run file", "cache file"):
            target = own
        elif how == "hard link":
            os.link(own, target)
        else:
            target.symlink_to(own)
        before = _digest(own)
        with pytest.raises(ProjectFileTargetError, match="a file of the open project"):
            export_pairs(p, target, force=True)
        assert _digest(own) == before
    # The CLI: one line, exit 2, and the project still opens with its pairs.
    assert main(["export-data", str(proj), str(target), "--force"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a file of the open project" in err, err
    with Project.open(proj, readonly=True) as p:
        assert p.pairs.count() == 5


def test_model_export_never_replaces_the_project_cache_or_runs(proj, tiny_model, capsys):
    with Project.open(proj) as p:
        add_finished_run(p, tiny_model)
        p.cache_dir
    (proj / "cache" / "keep.npy").write_text("x")
    for out in (proj / "cache", proj / "runs", proj / "project.stsproj"):
        assert main(["export", str(proj), str(out), "--force"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err, err
    assert (proj / "cache" / "keep.npy").read_text() == "x"
    with Project.open(proj, readonly=True) as p:
        assert p.pairs.count() == 5

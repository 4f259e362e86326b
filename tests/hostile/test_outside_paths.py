"""Issue 24, point 1: a received project folder never reads or changes anything outside it.

Crafted folders carry planted links (``runs/1 -> elsewhere``, ``runs/1/config.json -> a file``,
``checkpoints -> elsewhere``) and stored paths (``../../elsewhere``, an absolute folder). Each
command either works inside the project or refuses with one line naming the path; the folder
outside is byte for byte as it was.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import sys
from pathlib import Path

import pytest

from stsstudio.cli import main
from stsstudio.core.errors import ProjectPathError
from stsstudio.core.store import Project

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from training_support import add_finished_run, fill_project  # noqa: E402


def snapshot(folder: Path) -> dict[str, str]:
    """Every entry under ``folder`` with a digest of its bytes (links as their target)."""
    out: dict[str, str] = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            p = Path(root) / name
            key = str(p.relative_to(folder))
            if p.is_symlink():
                out[key] = "link:" + os.readlink(p)
            elif p.is_file():
                out[key] = hashlib.sha256(p.read_bytes()).hexdigest()
            else:
                out[key] = "dir"
    return out


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder of someone else's, shaped like a run folder so that training would touch it."""
    folder = tmp_path / "outside"
    for sub in ("model", "checkpoints/checkpoint-2", "best"):
        (folder / sub).mkdir(parents=True)
        (folder / sub / "keep.txt").write_text(f"{sub}: not yours\n")
    (folder / "config.json").write_text('{"precious": true}\n')
    (folder / "secret.txt").write_text("secret\n")
    return folder


def _one_line_error(capsys, *needles: str) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    err = err.strip().splitlines()[-1]  # progress lines ("Loading the base model") may precede it
    assert err.startswith("stsstudio "), err
    for needle in needles:
        assert needle in err, err
    return err


def _labeled(folder: Path) -> Path:
    with Project.create(folder) as p:
        fill_project(p, train=16, dev=6)
    return folder


def test_train_refuses_a_planted_run_folder_link(tmp_path, outside, tiny_model_dir, capsys):
    proj = _labeled(tmp_path / "P")
    before = snapshot(outside)
    (proj / "runs" / "1").symlink_to(outside, target_is_directory=True)
    code = main(["train", str(proj), "--base-model", str(tiny_model_dir), "--max-steps", "2",
                 "--cv", "0", "--device", "cpu"])
    assert code == 2
    _one_line_error(capsys, str(Path("runs") / "1"), "symbolic link")
    assert snapshot(outside) == before
    with Project.open(proj, readonly=True) as p:
        assert p.runs.all() == []  # the refused run left no row behind


def test_train_refuses_a_planted_run_folder_with_a_linked_config(tmp_path, outside, tiny_model_dir,
                                                                 capsys):
    proj = _labeled(tmp_path / "P")
    before = snapshot(outside)
    (proj / "runs" / "1").mkdir()
    (proj / "runs" / "1" / "config.json").symlink_to(outside / "config.json")
    code = main(["train", str(proj), "--base-model", str(tiny_model_dir), "--max-steps", "2",
                 "--cv", "0", "--device", "cpu"])
    assert code == 2
    _one_line_error(capsys, "already exists")
    assert snapshot(outside) == before


def _interrupted_run(proj: Path) -> int:
    with Project.open(proj) as p:
        run_id = p.runs.create(base_model="default", loss="cosent", config={"max_steps": 4})
        p.runs.update(run_id, status="interrupted", pid=None)
    return run_id


@pytest.mark.parametrize("how", ["run folder", "checkpoints", "model"])
def test_resume_refuses_links_out_of_the_run_folder(tmp_path, outside, capsys, how):
    proj = _labeled(tmp_path / "P")
    run_id = _interrupted_run(proj)
    folder = proj / "runs" / str(run_id)
    if how == "run folder":
        folder.rmdir()
        folder.symlink_to(outside, target_is_directory=True)
    else:
        if how == "model":
            (folder / "checkpoints" / "checkpoint-2").mkdir(parents=True)
        (folder / how).symlink_to(outside / how, target_is_directory=True)
    before = snapshot(outside)
    assert main(["resume", str(proj), str(run_id), "--device", "cpu"]) == 2
    _one_line_error(capsys, str(Path("runs") / str(run_id)))
    assert snapshot(outside) == before


def _run_with_stored_model_dir(proj: Path, model: Path, stored: str) -> int:
    with Project.open(proj) as p:
        run_id = add_finished_run(p, model)
    conn = sqlite3.connect(proj / "project.stsproj")
    conn.execute("UPDATE runs SET model_dir = ? WHERE id = ?", (stored, run_id))
    conn.commit()
    conn.close()
    return run_id


@pytest.mark.parametrize("stored", ["../elsewhere", "ABSOLUTE"])
def test_stored_model_folders_outside_are_refused(tmp_path, tiny_model, capsys, stored):
    proj = _labeled(tmp_path / "P")
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(tiny_model, elsewhere)
    before = snapshot(elsewhere)
    run_id = _run_with_stored_model_dir(proj, tiny_model,
                                        str(elsewhere) if stored == "ABSOLUTE" else stored)
    out = tmp_path / "exported"
    assert main(["export", str(proj), str(out), "--run", str(run_id)]) == 2
    _one_line_error(capsys, "elsewhere", "outside the project")
    assert not out.exists()
    assert main(["similarity", str(proj), "a man", "a dog", "--run", str(run_id), "--device", "cpu"]) == 2
    _one_line_error(capsys, "elsewhere")
    assert main(["predict", str(proj), "--model", f"run:{run_id}", "--device", "cpu"]) == 2
    _one_line_error(capsys, "elsewhere")
    assert snapshot(elsewhere) == before


def test_a_link_inside_a_model_folder_is_not_followed_by_export(tmp_path, tiny_model, outside, capsys):
    proj = _labeled(tmp_path / "P")
    with Project.open(proj) as p:
        run_id = add_finished_run(p, tiny_model)
    planted = proj / "runs" / str(run_id) / "model" / "notes.txt"
    planted.symlink_to(outside / "secret.txt")
    out = tmp_path / "exported"
    assert main(["export", str(proj), str(out)]) == 2
    _one_line_error(capsys, "notes.txt", "outside the project")
    assert not out.exists()


def test_delete_run_removes_the_link_never_its_target(tmp_path, outside, capsys):
    proj = _labeled(tmp_path / "P")
    run_id = _interrupted_run(proj)
    folder = proj / "runs" / str(run_id)
    folder.rmdir()
    folder.symlink_to(outside, target_is_directory=True)
    before = snapshot(outside)
    assert main(["delete-run", str(proj), str(run_id)]) == 0, capsys.readouterr().err
    assert not os.path.lexists(folder)
    assert snapshot(outside) == before


def test_cache_files_that_link_outside_are_refused(tmp_path, outside):
    with Project.create(tmp_path / "P") as p:
        (p.cache_dir / "emb-x.npy").symlink_to(outside / "secret.txt")
        with pytest.raises(ProjectPathError, match="emb-x.npy"):
            p.cache_file("emb-x.npy")
        (p.cache_dir / "inside.npy").symlink_to(p.db_path)
        assert p.cache_file("inside.npy") == p.cache_dir / "inside.npy"  # a link inside is fine


def test_a_new_run_folder_is_never_made_through_a_dangling_link(tmp_path, outside):
    with Project.create(tmp_path / "P") as p:
        (p.runs_dir / "1").symlink_to(outside / "not-yet", target_is_directory=True)
        with pytest.raises(ProjectPathError, match="symbolic link"):
            p.runs.create(base_model="default", loss="cosent", config={})
        assert p.runs.all() == []
    assert not (outside / "not-yet").exists()

"""Issue 14 in the GUI: a tampered, read-only or locked project explains itself in one line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from stsstudio.core.store import Project


def test_symlinked_lock_is_explained_and_its_target_kept(empty_window, tmp_path, warnings_shown):
    path = tmp_path / "shared"
    Project.create(path).close()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (path / ".lock").unlink(missing_ok=True)
    os.symlink(victim, path / ".lock")
    assert empty_window.open_project(str(path)) is False
    title, text = warnings_shown[0]
    assert "symbolic link" in text and "\n" not in text
    assert victim.read_text() == "precious\n"
    assert empty_window.ctx.project is None


def test_locked_project_names_the_holder(empty_window, tmp_path, warnings_shown):
    path = tmp_path / "busy"
    holder = Project.create(path)
    try:
        assert empty_window.open_project(str(path)) is False
        assert f"process {os.getpid()}" in warnings_shown[0][1]
    finally:
        holder.close()


def test_read_only_folder_is_explained(empty_window, tmp_path, warnings_shown):
    if sys.platform != "linux" or os.geteuid() != 0:
        pytest.skip("a read-only mount needs root on Linux (root ignores folder permissions)")
    mount = tmp_path / "ro"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        Project.create(mount / "P").close()
        (mount / "P" / ".lock").unlink(missing_ok=True)
        if subprocess.run(["mount", "-o", "remount,ro", str(mount)]).returncode:
            pytest.skip("cannot remount read-only")
        assert empty_window.open_project(str(mount / "P")) is False
        assert "read-only" in warnings_shown[0][1]
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)

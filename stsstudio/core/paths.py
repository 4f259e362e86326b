"""Per-user folders (data, demo project) without Qt, honouring STSSTUDIO_DATA_DIR for tests."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path


def user_data_dir() -> Path:
    """Where STS Studio keeps per-user data such as the demo project."""
    override = os.environ.get("STSSTUDIO_DATA_DIR")
    if override:
        base = Path(override)
    elif sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / "STS Studio"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support" / "STS Studio"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "stsstudio"
    base.mkdir(parents=True, exist_ok=True)
    return base


# -- temporary files of atomic writes ----------------------------------------------------

STALE_TEMP_SECONDS = 3600  # a temporary without a readable PID is stale after this long


def temp_prefix(target: Path) -> str:
    """The prefix of a temporary beside ``target``: hidden, and naming the writing process.

    The PID lets :func:`clean_stale_temps` tell a leftover of a killed export from one that
    another process is still writing.
    """
    return f".{target.name}.{os.getpid()}."


def clean_stale_temps(target: Path) -> list[Path]:
    """Delete the temporaries that killed writes left beside ``target``; return them.

    A temporary is stale when the process named in it is gone (or, for names without a PID,
    when it is older than STALE_TEMP_SECONDS). Failures to delete are ignored: this is tidying.
    """
    import shutil
    import time

    removed = []
    head = f".{target.name}."
    try:
        entries = list(target.parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if not (name.startswith(head) and name.endswith(".tmp")):
            continue
        pid_text = name[len(head):].split(".", 1)[0]
        try:
            if pid_text.isdigit():
                if process_alive(int(pid_text)):
                    continue
            elif time.time() - entry.lstat().st_mtime < STALE_TEMP_SECONDS:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink()
            removed.append(entry)
        except OSError:
            pass
    return removed


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists (one we may not signal counts as alive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def current_umask() -> int:
    """The process's umask, read without changing it where the system allows."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def apply_umask(path: Path, *, folder: bool = False) -> None:
    """Give a file made by ``mkstemp`` (0600) or ``mkdtemp`` (0700) the usual permissions.

    Exports are read by other people and tools; they should get what the umask allows, as any
    ordinary ``open()`` would give them.
    """
    mode = (0o777 if folder else 0o666) & ~current_umask()
    try:
        os.chmod(path, mode)
    except OSError:
        pass


def apply_umask_tree(folder: Path) -> None:
    """:func:`apply_umask` on a folder and everything in it (links left alone).

    Libraries write some files through a private temporary file (safetensors' weights come out
    0600 under umask 022): a shared model folder must be readable like its other files.
    """
    umask = current_umask()
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(root) / name
            if path.is_symlink():
                continue
            with contextlib.suppress(OSError):
                os.chmod(path, (0o777 if name in dirs else 0o666) & ~umask)
    with contextlib.suppress(OSError):
        os.chmod(folder, 0o777 & ~umask)

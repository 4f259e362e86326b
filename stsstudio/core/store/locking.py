"""The inter-process lock: one writer per project, and no symbolic links where it writes."""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from stsstudio.core.errors import (
    ProjectError,
    ProjectLocked,
    ProjectReadOnly,
)


class _WriterLock:
    """An advisory lock file held while a process has the project open for writing."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: Any = None

    def acquire(self) -> None:
        self._fh = _open_lock_file(self.path)
        try:
            if sys.platform == "win32":
                import msvcrt

                self._fh.seek(0)
                msvcrt.locking(self._fh.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = ""
            try:
                self._fh.seek(0)
                holder = self._fh.read().strip()
            except OSError:
                pass
            self._fh.close()
            self._fh = None
            who = f" (process {holder})" if holder else ""
            raise ProjectLocked(
                f"{self.path.parent} is open in another STS Studio window or command{who}.") from None
        try:
            self._fh.seek(0)
            self._fh.truncate()
            self._fh.write(str(os.getpid()))
            self._fh.flush()
        except OSError as exc:
            # A full disk (ENOSPC) or quota: the lock itself is held, only the PID note is lost.
            self._fh.close()
            self._fh = None
            raise ProjectError(f"{self.path.parent} cannot be opened for writing: "
                               f"{_os_reason(exc)}") from None

    def release(self) -> None:
        if self._fh is not None:
            try:
                self._fh.seek(0)
                self._fh.truncate()
            except OSError:
                pass
            self._fh.close()  # closing the descriptor drops the lock
            self._fh = None


def _os_reason(exc: OSError) -> str:
    """An OSError as a short phrase for a one-line message ("No space left on device")."""
    return " ".join(str(exc.strerror or exc).split())


def _open_lock_file(path: Path) -> Any:
    """Open the lock file for reading and writing without ever following a symbolic link.

    A project shared as an archive could carry ``.lock -> ~/somefile``; following it would
    truncate that file. O_NOFOLLOW refuses the link, O_NONBLOCK keeps a FIFO from blocking,
    and anything but a regular file is refused.
    """
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) \
        | getattr(os, "O_CLOEXEC", 0)
    if path.is_symlink():
        raise ProjectError(f"{path} is a symbolic link; a project's lock file must be a plain file. "
                           "Delete the link and open the project again.")
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ProjectError(f"{path} is a symbolic link; a project's lock file must be a plain "
                               "file. Delete the link and open the project again.") from None
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            raise ProjectReadOnly(f"{path.parent} is read-only ({_os_reason(exc)}).",
                                  hint="Open the project read-only, or copy it to a folder you can "
                                  "write to.") from None
        raise ProjectError(f"{path.parent} cannot be opened for writing: {_os_reason(exc)}") from None
    import stat

    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ProjectError(f"{path} is not a plain file; delete it and open the project again.")
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    return os.fdopen(fd, "r+")


def _refuse_links(folder: Path, names: Iterable[str]) -> None:
    """Refuse symbolic links where the project writes (database, WAL, runs, cache).

    Writing through a link planted in a shared project would change a file outside it.
    """
    for name in names:
        p = folder / name
        if p.is_symlink():
            raise ProjectError(f"{p} is a symbolic link; STS Studio does not follow links inside a "
                               "project. Replace it with the real file or folder.")


def _lock_is_held(path: Path) -> bool:
    """Whether some process holds the project's writer lock (without taking it)."""
    if sys.platform == "win32" or path.is_symlink() or not path.is_file():
        return sys.platform == "win32"
    import fcntl

    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing drops the shared lock at once
    return False

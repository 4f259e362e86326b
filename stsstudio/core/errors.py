"""User-facing errors. The CLI prints their message on one line and exits 2; the GUI shows it.

Anything that is *not* a UserError is a bug: the CLI lets its traceback through and the GUI
shows the crash dialog.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix: bad input, a missing file, too few labels, ..."""


class Cancelled(UserError):
    """The user stopped a long operation (import, encoding, search, export, training).

    Not a failure: the GUI's ``Worker`` turns it into its ``cancelled`` signal, never ``failed``.
    It subclasses :class:`UserError` so that code which only knows user errors (the CLI: one
    line, exit 2) still treats it as expected rather than as a bug.
    """

    def __init__(self, message: str = "Cancelled.") -> None:
        super().__init__(message)


class ProjectPathError(UserError):
    """A path a project stores or finds would lead outside the project folder.

    A project folder someone sent may carry planted symbolic links (``runs/2 -> ~/elsewhere``)
    or stored paths (``../../elsewhere``); following them would read or change files outside
    the project. The message names the path.
    """

    def __init__(self, path: object, reason: str) -> None:
        super().__init__(f"{path} {reason}; STS Studio reads and writes only inside a project's "
                         "own folder. Remove it, or open a clean copy of the project.")
        self.path = path


class ProjectFileTargetError(UserError):
    """An export target that is, or links to, a file of the open project (its database, WAL,
    lock, run or cache files): writing there would break the project."""

    def __init__(self, target: object, own: object, project: str) -> None:
        super().__init__(f"{target} is {own}, a file of the open project {project!r}; writing "
                         "there would break the project. Choose another name.")
        self.path = target

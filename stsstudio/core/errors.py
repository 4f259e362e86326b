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

"""User-facing errors. The CLI prints their message on one line and exits 2; the GUI shows it.

Anything that is *not* a UserError is a bug: the CLI lets its traceback through and the GUI
shows the crash dialog.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix: bad input, a missing file, too few labels, ..."""

"""User-facing errors, declared in one place (Orange's ``class Error(OWWidget.Error)``).

The CLI prints their message on one line and exits 2; the GUI shows it.

Each failure a user can act on is a class here with its ``hint``: the next step, in plain words
that name the app's own views. Core raises the class where it detects the condition; views and
the CLI show ``error.text`` and ``error.hint``. Nobody matches on an exception's text to guess
what went wrong (tests/test_architecture.py checks the GUI for it).

Anything that is *not* a UserError is a bug: the CLI lets its traceback through and the GUI
shows the crash dialog.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix: bad input, a missing file, too few labels, ...

    Args:
        text: what went wrong, one or two sentences.
        hint: the next step; None keeps the class's own ``hint``.

    ``str(error)`` is the text followed by the hint, so code that only shows a message (one
    line of the CLI, a status bar) still shows the way out.
    """

    hint: str = ""

    def __init__(self, text: str = "", *args: object, hint: str | None = None) -> None:
        super().__init__(text, *args)
        if hint is not None:
            self.hint = hint

    @property
    def text(self) -> str:
        """What went wrong, without the hint."""
        return str(self.args[0]) if self.args else ""

    def __str__(self) -> str:
        text, hint = self.text, self.hint
        if not hint or hint in text:
            return text
        return f"{text} {hint}" if text else hint


class Cancelled(UserError):
    """The user stopped a long operation (import, encoding, search, export, training).

    Not a failure: the GUI's ``Worker`` turns it into its ``cancelled`` signal, never ``failed``.
    It subclasses :class:`UserError` so that code which only knows user errors (the CLI: one
    line, exit 2) still treats it as expected rather than as a bug.
    """

    def __init__(self, message: str = "Cancelled.") -> None:
        super().__init__(message)


# --------------------------------------------------------------------------------------
# Projects


class ProjectError(UserError):
    """A user-facing error about a project (bad path, newer schema, locked, ...)."""


class ProjectLocked(ProjectError):
    """Another process holds the project open for writing."""

    hint = "Close it there first, or open this project read-only."


class ProjectReadOnly(ProjectError):
    """A write to a project that is open read-only, or that sits in a read-only folder."""

    hint = ("Close any other window or command that has it open, then open the project again "
            "for writing (or copy it to a folder you can write to).")


class ProjectPathError(UserError):
    """A path a project stores or finds would lead outside the project folder.

    A project folder someone sent may carry planted symbolic links (``runs/2 -> ~/elsewhere``)
    or stored paths (``../../elsewhere``); following them would read or change files outside
    the project. The message names the path.
    """

    hint = "Remove it, or open a clean copy of the project."

    def __init__(self, path: object, reason: str) -> None:
        super().__init__(f"{path} {reason}; STS Studio reads and writes only inside a project's "
                         "own folder.")
        self.path = path


class ProjectFileTargetError(UserError):
    """An export target that is, or links to, a file of the open project (its database, WAL,
    lock, run or cache files): writing there would break the project."""

    hint = "Choose another name."

    def __init__(self, target: object, own: object, project: str) -> None:
        super().__init__(f"{target} is {own}, a file of the open project {project!r}; writing "
                         "there would break the project.")
        self.path = target


# --------------------------------------------------------------------------------------
# Models


class ModelLoadError(UserError):
    """A base model could not be found or loaded (bad folder, not cached offline, ...)."""

    hint = "Choose the embedded default model, or another local model folder."


class ModelUnavailable(ModelLoadError):
    """The model named is not here: no such folder, or a Hub id that is not cached offline."""

    hint = "Choose the embedded default model, or a local model folder."


class UnsafeModel(ModelLoadError):
    """The model folder would run code on loading: custom code, or weights stored as pickles."""

    hint = ("Choose a model folder whose weights are .safetensors files and that has no custom code, "
            "or the embedded default model.")


# --------------------------------------------------------------------------------------
# Training


class TrainingError(UserError):
    """A run cannot start or continue: too few labeled pairs, bad settings, nothing to resume."""


class TooFewLabels(TrainingError):
    """Too few labeled pairs in the splits a run trains and evaluates on."""

    hint = "Label more pairs in the Label view, or change the pairs' split in the Pairs view."


class OutOfMemory(TrainingError):
    """The device ran out of memory during a run."""

    hint = "Lower the batch size or the max sequence length, or train on the CPU."


class LossNotANumber(TrainingError):
    """The training loss became NaN: the run diverged."""

    hint = "Lower the learning rate (e.g. 1e-5) or increase the warmup, then start again."

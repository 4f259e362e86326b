"""Undo commands: thin calls into core (orange-canvas-core's document/commands.py shape).

Each command changes the project through :class:`~stsstudio.core.store.Project`, which commits
at once, then tells the views through the context's signals. Undo is another committed write,
so the database is always the truth and there is never anything to save.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QUndoCommand

from stsstudio.core.changes import Changes
from stsstudio.gui.common.widgets import shown_score

if TYPE_CHECKING:
    from stsstudio.gui.common.context import ProjectContext

# Command ids for mergeWith (QUndoCommand.id() must be >= 0 to merge).
_SLIDER_MERGE_ID = 4101


def _notify(ctx: ProjectContext, pair_ids: Sequence[int]) -> None:
    """One changed pair refreshes one row; many changed pairs re-run the views' queries."""
    ctx.apply(Changes.of_pairs(pair_ids))


class SetLabelCommand(QUndoCommand):
    """Give a pair a score: ``project.set_label`` on redo, ``project.remove_label`` on undo.

    Confirmed labels (Enter) are pushed with ``mergeable=False`` and stay separate steps.
    Successive *mergeable* commands on the same pair (slider drags) fold into one step: undo
    then returns the pair to the score it had before the first of them.
    """

    def __init__(self, ctx: ProjectContext, pair_id: int, score: float, annotator: str = "",
                 *, mergeable: bool = False, previous_score: float | None = None,
                 adjudicate: bool = False, provenance: dict | None = None) -> None:
        super().__init__(f"{'Adjudicate' if adjudicate else 'Label'} pair {pair_id} "
                         f"{shown_score(ctx.project, score)}")
        self.adjudicate = adjudicate   # record the score as the pair's adjudicated value
        self.ctx = ctx
        self.pair_id = int(pair_id)
        self.score = round(float(score), 4)
        self.annotator = annotator
        self.mergeable = mergeable
        self.previous_score = previous_score   # for views that keep counts (labeled/unlabeled)
        self.label_ids: list[int] = []
        # The model's part in the label (issue 12): source, model_run, guess, surprise.
        self.provenance = dict(provenance or {})

    def redo(self) -> None:
        project = self.ctx.project
        if project is None:
            return
        if self.adjudicate:
            self.label_ids = [project.labels.adjudicate(self.pair_id, self.score, self.annotator)]
        else:
            self.label_ids = [project.labels.set(self.pair_id, self.score, self.annotator,
                                                **self.provenance)]
        self.ctx.apply(Changes.of_pairs([self.pair_id]))

    def undo(self) -> None:
        project = self.ctx.project
        if project is None:
            return
        for label_id in reversed(self.label_ids):
            project.labels.remove(label_id)
        self.label_ids = []
        self.ctx.apply(Changes.of_pairs([self.pair_id]))

    def id(self) -> int:
        return _SLIDER_MERGE_ID if self.mergeable else -1

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt override
        if not (isinstance(other, SetLabelCommand) and other.mergeable and self.mergeable
                and other.pair_id == self.pair_id and other.annotator == self.annotator):
            return False
        # `other` has already been redone (QUndoStack.push redoes before merging). Keep only its
        # label in the history: the intermediate drag positions were never meant as labels.
        project = self.ctx.project
        if project is not None:
            for label_id in self.label_ids:
                project.labels.remove(label_id)
        self.label_ids = list(other.label_ids)
        self.score = other.score
        self.setText(f"Label pair {self.pair_id} {shown_score(self.ctx.project, self.score)}")
        return True


class _PairsFieldCommand(QUndoCommand):
    """Set one column of many pairs; undo puts back each pair's own previous value."""

    field = ""

    def __init__(self, ctx: ProjectContext, pair_ids: Sequence[int], value: Any, text: str) -> None:
        super().__init__(text)
        self.ctx = ctx
        self.pair_ids = [int(i) for i in pair_ids]
        self.value = value
        project = ctx.project
        before = project.pairs.by_ids(self.pair_ids) if project is not None else {}
        self.previous: dict[int, Any] = {i: getattr(p, self.field) for i, p in before.items()}

    def _apply(self, pair_ids: Sequence[int], value: Any) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def redo(self) -> None:
        if self.ctx.project is None:
            return
        self._apply(self.pair_ids, self.value)
        _notify(self.ctx, self.pair_ids)

    def undo(self) -> None:
        if self.ctx.project is None:
            return
        groups: dict[Any, list[int]] = {}
        for pair_id, old in self.previous.items():
            groups.setdefault(old, []).append(pair_id)
        for old, ids in groups.items():
            self._apply(ids, old)
        _notify(self.ctx, self.pair_ids)


class FlagCommand(_PairsFieldCommand):
    field = "flagged"

    def __init__(self, ctx: ProjectContext, pair_ids: Sequence[int], flagged: bool) -> None:
        n = len(pair_ids)
        what = f"pair {pair_ids[0]}" if n == 1 else f"{n} pairs"
        super().__init__(ctx, pair_ids, bool(flagged), f"{'Flag' if flagged else 'Unflag'} {what}")

    def _apply(self, pair_ids: Sequence[int], value: Any) -> None:
        self.ctx.project.pairs.set_flag(pair_ids, bool(value))


class SplitCommand(_PairsFieldCommand):
    field = "split"

    def __init__(self, ctx: ProjectContext, pair_ids: Sequence[int], split: str) -> None:
        n = len(pair_ids)
        what = f"pair {pair_ids[0]}" if n == 1 else f"{n} pairs"
        super().__init__(ctx, pair_ids, split, f"Move {what} to {split}")

    def _apply(self, pair_ids: Sequence[int], value: Any) -> None:
        self.ctx.project.pairs.set_split(pair_ids, str(value))


class NoteCommand(_PairsFieldCommand):
    field = "note"

    def __init__(self, ctx: ProjectContext, pair_id: int, note: str) -> None:
        super().__init__(ctx, [pair_id], note, f"Edit note of pair {pair_id}")

    def _apply(self, pair_ids: Sequence[int], value: Any) -> None:
        for pair_id in pair_ids:
            self.ctx.project.pairs.set_note(pair_id, str(value))


class DeleteCommand(QUndoCommand):
    """Delete pairs with their label history; undo restores them exactly (same ids)."""

    def __init__(self, ctx: ProjectContext, pair_ids: Sequence[int]) -> None:
        n = len(pair_ids)
        super().__init__(f"Delete pair {pair_ids[0]}" if n == 1 else f"Delete {n} pairs")
        self.ctx = ctx
        self.pair_ids = [int(i) for i in pair_ids]
        self.snapshot: dict[str, Any] | None = None

    def redo(self) -> None:
        if self.ctx.project is None:
            return
        self.snapshot = self.ctx.project.pairs.delete(self.pair_ids)
        self.ctx.apply(Changes.new_pairs())

    def undo(self) -> None:
        if self.ctx.project is None or self.snapshot is None:
            return
        self.ctx.project.pairs.restore(self.snapshot)
        self.snapshot = None
        self.ctx.apply(Changes.new_pairs())

"""Change sets: what a write to the project changed (Anki's ``OpChanges``).

Every user action and every background job that writes to the project ends with a
:class:`Changes` saying which kinds of things changed. The GUI hands it to one helper,
:meth:`stsstudio.gui.common.context.ProjectContext.apply`, which turns it into the signals views
listen to; each view decides for itself whether to refresh. No view emits a project signal by
hand, so a write cannot forget to tell a view, and a new kind of change is one field here and
one line in that helper.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Changes:
    """What one write changed.

    Attributes:
        pairs: pairs were added, deleted or moved between splits (queries must re-run).
        pair_ids: pairs whose label, flag or note changed (a view can refresh just those rows).
        runs: a run was added, deleted or changed status.
        predictions: the run ids (0: the base model) whose prediction set was completed.
        annotators: labels of several annotators or the way they are combined changed.
    """

    pairs: bool = False
    pair_ids: tuple[int, ...] = ()
    runs: bool = False
    predictions: tuple[int, ...] = ()
    annotators: bool = False

    @classmethod
    def of_pairs(cls, pair_ids: Iterable[int]) -> Changes:
        """Labels, flags or notes of these pairs changed."""
        return cls(pair_ids=tuple(int(i) for i in pair_ids))

    @classmethod
    def new_pairs(cls) -> Changes:
        """Pairs were added, deleted or moved (an import, suggested pairs, a split change)."""
        return cls(pairs=True)

    @classmethod
    def of_runs(cls) -> Changes:
        return cls(runs=True)

    @classmethod
    def scored(cls, run_id: int) -> Changes:
        """Run ``run_id`` (0: the base model) finished scoring every pair."""
        return cls(predictions=(int(run_id),))

    @classmethod
    def merged(cls) -> Changes:
        """Labels from other annotators arrived, or their combination changed."""
        return cls(pairs=True, annotators=True)

    def __or__(self, other: Changes) -> Changes:
        return Changes(pairs=self.pairs or other.pairs,
                       pair_ids=tuple(dict.fromkeys(self.pair_ids + other.pair_ids)),
                       runs=self.runs or other.runs,
                       predictions=tuple(dict.fromkeys(self.predictions + other.predictions)),
                       annotators=self.annotators or other.annotators)

    def __bool__(self) -> bool:
        return bool(self.pairs or self.pair_ids or self.runs or self.predictions or self.annotators)

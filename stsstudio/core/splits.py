"""Move pairs between splits (``stsstudio split``, ``assign-dev``): one rule, with its reasons.

A move takes the pairs of one split (``from_split``), or a seeded share of them, to another.
Moving to dev or test takes labeled pairs only: an unlabeled pair measures nothing. When
nothing can move, :class:`NothingToMove` says why in plain words (where the labeled pairs are),
instead of reporting "moved 0".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from stsstudio.core.errors import UserError
from stsstudio.core.store import DEV_SEED, SPLITS, Project, choose_dev

# Splits that hold pairs out for measuring: only labeled pairs are worth moving there.
HELD_OUT_SPLITS = ("dev", "test")


class NothingToMove(UserError):
    """A move found no pair to move; the message says where the pairs are."""


@dataclass
class SplitMove:
    """What a move did. ``as_dict()`` is the CLI's ``--json``."""

    to: str
    from_split: str
    candidates: int = 0   # pairs that could move (labeled ones, for dev and test)
    moved: int = 0
    fraction: float = 1.0
    seed: int = DEV_SEED
    labeled_only: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def default_source(to: str) -> str:
    """Where a move takes pairs from when not told: held-out splits from train, else from none."""
    return "train" if to in HELD_OUT_SPLITS else "none"


def move_pairs(project: Project, to: str, *, from_split: str | None = None, fraction: float = 1.0,
               seed: int = DEV_SEED, labeled_only: bool | None = None) -> SplitMove:
    """Move the pairs of ``from_split`` (all, or a seeded ``fraction``) to the split ``to``.

    Args:
        to: train, dev, test or none.
        from_split: the split to take pairs from (default: :func:`default_source`).
        fraction: the share to move, 0 < fraction <= 1; the same seed picks the same pairs
            (:func:`stsstudio.core.store.choose_dev`, the import's holdout rule).
        labeled_only: move only labeled pairs (default: yes for dev and test).

    Raises:
        UserError: an unknown split, a fraction out of range, or the same split twice.
        NothingToMove: no pair could move (the message says where the labeled pairs are).
    """
    from_split = from_split or default_source(to)
    for split in (to, from_split):
        if split not in SPLITS:
            raise UserError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    if to == from_split:
        raise UserError(f"the pairs are already in {to}; name another split to move them from")
    if not 0 < fraction <= 1:
        raise UserError(f"the fraction must be more than 0 and at most 1, not {fraction:g}")
    if labeled_only is None:
        labeled_only = to in HELD_OUT_SPLITS
    ids = project.pairs.query_ids(filter="labeled" if labeled_only else "all", split=from_split)
    move = SplitMove(to=to, from_split=from_split, candidates=len(ids), fraction=fraction, seed=seed,
                     labeled_only=labeled_only)
    chosen = list(ids) if fraction >= 1 else choose_dev(ids, fraction, seed)
    if not chosen:
        raise NothingToMove(_why_nothing(project, move))
    project.pairs.set_split(chosen, to)
    move.moved = len(chosen)
    return move


def _why_nothing(project: Project, move: SplitMove) -> str:
    what = "labeled pairs" if move.labeled_only else "pairs"
    if move.candidates:
        return (f"{move.fraction:g} of the {move.candidates:,} {what} in {move.from_split} rounds to "
                "no pair; use a larger fraction")
    counts = project.counts.get()
    per_split = counts.labeled_splits if move.labeled_only else counts.splits
    where = ", ".join(f"{k} {v:,}" for k, v in per_split.items() if v)
    if not where:
        return f"the project has no {what} yet, so none could move to {move.to}"
    return f"there are no {what} in {move.from_split} to move to {move.to}; the {what} are in: {where}"

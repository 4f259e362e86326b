"""The labelling queue: which pair comes next.

Unlabeled pairs come first, in file order or in a seeded shuffle, then the labeled ones for
review. The labelling view shows the queue; the project answers its one query
(:meth:`~stsstudio.core.store.Project.label_queue_ids`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI reads QUEUE_ORDERS at start-up: no store import for that
    from stsstudio.core.store import Project

RANDOM_SEED = 42
QUEUE_CHUNK = 2000       # ids read at a time in file order
DIVERSITY_BATCH = 20     # one batch of "most informative" holds no near-copies
NEAR_COPY = 0.7          # word-set Jaccard of two pairs at or above which they are near-copies
DIVERSE_POOL = 2000      # the top candidates the diversity step reorders (the rest keep score order)
BANDS = 10               # score bands of "fill thin score bands"


@dataclass(frozen=True)
class QueueOrder:
    name: str
    label: str
    help: str
    adjudicates: bool = False   # a score given in this order settles the pair (adjudication)
    needs_predictions: bool = False  # ranked by the model's stored predictions (issue 12)
    reviews: bool = False       # goes through labeled pairs: a new score is recorded as a revision


# The queue orders: the view's combo box reads this table.
QUEUE_ORDERS: tuple[QueueOrder, ...] = (
    QueueOrder("file", "File order", "Unlabeled pairs first, in the order they were imported"),
    QueueOrder("random", "Random order",
               f"Unlabeled pairs first, shuffled (seed {RANDOM_SEED}): the same order every time"),
    QueueOrder("assigned", "My assignment",
               "The pairs assigned to you (your share and the shared overlap) that you have not "
               "labeled yet, then the ones you have"),
    QueueOrder("disagreements", "Resolve disagreements",
               "Pairs whose annotators differ by more than a quarter of the scale, largest spread "
               "first; the score you give is recorded as the adjudicated value", adjudicates=True),
    QueueOrder("informative", "Most informative first",
               "Unlabeled pairs where the trained model and the base model disagree most (their "
               "calibrated guesses), with near-copies spread over batches of "
               f"{DIVERSITY_BATCH}", needs_predictions=True),
    QueueOrder("thin_bands", "Fill thin score bands",
               "Unlabeled pairs whose predicted score falls in the band of the scale with the "
               "fewest labels so far, one band at a time", needs_predictions=True),
    QueueOrder("review", "Review disagreements",
               "Labeled pairs whose label differs most from the model's guess: possible label "
               "errors first; a changed score is recorded as a revision",
               needs_predictions=True, reviews=True),
)
MODEL_ORDERS = tuple(o.name for o in QUEUE_ORDERS if o.needs_predictions)


@dataclass(frozen=True)
class QueueChoice:
    """One pair a model order picked, and why (shown by ``stsstudio queue`` and the view)."""

    pair_id: int
    reason: str
    value: float | None = None   # the order's key: disagreement, band count, label-guess gap

    def as_dict(self) -> dict[str, object]:
        return {"pair_id": self.pair_id, "reason": self.reason, "value": self.value}


def queue_order(name: str) -> QueueOrder:
    """The :data:`QUEUE_ORDERS` entry called ``name``."""
    for order in QUEUE_ORDERS:
        if order.name == name:
            return order
    raise ValueError(f"unknown queue order {name!r}")


class LabelQueue:
    """Pair ids in labelling order, read from the project a page at a time.

    In file order the ids come in chunks (keyset pagination on the primary key), so opening
    the queue on a million pairs reads a few thousand ids, not all of them. A seeded shuffle
    needs each phase's whole list, once.

    Args:
        project: the open project.
        split: only the pairs of this split, or None for all.
        order: the name of one of :data:`QUEUE_ORDERS`.
        chunk: ids read at a time in file order.
        annotator: whose assignment the ``"assigned"`` order follows.
    """

    def __init__(self, project: Project | None, split: str | None = None, order: str = "file",
                 chunk: int = QUEUE_CHUNK, annotator: str = "") -> None:
        queue_order(order)
        self.project, self.split, self.order, self.chunk = project, split, order, chunk
        self.annotator = annotator
        self.reasons: dict[int, str] = {}   # why a model order chose each pair
        self.problem = ""                   # why a model order has no pairs (no predictions yet)
        self._ranked: set[int] = set()      # pairs a model order has handed out so far
        self.ids: list[int] = []
        self.queued: set[int] = set()
        self._phase = "unlabeled" if project is not None else "done"
        self._last_id = 0

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, pair_id: object) -> bool:
        return pair_id in self.queued

    def extend(self) -> bool:
        """Append the next ids; False once every pair of the split is queued."""
        project = self.project
        added = 0
        while self._phase != "done" and not added and project is not None:
            labeled = self._phase == "labeled"
            if self.order in MODEL_ORDERS:
                # Ranked once from the stored predictions; the reasons stay for the view.
                from stsstudio.core.predictions import NoPredictionsError

                # A page at a time: ranking needs every prediction, but the reasons and the
                # diversity step only the top; the next page re-ranks with the labels given since.
                want = len(self._ranked) + self.chunk
                try:
                    choices = [] if labeled else rank_pairs(project, self.order, split=self.split,
                                                            limit=want)
                except NoPredictionsError as exc:   # the view says why, and waits for a set
                    self.problem, self._phase = str(exc), "done"
                    return False
                fresh_choices = [c for c in choices if c.pair_id not in self._ranked]
                self._ranked.update(c.pair_id for c in fresh_choices)
                self.reasons.update((c.pair_id, c.reason) for c in fresh_choices)
                ids = [c.pair_id for c in fresh_choices]
                exhausted = len(choices) < want or not fresh_choices
                if labeled and self.order != "review":
                    ids = project.label_queue_ids(labeled=True, split=self.split)
                    exhausted = True
            elif self.order in ("assigned", "disagreements"):
                ids = self._annotator_ids(project, labeled)
                exhausted = True
            elif self.order == "random":
                ids = project.label_queue_ids(labeled=labeled, split=self.split)
                random.Random(RANDOM_SEED + int(labeled)).shuffle(ids)
                exhausted = True
            else:
                ids = project.label_queue_ids(labeled=labeled, split=self.split,
                                              after_id=self._last_id, limit=self.chunk)
                exhausted = len(ids) < self.chunk
                if ids:
                    self._last_id = ids[-1]
            fresh = [i for i in ids if i not in self.queued]
            self.ids.extend(fresh)
            self.queued.update(fresh)
            added += len(fresh)
            if exhausted:
                self._phase, self._last_id = ("labeled" if not labeled else "done"), 0
        return added > 0

    def _annotator_ids(self, project: Project, labeled: bool) -> list[int]:
        """The two orders of several annotators (issue 15), in id or spread order."""
        if self.order == "disagreements":
            from stsstudio.core.agreement import disagreements

            return [] if labeled else [d.pair_id for d in disagreements(project, split=self.split)]
        todo = project.assigned_pair_ids(self.annotator, unlabeled_by_annotator=True)
        ids = ([i for i in project.assigned_pair_ids(self.annotator) if i not in set(todo)]
               if labeled else todo)
        if self.split and ids:
            pairs = project.pairs_by_ids(ids)
            ids = [i for i in ids if i in pairs and pairs[i].split == self.split]
        return ids

    def insert(self, pos: int, pair_id: int) -> None:
        """Put a pair at ``pos`` (a pair opened from elsewhere)."""
        self.ids.insert(pos, pair_id)
        self.queued.add(pair_id)


# ----------------------------------------------------------------------------------------
# The model orders (issue 12): ranked from the stored predictions


def rank_pairs(project: Project, order: str, *, split: str | None = None,
               limit: int | None = None, run_id: int | None = None) -> list[QueueChoice]:
    """The pairs a model order picks, best first, each with the reason it was chosen.

    - ``informative``: unlabeled pairs by the gap between the current run's and the base
      model's calibrated guesses; in each batch of :data:`DIVERSITY_BATCH` a pair that is a
      near-copy of one already in the batch (a shared sentence, or word-set Jaccard
      >= :data:`NEAR_COPY`) waits for the next batch.
    - ``thin_bands``: unlabeled pairs, each next one from the band of :data:`BANDS` equal
      bands of the scale (by calibrated guess) that has the fewest labels plus picks so far;
      ties go to the lower band, and within a band pairs keep id order.
    - ``review``: labeled pairs by ``|label - calibrated guess|``, largest first.

    Pairs without a prediction (added after the last scoring) are left out. ``run_id`` picks
    the prediction set (default: :func:`~stsstudio.core.predictions.current_prediction_run`).

    Raises:
        NoPredictionsError: no prediction set exists yet (the message names
            ``stsstudio predict``), or "informative" lacks a trained run's or the base
            model's set.
    """
    from stsstudio.core.predictions import BASE_RUN, NoPredictionsError, guesses, require_predictions

    spec = queue_order(order)
    if not spec.needs_predictions:
        raise ValueError(f"{order!r} is not a model order")
    if run_id is None or run_id not in project.prediction_sets():
        run_id = require_predictions(project)
    rows = project.pair_targets(split=split, labeled=spec.reviews)
    ids = [r[0] for r in rows]
    guess = guesses(project, ids, run_id)
    scale = project.display_scale()
    from stsstudio.core.scales import format_display

    if order == "review":
        labels = {r[0]: r[1] for r in rows}
        gaps = sorted(((abs(labels[i] - g), i) for i, g in guess.items()), key=lambda t: (-t[0], t[1]))
        out = [QueueChoice(i, f"label {format_display(labels[i], scale)}, the model guesses "
                              f"{format_display(guess[i], scale)} ({_model_name(run_id)})", round(gap, 4))
               for gap, i in gaps[:limit]]
    elif order == "informative":
        sets = project.prediction_sets()
        if run_id == BASE_RUN or BASE_RUN not in sets:
            missing = "a trained run" if run_id == BASE_RUN else "the base model"
            raise NoPredictionsError(
                f"Most informative first compares a trained run with the base model, and "
                f"{project.name} has no predictions of {missing} yet; train a run and run "
                f"`stsstudio predict {project.path} --model "
                f"{'best' if run_id == BASE_RUN else 'base'}`.")
        base = guesses(project, list(guess), BASE_RUN)
        gaps = sorted(((abs(g - base[i]), i) for i, g in guess.items() if i in base),
                      key=lambda t: (-t[0], t[1]))
        ranked = _diverse(project, [i for _, i in gaps], limit)[:limit]
        gap_of = {i: gap for gap, i in gaps}
        out = [QueueChoice(i, f"{_model_name(run_id)} guesses {format_display(guess[i], scale)}, the "
                              f"base model {format_display(base[i], scale)}" + why, round(gap_of[i], 4))
               for i, why in ranked]
    else:
        out = _thin_bands(project, guess, scale, limit)
    return out if limit is None else out[:limit]


def _model_name(run_id: int) -> str:
    return "the base model" if run_id == 0 else f"run {run_id}"


def _words(text: str) -> frozenset[str]:
    return frozenset(text.lower().split())


def _diverse(project: Project, ranked: list[int], limit: int | None) -> list[tuple[int, str]]:
    """Reorder the top of ``ranked`` so that no batch holds near-copies (see :func:`rank_pairs`)."""
    # The diversity step looks at the top only (a whole-split ranking keeps score order below).
    pool = ranked[:min(max(DIVERSE_POOL, (limit or 0) * 5), 5 * QUEUE_CHUNK)]
    texts = project.pair_text_by_ids(pool)
    out: list[tuple[int, str]] = []
    moved: set[int] = set()
    waiting = list(pool)
    while waiting:
        batch: list[tuple[frozenset[str], set[str]]] = []
        later: list[int] = []
        for pid in waiting:
            if len(batch) >= DIVERSITY_BATCH:
                later.append(pid)
                continue
            s1, s2 = texts.get(pid, ("", ""))
            words, sents = _words(f"{s1} {s2}"), {s1.strip().lower(), s2.strip().lower()}
            if any(sents & other_s or _jaccard(words, other_w) >= NEAR_COPY for other_w, other_s in batch):
                later.append(pid)
                moved.add(pid)
                continue
            batch.append((words, sents))
            out.append((pid, "; moved to a later batch (near-copy of a pair above)" if pid in moved else ""))
        if not batch:  # only near-copies are left: they keep their order
            out.extend((pid, "") for pid in later)
            break
        waiting = later
    if limit is None or len(out) < limit:
        out.extend((pid, "") for pid in ranked[len(pool):])
    return out


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def _thin_bands(project: Project, guess: dict[int, float], scale: str | None,
                limit: int | None = None) -> list[QueueChoice]:
    import heapq

    import numpy as np

    from stsstudio.core.scales import format_display

    def bands(values: np.ndarray) -> np.ndarray:
        return np.clip((values * BANDS).astype(np.int64), 0, BANDS - 1)

    scores = np.array([r[1] for r in project.pair_targets(labeled=True)], dtype=float)
    counts = np.bincount(bands(scores), minlength=BANDS).tolist() if len(scores) else [0] * BANDS
    labels_in = list(counts)
    ids = np.fromiter(sorted(guess), dtype=np.int64, count=len(guess))
    of = bands(np.fromiter((guess[i] for i in ids.tolist()), dtype=float, count=len(ids)))
    members: list[list[int]] = [ids[of == b].tolist() for b in range(BANDS)]
    heap = [(counts[b], b) for b in range(BANDS) if members[b]]
    heapq.heapify(heap)
    taken = [0] * BANDS
    out: list[QueueChoice] = []
    while heap and (limit is None or len(out) < limit):
        count, b = heapq.heappop(heap)
        pid = members[b][taken[b]]
        taken[b] += 1
        lo, hi = format_display(b / BANDS, scale), format_display((b + 1) / BANDS, scale)
        out.append(QueueChoice(pid, f"guess {format_display(guess[pid], scale)} in the band {lo}–{hi}, "
                                    f"which had {labels_in[b]} labels", float(count)))
        if taken[b] < len(members[b]):
            heapq.heappush(heap, (count + 1, b))
    return out


def next_pairs(project: Project, order: str, *, limit: int = 20, split: str | None = None,
               annotator: str = "") -> list[QueueChoice]:
    """The next ``limit`` pairs of any queue order, with why (``stsstudio queue``)."""
    spec = queue_order(order)
    if spec.needs_predictions:
        return rank_pairs(project, order, split=split, limit=limit)
    queue = LabelQueue(project, split=split, order=order, annotator=annotator)
    while len(queue) < limit and queue.extend():
        pass
    labeled = {pid for pid, _, _ in project.pair_targets(split=split, labeled=True)}
    return [QueueChoice(pid, f"{spec.label.lower()}: "
                             f"{'labeled, for review' if pid in labeled else 'unlabeled'}")
            for pid in queue.ids[:limit]]

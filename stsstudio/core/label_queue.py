"""The labelling queue: which pair comes next.

Unlabeled pairs come first, in file order or in a seeded shuffle, then the labeled ones for
review. The labelling view shows the queue; the project answers its one query
(:meth:`~stsstudio.core.store.Project.pairs.queue_ids`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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
    compares_base: bool = False  # wants the base model's scores besides the best run's (informative)


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
               "Unlabeled pairs the model is least sure of: where a trained run and the base model "
               "disagree most (their calibrated guesses) or, before any run, where the base "
               "model's guess is nearest the middle of the scale; near-copies spread over batches "
               f"of {DIVERSITY_BATCH}", needs_predictions=True, compares_base=True),
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
                    ids = project.pairs.queue_ids(labeled=True, split=self.split)
                    exhausted = True
            elif self.order in ("assigned", "disagreements"):
                ids = self._annotator_ids(project, labeled)
                exhausted = True
            elif self.order == "random":
                ids = project.pairs.queue_ids(labeled=labeled, split=self.split)
                random.Random(RANDOM_SEED + int(labeled)).shuffle(ids)
                exhausted = True
            else:
                ids = project.pairs.queue_ids(labeled=labeled, split=self.split,
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
        todo = project.assignments.pair_ids(self.annotator, unlabeled_by_annotator=True)
        ids = ([i for i in project.assignments.pair_ids(self.annotator) if i not in set(todo)]
               if labeled else todo)
        if self.split and ids:
            pairs = project.pairs.by_ids(ids)
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

    Before any trained run (or while only one model has scored the pairs), ``informative``
    ranks by that one model: unlabeled pairs whose calibrated guess is nearest the middle of
    the scale, where it is least sure, with the same diversity step. :func:`order_plan` says
    in words which of the two it does.

    Pairs without a prediction (added after the last scoring) are left out. ``run_id`` picks
    the prediction set (default: :func:`~stsstudio.core.predictions.current_prediction_run`).

    Raises:
        NoPredictionsError: no model has scored the pairs yet (:func:`order_plan` lists the
            sets to compute; :func:`compute_missing_scores` computes them).
    """
    from stsstudio.core.predictions import guesses, require_predictions

    spec = queue_order(order)
    if not spec.needs_predictions:
        raise ValueError(f"{order!r} is not a model order")
    if run_id is None or run_id not in project.predictions.sets():
        run_id = require_predictions(project)
    rows = project.pairs.targets(split=split, labeled=spec.reviews)
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
        base_run = _compared_with(project, run_id)
        if base_run is None:   # one model only (no trained run yet): where it is least sure
            gaps = sorted(((abs(g - 0.5), i) for i, g in guess.items()), key=lambda t: (t[0], t[1]))
            ranked = _diverse(project, [i for _, i in gaps], limit)[:limit]
            out = [QueueChoice(i, f"{_model_name(run_id)} guesses {format_display(guess[i], scale)}, "
                                  "near the middle of the scale, where it is least sure" + why,
                               round(abs(guess[i] - 0.5), 4))
                   for i, why in ranked]
        else:
            base = guesses(project, list(guess), base_run)
            gaps = sorted(((abs(g - base[i]), i) for i, g in guess.items() if i in base),
                          key=lambda t: (-t[0], t[1]))
            ranked = _diverse(project, [i for _, i in gaps], limit)[:limit]
            gap_of = {i: gap for gap, i in gaps}
            out = [QueueChoice(i, f"{_model_name(run_id)} guesses {format_display(guess[i], scale)}, "
                                  f"the base model {format_display(base[i], scale)}" + why,
                               round(gap_of[i], 4))
                   for i, why in ranked]
    else:
        out = _thin_bands(project, guess, scale, limit)
    return out if limit is None else out[:limit]


def _model_name(run_id: int) -> str:
    return "the base model" if run_id == 0 else f"run {run_id}"


def _compared_with(project: Project, run_id: int) -> int | None:
    """The set "informative" compares run ``run_id``'s with: the base model's, when that is
    scored and ``run_id`` is a trained run; None: rank by ``run_id`` alone."""
    from stsstudio.core.predictions import BASE_RUN

    return BASE_RUN if run_id != BASE_RUN and BASE_RUN in project.predictions.sets() else None


# ----------------------------------------------------------------------------------------
# What an order needs and what it uses (the view's text and button, and `stsstudio queue`)


@dataclass(frozen=True)
class OrderPlan:
    """What a queue order needs before it can rank, and what it ranks by now.

    ``missing`` lists the score sets (run ids; 0: the base model) the order wants and the
    project lacks, or that miss pairs added since; ``ready`` is False only while no model has
    scored the pairs at all, when the order cannot rank. ``uses`` says in plain words what the
    order ranks by now ("" for the orders that need no model).
    """

    order: str
    uses: str = ""
    missing: tuple[int, ...] = ()
    ready: bool = True

    @property
    def missing_names(self) -> str:
        """The models whose scores are missing, in words: "run 3 and the base model"."""
        return " and ".join(_model_name(r) for r in self.missing)


def order_plan(project: Project, order: str) -> OrderPlan:
    """What ``order`` needs and uses now, read from :data:`QUEUE_ORDERS` and the stored sets.

    A model order wants the best run's scores (the base model's while no run is trained);
    "informative" wants the base model's as well, to compare the two. Cheap: index seeks only.
    """
    from stsstudio.core.predictions import BASE_RUN, current_prediction_run

    spec = queue_order(order)
    if not spec.needs_predictions:
        return OrderPlan(order)
    best = project.runs.best()
    wanted = [best.id] if best is not None else []
    if spec.compares_base or not wanted:
        wanted.append(BASE_RUN)
    sets = project.predictions.sets()
    newest = project.pairs.max_id()
    missing = tuple(r for r in wanted if r not in sets or project.predictions.highest_pair_id(r) < newest)
    run_id = current_prediction_run(project)
    if run_id is None:
        return OrderPlan(order, f"{spec.label} ranks the pairs by the model's guesses, and "
                                f"{_model_name(wanted[0])} has not scored them yet.", missing, False)
    return OrderPlan(order, _uses(project, spec, run_id, best is not None), missing)


def _uses(project: Project, spec: QueueOrder, run_id: int, trained: bool) -> str:
    """What a model order ranks by, in the words the view shows above the pair."""
    model = _model_name(run_id)
    if spec.name == "informative":
        if _compared_with(project, run_id) is not None:
            return f"Ranked by where {model} and the base model disagree most."
        before = "No trained run yet: ranked" if not trained else "Ranked"
        return (f"{before} by {model} alone, least sure first (its guess nearest the middle of "
                "the scale).")
    if spec.name == "thin_bands":
        return f"Ranked by {model}'s guesses: pairs from the score band with the fewest labels first."
    return f"Ranked by {model}'s guesses: labels furthest from the guess first."


def compute_missing_scores(project: Project, order: str, task: Any = None,
                           device: str = "auto") -> list[Any]:
    """Score the pairs with each model :func:`order_plan` lists as missing (the CLI's ``queue``
    before a model order; the GUI computes the same sets in its scheduler).

    Args:
        project: the open, writable project.
        task: progress handle passed to :func:`~stsstudio.core.predictions.predict_pairs`.

    Returns:
        One :class:`~stsstudio.core.predictions.PredictionResult` per set computed.
    """
    from stsstudio.core.predictions import predict_pairs

    return [predict_pairs(project, run_id, task=task, device=device)
            for run_id in order_plan(project, order).missing]


@dataclass(frozen=True)
class EmptyReason:
    """Why an order gives no pair to label while the project has some, and the order to use."""

    title: str
    message: str
    switch_to: str = "file"   # the order the view's button switches to
    button: str = ""


def why_empty(project: Project, order: str, *, split: str | None = None, annotator: str = "",
              unlabeled: int | None = None) -> EmptyReason | None:
    """Why ``order`` has run out of pairs, when that is not just the end of the queue.

    None means the order went through every pair it has: starting over shows them again. An
    answer names the cause in plain words (one annotator cannot disagree with themselves) and
    the order that has pairs to label. ``unlabeled``: the split's unlabeled pairs, if known.
    """
    if unlabeled is None:
        unlabeled = project.counts.get().unlabeled(split)
    button = f"Label the {unlabeled:,} unlabeled pairs" if unlabeled else "Review the labels in file order"
    if order == "disagreements":
        from stsstudio.core.agreement import disagreements

        by_pair: dict[int, int] = {}
        people: set[str] = set()
        for pid, _split, who, _score in project.labels.by_annotator(split=split):
            by_pair[pid] = by_pair.get(pid, 0) + 1
            people.add(who)
        if len(people) < 2:
            said = "Nobody has labelled" if not people else "Only one person has labelled"
            return EmptyReason("No disagreements to resolve",
                               f"{said} this project, so there are no disagreements to resolve.",
                               button=button)
        shared = sum(1 for n in by_pair.values() if n > 1)
        if disagreements(project, split=split):
            return None           # some are left (skipped): starting over shows them again
        if not shared:
            text = (f"{len(people)} people have labelled this project, but no pair has labels from "
                    "two of them yet, so there is nothing to compare.")
        elif disagreements(project, split=split, include_adjudicated=True):
            text = f"Every disagreement among the {shared:,} pairs labelled by two or more people " \
                   "is resolved."
        else:
            text = (f"The labels of the {shared:,} pairs labelled by two or more people differ by at "
                    "most a quarter of the scale: nothing to resolve.")
        return EmptyReason("No disagreements to resolve", text, button=button)
    if order == "review" and project.counts.get().labeled(split) == 0:
        return EmptyReason("Nothing to review yet", "No pair is labelled yet, so there is no label to "
                                                    "compare with the model's guess.", button=button)
    if order == "assigned" and not project.assignments.pair_ids(annotator):
        who = annotator or "you"
        return EmptyReason("No pairs assigned", f"No pairs are assigned to {who}. Share the pairs "
                                                "among annotators with Annotators ▸ Double-label a "
                                                "share of pairs…, or label in file order.", button=button)
    if order == "assigned" and unlabeled:
        return EmptyReason("Your assignment is done",
                           f"You have labelled every pair assigned to you; {unlabeled:,} pairs of the "
                           "project are still unlabeled.", button=button)
    return None


def _words(text: str) -> frozenset[str]:
    return frozenset(text.lower().split())


def _diverse(project: Project, ranked: list[int], limit: int | None) -> list[tuple[int, str]]:
    """Reorder the top of ``ranked`` so that no batch holds near-copies (see :func:`rank_pairs`)."""
    # The diversity step looks at the top only (a whole-split ranking keeps score order below).
    pool = ranked[:min(max(DIVERSE_POOL, (limit or 0) * 5), 5 * QUEUE_CHUNK)]
    texts = project.pairs.texts_by_ids(pool)
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

    scores = np.array([r[1] for r in project.pairs.targets(labeled=True)], dtype=float)
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
    labeled = {pid for pid, _, _ in project.pairs.targets(split=split, labeled=True)}
    return [QueueChoice(pid, f"{spec.label.lower()}: "
                             f"{'labeled, for review' if pid in labeled else 'unlabeled'}")
            for pid in queue.ids[:limit]]

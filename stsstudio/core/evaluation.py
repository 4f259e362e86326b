"""Spearman and Pearson of a model's cosine similarities against gold scores.

The figures are computed here with scipy from our own embeddings, not taken from the
library's evaluator: the same code scores the Try view's scatter plot, ``stsstudio evaluate``
and the model card, so they always agree with each other.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from stsstudio.core.errors import UserError

MIN_PAIRS = 2  # a correlation needs at least two points


@dataclass
class EvalResult:
    """The outcome of scoring labeled pairs with a model.

    Attributes:
        spearman: Spearman rank correlation of predicted against gold (nan if undefined).
        pearson: Pearson correlation of predicted against gold (nan if undefined).
        pairs: how many pairs were scored.
        gold: the gold scores, in the order of ``pair_ids``.
        predicted: the model's cosine similarities, same order.
        pair_ids: project pair ids (or 0-based row numbers when the pairs came from a file).
    """

    spearman: float
    pearson: float
    pairs: int
    gold: np.ndarray = field(repr=False)
    predicted: np.ndarray = field(repr=False)
    pair_ids: list[int] = field(default_factory=list, repr=False)
    source: str = ""  # which pairs: "the dev split", "run 3's held-out pairs", ...
    trained_on: int = 0       # pairs the evaluated run trained on (left out, or kept and flagged)
    leaked: bool = False      # True: the figures include pairs the model trained on
    leak_note: str = ""       # the warning, in words, whenever trained_on > 0

    @property
    def spearman_ci(self) -> tuple[float, float]:
        """Bootstrap 95 % interval of the Spearman correlation (seeded: stable across calls)."""
        from stsstudio.core.stats import spearman_ci

        return spearman_ci(self.predicted, self.gold)

    def as_dict(self) -> dict[str, Any]:
        """``{"spearman", "pearson", "pairs", "spearman_ci", ...}``; undefined figures are None."""
        ci = self.spearman_ci
        out = {"spearman": _finite_or_none(self.spearman), "pearson": _finite_or_none(self.pearson),
               "pairs": int(self.pairs),
               "spearman_ci": [_finite_or_none(ci[0]), _finite_or_none(ci[1])]}
        if self.trained_on:
            out.update(trained_on=int(self.trained_on), leaked=self.leaked, warning=self.leak_note)
        return out


def _finite_or_none(value: float) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def correlations(gold: Sequence[float] | np.ndarray,
                 predicted: Sequence[float] | np.ndarray) -> tuple[float, float]:
    """Spearman and Pearson correlation of ``predicted`` against ``gold`` (scipy.stats).

    Args:
        gold: gold similarity scores (any scale; correlations are scale-free).
        predicted: the model's scores for the same pairs.

    Returns:
        ``(spearman, pearson)``. When every predicted score is the same (a collapsed model)
        the correlations are undefined and returned as ``nan``.

    Raises:
        UserError: fewer than two pairs, lengths differ, or every gold score is the same
            (nothing to correlate with; label some pairs differently).
    """
    from scipy import stats

    g = np.asarray(gold, dtype=np.float64).ravel()
    p = np.asarray(predicted, dtype=np.float64).ravel()
    if g.shape != p.shape:
        raise UserError(f"{len(g)} gold scores but {len(p)} predictions; they must pair up.")
    _check_gold(g)
    if not np.all(np.isfinite(p)) or np.ptp(p) == 0:
        return math.nan, math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # near-constant input warnings: the value is still defined
        spearman = float(stats.spearmanr(g, p).statistic)
        pearson = float(stats.pearsonr(g, p).statistic)
    return spearman, pearson


def _check_gold(g: np.ndarray) -> None:
    if len(g) < MIN_PAIRS:
        raise UserError(f"A correlation needs at least {MIN_PAIRS} labeled pairs; there "
                        f"{'is' if len(g) == 1 else 'are'} {len(g)}.")
    if not np.all(np.isfinite(g)):
        raise UserError("Some gold scores are missing or not numbers.")
    if np.ptp(g) == 0:
        raise UserError(f"All {len(g)} gold scores are {g[0]:g}; correlations are undefined when "
                        "every pair has the same label.")


def cosine_scores(model: Any, sentences1: Sequence[str], sentences2: Sequence[str],
                  batch_size: int = 64, task: Any = None) -> np.ndarray:
    """Cosine similarity of each pair ``(sentences1[i], sentences2[i])``, as float32.

    Each distinct sentence is encoded once, so corpora where one sentence appears in many
    pairs (common in STS data) cost less.
    """
    from stsstudio.core.inference import encode

    if len(sentences1) != len(sentences2):
        raise UserError(f"{len(sentences1)} first sentences but {len(sentences2)} second sentences.")
    unique: dict[str, int] = {}
    for s in (*sentences1, *sentences2):
        unique.setdefault(s, len(unique))
    emb = encode(model, list(unique), batch_size=batch_size, task=task)
    if len(sentences1) == 0:
        return np.zeros(0, dtype=np.float32)
    a = emb[[unique[s] for s in sentences1]]
    b = emb[[unique[s] for s in sentences2]]
    # Embeddings are unit length, so the row-wise dot product is the cosine.
    return np.einsum("ij,ij->i", a, b).astype(np.float32)


def evaluate_pairs(model: Any, sentences1: Sequence[str], sentences2: Sequence[str],
                   gold: Sequence[float] | np.ndarray, batch_size: int = 64, *,
                   pair_ids: Sequence[int] | None = None, task: Any = None) -> EvalResult:
    """Score pairs with a model and correlate the cosine similarities with gold scores.

    Args:
        model: a loaded ``SentenceTransformer`` (or anything :func:`inference.encode` accepts).
        sentences1: first sentences.
        sentences2: second sentences, same length.
        gold: gold scores, same length.
        batch_size: encoding batch size.
        pair_ids: ids to carry into the result (default: 0-based positions).
        task: optional progress/cancel handle (``progress(done, total)``, ``is_cancelled()``).

    Raises:
        UserError: see :func:`correlations`.
    """
    gold_arr = np.asarray(gold, dtype=np.float64).ravel()
    if len(gold_arr) != len(sentences1):
        raise UserError(f"{len(sentences1)} pairs but {len(gold_arr)} gold scores.")
    _check_gold(gold_arr)  # before spending time on encoding
    predicted = cosine_scores(model, sentences1, sentences2, batch_size=batch_size, task=task)
    spearman, pearson = correlations(gold_arr, predicted)
    ids = list(pair_ids) if pair_ids is not None else list(range(len(gold_arr)))
    return EvalResult(spearman, pearson, len(gold_arr), gold_arr, predicted.astype(np.float64), ids)


def held_out_run(project: Any, model_ref: Any = None) -> int | None:
    """The run whose own held-out (dev) pairs stand in when the project has no dev split.

    ``run:<id>`` is that run, ``best`` the best run; otherwise (the base model, a folder) the
    latest run that recorded dev pairs. None when no run did.
    """
    if isinstance(model_ref, str) and model_ref.startswith("run:"):
        try:
            run_id = int(model_ref[4:])
        except ValueError:
            return None
        return run_id if project.runs.pair_ids(run_id, "dev") else None
    if model_ref == "best":
        best = project.runs.best()
        if best is not None and project.runs.pair_ids(best.id, "dev"):
            return best.id
    for run in reversed(project.runs.all()):
        if project.runs.pair_ids(run.id, "dev"):
            return run.id
    return None


def evaluation_pairs(project: Any, split: str = "dev", model_ref: Any = None) -> tuple[list, str]:
    """The labeled pairs to evaluate on, and where they come from, in words.

    The split's labeled pairs; when the dev split has fewer than two and a run held pairs out
    for itself (:meth:`Project.runs.pair_ids`), that run's held-out pairs (issue 11: Try and
    ``evaluate`` work on a project imported without a split).
    """
    pairs = project.pairs.labeled(split)
    if len(pairs) >= MIN_PAIRS or split != "dev":
        return pairs, f"the {split} split"
    run_id = held_out_run(project, model_ref)
    if run_id is None:
        return pairs, f"the {split} split"
    found = project.pairs.by_ids(sorted(project.runs.pair_ids(run_id, "dev")))
    held = [p for _, p in sorted(found.items()) if p.score is not None]
    return (held, f"run {run_id}'s held-out pairs") if len(held) >= MIN_PAIRS else \
        (pairs, f"the {split} split")


def run_of(project: Any, model_ref: Any) -> int | None:
    """The run a model reference names (``run:<id>``, ``best``), or None (base, folder, model)."""
    if isinstance(model_ref, str) and model_ref.startswith("run:"):
        try:
            return int(model_ref[4:])
        except ValueError:
            return None
    if model_ref == "best":
        best = project.runs.best()
        return best.id if best is not None else None
    return None


def split_trained(project: Any, pairs: list, run_id: int | None) -> tuple[list, list]:
    """``pairs`` split into those run ``run_id`` did not train on and those it did."""
    if run_id is None:
        return pairs, []
    trained = project.runs.pair_ids(run_id, "train")
    if not trained:
        return pairs, []
    return [p for p in pairs if p.id not in trained], [p for p in pairs if p.id in trained]


def leak_rule(pairs: list, clean: list, trained: list, run_id: int | None, include_trained: bool,
              what: str, remedy: str) -> tuple[list, str]:
    """The one leakage rule of every evaluation path (a split, a file, the Try view).

    Pairs the evaluated run trained on are left out, and the note says how many; with
    ``include_trained`` they are kept and the note warns that the figures overstate the model.

    Args:
        pairs: every pair to evaluate on; ``clean`` and ``trained`` split it.
        run_id: the run whose training pairs they are.
        what: the pairs, in words ("labeled dev pairs", "pairs in the file").
        remedy: what to do when too few are left (the error's last sentence).

    Returns:
        The pairs to evaluate on, and the note ("" when no pair was trained on).

    Raises:
        UserError: fewer than two pairs are left once the trained ones are out.
    """
    if not trained:
        return pairs, ""
    total = len(pairs)
    if include_trained:
        return pairs, (f"Leaked evaluation: {len(trained)} of these {total} pairs were used to train run "
                       f"{run_id}, so the figures overstate the model.")
    if len(clean) < MIN_PAIRS:
        raise UserError(f"Run {run_id} trained on {len(trained)} of the {total} {what}, so too few are "
                        f"left to evaluate it honestly. {remedy}")
    return clean, (f"{len(trained)} of the {total} pairs were used to train run {run_id} and are left out "
                   f"of this evaluation; it uses the other {len(clean)}.")


def _pair_key(sentence1: str, sentence2: str) -> tuple[str, str]:
    """A pair by its sentences, in either order, ignoring case and surrounding spaces."""
    a, b = " ".join(sentence1.split()).casefold(), " ".join(sentence2.split()).casefold()
    return (a, b) if a <= b else (b, a)


def evaluate_file_pairs(project: Any, model_ref: Any, sentences1: Sequence[str],
                        sentences2: Sequence[str], gold: Sequence[float], *, device: str = "auto",
                        include_trained: bool = False, batch_size: int = 64,
                        task: Any = None) -> EvalResult:
    """Evaluate a project's model on pairs from a file (``evaluate --data FILE``), with the same
    leakage rule as a split (:func:`leak_rule`): a file pair with the sentences of a pair the run
    trained on (either order, any case) is left out, or kept and flagged with ``include_trained``.
    """
    from stsstudio.core.inference import get_model

    rows = list(zip(sentences1, sentences2, gold))
    run_id = run_of(project, model_ref)
    trained_keys: set[tuple[str, str]] = set()
    if run_id is not None:
        found = project.pairs.by_ids(sorted(project.runs.pair_ids(run_id, "train")))
        trained_keys = {_pair_key(p.sentence1, p.sentence2) for p in found.values()}
    clean = [r for r in rows if _pair_key(r[0], r[1]) not in trained_keys]
    trained = [r for r in rows if _pair_key(r[0], r[1]) in trained_keys]
    rows, note = leak_rule(rows, clean, trained, run_id, include_trained, "pairs in the file",
                           "Evaluate on pairs the run did not train on.")
    model = get_model(model_ref, device=device, project=project)
    result = evaluate_pairs(model, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
                            batch_size=batch_size, task=task)
    result.trained_on, result.leaked, result.leak_note = len(trained), bool(trained and include_trained), note
    return result


def evaluate_project(project: Any, model_ref: Any, split: str = "dev", *, device: str = "auto",
                     batch_size: int = 64, task: Any = None,
                     fallback_run: int | None = None, include_trained: bool = False,
                     exclude_run: int | None = None) -> EvalResult:
    """Evaluate a model on the labeled pairs of one split of a project.

    Args:
        project: an open :class:`~stsstudio.core.store.Project`.
        model_ref: ``"base"``, ``"best"``, ``"run:<id>"``, a model folder / Hub id, or a loaded model.
        split: ``"train"``, ``"dev"`` or ``"test"``.
        device: where to run the model (``"auto"``, ``"cpu"``, ``"cuda"``, ...).
        batch_size: encoding batch size.
        task: optional progress/cancel handle.
        fallback_run: without a dev split, evaluate on this run's held-out pairs (default:
            the run ``model_ref`` names, see :func:`evaluation_pairs`).
        include_trained: keep pairs the evaluated run trained on (a leaked evaluation, flagged
            in ``leak_note``); by default they are left out and the note says how many.
        exclude_run: whose training pairs to leave out (default: the run ``model_ref`` names);
            the Try view scores the base model on the same pairs as the tuned one.

    Raises:
        UserError: the split has fewer than two labeled pairs (or one label only), or the
            model reference cannot be resolved.
    """
    from stsstudio.core.inference import get_model

    pairs, source = evaluation_pairs(project, split, model_ref if fallback_run is None else
                                     f"run:{fallback_run}")
    run_id = exclude_run if exclude_run is not None else run_of(project, model_ref)
    clean, trained = split_trained(project, pairs, run_id)
    pairs, note = leak_rule(pairs, clean, trained, run_id, include_trained, f"labeled {split} pairs",
                            f"Label more {split} pairs, or evaluate another run.")
    if len(pairs) < MIN_PAIRS:
        raise UserError(f"The {split} split has {len(pairs)} labeled pair{'s' if len(pairs) != 1 else ''}; "
                        f"evaluation needs at least {MIN_PAIRS}. Label more pairs or assign them to "
                        f"{split}.")
    gold = np.array([p.score for p in pairs], dtype=np.float64)
    if np.ptp(gold) == 0:
        raise UserError(f"Every labeled {split} pair has the score {gold[0]:g}; correlations need "
                        "different labels.")
    model = get_model(model_ref, device=device, project=project)
    result = evaluate_pairs(model, [p.sentence1 for p in pairs], [p.sentence2 for p in pairs], gold,
                            batch_size=batch_size, pair_ids=[p.id for p in pairs], task=task)
    result.source = source
    result.trained_on, result.leaked, result.leak_note = len(trained), bool(trained and include_trained), note
    return result


def predict_split(project: Any, model_ref: Any, split: str = "dev", *, device: str = "auto",
                  task: Any = None, fallback_run: int | None = None,
                  include_trained: bool = False, exclude_run: int | None = None) -> EvalResult:
    """Gold and predicted scores of a split (the Try view's scatter); see ``evaluate_project``."""
    return evaluate_project(project, model_ref, split, device=device, task=task,
                            fallback_run=fallback_run, include_trained=include_trained,
                            exclude_run=exclude_run)


# ----------------------------------------------------------------------------------------
# Worst pairs of a split (the Try view's "Largest disagreements"; ``evaluate --worst``)


@dataclass(frozen=True)
class WorstPair:
    """A labeled pair the model gets wrong: its label and the model's guess, both stored 0..1."""

    pair_id: int
    gold: float
    guess: float      # the model's calibrated guess when it has a calibration, else its cosine
    cosine: float
    sentence1: str
    sentence2: str

    @property
    def gap(self) -> float:
        """Guess minus label (stored 0..1 units)."""
        return self.guess - self.gold


def model_guesses(project: Any, model_ref: Any, cosines: np.ndarray) -> np.ndarray:
    """Cosines as guesses on the stored 0..1 scale: through the model's stored calibration
    (:class:`~stsstudio.core.calibration.Calibration`) when it has one, else clipped to 0..1."""
    from stsstudio.core.calibration import Calibration
    from stsstudio.core.predictions import prediction_target

    raw = np.asarray(cosines, dtype=float)
    try:
        run_id, _ = prediction_target(project, model_ref)
    except UserError:
        run_id = None
    cal = Calibration.load(project, run_id) if run_id is not None else None
    return np.asarray(cal.apply(raw), dtype=float) if cal is not None else np.clip(raw, 0.0, 1.0)


def worst_pairs(project: Any, model_ref: Any, split: str = "dev", *, limit: int | None = 50,
                result: EvalResult | None = None, device: str = "auto", task: Any = None,
                fallback_run: int | None = None, exclude_run: int | None = None) -> list[WorstPair]:
    """The labeled pairs of a split that a model gets most wrong, worst first.

    The pairs are those :func:`evaluate_project` scores: the split's labeled pairs (or a run's
    held-out pairs when there is no dev split), without the pairs the evaluated run trained on.
    Ranked by ``|guess - label|``, the guess through the model's calibration when it has one.

    Args:
        project: the open project.
        model_ref: ``"base"``, ``"best"``, ``"run:<id>"``; the model whose guesses are ranked.
        split: ``"dev"``, ``"test"`` or ``"train"``.
        limit: at most this many pairs (None: all).
        result: the :class:`EvalResult` of ``evaluate_project`` for this model and split, when the
            caller already has it (the Try view's scatter); otherwise the model is evaluated here.
        device, task, fallback_run, exclude_run: as for :func:`evaluate_project`.

    Raises:
        UserError: as :func:`evaluate_project`.
    """
    if result is None:
        result = evaluate_project(project, model_ref, split, device=device, task=task,
                                  fallback_run=fallback_run, exclude_run=exclude_run)
    cosines = np.asarray(result.predicted, dtype=float)
    gold = np.asarray(result.gold, dtype=float)
    guess = model_guesses(project, model_ref, cosines)
    order = sorted(range(len(gold)), key=lambda i: (-abs(guess[i] - gold[i]), result.pair_ids[i]))
    order = order if limit is None else order[:limit]
    pairs = project.pairs.by_ids([int(result.pair_ids[i]) for i in order])
    return [WorstPair(int(result.pair_ids[i]), float(gold[i]), float(guess[i]), float(cosines[i]),
                      pairs[result.pair_ids[i]].sentence1, pairs[result.pair_ids[i]].sentence2)
            for i in order if result.pair_ids[i] in pairs]

"""What a finished run means for the user, in plain words: the next step, the run's state while it
trains, and what an export is about to write.

One home for these rules: the Train view's banner, the Export view, the run history, and the
``train``/``export`` commands all call these functions. Which run counts as "best" is decided by
:meth:`~stsstudio.core.store.Project.runs.best` (only a run measurably better than the base model);
:func:`is_better` is that rule for one run.
"""

from __future__ import annotations

from typing import Any

# Below this many dev (or held-out) pairs a comparison with the base model is mostly noise.
MIN_USEFUL_DEV = 30


def is_better(run: Any) -> bool:
    """Whether a run is measurably better than the base model on its dev pairs (the paired
    bootstrap interval of the difference lies above zero). Only such a run is ever "best"."""
    summary = getattr(run, "summary", None) or {}
    return summary.get("outcome") == "better"


def next_step(outcome: str, comparison: dict[str, Any] | None = None,
              config: dict[str, Any] | None = None) -> str:
    """The next thing to do after a run, in plain words.

    Args:
        outcome: ``"better"``, ``"unclear"``, ``"worse"`` or ``""`` (never compared).
        comparison: the run's :class:`~stsstudio.core.stats.Comparison` as a dict, when there is one
            (its ``pairs`` and ``more_pairs_needed`` size the advice).
        config: the run's recorded config (``train_pairs``, ``dev_pairs``).
    """
    comparison = comparison or {}
    config = config or {}
    dev = int(comparison.get("pairs") or config.get("dev_pairs") or 0)
    train = int(config.get("train_pairs") or 0)
    if outcome == "better":
        return ("Next: use this run. Try it on your own sentences in the Try view, then export it. "
                "More labeled pairs can still make it better.")
    if outcome == "worse":
        more = max(train, 50)
        return ("Next: keep the base model; Try and Export use it by default. Check the largest "
                "disagreements in the Try view for labels to fix, then label about "
                f"{more:,} more pairs, or train again with a lower learning rate or fewer epochs.")
    if outcome == "unclear":
        need = comparison.get("more_pairs_needed")
        if need:
            how_many = f"about {int(need):,} more pairs for the dev split"
        else:   # no difference to settle: more labels overall, for training and dev
            how_many = f"about {max(dev, train, MIN_USEFUL_DEV):,} more pairs"
        return ("Next: keep the base model for now; this run is not measurably better. Label "
                f"{how_many}, then train again: with more pairs the comparison can tell the two "
                "models apart.")
    if dev < 2:
        return (f"Next: label at least {MIN_USEFUL_DEV} pairs in the dev split so the run can be "
                "compared with the base model; until then keep the base model.")
    return "Next: compare it with the base model in the Try view before you use it."


def run_advice(run: Any) -> str:
    """:func:`next_step` for a stored run (or a training result with ``outcome``/``comparison``),
    then what more labels would add (core/label_curve.py) once the run's estimate has it."""
    from stsstudio.core.label_curve import sentence

    summary = getattr(run, "summary", None) or {}
    outcome = summary.get("outcome", getattr(run, "outcome", "")) or ""
    comparison = summary.get("comparison") or getattr(run, "comparison", None)
    estimate = summary.get("estimate") or getattr(run, "estimate", None) or {}
    if not outcome and estimate.get("status") in ("pending", "cancelled", "failed"):
        return ("Next: try it on your own sentences in the Try view, or export it. How much better it is "
                "than the base model comes with its estimate.")
    text = next_step(outcome, comparison, getattr(run, "config", None))
    curve = summary.get("label_curve") or getattr(run, "label_curve", None)
    return f"{text} {sentence(curve)}" if curve else text


def run_state(run: Any) -> str:
    """A run's state in words: ``"running, step 12 of 114"``, ``"starting"``, ``"finished"``,
    ``"cancelled at step 40 of 114"``. A step count that is not known yet is never printed."""
    status = str(getattr(run, "status", "") or "")
    steps, total = getattr(run, "steps", None), getattr(run, "total_steps", None)
    if status == "running":
        if not steps:
            return "starting"
        return f"running, step {steps:,} of {total:,}" if total else f"running, step {steps:,}"
    if status in ("cancelled", "interrupted") and steps and total:
        return f"{status} at step {steps:,} of {total:,}"
    return status


def describe_export(run: Any, base_dev_spearman: float | None = None) -> tuple[str, bool]:
    """What an export of ``run`` writes, and whether to warn: ``(text, warn)``.

    ``warn`` is True when the run is not measurably better than the base model; the text then
    says so, in plain words (:func:`run_advice` says what to do instead).
    """
    if run is None:
        return "No run to export yet: train one in the Train view.", False
    rho = getattr(run, "best_dev_spearman", None)
    base = getattr(run, "base_dev_spearman", None) if base_dev_spearman is None else base_dev_spearman
    figures = f"dev Spearman {rho:.3f}" if rho is not None else "no dev figures"
    if rho is not None and base is not None:
        figures += f", the base model {base:.3f}"
    from stsstudio.core.losses import get_loss

    loss = get_loss(str(run.loss or "").split("+")[0])
    what = f"Exports run {run.id} (loss {loss.card_label if loss else run.loss}, {figures})."
    if is_better(run):
        return f"{what} It is measurably better than the base model.", False
    summary = getattr(run, "summary", None) or {}
    outcome = summary.get("outcome", "")
    why = {"worse": "it is worse than the base model on its dev pairs",
           "unclear": "it is not measurably better than the base model"}.get(
        outcome, "it was never compared with the base model")
    return f"{what} Careful: {why}; the base model may serve you as well.", True

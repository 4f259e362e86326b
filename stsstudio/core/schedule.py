"""The automatic training schedule: epochs, learning rate, warmup and loss from the label count.

An expert's project holds a few hundred labels, not the 5,700 of the STS benchmark. One epoch at
2e-5 (the benchmark recipe) gives 100 labels about 7 optimisation steps: the model barely moves,
and the "best checkpoint" is the starting point. The automatic schedule gives small projects a
minimum number of optimisation steps at a higher learning rate with a ranking loss, and converges
to the benchmark recipe as the label count grows.

The numbers in :data:`_TABLE` were chosen from learning curves measured on seeded random subsets
of STSb train and on single-genre splits (``bench/schedule_sweep.py`` for the candidates,
``bench/small_data.py`` end to end through the app's engine); the closing note of the issue that
introduced it gives the figures. Pure Python: the GUI imports this module to describe the plan.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

AUTO = "auto"

# (up to this many train pairs, minimum optimisation steps, learning rate, loss, most epochs)
# The step floor is what matters for small projects: below it, the model hardly leaves the base.
# Measured (bench/small_data.py, STSb dev and the STSb forum genre): up to 300 labels the floor of
# ~100 CoSENT steps at 5e-5 pays (+0.010 at 100 and 200 labels, where one epoch gave +0.001).
# Above that CoSENT overfit the forum genre (400 labels: -0.038 at 5e-5, -0.020 at 3e-5), while
# the cosine loss at 2e-5 did not; 1,600 labels gained +0.019 with 2 epochs of it.
_TABLE: tuple[tuple[int, int, float, str, float], ...] = (
    (300, 100, 5e-5, "cosent", 16.0),
    (1000, 100, 2e-5, "cosine", 3.0),
    (3000, 150, 2e-5, "cosine", 3.0),
)
_LARGE = (2e-5, "cosine", 1.0)      # the benchmark recipe, on a par with the reference at 5,700 labels
WARMUP_RATIO = 0.1
# Choose the best checkpoint by dev Spearman only when the dev set can tell checkpoints apart:
# below this many dev pairs the 95 % interval is wider than the differences between checkpoints,
# and "best" would chase noise. Smaller dev sets keep the model at the end of the schedule.
SELECT_BEST_MIN_DEV = 300
# Cross-validate (k folds) instead of holding out when there is no dev split and fewer labels.
# Three folds, each training one model on its training part, and small models, each on one fold
# alone, for the label curve (core/estimate.py, core/label_curve.py): they run after the model is
# handed over.
CV_MAX_LABELS = 500
CV_FOLDS = 3
# How many small models the label curve trains: one per fold below this many labels (every pair
# predicted, and the luck of one small model averaged over three), one from there. Measured
# (bench/small_data.py, seed 2, CPU): with one small model at 100 labels (33 labels of its own)
# the news split's curve said "-0.21 to -0.02" where 900 more labels gave +0.034. From 200 labels
# the small model has 67 or more; one keeps a 300-label estimate at 159 s on two cores
# (bench/time_to_model.py), where one per fold would take about 4 minutes.
CURVE_EVERY_FOLD_BELOW = 200


@dataclass(frozen=True)
class Schedule:
    """A run's resolved schedule, with the words that explain it."""

    train_pairs: int
    batch_size: int
    epochs: float
    steps: int
    learning_rate: float
    warmup_ratio: float
    loss: str
    select_best: bool
    automatic: tuple[str, ...]          # which fields the automatic rule chose
    blend: float = 1.0                  # weight of the tuned weights against the base model's (1: none)
    silver: int = 0                     # silver pairs asked for (core/augment.py); 0: none

    @property
    def steps_per_epoch(self) -> int:
        return max(1, math.ceil(self.train_pairs / self.batch_size))

    def describe(self) -> str:
        """E.g. "Automatic for 166 labeled pairs: 8 epochs (88 steps), CoSENT, lr 5e-5"."""
        from stsstudio.core.losses import get_loss

        loss = get_loss(self.loss)
        label = loss.label if loss else self.loss
        # A max-steps cap shorter than the epochs: say how far the run gets, not what was asked.
        shown = min(self.epochs, round(self.steps / self.steps_per_epoch, 1))
        epochs = f"{shown:g} epoch{'s' if shown != 1 else ''}"
        head = ("Automatic" if len(self.automatic) >= 3 else "Partly automatic" if self.automatic
                else "Your settings")
        text = (f"{head} for {self.train_pairs} labeled pairs: {epochs} ({self.steps} steps), {label}, "
                f"lr {self.learning_rate:g}")
        if self.silver:
            text += (f", plus up to {self.silver:,} silver pairs labeled by a cross-encoder trained on "
                     "your labels")
        if self.blend < 1:
            text += f", then blended {self.blend:.0%} with the base model"
        return text

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["automatic"] = list(self.automatic)
        d["description"] = self.describe()
        return d


# Additions for small projects, each shipped only where bench/small_data.py measured it better
# than the rule without it on every split at that size (mean paired difference over seeds) and no
# seed below the base model - 0.005: four splits (STSb all genres, news, an imbalanced pool, captions
# to news), 50/100/300/1,000 labels, 3 seeds (bench/results/2026-12-04/small_data-*.jsonl; seeds 0-1
# on a GPU, seed 2 on a CPU; differences paired within a seed).
# - Silver pairs (Augmented SBERT) lost at 50-300 labels on every split (-0.08 to -0.005: a
#   cross-encoder trained on a few hundred labels labels worse than the base model ranks) and won
#   at 1,000 on all four (+0.0015, +0.0015, +0.0086, +0.0017; no seed below base - 0.005). Shipped
#   from 1,000 labels; above 3,000 the schedule is the benchmark recipe and silver was not measured.
# - Blending with the base model (WiSE-FT, tuned weight 0.5 or 0.7) helped three splits at 50-300
#   labels by up to +0.003 but cost the news split -0.004 to -0.027 at every size: not shipped
#   (kept as a switch, --blend).
# (up to this many labels, weight of the tuned model in the blend with the base model)
BLEND_TABLE: tuple[tuple[int, float], ...] = ()
# (from this many labels, up to this many, silver pairs per label, most silver pairs)
SILVER_TABLE: tuple[tuple[int, int, int, int], ...] = ((1000, 3000, 4, 2000),)


def automatic_blend(train_pairs: int) -> float:
    """The automatic weight of the tuned model in the final blend with the base model (1: none)."""
    return next((w for limit, w in BLEND_TABLE if train_pairs <= limit), 1.0)


def automatic_silver(train_pairs: int) -> int:
    """How many silver pairs the automatic rule asks for (0: none)."""
    return next((min(per * train_pairs, most) for low, high, per, most in SILVER_TABLE
                 if low <= train_pairs <= high), 0)


def automatic(train_pairs: int, batch_size: int = 16) -> tuple[float, float, str]:
    """The automatic ``(epochs, learning_rate, loss)`` for ``train_pairs`` labeled train pairs."""
    n = max(1, int(train_pairs))
    steps_per_epoch = max(1, math.ceil(n / max(1, batch_size)))
    for limit, min_steps, lr, loss, max_epochs in _TABLE:
        if n <= limit:
            epochs = min(max_epochs, max(1.0, math.ceil(min_steps / steps_per_epoch)))
            return float(epochs), lr, loss
    lr, loss, epochs = _LARGE
    return epochs, lr, loss


def resolve(train_pairs: int, dev_pairs: int, *, batch_size: int = 16, epochs: float | None = None,
            learning_rate: float | None = None, loss: str | None = None, warmup_ratio: float | None = None,
            max_steps: int | None = None, select_best: bool | None = None, world_size: int = 1,
            blend: float | None = None, silver: int | None = None) -> Schedule:
    """The schedule a run will follow: the user's settings where given, the automatic rule elsewhere.

    Args:
        train_pairs: the pairs the final model trains on.
        dev_pairs: the pairs it is evaluated on (0 with cross-validation).
        epochs, learning_rate, loss, warmup_ratio: None (or ``"auto"``) for automatic.
        max_steps: a hard cap on optimisation steps: the run stops there, whatever the epochs say.
        select_best: keep the best checkpoint by dev Spearman; None: only with enough dev pairs.
        world_size: processes under torchrun (each takes its share of every epoch).
        blend: weight of the tuned model in a blend with the base model; None automatic, 1 none.
        silver: silver pairs to add; None automatic, 0 none.
    """
    auto_epochs, auto_lr, auto_loss = automatic(train_pairs, batch_size)
    chosen: list[str] = []
    if epochs in (None, AUTO):
        epochs, _ = auto_epochs, chosen.append("epochs")
    if learning_rate in (None, AUTO):
        learning_rate, _ = auto_lr, chosen.append("learning_rate")
    if loss in (None, AUTO):
        loss, _ = auto_loss, chosen.append("loss")
    if warmup_ratio in (None, AUTO):
        warmup_ratio = WARMUP_RATIO
    per_epoch = max(1, math.ceil(math.ceil(max(1, train_pairs) / max(1, world_size)) / max(1, batch_size)))
    steps = max(1, math.ceil(per_epoch * float(epochs)))  # type: ignore[arg-type]
    if max_steps:
        steps = min(steps, int(max_steps))
    if select_best is None:
        select_best = dev_pairs >= SELECT_BEST_MIN_DEV
    if blend in (None, AUTO):
        blend = 1.0 if select_best else automatic_blend(train_pairs)
    if silver in (None, AUTO):
        silver = automatic_silver(train_pairs)
    return Schedule(int(train_pairs), int(batch_size), float(epochs), int(steps),  # type: ignore[arg-type]
                    float(learning_rate), float(warmup_ratio), str(loss), bool(select_best), tuple(chosen),
                    float(blend), int(silver))  # type: ignore[arg-type]


def cv_folds(requested: int | None, labeled: int, has_dev_split: bool) -> int:
    """How many cross-validation folds a run uses: 0 for none.

    ``requested`` None is automatic: k-fold when the project has no dev split and fewer than
    :data:`CV_MAX_LABELS` labels, where a 10 % holdout would be a handful of pairs.
    """
    if requested is not None:
        return int(requested) if requested >= 2 else 0
    return CV_FOLDS if not has_dev_split and labeled < CV_MAX_LABELS else 0


def curve_models(labels: int, folds: int) -> int:
    """How many small models the label curve trains for ``labels`` labels in ``folds`` folds."""
    return folds if labels < CURVE_EVERY_FOLD_BELOW else 1


def kfold(n: int, k: int, seed: int) -> list[list[int]]:
    """Seeded k-fold split of ``range(n)``: each index is in exactly one validation fold."""
    import random

    order = list(range(n))
    random.Random(seed).shuffle(order)
    return [sorted(order[i::k]) for i in range(k)]

"""Fine-tuning: ``train(project, config, reporter) -> RunResult``.

Plain Python with a reporter (Orange3's TaskState pattern): the CLI's reporter prints a progress
bar, the GUI's emits Qt signals from a worker thread, tests record the events. The loop itself is
sentence-transformers' Trainer; a TrainerCallback forwards its events to the reporter.

A run lives in ``runs/<id>/`` of the project::

    runs/<id>/config.json        the TrainConfig as run (seed, resolved base model, data counts)
    runs/<id>/checkpoints/       Trainer checkpoints (the best by dev Spearman and the latest)
    runs/<id>/model/             the final model: the best checkpoint's weights

and in the database (``runs`` row plus ``run_metrics`` series "loss", "learning_rate",
"dev_spearman", "dev_pearson"). Under ``torchrun`` every rank trains, only rank 0 writes.

torch and sentence-transformers are imported inside the functions: the GUI imports this module
on its start-up path.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import re
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from stsstudio.core.errors import (
    LossNotANumber,
    OutOfMemory,
    ProjectReadOnly,
    TooFewLabels,
    TrainingError,
    UserError,
)
from stsstudio.core.losses import LOSS_NAMES as LOSSES
from stsstudio.core.losses import build_loss
from stsstudio.core.schedule import AUTO, Schedule, cv_folds
from stsstudio.core.schedule import resolve as resolve_schedule

# DEFAULT_LOSS (core/losses.py) was chosen by measurement on STSb dev (MiniLM-L6, 1 epoch, batch 16).
DEFAULT_LEARNING_RATE = 2e-5
MIN_TRAIN_PAIRS = 10
MIN_DEV_PAIRS = 5
HOLDOUT_FRACTION = 0.1
METRIC_NAMES = ("loss", "learning_rate", "dev_spearman", "dev_pearson", "dev_spearman_low",
                "dev_spearman_high")
_BEST_METRIC = "eval_dev_spearman_cosine"
_CI_LOW = "eval_dev_spearman_ci_low"
_CI_HIGH = "eval_dev_spearman_ci_high"
_PEARSON_METRIC = "eval_dev_pearson_cosine"


class Reporter(Protocol):
    """Receives the events of one training run, in this order::

        started(total_steps, device)
        step(step, loss, learning_rate, epoch)        many times
        evaluated(step, spearman, pearson)            before training (step 0), every N steps, at the end
        interval(step, low, high)                     optional: right after evaluated, its 95 % interval
        checkpoint(path)                              whenever a checkpoint is written
        finished(result) | failed(message) | cancelled()   exactly one, last

    ``is_cancelled()`` is polled after every optimisation step; return True to stop.
    Methods may be called from a worker thread. They must be cheap.
    """

    def started(self, total_steps: int, device: str) -> None: ...
    def step(self, step: int, loss: float, learning_rate: float, epoch: float) -> None: ...
    def evaluated(self, step: int, spearman: float, pearson: float) -> None: ...
    def checkpoint(self, path: str) -> None: ...
    def status(self, message: str) -> None: ...
    def finished(self, result: RunResult) -> None: ...
    def failed(self, message: str) -> None: ...
    def cancelled(self) -> None: ...
    def is_cancelled(self) -> bool: ...


class NullReporter:
    """A reporter that ignores everything (never cancels)."""

    def started(self, total_steps: int, device: str) -> None: pass
    def step(self, step: int, loss: float, learning_rate: float, epoch: float) -> None: pass
    def evaluated(self, step: int, spearman: float, pearson: float) -> None: pass
    def checkpoint(self, path: str) -> None: pass
    def status(self, message: str) -> None: pass
    def finished(self, result: RunResult) -> None: pass
    def failed(self, message: str) -> None: pass
    def cancelled(self) -> None: pass
    def is_cancelled(self) -> bool: return False


@dataclass
class TrainConfig:
    """Hyperparameters of one run. ``None`` fields take the project's or the engine's default."""

    base_model: str | None = None      # "default" = embedded all-MiniLM-L6-v2; a folder; a Hub id
    loss: str | None = None            # a name in core/losses.py; None: automatic (core/schedule.py)
    matryoshka: bool = False
    epochs: float | None = None        # None: automatic, from the label count
    batch_size: int = 16
    learning_rate: float | None = None  # None: automatic
    warmup_ratio: float | None = None  # None: 0.1
    max_seq_length: int | None = None  # None: the model's own
    seed: int = 12
    eval_steps: int | None = None      # None: about 10 evaluations per run
    max_steps: int | None = None       # a cap on optimisation steps
    device: str = "auto"
    group_by_length: bool = True
    cv_folds: int | None = None        # None: k-fold when there is no dev split and < 300 labels; 0: off
    select_best: bool | None = None    # None: keep the best checkpoint only with >= 300 dev pairs
    estimate: bool = True              # after the model: the k-fold estimate and the label curve
    blend: float | None = None         # weight of the tuned model against the base (1: none); None auto
    silver: int | None = None          # silver pairs to add (0: none); None: automatic (core/schedule.py)
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RunResult:
    run_id: int
    status: str                        # "finished" | "cancelled" | "failed"
    device: str
    steps: int
    seconds: float
    base_dev_spearman: float | None
    dev_spearman: float | None         # best dev Spearman (the kept checkpoint's)
    dev_pearson: float | None
    model_dir: str | None              # the final (best) model folder
    message: str = ""

    # Filled in by the engine (additive to the contract): where the time went, for the bench.
    eval_seconds: float = 0.0
    pairs: int = 0                      # training pairs consumed (steps x batch size x processes)
    dev_spearman_ci: tuple[float, float] | None = None  # bootstrap 95 % interval of dev_spearman
    verdict: str = ""                   # tuned against base in plain words (paired bootstrap)
    outcome: str = ""                   # "better" | "unclear" | "worse" | "" (not compared)
    comparison: dict[str, Any] | None = None  # the figures behind the verdict (stats.Comparison)
    schedule: dict[str, Any] | None = None    # the resolved schedule (core/schedule.py)
    cv: dict[str, Any] | None = None          # cross-validation figures, when it was used
    human_ceiling: dict[str, Any] | None = None  # annotators' agreement on dev (core/agreement.py)
    estimate: dict[str, Any] | None = None    # {"status": "pending" | "done" | ...} (core/estimate.py)
    label_curve: dict[str, Any] | None = None  # the gain from more labels (core/label_curve.py)
    # A failed run's typed error (OutOfMemory, LossNotANumber, ...): its text and hint for the views.
    error: UserError | None = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(replace(self, error=None))
        d.pop("error", None)
        if self.dev_spearman_ci is not None:
            d["dev_spearman_ci"] = list(self.dev_spearman_ci)
        return d


def _rank() -> int:
    return int(os.environ.get("RANK", "0") or 0)


def _world_size() -> int:
    return max(1, int(os.environ.get("WORLD_SIZE", "1") or 1))


# --------------------------------------------------------------------------------------
# Data


@dataclass
class _Split:
    sentence1: list[str]
    sentence2: list[str]
    scores: list[float]
    ids: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.scores)

    def subset(self, idx: list[int]) -> _Split:
        return _Split([self.sentence1[i] for i in idx], [self.sentence2[i] for i in idx],
                      [self.scores[i] for i in idx], [self.ids[i] for i in idx] if self.ids else [])


@dataclass
class _Data:
    train: _Split
    dev: _Split
    held_out: bool
    cv_folds: int = 0                  # > 0: no dev set; k-fold estimate, then the final model on all


def _split(pairs: list[Any]) -> _Split:
    return _Split([p.sentence1 for p in pairs], [p.sentence2 for p in pairs], [float(p.score) for p in pairs],
                  [int(p.id) for p in pairs])


@dataclass(frozen=True)
class DataPlan:
    """What a run will use: the pairs it trains and evaluates on, and why it cannot start."""

    labeled_train: int                 # labeled pairs in each split of the project
    labeled_dev: int
    labeled_test: int                  # never used by training; reported so the user knows
    train: int                         # pairs the run trains on
    dev: int                           # pairs it evaluates on
    held_out: bool                     # True: ``dev`` is a seeded holdout of the train pairs
    holdout_fraction: float = HOLDOUT_FRACTION
    problems: tuple[str, ...] = ()     # why the run cannot start, in plain words (empty: it can)
    hint: str = ""                     # the next step when it cannot start (the views to use)
    notes: tuple[str, ...] = ()        # advice that does not block the run
    cv_folds: int = 0                  # > 0: k-fold cross-validation estimates, the model trains on all
    schedule: Schedule | None = None   # the resolved schedule, when a config was given

    @property
    def can_start(self) -> bool:
        return not self.problems


def plan_data(labeled_train: int, labeled_dev: int, labeled_test: int = 0, *,
              cv: int | None = None) -> DataPlan:
    """The training data rule on counts: with no labeled dev pairs, hold out ``HOLDOUT_FRACTION``
    of the labeled train pairs (at least ``MIN_DEV_PAIRS``) for evaluation, or, for small
    projects (see :func:`stsstudio.core.schedule.cv_folds`), estimate by k-fold cross-validation
    and train the final model on every label. ``cv``: requested folds, None automatic, 0 off."""
    train, dev = labeled_train, labeled_dev
    folds = cv_folds(cv, labeled_train, labeled_dev > 0)
    if folds and labeled_train >= MIN_TRAIN_PAIRS + folds:
        notes = [f"No dev split and {labeled_train} labels: {folds}-fold cross-validation measures the "
                 "model, then the final model trains on every label."]
        if labeled_dev:
            notes.append(f"The {labeled_dev} labeled dev pairs are not used: cross-validation was asked for.")
        if labeled_train < 100:
            notes.append("Fewer than 100 train pairs: expect a small, noisy improvement.")
        return DataPlan(labeled_train, labeled_dev, labeled_test, labeled_train, 0, False,
                        notes=tuple(notes), cv_folds=folds)
    held_out = dev == 0
    problems: list[str] = []
    hints: list[str] = []
    notes = []
    if held_out:
        k = max(MIN_DEV_PAIRS, round(labeled_train * HOLDOUT_FRACTION))
        dev = min(k, labeled_train)
        train = labeled_train - dev
        if labeled_train < MIN_TRAIN_PAIRS + k:
            problems.append(
                f"Too few labeled train pairs ({labeled_train}): with no labeled dev pairs, training needs "
                f"at least {MIN_TRAIN_PAIRS + k} ({MIN_TRAIN_PAIRS} to train on, {k} held out to evaluate).")
            hints.append("Label more pairs in the Label view, or put some in the dev split in the Pairs "
                         "view.")
    elif train < MIN_TRAIN_PAIRS:
        problems.append(
            f"Too few labeled train pairs ({train}): training needs at least {MIN_TRAIN_PAIRS} labeled "
            "train pairs.")
        hints.append("Label more pairs in the Label view, or move some to the train split in the Pairs view.")
    if not problems and labeled_train < 100:
        notes.append("Fewer than 100 train pairs: expect a small, noisy improvement.")
    if held_out and labeled_train:
        notes.append(f"No dev split: a seeded {HOLDOUT_FRACTION:.0%} of the train pairs is held out for "
                     "evaluation. Assign a dev split in Pairs for a stable comparison between runs.")
    elif not held_out and dev < MIN_DEV_PAIRS:
        problems.append(f"Too few labeled dev pairs ({dev}): evaluation needs at least {MIN_DEV_PAIRS}.")
        hints.append(f"Label more dev pairs in the Label view, or move all dev pairs to train in the Pairs "
                     f"view to let training hold out {HOLDOUT_FRACTION:.0%}.")
    elif not held_out and dev < 30:
        notes.append(f"Only {dev} dev pairs: the dev Spearman will be noisy.")
    return DataPlan(labeled_train, labeled_dev, labeled_test, train, dev, held_out,
                    problems=tuple(problems), hint=" ".join(hints), notes=tuple(notes))


def data_plan(project: Any, config: TrainConfig | None = None) -> DataPlan:
    """What a run with ``config`` on ``project`` will use (counts only: cheap, no pairs loaded).

    The Train view shows it and :func:`train` applies the same rule (:func:`plan_data`).
    ``config`` is accepted for rules that depend on the settings; the counts do not today.
    """
    labeled = project.counts.get().labeled_splits
    config = config or TrainConfig()
    plan = plan_data(labeled.get("train", 0), labeled.get("dev", 0), labeled.get("test", 0),
                     cv=config.cv_folds)
    if labeled.get("none", 0) and not plan.can_start:  # labels that sit in no split (issue 20)
        plan = replace(plan, problems=(*plan.problems, f"{labeled['none']:,} labeled pairs are in no "
                                       "split (none), and training reads the train split: move them "
                                       "to train in Pairs (select them, then the Set split button, Train)."))
    return replace(plan, schedule=_schedule(config, plan.train, plan.dev))


def _schedule(config: TrainConfig, train_pairs: int, dev_pairs: int) -> Schedule:
    return resolve_schedule(train_pairs, dev_pairs, batch_size=int(config.batch_size), epochs=config.epochs,
                            learning_rate=config.learning_rate, loss=config.loss,
                            warmup_ratio=config.warmup_ratio, max_steps=config.max_steps,
                            select_best=config.select_best, world_size=_world_size(),
                            blend=config.blend, silver=config.silver)


def _collect_data(project: Any, seed: int, cv: int | None = None) -> _Data:
    """The labeled train and dev pairs as :func:`plan_data` rules; raises its problems."""
    train = project.pairs.labeled("train")
    dev = project.pairs.labeled("dev")
    plan = plan_data(len(train), len(dev), cv=cv)
    if not plan.can_start:
        raise TooFewLabels(" ".join(plan.problems), hint=plan.hint or None)
    if plan.cv_folds:
        return _Data(_split(train), _split([]), False, plan.cv_folds)
    if plan.held_out:
        order = list(range(len(train)))
        random.Random(seed).shuffle(order)
        dev_idx = set(order[:plan.dev])
        dev = [p for i, p in enumerate(train) if i in dev_idx]
        train = [p for i, p in enumerate(train) if i not in dev_idx]
    return _Data(_split(train), _split(dev), plan.held_out)


def _validate(config: TrainConfig) -> None:
    problems = []
    for name in ("loss", "epochs", "learning_rate", "warmup_ratio"):
        if getattr(config, name) == AUTO:
            setattr(config, name, None)
    if config.loss is not None and config.loss not in LOSSES:
        problems.append(f"unknown loss {config.loss!r} (use {', '.join(LOSSES)} or auto)")
    if config.batch_size < 1:
        problems.append("the batch size must be at least 1")
    if config.learning_rate is not None and (not config.learning_rate > 0
                                             or not math.isfinite(config.learning_rate)):
        problems.append("the learning rate must be a positive number")
    if config.epochs is not None and not config.epochs > 0:
        problems.append("the number of epochs must be positive")
    if config.warmup_ratio is not None and not 0 <= config.warmup_ratio < 1:
        problems.append("the warmup ratio must be between 0 and 1")
    if config.cv_folds is not None and (config.cv_folds < 0 or config.cv_folds == 1):
        problems.append("cross-validation needs at least 2 folds (0 turns it off)")
    if config.blend is not None and config.blend != AUTO and not 0 < float(config.blend) <= 1:
        problems.append("the blend weight must be above 0 and at most 1 (1: no blend)")
    if config.silver is not None and config.silver != AUTO and int(config.silver) < 0:
        problems.append("the number of silver pairs must be 0 or more")
    if config.max_steps is not None and config.max_steps < 1:
        problems.append("max steps must be at least 1")
    if config.eval_steps is not None and config.eval_steps < 1:
        problems.append("evaluation steps must be at least 1")
    if not isinstance(config.seed, int) or not 0 <= config.seed < 2**32:
        problems.append(f"the seed must be a whole number from 0 to {2**32 - 1}")
    if config.max_seq_length is not None and config.max_seq_length < 4:
        problems.append("the max sequence length must be at least 4")
    if problems:
        raise TrainingError("Invalid training settings: " + "; ".join(problems) + ".")


# --------------------------------------------------------------------------------------
# Pieces handed to the Trainer


class _LengthGrouping:
    """The Trainer's ``batch_sampler``: batches of pairs of similar length (padding is what is slow).

    Each epoch: a seeded permutation, cut into mega-batches of ``mega`` batches, each sorted by
    length and cut into batches; then the batch order is shuffled. Every mega-batch but the last
    is a whole number of batches, so the batch count equals a plain sampler's and the Trainer's
    step arithmetic holds. A module-level class because the training arguments are pickled into
    every checkpoint.
    """

    def __init__(self, lengths: list[int], mega: int = 50) -> None:
        self.lengths = list(lengths)
        self.mega = mega

    def __call__(self, dataset: Any, batch_size: int, drop_last: bool, valid_label_columns: Any = None,
                 generator: Any = None, seed: int = 0) -> Any:
        import torch
        from sentence_transformers import DefaultBatchSampler

        lengths, mega = self.lengths, self.mega

        class LengthGroupedBatchSampler(DefaultBatchSampler):
            def __iter__(self):  # type: ignore[override]
                n = len(self.sampler)
                g = torch.Generator()
                g.manual_seed(int(self.seed) + int(self.epoch))
                perm = torch.randperm(n, generator=g).tolist()
                size = self.batch_size * mega
                batches: list[list[int]] = []
                for start in range(0, n, size):
                    chunk = sorted(perm[start:start + size], key=lengths.__getitem__, reverse=True)
                    batches += [chunk[j:j + self.batch_size] for j in range(0, len(chunk), self.batch_size)]
                if self.drop_last:
                    batches = [b for b in batches if len(b) == self.batch_size]
                for i in torch.randperm(len(batches), generator=g).tolist():
                    yield batches[i]

        return LengthGroupedBatchSampler(dataset, batch_size=batch_size, drop_last=drop_last,
                                         valid_label_columns=valid_label_columns, generator=generator,
                                         seed=seed)


def _pair_lengths(model: Any, split: _Split) -> list[int]:
    """Token count of each pair (both sentences), as the model's tokenizer will see it."""
    tok = model.tokenizer
    limit = model.max_seq_length or 512
    enc1 = tok(split.sentence1, add_special_tokens=True, truncation=True, max_length=limit)["input_ids"]
    enc2 = tok(split.sentence2, add_special_tokens=True, truncation=True, max_length=limit)["input_ids"]
    return [len(a) + len(b) for a, b in zip(enc1, enc2)]


def _st_submodules() -> tuple[Any, Any]:
    """sentence-transformers' ``losses`` and ``evaluation``: v6 moved them under
    ``sentence_transformer`` and warns on the old top-level names; older versions only have those."""
    try:
        from sentence_transformers.sentence_transformer import evaluation, losses
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers import evaluation, losses  # type: ignore[no-redef]
    return losses, evaluation


class _RunSink:
    """The run's writes to the project, batched (rank 0 only; other ranks get ``project=None``)."""

    def __init__(self, project: Any, run_id: int) -> None:
        self.project = project
        self.run_id = run_id
        self.rows: list[tuple[int, str, float, float | None]] = []
        self._lock = threading.Lock()

    def add(self, step: int, name: str, value: float, epoch: float | None) -> None:
        if self.project is None or not math.isfinite(value):  # SQLite stores NaN as NULL
            return
        with self._lock:
            self.rows.append((int(step), name, float(value), epoch))
            full = len(self.rows) >= 200
        if full:
            self.flush()

    def flush(self) -> None:
        if self.project is None:
            return
        with self._lock:
            rows, self.rows = self.rows, []
        if rows:
            self.project.runs.add_metrics(self.run_id, rows)

    def update(self, **fields: Any) -> None:
        if self.project is not None:
            self.project.runs.update(self.run_id, **fields)


def _make_evaluator(dev: _Split, batch_size: int) -> Any:
    """sentence-transformers' EmbeddingSimilarityEvaluator on the dev pairs, which also keeps each
    evaluation's predictions (for the paired verdict) and adds a bootstrap 95 % interval."""
    from stsstudio.core import stats

    _, evaluation = _st_submodules()

    class DevEvaluator(evaluation.EmbeddingSimilarityEvaluator):
        predictions: dict[int, Any]

        def embed_inputs(self, model, sentences, **kwargs):  # noqa: ANN001, ANN201
            emb = super().embed_inputs(model, sentences, **kwargs)
            self._seen.append(emb)
            return emb

        def __call__(self, model, output_path=None, epoch=-1, steps=-1):  # noqa: ANN001, ANN201
            import numpy as np

            self._seen = []
            metrics = super().__call__(model, output_path, epoch, steps)
            if len(self._seen) >= 2:
                a, b = (np.asarray(x, dtype=np.float64) for x in self._seen[-2:])
                a /= np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
                b /= np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
                pred = (a * b).sum(axis=1)
                self.predictions[max(int(steps), 0)] = pred
                self.last = pred
                lo, hi = stats.spearman_ci(pred, self.scores, seed=0,
                                           resamples=500 if len(pred) > 5000 else stats.DEFAULT_RESAMPLES)
                metrics[f"{self.name}_spearman_ci_low"] = lo
                metrics[f"{self.name}_spearman_ci_high"] = hi
            return metrics

    ev = DevEvaluator(dev.sentence1, dev.sentence2, dev.scores, batch_size=max(32, batch_size), name="dev",
                      similarity_fn_names=["cosine"], write_csv=False)
    ev.predictions = {}
    ev.last = None
    ev._seen = []
    return ev


def _record_evaluation(cb: Any, reporter: Reporter, sink: _RunSink, best_dir: Path | None, step: int,
                       epoch: float, metrics: dict[str, Any], model: Any = None) -> None:
    """An evaluation's figures into the database and the reporter; the best model kept on disk."""
    if _BEST_METRIC not in metrics:
        return
    sp, pe = float(metrics[_BEST_METRIC]), float(metrics.get(_PEARSON_METRIC, float("nan")))
    lo = float(metrics.get(_CI_LOW, float("nan")))
    hi = float(metrics.get(_CI_HIGH, float("nan")))
    cb.evals[step] = (sp, pe)
    cb.cis[step] = (lo, hi)
    if step == 0 and cb.base is None:
        cb.base = (sp, pe)
        sink.update(base_dev_spearman=sp)
    sink.add(step, "dev_spearman", sp, epoch)
    for name, value in (("dev_pearson", pe), ("dev_spearman_low", lo), ("dev_spearman_high", hi)):
        if math.isfinite(value):
            sink.add(step, name, value, epoch)
    sink.flush()
    best = max((v[0] for s, v in cb.evals.items() if s > 0 and math.isfinite(v[0])), default=None)
    if best is not None:
        best_step = max(s for s, v in cb.evals.items() if s > 0 and v[0] == best)
        sink.update(steps=step, best_dev_spearman=best, best_step=best_step)
        if best_dir is not None and model is not None and best_step == step and step > 0:
            _save_model(model, best_dir)
            cb.best_saved = step
    reporter.evaluated(step, sp, pe)
    interval = getattr(reporter, "interval", None)  # optional: the GUI draws a band
    if interval is not None and math.isfinite(lo) and math.isfinite(hi):
        interval(step, lo, hi)


def _make_callback(reporter: Reporter, sink: _RunSink, device: str, checkpoints: Path,
                   best_dir: Path | None = None) -> Any:
    """The TrainerCallback that hands the Trainer's events to the reporter and the database.

    ``best_dir``: keep the best model by dev Spearman there (weights only, no optimizer state),
    saved whenever an evaluation beats the previous best; None keeps no best model.
    """
    from transformers import TrainerCallback

    class ReporterCallback(TrainerCallback):
        def __init__(self) -> None:
            self.cancel_requested = False
            self.nan_step: int | None = None
            self.base: tuple[float, float] | None = None
            self.evals: dict[int, tuple[float, float]] = {}
            self.cis: dict[int, tuple[float, float]] = {}
            self.best_saved: int | None = None
            self.eval_seconds = 0.0
            self._mark = time.perf_counter()

        def on_train_begin(self, args, state, control, **kwargs):  # noqa: ANN001
            sink.update(total_steps=int(state.max_steps))
            reporter.started(int(state.max_steps), device)
            self._mark = time.perf_counter()

        def _poll_cancel(self, control) -> None:  # noqa: ANN001
            if not self.cancel_requested and reporter.is_cancelled():
                self.cancel_requested = True
                control.should_training_stop = True
                control.should_evaluate = False
                control.should_save = True  # a checkpoint to resume from, and the model to keep

        def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001
            self._mark = time.perf_counter()
            self._poll_cancel(control)
            return control

        def on_log(self, args, state, control, logs=None, **kwargs):  # noqa: ANN001
            logs = logs or {}
            if "loss" not in logs or "learning_rate" not in logs:
                return control
            step, epoch = int(state.global_step), float(state.epoch or 0.0)
            loss, lr = float(logs["loss"]), float(logs["learning_rate"])
            if not math.isfinite(loss):
                # Diverged: stop now, and do not evaluate or checkpoint the broken weights.
                self.nan_step = step
                control.should_training_stop = True
                control.should_evaluate = False
                control.should_save = False
                return control
            sink.add(step, "loss", loss, epoch)
            sink.add(step, "learning_rate", lr, epoch)
            reporter.step(step, loss, lr, epoch)
            # Polled again after the step event, so a reporter that decides on it stops this step.
            self._poll_cancel(control)
            return control

        def record(self, step: int, epoch: float, metrics: dict[str, Any], model: Any = None) -> None:
            _record_evaluation(self, reporter, sink, best_dir, step, epoch, metrics, model)

        def on_evaluate(self, args, state, control, metrics=None, **kwargs):  # noqa: ANN001
            now = time.perf_counter()
            self.eval_seconds += now - self._mark
            self._mark = now
            self.record(int(state.global_step), float(state.epoch or 0.0), metrics or {}, kwargs.get("model"))
            return control

        def on_save(self, args, state, control, **kwargs):  # noqa: ANN001
            sink.flush()
            sink.update(steps=int(state.global_step))
            reporter.checkpoint(str(checkpoints / f"checkpoint-{state.global_step}"))
            self._mark = time.perf_counter()
            return control

    return ReporterCallback()


def _is_oom(exc: BaseException) -> bool:
    name = type(exc).__name__
    text = str(exc).lower()
    return (name == "OutOfMemoryError" or "out of memory" in text
            or "can't allocate memory" in text or "cannot allocate memory" in text)


def _pairs_seen(steps: int, steps_per_epoch: int, batch: int, n_train: int) -> int:
    """Training pairs consumed by ``steps`` optimisation steps (the last batch of an epoch is short)."""
    epochs, rest = divmod(steps, steps_per_epoch)
    return epochs * n_train + min(rest * batch, n_train)


def _check_checkpoint(run_id: int, checkpoint: Path) -> None:
    """Refuse a damaged checkpoint before any work starts (issue 14: it gave a traceback)."""
    for name in ("trainer_state.json", "config.json"):
        path = checkpoint / name
        if not path.is_file():
            continue
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise TrainingError(f"The checkpoint of run {run_id} is damaged ({path} cannot be read: "
                                f"{' '.join(str(exc).split())[:120]}); start a new run instead.") from None
    weights = [p for p in checkpoint.rglob("*") if p.suffix in (".safetensors", ".bin")]
    # A received project's checkpoint may carry pickled weights or custom model code: neither
    # is loaded (a new run refuses the same in its base model), and neither is a traceback.
    pickled = [p for p in weights if p.suffix == ".bin" and p.name != "training_args.bin"]
    code = [p for p in checkpoint.rglob("*.py")]
    if pickled or code:
        what = (f"pickled weights ({pickled[0].name})" if pickled else f"model code ({code[0].name})")
        raise TrainingError(f"The checkpoint of run {run_id} holds {what}; STS Studio loads only "
                            "safetensors weights and no custom code. Start a new run instead.")
    if not weights:
        raise TrainingError(f"The checkpoint of run {run_id} ({checkpoint}) holds no model weights; "
                            "start a new run instead.")
    for path in weights:
        if path.suffix != ".safetensors":
            continue
        try:  # reads the header only: cheap, and catches a truncated or overwritten file
            from safetensors import safe_open

            with safe_open(str(path), framework="pt") as fh:
                fh.keys()
        except Exception as exc:  # SafetensorError, OSError, ...
            raise TrainingError(f"The checkpoint of run {run_id} is damaged ({path.name}: "
                                f"{' '.join(str(exc).split())[:120]}); start a new run instead.") from None


def _last_checkpoint(folder: Path) -> Path | None:
    if not folder.is_dir():
        return None
    found = [(int(m.group(1)), p) for p in folder.iterdir()
             if p.is_dir() and (m := re.fullmatch(r"checkpoint-(\d+)", p.name))
             and (p / "trainer_state.json").is_file()]
    return max(found)[1] if found else None


def _save_model(model: Any, target: Path) -> None:
    """Save atomically: a half-written model folder must never look like a finished one."""
    tmp = target.with_name(target.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    model.save(str(tmp))
    if target.exists():
        shutil.rmtree(target)
    os.replace(tmp, target)


def _copy_state(model: Any) -> dict[str, Any]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def blend_with_base(model: Any, base_state: dict[str, Any], weight: float) -> float:
    """Weight-space ensembling (WiSE-FT): every weight becomes ``weight * tuned + (1 - weight) *
    base``, in place. For small projects it keeps what the base model knew where a few hundred
    labels cannot teach it. Returns ``weight``."""
    import torch

    state = model.state_dict()
    with torch.no_grad():
        for name, value in state.items():
            base = base_state.get(name)
            if base is not None and value.is_floating_point() and base.shape == value.shape:
                value.mul_(weight).add_(base.to(value.device, value.dtype), alpha=1 - weight)
    return float(weight)


def _silver(project: Any, data: _Data, schedule: Schedule, config: TrainConfig, device: Any,
            reporter: Reporter) -> tuple[list[tuple[str, str, float]], dict[str, Any] | None]:
    """Silver pairs for the run (Augmented SBERT, core/augment.py), when its schedule asks for them:
    never a dev or test pair, nor a pair sharing a sentence with one."""
    if not schedule.silver or _world_size() > 1:
        return [], None
    from stsstudio.core import augment

    gold = list(zip(data.train.sentence1, data.train.sentence2, data.train.scores))
    held_out = {*data.dev.sentence1, *data.dev.sentence2}   # the project's dev and test are always out
    # The cross-encoder starts from the run's base model when it is a folder (the embedded one else).
    folder = config.base_model if config.base_model and Path(config.base_model).is_dir() else None
    made = augment.silver_pairs(project, gold=gold, exclude_sentences=held_out, n_silver=schedule.silver,
                                seed=int(config.seed), device=device.id, cancel=reporter.is_cancelled,
                                status=reporter.status, base=folder, model=folder or "base")
    if not made.pairs:
        return [], None
    reporter.status(made.description + ".")
    return list(made.pairs), {"pairs": len(made.pairs), "description": made.description,
                              "seconds": round(made.seconds, 1)}


# --------------------------------------------------------------------------------------
# The engine


def train(project: Any, config: TrainConfig, reporter: Reporter | None = None) -> RunResult:
    """Fine-tune a model on the project's labeled pairs.

    Args:
        project: an open, writable :class:`~stsstudio.core.store.Project` (under torchrun, ranks
            other than 0 may pass a read-only one: they never write).
        config: the hyperparameters; ``base_model=None`` takes the project's base model.
        reporter: receives the run's events (see :class:`Reporter`); None ignores them.

    Returns:
        The run's result. A NaN loss or running out of memory is not raised: the result's
        status is "failed", its ``error`` is the typed error (:class:`~stsstudio.core.errors.
        LossNotANumber`, :class:`~stsstudio.core.errors.OutOfMemory`) with its hint, its message
        says the same, and ``reporter.failed`` got it.

    Raises:
        UserError: nothing was written: too few labeled pairs, invalid settings, a missing or
            unloadable base model, an unavailable device.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    reporter = reporter if reporter is not None and _rank() == 0 else NullReporter()
    _validate(config)
    from stsstudio.core.devices import resolve_device
    from stsstudio.core.models import load_model, resolve_model

    base_name = config.base_model or project.base_model or "default"
    resolve_model(base_name)  # a clear error for a bad name before any work
    device = _device_for_rank(resolve_device(config.device))
    if _rank() == 0 and getattr(project, "readonly", False):
        raise ProjectReadOnly(f"{project.path} is open read-only, and a run writes to it.")
    data = _collect_data(project, config.seed, config.cv_folds)
    if data.held_out:
        reporter.status(f"The project has no labeled dev pairs: holding out {len(data.dev)} of the labeled "
                        f"train pairs ({HOLDOUT_FRACTION:.0%}, seed {config.seed}) for evaluation.")
    from transformers import set_seed

    set_seed(config.seed)
    reporter.status("Loading the base model…")
    model = load_model(base_name, device=device.id, max_seq_length=config.max_seq_length)
    with no_library_gc():
        return _run(project, config, reporter, model, data, device, base_name, run_id=None,
                    checkpoint=None)


class _GcShim:
    """``gc`` for a library module, with ``collect`` made a no-op (see :func:`no_library_gc`)."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def collect(self, *_args: Any, **_kwargs: Any) -> int:
        return 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


_GC_CALLERS = ("accelerate.utils.memory", "transformers.trainer_utils")


@contextlib.contextmanager
def no_library_gc() -> Iterator[None]:
    """Keep accelerate and transformers from running ``gc.collect()`` off the main thread.

    The desktop app trains in a worker thread and collects cyclic garbage on the GUI thread only
    (Qt objects must be torn down there). accelerate's ``free_memory`` at the end of every
    ``Trainer.train`` calls ``gc.collect()`` itself; on the worker that destroyed a dead widget's
    QObject and deadlocked against the GUI thread (seen in the journey test after a run). On the
    main thread (the CLI) nothing changes. Each library keeps its ``gc`` module otherwise.
    """
    if threading.current_thread() is threading.main_thread():
        yield
        return
    import gc as real_gc
    import importlib

    patched = []
    for name in _GC_CALLERS:
        try:
            module = importlib.import_module(name)
        except ImportError:   # pragma: no cover - a library layout we do not know
            continue
        if getattr(module, "gc", None) is real_gc:
            module.gc = _GcShim(real_gc)
            patched.append(module)
    try:
        yield
    finally:
        for module in patched:
            module.gc = real_gc


def resume(project: Any, run_id: int, reporter: Reporter | None = None,
           device: str | None = None) -> RunResult:
    """Continue an interrupted, cancelled or failed run from its last checkpoint.

    The run keeps its id, settings and metric series (points after the checkpoint are dropped
    and recomputed). ``device`` overrides the device the run was started on.

    Raises:
        UserError: no such run, it is running or finished, or it has no checkpoint.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    reporter = reporter if reporter is not None and _rank() == 0 else NullReporter()
    run = project.runs.get(int(run_id))
    if run is None:
        raise TrainingError(f"The project has no run {run_id}.")
    if run.status == "running" and _rank() == 0:
        raise TrainingError(f"Run {run_id} is still running.")
    if run.status == "finished":
        raise TrainingError(f"Run {run_id} has already finished; start a new run to train further.")
    checkpoint = _last_checkpoint(project.runs.folder(run.id) / "checkpoints")
    if checkpoint is None:
        raise TrainingError(f"Run {run_id} has no checkpoint to resume from; start a new run instead.")
    _check_checkpoint(run_id, checkpoint)
    known = set(TrainConfig.__dataclass_fields__)
    config = TrainConfig(**{k: v for k, v in run.config.items() if k in known})
    if device:
        config.device = device
    _validate(config)
    from stsstudio.core.devices import resolve_device
    from stsstudio.core.models import load_model

    dev = _device_for_rank(resolve_device(config.device))
    data = _collect_data(project, config.seed, config.cv_folds)
    if (len(data.train), len(data.dev)) != (run.config.get("train_pairs"), run.config.get("dev_pairs")):
        reporter.status("The labeled pairs changed since this run started; it continues on the current ones.")
    from transformers import set_seed

    set_seed(config.seed)
    model = load_model(run.base_model, device=dev.id, max_seq_length=config.max_seq_length)
    step = int(checkpoint.name.split("-")[1])
    if _rank() == 0:
        project.runs.delete_metrics_after(run.id, step)
        project.runs.update(run.id, status="running", pid=os.getpid(), finished_at=None,
                           message=f"resumed from step {step}", device=dev.id)
    reporter.status(f"Resuming run {run.id} from step {step}.")
    with no_library_gc():
        return _run(project, config, reporter, model, data, dev, run.base_model, run_id=run.id,
                    checkpoint=checkpoint, previous_seconds=run.seconds or 0.0,
                    base_dev_spearman=run.base_dev_spearman)


def _device_for_rank(device: Any) -> Any:
    """Under torchrun with CUDA, each rank uses its own GPU (LOCAL_RANK)."""
    if device.kind == "cuda" and _world_size() > 1:
        from stsstudio.core.devices import resolve_device

        return resolve_device(f"cuda:{int(os.environ.get('LOCAL_RANK', '0') or 0)}")
    return device


def _share_run_id(run_id: int | None) -> int:
    """Rank 0 created the run; tell the other ranks its id (they need the checkpoint folder)."""
    import torch.distributed as dist

    if _world_size() > 1 and dist.is_available() and dist.is_initialized():
        box = [run_id]
        dist.broadcast_object_list(box, src=0)
        run_id = box[0]
    if run_id is None:
        raise RuntimeError("the run id did not reach this rank")
    return int(run_id)


@dataclass
class _RunState:
    """One run's moving parts, passed between the steps of :func:`_run`."""

    project: Any
    config: TrainConfig
    reporter: Reporter
    model: Any
    data: _Data
    device: Any
    base_name: str
    run_id: int | None
    checkpoint: Path | None
    previous_seconds: float
    base_dev_spearman: float | None
    schedule: Schedule
    world: int = 1
    writer: bool = True
    silver: list[tuple[str, str, float]] = field(default_factory=list)
    silver_note: dict[str, Any] | None = None
    run_dir: Path = Path()
    t0: float = 0.0
    status: str = "finished"
    message: str = ""
    error: BaseException | None = None
    failure: UserError | None = None   # the typed error of a failed run (not raised: the run stands)

    @property
    def bs(self) -> int:
        return int(self.config.batch_size)

    @property
    def has_dev(self) -> bool:
        return len(self.data.dev) > 0

    @property
    def checkpoints(self) -> Path:
        return self.run_dir / "checkpoints"

    @property
    def best_dir(self) -> Path:
        return self.run_dir / "best"


def _run(project: Any, config: TrainConfig, reporter: Reporter, model: Any, data: _Data, device: Any,
         base_name: str, *, run_id: int | None, checkpoint: Path | None, previous_seconds: float = 0.0,
         base_dev_spearman: float | None = None) -> RunResult:
    rank, world = _rank(), _world_size()
    s = _RunState(project, config, reporter, model, data, device, base_name, run_id, checkpoint,
                  previous_seconds, base_dev_spearman, _schedule(config, len(data.train), len(data.dev)),
                  world=world, writer=rank == 0)
    if checkpoint is None:
        s.silver, s.silver_note = _silver(project, data, s.schedule, config, device, reporter)
    if s.silver:   # at least one pass over gold and silver together
        s.schedule = replace(s.schedule, steps=max(s.schedule.steps, math.ceil(
            (len(data.train) + len(s.silver)) / world / s.bs)))
    eval_steps = int(config.eval_steps) if config.eval_steps else max(1, round(s.schedule.steps / 10))
    if s.writer and s.run_id is None:
        _create_run_record(s, eval_steps)
    reporter.status(s.schedule.describe() + ".")
    args = _training_args(s, eval_steps)
    s.t0 = time.perf_counter()
    cv_summary: dict[str, Any] | None = None
    if checkpoint is not None and data.cv_folds:   # a resumed run keeps an estimate made before
        run = project.runs.get(s.run_id)
        cv_summary = ((run.summary or {}).get("cv") if run is not None else None) or None
    base_state = _copy_state(model) if s.schedule.blend < 1 else None
    sink = _RunSink(project if s.writer else None, s.run_id)
    callback = _make_callback(reporter, sink, device.id, s.checkpoints,
                              s.best_dir if (s.schedule.select_best and s.has_dev and s.writer) else None)
    if base_dev_spearman is not None:
        callback.base = (base_dev_spearman, float("nan"))
    evaluator = _make_evaluator(data.dev, s.bs) if s.has_dev else None
    trainer = _trainer(s, args, callback, evaluator)
    _train_loop(s, trainer, sink, callback)
    steps = int(trainer.state.global_step)
    blended = None
    if base_state is not None and s.status == "finished" and callback.best_saved is None:
        blended = blend_with_base(trainer.model, base_state, s.schedule.blend)
        callback.evals.pop(steps, None)     # evaluate the blended model, which is the one kept
    kept_step, model_dir = _keep_model(s, trainer, callback, evaluator, steps)
    seconds = previous_seconds + time.perf_counter() - s.t0
    summary, comparison, dev_ci, dev_sp, ceiling = _summarise(s, callback, evaluator, kept_step, cv_summary)
    if blended is not None:
        summary["blend"] = blended
    base = callback.base[0] if callback.base else base_dev_spearman
    _final_message(s, comparison, dev_sp, base)
    if s.status == "finished" and s.writer:
        # A finished run keeps its model only: no optimizer state, no resume checkpoints.
        shutil.rmtree(s.checkpoints, ignore_errors=True)
        shutil.rmtree(s.best_dir, ignore_errors=True)
    kept = callback.evals.get(kept_step)
    sink.flush()
    sink.update(status=s.status, finished_at=time.time(), seconds=seconds, steps=steps,
                best_dev_spearman=dev_sp, best_step=kept_step if kept else None,
                model_dir=model_dir, message=s.message or None, base_dev_spearman=base, summary=summary)
    steps_per_epoch = math.ceil(math.ceil(len(data.train) / world) / s.bs)
    result = RunResult(
        run_id=s.run_id, status=s.status, device=device.id, steps=steps, seconds=seconds,  # type: ignore[arg-type]
        base_dev_spearman=base, dev_spearman=dev_sp,
        dev_pearson=kept[1] if kept and math.isfinite(kept[1]) else None, model_dir=model_dir,
        message=s.message, eval_seconds=callback.eval_seconds,
        pairs=_pairs_seen(steps, steps_per_epoch, s.bs * world, len(data.train)),
        dev_spearman_ci=dev_ci, verdict=(comparison or {}).get("verdict", ""),
        outcome=(comparison or {}).get("outcome", ""), comparison=comparison,
        schedule=s.schedule.as_dict(), cv=cv_summary, human_ceiling=ceiling, error=s.failure,
        estimate=summary.get("estimate"), label_curve=summary.get("label_curve"))
    _report_end(s, result)
    return result


def _report_end(s: _RunState, result: RunResult) -> None:
    if s.status == "finished":
        s.reporter.finished(result)
    elif s.status == "cancelled":
        s.reporter.cancelled()
    else:
        s.reporter.failed(s.message)
    if s.error is not None:
        raise s.error


def _create_run_record(s: _RunState, eval_steps: int) -> None:
    record = s.config.as_dict()
    record.update(base_model=s.base_name, device=s.device.id, train_pairs=len(s.data.train),
                  dev_pairs=len(s.data.dev), dev_held_out=s.data.held_out, eval_steps=eval_steps,
                  world_size=s.world, cv_folds=s.data.cv_folds, schedule=s.schedule.as_dict())
    loss_name = s.schedule.loss + ("+matryoshka" if s.config.matryoshka else "")
    s.run_id = s.project.runs.create(base_model=s.base_name, loss=loss_name, config=record,
                                     device=s.device.id)
    run_dir = s.project.runs.folder(s.run_id)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.json").write_text(json.dumps(record, indent=2, default=str) + "\n")
    s.project.runs.update(s.run_id, total_steps=s.schedule.steps)
    s.project.runs.record_pairs(s.run_id, s.data.train.ids, s.data.dev.ids)


def _fitted(s: _RunState) -> _Split:
    """The pairs the run trains on: gold, then silver."""
    t = s.data.train
    return _Split(t.sentence1 + [p[0] for p in s.silver], t.sentence2 + [p[1] for p in s.silver],
                  t.scores + [float(p[2]) for p in s.silver])


# A run with nothing to evaluate (its estimate comes after) still writes resumable checkpoints, but
# four of them, not one per tenth: each is the weights and the optimiser state (about 270 MB for the
# embedded model), 0.6 s on two cores (a profiled 100-label run: 11 saves, 6.3 s of 48 s).
# Cancelling always writes one where the run stopped.
CHECKPOINTS_WITHOUT_DEV = 4


def _save_steps(s: _RunState, eval_steps: int) -> int:
    if s.has_dev or s.config.eval_steps:
        return eval_steps
    return max(1, math.ceil(s.schedule.steps / CHECKPOINTS_WITHOUT_DEV))


def _training_args(s: _RunState, eval_steps: int) -> Any:
    from sentence_transformers import SentenceTransformerTrainingArguments

    from stsstudio.core.devices import precision_for

    precision = precision_for(s.device)
    total, has_dev = s.schedule.steps, s.has_dev
    lengths = _pair_lengths(s.model, _fitted(s)) if s.config.group_by_length else None
    args_kwargs: dict[str, Any] = dict(
        # max_steps always set: "Max steps" is a hard cap, and the epoch count follows from it.
        num_train_epochs=math.ceil(s.schedule.epochs), max_steps=total,
        per_device_train_batch_size=s.bs, per_device_eval_batch_size=s.bs,
        learning_rate=s.schedule.learning_rate, warmup_steps=math.ceil(total * s.schedule.warmup_ratio),
        seed=int(s.config.seed), data_seed=int(s.config.seed),
        eval_strategy="steps" if has_dev else "no", eval_steps=eval_steps if has_dev else None,
        eval_on_start=has_dev and s.checkpoint is None,
        # One resumable checkpoint at a time; the best model (weights only) is kept by the callback.
        save_strategy="steps", save_steps=_save_steps(s, eval_steps), save_total_limit=1,
        logging_strategy="steps", logging_steps=1, logging_nan_inf_filter=False,
        report_to="none", disable_tqdm=True, use_cpu=s.device.kind == "cpu",
        bf16=precision["bf16"], fp16=precision["fp16"], dataloader_pin_memory=s.device.kind == "cuda",
    )
    if lengths is not None:
        args_kwargs["batch_sampler"] = _LengthGrouping(lengths)
    placeholder = str(s.project.runs_dir / (str(s.run_id) if s.run_id is not None else "_pending")
                      / "checkpoints")
    args = SentenceTransformerTrainingArguments(output_dir=placeholder, **args_kwargs)
    _ = args.device  # initialises torch.distributed under torchrun
    s.run_id = _share_run_id(s.run_id)
    s.run_dir = s.project.runs.folder(s.run_id)
    args.output_dir = str(s.checkpoints)
    return args


def _trainer(s: _RunState, args: Any, callback: Any, evaluator: Any) -> Any:
    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainer
    from transformers import PrinterCallback

    fitted = _fitted(s)
    train_ds = Dataset.from_dict({"sentence1": fitted.sentence1, "sentence2": fitted.sentence2,
                                  "score": fitted.scores})
    loss = build_loss(s.schedule.loss, s.model, matryoshka=s.config.matryoshka)
    trainer = SentenceTransformerTrainer(model=s.model, args=args, train_dataset=train_ds, loss=loss,
                                         evaluator=evaluator, callbacks=[callback])
    trainer.remove_callback(PrinterCallback)  # it prints log dicts on stdout
    return trainer


def _train_loop(s: _RunState, trainer: Any, sink: _RunSink, callback: Any) -> None:
    """Train; a failure marks the run (typed where we know it), Ctrl+C marks it interrupted."""
    try:
        trainer.train(resume_from_checkpoint=str(s.checkpoint) if s.checkpoint else None)
    except KeyboardInterrupt:
        sink.flush()
        sink.update(status="interrupted", seconds=s.previous_seconds + time.perf_counter() - s.t0,
                    steps=int(trainer.state.global_step),
                    message="Stopped by the user; resume it from its last checkpoint.")
        raise
    except Exception as exc:  # noqa: BLE001 - every failure must leave the run marked failed
        if _is_oom(exc):  # the one place torch's out-of-memory becomes our typed error
            s.status = "failed"
            s.failure = OutOfMemory(f"The {s.device.kind.upper()} ran out of memory at batch size {s.bs}.",
                                    hint=f"Lower the batch size (e.g. {max(1, s.bs // 2)}) or the max "
                                    "sequence length, or train on the CPU.")
        else:
            s.status, s.message, s.error = "failed", f"Training failed: {type(exc).__name__}: {exc}", exc
    if s.status == "finished" and callback.nan_step is not None:
        s.status = "failed"
        rate = s.schedule.learning_rate
        s.failure = LossNotANumber(f"The loss became NaN (not a number) at step {callback.nan_step}: "
                                   "training diverged.", hint=f"Lower the learning rate (it was {rate:g}; "
                                   f"try {rate / 10:g}) or increase the warmup, then start again.")
    elif s.status == "finished" and callback.cancel_requested:
        s.status = "cancelled"
    if s.failure is not None:
        s.message = str(s.failure)


def _keep_model(s: _RunState, trainer: Any, callback: Any, evaluator: Any,
                steps: int) -> tuple[int, str | None]:
    """The kept model: the best checkpoint where the dev set can tell checkpoints apart, else the
    model at the end of the schedule (see core/schedule.py SELECT_BEST_MIN_DEV); saved as model/."""
    kept_step = steps
    if s.status in ("finished", "cancelled") and evaluator is not None and steps not in callback.evals:
        callback.record(steps, float(trainer.state.epoch or 0.0),
                        {f"eval_{k}": v for k, v in evaluator(trainer.model, steps=steps).items()})
    if callback.best_saved is not None and (s.best_dir / "config.json").is_file():
        final = callback.evals.get(steps, (float("-inf"),))[0]
        if callback.evals[callback.best_saved][0] > final:
            kept_step = callback.best_saved
    if s.status not in ("finished", "cancelled") or not s.writer:
        return kept_step, None
    target = s.run_dir / "model"
    try:
        if kept_step != steps:
            if target.exists():
                shutil.rmtree(target)
            os.replace(s.best_dir, target)
        else:
            _save_model(trainer.model, target)
        from stsstudio.core.paths import apply_umask_tree

        apply_umask_tree(target)   # safetensors writes the weights 0600 whatever the umask
        return kept_step, str(target)
    except OSError as exc:
        s.status, s.message = "failed", f"Could not save the model to {target}: {exc}"
        return kept_step, None


def _summarise(s: _RunState, callback: Any, evaluator: Any, kept_step: int,
               cv_summary: dict[str, Any] | None) -> tuple[dict[str, Any], Any, Any, Any, Any]:
    """The run's summary: schedule, verdict against the base model, interval, what follows."""
    summary: dict[str, Any] = {"schedule": s.schedule.as_dict(), "kept_step": kept_step}
    comparison = None
    dev_ci: tuple[float, float] | None = None
    kept = callback.evals.get(kept_step)
    if evaluator is not None and kept is not None:
        dev_ci = callback.cis.get(kept_step)
        kept_pred = evaluator.predictions.get(kept_step)
        base_pred = _base_predictions(s.run_dir, evaluator, s.writer)
        if kept_pred is not None and base_pred is not None and len(base_pred) == len(kept_pred):
            from stsstudio.core import stats

            what = "held-out pairs" if s.data.held_out else "dev pairs"
            comparison = stats.compare_to_base(kept_pred, base_pred, s.data.dev.scores, what=what).as_dict()
    elif cv_summary is not None:
        comparison = cv_summary["comparison"]
        dev_ci = tuple(cv_summary["spearman_ci"])  # type: ignore[assignment]
        summary["cv"] = cv_summary
    if comparison is not None:
        summary.update(outcome=comparison["outcome"], verdict=comparison["verdict"], comparison=comparison)
    if s.status == "finished" and s.config.estimate and s.world == 1:
        # What core/estimate.py adds after the model is handed over (the views show it pending).
        summary["estimate"] = {"status": "pending", "folds": s.data.cv_folds}
    if s.silver_note:
        summary["silver"] = s.silver_note
    if dev_ci is not None:
        summary["dev_spearman_ci"] = list(dev_ci)
    dev_sp = kept[0] if kept else (cv_summary["spearman"] if cv_summary else None)
    ceiling = (_human_ceiling(s.project, dev_sp) if s.writer and s.has_dev and not s.data.held_out
               else None)
    if ceiling is not None:
        summary["human_ceiling"] = ceiling
    return summary, comparison, dev_ci, dev_sp, ceiling


def _final_message(s: _RunState, comparison: Any, dev_sp: float | None, base: float | None) -> None:
    if s.status == "finished" and comparison is not None and comparison["outcome"] == "worse":
        s.message = comparison["verdict"]
    elif (s.status == "finished" and comparison is None and dev_sp is not None and base is not None
          and dev_sp < base):
        s.message = (f"The fine-tuned model ({dev_sp:.4f}) did not beat the base model ({base:.4f}) "
                     "on dev Spearman.")


def _human_ceiling(project: Any, model_spearman: float | None) -> dict[str, Any] | None:
    """How well the annotators agree on the dev pairs (two or more of them), and how close the
    model comes: the line no model is expected to cross."""
    from stsstudio.core.agreement import human_ceiling

    ceiling = human_ceiling(project, "dev")
    if ceiling is None:
        return None
    ceiling = dict(ceiling, ci=list(ceiling["ci"]))
    if model_spearman is not None and ceiling["spearman"]:
        ceiling["model_share"] = model_spearman / ceiling["spearman"]
        ceiling["summary"] = (f"The annotators agree with each other at {ceiling['spearman']:.3f} "
                              f"(95 % interval {ceiling['ci'][0]:.3f} to {ceiling['ci'][1]:.3f}); the model "
                              f"reaches {model_spearman:.3f}, {ceiling['model_share']:.0%} of that.")
    return ceiling


def _base_predictions(run_dir: Path, evaluator: Any, writer: bool) -> Any:
    """The base model's dev predictions: the step-0 evaluation, kept on disk for a resumed run."""
    import numpy as np

    path = run_dir / "dev_base_predictions.npy"
    pred = evaluator.predictions.get(0)
    if pred is not None:
        if writer:
            try:
                np.save(path, pred)
            except OSError:
                pass
        return pred
    if path.is_file():
        try:
            return np.load(path)
        except (OSError, ValueError):
            return None
    return None

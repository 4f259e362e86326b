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

import json
import math
import os
import random
import re
import shutil
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from stsstudio.core.errors import UserError
from stsstudio.core.losses import DEFAULT_LOSS, build_loss
from stsstudio.core.losses import LOSS_NAMES as LOSSES

# DEFAULT_LOSS (core/losses.py) was chosen by measurement on STSb dev (MiniLM-L6, 1 epoch, batch 16).
DEFAULT_LEARNING_RATE = 2e-5
MIN_TRAIN_PAIRS = 10
MIN_DEV_PAIRS = 5
HOLDOUT_FRACTION = 0.1
METRIC_NAMES = ("loss", "learning_rate", "dev_spearman", "dev_pearson")
_BEST_METRIC = "eval_dev_spearman_cosine"
_PEARSON_METRIC = "eval_dev_pearson_cosine"


class Reporter(Protocol):
    """Receives the events of one training run, in this order::

        started(total_steps, device)
        step(step, loss, learning_rate, epoch)        many times
        evaluated(step, spearman, pearson)            before training (step 0), every N steps, at the end
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
    loss: str = DEFAULT_LOSS           # "cosent" | "angle" | "cosine"; default chosen by measurement
    matryoshka: bool = False
    epochs: float = 1.0
    batch_size: int = 16
    learning_rate: float = DEFAULT_LEARNING_RATE
    warmup_ratio: float = 0.1
    max_seq_length: int | None = None  # None: the model's own
    seed: int = 12
    eval_steps: int | None = None      # None: about 10 evaluations per run
    max_steps: int | None = None       # a cap on optimisation steps
    device: str = "auto"
    group_by_length: bool = True
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

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


    # Filled in by the engine (additive to the contract): where the time went, for the bench.
    eval_seconds: float = 0.0
    pairs: int = 0                      # training pairs consumed (steps x batch size x processes)


class TrainingError(UserError):
    """A run cannot start or continue: too few labeled pairs, bad settings, nothing to resume."""


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

    def __len__(self) -> int:
        return len(self.scores)


@dataclass
class _Data:
    train: _Split
    dev: _Split
    held_out: bool


def _split(pairs: list[Any]) -> _Split:
    return _Split([p.sentence1 for p in pairs], [p.sentence2 for p in pairs], [float(p.score) for p in pairs])


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
    notes: tuple[str, ...] = ()        # advice that does not block the run

    @property
    def can_start(self) -> bool:
        return not self.problems


def plan_data(labeled_train: int, labeled_dev: int, labeled_test: int = 0) -> DataPlan:
    """The training data rule on counts: with no labeled dev pairs, hold out ``HOLDOUT_FRACTION``
    of the labeled train pairs (at least ``MIN_DEV_PAIRS``) for evaluation."""
    train, dev = labeled_train, labeled_dev
    held_out = dev == 0
    problems: list[str] = []
    notes: list[str] = []
    if held_out:
        k = max(MIN_DEV_PAIRS, round(labeled_train * HOLDOUT_FRACTION))
        dev = min(k, labeled_train)
        train = labeled_train - dev
        if labeled_train < MIN_TRAIN_PAIRS + k:
            problems.append(
                f"Too few labeled train pairs ({labeled_train}): with no labeled dev pairs, training needs "
                f"at least {MIN_TRAIN_PAIRS + k} ({MIN_TRAIN_PAIRS} to train on, {k} held out to evaluate). "
                "Label more pairs, or put some in the dev split.")
    elif train < MIN_TRAIN_PAIRS:
        problems.append(
            f"Too few labeled train pairs ({train}): training needs at least {MIN_TRAIN_PAIRS} labeled "
            "train pairs. Label more pairs, or move some to the train split.")
    if not problems and labeled_train < 100:
        notes.append("Fewer than 100 train pairs: expect a small, noisy improvement.")
    if held_out and labeled_train:
        notes.append(f"No dev split: a seeded {HOLDOUT_FRACTION:.0%} of the train pairs is held out for "
                     "evaluation. Assign a dev split in Pairs for a stable comparison between runs.")
    elif not held_out and dev < MIN_DEV_PAIRS:
        problems.append(
            f"Too few labeled dev pairs ({dev}): evaluation needs at least {MIN_DEV_PAIRS}. Label more dev "
            f"pairs, or move all dev pairs to train to let training hold out {HOLDOUT_FRACTION:.0%}.")
    elif not held_out and dev < 30:
        notes.append(f"Only {dev} dev pairs: the dev Spearman will be noisy.")
    return DataPlan(labeled_train, labeled_dev, labeled_test, train, dev, held_out,
                    problems=tuple(problems), notes=tuple(notes))


def data_plan(project: Any, config: TrainConfig | None = None) -> DataPlan:
    """What a run with ``config`` on ``project`` will use (counts only: cheap, no pairs loaded).

    The Train view shows it and :func:`train` applies the same rule (:func:`plan_data`).
    ``config`` is accepted for rules that depend on the settings; the counts do not today.
    """
    labeled = project.counts().labeled_splits
    return plan_data(labeled.get("train", 0), labeled.get("dev", 0), labeled.get("test", 0))


def _collect_data(project: Any, seed: int) -> _Data:
    """The labeled train and dev pairs as :func:`plan_data` rules; raises its problems."""
    train = project.labeled_pairs("train")
    dev = project.labeled_pairs("dev")
    plan = plan_data(len(train), len(dev))
    if not plan.can_start:
        raise TrainingError(" ".join(plan.problems))
    if plan.held_out:
        order = list(range(len(train)))
        random.Random(seed).shuffle(order)
        dev_idx = set(order[:plan.dev])
        dev = [p for i, p in enumerate(train) if i in dev_idx]
        train = [p for i, p in enumerate(train) if i not in dev_idx]
    return _Data(_split(train), _split(dev), plan.held_out)


def _validate(config: TrainConfig) -> None:
    problems = []
    if config.loss not in LOSSES:
        problems.append(f"unknown loss {config.loss!r} (use {', '.join(LOSSES)})")
    if config.batch_size < 1:
        problems.append("the batch size must be at least 1")
    if not config.learning_rate > 0 or not math.isfinite(config.learning_rate):
        problems.append("the learning rate must be a positive number")
    if not config.epochs > 0:
        problems.append("the number of epochs must be positive")
    if not 0 <= config.warmup_ratio < 1:
        problems.append("the warmup ratio must be between 0 and 1")
    if config.max_steps is not None and config.max_steps < 1:
        problems.append("max steps must be at least 1")
    if config.eval_steps is not None and config.eval_steps < 1:
        problems.append("evaluation steps must be at least 1")
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


def _make_loss(model: Any, config: TrainConfig) -> Any:
    return build_loss(config.loss, model, matryoshka=config.matryoshka)


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
            self.project.add_metrics(self.run_id, rows)

    def update(self, **fields: Any) -> None:
        if self.project is not None:
            self.project.update_run(self.run_id, **fields)


def _make_callback(reporter: Reporter, sink: _RunSink, device: str, checkpoints: Path) -> Any:
    """The TrainerCallback that hands the Trainer's events to the reporter and the database."""
    from transformers import TrainerCallback

    class ReporterCallback(TrainerCallback):
        def __init__(self) -> None:
            self.cancel_requested = False
            self.nan_step: int | None = None
            self.base: tuple[float, float] | None = None
            self.evals: dict[int, tuple[float, float]] = {}
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

        def on_evaluate(self, args, state, control, metrics=None, **kwargs):  # noqa: ANN001
            now = time.perf_counter()
            self.eval_seconds += now - self._mark
            self._mark = now
            metrics = metrics or {}
            if _BEST_METRIC not in metrics:
                return control
            step, epoch = int(state.global_step), float(state.epoch or 0.0)
            sp, pe = float(metrics[_BEST_METRIC]), float(metrics.get(_PEARSON_METRIC, float("nan")))
            self.evals[step] = (sp, pe)
            if step == 0 and self.base is None:
                self.base = (sp, pe)
                sink.update(base_dev_spearman=sp)
            sink.add(step, "dev_spearman", sp, epoch)
            if math.isfinite(pe):
                sink.add(step, "dev_pearson", pe, epoch)
            sink.flush()
            best = max((v[0] for s, v in self.evals.items() if s > 0 and math.isfinite(v[0])), default=None)
            if best is not None:
                best_step = max(s for s, v in self.evals.items() if s > 0 and v[0] == best)
                sink.update(steps=step, best_dev_spearman=best, best_step=best_step)
            reporter.evaluated(step, sp, pe)
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
        status is "failed", its message says what to change, and ``reporter.failed`` got it.

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
        raise TrainingError(f"{project.path} is open read-only; open it for writing to train.")
    data = _collect_data(project, config.seed)
    if data.held_out:
        reporter.status(f"The project has no labeled dev pairs: holding out {len(data.dev)} of the labeled "
                        f"train pairs ({HOLDOUT_FRACTION:.0%}, seed {config.seed}) for evaluation.")
    from transformers import set_seed

    set_seed(config.seed)
    reporter.status("Loading the base model…")
    model = load_model(base_name, device=device.id, max_seq_length=config.max_seq_length)
    return _run(project, config, reporter, model, data, device, base_name, run_id=None, checkpoint=None)


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
    run = project.run(int(run_id))
    if run is None:
        raise TrainingError(f"The project has no run {run_id}.")
    if run.status == "running" and _rank() == 0:
        raise TrainingError(f"Run {run_id} is still running.")
    if run.status == "finished":
        raise TrainingError(f"Run {run_id} has already finished; start a new run to train further.")
    checkpoint = _last_checkpoint(project.run_dir(run.id) / "checkpoints")
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
    data = _collect_data(project, config.seed)
    if (len(data.train), len(data.dev)) != (run.config.get("train_pairs"), run.config.get("dev_pairs")):
        reporter.status("The labeled pairs changed since this run started; it continues on the current ones.")
    from transformers import set_seed

    set_seed(config.seed)
    model = load_model(run.base_model, device=dev.id, max_seq_length=config.max_seq_length)
    step = int(checkpoint.name.split("-")[1])
    if _rank() == 0:
        project.delete_metrics_after(run.id, step)
        project.update_run(run.id, status="running", pid=os.getpid(), finished_at=None,
                           message=f"resumed from step {step}", device=dev.id)
    reporter.status(f"Resuming run {run.id} from step {step}.")
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


def _run(project: Any, config: TrainConfig, reporter: Reporter, model: Any, data: _Data, device: Any,
         base_name: str, *, run_id: int | None, checkpoint: Path | None, previous_seconds: float = 0.0,
         base_dev_spearman: float | None = None) -> RunResult:
    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from transformers import PrinterCallback

    from stsstudio.core.devices import precision_for

    rank, world = _rank(), _world_size()
    writer = rank == 0
    bs = int(config.batch_size)
    steps_per_epoch = math.ceil(math.ceil(len(data.train) / world) / bs)
    total = int(config.max_steps) if config.max_steps else max(1, math.ceil(steps_per_epoch * config.epochs))
    eval_steps = int(config.eval_steps) if config.eval_steps else max(1, round(total / 10))
    resuming = checkpoint is not None

    if writer and run_id is None:
        record = config.as_dict()
        record.update(base_model=base_name, device=device.id, train_pairs=len(data.train),
                      dev_pairs=len(data.dev), dev_held_out=data.held_out, eval_steps=eval_steps,
                      world_size=world)
        loss_name = config.loss + ("+matryoshka" if config.matryoshka else "")
        run_id = project.create_run(base_model=base_name, loss=loss_name, config=record, device=device.id)
        run_dir = project.run_dir(run_id)
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.json").write_text(json.dumps(record, indent=2, default=str) + "\n")
        project.update_run(run_id, total_steps=total)

    precision = precision_for(device)
    lengths = _pair_lengths(model, data.train) if config.group_by_length else None
    args_kwargs: dict[str, Any] = dict(
        num_train_epochs=float(config.epochs), max_steps=total if config.max_steps else -1,
        per_device_train_batch_size=bs, per_device_eval_batch_size=bs,
        learning_rate=float(config.learning_rate), warmup_steps=math.ceil(total * config.warmup_ratio),
        seed=int(config.seed), data_seed=int(config.seed),
        eval_strategy="steps", eval_steps=eval_steps, eval_on_start=not resuming,
        save_strategy="steps", save_steps=eval_steps, save_total_limit=2,
        load_best_model_at_end=True, metric_for_best_model=_BEST_METRIC, greater_is_better=True,
        logging_strategy="steps", logging_steps=1, logging_nan_inf_filter=False,
        report_to="none", disable_tqdm=True, use_cpu=device.kind == "cpu",
        bf16=precision["bf16"], fp16=precision["fp16"], dataloader_pin_memory=device.kind == "cuda",
    )
    if lengths is not None:
        args_kwargs["batch_sampler"] = _LengthGrouping(lengths)
    placeholder = str(project.runs_dir / (str(run_id) if run_id is not None else "_pending") / "checkpoints")
    args = SentenceTransformerTrainingArguments(output_dir=placeholder, **args_kwargs)
    _ = args.device  # initialises torch.distributed under torchrun
    run_id = _share_run_id(run_id)
    run_dir = project.run_dir(run_id)
    checkpoints = run_dir / "checkpoints"
    args.output_dir = str(checkpoints)

    sink = _RunSink(project if writer else None, run_id)
    callback = _make_callback(reporter, sink, device.id, checkpoints)
    if base_dev_spearman is not None:
        callback.base = (base_dev_spearman, float("nan"))
    train_ds = Dataset.from_dict({"sentence1": data.train.sentence1, "sentence2": data.train.sentence2,
                                  "score": data.train.scores})
    _, evaluation = _st_submodules()
    evaluator = evaluation.EmbeddingSimilarityEvaluator(
        data.dev.sentence1, data.dev.sentence2, data.dev.scores, batch_size=max(32, bs), name="dev",
        similarity_fn_names=["cosine"], write_csv=False)
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=train_ds,
                                         loss=_make_loss(model, config), evaluator=evaluator,
                                         callbacks=[callback])
    trainer.remove_callback(PrinterCallback)  # it prints log dicts on stdout

    t0 = time.perf_counter()
    status, message, error = "finished", "", None
    try:
        trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    except KeyboardInterrupt:
        sink.flush()
        sink.update(status="interrupted", seconds=previous_seconds + time.perf_counter() - t0,
                    steps=int(trainer.state.global_step),
                    message="Stopped by the user; resume it from its last checkpoint.")
        raise
    except Exception as exc:  # noqa: BLE001 - every failure must leave the run marked failed
        if _is_oom(exc):
            status = "failed"
            message = (f"The {device.kind.upper()} ran out of memory at batch size {bs}. Lower the batch "
                       f"size (e.g. {max(1, bs // 2)}) or the max sequence length, and train again.")
        else:
            status, message, error = "failed", f"Training failed: {type(exc).__name__}: {exc}", exc
    seconds = previous_seconds + time.perf_counter() - t0
    state = trainer.state
    steps = int(state.global_step)
    if status == "finished" and callback.nan_step is not None:
        status = "failed"
        message = (f"The loss became NaN at step {callback.nan_step}: training diverged. Lower the learning "
                   f"rate (it was {config.learning_rate:g}; try {config.learning_rate / 10:g}).")
    elif status == "finished" and callback.cancel_requested:
        status = "cancelled"

    best_step = int(state.best_global_step) if getattr(state, "best_global_step", None) else None
    best = callback.evals.get(best_step) if best_step is not None else None
    if best is None and state.best_metric is not None:
        best = (float(state.best_metric), float("nan"))
    model_dir: str | None = None
    if status in ("finished", "cancelled") and writer:
        target = run_dir / "model"
        try:
            # load_best_model_at_end has put the best checkpoint's weights back into the model.
            _save_model(trainer.model, target)
            model_dir = str(target)
        except OSError as exc:
            status, message = "failed", f"Could not save the model to {target}: {exc}"
    base = callback.base[0] if callback.base else base_dev_spearman
    if status == "finished" and best is not None and base is not None and best[0] < base:
        message = (f"The fine-tuned model ({best[0]:.4f}) did not beat the base model ({base:.4f}) "
                   "on dev Spearman.")
    sink.flush()
    sink.update(status=status, finished_at=time.time(), seconds=seconds, steps=steps,
                best_dev_spearman=best[0] if best else None, best_step=best_step,
                model_dir=model_dir, message=message or None, base_dev_spearman=base)
    result = RunResult(
        run_id=run_id, status=status, device=device.id, steps=steps, seconds=seconds,
        base_dev_spearman=base, dev_spearman=best[0] if best else None,
        dev_pearson=best[1] if best and math.isfinite(best[1]) else None, model_dir=model_dir,
        message=message, eval_seconds=callback.eval_seconds,
        pairs=_pairs_seen(steps, steps_per_epoch, bs * world, len(data.train)))
    if status == "finished":
        reporter.finished(result)
    elif status == "cancelled":
        reporter.cancelled()
    else:
        reporter.failed(message)
    if error is not None:
        raise error
    return result

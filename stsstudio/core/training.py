"""Fine-tuning: ``train(project, config, reporter) -> RunResult``.

Plain Python with a reporter (Orange3's TaskState pattern): the CLI's reporter prints a progress
bar, the GUI's emits Qt signals from a worker thread, tests record the events. The loop itself is
sentence-transformers' Trainer; a TrainerCallback forwards its events to the reporter.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol


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
    loss: str = "cosine"               # "cosent" | "angle" | "cosine"; default chosen by measurement
    matryoshka: bool = False
    epochs: float = 1.0
    batch_size: int = 16
    learning_rate: float = 2e-5
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


def train(project: Any, config: TrainConfig, reporter: Reporter | None = None) -> RunResult:
    """Fine-tune a model on the project's labeled pairs. Implemented by the training engine."""
    raise NotImplementedError


def resume(project: Any, run_id: int, reporter: Reporter | None = None,
           device: str | None = None) -> RunResult:
    """Continue an interrupted or cancelled run from its last checkpoint."""
    raise NotImplementedError

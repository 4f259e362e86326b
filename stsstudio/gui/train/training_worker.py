"""TrainingWorker: runs ``core.training.train`` (or ``resume``) on a QThread and turns the reporter's
events into Qt signals.

The reporter runs on the worker thread inside the training loop, so it must stay cheap: it only
appends to a list and emits. Step events are batched and cross the thread boundary at most every
``flush_interval`` seconds (and at evaluations and the end), so the GUI thread never sees a flood of
queued signals and the training loop holds the GIL as briefly as possible. Connect the signals to
slots of GUI-thread objects (queued connections); lambdas would run on the worker thread.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from PySide6.QtCore import Signal

from stsstudio.core.errors import Cancelled, UserError
from stsstudio.gui.common.workers import Worker


class _SignalReporter:
    """The core Reporter protocol, implemented by emitting the worker's signals."""

    def __init__(self, worker: TrainingWorker, flush_interval: float) -> None:
        self._w = worker
        self._flush_interval = flush_interval
        self._buffer: list[tuple[int, float, float, float]] = []
        self._last_flush = 0.0
        self._lock = threading.Lock()
        self.total_steps = 0

    def _flush(self) -> None:
        with self._lock:
            batch, self._buffer = self._buffer, []
        if batch:
            self._last_flush = time.monotonic()
            self._w.metricsLogged.emit(batch)
            self._w.progressed.emit(batch[-1][0], self.total_steps)

    # -- Reporter protocol -----------------------------------------------------------

    def started(self, total_steps: int, device: str) -> None:
        self.total_steps = int(total_steps or 0)
        self._w.runStarted.emit(self.total_steps, str(device))

    def step(self, step: int, loss: float, learning_rate: float, epoch: float) -> None:
        with self._lock:
            self._buffer.append((int(step), float(loss), float(learning_rate or 0.0), float(epoch or 0.0)))
        if time.monotonic() - self._last_flush >= self._flush_interval:
            self._flush()

    def evaluated(self, step: int, spearman: float, pearson: float) -> None:
        self._flush()
        self._w.evaluated.emit(int(step), float(spearman), float(pearson))

    def interval(self, step: int, low: float, high: float) -> None:
        """Optional Reporter method: the 95 % interval of the evaluation just reported."""
        self._w.intervalComputed.emit(int(step), float(low), float(high))

    def checkpoint(self, path: str) -> None:
        self._w.checkpointSaved.emit(str(path))

    def status(self, message: str) -> None:
        self._w.statusChanged.emit(str(message))

    def finished(self, result: Any) -> None:
        self._flush()

    def failed(self, message: str) -> None:
        self._flush()
        self._w._failure_message = str(message)

    def cancelled(self) -> None:
        self._flush()

    def is_cancelled(self) -> bool:
        return self._w.task.is_cancelled()


class TrainingWorker(Worker):
    """A training run on its own QThread.

    Args:
        project: the open :class:`~stsstudio.core.store.Project` (thread-safe).
        config: a :class:`~stsstudio.core.training.TrainConfig` for a new run, or None with
            ``resume_run`` set to continue that run from its last checkpoint.
        resume_run: id of an interrupted or cancelled run to resume.
        device: the device for a resumed run (None: the run's own).
        num_threads: torch intra-op threads for the run; leaving a core to the GUI thread keeps
            the window responsive on small machines. None leaves torch's setting alone.
    """

    # ``started()`` (inherited) fires when the thread begins; ``runStarted`` when the model is
    # loaded and the loop knows its length. (Not a redefined ``started``: a subclass must not
    # override Worker's signals or its ``_run`` slot, or PySide6 runs ``_run`` on the GUI thread.)
    runStarted = Signal(int, str)         # total steps, device
    metricsLogged = Signal(object)        # a batch: [(step, loss, learning_rate, epoch), ...]
    evaluated = Signal(int, float, float)  # step, dev Spearman, dev Pearson
    intervalComputed = Signal(int, float, float)  # step, low and high of the dev Spearman's 95 % interval
    checkpointSaved = Signal(str)
    # Inherited: progressed(step, total), statusChanged(str), finished(RunResult),
    # failed(message, details), cancelled(), done().

    def __init__(self, project: Any, config: Any = None, *, resume_run: int | None = None,
                 device: str | None = None, num_threads: int | None = None,
                 flush_interval: float = 0.1) -> None:
        super().__init__()
        self.project = project
        self.config = config
        self.resume_run = resume_run
        self.device = device
        self.num_threads = num_threads
        self.result: Any = None
        self._failure_message = ""
        self.reporter = _SignalReporter(self, flush_interval)

    def work(self) -> Any:
        from stsstudio.core import training

        if self.num_threads:
            import torch

            torch.set_num_threads(self.num_threads)
        if self.resume_run is not None:
            result = training.resume(self.project, self.resume_run, self.reporter, device=self.device)
        else:
            result = training.train(self.project, self.config, self.reporter)
        self.result = result
        if getattr(result, "status", "finished") == "failed":
            # The base class turns a UserError into failed(message, "") and keeps it as ``error``.
            if getattr(result, "error", None) is not None:
                raise result.error
            raise UserError(getattr(result, "message", "") or self._failure_message or "Training failed.")
        if getattr(result, "status", "") == "cancelled":
            # The reporter stopped the loop; the base class turns Cancelled into cancelled().
            raise Cancelled(getattr(result, "message", "") or "Training cancelled.")
        return result

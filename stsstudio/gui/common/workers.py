"""The one worker pattern: a QObject moved to its own QThread (superqt's new_worker_qthread shape).

Usage::

    worker = FunctionWorker(some_core_function, arg1, kw=...)  # fn(*args, task=TaskState, **kw)
    worker.finished.connect(self._on_done)      # slots of GUI-thread objects, not lambdas
    worker.failed.connect(self._on_failed)
    start_worker(worker)                         # owns the thread; cleans up after itself

The function receives a :class:`TaskState` as keyword ``task`` when it accepts one: it may call
``task.progress(done, total)``, ``task.status(text)``, ``task.emit(obj)`` and check
``task.is_cancelled()``. Progress crosses the thread boundary only when the shown percentage
changes (Orange's TaskState.set_progress_value).

Cancel has one shape: the function raises :class:`stsstudio.core.errors.Cancelled` (or returns
once ``task.is_cancelled()``), and the worker emits ``cancelled``, never ``failed``.

"Latest job wins" has one shape too: a view that re-runs a job on every change owns a
:class:`JobRunner` and calls ``runner.start(fn, *args)``; the previous job is cancelled and its
late result dropped.
"""

from __future__ import annotations

import inspect
import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from stsstudio.core.errors import Cancelled, UserError

_active: set[Worker] = set()


class TaskState:
    """What a background function sees of its worker: progress, status, cancel."""

    def __init__(self, worker: Worker) -> None:
        self._worker = worker
        self._last_permille = -1
        self.cancel_event = threading.Event()

    def progress(self, done: int, total: int) -> None:
        permille = int(1000 * done / total) if total > 0 else 0
        if permille != self._last_permille:
            self._last_permille = permille
            self._worker.progressed.emit(int(done), int(total))

    def status(self, text: str) -> None:
        self._worker.statusChanged.emit(text)

    def emit(self, obj: object) -> None:
        """Send an intermediate result (a metrics event, a partial table, ...)."""
        self._worker.yielded.emit(obj)

    def is_cancelled(self) -> bool:
        return self.cancel_event.is_set()


class Worker(QObject):
    """Base class: subclasses implement :meth:`work` and return its result."""

    started = Signal()
    progressed = Signal(int, int)       # done, total
    statusChanged = Signal(str)
    yielded = Signal(object)
    finished = Signal(object)           # the result
    failed = Signal(str, str)           # user-facing message, details (traceback or "")
    cancelled = Signal()
    done = Signal()                     # after finished/failed/cancelled, always

    def __init__(self) -> None:
        super().__init__()
        self.task = TaskState(self)
        self._thread: QThread | None = None
        self.error: BaseException | None = None   # what ``failed`` reported, for typed errors' hints

    def work(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def cancel(self) -> None:
        self.task.cancel_event.set()

    def is_running(self) -> bool:
        return self._thread is not None and self._thread.isRunning()

    @Slot()
    def _run(self) -> None:
        self.started.emit()
        try:
            result = self.work()
        except Cancelled:
            self.cancelled.emit()           # the user stopped it: not a failure
        except UserError as exc:
            self.error = exc                # typed: views show its text and hint
            self.failed.emit(str(exc), "")
        except Exception as exc:  # noqa: BLE001 - a bug: show it, keep the app alive
            self.error = exc
            self.failed.emit(f"{type(exc).__name__}: {exc}", traceback.format_exc())
        else:
            if self.task.is_cancelled():
                self.cancelled.emit()
            else:
                self.finished.emit(result)
        finally:
            self.done.emit()
            thread = self.thread()
            if thread is not None:
                thread.quit()

    def wait(self, msecs: int = 5000) -> bool:
        return self._thread.wait(msecs) if self._thread is not None else True


class FunctionWorker(Worker):
    """Runs ``fn(*args, **kwargs)`` (passing ``task=`` when fn accepts it)."""

    def __init__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self._fn, self._args, self._kwargs = fn, args, kwargs
        try:
            params = inspect.signature(fn).parameters
            self._wants_task = "task" in params
        except (TypeError, ValueError):
            self._wants_task = False

    def work(self) -> Any:
        if self._wants_task:
            return self._fn(*self._args, task=self.task, **self._kwargs)
        return self._fn(*self._args, **self._kwargs)


class _Reaper(QObject):
    """Lives in the GUI thread and drops a worker only after its thread has really ended.

    ``QThread.finished`` is emitted from the ending thread itself; dropping the last Python
    reference there would destroy a QThread that is still running (a hard crash). Connected to
    a slot of this GUI-thread object, the signal is queued, and the slot can ``wait()`` safely.
    """

    @Slot()
    def _on_thread_finished(self) -> None:
        thread = self.sender()
        for worker in list(_active):
            if worker._thread is thread:
                worker._thread.wait()
                _active.discard(worker)


_reaper: _Reaper | None = None


def _get_reaper() -> _Reaper:
    global _reaper
    if _reaper is None:
        _reaper = _Reaper()
        app = QCoreApplication.instance()
        if app is not None:
            _reaper.moveToThread(app.thread())
    return _reaper


def start_worker(worker: Worker) -> QThread:
    """Move ``worker`` to a new QThread and start it. The pair is released when done.

    Call from the GUI thread. The worker stays referenced (see :func:`active_workers`) until
    its thread has ended, so callers need not keep a reference of their own.
    """
    thread = QThread()
    thread.setObjectName(type(worker).__name__)
    worker._thread = thread
    worker.moveToThread(thread)
    thread.started.connect(worker._run)
    thread.finished.connect(_get_reaper()._on_thread_finished)
    _active.add(worker)
    thread.start()
    return thread


class JobRunner(QObject):
    """Latest job wins: one job at a time per owner (Orange's ``ConcurrentWidgetMixin.start``).

    ``start(fn, *args)`` cancels the job still running and starts the new one; the old job's
    late result, failure or progress never comes through. Only the newest job's signals are
    relayed by the runner's own signals, so a view connects them once::

        self._counter = JobRunner(self)
        self._counter.finished.connect(self._on_counted)
        ...
        self._counter.start(count_pairs, project)       # on every change

    With ``serial=True`` the new job waits until the cancelled one has really ended (never
    two threads for one owner, e.g. when both would load a model or scan the same table).
    """

    started = Signal()
    progressed = Signal(int, int)
    statusChanged = Signal(str)
    yielded = Signal(object)
    finished = Signal(object)
    failed = Signal(str, str)
    cancelled = Signal()
    done = Signal()
    busyChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None, *, serial: bool = False) -> None:
        super().__init__(parent)
        self.serial = serial
        self.worker: Worker | None = None       # the newest job (running or waiting to start)
        self._stale: set[Worker] = set()        # cancelled jobs whose threads still run
        self._waiting = False                   # serial: ``worker`` waits for a stale one
        self._busy = False

    def start(self, fn: Callable[..., Any] | Worker, *args: Any, **kwargs: Any) -> Worker:
        """Start ``fn(*args, **kwargs)`` (or a ready-made worker); the previous job goes stale."""
        self.cancel(quiet=True)
        worker = fn if isinstance(fn, Worker) else FunctionWorker(fn, *args, **kwargs)
        for name in ("started", "progressed", "statusChanged", "yielded", "finished",
                     "failed", "cancelled", "done"):
            getattr(worker, name).connect(getattr(self, "_on_" + name))
        self.worker = worker
        self._set_busy(True)
        if self.serial and self._stale:
            self._waiting = True
        else:
            start_worker(worker)
        return worker

    def cancel(self, *, quiet: bool = False) -> None:
        """Cancel the current job. Its ``cancelled`` comes through unless ``quiet``
        (then, as with a newer start, nothing more is heard of it)."""
        worker = self.worker
        if worker is None:
            return
        worker.cancel()
        if not quiet:
            if self._waiting:                # never started: report it at once
                self._waiting = False
                self.worker = None
                self._set_busy(False)
                self.cancelled.emit()
                self.done.emit()
            return
        self.worker = None
        if self._waiting:
            self._waiting = False            # never started: just forget it
        else:
            self._stale.add(worker)
        self._set_busy(False)

    def is_running(self) -> bool:
        """True while the newest job has not ended."""
        return self.worker is not None

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busyChanged.emit(busy)

    def _current(self) -> bool:
        return self.sender() is self.worker and not self._waiting

    @Slot()
    def _on_started(self) -> None:
        if self._current():
            self.started.emit()

    @Slot(int, int)
    def _on_progressed(self, done: int, total: int) -> None:
        if self._current():
            self.progressed.emit(done, total)

    @Slot(str)
    def _on_statusChanged(self, text: str) -> None:  # noqa: N802 - named after the signal
        if self._current():
            self.statusChanged.emit(text)

    @Slot(object)
    def _on_yielded(self, obj: object) -> None:
        if self._current():
            self.yielded.emit(obj)

    @Slot(object)
    def _on_finished(self, result: object) -> None:
        if self._current():
            self.finished.emit(result)

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        if self._current():
            self.failed.emit(message, details)

    @Slot()
    def _on_cancelled(self) -> None:
        if self._current():
            self.cancelled.emit()

    @Slot()
    def _on_done(self) -> None:
        worker = self.sender()
        if worker is self.worker and not self._waiting:
            self.worker = None
            self._set_busy(False)
            self.done.emit()
            return
        self._stale.discard(worker)  # type: ignore[arg-type]
        if self._waiting and not self._stale and self.worker is not None:
            self._waiting = False
            start_worker(self.worker)


def active_workers() -> list[Worker]:
    """Workers whose thread is still running."""
    return [w for w in list(_active) if w.is_running()]


def wait_for_workers_to_quit(msecs: int = 5000) -> bool:
    """On quit: cancel every worker, then wait for its thread (napari's aboutToQuit hook).

    Returns True when every thread ended within ``msecs`` (each).
    """
    for worker in list(_active):
        worker.cancel()
    ok = True
    for worker in list(_active):
        ok = worker.wait(msecs) and ok
        QCoreApplication.processEvents()
    for worker in list(_active):
        if not worker.is_running():
            _active.discard(worker)
    return ok


def freeze_long_lived_objects() -> None:
    """Move every object alive now (torch, transformers: millions of them) out of the collector's
    reach, so a full collection on the GUI thread stays a few milliseconds, not tens."""
    import gc

    gc.collect()
    gc.freeze()


class GuiThreadGarbageCollector(QObject):
    """Run Python's cyclic garbage collector on the GUI thread only.

    With worker threads busy (training allocates a lot), automatic collection can start on a
    worker thread and tear down Qt objects (pyqtgraph items) there, which crashes the process.
    So automatic collection is off and a GUI-thread timer collects instead: the pattern of
    pyqtgraph's ``util.garbage_collector``, without importing pyqtgraph on the start-up path.
    """

    def __init__(self, interval_ms: int = 1000, parent: QObject | None = None) -> None:
        super().__init__(parent)
        import gc

        from PySide6.QtCore import QTimer

        self._threshold = gc.get_threshold()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.check)
        self._timer.start(interval_ms)

    @Slot()
    def check(self) -> None:
        import gc

        l0, l1, l2 = gc.get_count()
        if l0 > self._threshold[0]:
            gc.collect(0)
            if l1 > self._threshold[1]:
                gc.collect(1)
                if l2 > self._threshold[2]:
                    gc.collect(2)

    def stop(self) -> None:
        import gc

        self._timer.stop()
        gc.enable()

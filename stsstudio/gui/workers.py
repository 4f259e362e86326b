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
"""

from __future__ import annotations

import inspect
import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from stsstudio.core.errors import UserError

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
        except UserError as exc:
            self.failed.emit(str(exc), "")
        except Exception as exc:  # noqa: BLE001 - a bug: show it, keep the app alive
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

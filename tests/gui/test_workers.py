"""The one worker pattern: results, failures, progress, cancel, and clean-up of threads."""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import QObject, Slot

from stsstudio.core.errors import UserError
from stsstudio.gui.workers import FunctionWorker, TaskState, active_workers, start_worker


class _Sink(QObject):
    """Receives worker signals in the GUI thread, as real views do."""

    def __init__(self) -> None:
        super().__init__()
        self.results: list[object] = []
        self.failures: list[tuple[str, str]] = []
        self.progress: list[tuple[int, int]] = []
        self.threads: list[object] = []

    @Slot(object)
    def on_finished(self, result: object) -> None:
        self.results.append(result)
        self.threads.append(threading.current_thread())

    @Slot(str, str)
    def on_failed(self, message: str, details: str) -> None:
        self.failures.append((message, details))

    @Slot(int, int)
    def on_progressed(self, done: int, total: int) -> None:
        self.progress.append((done, total))


def _count(n: int, task: TaskState) -> int:
    for i in range(n):
        task.progress(i + 1, n)
    return n * 2


def test_result_reaches_gui_thread(qtbot):
    sink = _Sink()
    worker = FunctionWorker(_count, 2000)
    worker.finished.connect(sink.on_finished)
    worker.progressed.connect(sink.on_progressed)
    with qtbot.waitSignal(worker.done, timeout=5000):
        start_worker(worker)
    qtbot.waitUntil(lambda: sink.results == [4000], timeout=2000)
    assert sink.threads == [threading.main_thread()]
    # Progress crosses the thread boundary only when the shown permille changes.
    assert 0 < len(sink.progress) <= 1001
    assert sink.progress[-1] == (2000, 2000)
    qtbot.waitUntil(lambda: not active_workers(), timeout=5000)


def _fail_user() -> None:
    raise UserError("bad file.csv, row 3, column 'score': not a number")


def _fail_bug() -> None:
    raise ZeroDivisionError("oops")


def test_user_error_and_bug_are_reported(qtbot):
    sink = _Sink()
    for fn in (_fail_user, _fail_bug):
        worker = FunctionWorker(fn)
        worker.failed.connect(sink.on_failed)
        with qtbot.waitSignal(worker.done, timeout=5000):
            start_worker(worker)
    qtbot.waitUntil(lambda: len(sink.failures) == 2, timeout=2000)
    (msg1, det1), (msg2, det2) = sink.failures
    assert msg1 == "bad file.csv, row 3, column 'score': not a number" and det1 == ""
    assert msg2.startswith("ZeroDivisionError") and "Traceback" in det2


def _wait_for_cancel(task: TaskState) -> str:
    deadline = time.monotonic() + 5
    while not task.is_cancelled() and time.monotonic() < deadline:
        time.sleep(0.005)
    return "stopped"


def test_cancel_emits_cancelled_not_finished(qtbot):
    sink = _Sink()
    worker = FunctionWorker(_wait_for_cancel)
    worker.finished.connect(sink.on_finished)
    start_worker(worker)
    assert worker.is_running()
    with qtbot.waitSignal(worker.cancelled, timeout=5000):
        worker.cancel()
    qtbot.waitUntil(lambda: not active_workers(), timeout=5000)
    assert sink.results == []


def test_many_unreferenced_workers_clean_up(qtbot):
    # Nobody keeps a reference: the pattern itself must keep each worker alive until its
    # thread has ended (dropping a running QThread aborts the process).
    for i in range(20):
        start_worker(FunctionWorker(time.sleep, 0.001 * (i % 3)))
    qtbot.waitUntil(lambda: not active_workers(), timeout=10000)

"""The one worker pattern: results, failures, progress, cancel, and clean-up of threads."""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import QObject, Slot

from stsstudio.core.errors import Cancelled, UserError
from stsstudio.gui.common.workers import (
    FunctionWorker,
    JobRunner,
    TaskState,
    active_workers,
    start_worker,
)


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


def _raise_cancelled(task: TaskState) -> None:
    raise Cancelled("Import cancelled")


def test_cancelled_error_arrives_as_cancelled_not_failed(qtbot):
    sink = _Sink()
    worker = FunctionWorker(_raise_cancelled)
    worker.failed.connect(sink.on_failed)
    with qtbot.waitSignal(worker.cancelled, timeout=5000):
        start_worker(worker)
    qtbot.waitUntil(lambda: not active_workers(), timeout=5000)
    assert sink.failures == []


def _echo_after(value: str, gate: threading.Event, task: TaskState) -> str:
    """Returns ``value`` once ``gate`` opens, whether or not it was cancelled meanwhile (as a
    query that cannot be interrupted does)."""
    gate.wait(5)
    return value


def test_runner_second_start_drops_the_first_result(qtbot):
    sink = _Sink()
    runner = JobRunner()
    runner.finished.connect(sink.on_finished)
    runner.failed.connect(sink.on_failed)
    first_gate, second_gate = threading.Event(), threading.Event()
    first = runner.start(_echo_after, "first", first_gate)
    second = runner.start(_echo_after, "second", second_gate)
    assert first.task.is_cancelled() and not second.task.is_cancelled()
    # The stale job ends first (its thread really returns a result) ...
    with qtbot.waitSignal(first.done, timeout=5000):
        first_gate.set()
    qtbot.wait(50)
    assert sink.results == []
    assert runner.is_running()
    # ... and only the newest job's result comes through.
    with qtbot.waitSignal(runner.done, timeout=5000):
        second_gate.set()
    assert sink.results == ["second"] and sink.failures == []
    assert not runner.is_running()
    qtbot.waitUntil(lambda: not active_workers(), timeout=5000)


def test_runner_cancel_arrives_as_cancelled(qtbot):
    sink = _Sink()
    runner = JobRunner()
    runner.finished.connect(sink.on_finished)
    runner.failed.connect(sink.on_failed)
    runner.start(_wait_for_cancel)
    with qtbot.waitSignal(runner.cancelled, timeout=5000):
        runner.cancel()
    qtbot.waitUntil(lambda: not runner.is_running(), timeout=5000)
    assert sink.results == [] and sink.failures == []
    qtbot.waitUntil(lambda: not active_workers(), timeout=5000)


def test_serial_runner_starts_the_next_job_after_the_stale_one_ended(qtbot):
    sink = _Sink()
    runner = JobRunner(serial=True)
    runner.finished.connect(sink.on_finished)
    gate = threading.Event()
    first = runner.start(_echo_after, "first", gate)
    second = runner.start(_echo_after, "second", threading.Event())
    third = runner.start(_echo_after, "third", _open_gate())
    qtbot.wait(50)
    assert first.is_running() and not second.is_running() and not third.is_running()
    assert sink.results == []
    with qtbot.waitSignal(runner.done, timeout=5000):
        gate.set()
    assert sink.results == ["third"]
    assert second._thread is None          # never started: dropped while it waited
    qtbot.waitUntil(lambda: not active_workers(), timeout=5000)


def _open_gate() -> threading.Event:
    gate = threading.Event()
    gate.set()
    return gate

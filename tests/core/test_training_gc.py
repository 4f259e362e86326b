"""Training in a worker thread never runs the garbage collector there (issue 20's journey).

The desktop app trains in a QThread and collects cyclic garbage on the GUI thread only: a
collection on the worker tears down Qt objects there. accelerate's ``free_memory`` (at the end
of every ``Trainer.train``) calls ``gc.collect()`` itself, and in the journey test that deadlocked
the worker against the GUI thread. With automatic collection off (as in the app), any collection
that starts on the worker is a library's explicit call: there must be none. On the main thread
(the CLI) the libraries keep theirs.
"""

from __future__ import annotations

import gc
import threading
from pathlib import Path

import pytest
from training_support import RecordingReporter, fill_project

from stsstudio.core.store import Project
from stsstudio.core.training import TrainConfig, train


def _collections_by_thread(fn) -> list[str]:
    threads: list[str] = []

    def on_gc(phase: str, _info: dict) -> None:
        if phase == "start":
            threads.append(threading.current_thread().name)

    enabled = gc.isenabled()
    gc.disable()
    gc.callbacks.append(on_gc)
    try:
        fn()
    finally:
        gc.callbacks.remove(on_gc)
        if enabled:
            gc.enable()
    return threads


def test_a_run_in_a_worker_thread_collects_nothing_there(project: Project, tiny_model_dir: Path) -> None:
    fill_project(project, train=40, dev=12)
    config = TrainConfig(base_model=str(tiny_model_dir), batch_size=8, max_steps=2, eval_steps=2, seed=7,
                         device="cpu")
    results = []

    def run_in_worker() -> None:
        worker = threading.Thread(target=lambda: results.append(train(project, config, RecordingReporter())),
                                  name="training-worker")
        worker.start()
        worker.join(timeout=300)

    threads = _collections_by_thread(run_in_worker)
    assert results and results[0].status == "finished", results
    assert "training-worker" not in threads


def test_the_cli_thread_keeps_the_libraries_collections(project: Project, tiny_model_dir: Path) -> None:
    fill_project(project, train=40, dev=12)
    config = TrainConfig(base_model=str(tiny_model_dir), batch_size=8, max_steps=2, eval_steps=2, seed=7,
                         device="cpu")
    threads = _collections_by_thread(lambda: train(project, config, RecordingReporter()))
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("pytest runs this test off the main thread")
    assert threading.main_thread().name in threads   # accelerate's own gc.collect() still runs

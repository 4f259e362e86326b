"""Responsiveness while training: a 10 ms QTimer heartbeat on the GUI thread records the gaps
between its ticks while the REAL embedded model (all-MiniLM-L6-v2) trains on STSb pairs on the
CPU through the real Train view with its live plots.

Targets (issue 5): longest stall <= 50 ms, p99 gap <= 20 ms.

    python bench/scenarios_train.py [--train 400] [--dev 100] [--max-steps 30] [--eval-steps 10]

``run(args)`` is also called by ``bench/gui_responsiveness.py`` (its training scenario).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
STSB = REPO.parent / "shared" / "data" / "stsb"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--train", type=int, default=400, help="STSb train pairs (default 400)")
    parser.add_argument("--dev", type=int, default=100, help="STSb dev pairs (default 100)")
    parser.add_argument("--max-steps", type=int, default=30)
    parser.add_argument("--eval-steps", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--all-cores", action="store_true",
                        help="let torch use every core (default: keep one for the GUI thread)")
    parser.add_argument("--json", action="store_true", help="print one JSON line at the end")
    parser.add_argument("--trace", action="store_true", help="list the longest gaps and nearby events")


def _read_stsb(path: Path, limit: int) -> list[tuple[str, str, float]]:
    rows = []
    with open(path, encoding="utf-8") as fh:
        for rec in csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(rec) < 7:
                continue
            try:
                score = float(rec[4]) / 5.0
            except ValueError:
                continue
            rows.append((rec[5], rec[6], min(1.0, max(0.0, score))))
            if len(rows) >= limit:
                break
    return rows


def _make_project(folder: Path, n_train: int, n_dev: int) -> Any:
    from stsstudio.core.store import Project

    project = Project.create(folder, name="STSb responsiveness bench")
    train = _read_stsb(STSB / "sts-train.csv", n_train)
    dev = _read_stsb(STSB / "sts-dev.csv", n_dev)
    project.pairs.insert([(a, b, s, "train", i + 1, None) for i, (a, b, s) in enumerate(train)],
                         source="sts-train.csv")
    project.pairs.insert([(a, b, s, "dev", i + 1, None) for i, (a, b, s) in enumerate(dev)],
                         source="sts-dev.csv")
    return project


def run(args: argparse.Namespace | None = None) -> dict[str, Any]:
    """Run the scenario and print its figures; returns them as a dict."""
    import numpy as np
    from PySide6.QtCore import QObject, QTimer, Slot
    from PySide6.QtWidgets import QApplication

    opts = argparse.Namespace(train=400, dev=100, max_steps=30, eval_steps=10, batch_size=16,
                              all_cores=False, json=False, trace=False)
    if args is not None:
        for key, value in vars(args).items():
            setattr(opts, key, value)

    from stsstudio.app import create_application
    from stsstudio.gui.common.workers import freeze_long_lived_objects

    app = QApplication.instance() or create_application(sys.argv[:1])  # as the app: GC on the GUI thread
    # Import the ML stack before the measured part, as the app does in the background at start-up.
    import sentence_transformers  # noqa: F401
    import torch  # noqa: F401

    freeze_long_lived_objects()  # as the app does once the ML stack is loaded

    from stsstudio.gui.common.context import ProjectContext
    from stsstudio.gui.train.train_view import TrainView

    tmp = tempfile.TemporaryDirectory(prefix="sts-bench-train-")
    project = _make_project(Path(tmp.name) / "project", opts.train, opts.dev)
    ctx = ProjectContext()
    ctx.set_project(project)
    view = TrainView(ctx)
    view.reserve_gui_core = not opts.all_cores
    view.resize(1280, 800)
    view.show()
    app.processEvents()
    view.set_base_model("default")
    view.device_combo.setCurrentIndex(view.device_combo.findData("cpu"))
    view.batch_size.setValue(opts.batch_size)
    view.max_steps.setValue(opts.max_steps)
    view.eval_steps.setValue(opts.eval_steps)

    class Probe(QObject):
        def __init__(self) -> None:
            super().__init__()
            self.gaps: list[float] = []
            self.recording = False
            self.last = time.perf_counter()
            self.timer = QTimer(self)
            self.timer.setInterval(10)
            self.timer.timeout.connect(self._on_tick)

            self.events: list[tuple[float, str]] = []
            self.gap_times: list[float] = []

        @Slot()
        def _on_tick(self) -> None:
            now = time.perf_counter()
            if self.recording:
                self.gaps.append((now - self.last) * 1000.0)
                self.gap_times.append(self.last)
            self.last = now

        @Slot(str)
        def _on_event(self, name: str) -> None:
            self.events.append((time.perf_counter(), name))

        @Slot(object)
        def _on_metrics(self, batch: object) -> None:
            self.events.append((time.perf_counter(), f"metrics x{len(batch)}"))

        @Slot(int, float, float)
        def _on_evaluated(self, step: int, *_: float) -> None:
            self.events.append((time.perf_counter(), f"evaluated @{step}"))

        @Slot(int, str)
        def _on_started(self, _total: int, _device: str) -> None:
            self.last = time.perf_counter()
            self.recording = True

    probe = Probe()
    probe.timer.start()
    t0 = time.perf_counter()
    view.start_training()
    assert view.worker is not None, "the run did not start: " + view.warnings_label.text()
    view.worker.runStarted.connect(probe._on_started)
    view.worker.statusChanged.connect(probe._on_event)
    view.worker.checkpointSaved.connect(probe._on_event)
    view.worker.metricsLogged.connect(probe._on_metrics)
    view.worker.evaluated.connect(probe._on_evaluated)
    while view.is_training():
        app.processEvents()
        time.sleep(0.001)
    probe.recording = False
    wall = time.perf_counter() - t0
    gaps = np.asarray(probe.gaps) if probe.gaps else np.asarray([0.0])
    result = view.last_result
    figures = {
        "scenario": "train",
        "status": view.last_status,
        "error": view.last_error,
        "train_pairs": opts.train,
        "dev_pairs": opts.dev,
        "steps": getattr(result, "steps", None),
        "torch_threads": view._num_threads() or "default",
        "wall_s": round(wall, 1),
        "ticks": int(len(probe.gaps)),
        "longest_gap_ms": round(float(gaps.max()), 1),
        "p99_gap_ms": round(float(np.percentile(gaps, 99)), 1),
        "p50_gap_ms": round(float(np.percentile(gaps, 50)), 1),
        "throughput": view.speed_label.text(),
        "loss_points": view.loss_plot.live.n,
        "eval_points": view.eval_plot.spearman.n,
        "base_dev_spearman": getattr(result, "base_dev_spearman", None),
        "dev_spearman": getattr(result, "dev_spearman", None),
    }
    print(f"training scenario: {figures['status']} in {figures['wall_s']} s, {figures['steps']} steps, "
          f"{opts.train} train / {opts.dev} dev STSb pairs, torch threads {figures['torch_threads']}")
    print(f"  heartbeat 10 ms: {figures['ticks']} ticks, longest gap {figures['longest_gap_ms']} ms "
          f"(target <= 50), p99 {figures['p99_gap_ms']} ms (target <= 20), p50 {figures['p50_gap_ms']} ms")
    print(f"  throughput {figures['throughput']}; plotted {figures['loss_points']} loss points, "
          f"{figures['eval_points']} evaluations; dev Spearman {figures['base_dev_spearman']} -> "
          f"{figures['dev_spearman']}")
    if figures["error"]:
        print(f"  error: {figures['error']}")
    if opts.trace:
        order = np.argsort(-gaps)[:15]
        for i in order:
            start = probe.gap_times[i]
            near = [f"{name} ({(t - start) * 1000:+.0f} ms)" for t, name in probe.events
                    if -300 <= (t - start) * 1000 <= gaps[i] + 300]
            print(f"  gap {gaps[i]:6.1f} ms at t={start - t0:6.2f} s: {', '.join(near) or '-'}")
    if opts.json:
        print(json.dumps(figures))
    view.close()
    ctx.set_project(None)
    tmp.cleanup()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    figures = run(parser.parse_args(argv))
    return 0 if figures["status"] == "finished" else 1


if __name__ == "__main__":
    sys.exit(main())

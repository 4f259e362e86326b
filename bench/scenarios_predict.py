"""Responsiveness while every pair is scored in the background (issue 12): a 10 ms QTimer
heartbeat on the GUI thread records the gaps between its ticks while the Label view is open and
the app's PredictionScheduler scores N generated pairs (default 100,000); meanwhile a label is
given every 250 ms through the view (Enter), and its latency is recorded too.

Targets (issue 5/12): longest gap <= 50 ms, p99 gap <= 20 ms.

The model is a generated tiny BERT (``--model tiny``, the tests' model), so the run measures
what the scoring does to the GUI (the worker, its writes, the shared project lock) rather than
how fast a real model encodes on this CPU; ``--model default`` uses the embedded MiniLM.

    python bench/scenarios_predict.py [--predict-pairs 100000] [--model tiny] [--json]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--predict-pairs", type=int, default=100_000)
    parser.add_argument("--model", default="tiny", help="tiny (generated) or a model reference")
    parser.add_argument("--json", action="store_true")


def _tiny_model(folder: Path) -> Path:
    spec = importlib.util.spec_from_file_location("_sts_conftest", REPO / "tests" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module._build_tiny_model(folder)


def _pairs(n: int) -> list[tuple]:
    rng = random.Random(0)
    words = ("the a man woman dog cat plane car train guitar pizza cheese vpn printer password "
             "email laptop screen network wifi drops keeps broken slow fast error server home "
             "office today again please help user new old computer phone").split()

    def sentence() -> str:
        return " ".join(rng.choice(words) for _ in range(rng.randint(5, 12)))

    return [(sentence(), sentence(), None, "train", i + 1, None) for i in range(n)]


def run(args: argparse.Namespace | None = None) -> dict[str, Any]:
    import numpy as np
    from PySide6.QtCore import QObject, QTimer, Slot
    from PySide6.QtWidgets import QApplication

    opts = argparse.Namespace(predict_pairs=100_000, model="tiny", json=False)
    if args is not None:
        for key, value in vars(args).items():
            setattr(opts, key, value)
    from stsstudio.app import create_application
    from stsstudio.gui.common.workers import freeze_long_lived_objects

    app = QApplication.instance() or create_application(sys.argv[:1])
    import sentence_transformers  # noqa: F401 - loaded in the background at start-up in the app
    import torch  # noqa: F401

    freeze_long_lived_objects()
    from stsstudio.core.store import Project
    from stsstudio.gui.common.context import ProjectContext
    from stsstudio.gui.label.annotate import AnnotateView
    from stsstudio.gui.label.prediction_scheduler import PredictionScheduler

    tmp = tempfile.TemporaryDirectory(prefix="sts-bench-predict-")
    root = Path(tmp.name)
    model = str(_tiny_model(root / "model")) if opts.model == "tiny" else opts.model
    t_make = time.perf_counter()
    project = Project.create(root / "project", base_model=model)
    project.pairs.insert(_pairs(opts.predict_pairs))
    make_s = time.perf_counter() - t_make
    ctx = ProjectContext()
    ctx.ml_ready = True
    scheduler = PredictionScheduler(ctx)
    scheduler._timer.setInterval(0)
    view = AnnotateView(ctx)
    view.resize(1280, 800)
    view.show()

    class Probe(QObject):
        def __init__(self) -> None:
            super().__init__()
            self.gaps: list[float] = []
            self.label_ms: list[float] = []
            self.last = time.perf_counter()
            self.done = False
            self.timer = QTimer(self, interval=10)
            self.timer.timeout.connect(self._on_tick)
            self.labeller = QTimer(self, interval=250)
            self.labeller.timeout.connect(self._on_label)

        @Slot()
        def _on_tick(self) -> None:
            now = time.perf_counter()
            self.gaps.append((now - self.last) * 1000.0)
            self.last = now

        @Slot()
        def _on_label(self) -> None:
            t = time.perf_counter()
            view.set_score(0.6)
            view.confirm()
            self.label_ms.append((time.perf_counter() - t) * 1000.0)

        @Slot(int)
        def _on_predicted(self, _run_id: int) -> None:
            self.done = True

    probe = Probe()
    ctx.predictionsChanged.connect(probe._on_predicted)
    t0 = time.perf_counter()
    ctx.set_project(project)          # the scheduler starts scoring the base model
    probe.last = time.perf_counter()
    probe.timer.start()
    probe.labeller.start()
    while not probe.done and time.perf_counter() - t0 < 3600:
        app.processEvents()
        time.sleep(0.001)
    wall = time.perf_counter() - t0
    probe.timer.stop()
    probe.labeller.stop()
    while scheduler.running is not None:
        app.processEvents()
        time.sleep(0.01)
    gaps = np.asarray(probe.gaps[1:] or [0.0])
    labels = np.asarray(probe.label_ms or [0.0])
    figures = {
        "scenario": "predict",
        "pairs": opts.predict_pairs,
        "model": opts.model,
        "project_build_s": round(make_s, 1),
        "scored": len(project.predictions.get(0)),
        "wall_s": round(wall, 1),
        "ticks": int(len(gaps)),
        "longest_gap_ms": round(float(gaps.max()), 1),
        "p99_gap_ms": round(float(np.percentile(gaps, 99)), 1),
        "p50_gap_ms": round(float(np.percentile(gaps, 50)), 1),
        "labels_given": int(len(probe.label_ms)),
        "label_p50_ms": round(float(np.percentile(labels, 50)), 1),
        "label_max_ms": round(float(labels.max()), 1),
    }
    print(f"predict scenario: {figures['scored']:,} of {opts.predict_pairs:,} pairs scored with "
          f"{opts.model} in {figures['wall_s']} s while labelling")
    print(f"  heartbeat 10 ms: {figures['ticks']} ticks, longest gap {figures['longest_gap_ms']} ms "
          f"(target <= 50), p99 {figures['p99_gap_ms']} ms (target <= 20), p50 {figures['p50_gap_ms']} ms")
    print(f"  {figures['labels_given']} labels given meanwhile: p50 {figures['label_p50_ms']} ms, "
          f"max {figures['label_max_ms']} ms")
    if opts.json:
        print(json.dumps(figures))
    view.close()
    ctx.set_project(None)
    tmp.cleanup()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    run(parser.parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Helpers shared by the training tests: a small labeled project and a recording reporter."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
STSB_DEV = SHARED / "data" / "stsb" / "sts-dev.csv"

# Used when the shared STSb files are not there: sentences in the tiny model's vocabulary.
_SYNTHETIC = [
    ("a man is playing a guitar", "a man is playing the guitar", 1.0),
    ("a woman is slicing cheese", "a man is eating pizza", 0.1),
    ("the vpn keeps dropping", "vpn connection drops again", 0.9),
    ("my password reset is broken", "please help reset my password", 0.8),
    ("a dog is running", "a cat is sitting", 0.2),
    ("the printer is slow", "the printer is not working", 0.6),
    ("a plane is taking off", "an plane is taking off", 1.0),
    ("wifi disconnects at home", "the laptop screen is broken", 0.0),
]


def stsb_rows(n: int, offset: int = 0) -> list[tuple[str, str, float]]:
    """``n`` (sentence1, sentence2, score 0-1) rows of STSb dev, or synthetic ones."""
    rows: list[tuple[str, str, float]] = []
    if STSB_DEV.exists():
        with open(STSB_DEV, encoding="utf8") as f:
            for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
                rows.append((row[5], row[6], float(row[4]) / 5.0))
                if len(rows) >= n + offset:
                    break
        return rows[offset:offset + n]
    for i in range(n + offset):
        s1, s2, y = _SYNTHETIC[i % len(_SYNTHETIC)]
        rows.append((f"{s1} {i}", f"{s2} {i}", y))
    return rows[offset:offset + n]


def fill_project(project: Any, train: int = 40, dev: int = 12) -> None:
    """Insert ``train`` labeled train pairs and ``dev`` labeled dev pairs."""
    rows = [(a, b, y, "train", i + 1, None) for i, (a, b, y) in enumerate(stsb_rows(train))]
    rows += [(a, b, y, "dev", i + 1, None) for i, (a, b, y) in enumerate(stsb_rows(dev, offset=train))]
    project.pairs.insert(rows, source="stsb")


class RecordingReporter:
    """Records every event; cancels after ``cancel_after`` steps when given."""

    def __init__(self, cancel_after: int | None = None) -> None:
        self.events: list[tuple] = []
        self.cancel_after = cancel_after
        self.steps_seen = 0
        self.cancel_polled_at: int | None = None

    def started(self, total_steps: int, device: str) -> None:
        self.events.append(("started", total_steps, device))

    def step(self, step: int, loss: float, learning_rate: float, epoch: float) -> None:
        self.steps_seen = step
        self.events.append(("step", step, loss, learning_rate, epoch))

    def evaluated(self, step: int, spearman: float, pearson: float) -> None:
        self.events.append(("evaluated", step, spearman, pearson))

    def checkpoint(self, path: str) -> None:
        self.events.append(("checkpoint", path))

    def status(self, message: str) -> None:
        self.events.append(("status", message))

    def finished(self, result: Any) -> None:
        self.events.append(("finished", result))

    def failed(self, message: str) -> None:
        self.events.append(("failed", message))

    def cancelled(self) -> None:
        self.events.append(("cancelled",))

    def is_cancelled(self) -> bool:
        return self.cancel_after is not None and self.steps_seen >= self.cancel_after

    def kinds(self) -> list[str]:
        return [e[0] for e in self.events]

    def of(self, kind: str) -> list[tuple]:
        return [e for e in self.events if e[0] == kind]


def add_finished_run(project: Any, model_dir: Path, *, loss: str = "cosent", spearman: float = 0.5,
                     config: dict[str, Any] | None = None, **fields: Any) -> int:
    """Record a finished run whose model is a copy of ``model_dir``, without training.

    The run counts as measurably better than the base model (so it can be the best run) unless
    ``summary`` says otherwise."""
    import shutil

    fields.setdefault("summary", {"outcome": "better", "verdict": "Better than the base model."})

    run_id = project.runs.create(base_model=project.base_model, loss=loss,
                                config=config or {"epochs": 1, "batch_size": 16}, device="cpu")
    target = project.runs.folder(run_id) / "model"
    shutil.copytree(model_dir, target)
    project.runs.update(run_id, status="finished", model_dir=str(target), best_dev_spearman=spearman,
                       **fields)
    return run_id

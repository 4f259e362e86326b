"""After training, headless (issue 20, points 7 and 12): the CLI says what to do next, warns
when it exports a run that is not better than the base model, flags a leaked ``--data`` file,
and prints no library progress bar. The CLI runs in a subprocess, as a user runs it."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from stsstudio.core.store import Project

REPO = Path(__file__).resolve().parents[2]
WORDS = ["printer", "vpn", "laptop", "email", "wifi", "phone", "server", "password"]
BARS = ("|█", "█|", "Loading weights", "Computing widget examples", "Writing model shards", "it/s]")


def _rows() -> list[tuple[str, str, float, str]]:
    rows = []
    for i, w in enumerate(WORDS * 2):
        split = "train" if i < 11 else "dev"
        other = WORDS[(i + 3) % len(WORDS)]
        rows.append((f"my {w} is broken", f"the {w} is not working", 0.9, split))
        rows.append((f"my {w} is slow", f"the {other} works again", 0.1 + 0.05 * (i % 3), split))
    return rows


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(REPO))
    for key in ("TQDM_DISABLE", "HF_HUB_DISABLE_PROGRESS_BARS", "TRANSFORMERS_VERBOSITY",
                "HF_DATASETS_DISABLE_PROGRESS_BARS"):
        env.pop(key, None)   # the CLI must silence the libraries itself
    return subprocess.run([sys.executable, "-m", "stsstudio", *args], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=300)


def _no_bars(proc: subprocess.CompletedProcess[str]) -> None:
    text = proc.stdout + proc.stderr
    assert not [b for b in BARS if b in text], text


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_train_evaluate_export_headless(tmp_path: Path, tiny_model_dir: Path) -> None:
    path = tmp_path / "proj"
    rows = _rows()
    with Project.create(path, base_model=str(tiny_model_dir)) as project:
        project.pairs.insert([(a, b, y, split, i + 1, None) for i, (a, b, y, split) in enumerate(rows)])

    trained = _cli("train", str(path), "--max-steps", "2", "--eval-steps", "2", "--batch-size", "8",
                   "--device", "cpu")
    assert trained.returncode == 0, trained.stderr
    _no_bars(trained)
    with Project.open(path, readonly=True) as project:
        run = project.runs.all()[-1]
        train_pairs = project.pairs.by_ids(sorted(project.runs.pair_ids(run.id, "train")))
        best = project.runs.best()
    # What to do next, in plain words, from core.advice.
    assert "Next:" in trained.stdout
    assert run.outcome in ("better", "unclear", "worse")
    assert (best is not None) == (run.outcome == "better")   # "best" only when measurably better

    # A file holding exactly the run's training pairs: the leakage rule of the project's splits.
    data = tmp_path / "train_pairs.csv"
    with open(data, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["sentence1", "sentence2", "score"])
        for p in train_pairs.values():
            writer.writerow([p.sentence1, p.sentence2, p.score])
    leaked = _cli("evaluate", str(path), "--run", str(run.id), "--data", str(data), "--include-trained")
    assert leaked.returncode == 0, leaked.stderr
    _no_bars(leaked)
    # (the file's duplicate pairs are dropped on reading: every pair left is a trained one)
    assert re.search(rf"^Warning: Leaked evaluation: (\d+) of these \1 pairs were used to train run "
                     rf"{run.id}", leaked.stderr, re.M), leaked.stderr
    refused = _cli("evaluate", str(path), "--run", str(run.id), "--data", str(data))
    assert refused.returncode == 2
    assert re.search(rf"Run {run.id} trained on (\d+) of the \1 pairs in the file", refused.stderr), \
        refused.stderr
    assert "Traceback" not in refused.stderr

    # The Try view's largest disagreements, from the CLI: the same core operation.
    worst = _cli("evaluate", str(path), "--run", str(run.id), "--worst", "3", "--json")
    assert worst.returncode == 0, worst.stderr
    _no_bars(worst)
    import json

    listed = [w["pair"] for w in json.loads(worst.stdout.strip().splitlines()[-1])["worst"]]
    with Project.open(path, readonly=True) as project:
        from stsstudio.core.evaluation import worst_pairs

        dev_ids = {p.id for p in project.pairs.labeled("dev")}
        expected = [w.pair_id for w in worst_pairs(project, f"run:{run.id}", "dev", limit=3, device="cpu")]
    assert listed == expected and set(listed) <= dev_ids

    out = tmp_path / "exported"
    exported = _cli("export", str(path), "--run", str(run.id), str(out))
    assert exported.returncode == 0, exported.stderr
    _no_bars(exported)
    if run.outcome != "better":
        assert "Warning: Exports run" in exported.stderr and "Careful:" in exported.stderr
        no_default = _cli("export", str(path), str(tmp_path / "other"))
        assert no_default.returncode == 2
        assert f"--run {run.id}" in no_default.stderr and "measurably better" in no_default.stderr

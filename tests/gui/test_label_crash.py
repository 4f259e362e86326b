"""A crash loses nothing: label in a child process, SIGKILL it, find every confirmed label."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stsstudio.core.store import Project

CHILD = Path(__file__).with_name("_label_child.py")


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_sigkill_mid_session_keeps_every_confirmed_label(tmp_path: Path) -> None:
    folder = tmp_path / "crash"
    with Project.create(folder) as project:
        project.pairs.insert((f"the first sentence {i}", f"another sentence {i}", None, "train", i, None)
                             for i in range(1, 501))
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONUNBUFFERED="1")
    child = subprocess.Popen([sys.executable, str(CHILD), str(folder)], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True, env=env)
    confirmed: dict[int, float] = {}
    try:
        deadline = time.monotonic() + 60
        assert child.stdout is not None
        while len(confirmed) < 40 and time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            if line.startswith("CONFIRMED"):
                _, pair_id, score = line.split()
                confirmed[int(pair_id)] = float(score)
        child.send_signal(signal.SIGKILL)     # mid-session: it is still labelling
        child.wait(10)
        for line in child.stdout:           # lines printed before the kill landed
            if line.startswith("CONFIRMED"):
                _, pair_id, score = line.split()
                confirmed[int(pair_id)] = float(score)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
    assert child.returncode == -signal.SIGKILL
    assert len(confirmed) >= 40
    with Project.open(folder) as project:     # the lock died with the child; WAL replays
        for pair_id, score in confirmed.items():
            pair = project.pairs.get(pair_id)
            assert pair.score == pytest.approx(score), pair_id
            assert pair.annotator == "crash-tester"
        assert project.stats()["labeled"] >= len(confirmed)

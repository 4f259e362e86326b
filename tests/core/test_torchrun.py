"""`torchrun --nproc_per_node 2 -m stsstudio train ...` on CPU (gloo): DDP through the Trainer,
and only rank 0 writes to the project."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from training_support import fill_project

from stsstudio.core.store import Project


def test_two_processes_train_and_only_rank_zero_writes(tmp_path: Path, tiny_model_dir: Path) -> None:
    pytest.importorskip("torch.distributed.run")
    import torch.distributed as dist

    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("torch.distributed with gloo is not available")
    path = tmp_path / "ddp"
    with Project.create(path) as project:
        fill_project(project, train=40, dev=12)
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "stsstudio", "train", str(path), "--base-model", str(tiny_model_dir), "--max-steps", "3",
           "--batch-size", "4", "--eval-steps", "3", "--device", "cpu", "--json"]
    # A session of its own, so a hang kills torchrun *and* its worker processes, not just torchrun.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail("torchrun did not finish within 300 s")
    out = subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)
    assert out.returncode == 0, out.stderr[-4000:]
    json_lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    assert len(json_lines) == 1  # rank 1 prints no summary
    summary = json.loads(json_lines[0])
    assert summary["status"] == "finished" and summary["steps"] == 3
    with Project.open(path, readonly=True) as project:
        runs = project.runs.all()
        assert len(runs) == 1 and runs[0].status == "finished"
        assert runs[0].config["world_size"] == 2
        assert [s for s, _ in project.runs.metrics(runs[0].id, "loss")["loss"]] == [1, 2, 3]  # one writer
        assert Path(runs[0].model_dir, "modules.json").is_file()
    assert sorted(p.name for p in (path / "runs").iterdir()) == [str(runs[0].id)]

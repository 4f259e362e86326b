"""The default run on the demo project, before and after the automatic schedule, in one run.

Trains a fresh copy of the demo project (166 labeled train pairs, 50 dev pairs) with the embedded
model, alternating the first release's fixed defaults (1 epoch, lr 2e-5, cosine, best checkpoint)
and today's defaults (TrainConfig(): the automatic schedule), A/B/A/B. Prints one JSON line per run
(wall time, steps, dev Spearman with its interval, the verdict) and a summary: median wall time of
each and their ratio, and the dev gain of each.

Usage: python bench/demo_default_run.py [--repeats 2] [--threads 0] [--keep DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

CONFIGS = {
    "before": dict(epochs=1.0, learning_rate=2e-5, loss="cosine", select_best=True),
    "after": dict(),
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--keep", help="keep the last 'after' project in this folder (for screenshots)")
    a = p.parse_args()

    import torch

    from stsstudio.core.demo import create_demo_project
    from stsstudio.core.training import NullReporter, TrainConfig, train

    if a.threads:
        torch.set_num_threads(a.threads)
    walls: dict[str, list[float]] = {name: [] for name in CONFIGS}
    gains: dict[str, list[float]] = {name: [] for name in CONFIGS}
    for rep in range(a.repeats):
        for name, fields in CONFIGS.items():
            with tempfile.TemporaryDirectory(prefix="demo_bench_") as tmp:
                project = create_demo_project(Path(tmp) / "demo")
                t0 = time.perf_counter()
                result = train(project, TrainConfig(**fields), NullReporter())
                wall = time.perf_counter() - t0
                project.close()
                if a.keep and name == "after" and rep == a.repeats - 1:
                    import shutil

                    shutil.rmtree(a.keep, ignore_errors=True)
                    shutil.copytree(Path(tmp) / "demo", a.keep)
            walls[name].append(wall)
            gain = (result.dev_spearman or 0) - (result.base_dev_spearman or 0)
            gains[name].append(gain)
            print(json.dumps({"repeat": rep, "defaults": name, "wall_s": round(wall, 1), "steps": result.steps,
                              "base_dev_spearman": round(result.base_dev_spearman or 0, 4),
                              "dev_spearman": round(result.dev_spearman or 0, 4),
                              "dev_spearman_ci": [round(x, 4) for x in (result.dev_spearman_ci or ())],
                              "verdict": result.verdict,
                              "schedule": (result.schedule or {}).get("description")}), flush=True)
    b, f = statistics.median(walls["before"]), statistics.median(walls["after"])
    print(json.dumps({"median_wall_before_s": round(b, 1), "median_wall_after_s": round(f, 1),
                      "ratio_after_before": round(f / b, 2),
                      "spread_before_s": [round(min(walls["before"]), 1), round(max(walls["before"]), 1)],
                      "spread_after_s": [round(min(walls["after"]), 1), round(max(walls["after"]), 1)],
                      "dev_gain_before": [round(g, 4) for g in gains["before"]],
                      "dev_gain_after": [round(g, 4) for g in gains["after"]]}))


if __name__ == "__main__":
    main()

"""Learning curves for small projects, through the app's own engine: does labelling pay off?

For each label count N and seed, a fresh project gets N pairs drawn at random from a labelled STS
file, all in the train split and with no dev split, as an expert's own file arrives. The app then
trains exactly as it would for that user (its holdout or cross-validation, its checkpoint rule),
and the model it hands over is scored on a separate test file it never saw. Two schedules:

  fixed  the first release's defaults: 1 epoch, lr 2e-5, CosineSimilarityLoss, 10 % holdout,
         best checkpoint on the holdout
  auto   the automatic schedule (core/schedule.py); small projects train on every label

Cross-validation only estimates (it never changes the final model), so by default the bench skips
its folds (``--with-cv`` runs them, 6x the time). Prints one JSON line per run, then a table of
test Spearman minus base, mean +- sd over seeds, and the run wall time.

Usage:
  python bench/small_data.py [--sizes 50,100,200,400,800,1600,all] [--seeds 0,1,2]
      [--schedules fixed,auto] [--genre main-news] [--train FILE --test FILE] [--threads 2]
STSb files by default (../shared/data/stsb; TSV, no header, score 0-5 in column 4).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from _stsb import SHARED, read_sts  # noqa: E402  (bench/ is the script folder)

SCHEDULES = {
    "fixed": dict(epochs=1.0, learning_rate=2e-5, loss="cosine", cv_folds=0, select_best=True),
    "auto": dict(),
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="50,100,200,400,800,1600,all")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--schedules", default="fixed,auto")
    p.add_argument("--genre", default=None, help="train and test within one STSb genre (e.g. main-news)")
    p.add_argument("--train", default=str(SHARED / "sts-train.csv"))
    p.add_argument("--test", default=str(SHARED / "sts-dev.csv"))
    p.add_argument("--with-cv", action="store_true", help="run the cross-validation folds too")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    a = p.parse_args()

    import numpy as np
    import torch

    from stsstudio.core.models import load_model
    from stsstudio.core.stats import spearman, spearman_ci
    from stsstudio.core.store import Project
    from stsstudio.core.training import NullReporter, TrainConfig, train

    if a.threads:
        torch.set_num_threads(a.threads)
    pool = read_sts(Path(a.train), a.genre)
    test = read_sts(Path(a.test), a.genre)
    gold = [t[2] for t in test]

    def score(model_ref: str) -> tuple[float, tuple[float, float]]:
        model = load_model(model_ref, device="cpu")
        e1 = model.encode([t[0] for t in test], batch_size=64, normalize_embeddings=True)
        e2 = model.encode([t[1] for t in test], batch_size=64, normalize_embeddings=True)
        pred = (np.asarray(e1) * np.asarray(e2)).sum(axis=1)
        return spearman(pred, gold), spearman_ci(pred, gold)

    base, base_ci = score("default")
    print(json.dumps({"base": round(base, 4), "base_ci": [round(x, 4) for x in base_ci], "pool": len(pool),
                      "test": len(test), "genre": a.genre}), flush=True)
    results: dict[tuple[str, int], list[float]] = {}
    times: dict[tuple[str, int], list[float]] = {}
    sizes = [len(pool) if s == "all" else int(s) for s in a.sizes.split(",")]
    for size in sizes:
        for seed in [int(s) for s in a.seeds.split(",")]:
            sample = random.Random(seed).sample(pool, min(size, len(pool)))
            for name in a.schedules.split(","):
                with tempfile.TemporaryDirectory(prefix="small_data_") as tmp:
                    project = Project.create(Path(tmp) / "p")
                    project.pairs.insert([(s1, s2, y, "train", i + 1, None) for i, (s1, s2, y) in enumerate(sample)],
                                         source="bench")
                    config = TrainConfig(seed=seed, **SCHEDULES[name])
                    if not a.with_cv:
                        config.extra["cv_estimate"] = False
                    t0 = time.perf_counter()
                    result = train(project, config, NullReporter())
                    secs = time.perf_counter() - t0
                    tuned, tuned_ci = score(result.model_dir)
                    row = {"size": size, "seed": seed, "schedule": name, "steps": result.steps,
                           "status": result.status, "test_spearman": round(tuned, 4),
                           "gain": round(tuned - base, 4), "test_ci": [round(x, 4) for x in tuned_ci],
                           "outcome": result.outcome, "verdict": result.verdict,
                           "train_seconds": round(secs, 1), "schedule_used": (result.schedule or {}).get("description")}
                    project.close()
                print(json.dumps(row), flush=True)
                results.setdefault((name, size), []).append(tuned - base)
                times.setdefault((name, size), []).append(secs)
    print(f"\nbase test Spearman {base:.4f} (95 % interval {base_ci[0]:.4f} to {base_ci[1]:.4f}); "
          "gain = tuned - base, mean +- sd over seeds", file=sys.stderr)
    names = a.schedules.split(",")
    print("labels  " + "  ".join(f"{n:>22s}" for n in names) + "   wall s (" + "/".join(names) + ")", file=sys.stderr)
    for size in sizes:
        cells, walls = [], []
        for n in names:
            v = results.get((n, size), [])
            sd = statistics.stdev(v) if len(v) > 1 else 0.0
            cells.append(f"{statistics.mean(v):+.4f} +- {sd:.4f} (n={len(v)})" if v else "-")
            walls.append(f"{statistics.median(times[(n, size)]):.0f}" if v else "-")
        print(f"{size:6d}  " + "  ".join(f"{c:>22s}" for c in cells) + "   " + "/".join(walls), file=sys.stderr)


if __name__ == "__main__":
    main()

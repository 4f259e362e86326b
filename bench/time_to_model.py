"""Time to model and time to estimate (issue 23), A/B in one process, on this machine's CPU.

  A  the previous order: a project without a dev split and fewer than 300 labels ran 5 folds of
     cross-validation first, then trained the model on every label; at 300 labels it held out
     10 % and trained on the rest (no folds). Emulated with the same engine: the folds are
     ``core.estimate.fit`` on 4/5 of the labels, as the old code trained them.
  B  today: the model on every label first (``train``), then ``core.estimate.estimate`` (3 fold
     models, then small models for the label curve: one per fold under 200 labels, one from 200)
     in the background.

``estimate_s`` is from the start of the run to the end of the estimate; ``after_model_s`` is the
estimate alone, after the model was handed over.

For each size, A and B alternate (A B A B ...): the median and the spread of each figure are
printed, with the machine's load. Embedded model, STSb train pairs drawn with a seed.

Usage: python bench/time_to_model.py [--sizes 100,300] [--repeats 2] [--threads 2] [--orders A,B]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from _stsb import SHARED, read_sts  # noqa: E402


def _project(tmp: str, rows: list) -> object:
    from stsstudio.core.store import Project

    project = Project.create(Path(tmp) / "p")
    project.pairs.insert([(s1, s2, y, "train", i + 1, None) for i, (s1, s2, y) in enumerate(rows)],
                         source="bench")
    return project


def order_a(rows: list, seed: int) -> dict:
    from stsstudio.core.estimate import fit
    from stsstudio.core.models import load_model
    from stsstudio.core.schedule import kfold
    from stsstudio.core.training import NullReporter, TrainConfig, _split, train

    with tempfile.TemporaryDirectory() as tmp:
        project = _project(tmp, rows)
        t0 = time.perf_counter()
        folds_s = 0.0
        if len(rows) < 300:
            from stsstudio.core.devices import resolve_device

            device = resolve_device("cpu")
            base = load_model("default", device="cpu")
            split = _split(project.pairs.labeled("train"))
            config = TrainConfig(seed=seed, device="cpu")
            for i, val in enumerate(kfold(len(split), 5, seed)):
                held = set(val)
                fit(base, split.subset([j for j in range(len(split)) if j not in held]), config, device,
                    seed + i + 1)
            folds_s = time.perf_counter() - t0
            result = train(project, TrainConfig(seed=seed, device="cpu", estimate=False), NullReporter())
        else:
            result = train(project, TrainConfig(seed=seed, device="cpu", cv_folds=0, estimate=False),
                           NullReporter())
        model_s = time.perf_counter() - t0
        project.close()
    assert result.status == "finished", result.message
    return {"order": "A", "model_s": round(model_s, 1), "estimate_s": round(folds_s, 1) if folds_s else None}


def order_b(rows: list, seed: int) -> dict:
    from stsstudio.core.estimate import estimate
    from stsstudio.core.training import NullReporter, TrainConfig, train

    with tempfile.TemporaryDirectory() as tmp:
        project = _project(tmp, rows)
        t0 = time.perf_counter()
        result = train(project, TrainConfig(seed=seed, device="cpu"), NullReporter())
        model_s = time.perf_counter() - t0
        entry = estimate(project, result.run_id)
        total = time.perf_counter() - t0
        project.close()
    assert result.status == "finished" and entry["status"] == "done", (result.message, entry)
    return {"order": "B", "model_s": round(model_s, 1), "estimate_s": round(total, 1),
            "after_model_s": round(total - model_s, 1)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="100,300")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--orders", default="A,B", help="A,B (alternating) or one of them")
    a = p.parse_args()
    import torch

    from stsstudio.core.quiet import quiet_libraries

    torch.set_num_threads(a.threads)
    quiet_libraries()
    pool = read_sts(SHARED / "sts-train.csv")
    print(json.dumps({"cpus": os.cpu_count(), "threads": a.threads, "load": os.getloadavg()}), flush=True)
    for size in [int(s) for s in a.sizes.split(",")]:
        rows = random.Random(a.seed).sample(pool, size)
        got: dict[str, list[dict]] = {"A": [], "B": []}
        for _ in range(a.repeats):
            for name, fn in [(o, {"A": order_a, "B": order_b}[o]) for o in a.orders.split(",")]:
                r = fn(rows, a.seed)
                r.update(size=size, load=round(os.getloadavg()[0], 1))
                print(json.dumps(r), flush=True)
                got[name].append(r)
        for name, runs in got.items():
            for key in ("model_s", "estimate_s", "after_model_s"):
                v = [r[key] for r in runs if r.get(key) is not None]
                if v:
                    print(f"{size:5d} labels  order {name}  {key:10s} median {statistics.median(v):6.1f} s  "
                          f"spread {min(v):.1f}-{max(v):.1f} (n={len(v)})", flush=True)


if __name__ == "__main__":
    main()

"""Does the model in the loop save labels? A simulated expert on any labeled file (issue 12).

The file is read with the same importer and flags as ``stsstudio import``. A seeded part is
held out as the test set (or ``--test FILE``); the rest is the pool the expert labels from (its
labels are hidden until "given"). Each seed:

1. label ``--seed-labels`` random pool pairs, train with the automatic schedule, score;
2. for each strategy (random, informative, thin_bands) in its own copy of that project, add
   ``--rounds`` rounds of ``--k`` labels chosen by the strategy (the core queue orders, the
   same the Label view and ``stsstudio queue`` use), retraining and re-scoring each round;
3. record test Spearman of the newest model after every round.

Labels-to-reach: the fewest labels with which a strategy reaches random's Spearman at random's
final budget (linear between rounds; null when never). ``labels_saved_vs_random`` is
``1 - labels_to_reach / random's final budget``, averaged over seeds, a seed that never reaches
it counting as no saving (the target is >= 0.30).

Labels-to-reach reads a single point of random's curve, which is noisy when the curve is flat;
``mean_gap_to_random`` is the strategy's test Spearman minus random's, averaged over the rounds
after the seed round and paired by seed (mean and sd over seeds).

Prints one JSON line: ``strategies: {name: {labels, spearman, spearman_sd, labels_to_reach,
mean_gap_to_random}}``, ``per_seed`` (every curve),
``labels_saved_vs_random`` and the settings. The default budget (50 + 5 x 50 labels, 3 seeds,
a pool of 1,000 pairs) took 32 minutes on 2 cores on the STSb captions genre (622 test pairs)
and about 48 on STSb with its 1,500 dev pairs as the test set (a round is one automatic-schedule
training, about 100 steps, plus scoring); ``--seeds 2`` or ``--max-steps`` for a quicker look.

Usage:
    python bench/active_learning.py --data sts-train.csv --format tsv --no-header \\
        --sentence1 5 --sentence2 6 --score 4 --scale 0-5 --json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

STRATEGIES = ("random", "informative", "thin_bands")


def read_pairs(args: argparse.Namespace, source: str) -> list[tuple[str, str, float]]:
    """Labeled pairs (0..1 scores) of a file, read like ``stsstudio import`` reads it."""
    from stsstudio.cli import _import_options
    from stsstudio.core.importers import prepare_import

    prepared = prepare_import(source, _import_options(args))
    return [(r[0], r[1], float(r[2])) for r in prepared.rows if r[2] is not None]


def labels_to_reach(labels: list[int], rho: list[float], target: float) -> float | None:
    """The fewest labels at which the curve reaches ``target`` (linear between rounds)."""
    for i, (n, r) in enumerate(zip(labels, rho)):
        if r >= target:
            if i == 0:
                return float(n)
            n0, r0 = labels[i - 1], rho[i - 1]
            return n0 + (n - n0) * (target - r0) / (r - r0) if r != r0 else float(n)
    return None


class Sim:
    """One seed: the pool, the hidden labels, the test pairs and the training settings."""

    def __init__(self, args: argparse.Namespace, pool: list, test: list, seed: int, root: Path) -> None:
        self.args, self.pool, self.test, self.seed, self.root = args, pool, test, seed, root
        self.oracle: dict[int, float] = {}

    def train_and_score(self, project: Any, order: str) -> tuple[int, float]:
        """Train on the labels so far, score the pool (for the model orders), test Spearman."""
        from stsstudio.core.evaluation import evaluate_pairs
        from stsstudio.core.inference import get_model
        from stsstudio.core.predictions import predict_pairs
        from stsstudio.core.training import TrainConfig, train

        config = TrainConfig(base_model=self.args.base_model, seed=self.seed, cv_folds=0,
                             max_steps=self.args.max_steps or None, device=self.args.device)
        result = train(project, config)
        if result.status != "finished" or not result.model_dir:
            raise SystemExit(f"training failed: {result.message}")
        if order != "random":
            predict_pairs(project, result.run_id)
        model = get_model(f"run:{result.run_id}", device=self.args.device, project=project)
        s1, s2, gold = zip(*self.test)
        rho = evaluate_pairs(model, list(s1), list(s2), list(gold)).spearman
        # Only the newest run's model is needed again: free the disk of the older ones.
        for run in project.runs.all():
            if run.id != result.run_id and run.model_dir:
                shutil.rmtree(Path(run.model_dir), ignore_errors=True)
                project.runs.update(run.id, model_dir=None)
        return result.run_id, float(rho)

    def give_labels(self, project: Any, ids: list[int]) -> None:
        for pid in ids:
            project.labels.set(pid, self.oracle[pid], "oracle")

    def run(self) -> dict[str, dict[str, list]]:
        from stsstudio.core.label_queue import rank_pairs
        from stsstudio.core.predictions import predict_pairs
        from stsstudio.core.store import Project

        args = self.args
        seed_dir = self.root / f"seed{self.seed}"
        with Project.create(seed_dir, base_model=args.base_model) as project:
            project.pairs.insert([(a, b, None, "train", i + 1, None)
                                  for i, (a, b, _) in enumerate(self.pool)])
            ids = [pid for pid, _, _ in project.pairs.targets()]
            self.oracle = {pid: y for pid, (_, _, y) in zip(ids, self.pool)}
            rng = random.Random(self.seed)
            self.give_labels(project, rng.sample(ids, args.seed_labels))
            predict_pairs(project, "base")      # informative compares the base model with the run
            from stsstudio.core.evaluation import evaluate_pairs
            from stsstudio.core.inference import get_model

            s1, s2, gold = zip(*self.test)
            self.base_rho = float(evaluate_pairs(get_model("base", device=args.device, project=project),
                                                 list(s1), list(s2), list(gold)).spearman)
            run0, rho0 = self.train_and_score(project, "seed")
            predict_pairs(project, run0)
        curves: dict[str, dict[str, list]] = {}
        for order in args.strategies:
            folder = self.root / f"seed{self.seed}-{order}"
            shutil.copytree(seed_dir, folder)
            labels, rhos, newest = [args.seed_labels], [rho0], run0
            with Project.open(folder) as project:
                pick = random.Random(self.seed * 1000 + 7)
                for r in range(args.rounds):
                    t0 = time.perf_counter()
                    unlabeled = [pid for pid, _, _ in project.pairs.targets(split="train", labeled=False)]
                    if order == "random":
                        chosen = pick.sample(unlabeled, min(args.k, len(unlabeled)))
                    else:
                        chosen = [c.pair_id for c in rank_pairs(project, order, split="train",
                                                                limit=args.k, run_id=newest)]
                    self.give_labels(project, chosen)
                    newest, rho = self.train_and_score(project, order)
                    labels.append(labels[-1] + len(chosen))
                    rhos.append(rho)
                    print(f"seed {self.seed} {order:<12} round {r + 1}: {labels[-1]} labels, test "
                          f"Spearman {rho:.4f} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
            shutil.rmtree(folder, ignore_errors=True)
            curves[order] = {"labels": labels, "spearman": rhos, "base_spearman": self.base_rho}
        shutil.rmtree(seed_dir, ignore_errors=True)
        return curves


def summarise(per_seed: list[dict[str, dict[str, list]]], strategies: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    saved: dict[str, Any] = {}
    for name in strategies:
        curves = [c[name] for c in per_seed]
        rho = list(zip(*(c["spearman"] for c in curves)))
        reach = []
        for seed_curves, c in zip(per_seed, curves):
            rnd = seed_curves.get("random")
            if rnd is None:
                continue
            reach.append(labels_to_reach(c["labels"], c["spearman"], rnd["spearman"][-1]))
        got = [r for r in reach if r is not None]
        out[name] = {
            "labels": curves[0]["labels"],
            "spearman": [round(statistics.fmean(r), 4) for r in rho],
            "spearman_sd": [round(statistics.stdev(r), 4) if len(r) > 1 else 0.0 for r in rho],
            "labels_to_reach": {"per_seed": [None if r is None else round(r, 1) for r in reach],
                                "mean": round(statistics.fmean(got), 1) if got else None,
                                "sd": round(statistics.stdev(got), 1) if len(got) > 1 else None,
                                "reached": f"{len(got)}/{len(reach)}"},
        }
        # Labels-to-reach reads one noisy point of random's curve; the mean gap to random over
        # the rounds after the shared seed round, paired by seed, reads all of them.
        gaps = [statistics.fmean(a - b for a, b in zip(c["spearman"][1:], rnd["spearman"][1:]))
                for rnd, c in ((s.get("random"), c) for s, c in zip(per_seed, curves))
                if rnd is not None and len(c["spearman"]) > 1]
        out[name]["mean_gap_to_random"] = {
            "per_seed": [round(g, 4) for g in gaps],
            "mean": round(statistics.fmean(gaps), 4) if gaps else None,
            "sd": round(statistics.stdev(gaps), 4) if len(gaps) > 1 else None}
        if "random" in per_seed[0] and reach:
            # A seed that never reaches random's final score counts as no saving (it may need
            # more labels than the budget: the figure is an upper bound then).
            budget = per_seed[0]["random"]["labels"][-1]
            saved[name] = round(statistics.fmean(1 - (budget if r is None else r) / budget
                                                 for r in reach), 3)
        else:
            saved[name] = None
    return {"strategies": out, "labels_saved_vs_random": saved}


def main() -> None:
    from stsstudio.cli import _add_import_options

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="a labeled file (read like `stsstudio import`)")
    _add_import_options(p, with_split=False)
    p.add_argument("--test", help="a labeled test file (same flags); default: hold out --test-size")
    p.add_argument("--test-size", type=int, default=500, help="pairs held out as the test set")
    p.add_argument("--pool", type=int, default=1000, help="pairs the expert labels from (seeded sample)")
    p.add_argument("--seed-labels", type=int, default=50)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--k", type=int, default=50, help="labels per round")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--strategies", default=",".join(STRATEGIES))
    p.add_argument("--base-model", default="default")
    p.add_argument("--max-steps", type=int, default=0, help="cap each training (0: the automatic schedule)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, ...")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print only the JSON line on stdout")
    args = p.parse_args()
    args.strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    unknown = set(args.strategies) - set(STRATEGIES)
    if unknown:
        p.error(f"unknown strategies: {sorted(unknown)}")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    t0 = time.perf_counter()
    data = read_pairs(args, args.data)
    per_seed = []
    # A fixed test part for every seed; each seed draws its own pool from the rest.
    rows = list(data)
    random.Random(12345).shuffle(rows)
    test = read_pairs(args, args.test) if args.test else rows[:args.test_size]
    rest = rows if args.test else rows[args.test_size:]
    with tempfile.TemporaryDirectory(prefix="al-bench-") as tmp:
        for seed in range(args.seeds):
            pool = random.Random(seed).sample(rest, min(args.pool, len(rest)))
            per_seed.append(Sim(args, pool, test, seed, Path(tmp)).run())
    summary = summarise(per_seed, args.strategies)
    summary["per_seed"] = per_seed
    summary["settings"] = {"data": str(args.data), "pool": args.pool, "test": len(test),
                           "seed_labels": args.seed_labels, "rounds": args.rounds, "k": args.k,
                           "seeds": args.seeds, "base_model": args.base_model,
                           "max_steps": args.max_steps or None, "device": args.device,
                           "seconds": round(time.perf_counter() - t0, 1)}
    if not args.json:
        for name, s in summary["strategies"].items():
            r = s["labels_to_reach"]
            print(f"{name:<12} Spearman {s['spearman']}  labels-to-reach {r['mean']} (sd {r['sd']}, "
                  f"reached {r['reached']})  saved vs random {summary['labels_saved_vs_random'][name]}",
                  file=sys.stderr)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()

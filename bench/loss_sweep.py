"""Choose the default loss and learning rate by measurement: dev Spearman on STSb per setting.

Trains the embedded all-MiniLM-L6-v2 with our engine on STSb train (optionally capped at
--max-steps) for each (loss, learning rate) and prints the dev Spearman of the kept model.
Spearman does not depend on machine load, so this may share the machine; times do not count here.

Usage: python bench/loss_sweep.py [--max-steps 150] [--settings cosine:2e-5,cosent:2e-5,...]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "stsb"


def read_sts(path: Path) -> list[tuple[str, str, float]]:
    with open(path, encoding="utf8") as f:
        rows = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [(r[5], r[6], float(r[4]) / 5.0) for r in rows]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--max-steps", type=int, default=0, help="0: one full epoch")
    p.add_argument("--settings", default="cosine:2e-5,cosent:2e-5,cosent:5e-5,angle:5e-5")
    p.add_argument("--threads", type=int, default=0)
    a = p.parse_args()
    if a.threads:
        import torch

        torch.set_num_threads(a.threads)
    from stsstudio.core.store import Project
    from stsstudio.core.training import TrainConfig, train

    train_rows = read_sts(SHARED / "sts-train.csv")
    dev_rows = read_sts(SHARED / "sts-dev.csv")
    results = []
    for setting in a.settings.split(","):
        loss, lr = setting.split(":")
        with tempfile.TemporaryDirectory(prefix="sts_sweep_") as tmp:
            project = Project.create(Path(tmp) / "p")
            rows = [(s1, s2, y, "train", i, None) for i, (s1, s2, y) in enumerate(train_rows)]
            rows += [(s1, s2, y, "dev", i, None) for i, (s1, s2, y) in enumerate(dev_rows)]
            project.pairs.insert(rows, source="stsb")
            config = TrainConfig(base_model="default", loss=loss, learning_rate=float(lr), batch_size=16,
                                 epochs=1, max_steps=a.max_steps or None, eval_steps=10_000, seed=12)
            r = train(project, config)
            results.append({"loss": loss, "lr": float(lr), "steps": r.steps, "status": r.status,
                            "base_dev_spearman": round(r.base_dev_spearman or 0, 4),
                            "dev_spearman": round(r.dev_spearman or 0, 4)})
            print(json.dumps(results[-1]), flush=True)
            project.close()
    best = max(results, key=lambda r: r["dev_spearman"])
    print(f"best: {best['loss']} at lr {best['lr']:g}: dev Spearman {best['dev_spearman']:.4f} "
          f"(base {best['base_dev_spearman']:.4f})")


if __name__ == "__main__":
    main()

"""Training throughput: our engine against the plain sentence-transformers recipe, in one run.

Both train the same model (the embedded all-MiniLM-L6-v2 unless --model) on STSb train with the
same batch size, learning rate, loss and seed on this machine, and both are evaluated on STSb dev.
Prints pairs/second of each, their ratio (ours / reference) and both dev Spearman figures, then
one JSON line.

Our training time excludes the time spent evaluating on dev during training (the reference does
not evaluate while training); it includes the checkpoint writes. The reference recipe is
../shared/bench/anchor_st_train.py, run as a subprocess.

Usage:
  python bench/train_throughput.py [--max-steps N] [--loss cosine|cosent|angle] [--lr F]
      [--batch-size 16] [--eval-steps N] [--no-group-by-length] [--only ours|anchor]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
ANCHOR = SHARED / "bench" / "anchor_st_train.py"
TRAIN = SHARED / "data" / "stsb" / "sts-train.csv"
DEV = SHARED / "data" / "stsb" / "sts-dev.csv"


def read_sts(path: Path) -> list[tuple[str, str, float]]:
    with open(path, encoding="utf8") as f:
        rows = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [(r[5], r[6], float(r[4]) / 5.0) for r in rows]


def load() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def run_ours(a: argparse.Namespace, workdir: Path) -> dict:
    from stsstudio.core.store import Project
    from stsstudio.core.training import TrainConfig, train

    project = Project.create(workdir / "project", name="bench")
    try:
        rows = [(s1, s2, y, "train", i + 1, None) for i, (s1, s2, y) in enumerate(read_sts(Path(a.train)))]
        rows += [(s1, s2, y, "dev", i + 1, None) for i, (s1, s2, y) in enumerate(read_sts(Path(a.eval)))]
        project.pairs.insert(rows, source="stsb")
        n_train = sum(1 for r in rows if r[3] == "train")
        steps = a.max_steps if a.max_steps > 0 else -(-n_train // a.batch_size) * a.epochs
        config = TrainConfig(base_model=a.model or "default", loss=a.loss, batch_size=a.batch_size,
                             learning_rate=a.lr, epochs=a.epochs, seed=a.seed, device=a.device,
                             max_steps=a.max_steps if a.max_steps > 0 else None,
                             eval_steps=a.eval_steps or int(steps), group_by_length=not a.no_group_by_length)
        result = train(project, config)
        if result.status != "finished":
            raise SystemExit(f"our run did not finish: {result.status} {result.message}")
        train_seconds = result.seconds - result.eval_seconds
        return {
            "recipe": "stsstudio", "steps": result.steps, "device": result.device,
            "base_spearman": round(result.base_dev_spearman or float("nan"), 4),
            "tuned_spearman": round(result.dev_spearman or float("nan"), 4),
            "train_seconds": round(train_seconds, 1), "eval_seconds": round(result.eval_seconds, 1),
            "pairs_per_second": round(result.pairs / train_seconds, 2),
        }
    finally:
        project.close()


def run_anchor(a: argparse.Namespace) -> dict:
    cmd = [sys.executable, str(ANCHOR), "--train", a.train, "--eval", a.eval, "--epochs", str(a.epochs),
           "--loss", a.loss, "--batch-size", str(a.batch_size), "--lr", str(a.lr),
           "--max-steps", str(a.max_steps), "--seed", str(a.seed)]
    if a.model:
        cmd += ["--model", a.model]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{") and '"recipe"' in line]
    if out.returncode != 0 or not lines:
        raise SystemExit(f"the reference recipe failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return json.loads(lines[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train", default=str(TRAIN))
    p.add_argument("--eval", default=str(DEV))
    p.add_argument("--model", default=None, help="model folder (default: the embedded all-MiniLM-L6-v2)")
    p.add_argument("--loss", default="cosine", choices=["cosine", "cosent", "angle"])
    p.add_argument("--lr", type=float, default=2e-5)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--epochs", type=float, default=1)
    p.add_argument("--max-steps", type=int, default=-1, help="cap on steps (default: one full epoch)")
    p.add_argument("--eval-steps", type=int, default=0,
                   help="our dev evaluations every N steps (default: only before and after training)")
    p.add_argument("--seed", type=int, default=12)
    p.add_argument("--device", default="auto")
    p.add_argument("--no-group-by-length", action="store_true")
    p.add_argument("--only", choices=["ours", "anchor"])
    a = p.parse_args()
    for path in (a.train, a.eval, ANCHOR):
        if not Path(path).exists():
            raise SystemExit(f"{path} is missing")

    figures: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="sts_bench_") as tmp:
        for name in ("ours", "anchor"):
            if a.only and a.only != name:
                continue
            before = load()
            t0 = time.perf_counter()
            figures[name] = run_ours(a, Path(tmp)) if name == "ours" else run_anchor(a)
            figures[name]["wall_seconds"] = round(time.perf_counter() - t0, 1)
            figures[name]["load_before_after"] = [round(before, 2), round(load(), 2)]
            print(f"{name:>6}: {figures[name]}", file=sys.stderr, flush=True)

    summary: dict = {"loss": a.loss, "lr": a.lr, "batch_size": a.batch_size, "max_steps": a.max_steps,
                     "cpus": os.cpu_count(), **{k: v for k, v in figures.items()}}
    if "ours" in figures and "anchor" in figures:
        ours, ref = figures["ours"], figures["anchor"]
        ratio = ours["pairs_per_second"] / ref["pairs_per_second"]
        delta = ours["tuned_spearman"] - ref["tuned_spearman"]
        summary.update(ratio=round(ratio, 3), spearman_delta=round(delta, 4))
        print(f"pairs/s   ours {ours['pairs_per_second']:.2f}   reference {ref['pairs_per_second']:.2f}   "
              f"ratio {ratio:.2f}  (target >= 1.0, aim >= 1.5)")
        print(f"dev Spearman   ours {ours['tuned_spearman']:.4f}   reference {ref['tuned_spearman']:.4f}   "
              f"delta {delta:+.4f}  (must be >= -0.005)   base {ref['base_spearman']:.4f}")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()

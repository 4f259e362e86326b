"""Markdown tables of bench/active_learning.py JSON lines: python al_table.py al-*.json"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from active_learning import summarise  # noqa: E402 - the bench's own summary, recomputed


def table(path: str) -> str:
    with open(path, encoding="utf-8") as fh:
        data = json.loads(fh.read().strip().splitlines()[-1])
    s = data["settings"]
    per_seed = data.get("per_seed", [])
    if per_seed:   # lines written before a summary field existed get it from the curves
        data.update(summarise(per_seed, list(data["strategies"])))
    base = per_seed[0]["random"].get("base_spearman") if per_seed else None
    lines = [f"{s['data']} (test {s['test']} pairs, pool {s['pool']}, {s['seed_labels']} + "
             f"{s['rounds']} x {s['k']} labels, seeds {s['seeds']}, {s['seconds'] / 60:.0f} min; "
             f"base model {base:.4f})" if base else s["data"], "",
             "| strategy | test Spearman by labels (mean over seeds) | labels to reach random's final "
             "(per seed) | saved vs random | mean gap to random (sd) |",
             "|---|---|---|--:|--:|"]
    for name, st in data["strategies"].items():
        curve = ", ".join(f"{n}: {r:.4f}" for n, r in zip(st["labels"], st["spearman"]))
        reach = st["labels_to_reach"]
        per = ", ".join("never" if r is None else f"{r:.0f}" for r in reach["per_seed"])
        gap = st.get("mean_gap_to_random", {})
        saved = data["labels_saved_vs_random"].get(name)
        lines.append(f"| {name} | {curve} | {reach['mean']} ± {reach['sd']} ({per}; reached "
                     f"{reach['reached']}) | {'' if saved is None else f'{saved:.0%}'} | "
                     f"{gap.get('mean')} ({gap.get('sd')}) |")
    return "\n".join(lines)


if __name__ == "__main__":
    print("\n\n".join(table(p) for p in sys.argv[1:]))

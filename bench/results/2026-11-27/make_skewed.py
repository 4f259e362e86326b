"""The imbalanced pool of al-skewed.json: python make_skewed.py STS_TRAIN OUT.tsv"""

import random
import sys

rows = [line for line in open(sys.argv[1], encoding="utf-8").read().splitlines() if line.strip()]
low = [r for r in rows if float(r.split("\t")[4]) < 1.5]
high = [r for r in rows if float(r.split("\t")[4]) >= 1.5]
rng = random.Random(7)
rng.shuffle(high)
keep = low + high[:len(low) // 3]
rng.shuffle(keep)
with open(sys.argv[2], "w", encoding="utf-8") as fh:
    fh.write("\n".join(keep) + "\n")
print(f"{len(keep)} pairs, {len(low) / len(keep):.0%} below 1.5")

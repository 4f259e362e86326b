"""Build the one-folder STS Studio bundle with PyInstaller and check that it runs without Python.

    pip install -e ".[bundle]"            # PyInstaller, into the environment whose torch you want
    python packaging/build_bundle.py      # -> packaging/dist/stsstudio/  (then --check runs alone)

The bundle takes the torch build of the environment it is built in: CPU-only torch gives a CPU
bundle, a CUDA torch build a CUDA bundle. Build on each target platform (PyInstaller does not
cross-compile). Not part of CI: on 2 cores the analysis of torch + transformers takes a while.

``--check`` (the default after a build) runs the bundled executables with Python hidden and the
network off where the machine allows it (Linux, as root: a private mount and network namespace):
the headless commands (similarity and search with the embedded model included), then a screenshot
of the demo project and the time to first paint of ``stsstudio demo --first-paint``.
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


def _run(prefix: list[str], argv: list[str], env: dict[str, str], cwd: Path,
         timeout: float = 300) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(prefix + argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    status = "ok" if proc.returncode == 0 else f"FAILED (exit {proc.returncode})"
    print(f"  {shlex.join([Path(argv[0]).name, *argv[1:]])}: {status}", flush=True)
    if proc.returncode != 0:
        print(proc.stdout[-2000:], proc.stderr[-4000:], sep="\n", flush=True)
    return proc


def check(bundle: Path, screenshot: Path | None, repeats: int) -> bool:
    gui, cli = bundle / "stsstudio", bundle / "stsstudio-cli"
    if sys.platform == "win32":
        gui, cli = gui.with_suffix(".exe"), cli.with_suffix(".exe")
    prefix = _sandbox_prefix()
    print("checking the bundle " + ("with Python hidden and no network" if prefix else
                                    "(no sandbox available: Python stays visible)"), flush=True)
    ok = True
    with tempfile.TemporaryDirectory(prefix="stsstudio-bundle-") as tmp_name:
        tmp = Path(tmp_name)
        env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp), "LANG": "C.UTF-8", "QT_QPA_PLATFORM": "offscreen",
               "STSSTUDIO_DATA_DIR": str(tmp / "data"), "XDG_DATA_HOME": str(tmp / "xdg"),
               "XDG_CONFIG_HOME": str(tmp / "config"), "XDG_RUNTIME_DIR": str(tmp),
               "STSSTUDIO_SETTINGS_DIR": str(tmp / "settings")}
        steps = [[str(cli), "--version"], [str(cli), "--help"], [str(gui), "--help"],
                 [str(cli), "new", "P", "--name", "Bundle check"], [str(cli), "info", "P", "--json"],
                 [str(cli), "devices"], [str(cli), "--install-desktop-entry"],
                 # torch + sentence-transformers + the embedded model, all from inside the bundle
                 [str(cli), "similarity", "--base", "P", "The VPN keeps dropping",
                  "My VPN connection disconnects"],
                 [str(cli), "import", "P", str(tmp / "pairs.csv")],
                 [str(cli), "search", "P", "vpn disconnects", "--base", "--top-k", "2"]]
        (tmp / "pairs.csv").write_text("sentence1,sentence2,score\nThe VPN keeps dropping,My VPN "
                                       "disconnects,0.9\nThe printer is offline,A cat sleeps,0.0\n")
        for argv in steps:
            proc = _run(prefix, argv, env, tmp)
            ok &= proc.returncode == 0
            if argv[1:2] == ["info"] and proc.returncode == 0:
                ok &= json.loads(proc.stdout)["name"] == "Bundle check"
            if argv[1:2] == ["similarity"] and proc.returncode == 0:
                print(f"    cosine similarity: {proc.stdout.strip().splitlines()[-1]}")
        # Only meaningful once the GUI exists: a screenshot of the demo project, and first paint.
        if screenshot is not None:
            argv = [str(gui), "screenshot", "demo", str(screenshot), "--view", "welcome"]
            proc = _run(prefix, argv, env, tmp)
            ok &= proc.returncode == 0 and screenshot.is_file()
            if screenshot.is_file():
                print(f"  screenshot: {screenshot} ({screenshot.stat().st_size:,} bytes)")
        times = []
        # On a real X server (xvfb) when there is one, as a desktop runs it; else offscreen.
        xvfb = shutil.which("xvfb-run")
        paint = [xvfb, "-a", "-s", "-screen 0 1280x1024x24"] if xvfb else []
        paint += [str(gui), "demo", "--first-paint"]
        paint_env = {k: v for k, v in env.items() if not (xvfb and k == "QT_QPA_PLATFORM")}
        for _ in range(repeats + 1 if repeats else 0):  # the first run only warms the OS file cache
            # `demo --first-paint` prints "first paint after X s: ..." once painted, then quits.
            proc = _run(prefix, paint, paint_env, tmp, timeout=120)
            found = re.search(r"^first paint after ([0-9.]+) s", proc.stdout, re.M)
            ok &= proc.returncode == 0 and found is not None
            if found:
                times.append(float(found.group(1)))
        if times[1:]:
            rest = sorted(times[1:])
            where = "xvfb" if xvfb else "offscreen"
            print(f"  first paint (demo, {where}): median {statistics.median(rest):.2f} s over "
                  f"{len(rest)} starts after a warm-up (min {rest[0]:.2f}, max {rest[-1]:.2f})", flush=True)
    print("bundle check " + ("passed" if ok else "FAILED"), flush=True)
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--distpath", type=Path, default=REPO / "packaging" / "dist")
    parser.add_argument("--workpath", type=Path, default=REPO / "packaging" / "build")
    parser.add_argument("--clean", action="store_true", help="discard PyInstaller's cache first")
    parser.add_argument("--check-only", action="store_true", help="skip the build, check an existing bundle")
    parser.add_argument("--no-check", action="store_true", help="build only")
    parser.add_argument("--screenshot", type=Path, help="also render the demo project's welcome view here")
    parser.add_argument("--first-paint", type=int, default=0, metavar="N",
                        help="also time N cold starts of `stsstudio demo --first-paint` "
                        "(under xvfb-run when installed)")
    args = parser.parse_args()
    bundle = args.distpath / "stsstudio"
    if not args.check_only:
        bundle = build(args.distpath, args.workpath, args.clean)
    if args.no_check:
        return 0
    return 0 if check(bundle.resolve(), args.screenshot, args.first_paint) else 1


if __name__ == "__main__":
    sys.exit(main())

"""``stsstudio --install-desktop-entry`` / ``--uninstall-desktop-entry`` for a pip install on Linux.

A wheel cannot put files into the desktop's folders, so this command does it for the current user:
the ``.desktop`` launcher (its ``Exec`` pointing at *this* installation), the application icon (PNG
sizes plus the scalable SVG) and the MIME type of ``project.stsproj``, all under ``$XDG_DATA_HOME``
(default ``~/.local/share``). The files come from the package through importlib.resources, so this
works from a wheel, an editable install or the PyInstaller bundle alike. Uninstalling removes
exactly the files that installing writes, and nothing else.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

from stsstudio import APP_ID

ICON_NAME = "stsstudio"
INSTALL_FLAG = "--install-desktop-entry"
UNINSTALL_FLAG = "--uninstall-desktop-entry"

# Characters that force quoting of an Exec argument (Desktop Entry Specification, "The Exec key").
_EXEC_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def data_home() -> Path:
    """``$XDG_DATA_HOME``, or ``~/.local/share`` when it is unset or not absolute (as the spec says)."""
    value = os.environ.get("XDG_DATA_HOME", "")
    if value and os.path.isabs(value):
        return Path(value)
    return Path.home() / ".local" / "share"


def launcher_command() -> list[str]:
    """The command that starts this installation of STS Studio, as absolute paths.

    A desktop session does not see a virtual environment's ``bin`` on its PATH, so the launcher must
    name the executable itself rather than rely on ``stsstudio`` being found.
    """
    if getattr(sys, "frozen", False):  # the PyInstaller bundle: the executable is the app
        return [str(Path(sys.executable).resolve())]
    candidates = []
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if argv0 is not None and argv0.name in ("stsstudio", "stsstudio-cli", "stsstudio.exe"):
        # `pip install --user` puts the script in ~/.local/bin, away from sys.executable.
        candidates.append(argv0.with_name("stsstudio"))
    candidates.append(Path(sys.executable).parent / "stsstudio")
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return [str(candidate.absolute())]
    return [str(Path(sys.executable).absolute()), "-m", "stsstudio"]


def _exec_quote(arg: str) -> str:
    """Quote one Exec argument per the Desktop Entry Specification."""
    if arg and not (set(arg) & _EXEC_RESERVED):
        return arg.replace("%", "%%")
    inner = "".join("\\" + ch if ch in '"`$\\' else ch for ch in arg)
    return '"' + inner.replace("%", "%%") + '"'


def _desktop_string(value: str) -> str:
    """Escape a value for a ``string`` key of a .desktop file (backslash is itself escaped there)."""
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")


def render_desktop_file(template: str, command: list[str]) -> str:
    """The shipped .desktop file with ``Exec`` and ``TryExec`` pointing at ``command``."""
    exec_line = _desktop_string(" ".join(_exec_quote(a) for a in command) + " %f")
    lines = []
    for line in template.splitlines():
        if line.startswith("Exec="):
            line = f"Exec={exec_line}"
        elif line.startswith("TryExec="):
            line = f"TryExec={_desktop_string(command[0])}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def _icon_sizes() -> list[str]:
    """The PNG sizes shipped under icons/hicolor/<size>/stsstudio.png, e.g. ['16', '32', ...]."""
    # One name per joinpath(): on Python < 3.12 a frozen app's MultiplexedPath takes only one.
    hicolor = resources.files("stsstudio.resources").joinpath("icons/hicolor")
    sizes = [d.name for d in hicolor.iterdir()
             if d.is_dir() and d.name.isdigit() and d.joinpath(f"{ICON_NAME}.png").is_file()]
    return sorted(sizes, key=int)


def planned_files(base: Path | None = None) -> dict[Path, bytes | None]:
    """Every file the desktop entry consists of, mapped to its shipped content.

    The .desktop file maps to ``None``: it is rendered with this installation's launcher.
    """
    base = data_home() if base is None else base
    res = resources.files("stsstudio.resources")
    linux = resources.files("stsstudio.resources.linux")
    plan: dict[Path, bytes | None] = {base / "applications" / f"{APP_ID}.desktop": None}
    for size in _icon_sizes():
        png = res.joinpath(f"icons/hicolor/{size}/{ICON_NAME}.png").read_bytes()
        plan[base / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{ICON_NAME}.png"] = png
    svg = res.joinpath(f"icons/{ICON_NAME}.svg").read_bytes()
    plan[base / "icons" / "hicolor" / "scalable" / "apps" / f"{ICON_NAME}.svg"] = svg
    plan[base / "mime" / "packages" / f"{APP_ID}.xml"] = linux.joinpath("stsstudio-mime.xml").read_bytes()
    return plan


def _refresh_caches(base: Path) -> None:
    """Tell the desktop about the change. Every tool is optional and a failure is not an error."""
    jobs = [["update-desktop-database", "-q", str(base / "applications")],
            ["update-mime-database", str(base / "mime")]]
    hicolor = base / "icons" / "hicolor"
    # Only refresh an icon cache that already exists: creating one in a user folder would hide icons
    # that other programs add later without updating it. Without a cache, themes scan the folder.
    if (hicolor / "icon-theme.cache").exists():
        jobs.append(["gtk-update-icon-cache", "-q", "-t", "-f", str(hicolor)])
    for job in jobs:
        if shutil.which(job[0]) is None or not Path(job[-1]).is_dir():
            continue
        try:
            subprocess.run(job, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60, check=False)
        except (OSError, subprocess.SubprocessError):
            pass


def install(base: Path | None = None) -> list[Path]:
    """Write the desktop entry, icons and MIME type for the current user; return the files written."""
    base = data_home() if base is None else base
    template = resources.files("stsstudio.resources.linux").joinpath(f"{APP_ID}.desktop").read_text("utf-8")
    written = []
    for target, content in planned_files(base).items():
        if content is None:
            content = render_desktop_file(template, launcher_command()).encode("utf-8")
        target.parent.mkdir(parents=True, exist_ok=True)
        # Write beside the target and rename, so a desktop scanning the folder never sees half a file.
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_bytes(content)
        os.replace(tmp, target)
        written.append(target)
    _refresh_caches(base)
    return written


def uninstall(base: Path | None = None) -> list[Path]:
    """Remove exactly the files :func:`install` writes; return those that existed."""
    base = data_home() if base is None else base
    removed = []
    for target in planned_files(base):
        if target.is_file() or target.is_symlink():
            target.unlink()
            removed.append(target)
    _refresh_caches(base)
    return removed


def main(flag: str) -> int:
    """Run ``--install-desktop-entry`` or ``--uninstall-desktop-entry``; return the exit status."""
    if flag not in (INSTALL_FLAG, UNINSTALL_FLAG):
        print(f"stsstudio: unknown option {flag!r}", file=sys.stderr)
        return 2
    if not sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        print(f"stsstudio {flag}: desktop entries are a Linux (freedesktop.org) feature. On Windows and "
              "macOS, use the STS Studio application bundle, or start it with `stsstudio`.", file=sys.stderr)
        return 2
    try:
        if flag == INSTALL_FLAG:
            files = install()
            for path in files:
                print(f"wrote   {path}")
            print(f"STS Studio is in your applications menu (launcher: {' '.join(launcher_command())}). "
                  f"Undo with `stsstudio {UNINSTALL_FLAG}`.")
        else:
            files = uninstall()
            for path in files:
                print(f"removed {path}")
            print("Removed the STS Studio desktop entry." if files
                  else "No STS Studio desktop entry was installed.")
    except OSError as exc:
        print(f"stsstudio {flag}: {exc}", file=sys.stderr)
        return 2
    return 0

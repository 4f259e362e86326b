"""The QApplication as the app sets it up, and the background import of the ML stack.

Shared by the app (``stsstudio/app.py``), screenshots and benches; it lives in ``gui`` so that
none of them has to import the app module itself.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from stsstudio import APP_ID, APP_NAME, __version__
from stsstudio.core.errors import UserError
from stsstudio.gui.common import icons
from stsstudio.gui.common.style import apply_style
from stsstudio.gui.common.workers import GuiThreadGarbageCollector
from stsstudio.gui.shell import comfort

# The system packages Qt's X11 (xcb) platform plugin needs beyond a desktop's usual libraries,
# by distribution: the README's install lines and the start-up message name the same ones.
XCB_PACKAGES = {
    "apt-get": "libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 "
               "libxcb-shape0 libxcb-xkb1 libxkbcommon-x11-0 libegl1 libfontconfig1 libdbus-1-3",
    "dnf": "xcb-util-cursor xcb-util-wm xcb-util-keysyms xcb-util-image xcb-util-renderutil "
           "libxkbcommon-x11 mesa-libEGL fontconfig dbus-libs",
    "pacman": "xcb-util-cursor xcb-util-wm xcb-util-keysyms xcb-util-image xcb-util-renderutil "
              "libxkbcommon-x11 libglvnd fontconfig dbus",
}
# Loaded by the plugin at run time (dlopen), so ``ldd`` cannot see it missing.
_DLOPENED = ("libxcb-cursor.so.0",)


def quiet_progress_bars() -> None:
    """No tqdm bars on the terminal behind the window ("Writing model shards" at every save):
    the GUI shows its own progress. Set before the ML libraries are imported."""
    for name in ("TQDM_DISABLE", "HF_HUB_DISABLE_PROGRESS_BARS", "HF_DATASETS_DISABLE_PROGRESS_BARS"):
        os.environ.setdefault(name, "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def _debian_package(soname: str) -> str:
    """Debian's name for the package of a library: libfoo-bar.so.1 -> libfoo-bar1, and
    libxkbcommon-x11.so.0 -> libxkbcommon-x11-0 (a hyphen when the name ends in a digit)."""
    stem, _, version = soname.partition(".so.")
    version = version.split(".")[0]
    return f"{stem}-{version}" if stem[-1:].isdigit() else f"{stem}{version}"


def _missing_xcb_libraries() -> list[str]:
    """The libraries Qt's xcb plugin needs that this system lacks ([] when none or unknown)."""
    import ctypes
    import shutil
    import subprocess

    import PySide6

    qt = Path(PySide6.__file__).parent / "Qt"
    missing: list[str] = []
    if shutil.which("ldd"):
        for lib in (qt / "plugins" / "platforms" / "libqxcb.so", qt / "lib" / "libQt6XcbQpa.so.6"):
            if not lib.exists():
                continue
            try:
                out = subprocess.run(["ldd", str(lib)], capture_output=True, text=True,
                                     timeout=10).stdout
            except (OSError, subprocess.SubprocessError):
                continue
            for line in out.splitlines():
                if "not found" in line:
                    name = line.split("=>")[0].strip()
                    if name not in missing and not name.startswith("libQt6"):
                        missing.append(name)
    for name in _DLOPENED:
        try:
            ctypes.CDLL(name)
        except OSError:
            if name not in missing:
                missing.append(name)
    return missing


def platform_problem() -> str | None:
    """Why Qt cannot open a window here, in one line with the command that fixes it; None when
    nothing is known to be wrong. Checked before the QApplication exists, because Qt aborts the
    process (exit 134) with a message that names neither the library nor the package."""
    if not sys.platform.startswith("linux"):
        return None
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform and not platform.startswith("xcb"):
        return None      # offscreen, wayland, ...: Qt reports its own errors
    if not platform and os.environ.get("WAYLAND_DISPLAY") and not os.environ.get("DISPLAY"):
        return None
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        return ("No display: DISPLAY is not set. Run stsstudio in a desktop session (or under "
                "xvfb-run); screenshots work without one: stsstudio screenshot --help.")
    missing = _missing_xcb_libraries()
    if not missing:
        return None
    packages = " ".join(_debian_package(name) for name in missing)
    return (f"Qt's X11 platform plugin cannot load: {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} missing. Install with: "
            f"sudo apt-get install {packages} (Fedora and Arch: see Install in the README).")


def create_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication with our names, icon and style (reuses an existing one)."""
    app = QApplication.instance()
    if app is None:
        QApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(list(sys.argv if argv is None else argv))
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.setOrganizationName("stsstudio")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(APP_ID)
    app.setWindowIcon(icons.app_icon())
    apply_style(app)
    comfort.install(app)   # wheel only when focused, windows fit the screen, focus after dialogs
    if app.property("stsstudio_gc") is None:
        # Collect cyclic garbage on the GUI thread only (see GuiThreadGarbageCollector).
        app._stsstudio_gc = GuiThreadGarbageCollector(1000, app)
        app.setProperty("stsstudio_gc", True)
    return app


def load_ml_stack() -> str:
    """Import the ML libraries (in a worker thread) and return the training device's label."""
    import importlib

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    importlib.import_module("torch")
    # Only a warm-up of the package import; the API is used in core/training, inference, export.
    importlib.import_module("sentence_transformers")
    if os.environ.get("TQDM_DISABLE") == "1":   # the GUI (quiet_progress_bars): bars that pass
        # disable=False themselves ignore tqdm's variable; switch them off at the source too.
        from huggingface_hub.utils import disable_progress_bars
        from transformers.utils import logging as transformers_logging

        disable_progress_bars()
        transformers_logging.disable_progress_bar()
    from stsstudio.core.devices import resolve_device

    try:
        return resolve_device("auto").label
    except UserError:
        return "CPU"

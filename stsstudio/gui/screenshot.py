"""``stsstudio screenshot PROJECT OUT.png --view V --size WxH``: render a view offscreen.

Used for the README images and our own visual checks. ``PROJECT`` may be ``demo`` for a fresh
demo project in a temporary folder. Settings go to a temporary folder too, so a screenshot
neither depends on nor changes the user's profile.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from stsstudio.core.errors import UserError

VIEWS = ("welcome", "pairs", "label", "train", "try", "export", "agreement")


def _ensure_platform() -> None:
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY")
                                                 or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _settle(app, msecs: int) -> None:
    deadline = time.monotonic() + msecs / 1000
    while time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)


def _wait_for_workers(app, timeout_s: float) -> None:
    from stsstudio.gui.common.workers import active_workers

    deadline = time.monotonic() + timeout_s
    while active_workers() and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)


def screenshot(project: str, out: str, view: str = "pairs", size: tuple[int, int] = (1280, 800)) -> int:
    """Render ``view`` of the app on ``project`` (a folder or "demo") to the PNG ``out``.

    Returns 0 on success. Raises UserError for a bad project, view or output path.
    """
    if view not in VIEWS:
        raise UserError(f"Unknown view {view!r}; use one of {', '.join(VIEWS)}.")
    out_path = Path(out).expanduser().resolve()
    if not out_path.parent.is_dir():
        raise UserError(f"{out_path.parent} does not exist; cannot write {out_path.name} there.")
    _ensure_platform()
    tmp = Path(tempfile.mkdtemp(prefix="stsstudio-shot-"))
    saved_env = {k: os.environ.get(k) for k in ("STSSTUDIO_SETTINGS_DIR",)}
    os.environ["STSSTUDIO_SETTINGS_DIR"] = str(tmp / "settings")
    try:
        return _screenshot(project, out_path, view, size, tmp)
    finally:
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(tmp, ignore_errors=True)


def _screenshot(project_arg: str, out: Path, view: str, size: tuple[int, int], tmp: Path) -> int:
    from stsstudio.core.store import Project, ProjectLockedError
    from stsstudio.gui.common.context import ProjectContext
    from stsstudio.gui.shell import settings
    from stsstudio.gui.shell.application import create_application
    from stsstudio.gui.shell.main_window import MainWindow

    app = create_application(["stsstudio"])
    settings.set(settings.ANNOTATOR, "demo")
    if project_arg == "demo":
        from stsstudio.core.demo import create_demo_project

        project = create_demo_project(tmp / "Helpdesk demo")
    else:
        try:
            project = Project.open(project_arg)
        except ProjectLockedError:
            project = Project.open(project_arg, readonly=True)

    ctx = ProjectContext()
    ctx.annotator = "demo"
    window = None
    try:
        if view == "welcome":
            # A believable recent list: the project itself (and nothing from the user's profile).
            settings.add_recent_project(project.path)
            project.close()
        else:
            ctx.set_project(project)
        if view == "agreement":  # the Agreement panel's own window
            from stsstudio.gui.annotators.agreement_panel import AgreementDialog

            window = AgreementDialog(project)
        else:
            window = MainWindow(ctx)
        window.resize(*size)
        from stsstudio.gui.shell.comfort import keep_size

        keep_size(window)   # the size asked for, even beyond the screen
        window.show()
        window.resize(*size)
        if view not in ("welcome", "agreement"):
            window.show_view(view)
        _settle(app, 300)
        target = window.views.get(view) if view not in ("welcome", "agreement") else None
        prepare = getattr(target, "prepare_for_screenshot", None)
        if callable(prepare):
            prepare()
        _wait_for_workers(app, 120)
        if "torch" in sys.modules:  # a view loaded the ML stack: say so, as the app would
            from stsstudio.gui.shell.application import load_ml_stack

            ctx.ml_ready, ctx.device_label = True, load_ml_stack()
            ctx.mlReady.emit()
            _settle(app, 100)
            _wait_for_workers(app, 120)   # what mlReady started (the device list) ends first
        elif view != "agreement":  # "Loading ML libraries…" would be a false statement in a still image
            window.ml_label.hide()
        _settle(app, 400)
        image = window.grab()
        if not image.save(str(out), "PNG"):
            raise UserError(f"Could not write {out}.")
    finally:
        if window is not None:
            window.close()
        ctx.set_project(None)
        if not project.closed:
            project.close()
        _wait_for_workers(app, 10)
        app.processEvents()
    print(f"Wrote {out} ({size[0]}x{size[1]}, view {view})")
    return 0

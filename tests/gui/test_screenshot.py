"""`stsstudio screenshot` renders views offscreen into PNG files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from stsstudio.core.errors import UserError
from stsstudio.core.store import Project
from stsstudio.gui.screenshot import screenshot

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def small_project(tmp_path: Path) -> Path:
    path = tmp_path / "shots"
    with Project.create(path, name="Screenshots") as p:
        p.insert_pairs([(f"The printer on floor {i} is jammed.", f"Printer {i} does not print.",
                         (i % 6) / 5 if i % 4 else None, "train", i + 1, None) for i in range(40)])
    return path


def _is_png(path: Path, size: tuple[int, int]) -> QImage:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = QImage(str(path))
    assert (image.width(), image.height()) == size
    return image


def test_screenshot_of_the_pairs_view(qtbot, small_project, tmp_path):
    out = tmp_path / "pairs.png"
    assert screenshot(str(small_project), str(out), view="pairs", size=(1000, 640)) == 0
    image = _is_png(out, (1000, 640))
    # Not a blank image: the sidebar and the table differ in colour.
    assert image.pixelColor(40, 300) != image.pixelColor(600, 300) or image.pixelColor(5, 5) != \
        image.pixelColor(900, 600)
    # The project was closed again (its lock released).
    Project.open(small_project).close()


def test_screenshot_of_the_welcome_page_by_cli(small_project, tmp_path):
    out = tmp_path / "welcome.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run([sys.executable, "-m", "stsstudio", "screenshot", str(small_project), str(out),
                           "--view", "welcome", "--size", "900x600"], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    _is_png(out, (900, 600))


def test_screenshot_errors_are_user_errors(qtbot, small_project, tmp_path):
    with pytest.raises(UserError, match="Unknown view"):
        screenshot(str(small_project), str(tmp_path / "x.png"), view="nope")
    with pytest.raises(UserError, match="does not exist"):
        screenshot(str(small_project), str(tmp_path / "missing" / "x.png"), view="pairs")
    with pytest.raises(UserError, match="not an STS Studio project"):
        screenshot(str(tmp_path / "nothing"), str(tmp_path / "x.png"), view="pairs")


def test_screenshot_of_the_demo(qtbot, tmp_path):
    pytest.importorskip("stsstudio.core.demo")
    out = tmp_path / "label.png"
    assert screenshot("demo", str(out), view="label", size=(1100, 700)) == 0
    _is_png(out, (1100, 700))

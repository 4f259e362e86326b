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
        p.pairs.insert([(f"The printer on floor {i} is jammed.", f"Printer {i} does not print.",
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


# -- every view at the three screen sizes (issue 11, item 7) -------------------------------------

SIZES = [(1024, 640), (1280, 800), (1920, 1080)]
MAIN_VIEWS = ("pairs", "label", "train", "try", "export")


def _recorded_run(project: Project) -> int:
    """A finished run as the Train view lists it (its curves and figures; no model files)."""
    run_id = project.runs.create(base_model="default", loss="cosine",
                                config={"epochs": 2, "batch_size": 16, "learning_rate": 2e-5, "seed": 12},
                                device="CPU (2 cores)")
    rows = [(s, "loss", 0.12 - s * 0.0006, s / 50) for s in range(1, 101)]
    rows += [(s, name, v, s / 50) for s, v in ((0, 0.661), (50, 0.692), (100, 0.704))
             for name in ("dev_spearman", "dev_pearson")]
    project.runs.add_metrics(run_id, rows)
    project.runs.update(run_id, status="finished", seconds=74.0, total_steps=100, steps=100,
                       base_dev_spearman=0.661, best_dev_spearman=0.704, best_step=100,
                       finished_at=1.0)
    return run_id


@pytest.fixture(scope="module")
def demo_with_run(tmp_path_factory) -> Path:
    pytest.importorskip("stsstudio.core.demo")
    from stsstudio.core.demo import create_demo_project

    path = tmp_path_factory.mktemp("shots") / "demo"
    with create_demo_project(path) as project:
        _recorded_run(project)
    return path


@pytest.fixture(scope="module")
def new_project(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("shots") / "new"
    Project.create(path, name="Clinic similarity pilot study, second round").close()
    return path


@pytest.mark.parametrize("which", ["demo", "new"])
def test_every_view_renders_at_three_sizes(qtbot, which, demo_with_run, new_project, tmp_path):
    project = demo_with_run if which == "demo" else new_project
    for size in SIZES:
        for view in MAIN_VIEWS:
            out = tmp_path / f"{which}-{view}-{size[0]}x{size[1]}.png"
            assert screenshot(str(project), str(out), view=view, size=size) == 0
            image = _is_png(out, size)
            # Not blank: the view's area holds more than one colour.
            colours = {image.pixel(x, y) for x in range(200, size[0], 9) for y in range(40, size[1], 7)}
            assert len(colours) > 2, out.name


def _clipped_labels(root) -> list[str]:
    """The visible labels under ``root`` whose text does not fit: elided one-liners (their full
    text wider than the label), cut wrapped labels (shorter than their text needs)."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import Qt as QtGuiNamespace
    from PySide6.QtGui import QTextDocument
    from PySide6.QtWidgets import QLabel

    from stsstudio.gui.common.widgets import ElidedLabel

    clipped = []
    for label in root.findChildren(QLabel):
        if not label.isVisible() or label.pixmap() is not None and not label.pixmap().isNull():
            continue
        text = label.fullText() if isinstance(label, ElidedLabel) else label.text()
        if not text:
            continue
        rect = label.contentsRect()
        if label.wordWrap():
            if label.heightForWidth(rect.width()) > rect.height() + 1:
                clipped.append(f"{text[:40]!r}: {rect.height()} px high, needs "
                               f"{label.heightForWidth(rect.width())}")
            continue
        if QtGuiNamespace.mightBeRichText(text) and label.textFormat() != Qt.PlainText:
            doc = QTextDocument()
            doc.setDefaultFont(label.font())
            doc.setDocumentMargin(0)
            doc.setHtml(text)
            width = doc.idealWidth()
        else:
            width = max(label.fontMetrics().horizontalAdvance(line) for line in text.splitlines())
        if width > rect.width() + 1:
            clipped.append(f"{text[:40]!r}: {rect.width()} px wide, needs {width:.0f}")
    return clipped


def test_no_label_of_the_status_strip_or_forms_is_cut_at_1024x640(qtbot, demo_with_run, tmp_path):
    import shutil

    from PySide6.QtWidgets import QLabel

    from stsstudio.gui.common.context import ProjectContext
    from stsstudio.gui.shell.main_window import MainWindow

    copy = tmp_path / "demo"
    shutil.copytree(demo_with_run, copy)
    ctx = ProjectContext()
    ctx.annotator = "tester"
    ctx.set_project(Project.open(copy))
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.resize(1024, 640)
    window.show()
    qtbot.waitExposed(window)
    try:
        checked = 0
        for key in ("train", "export"):
            window.show_view(key)
            view = window.view(key)
            if key == "train":
                view.prepare_for_screenshot()   # the finished run: its figures in the strip
            qtbot.wait(300)
            panels = [view.plots, view.form] if key == "train" else [view]
            for panel in panels:
                checked += sum(1 for label in panel.findChildren(QLabel) if label.isVisible())
                assert _clipped_labels(panel) == [], f"{key}: {_clipped_labels(panel)}"
        assert "finished" in window.view("train").state_label.text()
        assert "0.704" in window.view("train").best_label.text()
        assert checked > 20
    finally:
        ctx.set_project(None)


def test_train_form_fits_and_plots_say_they_are_empty(qtbot, new_project, tmp_path):
    """At the default 1280x800 the Train form ends on a whole row (no scrolling); before any run
    the plots area is a sentence, not two empty 0–1 "step" axes."""
    import shutil

    from PySide6.QtWidgets import QScrollArea

    from stsstudio.gui.common.context import ProjectContext
    from stsstudio.gui.shell.main_window import MainWindow

    copy = tmp_path / "new"
    shutil.copytree(new_project, copy)
    ctx = ProjectContext()
    ctx.set_project(Project.open(copy))
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    try:
        window.show_view("train")
        view = window.view("train")
        qtbot.wait(200)
        scroll = view.form.findChild(QScrollArea)
        assert scroll.verticalScrollBar().maximum() == 0
        assert view.plots.plot_pages.currentWidget() is view.plots.empty_label
        assert not view.loss_plot.isVisible()
    finally:
        ctx.set_project(None)

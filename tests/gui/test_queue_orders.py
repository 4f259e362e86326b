"""No queue order is a dead end (issue 20, point 2): the order box stays on every page, a model
order without scores offers to compute them in the background, and an order with nothing to show
says why and offers an order that has pairs."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from stsstudio.core.label_queue import QUEUE_ORDERS, rank_pairs
from stsstudio.core.store import Project
from stsstudio.gui.common.context import ProjectContext
from stsstudio.gui.label.annotate import AnnotateView

ROWS = ["a man plays the guitar", "a man is playing a guitar", "a dog runs in the street",
        "a cat is sitting on the car", "the vpn drops at home", "my vpn keeps dropping",
        "a woman is slicing cheese", "a woman cuts the cheese", "the printer is slow today",
        "the train is late again"]


def _project(path: Path, base_model: str = "default", labels: dict[int, tuple[float, str]] | None = None
             ) -> Project:
    project = Project.create(path, base_model=base_model)
    project.pairs.insert([(ROWS[i], ROWS[(i + 3) % len(ROWS)], None, "train", i + 1, None)
                          for i in range(len(ROWS))])
    for pid, (score, who) in (labels or {}).items():
        project.labels.set(pid, score, who)
    return project


def _view(ctx: ProjectContext, qtbot) -> AnnotateView:
    view = AnnotateView(ctx)
    qtbot.addWidget(view)
    view.resize(1024, 640)
    view.show()
    return view


def _choose(view: AnnotateView, order: str) -> None:
    view.order_combo.setCurrentIndex(view.order_combo.findData(order))


def _store_base_scores(project: Project) -> None:
    ids = [pid for pid, _, _ in project.pairs.targets()]
    project.predictions.start(0)
    project.predictions.add(0, [(pid, 0.1 * (pid % 10), None) for pid in ids])
    project.predictions.finish(0, "default", project.pairs.version(), len(ids))


def test_most_informative_on_a_fresh_project_computes_the_base_scores(tmp_path: Path, qtbot,
                                                                     tiny_model_dir: Path) -> None:
    from stsstudio.gui.shell.main_window import MainWindow

    project = _project(tmp_path / "fresh", str(tiny_model_dir))
    ctx = ProjectContext()
    ctx.annotator = "ana"
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.predictions.enabled = False      # no automatic scoring: the button has to do it
    ctx.ml_ready = True
    ctx.set_project(project)
    window.resize(1024, 640)
    window.show()
    window.show_view("label")
    view = window.view("label")
    assert view.current is not None and view.order_combo.isVisible()
    _choose(view, "informative")
    empty = view.empty
    assert view.pages.currentWidget() is empty and view.current is None
    assert empty.title.text() == "This order needs the model's scores"
    assert "the base model has not scored them yet" in empty.message.text()
    assert "stsstudio" not in empty.message.text() and "`" not in empty.message.text()
    assert empty.compute_button.isVisible() and not empty.button.isVisible()
    assert view.order_combo.isVisible()
    window.show_view("pairs")                # switching views keeps the order box
    window.show_view("label")
    assert view.order_combo.isVisible() and view.order == "informative"

    progress: list[tuple[int, int, int]] = []
    ctx.scoringProgressed.connect(lambda *args: progress.append(args))
    with qtbot.waitSignal(ctx.predictionsChanged, timeout=60_000) as scored:
        qtbot.mouseClick(empty.compute_button, Qt.MouseButton.LeftButton)
        assert not empty.compute_button.isEnabled()   # no second click while it starts
    assert scored.args == [0]
    qtbot.waitUntil(lambda: view.current is not None, timeout=10_000)
    qtbot.waitUntil(lambda: window.predictions.running is None, timeout=10_000)
    assert progress[0] == (0, 0, 0) and any(total > 0 for _, _, total in progress)
    assert set(project.predictions.sets()) == {0}
    expected = [c.pair_id for c in rank_pairs(project, "informative")]
    assert len(expected) == 10 and view.queue[:10] == expected and view.current.id == expected[0]
    uses = view.queue_bar.uses_label
    assert uses.isVisible() and "No trained run yet" in uses.text() and "the base model alone" in uses.text()
    ctx.set_project(None)


def test_the_order_box_shows_on_every_page(tmp_path: Path, qtbot) -> None:
    ctx = ProjectContext()
    view = _view(ctx, qtbot)
    assert view.pages.currentWidget() is view.empty and view.order_combo.isVisible()   # no project
    ctx.set_project(Project.create(tmp_path / "none"))
    assert view.empty.title.text() == "Nothing to label" and view.order_combo.isVisible()
    ctx.set_project(_project(tmp_path / "p", labels={1: (0.5, "ana")}))
    assert view.current.id == 2 and view.order_combo.isVisible()                       # a pair
    _choose(view, "thin_bands")                                                         # no scores
    assert view.empty.compute_button.isVisible() and view.order_combo.isVisible()
    assert view.header.fullText() == ""                        # no header of the last pair
    _store_base_scores(ctx.project)
    view.loader.async_rows = 1                                 # rank in a worker: "Ranking pairs…"
    ctx.predictionsChanged.emit(0)
    assert view.ranking and view.order_combo.isVisible()
    qtbot.waitUntil(lambda: view.current is not None, timeout=10_000)
    _choose(view, "file")
    for _ in range(10):
        view.next()
    assert view.empty.title.text() == "You reached the end" and view.order_combo.isVisible()
    ctx.set_project(None)


def test_resolve_disagreements_with_one_annotator_says_why_and_switches(tmp_path: Path, qtbot) -> None:
    ctx = ProjectContext()
    ctx.annotator = "ana"
    ctx.set_project(_project(tmp_path / "one", labels={1: (0.2, "ana"), 2: (0.8, "ana")}))
    view = _view(ctx, qtbot)
    _choose(view, "disagreements")
    empty = view.empty
    assert view.pages.currentWidget() is empty
    assert empty.title.text() == "No disagreements to resolve"
    assert empty.message.text() == ("Only one person has labelled this project, so there are no "
                                    "disagreements to resolve.")
    assert not empty.button.isVisible()                        # no "Start over" that does nothing
    assert empty.switch_button.isVisible() and empty.switch_button.text() == "Label the 8 unlabeled pairs"
    assert view.order_combo.isVisible()
    qtbot.mouseClick(empty.switch_button, Qt.MouseButton.LeftButton)
    assert view.order == "file" and view.current is not None and view.current.id == 3
    ctx.set_project(None)


def _visible_button(view: AnnotateView) -> QPushButton | None:
    empty = view.empty
    shown = [b for b in (empty.button, empty.switch_button, empty.compute_button) if b.isVisible()]
    assert len(shown) <= 1
    return shown[0] if shown else None


@pytest.mark.parametrize("order", [o.name for o in QUEUE_ORDERS])
def test_no_order_ends_in_a_dead_end(order: str, tmp_path: Path, qtbot) -> None:
    """At the end of any order (or at once, when it has nothing), the page has a button, and
    pressing it shows a pair again."""
    ctx = ProjectContext()
    ctx.annotator = "ana"
    project = _project(tmp_path / order, labels={1: (0.2, "ana"), 2: (0.8, "ana")})
    _store_base_scores(project)
    ctx.set_project(project)
    view = _view(ctx, qtbot)
    _choose(view, order)
    for _ in range(12):
        view.next()
    assert view.pages.currentWidget() is view.empty and view.order_combo.isVisible()
    assert "stsstudio" not in view.empty.message.text()
    button = _visible_button(view)
    assert button is not None, f"{order}: {view.empty.title.text()} has no way on"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert view.current is not None, f"{order}: {button.text()} showed no pair"
    ctx.set_project(None)

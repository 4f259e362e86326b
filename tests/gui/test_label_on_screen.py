"""A label lands only on the pair on screen (issue 20, point 1).

The fault it guards: with "Review disagreements" as the order, background scoring finished, the
queue was rebuilt, and the view jumped to another pair between the annotator's keys; Enter then
overwrote that pair's earlier label. Here hundreds of seeded interleavings of keys (digits,
arrows, Enter, Backspace, skip, undo) with background events finishing in between (scoring,
suggested pairs added, labels merged from another annotator, a model order ranked in a worker,
the user changing the order) check two things after every step, in the project's database:

- every label written by a key press belongs to the pair the view displayed at that key press,
  with the score it displayed;
- no background event changes the pair on screen or its unsaved score.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from db_support import db_rows
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocument

from stsstudio.core.changes import Changes
from stsstudio.core.label_queue import QUEUE_ORDERS
from stsstudio.core.store import Project
from stsstudio.gui.common.context import ProjectContext
from stsstudio.gui.label.annotate import AnnotateView

WORDS = ("chest", "film", "shows", "no", "acute", "lung", "nodule", "stable", "mild", "effusion",
         "left", "right", "lower", "lobe", "opacity", "heart", "size", "normal", "small", "new")
ME, OTHER = "alice", "bob"


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(6)) + f" case {n}"


def _project(folder: Path, pairs: int = 40) -> Project:
    """A 1–5 project: half its pairs labeled by the import, a base prediction set."""
    rng = random.Random(7)
    project = Project.create(folder, name="Radiology")
    rows = [(_sentence(rng, 2 * i), _sentence(rng, 2 * i + 1),
             rng.choice([0.0, 0.25, 0.5, 0.75, 1.0]) if i % 2 else None, "train", i + 1, None)
            for i in range(pairs)]
    project.pairs.insert(rows, source="radiology.csv")
    project.set_display_scale("1-5")
    _scored(project, rng)
    return project


def _scored(project: Project, rng: random.Random) -> None:
    """What background scoring writes when it finishes: a complete base prediction set."""
    ids = project.pairs.query_ids()
    project.predictions.start(0)
    project.predictions.add(0, [(i, rng.random(), None) for i in ids])
    project.predictions.finish(0, "base", project.pairs.version(), len(ids))


def _my_labels(project: Project) -> list[tuple[int, int, float]]:
    return db_rows(project, "SELECT id, pair_id, score FROM labels WHERE annotator = ? ORDER BY id",
                   (ME,))


def _shown(view: AnnotateView) -> tuple[int | None, float | None]:
    """The pair the view displays (checked against the cards' text) and its unsaved score."""
    if view.pages.currentIndex() != 0 or view.shown_id is None:
        return None, None
    pair = view.ctx.project.pairs.get(view.shown_id)
    assert pair is not None
    doc = QTextDocument()
    doc.setHtml(view.card1.text.text() + " " + view.card2.text.text())
    shown_text = " ".join(doc.toPlainText().split())
    assert pair.sentence1 in shown_text and pair.sentence2 in shown_text, (pair.id, shown_text)
    return view.shown_id, view.score


class Journey:
    """One seeded interleaving of keys and background events on one view."""

    def __init__(self, view: AnnotateView, qtbot, rng: random.Random, counter: list[int]) -> None:
        self.view, self.qtbot, self.rng, self.counter = view, qtbot, rng, counter
        self.project = view.ctx.project
        self.keys = list(view.number_keys)

    # -- the annotator's keys -----------------------------------------------------------------

    def key(self, key: Qt.Key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
        self.qtbot.keyClick(self.view, key, modifier)

    def enter(self) -> None:
        shown, score = _shown(self.view)
        before = _my_labels(self.project)
        self.key(Qt.Key.Key_Return)
        new = _my_labels(self.project)[len(before):]
        if shown is None or score is None:
            assert not new, "a label was written while no pair with a score was on screen"
            return
        for _label_id, pair_id, stored in new:
            assert pair_id == shown, f"label for pair {pair_id} while pair {shown} was on screen"
            assert abs(stored - score) < 1e-6, (stored, score)

    def step(self) -> None:
        rng = self.rng
        action = rng.choices(
            ["digit", "arrow", "enter", "back", "skip", "undo", "scored", "suggest", "merge",
             "order", "worker", "wait"],
            weights=[14, 6, 16, 4, 3, 4, 8, 5, 5, 4, 3, 6])[0]
        if action == "digit":
            self.key(rng.choice(self.keys))
        elif action == "arrow":
            mod = rng.choice([Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.ShiftModifier])
            self.key(rng.choice([Qt.Key.Key_Left, Qt.Key.Key_Right]), mod)
        elif action == "enter":
            self.enter()
        elif action == "back":
            self.key(Qt.Key.Key_Backspace)
        elif action == "skip":
            self.key(Qt.Key.Key_S)
        elif action == "undo":
            self.key(Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        elif action == "order":     # the user's own choice: it may show another pair
            self.view.order_combo.setCurrentIndex(rng.randrange(self.view.order_combo.count()))
        elif action == "worker":    # model orders rank in a worker from now on (a big project)
            self.view.loader.async_rows = rng.choice([0, 10**9])
        elif action == "wait":
            self.qtbot.wait(rng.choice([0, 1, 5, 20]))
        else:
            self.background(action)

    # -- work finishing in the background -----------------------------------------------------

    def background(self, action: str) -> None:
        view, project, rng = self.view, self.project, self.rng
        before = _shown(view)
        if action == "scored":
            _scored(project, rng)
            view.ctx.apply(Changes.scored(0))
        elif action == "suggest":
            self.counter[0] += 1
            n = 10_000 + self.counter[0]
            project.pairs.insert([(_sentence(rng, 2 * n), _sentence(rng, 2 * n + 1), None, "train",
                                   n, None)], source="suggested")
            view.ctx.apply(Changes.new_pairs())
        elif action == "merge":
            ids = rng.sample(project.pairs.query_ids(), 3)
            project.labels.merge([(i, OTHER, rng.choice([0.0, 0.5, 1.0])) for i in ids])
            view.ctx.apply(Changes.merged())
        self.qtbot.wait(rng.choice([0, 1, 10]))
        after = _shown(view)
        if before[0] is not None:
            assert after == before, f"{action} moved the view from {before} to {after}"


@pytest.mark.parametrize("block", range(4))
def test_labels_land_on_the_pair_on_screen_through_background_events(tmp_path: Path, qtbot,
                                                                     block: int) -> None:
    """50 seeded interleavings of 25 steps per block, 200 in all."""
    ctx = ProjectContext()
    ctx.annotator = ME
    ctx.set_project(_project(tmp_path / "p"))
    counter = [0]
    written = 0
    try:
        for seed in range(block * 50, block * 50 + 50):
            rng = random.Random(seed)
            view = AnnotateView(ctx)
            qtbot.addWidget(view)
            view.resize(1000, 640)
            view.show()
            index = view.order_combo.findData(rng.choice([o.name for o in QUEUE_ORDERS]))
            view.order_combo.setCurrentIndex(max(0, index))
            journey = Journey(view, qtbot, rng, counter)
            for _ in range(25):
                journey.step()
            runner = view.loader._runner   # let a ranking worker end before the next view
            qtbot.waitUntil(lambda r=runner: r.worker is None and not r._stale, timeout=10000)
            view.close()
            view.deleteLater()
        written = len(_my_labels(ctx.project))
    finally:
        ctx.set_project(None)
    assert written > 20   # the journeys did label pairs (the checks ran on real writes)


def test_background_scoring_after_suggest_keeps_the_new_pair_and_its_typed_score(tmp_path: Path,
                                                                                qtbot) -> None:
    """The reported case: Review disagreements, a suggested pair opened, a score typed, then
    scoring finishes; Enter labels the new pair, and the earlier label on the pair the queue
    starts with is untouched."""
    ctx = ProjectContext()
    ctx.annotator = ME
    project = _project(tmp_path / "p")
    ctx.set_project(project)
    view = AnnotateView(ctx)
    qtbot.addWidget(view)
    view.show()
    view.order_combo.setCurrentIndex(view.order_combo.findData("review"))
    first = view.shown_id
    assert first is not None and project.pairs.get(first).score is not None   # a labeled pair
    old_score = project.pairs.get(first).score
    report = project.pairs.insert([("a brand new finding sentence", "another new finding", None,
                                    "train", 999, None)], source="suggested")
    assert report.inserted == 1
    new_id = max(project.pairs.query_ids())
    ctx.apply(Changes.new_pairs())
    ctx.openPairRequested.emit(new_id)
    assert view.shown_id == new_id
    qtbot.keyClick(view, Qt.Key.Key_4)                 # 4 of 5 on screen
    _scored(project, random.Random(1))                 # the new pair is scored: a new ranking
    ctx.apply(Changes.scored(0))
    qtbot.wait(20)
    assert view.shown_id == new_id and view.score == pytest.approx(0.75)
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert project.pairs.get(new_id).score == pytest.approx(0.75)
    assert project.pairs.get(first).score == pytest.approx(old_score)
    ctx.set_project(None)

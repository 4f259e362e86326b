"""The labelling view, driven by its keys; every step checks what the project database holds."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from db_support import db_rows as _db_rows
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QVBoxLayout, QWidget

from stsstudio.core.store import Project
from stsstudio.gui.common.context import ProjectContext
from stsstudio.gui.common.undo import SetLabelCommand
from stsstudio.gui.label.annotate import AnnotateView
from stsstudio.gui.label.pair_cards import highlight_html, shared_words

DIGITS = [Qt.Key.Key_0, Qt.Key.Key_1, Qt.Key.Key_2, Qt.Key.Key_3, Qt.Key.Key_4, Qt.Key.Key_5]


def import_stsb(project: Project, path: Path) -> int:
    """Import an STS-B file through core (the importer when present, else a plain reader)."""
    try:
        from stsstudio.core.importers import import_pairs  # noqa: F401
    except ImportError:
        import_pairs = None
    if import_pairs is not None:
        try:
            report = import_pairs(project, path, split="dev")
            return int(getattr(report, "imported", 0) or project.stats()["pairs"])
        except TypeError:
            pass   # a different signature than expected: fall back to the plain reader
    rows = []
    with open(path, newline="", encoding="utf-8") as f:
        for n, r in enumerate(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE), start=1):
            rows.append((r[5], r[6], float(r[4]) / 5.0, "dev", n, None))
    return project.pairs.insert(rows, source=str(path)).inserted


@pytest.fixture
def stsb_project_dir(tmp_path: Path, stsb_dev: Path) -> Path:
    folder = tmp_path / "stsb"
    with Project.create(folder, name="STS-B dev") as project:
        assert import_stsb(project, stsb_dev) > 1000
        assert project.stats()["pairs"] > 1000
    return folder


@pytest.fixture
def label_ctx(stsb_project_dir: Path, qtbot):
    ctx = ProjectContext()
    ctx.annotator = "alice"
    ctx.set_project(Project.open(stsb_project_dir))
    yield ctx
    ctx.set_project(None)


def _view(ctx: ProjectContext, qtbot) -> AnnotateView:
    view = AnnotateView(ctx)
    qtbot.addWidget(view)
    view.resize(1000, 700)
    view.show()
    view.activateWindow()
    return view


def test_label_twenty_pairs_undo_flag_and_reopen(label_ctx, stsb_project_dir, qtbot):
    ctx = label_ctx
    project = ctx.project
    view = _view(ctx, qtbot)
    expected: dict[int, float] = {}
    seen: list[int] = []
    for i in range(20):
        pair_id = view.current.id
        assert pair_id not in seen
        seen.append(pair_id)
        qtbot.keyClick(view, DIGITS[i % 6])
        score = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0][i % 6]
        if i % 4 == 1:   # fine-tune some with the arrows
            qtbot.keyClick(view, Qt.Key.Key_Right)                                   # +0.05
            qtbot.keyClick(view, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)  # -0.01
            score = round(min(1.0, score + 0.05) - 0.01, 2)
        assert view.score == pytest.approx(score)
        qtbot.keyClick(view, Qt.Key.Key_Return)
        # committed the moment it was given
        stored = project.pairs.get(pair_id)
        assert stored.score == pytest.approx(score)
        assert stored.annotator == "alice"
        assert view.current.id != pair_id
        expected[pair_id] = score

    # Ctrl+Z takes the last label back and returns to that pair with its score on the slider
    last = seen[-1]
    before_history = project.labels.history(last)
    qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert view.current.id == last
    assert view.score == pytest.approx(expected[last])
    history = project.labels.history(last)
    assert len(history) == len(before_history) - 1
    assert all(label.annotator != "alice" for label in history)
    stored = project.pairs.get(last)
    assert stored.annotator != "alice"          # back to the imported label (or none)
    del expected[last]

    # flag it
    qtbot.keyClick(view, Qt.Key.Key_F)
    assert project.pairs.get(last).flagged is True
    assert view.flag_badge.isVisibleTo(view)

    # close and reopen: every label and its annotator is there
    ctx.set_project(None)
    with Project.open(stsb_project_dir) as reopened:
        for pair_id, score in expected.items():
            pair = reopened.pairs.get(pair_id)
            assert pair.score == pytest.approx(score)
            assert pair.annotator == "alice"
            assert reopened.labels.history(pair_id)[-1].annotator == "alice"
        assert reopened.pairs.get(last).flagged is True
        assert reopened.pairs.get(last).annotator != "alice"
        assert _db_rows(reopened, "SELECT COUNT(*) FROM labels WHERE annotator = 'alice'")[0][0] == 19


def test_window_shortcut_does_not_steal_ctrl_z(label_ctx, qtbot):
    """A window-level Ctrl+Z action (the Edit menu) must not fire while the view has the keys."""
    ctx = label_ctx
    window = QWidget()
    qtbot.addWidget(window)
    fired = []
    action = QAction("Undo", window)
    action.setShortcut(QKeySequence.StandardKey.Undo)
    action.triggered.connect(lambda: fired.append(1))
    window.addAction(action)
    view = AnnotateView(ctx, window)
    QVBoxLayout(window).addWidget(view)
    window.resize(1000, 700)
    window.show()
    qtbot.waitExposed(window)
    first = view.current.id
    qtbot.keyClick(view, Qt.Key.Key_3)
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert ctx.project.pairs.get(first).annotator == "alice"
    qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert fired == []
    assert ctx.project.pairs.get(first).annotator != "alice"
    assert ctx.undo_stack.index() == 0


def test_skip_back_note_and_guidelines(label_ctx, qtbot):
    ctx = label_ctx
    project = ctx.project
    view = _view(ctx, qtbot)
    first = view.current.id
    labels_before = project.stats()["labels"]
    qtbot.keyClick(view, Qt.Key.Key_S)                    # skip: nothing written
    second = view.current.id
    assert second != first
    assert project.stats()["labels"] == labels_before
    qtbot.keyClick(view, Qt.Key.Key_Backspace)            # back
    assert view.current.id == first

    # N edits the note; digits typed there stay in the note
    qtbot.keyClick(view, Qt.Key.Key_N)
    assert view.focusWidget() is view.note_edit
    qtbot.keyClicks(view.note_edit, "check 4 later")
    assert view.score == view.current.score               # the "4" did not move the slider
    qtbot.keyClick(view.note_edit, Qt.Key.Key_Return)
    assert project.pairs.get(first).note == "check 4 later"
    assert view.focusWidget() is view
    qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert project.pairs.get(first).note == ""

    # Enter without a score on an unlabeled pair writes nothing
    project.labels.remove(project.labels.history(first)[-1].id)
    view.open_pair(first)
    assert view.current.score is None and view.score is None
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert view.current.id == first
    assert project.pairs.get(first).score is None

    # guidelines: edited in place, saved to the project
    view.guidelines.edit_button.click()
    view.guidelines.editor.setPlainText("Judge the meaning, not the wording.")
    qtbot.waitUntil(lambda: project.guidelines == "Judge the meaning, not the wording.", timeout=3000)


def test_queue_order_split_and_open_pair(tmp_path, qtbot):
    project = Project.create(tmp_path / "p")
    rows = [(f"sentence a{i}", f"sentence b{i}", 0.5 if i % 3 == 0 else None,
             "train" if i % 2 else "test", i, None) for i in range(1, 31)]
    project.pairs.insert(rows)
    ctx = ProjectContext()
    ctx.annotator = "bob"
    ctx.set_project(project)
    view = _view(ctx, qtbot)
    unlabeled = project.pairs.query_ids(filter="unlabeled")
    assert view.queue[:len(unlabeled)] == unlabeled       # unlabeled first, in file order
    assert view.total == 30 and view.labeled == 10
    view.split_combo.setCurrentIndex(view.split_combo.findData("test"))
    assert view.queue[0] in project.pairs.query_ids(filter="unlabeled", split="test")
    assert view.total == 15
    assert "of 15 labeled" in view.progress_label.text()
    view.order_combo.setCurrentIndex(view.order_combo.findData("random"))
    test_unlabeled = project.pairs.query_ids(filter="unlabeled", split="test")
    assert sorted(view.queue[:len(test_unlabeled)]) == test_unlabeled
    assert view.queue[:len(test_unlabeled)] != test_unlabeled   # shuffled (seeded)
    queue_again = list(view.queue)
    view.order_combo.setCurrentIndex(0)
    view.order_combo.setCurrentIndex(1)
    assert view.queue == queue_again                       # the same seed, the same order
    # a labeled pair counts and the progress moves
    qtbot.keyClick(view, Qt.Key.Key_5)
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert view.labeled == project.stats()["labeled_splits"]["test"]
    # the pair table asks for a pair: it is shown
    ctx.openPairRequested.emit(2)
    assert view.current.id == 2
    assert "Pair 2" in view.header.fullText()
    ctx.set_project(None)


def test_empty_project_shows_import_action(ctx, qtbot):
    view = _view(ctx, qtbot)
    assert view.pages.currentWidget() is view.empty
    with qtbot.waitSignal(ctx.showViewRequested) as blocker:
        view.empty.button.click()
    assert blocker.args == ["import"]


def test_slider_moves_merge_into_one_undo_step(project, qtbot):
    project.pairs.insert([("a b", "c d", None, "train", 1, None)])
    ctx = ProjectContext()
    ctx.set_project(project)
    for score in (0.1, 0.2, 0.3):
        ctx.undo_stack.push(SetLabelCommand(ctx, 1, score, "eve", mergeable=True))
    assert ctx.undo_stack.count() == 1
    assert [label.score for label in project.labels.history(1)] == [0.3]
    ctx.undo_stack.undo()
    assert project.pairs.get(1).score is None and project.labels.history(1) == []
    ctx.undo_stack.redo()
    assert project.pairs.get(1).score == pytest.approx(0.3)
    # confirmed labels never merge
    ctx.undo_stack.push(SetLabelCommand(ctx, 1, 0.8, "eve"))
    ctx.undo_stack.push(SetLabelCommand(ctx, 1, 0.6, "eve"))
    assert ctx.undo_stack.count() == 3
    ctx.undo_stack.undo()
    assert project.pairs.get(1).score == pytest.approx(0.8)


def test_shared_word_highlight():
    words = shared_words("The VPN drops at home", "My vpn keeps dropping at HOME")
    assert words == {"vpn", "home"}
    html = highlight_html("A <b> & VPN", {"vpn"})
    assert "&lt;b&gt; &amp;" in html and "font-weight:600'>VPN</span>" in html


def _small_view(ctx, qtbot, size=(1000, 700)) -> AnnotateView:
    ctx.annotator = "alice"
    ctx.project.pairs.insert([
        ("The printer on floor 3 is not working.", "The printer on floor 3 is working.", None,
         "train", 1, None),
        ("My laptop will not start.", "Is there parking at the office?", 0.45, "train", 2, None),
        ("Reset my password.", "I forgot my password.", None, "train", 3, None),
    ], source="/data/clinic_pairs.csv")
    ctx.pairsChanged.emit()
    view = AnnotateView(ctx)
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    view.activateWindow()
    qtbot.waitUntil(lambda: view.current is not None)
    return view


def test_an_unlabeled_pair_shows_an_unset_slider(ctx, qtbot):
    view = _small_view(ctx, qtbot)
    assert view.current.score is None
    assert view.slider.unset                    # no handle: nothing looks chosen yet
    qtbot.keyClick(view, Qt.Key.Key_Right)      # the first arrow press sets the middle
    assert view.score == pytest.approx(0.5) and not view.slider.unset
    qtbot.keyClick(view, Qt.Key.Key_Right)
    assert view.score == pytest.approx(0.55)
    qtbot.keyClick(view, Qt.Key.Key_Return)     # saved; the next unlabeled pair: unset again
    assert view.current.id == 3 and view.slider.unset
    qtbot.keyClick(view, Qt.Key.Key_2)
    qtbot.keyClick(view, Qt.Key.Key_Return)     # then the labeled pair: its handle shows
    assert view.current.id == 2 and not view.slider.unset


def test_differences_are_highlighted_by_default(ctx, qtbot):
    from stsstudio.gui.label.pair_cards import different_words

    assert different_words("The printer is not working.", "The printer is working.") == ({"not"}, set())
    assert different_words("My laptop will not start.", "Is there parking at the office?") == (set(), set())
    view = _small_view(ctx, qtbot)
    assert view.highlight_combo.currentData() == "differences"
    assert "font-weight:600'>not</span>" in view.card1.text.text()
    assert "font-weight:600'>printer" not in view.card1.text.text()
    view.highlight_combo.setCurrentIndex(view.highlight_combo.findData("shared"))
    assert "font-weight:600'>printer</span>" in view.card1.text.text()


def test_sitting_counts_pairs_and_header_names_the_file(ctx, qtbot):
    view = _small_view(ctx, qtbot)
    qtbot.keyClick(view, Qt.Key.Key_3)
    qtbot.keyClick(view, Qt.Key.Key_Return)
    qtbot.keyClick(view, Qt.Key.Key_Backspace)   # back to pair 1, relabel it
    qtbot.keyClick(view, Qt.Key.Key_4)
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert "1 label this sitting" in view.progress_label.text()   # one pair, labeled twice
    qtbot.keyClick(view, Qt.Key.Key_2)
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert "2 labels this sitting" in view.progress_label.text()
    assert view.current.id == 2
    assert "labeled 0.45 from clinic_pairs.csv, row 2" in view.header.fullText()


def test_a_long_sentence_fits_its_card_on_a_small_screen(ctx, qtbot):
    long = ("Patient reports intermittent chest pain radiating to the left arm, worse on exertion "
            "and relieved by rest, with shortness of breath when climbing stairs and occasional "
            "sweating at night over the last three weeks, and a cough since Monday.")
    ctx.project.pairs.insert([(long, long[:60], None, "train", 1, None)])
    view = _small_view(ctx, qtbot, size=(800, 600))
    view.open_pair(1)
    qtbot.wait(50)
    card = view.card1
    text = card.text
    assert text.font().pointSizeF() < 16                         # shrunk to fit
    assert text.heightForWidth(text.width()) <= text.height() + 1  # every line shown

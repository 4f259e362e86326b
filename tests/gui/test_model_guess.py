"""The model's guess in the Label view, and scoring in the background (issue 12)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from stsstudio.core.calibration import fit_calibration
from stsstudio.core.store import Project
from stsstudio.gui.common.context import ProjectContext
from stsstudio.gui.label.annotate import AnnotateView
from stsstudio.gui.label.prediction_scheduler import PredictionScheduler
from stsstudio.gui.shell import settings

ROWS = [(f"first sentence {i}", f"second sentence {i}") for i in range(8)]
COSINE = {i + 1: 0.1 * i for i in range(8)}      # pair 1: 0.0 ... pair 8: 0.7


def _project(path: Path, base_model: str = "default") -> Project:
    project = Project.create(path, base_model=base_model)
    project.pairs.insert([(a, b, None, "train", i + 1, None) for i, (a, b) in enumerate(ROWS)])
    project.predictions.start(0)
    project.predictions.add(0, [(pid, c, None) for pid, c in COSINE.items()])
    project.predictions.finish(0, "default", project.pairs.version(), len(COSINE))
    return project


def _view(ctx: ProjectContext, qtbot) -> AnnotateView:
    view = AnnotateView(ctx)
    qtbot.addWidget(view)
    view.resize(1000, 700)
    view.show()
    view.activateWindow()
    return view


def test_the_guess_is_hidden_until_the_expert_commits(tmp_path: Path, qtbot) -> None:
    ctx = ProjectContext()
    ctx.set_project(_project(tmp_path / "p"))
    view = _view(ctx, qtbot)
    assert view.current.id == 1 and not view.model_guess.show_before
    view.next()                                      # pair 2, unlabeled: a guess exists ...
    assert view.current.id == 2 and view.model_guess.guess == 0.1
    assert view.model_guess.marker.value is None and not view.model_guess.marker.isVisible()
    assert "once you score" in view.model_guess.text.text()
    qtbot.keyClick(view, Qt.Key.Key_G)               # ... and G does nothing in this mode
    assert ctx.project.labels.history(2) == []
    view.set_score(0.2)
    qtbot.keyClick(view, Qt.Key.Key_Return)          # commit: the next pair shows no marker
    assert view.current.id == 3 and view.model_guess.marker.value is None
    qtbot.keyClick(view, Qt.Key.Key_Backspace)       # back to the labeled pair: now it shows
    assert view.current.id == 2 and view.model_guess.marker.value == 0.1
    assert view.model_guess.marker.isVisible()
    [label] = ctx.project.labels.history(2)
    assert label.source == "" and label.model_run == 0 and label.guess == 0.1 and not label.surprise
    ctx.set_project(None)


def test_surprise_is_shown_and_recorded(tmp_path: Path, qtbot) -> None:
    ctx = ProjectContext()
    ctx.set_project(_project(tmp_path / "p"))
    view = _view(ctx, qtbot)
    messages: list[str] = []
    ctx.statusMessage.connect(messages.append)
    view.set_score(1.0)                              # pair 1: the model guesses 0.0
    qtbot.keyClick(view, Qt.Key.Key_Return)
    [label] = ctx.project.labels.history(1)
    assert label.surprise and label.guess == 0.0
    assert view.model_guess.surprise.isVisible() and "Surprise" in view.model_guess.surprise.text()
    assert any("Surprise" in m for m in messages)
    assert ctx.project.labels.surprise_count() == 1
    ctx.set_project(None)


def test_accepting_the_guess_records_its_source(tmp_path: Path, qtbot) -> None:
    settings.set(settings.MODEL_GUESS_BEFORE, True)
    project = _project(tmp_path / "p")
    project.pairs.insert([(f"s{i}", f"t{i}", y, "dev", 20 + i, None)
                          for i, y in enumerate([0.1, 0.3, 0.5, 0.7, 0.9, 0.2])])
    preds = {9 + i: c for i, c in enumerate([0.0, 0.1, 0.2, 0.3, 0.4, 0.05])}
    project.predictions.add(0, [(pid, c, None) for pid, c in preds.items()])
    assert fit_calibration(project, 0) is not None   # guesses go through the calibration
    ctx = ProjectContext()
    ctx.set_project(project)
    view = _view(ctx, qtbot)
    assert view.model_guess.show_before
    view.next()                                      # pair 2: cosine 0.1
    guess = view.model_guess.guess
    assert guess is not None and view.model_guess.marker.value == guess  # shown before scoring
    assert "G accepts" in view.model_guess.text.text()
    qtbot.keyClick(view, Qt.Key.Key_G)
    [label] = project.labels.history(2)
    assert label.source == "model" and label.model_run == 0
    assert abs(label.score - guess) < 1e-3 and not label.surprise
    assert view.current.id == 3
    ctx.set_project(None)


def test_scheduler_scores_the_base_model_in_the_background(tmp_path: Path, qtbot,
                                                           tiny_model_dir: Path) -> None:
    project = Project.create(tmp_path / "s", base_model=str(tiny_model_dir))
    project.pairs.insert([(a, b, None, "train", i + 1, None) for i, (a, b) in enumerate(ROWS)])
    ctx = ProjectContext()
    ctx.ml_ready = True
    scheduler = PredictionScheduler(ctx)
    scheduler._timer.setInterval(0)
    with qtbot.waitSignal(ctx.predictionsChanged, timeout=60000) as blocker:
        ctx.set_project(project)
        assert scheduler.running is None                 # it starts shortly, never at once
        qtbot.waitUntil(lambda: scheduler.running == 0, timeout=5000)
        assert "Scoring pairs with the base model" in scheduler.label.text()
    assert blocker.args == [0]
    assert set(project.predictions.sets()) == {0} and len(project.predictions.get(0)) == 8
    qtbot.waitUntil(lambda: scheduler.running is None, timeout=5000)
    # New pairs make the set out of date: it is scored again, covering them.
    project.pairs.insert([("a new first sentence", "a new second one", None, "train", 9, None)])
    with qtbot.waitSignal(ctx.predictionsChanged, timeout=60000):
        ctx.pairsChanged.emit()
    assert len(project.predictions.get(0)) == 9
    qtbot.waitUntil(lambda: scheduler.running is None, timeout=5000)
    ctx.set_project(None)


def test_try_review_list_is_the_review_queue_and_enter_goes_on_through_it(tmp_path: Path, qtbot,
                                                                          tiny_model_dir: Path) -> None:
    from stsstudio.gui.trying.try_view import TryView, review_job

    project = _project(tmp_path / "t", str(tiny_model_dir))
    for pid, score in ((1, 0.9), (2, 0.15), (3, 0.0), (4, 0.8)):   # cosine 0.0, 0.1, 0.2, 0.3
        project.labels.set(pid, score)
    ctx = ProjectContext()
    ctx.set_project(project)
    try_view = TryView(ctx)
    qtbot.addWidget(try_view)
    label_view = _view(ctx, qtbot)
    try_view._submit("review", review_job, project)
    qtbot.waitUntil(lambda: bool(try_view.evaluation.review_rows) and not try_view.is_busy(), timeout=30_000)
    assert try_view.evaluation.review_rows == [1, 4, 3, 2]   # |label - guess|: .9, .5, .2, .05
    # The table lists a split's worst pairs (core); one in the review queue opens in that order.
    from stsstudio.core.evaluation import worst_pairs

    try_view.evaluation.show_worst(worst_pairs(project, "base", "train"))
    disagreements = try_view.evaluation.disagreements
    row = next(r for r in range(disagreements.rowCount()) if disagreements.item(r, 0).text() == "4")
    disagreements.itemDoubleClicked.emit(disagreements.item(row, 4))   # pair 4
    assert label_view.order == "review" and label_view.current.id == 4
    label_view.set_score(0.3)
    qtbot.keyClick(label_view, Qt.Key.Key_Return)  # Enter: the next pair of the review queue
    assert label_view.current.id == 3
    assert project.labels.history(4)[-1].source == "review"
    # The score card shows the calibrated guess once the model has a calibration.
    from stsstudio.gui.trying.try_view import calibrated_guess

    assert calibrated_guess(project, "base", 0.2) == ""          # 4 labels: no calibration yet
    project.labels.set(5, 0.5)
    fit_calibration(project, 0)
    assert " of 1: " in calibrated_guess(project, "base", 0.2)
    ctx.set_project(None)


def test_a_large_project_ranks_a_model_order_in_a_worker(tmp_path: Path, qtbot) -> None:
    project = _project(tmp_path / "r")
    for pid, score in ((1, 0.9), (2, 0.15), (3, 0.0)):
        project.labels.set(pid, score)
    ctx = ProjectContext()
    ctx.set_project(project)
    view = _view(ctx, qtbot)
    view.loader.async_rows = 0                           # every project counts as large
    with qtbot.waitSignal(view.pairShown, timeout=10_000) as shown:
        view.use_order(0, "review")
        assert view.ranking and view.pages.currentIndex() == 1   # the GUI does not wait
        view.open_pair(3)                              # asked for meanwhile: shown once ranked
    qtbot.waitUntil(lambda: not view.ranking and view.current is not None and view.current.id == 3,
                    timeout=10_000)
    assert shown.args and view.queue[:3] == [1, 3, 2] and view.order == "review"
    ctx.set_project(None)


def test_a_large_project_ranks_the_whole_split_at_once(tmp_path: Path, qtbot, monkeypatch) -> None:
    """A small project ranks a page at a time on the GUI thread; a large one ranks every pair in
    the worker, so no later page is ranked while the expert labels."""
    from stsstudio.gui.label import queue_loader

    monkeypatch.setattr(queue_loader, "QUEUE_CHUNK", 3)   # pages of 3 pairs
    ctx = ProjectContext()
    ctx.set_project(_project(tmp_path / "w"))
    view = _view(ctx, qtbot)
    view.use_order(0, "thin_bands")
    assert not view.ranking and view.queue == [1, 2, 3]  # small: the first page only
    view.loader.async_rows = 0                           # every project counts as large
    view.reload()
    qtbot.waitUntil(lambda: not view.ranking and view.current is not None, timeout=10_000)
    assert view.queue == [1, 2, 3, 4, 5, 6, 7, 8]         # large: all 8 at once, band by band
    ctx.set_project(None)


def test_after_a_label_the_guess_for_that_pair_shows_in_full_named_by_the_pair(tmp_path: Path,
                                                                               qtbot) -> None:
    """Issue 20, point 8: every label (not only a surprise) gets the model's guess for the pair
    just committed, under the slider, word-wrapped, named by the pair's id and first words."""
    project = _project(tmp_path / "p")
    project.set_display_scale("1-5")
    ctx = ProjectContext()
    ctx.set_project(project)
    view = _view(ctx, qtbot)
    view.resize(640, 600)                              # narrow: the note must wrap, not be cut
    view.next()                                        # pair 2: cosine 0.1, no calibration
    view.set_score(0.1)
    qtbot.keyClick(view, Qt.Key.Key_Return)            # not a surprise
    note = view.model_guess.surprise
    assert view.current.id == 3 and note.isVisible()
    text = note.text()
    assert text.startswith("Pair 2 (\u201cfirst sentence 1\u201d): you gave 1.4, "
                           "the model (base model) guessed 1.4.")
    assert "Not fitted to your labels yet" in text and "Surprise" not in text
    assert note.wordWrap() and note.height() >= note.heightForWidth(note.width()) - 1
    top = note.mapTo(view, note.rect().topLeft()).y()
    assert top > view.slider.mapTo(view, view.slider.rect().topLeft()).y()   # under the slider
    view.set_score(1.0)                                # pair 3: cosine 0.2 -> a surprise
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert view.current.id == 4
    assert note.text().startswith("Surprise! Pair 3 (\u201cfirst sentence 2\u201d): you gave 5, the model")
    assert "Noted in the pair's history." in note.text()
    ctx.set_project(None)


def test_a_guess_from_a_rough_calibration_says_so(tmp_path: Path, qtbot) -> None:
    project = _project(tmp_path / "p")
    project.pairs.insert([(f"s{i}", f"t{i}", y, "dev", 20 + i, None)
                          for i, y in enumerate([0.1, 0.3, 0.5, 0.7, 0.9, 0.2])])
    project.predictions.add(0, [(9 + i, c, None) for i, c in enumerate([0.0, 0.1, 0.2, 0.3, 0.4, 0.05])])
    cal = fit_calibration(project, 0)
    assert cal is not None and cal.coarse             # six labels
    ctx = ProjectContext()
    ctx.set_project(project)
    view = _view(ctx, qtbot)
    view.set_score(0.5)
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert "Rough: fitted on only 6 labelled pairs" in view.model_guess.surprise.text()
    qtbot.keyClick(view, Qt.Key.Key_Backspace)         # the labelled pair: "(rough)" and why
    assert "(rough)" in view.model_guess.text.text()
    assert "fitted on only 6 labelled pairs" in view.model_guess.text.toolTip()
    ctx.set_project(None)


def test_the_label_view_says_when_a_sentence_is_longer_than_the_model_reads(tmp_path: Path, qtbot,
                                                                            tiny_model_dir: Path) -> None:
    from stsstudio.core import inference

    project = Project.create(tmp_path / "long", base_model=str(tiny_model_dir))
    long = " ".join(["the dog is running"] * 40)
    project.pairs.insert([(long, "a dog runs", None, "train", 1, None)])
    project.predictions.start(0)
    project.predictions.add(0, [(1, 0.5, None)])
    project.predictions.finish(0, "default", project.pairs.version(), 1)
    model = inference.get_model("base", device="cpu", project=project)   # as background scoring does
    ctx = ProjectContext()
    ctx.set_project(project)
    view = _view(ctx, qtbot)
    view.set_score(0.5)
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert f"Only the first {model.max_seq_length} tokens of the first sentence were read" \
        in view.model_guess.surprise.text()
    ctx.set_project(None)
    inference.clear_model_cache()


def test_try_says_when_a_sentence_is_longer_than_the_model_reads(tmp_path: Path, qtbot,
                                                                 tiny_model_dir: Path) -> None:
    from stsstudio.core import inference
    from stsstudio.gui.trying.try_score import PairScoreBox
    from stsstudio.gui.trying.try_view import score_job

    project = Project.create(tmp_path / "t", base_model=str(tiny_model_dir))
    long = " ".join(["the dog is running"] * 60)
    out = score_job(project, {"base": "base"}, long, "a dog runs")
    limit = inference.get_model("base", project=project).max_seq_length
    assert out["cut"].startswith(f"Only the first {limit} tokens of the first sentence were read")
    assert score_job(project, {"base": "base"}, "a dog runs", "the dog is running")["cut"] == ""
    box = PairScoreBox()
    qtbot.addWidget(box)
    box.show_scores(out)
    assert box.cut_note.isVisibleTo(box) and box.cut_note.text() == out["cut"]
    project.close()
    inference.clear_model_cache()

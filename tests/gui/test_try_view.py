"""The Try view with the tiny model as the project's base model: pair score (debounced, in a
worker), search with its pairs, gold against predicted with click-to-label, disagreements."""

from __future__ import annotations

import pytest


@pytest.fixture
def tiny_demo_ctx(demo_ctx, tiny_model_dir):
    demo_ctx.project.set_meta("base_model", str(tiny_model_dir))
    return demo_ctx


def test_pair_score_is_debounced_and_matches_core(tiny_demo_ctx, qtbot) -> None:
    from stsstudio.core.inference import similarity
    from stsstudio.gui.trying.try_view import TryView

    view = TryView(tiny_demo_ctx)
    qtbot.addWidget(view)
    assert view.selected_run_id() is None                 # no run yet: base model only
    assert "No trained run" in view.run_combo.currentText()
    scored = []
    original = view._apply_scores
    view._apply_scores = lambda result: (scored.append(result), original(result))  # noqa: E731
    # Typing character by character schedules one debounced encode, not one per keystroke.
    for text in ("the printer", "the printer is", "the printer is broken"):
        view.pair_score.sentence1.setPlainText(text)
    view.pair_score.sentence2.setPlainText("printer not working")
    qtbot.waitUntil(lambda: bool(view.last_scores) and not view.is_busy(), timeout=60_000)
    assert len(scored) == 1
    expected = similarity("base", "the printer is broken", "printer not working",
                          project=tiny_demo_ctx.project)
    assert view.last_scores["base"] == pytest.approx(expected, abs=1e-5)
    assert view.pair_score.base_card.value.text() == f"{expected:.3f}"


def test_search_lists_pairs_and_opens_them(tiny_demo_ctx, qtbot) -> None:
    from stsstudio.gui.trying.try_view import TryView

    view = TryView(tiny_demo_ctx)
    qtbot.addWidget(view)
    project = tiny_demo_ctx.project
    sentence = project.pairs.labeled()[0].sentence1
    view.search.query.setText(sentence)
    view.search.top_k.setValue(3)
    progress: list[tuple[int, int]] = []
    view._runner.progressed.connect(lambda done, total: progress.append((done, total)))
    view.search_now()
    qtbot.waitUntil(lambda: bool(view.last_search) and not view.is_busy(), timeout=60_000)
    # The first search embedded the project's sentences, counted in the bar; then it is hidden.
    assert progress and progress[-1][0] == progress[-1][1] > 3
    assert view.job_progress.maximum() == progress[-1][1]
    assert not view.job_progress.isVisibleTo(view)
    assert view.search.base_hits.rowCount() == 3
    assert view.search.base_hits.item(0, 1).text() == sentence      # the query itself is the best hit
    view.search.base_hits.selectRow(0)
    assert view.search.hit_pairs.rowCount() >= 1
    pair_id = int(view.search.hit_pairs.item(0, 0).text())
    assert sentence in (project.pairs.get(pair_id).sentence1, project.pairs.get(pair_id).sentence2)
    with qtbot.waitSignal(tiny_demo_ctx.openPairRequested) as blocker:
        view.search.hit_pairs.itemDoubleClicked.emit(view.search.hit_pairs.item(0, 1))
    assert blocker.args == [pair_id]


def test_gold_vs_predicted_scatter_and_disagreements(tiny_demo_ctx, qtbot) -> None:
    from stsstudio.gui.trying.try_view import TryView

    view = TryView(tiny_demo_ctx)
    qtbot.addWidget(view)
    view.show()                                           # showing it evaluates the dev split
    qtbot.waitUntil(lambda: bool(view.last_scatter) and not view.is_busy(), timeout=60_000)
    dev = tiny_demo_ctx.project.pairs.labeled("dev")
    assert view.evaluation.scatter.point_count("base") == len(dev)
    assert "Spearman" in view.evaluation.spearman_label.text()
    disagreements = view.evaluation.disagreements
    assert disagreements.rowCount() == min(50, len(dev))
    deltas = [abs(float(disagreements.item(r, 3).text())) for r in range(disagreements.rowCount())]
    assert deltas == sorted(deltas, reverse=True)         # worst first
    # Clicking a point opens that pair for relabelling.
    scatter = view.evaluation.scatter
    point = scatter.base_points.points()[0]
    with qtbot.waitSignal(tiny_demo_ctx.openPairRequested) as blocker:
        scatter._on_points_clicked(scatter.base_points, [point])
    assert blocker.args == [int(point.data())]
    assert blocker.args[0] in {p.id for p in dev}


def test_disagreements_follow_the_split_and_leave_out_trained_pairs(tiny_demo_ctx, tiny_model_dir,
                                                                    qtbot) -> None:
    """Issue 20, point 5: under Split: dev the table lists dev pairs only, never a pair the
    selected run trained on, and the same pairs as the core operation the CLI calls."""
    import shutil

    from stsstudio.core.evaluation import worst_pairs
    from stsstudio.gui.trying.try_view import TryView

    project = tiny_demo_ctx.project
    dev = [p.id for p in project.pairs.labeled("dev")]
    train = [p.id for p in project.pairs.labeled("train")]
    run_id = project.runs.create(base_model=project.base_model, loss="cosent", config={})
    shutil.copytree(tiny_model_dir, project.runs.folder(run_id) / "model")
    project.runs.update(run_id, status="finished", model_dir=str(project.runs.folder(run_id) / "model"),
                       best_dev_spearman=0.5)
    trained_dev = dev[:3]                     # pairs the run trained on that now sit in dev
    project.runs.record_pairs(run_id, train + trained_dev)
    view = TryView(tiny_demo_ctx)
    qtbot.addWidget(view)
    view._reload_runs()
    view.select_run(run_id)
    view.show()
    qtbot.waitUntil(lambda: bool(view.last_scatter) and not view.is_busy(), timeout=60_000)
    table = view.evaluation.disagreements
    listed = [int(table.item(r, 0).text()) for r in range(table.rowCount())]
    assert listed and set(listed) <= set(dev) - set(trained_dev)
    assert not set(listed) & set(train)
    expected = worst_pairs(project, f"run:{run_id}", "dev")
    assert listed == [w.pair_id for w in expected]
    gaps = [abs(w.gap) for w in expected]
    assert gaps == sorted(gaps, reverse=True)
    assert "left out" in view.evaluation.spearman_label.text()


def test_the_run_as_an_export_variant_scores_like_torch(tiny_demo_ctx, tiny_model_dir, qtbot) -> None:
    """Choosing ONNX next to the run scores the pair with the ONNX graph (written once into the
    project's cache) and gives the torch score; an unavailable format cannot be chosen."""
    import shutil

    from stsstudio.core.export_formats import get_format
    from stsstudio.core.inference import similarity
    from stsstudio.gui.trying.try_view import TryView

    if not get_format("onnx").available():
        pytest.skip(get_format("onnx").unavailable_reason())
    project = tiny_demo_ctx.project
    run_id = project.runs.create(base_model=project.base_model, loss="cosent", config={}, device="cpu")
    shutil.copytree(tiny_model_dir, project.runs.folder(run_id) / "model")
    project.runs.update(run_id, status="finished", model_dir=str(project.runs.folder(run_id) / "model"),
                       best_dev_spearman=0.9)
    view = TryView(tiny_demo_ctx)
    qtbot.addWidget(view)
    view._reload_runs()
    view.select_run(run_id)
    assert view.selected_run_id() == run_id
    view.pair_score.set_sentences("the printer is broken", "printer not working", quiet=True)
    view.format_combo.setCurrentIndex(view.format_combo.findData("onnx"))
    qtbot.waitUntil(lambda: "run" in view.last_scores and not view.is_busy(), timeout=120_000)
    assert view.last_error == ""
    expected = similarity(f"run:{run_id}", "the printer is broken", "printer not working", project=project)
    assert view.last_scores["run"] == pytest.approx(expected, abs=1e-4)
    assert list((project.cache_dir / "variants").glob("*-onnx/onnx/model.onnx"))
    for i in range(view.format_combo.count()):
        fmt = get_format(view.format_combo.itemData(i))
        assert view.format_combo.model().item(i).isEnabled() == fmt.available(deep=False)

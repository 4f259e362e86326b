"""The Export page: best run by default, the model card before writing, the export in a worker
with the load-back check, and a refused non-empty folder."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt


@pytest.fixture
def trained_ctx(demo_ctx, tiny_model_dir):
    """The demo project with one short run of the tiny model (through the real engine)."""
    from stsstudio.core.training import NullReporter, TrainConfig, train

    config = TrainConfig(base_model=str(tiny_model_dir), batch_size=8, learning_rate=1e-4,
                         max_steps=4, eval_steps=2, device="cpu")
    result = train(demo_ctx.project, config, NullReporter())
    assert result.status == "finished", result.message
    demo_ctx.run_id = result.run_id
    return demo_ctx


def test_export_shows_card_and_checks_the_folder(trained_ctx, qtbot, tmp_path) -> None:
    from stsstudio.gui.export.export_view import ExportView

    view = ExportView(trained_ctx)
    qtbot.addWidget(view)
    assert view.selected_run_id() == trained_ctx.run_id       # the best run by default
    # It says what it exports, and warns when the run is not better than the base model.
    run = trained_ctx.project.runs.get(trained_ctx.run_id)
    note = view.run_note.text()
    assert note.startswith(("Exports run", "⚠ Exports run")) and f"run {run.id}" in note
    assert ("Careful:" in note) == (run.outcome != "better")
    assert "stsstudio " not in note                            # no terminal command
    assert view.folder.text().endswith(f"run{trained_ctx.run_id}-model")
    view.show()                                               # showing it prepares the model card
    qtbot.waitUntil(lambda: bool(view.last_card) and view._card_worker is None, timeout=60_000)
    assert "Spearman" in view.last_card or "spearman" in view.last_card
    assert view.card.toPlainText().strip()

    out = tmp_path / "model"
    view.folder.setText(str(out))
    view.start_export()
    qtbot.waitUntil(lambda: view.worker is None, timeout=60_000)
    result = view.last_result
    assert result is not None, view.last_error
    assert (out / "README.md").exists() and (out / "modules.json").exists()
    assert result["dimension"] == 32
    assert result["exported_score"] == pytest.approx(result["run_score"], abs=1e-5)
    assert "same as the run" in view.result_label.text()

    # Exporting again into the now non-empty folder is refused with the core's message.
    view.start_export()
    qtbot.waitUntil(lambda: view.worker is None, timeout=60_000)
    assert "not empty" in view.last_error
    assert not view.result_frame.isHidden() and view.open_button.isHidden()
    assert (out / "modules.json").exists()                    # the first export is intact


def test_compare_variants_table_then_export_the_picked_row(trained_ctx, qtbot, tmp_path, monkeypatch) -> None:
    """The compare table runs in a worker, greys out formats whose extra is missing (with the pip
    line), and the row picked is the format exported."""
    import sys

    from stsstudio.core import export_formats
    from stsstudio.gui.export.export_view import ExportView

    # Whatever is installed here, make OpenVINO's third-party import fail for this test.
    monkeypatch.setitem(sys.modules, "openvino", None)
    export_formats.reset_availability()
    view = ExportView(trained_ctx)
    qtbot.addWidget(view)
    table = view.variants.table
    ov_row = [table.item(r, 0).text() for r in range(table.rowCount())].index("OpenVINO")
    assert not table.item(ov_row, 0).flags() & Qt.ItemIsEnabled               # greyed out
    assert "pip install 'stsstudio[openvino]'" in table.item(ov_row, 0).toolTip()
    assert "pip install 'stsstudio[openvino]'" in view.variants.install_hint.text()
    ov_index = view.format_combo.findData("openvino")
    assert not view.format_combo.model().item(ov_index).isEnabled()

    view.variants.start_compare()
    qtbot.waitUntil(lambda: view.variants.result is not None or bool(view.variants.last_error),
                    timeout=120_000)
    assert view.variants.result is not None, view.variants.last_error
    qtbot.waitUntil(lambda: not view.variants.is_running(), timeout=10_000)
    torch_row = view.variants.result.row("torch")
    assert torch_row.available and torch_row.sentences_per_s > 0
    assert table.item(0, 2).text() == f"{torch_row.spearman:.4f}"
    assert table.item(0, 3).text() == "reference"
    assert table.item(0, 4).text() == "1.0000"                               # worst cosine to torch
    assert not view.variants.select("openvino")                              # cannot be picked
    assert view.variants.select("torch")
    assert view.selected_format() == "torch"
    assert "Measured: dev Spearman" in view.format_hint.text()

    out = tmp_path / "picked"
    view.folder.setText(str(out))
    view.start_export()
    qtbot.waitUntil(lambda: view.worker is None, timeout=60_000)
    assert view.last_result is not None, view.last_error
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "Measured by STS Studio before writing" in card
    assert f"SentenceTransformer('{out.resolve()}')" in card
    export_formats.reset_availability()


def test_default_export_folder_is_not_hidden_in_the_app_data(tmp_path, monkeypatch):
    from stsstudio.core.paths import user_data_dir
    from stsstudio.gui.export.export_view import default_export_parent

    mine = tmp_path / "work" / "clinic"
    assert default_export_parent(mine) == tmp_path / "work"          # next to the project
    demo = user_data_dir() / "demo"
    parent = default_export_parent(demo)
    assert not parent.resolve().is_relative_to(user_data_dir().resolve())
    assert parent.is_dir()


def test_export_warns_for_a_run_not_better_than_the_base(demo_ctx, tiny_model_dir, qtbot) -> None:
    """Issue 20, point 7: an unclear run is not "★ best", and Export says so before writing."""
    import shutil

    from stsstudio.gui.export.export_view import ExportView

    project = demo_ctx.project
    runs = {}
    for outcome in ("better", "unclear"):
        run_id = project.runs.create(base_model=project.base_model, loss="cosent", config={})
        shutil.copytree(tiny_model_dir, project.runs.folder(run_id) / "model")
        project.runs.update(run_id, status="finished", model_dir=str(project.runs.folder(run_id) / "model"),
                           best_dev_spearman=0.9 if outcome == "unclear" else 0.5, base_dev_spearman=0.4,
                           summary={"outcome": outcome, "verdict": outcome,
                                    "comparison": {"pairs": 50, "more_pairs_needed": 120}})
        runs[outcome] = run_id
    assert project.runs.best().id == runs["better"]            # not the higher, unclear one
    view = ExportView(demo_ctx)
    qtbot.addWidget(view)
    assert view.selected_run_id() == runs["better"]
    assert "★ best" in view.run_combo.currentText()
    assert "Careful" not in view.run_note.text() and "measurably better" in view.run_note.text()
    view.select_run(runs["unclear"])
    combo_text = view.run_combo.currentText()
    assert "★" not in combo_text and "not better than base" in combo_text
    note = view.run_note.text()
    assert f"Exports run {runs['unclear']}" in note and "Careful: it is not measurably better" in note
    assert "about 120 more pairs" in view.run_note.toolTip()   # what to do, from the comparison


def test_the_export_form_never_overlaps_itself_on_a_small_screen(demo_ctx, qtbot) -> None:
    """Issue 20, point 10: after an export at 1024x640 the wrapped hints overlapped the controls.
    The form column scrolls instead: every label gets its full wrapped height, nothing overlaps."""
    from PySide6.QtWidgets import QAbstractButton, QComboBox, QLabel, QLineEdit, QScrollArea, QWidget

    from stsstudio.gui.export.export_view import ExportView

    view = ExportView(demo_ctx)
    qtbot.addWidget(view)
    view.resize(830, 560)                    # the view's room in a 1024x640 window
    view.show()
    qtbot.waitExposed(view)
    view._show_result(True, "Exported run 3 to /home/someone/models/a-rather-long-folder-name/run3-model: "
                      "the folder loads back with SentenceTransformer and scores the dev pairs the "
                      "same as the run (Spearman 0.8123). 12 files: config.json, model.safetensors, "
                      "tokenizer.json, README.md, calibration.json and 7 more.")
    qtbot.wait(50)
    form = view.export_button.parentWidget().parentWidget()
    assert isinstance(form.parentWidget().parentWidget(), QScrollArea)
    kinds = (QLabel, QAbstractButton, QComboBox, QLineEdit)
    shown = [w for w in form.findChildren(QWidget) if isinstance(w, kinds) and w.isVisibleTo(form)
             and w.width() > 0
             and not isinstance(w.parentWidget(), (QComboBox, QLineEdit))]
    rects = [(w, w.rect().translated(w.mapTo(form, w.rect().topLeft()))) for w in shown]
    for w, _rect in rects:
        if isinstance(w, QLabel) and w.wordWrap() and w.text():
            assert w.height() >= w.heightForWidth(w.width()) - 1, w.text()[:40]
    for i, (a, ra) in enumerate(rects):
        for b, rb in rects[i + 1:]:
            if a.isAncestorOf(b) or b.isAncestorOf(a):
                continue
            assert not ra.intersects(rb), (type(a).__name__, getattr(a, "text", str)()[:30],
                                           type(b).__name__, getattr(b, "text", str)()[:30])

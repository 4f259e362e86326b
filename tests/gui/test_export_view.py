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
    from stsstudio.gui.export_view import ExportView

    view = ExportView(trained_ctx)
    qtbot.addWidget(view)
    assert view.selected_run_id() == trained_ctx.run_id       # the best run by default
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
    from stsstudio.gui.export_view import ExportView

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
    from stsstudio.gui.export_view import default_export_parent

    mine = tmp_path / "work" / "clinic"
    assert default_export_parent(mine) == tmp_path / "work"          # next to the project
    demo = user_data_dir() / "demo"
    parent = default_export_parent(demo)
    assert not parent.resolve().is_relative_to(user_data_dir().resolve())
    assert parent.is_dir()

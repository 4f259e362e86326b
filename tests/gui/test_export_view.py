"""The Export page: best run by default, the model card before writing, the export in a worker
with the load-back check, and a refused non-empty folder."""

from __future__ import annotations

import pytest


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

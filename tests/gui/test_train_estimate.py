"""Issue 23 in the Train view: the model first, the estimate after, in the background.

A small project without a dev split trains on every label; the view hands the model over at once
(the run is finished, its folder loads), the estimate panel then runs the folds in a worker, and
its end fills in the verdict and the label curve of the run on screen. Stopping it keeps the model.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from training_support import fill_project  # noqa: E402

TIMEOUT_MS = 180_000


def _view(ctx, qtbot, model_dir: Path):
    from stsstudio.gui.train.train_view import TrainView

    view = TrainView(ctx)
    qtbot.addWidget(view)
    view.resize(1024, 640)
    view.show()
    view.set_base_model(str(model_dir))
    view.batch_size.setValue(8)
    view.max_steps.setValue(2)
    view.device_combo.setCurrentIndex(view.device_combo.findData("cpu"))
    return view


def test_the_model_comes_first_and_the_estimate_follows(ctx, qtbot, tiny_model_dir) -> None:
    from sentence_transformers import SentenceTransformer

    fill_project(ctx.project, train=30, dev=0)
    view = _view(ctx, qtbot, tiny_model_dir)
    view.start_training()
    qtbot.waitUntil(lambda: not view.is_training(), timeout=TIMEOUT_MS)
    assert view.last_status == "finished", view.last_error
    run_id = view.last_result.run_id
    run = ctx.project.runs.get(run_id)
    # The model is usable before any fold has trained.
    assert run.status == "finished" and Path(run.model_dir, "modules.json").is_file()
    assert run.summary["estimate"]["status"] == "pending" and "cv" not in run.summary
    assert SentenceTransformer(run.model_dir, device="cpu").encode(["a"]).shape[0] == 1
    assert view.estimate_panel.is_running() and view.estimate_panel.isVisible()
    assert "The model is ready" in view.banner.text()
    assert view.selected_run_ids() == [run_id]
    # Try's and Export's run lists say the run is not estimated yet, not "not better than base".
    from PySide6.QtWidgets import QComboBox

    from stsstudio.gui.train.run_combo import fill_run_combo

    combo = QComboBox()
    fill_run_combo(combo, ctx.project, run_id)
    pending_text = combo.currentText()
    assert "not estimated yet" in pending_text and "not better" not in pending_text

    qtbot.waitUntil(lambda: not view.estimate_panel.is_running(), timeout=TIMEOUT_MS)
    fill_run_combo(combo, ctx.project, run_id)
    assert "not estimated yet" not in combo.currentText()
    run = ctx.project.runs.get(run_id)
    assert run.summary["estimate"]["status"] == "done"
    assert "3-fold cross-validation" in run.summary["verdict"]
    assert run.summary["verdict"].split(" (")[0][:40] in view.banner.text().replace("<br>", "\n")
    assert "labels" in view.banner.text() and not view.estimate_panel.isVisible()
    assert view.selected_run_ids() == [run_id]          # the estimate changed no selection


def test_stopping_the_estimate_keeps_the_model_and_offers_it_again(ctx, qtbot, tiny_model_dir) -> None:
    fill_project(ctx.project, train=30, dev=0)
    view = _view(ctx, qtbot, tiny_model_dir)
    view.start_training()
    qtbot.waitUntil(lambda: not view.is_training(), timeout=TIMEOUT_MS)
    run_id = view.last_result.run_id
    weights = Path(ctx.project.runs.get(run_id).model_dir, "model.safetensors").read_bytes()
    assert view.estimate_panel.is_running()
    view.estimate_panel.button.click()                      # "Stop estimating"
    qtbot.waitUntil(lambda: not view.estimate_panel.is_running(), timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: (ctx.project.runs.get(run_id).summary.get("estimate") or {}).get("status")
                    in ("cancelled", "done"), timeout=TIMEOUT_MS)
    run = ctx.project.runs.get(run_id)
    assert run.status == "finished" and Path(run.model_dir, "model.safetensors").read_bytes() == weights
    if run.summary["estimate"]["status"] == "cancelled":
        view.select_runs([run_id])
        assert view.estimate_panel.isVisible() and view.estimate_panel.button.text() == "Estimate now"

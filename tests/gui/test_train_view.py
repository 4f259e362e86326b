"""The Train view end to end: a short real run with the tiny model, a cancelled run, history,
overlays, resume availability, failures; then Try and Export on the trained run."""

from __future__ import annotations

import html
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, QTimer, Slot

TRAIN_TIMEOUT_MS = 120_000


class Heartbeat(QObject):
    """Counts ticks of a 10 ms timer: proof that the GUI thread keeps running during training."""

    def __init__(self) -> None:
        super().__init__()
        self.ticks = 0
        self.longest = 0.0
        self._last = time.perf_counter()
        self.timer = QTimer(self)
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._on_tick)
        self.timer.start()

    @Slot()
    def _on_tick(self) -> None:
        now = time.perf_counter()
        self.longest = max(self.longest, now - self._last)
        self._last = now
        self.ticks += 1


def _configure_short_run(view, model_dir: Path, *, max_steps: int = 6, eval_steps: int = 3) -> None:
    view.set_base_model(str(model_dir))
    view.batch_size.setValue(8)
    view.learning_rate.setCurrentText("1e-4")
    view.max_steps.setValue(max_steps)
    view.eval_steps.setValue(eval_steps)
    idx = view.device_combo.findData("cpu")
    view.device_combo.setCurrentIndex(idx)


def test_train_view_does_not_import_torch() -> None:
    code = ("import sys; import stsstudio.gui.train.train_view, stsstudio.gui.trying.try_view, "
            "stsstudio.gui.export.export_view; bad = [m for m in ('torch', 'sentence_transformers', "
            "'transformers') if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_form_defaults_and_counts(ctx, qtbot) -> None:
    from stsstudio.core.training import TrainConfig
    from stsstudio.gui.train.train_view import TrainView

    view = TrainView(ctx)
    qtbot.addWidget(view)
    config = view.config()
    defaults = TrainConfig()
    assert config.loss == defaults.loss
    assert config.batch_size == defaults.batch_size
    assert config.learning_rate == pytest.approx(defaults.learning_rate)
    assert config.base_model == "default"
    assert config.max_steps is None and config.eval_steps is None
    assert "CPU" in " ".join(view.device_labels())
    # An empty project cannot train: Start is disabled with the reason shown.
    assert not view.start_button.isEnabled()
    assert "Too few labeled train pairs" in view.warnings_label.text()
    # A labeled train split without dev: the holdout is announced.
    ctx.project.pairs.insert([(f"the user {i} cannot login", f"vpn drops at home {i}", 0.5, "train", i, None)
                              for i in range(60)])
    ctx.pairsChanged.emit()
    # 60 labels and no dev split: cross-validation measures, the model trains on all 60.
    qtbot.waitUntil(lambda: "<b>60</b>" in view.counts_label.text(), timeout=2000)
    assert "then a 3-fold cross-validation measures the gain" in view.counts_label.text()
    # Issue 23's parts are switches in the form, as in the CLI.
    config = view.form.config()
    assert (config.silver, config.blend, config.estimate) == (None, 1.0, True)
    view.form.silver_combo.setCurrentIndex(view.form.silver_combo.findData(0))
    view.form.blend_combo.setCurrentIndex(view.form.blend_combo.findData(0.7))
    view.form.estimate_check.setChecked(False)
    config = view.form.config()
    assert (config.silver, config.blend, config.estimate) == (0, 0.7, False)
    assert "blended 70% with the base model" in view.form.schedule_label.text()
    view.form.blend_combo.setCurrentIndex(0)
    view.form.silver_combo.setCurrentIndex(0)
    view.form.estimate_check.setChecked(True)
    assert view.start_button.isEnabled()
    assert view.form.schedule_label.text().startswith("Automatic for 60 labeled pairs:")
    assert "CoSENT" in view.form.schedule_label.text()
    # Fixed settings are described as such, and the plan follows the form at once.
    view.form.epochs.setValue(2)
    view.form.learning_rate.setCurrentText("2e-5")
    view.form.loss_combo.setCurrentIndex(view.form.loss_combo.findData("cosine"))
    assert view.form.schedule_label.text().startswith("Your settings for 60 labeled pairs: 2 epochs (8 steps)")
    # 600 labels: a 10 % holdout is announced instead.
    ctx.project.pairs.insert([(f"printer {i} jams on tray two", f"screen {i} flickers after update", 0.2,
                               "train", 100 + i, None) for i in range(540)])
    ctx.pairsChanged.emit()
    qtbot.waitUntil(lambda: "<b>540</b>" in view.counts_label.text(), timeout=2000)
    assert "<b>60</b> held-out" in view.counts_label.text()
    assert "No dev split" in view.warnings_label.text()


def test_devices_listed_after_ml_ready(ctx, qtbot) -> None:
    from stsstudio.gui.train.train_view import TrainView

    view = TrainView(ctx)
    qtbot.addWidget(view)
    ctx.ml_ready = True
    ctx.mlReady.emit()
    qtbot.waitUntil(lambda: view._devices_loaded, timeout=60_000)
    labels = view.device_labels()
    assert labels[0].startswith("Automatic")
    assert any("CPU" in label for label in labels[1:])


def test_missing_model_fails_cleanly(demo_ctx, qtbot, tmp_path) -> None:
    from stsstudio.gui.train.train_view import TrainView

    view = TrainView(demo_ctx)
    qtbot.addWidget(view)
    pairs_before = demo_ctx.project.stats()["labeled"]
    _configure_short_run(view, tmp_path / "no-such-model")
    view.start_training()
    qtbot.waitUntil(lambda: not view.is_training(), timeout=TRAIN_TIMEOUT_MS)
    assert view.last_status == "failed"
    assert not view.banner.isHidden()
    assert "no-such-model" in view.last_error
    assert "\n" in view.banner.text() or "<br>" in view.banner.text()   # the next step is shown
    assert view.start_button.isEnabled()                                # ready for another try
    assert demo_ctx.project.stats()["labeled"] == pairs_before


def test_train_cancel_try_export_end_to_end(demo_ctx, qtbot, tiny_model_dir, tmp_path) -> None:
    from stsstudio.gui.export.export_view import ExportView
    from stsstudio.gui.train.train_view import TrainView
    from stsstudio.gui.trying.try_view import TryView

    project = demo_ctx.project
    view = TrainView(demo_ctx)
    qtbot.addWidget(view)
    view.resize(1200, 800)
    view.show()
    runs_changed = []
    demo_ctx.runsChanged.connect(lambda: runs_changed.append(1))

    # 1. A short run to the end.
    _configure_short_run(view, tiny_model_dir, max_steps=6, eval_steps=3)
    beat = Heartbeat()
    view.start_training()
    assert view.is_training() and view.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: not view.is_training(), timeout=TRAIN_TIMEOUT_MS)
    assert view.last_status == "finished", view.last_error
    first_id = view.last_result.run_id
    assert view.loss_plot.live.n > 0                      # loss points
    assert view.eval_plot.spearman.n >= 2                 # baseline + evaluations
    assert view.eval_plot.band_points() == view.eval_plot.spearman.n  # an interval for each
    assert view.eval_plot.baseline.isVisible()
    assert view.loss_plot.raw_curve.getData()[0] is not None
    assert first_id in view.history_run_ids()
    assert project.runs.get(first_id).status == "finished"
    assert runs_changed
    assert beat.ticks > 0
    # The finish banner leads with the outcome in words, then the paired verdict with its numbers.
    banner = view.banner.text()
    assert view.banner.isVisible() and f"Run {first_id}" in banner
    assert "base model" in banner and "95 % interval" in banner and "on 50 dev pairs" in banner
    # ... and says what to do next, in plain words (core.advice, the same line `train` prints).
    from stsstudio.core.advice import run_advice

    first = project.runs.get(first_id)
    assert view.next_step == run_advice(first) and view.next_step.startswith("Next: ")
    assert html.escape(view.next_step) in banner
    assert "stsstudio" not in view.next_step                  # no terminal command for a GUI user
    # "best" only for a run measurably better than the base model.
    assert (project.runs.best() is not None) == (first.outcome == "better")
    # The history's details give the interval, the verdict and the disk size; the run keeps its model only.
    view.select_runs([first_id])
    details = view.details.text()
    assert "95 % interval" in details and "On disk:" in details and project.runs.get(first_id).summary["verdict"] in \
        details.replace("&#x27;", "'")
    assert not (project.runs.folder(first_id) / "checkpoints").exists()

    # 2. A second run, cancelled once it is training: status cancelled, window responsive.
    _configure_short_run(view, tiny_model_dir, max_steps=400, eval_steps=200)
    ticks_before = beat.ticks
    view.start_training()
    qtbot.waitUntil(lambda: view.loss_plot.live.n > 0, timeout=TRAIN_TIMEOUT_MS)
    view.cancel_training()
    qtbot.waitUntil(lambda: not view.is_training(), timeout=TRAIN_TIMEOUT_MS)
    assert view.last_status == "cancelled", view.last_error
    assert beat.ticks > ticks_before                      # the GUI thread kept ticking
    second = project.runs.all()[-1]
    assert second.status == "cancelled"
    assert second.steps is None or second.steps < 400
    assert second.id in view.history_run_ids()
    view.select_runs([second.id])
    assert view.resume_button.isEnabled()                 # cancelled runs can be resumed

    # Selecting two runs overlays both runs' curves.
    view.select_runs([first_id, second.id])
    assert len(view.loss_plot._overlays) == 4              # raw + smoothed per run
    assert view.eval_plot._overlays
    assert "Comparing 2 runs" in view.details.text()

    # A run can be deleted, after asking: its row and folder go.
    from PySide6.QtWidgets import QMessageBox

    extra = project.runs.all()[-1].id
    view.select_runs([extra])
    assert view.history.delete_button.isEnabled()
    asked = []
    monkey_question = (lambda *a, **k: asked.append(a[2]) or QMessageBox.No)
    QMessageBox.question, original = monkey_question, QMessageBox.question
    try:
        view.delete_selected()
        assert project.runs.get(extra) is not None and asked and "cannot be undone" in asked[0]
        QMessageBox.question = lambda *a, **k: QMessageBox.Yes
        view.delete_selected()
    finally:
        QMessageBox.question = original
    assert project.runs.get(extra) is None and not project.runs.folder(extra).exists()
    qtbot.waitUntil(lambda: extra not in view.history_run_ids(), timeout=2000)

    # 3. Try: score a pair with the base model and the first run.
    try_view = TryView(demo_ctx)
    qtbot.addWidget(try_view)
    try_view.select_run(first_id)
    assert try_view.selected_run_id() == first_id
    s1, s2 = "my vpn keeps dropping at home", "the vpn connection drops at home"
    try_view.set_sentences(s1, s2)
    qtbot.waitUntil(lambda: "run" in try_view.last_scores and not try_view.is_busy(), timeout=60_000)
    run_score = try_view.last_scores["run"]
    assert -1.0 <= try_view.last_scores["base"] <= 1.0
    assert try_view.pair_score.run_card.value.text() == f"{run_score:.3f}"

    star = "★ best" in try_view.run_combo.itemText(try_view.run_combo.findData(first_id))
    assert star == (first.outcome == "better")

    # 4. Export the same run, then load the folder with SentenceTransformer and compare.
    export_view = ExportView(demo_ctx)
    qtbot.addWidget(export_view)
    export_view.select_run(first_id)
    # The Export view says what it exports, and warns when the run is not better than the base.
    note = export_view.run_note.text()
    assert f"Exports run {first_id}" in note
    assert ("Careful:" in note) == (first.outcome != "better")
    out = tmp_path / "exported"
    export_view.folder.setText(str(out))
    export_view.with_data.setChecked(True)
    export_view.start_export()
    qtbot.waitUntil(lambda: export_view.worker is None, timeout=60_000)
    assert export_view.last_result is not None, export_view.last_error
    assert not export_view.result_frame.isHidden() and not export_view.open_button.isHidden()
    assert (out / "data").is_dir()

    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(out), device="cpu")
    emb = model.encode([s1, s2], normalize_embeddings=True)
    assert float(emb[0] @ emb[1]) == pytest.approx(run_score, abs=1e-4)


def test_loss_choices_come_from_the_registry(ctx, qtbot) -> None:
    from stsstudio.cli import build_parser
    from stsstudio.core.losses import LOSSES
    from stsstudio.gui.train.train_view import TrainView

    names = [loss.name for loss in LOSSES]
    view = TrainView(ctx)
    qtbot.addWidget(view)
    # "Automatic" first (None: the schedule chooses), then the registry in its order.
    assert view.form.loss_names() == [None, *names]
    assert [view.loss_combo.itemText(i) for i in range(view.loss_combo.count())] == [
        "Automatic", *(x.label for x in LOSSES)]
    assert view.config().loss is None
    view.loss_combo.setCurrentIndex(len(names))
    assert view.config().loss == names[-1] and LOSSES[-1].help in view.form.loss_hint.text()
    train = next(a for a in build_parser()._subparsers._group_actions[0].choices["train"]._actions
                 if "--loss" in a.option_strings)
    assert list(train.choices) == [*names, "auto"]


def test_history_says_running_step_n_of_total_or_starting(ctx, qtbot) -> None:
    """Issue 20, point 7: never "running (None/114)"."""
    import os

    from stsstudio.gui.train.run_history import RunHistory

    project = ctx.project
    run_id = project.runs.create(base_model="default", loss="cosent", config={})
    project.runs.update(run_id, total_steps=114, pid=os.getpid())   # alive: this process
    history = RunHistory()
    qtbot.addWidget(history)
    history.reload(project)
    status = history.table.item(0, 4).text()
    assert status == "starting" and "None" not in status
    project.runs.update(run_id, steps=12)
    history.reload(project)
    assert history.table.item(0, 4).text() == "running, step 12 of 114"
    project.runs.update(run_id, status="cancelled", steps=40)
    history.reload(project)
    assert history.table.item(0, 4).text() == "cancelled at step 40 of 114"

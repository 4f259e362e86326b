"""The clinician's whole journey through the real main window at 1024×640 (issue 20).

A radiology file ``case_id, finding_a, finding_b, rating, rater`` (400 rows, ratings 1–5 with
decimals, 100 empty, two raters; 80 pairs rated by both), then: import through the wizard,
20 keyboard labels, a model queue order before any run, background scoring finishing while a
pair is on screen, a short training in the Train view, Try, Export, Suggest pairs, Agreement.
The stored data is checked at every step.

This is where the next feature proves it fits: add its step here, in the order a user meets it.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pandas as pd
import pytest
from db_support import db_rows
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QLabel, QMessageBox

from stsstudio.core.changes import Changes
from stsstudio.gui.common.context import ProjectContext
from stsstudio.gui.shell.main_window import MainWindow

RATINGS = (1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5)
ORGANS = ("lung", "liver", "kidney", "heart", "spleen", "bone", "brain", "colon")
FINDINGS = ("nodule", "cyst", "mass", "effusion", "fracture", "lesion", "calcification", "edema")
SIDES = ("left", "right", "upper", "lower", "bilateral")
ME = "dr. rivera"
TRAIN_TIMEOUT_MS = 180_000
DEVICE = os.environ.get("STSSTUDIO_TEST_DEVICE", "cpu")   # bench/gpu_check.sh runs it on cuda


def radiology_file(path: Path) -> pd.DataFrame:
    """400 rows: 320 pairs, 80 of them rated by both raters, 100 single ratings left empty."""
    rng = random.Random(20)
    pairs = []
    for i in range(320):
        organ, finding, side = rng.choice(ORGANS), rng.choice(FINDINGS), rng.choice(SIDES)
        a = f"Case {i}: {side} {organ} {finding}, {rng.randint(2, 30)} mm"
        b = rng.choice([f"{finding.capitalize()} in the {side} {organ} (case {i})",
                        f"No {finding} seen in the {rng.choice(ORGANS)}, case {i}",
                        f"Stable {rng.choice(FINDINGS)} of the {organ}, follow-up {i}"])
        pairs.append((f"r-{i:03d}", a, b))
    rows = []
    empty = set(rng.sample(range(80, 320), 100))
    for i, (case, a, b) in enumerate(pairs):
        if i < 80:                     # rated by both raters: two rows, one per rater
            base = rng.choice(RATINGS)
            rows.append((case, a, b, f"{base:g}", "rater_a"))
            other = min(5, max(1, base + rng.choice([-1, -0.5, 0, 0, 0.5, 1])))
            rows.append((case, a, b, f"{other:g}", "rater_b"))
        else:
            rating = "" if i in empty else f"{rng.choice(RATINGS):g}"
            rows.append((case, a, b, rating, rng.choice(["rater_a", "rater_b"])))
    frame = pd.DataFrame(rows, columns=["case_id", "finding_a", "finding_b", "rating", "rater"])
    frame.to_csv(path, index=False)
    return frame


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.fixture
def window(qtbot):
    ctx = ProjectContext()
    ctx.annotator = ME  # set, so the name dialog does not open
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.resize(1024, 640)
    window.show()
    yield window
    if ctx.project is not None:
        ctx.set_project(None)


def _labels(project, annotator: str) -> list[tuple[int, float]]:
    return db_rows(project, "SELECT pair_id, score FROM labels WHERE annotator = ? ORDER BY id",
                   (annotator,))


def test_clinician_journey(window, qtbot, tmp_path, monkeypatch, tiny_model_dir):
    ctx = window.ctx
    source = radiology_file(tmp_path / "radiology.csv")
    assert len(source) == 400

    # 1. A new project from the welcome page; the tiny model stands in for the embedded one.
    target = tmp_path / "Radiology pilot"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(target), "")))
    window.welcome.new_button.click()
    project = ctx.project
    assert project is not None and project.stats()["pairs"] == 0
    project.set_meta("base_model", str(tiny_model_dir))

    # 2. Import through the wizard: columns guessed, 1–5 confirmed, dev held out.
    wizard = window.open_import_wizard(str(tmp_path / "radiology.csv"))
    qtbot.waitUntil(lambda: wizard.page() == "columns" and not wizard._busy, timeout=20000)
    opts = wizard.options()
    assert (opts.sentence1, opts.sentence2, opts.score) == ("finding_a", "finding_b", "rating")
    assert opts.annotator_column == "rater"                  # the rater column is found by name
    assert wizard.scored.guess.scale == "1-5"
    yes = [b for b in wizard.scale_box.answer_buttons if b.property("scale") == "1-5"]
    if yes:
        yes[0].click()
    wizard.next_button.click()
    qtbot.waitUntil(lambda: wizard.page() == "summary" and not wizard._busy, timeout=20000)
    assert project.stats()["pairs"] == 0                     # nothing written before Import
    with qtbot.waitSignal(ctx.pairsChanged, timeout=20000):
        wizard.next_button.click()
    wizard.next_button.click()  # Close
    assert project.display_scale() == "1-5"
    assert project.stats()["pairs"] == 320                   # one pair per case, both raters kept
    counts = project.counts.get()
    assert counts.total("dev") > 0 and counts.total("train") > 0
    # The raters are annotators: every rating of the file is one label under its rater's name.
    rated = source[source["rating"].astype(str).str.strip() != ""].dropna(subset=["rating"])
    by_rater = {r: _labels(project, r) for r in ("rater_a", "rater_b")}
    assert sum(len(v) for v in by_rater.values()) == len(rated)
    both = db_rows(project, "SELECT COUNT(*) FROM (SELECT pair_id FROM labels WHERE annotator IN "
                            "('rater_a', 'rater_b') GROUP BY pair_id HAVING COUNT(DISTINCT annotator) = 2)")
    assert both[0][0] == 80
    for row in rated.itertuples():                           # stored (x - 1) / 4, under its rater
        pair_id = project.pairs.find(row.finding_a, row.finding_b)
        assert (pair_id, pytest.approx((float(row.rating) - 1) / 4)) in by_rater[row.rater]

    # 3. Twenty labels by keyboard in the Label view, each checked in the database.
    window.show_view("label")
    view = window.view("label")
    view.setFocus()
    qtbot.waitUntil(lambda: view.current is not None, timeout=10000)
    digits = [Qt.Key.Key_1, Qt.Key.Key_2, Qt.Key.Key_3, Qt.Key.Key_4, Qt.Key.Key_5]
    given: dict[int, float] = {}
    for i in range(20):
        shown = view.shown_id
        qtbot.keyClick(view, digits[i % 5])
        qtbot.keyClick(view, Qt.Key.Key_Return)
        mine = _labels(project, ME)
        assert mine[-1] == (shown, pytest.approx((i % 5) / 4))
        given[shown] = (i % 5) / 4
        # What the user reads is on 1–5: the undo text says the score the key gave.
        assert ctx.undo_stack.undoText().endswith(f"pair {shown} {i % 5 + 1}"), ctx.undo_stack.undoText()
    assert len(given) == 20 and len(_labels(project, ME)) == 20

    # 4. A model order before any run: the base model's scores arrive in the background while
    #    a pair is on screen with a typed score; the pair and the score stay.
    view.order_combo.setCurrentIndex(view.order_combo.findData("informative"))
    assert view.order_combo.isVisible()
    if view.shown_id is None:     # the order needs scores: compute them from the base model
        from stsstudio.core.predictions import predict_pairs

        predict_pairs(project, "base")
        ctx.apply(Changes.scored(0))
        qtbot.waitUntil(lambda: view.shown_id is not None, timeout=20000)
    on_screen = view.shown_id
    qtbot.keyClick(view, Qt.Key.Key_4)
    from stsstudio.core.predictions import predict_pairs

    predict_pairs(project, "base")                            # scoring finishes meanwhile
    ctx.apply(Changes.scored(0))
    qtbot.wait(50)
    assert view.shown_id == on_screen and view.score == pytest.approx(0.75)
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert _labels(project, ME)[-1] == (on_screen, pytest.approx(0.75))
    given[on_screen] = 0.75

    # 5. A short training run in the Train view.
    window.show_view("train")
    train = window.view("train")
    train.set_base_model(str(tiny_model_dir))
    train.batch_size.setValue(8)
    train.max_steps.setValue(4)
    train.eval_steps.setValue(2)
    if DEVICE != "cpu":
        ctx.ml_ready = True
        ctx.mlReady.emit()
        qtbot.waitUntil(lambda: train.device_combo.findData(DEVICE) >= 0, timeout=60_000)
    train.device_combo.setCurrentIndex(train.device_combo.findData(DEVICE))
    assert train.config().device == DEVICE
    train.start_training()
    qtbot.waitUntil(lambda: not train.is_training(), timeout=TRAIN_TIMEOUT_MS)
    assert train.last_status == "finished", train.last_error
    run_id = train.last_result.run_id
    run = project.runs.get(run_id)
    assert run.status == "finished" and project.runs.folder(run_id).is_dir()
    assert (run.device or "").startswith(DEVICE), run.device
    # The next step in plain words, from the run's own comparison with the base model.
    from stsstudio.core.advice import run_advice

    assert run_advice(project.runs.get(run_id)) in train.banner.text()
    assert "None/" not in train.banner.text()
    # Issue 23: the model is handed over first; its estimate (the label curve) follows in the
    # background while the clinician goes on to Try and Export with the model.
    assert project.runs.get(run_id).summary["estimate"]["status"] == "pending"
    assert train.estimate_panel.is_running() and train.estimate_panel.isVisible()

    # 6. Try: two sentences scored by the run.
    window.show_view("try")
    try_view = window.view("try")
    try_view.select_run(run_id)
    try_view.set_sentences("Left lung nodule, 8 mm", "Nodule in the left lung")
    qtbot.waitUntil(lambda: "run" in try_view.last_scores and not try_view.is_busy(), timeout=60_000)
    assert -1.0 <= try_view.last_scores["run"] <= 1.0
    # Its largest disagreements under Split: dev are dev pairs the run did not train on.
    qtbot.waitUntil(lambda: not try_view.is_busy(), timeout=60_000)
    try_view.evaluation.split_combo.setCurrentIndex(try_view.evaluation.split_combo.findData("dev"))
    qtbot.waitUntil(lambda: not try_view.is_busy() and try_view.evaluation.disagreements.rowCount() > 0,
                    timeout=60_000)
    table = try_view.evaluation.disagreements
    listed = {int(table.item(r, 0).text()) for r in range(table.rowCount())}
    dev_ids = {p.id for p in project.pairs.labeled("dev")}
    assert listed and listed <= dev_ids
    for r in range(table.rowCount()):                         # gold on 1–5, as the user reads it
        gold = table.item(r, 1).text()
        assert 1 <= float(gold) <= 5, gold

    # 7. Export the run: a folder SentenceTransformer loads, with its card.
    window.show_view("export")
    export = window.view("export")
    export.select_run(run_id)
    out = tmp_path / "exported"
    export.folder.setText(str(out))
    export.start_export()
    qtbot.waitUntil(lambda: export.worker is None, timeout=60_000)
    assert export.last_result is not None, export.last_error
    assert (out / "README.md").is_file() and (out / "modules.json").is_file()
    card = (out / "README.md").read_text()
    assert "None" not in card and "huggingface.co/" not in card.split("finetuned")[0]
    assert "not estimated yet" in card or "**More labels:**" in card   # the card says which
    assert oct((out / "model.safetensors").stat().st_mode & 0o777) == oct(0o644 & ~_umask())
    assert export.run_note.text()                             # it says what it exports

    # 8. File ▸ Suggest pairs…: the clinician's list of findings becomes new pairs; "Add pairs"
    #    opens the first in the Label view, which is labelled there, on screen, by key.
    findings = tmp_path / "findings.csv"
    findings.write_text("finding\n" + "\n".join(
        f"{side} {organ} {finding}" for side in SIDES[:3] for organ in ORGANS[:4]
        for finding in FINDINGS[:2]) + "\n")
    before = project.stats()["pairs"]
    dialog = window.open_suggest_dialog()
    with qtbot.waitSignal(dialog._job.done, timeout=30_000):
        dialog.import_file(str(findings))
    dialog.pairs_spin.setValue(12)
    with qtbot.waitSignal(dialog._job.done, timeout=120_000):
        dialog.start_preview()
    assert project.stats()["pairs"] == before                # a preview writes nothing
    with qtbot.waitSignal(dialog.pairsAdded, timeout=120_000) as added:
        dialog.start_commit()
    new_id = added.args[0]
    assert project.stats()["pairs"] == before + 12
    window.show_view("label")
    qtbot.waitUntil(lambda: view.shown_id == new_id, timeout=10000)
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_5)
    ctx.apply(Changes.scored(0))          # background scoring of the new pairs ends meanwhile
    # ... and so does the run's estimate: it updates the Train view, not the pair on screen.
    qtbot.waitUntil(lambda: not train.estimate_panel.is_running(), timeout=TRAIN_TIMEOUT_MS)
    qtbot.wait(50)
    assert window.current_view() == "label"
    assert view.shown_id == new_id
    assert project.runs.get(run_id).summary["estimate"]["status"] == "done"
    assert project.runs.get(run_id).summary["label_curve"]["labels"] > 0
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert _labels(project, ME)[-1] == (new_id, pytest.approx(1.0))

    # 9. Every label given in the app is in the database, under the annotator's name.
    stored = dict(_labels(project, ME))
    for pair_id, score in given.items():
        assert stored[pair_id] == pytest.approx(score)

    # 9b. File ▸ Back up… while the project is open: the copy holds every label, and a path
    #     inside the project itself is refused.
    backup = tmp_path / "backup.stsproj"
    assert window.backup_action.back_up(str(backup)) is not None
    import sqlite3

    conn = sqlite3.connect(backup)
    try:
        copied = dict(conn.execute("SELECT pair_id, score FROM labels WHERE annotator = ? ORDER BY id",
                                   (ME,)).fetchall())
    finally:
        conn.close()
    assert copied == pytest.approx(dict(_labels(project, ME)))
    warned = []
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda *a, **k: warned.append(a[2])))
    assert window.backup_action.back_up(str(project.db_path)) is None
    assert warned and str(project.db_path.name) in warned[0]
    assert project.pairs.get(new_id).score == pytest.approx(1.0)   # the project is untouched

    # 10. Agreement for the two raters of the file (Annotators ▸ Agreement…): both are there,
    #     with an alpha, and the mean difference reads on 1–5.
    dialog = window.annotator_actions.open_agreement()
    panel = dialog.panel
    qtbot.waitUntil(lambda: panel.data is not None and not panel.is_busy(), timeout=30_000)
    names = {panel.a_combo.itemText(i) for i in range(panel.a_combo.count())}
    assert {"rater_a", "rater_b"} <= names
    from stsstudio.core.agreement import agreement_report

    direct = agreement_report(project, n_boot=50)
    assert set(direct["annotators"]) >= {"rater_a", "rater_b"}
    assert float(panel.alpha_card.value.text()) == pytest.approx(direct["alpha"], abs=5e-4)
    texts = " ".join(w.text() for w in dialog.findChildren(QLabel))
    assert "Mean |A − B| (on 1–5)" in texts and "0–1" not in texts
    dialog.close()

"""Issue 11 acceptance: a domain expert's own file, on its own scale, through real widgets.

A CSV ``pair_id,text_a,text_b,rating,judgment`` of 300 pairs on a 1-5 scale with decimals and
50 empty ratings: new project (neutral guidelines), wizard (scale detected and asked about,
dev held out), Label view keys on 1-5, Pairs table, and ``export-data`` bringing pair_id back.
"""

from __future__ import annotations

import random

import pandas as pd
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from stsstudio.cli import main
from stsstudio.gui.common.context import ProjectContext
from stsstudio.gui.shell.main_window import MainWindow

RATINGS = (1, 1.5, 2, 2.25, 3, 3.5, 4, 4.4, 4.75, 5)


def _clinic_file(path):
    rng = random.Random(11)
    empty = set(rng.sample(range(300), 50))
    rows = []
    for i in range(300):
        rating = "" if i in empty else f"{rng.choice(RATINGS):g}"
        rows.append((f"c-{i:03d}", f"Patient {i} reports a dry cough at night",
                     f"Nocturnal cough in patient {i}, no fever", rating,
                     rng.choice(["agree", "unsure", "disagree"])))
    frame = pd.DataFrame(rows, columns=["pair_id", "text_a", "text_b", "rating", "judgment"])
    frame.to_csv(path, index=False)
    return frame


@pytest.fixture
def window(qtbot):
    ctx = ProjectContext()
    ctx.annotator = "dr. rivera"  # set, so the name dialog does not open
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    yield window
    if ctx.project is not None:
        ctx.set_project(None)


def test_first_contact_journey(window, qtbot, tmp_path, monkeypatch):
    ctx = window.ctx
    source = _clinic_file(tmp_path / "clinic.csv")

    # 1. A new project starts with neutral guidelines, not the demo's helpdesk text.
    target = tmp_path / "Clinic pilot"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(target), "")))
    assert window.welcome.template() == "sts"
    window.welcome.new_button.click()
    project = ctx.project
    assert project is not None and project.path == target.resolve()
    assert "helpdesk" not in project.guidelines.lower() and "VPN" not in project.guidelines
    assert "[" not in project.guidelines and "Examples" in project.guidelines   # nothing to fill in
    label_view = window.view("label")
    assert "helpdesk" not in label_view.guidelines.browser.toPlainText().lower()

    # The empty pages' "Import pairs…" buttons open the wizard (Pairs and Label).
    pairs_view = window.view("pairs")
    for name, empty in (("pairs", pairs_view.empty), ("label", label_view.empty)):
        window.show_view(name)
        assert empty.isVisible(), name
        window._import_wizard = None
        empty.actionTriggered.emit()
        opened = window._import_wizard
        assert opened is not None and opened.isVisible(), name
        opened.reject()
        qtbot.waitUntil(lambda w=opened: not w.isVisible(), timeout=5000)

    # 2. The wizard: columns guessed, the 1-5 scale detected and asked about, dev held out.
    wizard = window.open_import_wizard(str(tmp_path / "clinic.csv"))
    qtbot.waitUntil(lambda: wizard.page() == "columns" and not wizard._busy, timeout=20000)
    opts = wizard.options()
    assert (opts.sentence1, opts.sentence2, opts.score) == ("text_a", "text_b", "rating")
    assert wizard.scored.guess.scale == "1-5"
    assert wizard.scale_combo.itemText(0).startswith("1 – 5")
    # min is exactly 1, so it is a guess: the user is asked, one button per answer.
    assert "Is 1 your lowest possible score?" in wizard.scale_box.question_label.text()
    yes = [b for b in wizard.scale_box.answer_buttons if b.property("scale") == "1-5"]
    assert yes, [b.text() for b in wizard.scale_box.answer_buttons]
    yes[0].click()
    assert wizard.scale_box.chosen() == "1-5"
    assert wizard.dev_check.isChecked() and wizard.dev_check.isEnabled()
    assert wizard.options().dev_fraction == pytest.approx(0.1)
    wizard.next_button.click()
    qtbot.waitUntil(lambda: wizard.page() == "summary" and not wizard._busy, timeout=20000)
    with qtbot.waitSignal(ctx.pairsChanged, timeout=20000):
        wizard.next_button.click()
    report = wizard.report
    assert report.imported == 300 and report.labeled == 250 and report.unlabeled == 50
    assert report.metadata_columns == ["pair_id", "judgment"]
    wizard.next_button.click()  # Close

    # 3. Stored 0-1 values are (x - 1) / 4; the project remembers its 1-5 scale.
    assert project.display_scale() == "1-5"
    by_id = {p.metadata["pair_id"]: p for p in project.pairs.all()}
    for row in source.itertuples():
        stored = by_id[row.pair_id].score
        if row.rating == "" or pd.isna(row.rating):
            assert stored is None
        else:
            assert stored == pytest.approx((float(row.rating) - 1) / 4, abs=1e-12)

    # 4. The dev holdout exists: 10 % of the labeled pairs, seeded.
    counts = project.counts.get()
    assert counts.labeled("dev") == counts.total("dev") == 25
    assert counts.total("train") == 275

    # 5. The Label view's keys, score and ticks use 1-5: key 1 is a 1 (stored 0).
    window.show_view("label")
    label_view.setFocus()
    qtbot.waitUntil(lambda: label_view.current is not None, timeout=10000)
    assert "1–5" in label_view.hints.text()
    # The untouched template took the 1-5 scale's five levels, in the panel too.
    assert "| **5** |" in project.guidelines and "| **0" not in project.guidelines
    assert "share some details" not in label_view.guidelines.browser.toPlainText()
    assert "Unrelated." in label_view.guidelines.browser.toPlainText()
    assert [t for _v, t, _m in label_view.ticks.rubric] == ["1", "2", "3", "4", "5"]
    qtbot.keyClick(label_view, Qt.Key.Key_1)
    assert label_view.score == 0.0 and label_view.score_label.text() == "1"
    qtbot.keyClick(label_view, Qt.Key.Key_4)
    assert label_view.score == pytest.approx(0.75) and label_view.score_label.text() == "4"
    assert Qt.Key.Key_0 not in label_view.number_keys  # no 0 on a 1-5 scale
    first = label_view.current.id
    qtbot.keyClick(label_view, Qt.Key.Key_Return)
    assert project.pairs.get(first).score == pytest.approx(0.75)

    # 6. The Pairs table shows the score on 1-5 and the file's own columns; search sees them.
    window.show_view("pairs")
    model = pairs_view.model
    model.requery()
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert "Score (1–5)" in headers and headers[-2:] == ["pair_id", "judgment"]
    pairs_view.search_edit.setText("c-017")
    qtbot.waitUntil(lambda: model.rowCount() == 1, timeout=5000)
    row_pair = model.pair_at(0)
    assert row_pair.metadata["pair_id"] == "c-017"
    score_col = headers.index("Score (1–5)")
    if row_pair.score is not None:
        shown = model.data(model.index(0, score_col))
        assert float(shown) == pytest.approx(1 + 4 * row_pair.score)

    # 7. export-data writes pair_id (and judgment) back, with the score on the user's scale.
    out = tmp_path / "labels.csv"
    project_path = str(project.path)
    ctx.set_project(None)  # the CLI opens it on its own
    assert main(["export-data", project_path, str(out)]) == 0
    exported = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert sorted(exported["pair_id"]) == sorted(source["pair_id"])
    # The file's labels (annotator "import") and the app's ("dr. rivera"): who gave what.
    assert list(exported.columns) == ["sentence1", "sentence2", "score", "score_1_5", "split",
                                      "pair_id", "judgment", "label_dr. rivera", "label_import"]
    joined = exported.set_index("pair_id")
    for row in source.itertuples():
        if row.pair_id == by_id_first(by_id, first):
            assert float(joined.loc[row.pair_id, "score_1_5"]) == pytest.approx(4.0)
        elif not (row.rating == "" or pd.isna(row.rating)):
            assert float(joined.loc[row.pair_id, "score_1_5"]) == pytest.approx(float(row.rating))
        assert joined.loc[row.pair_id, "judgment"] == row.judgment


def by_id_first(by_id, pair_id):
    """The user's pair_id of the project's pair ``pair_id``."""
    return next(k for k, p in by_id.items() if p.id == pair_id)

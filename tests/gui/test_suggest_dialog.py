"""From a one-column CSV through the "Suggest pairs…" dialog to labelling the first pair."""

from __future__ import annotations

import pytest

from stsstudio.core.store import Project
from stsstudio.gui.common.context import ProjectContext


@pytest.fixture
def tiny_ctx(tmp_path, tiny_model, qtbot):
    project = Project.create(tmp_path / "pool", base_model=str(tiny_model))
    context = ProjectContext()
    context.annotator = "tester"
    context.set_project(project)
    yield context
    context.set_project(None)


def test_one_column_csv_to_first_label(tiny_ctx, tmp_path, qtbot):
    from stsstudio.gui.shell.main_window import MainWindow

    csv = tmp_path / "tickets.csv"
    csv.write_text("text\n" + "\n".join(
        f"the {a} {b} is broken again" for a in ("vpn", "printer", "laptop", "phone", "server")
        for b in ("screen", "login", "email", "wifi", "password")) + "\n")
    window = MainWindow(tiny_ctx)
    qtbot.addWidget(window)
    window.show()
    dialog = window.open_suggest_dialog()
    assert dialog is not None and not dialog.add_button.isEnabled()  # empty pool

    with qtbot.waitSignal(dialog._job.done, timeout=30_000):
        dialog.import_file(str(csv))
    assert tiny_ctx.project.pool.split_counts()["sentences"] == 25
    assert "25" in dialog.pool_label.text()

    dialog.pairs_spin.setValue(10)
    dialog.stratum_checks["mid"].setChecked(False)
    assert dialog.count_labels["mid"].text() == "–"
    assert [dialog.count_labels[n].text() for n in ("near", "far")] == ["6", "4"]
    with qtbot.waitSignal(dialog._job.done, timeout=60_000):
        dialog.start_preview()
    assert dialog.result is not None and len(dialog.result.pairs) == 10
    assert dialog.preview.topLevelItemCount() >= 1
    assert tiny_ctx.project.stats()["pairs"] == 0  # a preview writes nothing

    with qtbot.waitSignal(dialog.pairsAdded, timeout=60_000) as added:
        dialog.start_commit()
    first_id = added.args[0]
    pairs = tiny_ctx.project.pairs.all()
    assert len(pairs) == 10 and {p.source for p in pairs} == {"suggested"}
    assert first_id == pairs[0].id

    # The main window answers pairsAdded by opening the labelling view on the first pair.
    view = window.views.get("label") if hasattr(window.views, "get") else window.views["label"]
    qtbot.waitUntil(lambda: view.current is not None and view.current.id == first_id, timeout=10_000)
    view.set_score(0.8)
    assert view.confirm()
    labeled = tiny_ctx.project.pairs.get(first_id)
    assert labeled.score == pytest.approx(0.8) and labeled.annotator == "tester"


def test_dialog_renders_at_1024x640(tiny_ctx, tmp_path, qtbot):
    from stsstudio.core.sentences import import_sentences
    from stsstudio.gui.importing.suggest_dialog import SuggestPairsDialog

    pool = tmp_path / "pool.txt"
    pool.write_text("\n".join(f"the {w} is slow today" for w in
                              ("vpn", "printer", "laptop", "phone", "server", "wifi")) + "\n")
    import_sentences(tiny_ctx.project, pool)
    dialog = SuggestPairsDialog(tiny_ctx)
    qtbot.addWidget(dialog)
    dialog.resize(1024, 640)
    dialog.show()
    with qtbot.waitSignal(dialog._job.done, timeout=60_000):
        dialog.start_preview()
    image = dialog.grab()
    assert image.width() == 1024
    out = tmp_path / "suggest_dialog.png"
    image.save(str(out))
    assert out.stat().st_size > 0


def test_wizard_offers_the_sentence_path(tiny_ctx, tmp_path, qtbot):
    from stsstudio.gui.shell.main_window import MainWindow

    csv = tmp_path / "findings.csv"
    csv.write_text("id,text,team\n" + "\n".join(
        f"{i},the {w} was found broken in room {i},{'ab'[i % 2]}" for i, w in
        enumerate(("vpn", "printer", "laptop", "phone", "server", "wifi"))) + "\n")
    pairs_csv = tmp_path / "pairs.csv"
    pairs_csv.write_text("sentence1,sentence2,score\nthe vpn is slow,the vpn is very slow,4\n"
                         "a dog runs,a cat sits,1\n")
    window = MainWindow(tiny_ctx)
    qtbot.addWidget(window)
    wizard = window.open_import_wizard(str(pairs_csv))
    qtbot.waitUntil(lambda: wizard.page() == "columns", timeout=20_000)
    assert not wizard.sentences_hint.isVisibleTo(wizard)
    wizard.reject()

    wizard = window.open_import_wizard(str(csv))
    qtbot.waitUntil(lambda: wizard.page() == "columns", timeout=20_000)
    assert wizard.sentences_hint.isVisibleTo(wizard)
    assert "<b>text</b>" in wizard.sentences_hint.text()
    wizard.sentences_hint.linkActivated.emit("sentences")
    qtbot.waitUntil(lambda: tiny_ctx.project.pool.split_counts()["sentences"] == 6, timeout=20_000)
    ids, _, _ = tiny_ctx.project.pool.columns()
    meta = tiny_ctx.project.pool.by_ids(ids[:1])[ids[0]].metadata
    assert meta == {"id": "0", "columns": {"team": "a"}}
    assert tiny_ctx.project.stats()["pairs"] == 0


def test_cancel_writes_nothing(tiny_ctx, tmp_path, qtbot):
    from stsstudio.core.sentences import import_sentences
    from stsstudio.gui.importing.suggest_dialog import SuggestPairsDialog

    pool = tmp_path / "pool.txt"
    pool.write_text("\n".join(f"the {w} is slow today" for w in
                              ("vpn", "printer", "laptop", "phone", "server", "wifi")) + "\n")
    import_sentences(tiny_ctx.project, pool)
    before = tiny_ctx.project.checksum()
    dialog = SuggestPairsDialog(tiny_ctx)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog._job.done, timeout=60_000):
        dialog.start_commit()
        assert dialog.cancel_button.text() == "Cancel"
        dialog.cancel_button.click()  # cancels the job, does not close the dialog
    assert dialog.status.text() == "Cancelled; nothing was written."
    assert tiny_ctx.project.checksum() == before
    assert dialog.cancel_button.text() == "Close"

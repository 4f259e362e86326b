"""The Agreement panel, the Merge labels dialog and the overlap dialog (issue 15)."""

from __future__ import annotations

import numpy as np
import pytest

from stsstudio.core.store import Project


def _two_annotators(project: Project, n: int = 20) -> list[int]:
    rows = [(f"alpha sentence {i}", f"beta sentence {i}", None, "dev", i + 1, None) for i in range(n)]
    report = project.pairs.insert(rows)
    ids = list(range(report.first_id, report.last_id + 1))
    rng = np.random.default_rng(1)
    for i, pid in enumerate(ids):
        project.labels.set(pid, i / n, "ana")
        project.labels.set(pid, float(np.clip(i / n + rng.normal(0, 0.1), 0, 1)), "ben")
    return ids


def test_agreement_panel_shows_the_core_figures(project, qtbot):
    from stsstudio.core.agreement import agreement_report
    from stsstudio.gui.annotators.agreement_panel import AgreementPanel

    ids = _two_annotators(project)
    project.labels.set(ids[0], 1.0, "ben")  # a big spread on the first pair
    panel = AgreementPanel(project, n_boot=50)
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: panel.data is not None and not panel.is_busy(), timeout=20000)
    direct = agreement_report(project, n_boot=50)
    assert panel.alpha_card.value.text() == f"{direct['alpha']:.3f}"
    assert panel.pairs_card.value.text() == "20"
    assert panel.pairwise_table.rowCount() == 1
    assert panel.pairwise_table.item(0, 2).text().startswith(
        f"{direct['pairwise_spearman'][0]['spearman']:.3f}")
    assert panel.spread_table.item(0, 2).data(0x0100) == ids[0]  # Qt.UserRole
    assert (panel.a_combo.currentText(), panel.b_combo.currentText()) == ("ana", "ben")
    xs, _ys = panel.scatter.getData()
    assert len(xs) == 20
    project.labels.set(ids[1], 0.0, "cy")   # three labels on pair 2: median differs from mean
    with qtbot.waitSignal(panel.targetChanged, timeout=5000):
        panel.target_combo.setCurrentIndex(panel.target_combo.findData("median"))
    assert project.labels.aggregate == "median"
    assert project.pairs.get(ids[1]).score == pytest.approx(
        sorted(v for _p, _s, _a, v in project.labels.by_annotator(pair_ids=[ids[1]]))[1])
    qtbot.waitUntil(lambda: not panel.is_busy(), timeout=20000)
    panel.split_combo.setCurrentIndex(panel.split_combo.findText("train"))  # no pairs there
    qtbot.waitUntil(lambda: not panel.is_busy() and panel.pairs_card.value.text() == "0", timeout=20000)
    assert "No pair has labels from two annotators" in panel.state_label.text()


def test_merge_dialog_previews_then_merges(project, qtbot, tmp_path):
    from stsstudio.gui.importing.merge_dialog import MergeLabelsDialog

    rows = [(f"alpha sentence {i}", f"beta sentence {i}", None, "train", i + 1, None) for i in range(3)]
    project.pairs.insert(rows)
    project.labels.set(1, 0.2, "ben")
    csv = tmp_path / "ben.csv"
    csv.write_text("sentence1,sentence2,score\n"
                   "beta sentence 0,alpha sentence 0,0.9\n"
                   "alpha sentence 1,beta sentence 1,0.4\n", encoding="utf-8")
    dialog = MergeLabelsDialog(project, source=str(csv))
    qtbot.addWidget(dialog)
    before = project.checksum()
    dialog.preview()
    qtbot.waitUntil(lambda: not dialog.is_busy(), timeout=10000)
    assert "names no annotator" in dialog.summary.text() and not dialog.merge_button.isEnabled()
    dialog.annotator_edit.setText("ben")
    dialog.preview()
    qtbot.waitUntil(lambda: not dialog.is_busy() and dialog.report is not None, timeout=10000)
    assert "1 conflicting" in dialog.summary.text() and dialog.conflicts.rowCount() == 1
    assert project.checksum() == before  # a preview writes nothing
    assert dialog.merge_button.isEnabled()
    with qtbot.waitSignal(dialog.merged, timeout=10000) as merged:
        dialog.merge()
    assert merged.args[0].written == 1
    assert dialog.summary.text().startswith("Merged 1 label from ben")
    assert project.pairs.get(2).score == 0.4 and project.pairs.get(1).score == 0.2


def test_menu_opens_the_dialogs_and_overlap_assigns(main_window, qtbot, monkeypatch):
    from stsstudio.gui.annotators.annotators_menu import OverlapDialog

    project = main_window.ctx.project
    project.pairs.insert([(f"a {i}", f"b {i}", None, "train", i, None) for i in range(10)])
    dialog = main_window.annotator_actions.open_merge()
    assert dialog is not None and dialog.isVisible()
    dialog.close()
    agreement = main_window.annotator_actions.open_agreement()
    qtbot.waitUntil(lambda: not agreement.panel.is_busy(), timeout=20000)
    agreement.close()
    overlap = OverlapDialog(project)
    qtbot.addWidget(overlap)
    overlap.names.setText("ana")
    overlap.assign()
    assert "two or more" in overlap.result.text() and project.assignments.summary() == {}
    overlap.names.setText("ana, ben")
    overlap.overlap.setValue(20)
    overlap.assign()
    assert project.assignments.summary() == {"ana": {"share": 4, "overlap": 2},
                                            "ben": {"share": 4, "overlap": 2}}
    assert [a.text() for a in main_window.menuBar().actions()][-2:] == ["&Annotators", "&Help"]


def test_a_feature_menu_installs_before_help_through_the_shell(main_window, qtbot):
    """The Annotators menu is built on a menu the shell hands out (no search by label text), so a
    renamed Help menu still ends the bar and a second feature menu lands before it too."""
    from stsstudio.gui.annotators.annotators_menu import install_annotator_menu

    main_window.help_menu.setTitle("&Aide")
    extra = install_annotator_menu(main_window.add_menu("&More"), main_window, main_window.ctx)
    titles = [a.text() for a in main_window.menuBar().actions()]
    assert titles[-3:] == ["&Annotators", "&More", "&Aide"]
    assert [a.text() for a in main_window.menuBar().actions()[-2].menu().actions() if a.text()] == \
        ["&Merge labels…", "&Agreement…", "&Double-label a share of pairs…"]
    assert extra.open_overlap() is not None    # the project comes from the context it was given


@pytest.mark.parametrize("view", ["agreement"])
def test_screenshot_of_the_agreement_panel(tmp_path, view):
    from stsstudio.gui.screenshot import screenshot

    with Project.create(tmp_path / "p") as project:
        _two_annotators(project)
    out = tmp_path / "agreement.png"
    assert screenshot(str(tmp_path / "p"), str(out), view=view, size=(1024, 640)) == 0
    from PySide6.QtGui import QImage

    image = QImage(str(out))
    assert (image.width(), image.height()) == (1024, 640)


def test_pairs_table_shows_label_count_and_spread(ctx, qtbot):
    from stsstudio.gui.pairs.pairs_table import COL, PairTableModel

    project = ctx.project
    project.pairs.insert([(f"a {i}", f"b {i}", None, "train", i, None) for i in range(3)])
    project.labels.set(1, 0.2, "ana")
    project.labels.set(1, 0.7, "ben")
    project.labels.set(2, 0.4, "ana")
    model = PairTableModel(ctx)
    model.requery()
    cell = model.index(0, COL["labels"])
    assert cell.data() == "2  Δ0.50" and "differ by up to 0.50" in cell.data(0x0003)  # ToolTipRole
    assert model.index(0, COL["score"]).data() == "0.45"  # the mean is the target
    assert model.index(1, COL["labels"]).data() == "1" and model.index(2, COL["labels"]).data() == ""
    project.labels.set(3, 0.9, "ana")
    project.labels.set(3, 0.1, "ben")
    ctx.pairChanged.emit(3)
    assert model.index(2, COL["labels"]).data() == "2  Δ0.80"
    model.sort(COL["labels"])  # not sortable: the order stays
    assert model.order_by == "id"


def test_label_view_assignment_and_resolve_disagreements(tmp_path, qtbot):
    from PySide6.QtCore import Qt

    from stsstudio.gui.common.context import ProjectContext
    from stsstudio.gui.label.annotate import AnnotateView

    project = Project.create(tmp_path / "p")
    project.pairs.insert([(f"left {i}", f"right {i}", None, "train", i, None) for i in range(1, 11)])
    project.assignments.assign(["ana", "ben"], 0.2, seed=1)
    ctx = ProjectContext()
    ctx.annotator = "ben"
    ctx.set_project(project)
    view = AnnotateView(ctx)
    qtbot.addWidget(view)
    view.order_combo.setCurrentIndex(view.order_combo.findData("assigned"))
    assert view.queue == project.assignments.pair_ids("ben")   # ben's share and the overlap
    first = view.current.id
    qtbot.keyClick(view, Qt.Key.Key_5)
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert project.labels.by_annotator(pair_ids=[first])[0][2:] == ("ben", 1.0)
    # ana labels the same pair far lower: a disagreement to resolve.
    project.labels.set(first, 0.0, "ana")
    view.order_combo.setCurrentIndex(view.order_combo.findData("disagreements"))
    assert view.queue == [first] and "ana 0.00, ben 1.00" in view.header.fullText()
    qtbot.keyClick(view, Qt.Key.Key_3)   # 0.6
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert project.pairs.get(first).score == 0.6 and project.labels.adjudicated() == {first: 0.6}
    assert project.labels.history(first)[-1].adjudicated
    ctx.undo_stack.undo()
    assert project.pairs.get(first).score == 0.5 and project.labels.adjudicated() == {}
    ctx.set_project(None)

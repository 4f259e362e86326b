"""Issue 20 point 4: on a 1–5 project no 0–1 number is shown where a person reads scores.

Each view is rendered with real widgets (offscreen) on a project imported from a 1–5 file with
decimals: the Label view's header, keys, hint and undo text; Try's search pairs, gold against
predicted table and axes; the Agreement panel; the shortcuts sheet. Every visible text is read
back and checked: scores lie on 1–5 with the precision the keys give, differences on 0–4.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QLabel, QTableWidget, QTreeWidget, QWidget

from stsstudio.core import scales
from stsstudio.core.importers import ImportOptions, import_pairs
from stsstudio.core.store import Project

# How the old code wrote a 0–1 score: "0.31", "+0.12", "±0.05" (correlations have 3 decimals).
ZERO_ONE = re.compile(r"(?<![\d.])[+±-]?0\.\d\d(?![\d])")
NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")


def _clinic_csv(path: Path, n: int = 40) -> Path:
    rows = ["finding_a,finding_b,rating,split"]
    for i in range(n):
        rating = f"{1 + (i * 0.37) % 4:.2f}"   # 1–5 with two decimals, e.g. 2.11, 4.33
        rows.append(f"Small nodule {i} in the left upper lobe.,A {i} mm nodule is seen in the left lung.,"
                    f"{rating},{'dev' if i % 4 == 0 else 'train'}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def clinic_ctx(tmp_path, tiny_model_dir, qtbot):
    from stsstudio.gui.common.context import ProjectContext

    project = Project.create(tmp_path / "clinic", base_model=str(tiny_model_dir))
    import_pairs(project, _clinic_csv(tmp_path / "clinic.csv"), ImportOptions(split="train"))
    assert project.display_scale() == "1-5"
    for pid in range(1, 13):   # two raters on twelve pairs, for the Agreement panel
        project.labels.set(pid, min(1.0, (pid % 5) / 4 + 0.05), "rater_a")
        project.labels.set(pid, (pid % 4) / 4, "rater_b")
    ctx = ProjectContext()
    ctx.annotator = "ada"
    ctx.set_project(project)
    yield ctx
    ctx.set_project(None)
    project.close()


def _texts(root: QWidget, skip: tuple[QWidget, ...] = ()) -> list[str]:
    """Every text a person can see under ``root``: labels, buttons, table cells and headers."""
    out: list[str] = []
    skipped = lambda w: any(w is s or s.isAncestorOf(w) for s in skip)  # noqa: E731
    for label in root.findChildren(QLabel):
        if label.isVisibleTo(root) and not skipped(label):
            out.append(label.fullText() if hasattr(label, "fullText") else label.text())
    for button in root.findChildren(QAbstractButton):
        if button.isVisibleTo(root) and not skipped(button):
            out.append(button.text())
    for table in root.findChildren(QTableWidget):
        if table.isVisibleTo(root) and not skipped(table):
            out += [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())
                    if table.horizontalHeaderItem(c)]
            out += [table.item(r, c).text() for r in range(table.rowCount())
                    for c in range(table.columnCount()) if table.item(r, c)]
    for tree in root.findChildren(QTreeWidget):
        if tree.isVisibleTo(root) and not skipped(tree):
            stack = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
            while stack:
                item = stack.pop()
                out += [item.text(c) for c in range(tree.columnCount())]
                stack += [item.child(i) for i in range(item.childCount())]
    return out


def _no_zero_one(texts: list[str]) -> None:
    bad = [t for t in texts if ZERO_ONE.search(t) or "0–1" in t or "0-1 " in t]
    assert not bad, bad


def _on_1_5(text: str, *, difference: bool = False) -> float:
    """The one number in a cell: on 1–5 (a difference: within ±4) with at most one decimal."""
    [number] = NUMBER.findall(text)
    assert len(number.split(".")[1]) <= 1 if "." in number else True, text
    value = float(number)
    assert (-4 <= value <= 4) if difference else (1 <= value <= 5), text
    return value


def test_label_view_reads_and_stores_on_1_5(clinic_ctx, qtbot):
    from stsstudio.gui.label.annotate import AnnotateView

    project = clinic_ctx.project
    view = AnnotateView(clinic_ctx)
    qtbot.addWidget(view)
    view.resize(1024, 640)
    view.show()
    qtbot.waitUntil(lambda: view.current is not None)
    view.order_combo.setCurrentIndex(view.order_combo.findData("file"))
    while view.current is not None and (view.current.score is None or view.current.id <= 12):
        view.next()   # an imported label (pairs 1-12 carry the raters' labels)
    pair = view.current
    header = view.header.fullText()
    assert f"labeled {scales.format_score(pair.score, '1-5')} from clinic.csv" in header
    _on_1_5(re.search(r"labeled (\S+)", header).group(1))
    assert "±0.2" in view.hints.text() and "±0.1" in view.hints.text()
    _no_zero_one(_texts(view))

    # Keys: 2, then Shift+→ and → : the screen reads 2.1 then 2.3; Enter stores exactly that.
    pair_id = view.current.id
    qtbot.keyClick(view, Qt.Key.Key_2)
    qtbot.keyClick(view, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert view.score_label.text() == "2.1"
    qtbot.keyClick(view, Qt.Key.Key_Right)
    assert view.score_label.text() == "2.3"
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert project.pairs.get(pair_id).score == scales.to_stored(2.3, "1-5")
    assert clinic_ctx.undo_stack.undoText() == f"Label pair {pair_id} 2.3"

    # The slider (hundredths of 0..1) snaps to what the screen reads: 0.31 would be 2.24.
    view.score_panel.slider.setValue(31)
    assert view.score_label.text() == "2.2" and view.score == scales.to_stored(2.2, "1-5")
    pair_id = view.current.id
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert project.pairs.get(pair_id).score == scales.to_stored(2.2, "1-5")
    assert clinic_ctx.undo_stack.undoText() == f"Label pair {pair_id} 2.2"
    # Ticks under the slider read the scale's own numbers.
    assert [shown for _v, shown, _m in view.score_panel.ticks.rubric] == ["1", "2", "3", "4", "5"]
    _no_zero_one(_texts(view))


def test_try_tables_and_axes_read_on_1_5(clinic_ctx, qtbot):
    from stsstudio.gui.trying.try_view import TryView

    view = TryView(clinic_ctx)
    qtbot.addWidget(view)
    view.resize(1280, 800)
    view.show()
    view.prepare_for_screenshot()
    assert view.last_error == ""
    hits = view.search.hit_pairs
    assert hits.rowCount() >= 1
    for r in range(hits.rowCount()):
        pair = clinic_ctx.project.pairs.get(int(hits.item(r, 0).text()))
        assert hits.item(r, 2).text() == scales.format_score(pair.score, "1-5")
        _on_1_5(hits.item(r, 2).text())
    table = view.evaluation.disagreements
    assert [table.horizontalHeaderItem(c).text() for c in range(4)] == ["Pair", "Gold", "Pred.", "Δ"]
    assert table.rowCount() >= 1
    for r in range(table.rowCount()):
        gold, pred = _on_1_5(table.item(r, 1).text()), _on_1_5(table.item(r, 2).text())
        delta = _on_1_5(table.item(r, 3).text(), difference=True)
        assert delta == pytest.approx(pred - gold, abs=0.11)   # Δ by the span, not the offset
    plot = view.evaluation.scatter.getPlotItem()
    assert plot.getAxis("bottom")._tickLevels[0] == scales.axis_ticks("1-5")
    assert plot.getAxis("left")._tickLevels[0] == scales.axis_ticks("1-5")
    assert "1–5" in plot.getAxis("bottom").labelText
    _no_zero_one(_texts(view, skip=(view.search.base_hits, view.search.run_hits)))  # hits: cosines


def test_agreement_panel_reads_on_1_5(clinic_ctx, qtbot):
    from stsstudio.gui.annotators.agreement_panel import AgreementPanel

    panel = AgreementPanel(clinic_ctx.project, n_boot=20)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitUntil(lambda: panel.data is not None and not panel.is_busy(), timeout=30_000)
    assert panel.mad_card.caption.text() == "Mean |A − B| (on 1–5)"
    report = panel.data.report
    assert float(panel.mad_card.value.text()) == pytest.approx(report["mean_abs_diff"] * 4, abs=0.006)
    assert panel.spread_table.rowCount() >= 1
    for r in range(panel.spread_table.rowCount()):
        _on_1_5(panel.spread_table.item(r, 0).text(), difference=True)
        for part in panel.spread_table.item(r, 1).text().replace("→", ",").split(","):
            _on_1_5(part.split()[-1])
    assert panel.plot.getPlotItem().getAxis("bottom")._tickLevels[0] == scales.axis_ticks("1-5")
    # The pairwise table holds correlations (3 decimals, intervals 2): left out on purpose.
    _no_zero_one(_texts(panel, skip=(panel.pairwise_table,)))


def test_shortcuts_sheet_reads_on_1_5(clinic_ctx, main_window, qtbot):
    main_window.ctx.set_project(clinic_ctx.project)
    dialog = main_window.show_shortcuts()
    rows = dict(dialog.rows())
    assert rows["1 – 5"] == "Set the score to 1, 2, 3, 4 or 5"
    assert rows["← / →"] == "Lower / raise the score by 0.2"
    assert rows["Shift+← / Shift+→"] == "Lower / raise the score by 0.1"
    _no_zero_one(_texts(dialog))
    dialog.close()
    main_window.ctx.set_project(None)

"""The pair table: queries re-run on filter/search/sort; bulk edits hit the database and undo."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt

from stsstudio.core.store import Project
from stsstudio.gui.common.context import ProjectContext
from stsstudio.gui.common.undo import SetLabelCommand
from stsstudio.gui.common.widgets import SCORE_ROLE
from stsstudio.gui.pairs.pairs_table import COL, PAGE_SIZE, PairsView, PairTableModel, query_ids


def _fill(project: Project, n: int = 40) -> None:
    rows = []
    for i in range(1, n + 1):
        score = None if i % 4 == 0 else round((i * 37 % 101) / 100, 2)
        split = ("train", "dev", "test")[i % 3]
        rows.append((f"printer {i} is broken" if i % 5 == 0 else f"sentence one number {i}",
                     f"second sentence {i}", score, split, i, None))
    project.pairs.insert(rows, source="unit")
    project.pairs.set_flag([3, 7, 11], True)
    project.pairs.set_note(9, "ask about the PRINTER model")


@pytest.fixture
def table_ctx(tmp_path, qtbot):
    project = Project.create(tmp_path / "t")
    _fill(project)
    ctx = ProjectContext()
    ctx.annotator = "carol"
    ctx.set_project(project)
    yield ctx
    ctx.set_project(None)


def _view(ctx, qtbot) -> PairsView:
    view = PairsView(ctx)
    qtbot.addWidget(view)
    view.resize(1100, 600)
    view.show()
    qtbot.waitExposed(view)
    return view


def _select(view: PairsView, rows: list[int]) -> None:
    view.select_rows(rows)
    assert len(view.selected_ids()) == len(rows)


def test_filters_search_and_sort_rerun_the_query(table_ctx, qtbot):
    ctx = table_ctx
    project = ctx.project
    view = _view(ctx, qtbot)
    model = view.model
    assert view.stack.currentIndex() == 1
    assert model.rowCount() == 40
    assert view.count_label.text() == "Showing 40 of 40 pairs"
    assert isinstance(model.ids, range)                      # contiguous: no id list pulled
    assert model.index(0, COL["sentence1"]).data() == "sentence one number 1"

    view.filter_buttons["unlabeled"].click()
    assert list(model.ids) == project.pairs.query_ids(filter="unlabeled") and model.rowCount() == 10
    assert view.count_label.text() == "Showing 10 of 40 pairs"
    view.filter_buttons["flagged"].click()
    assert list(model.ids) == [3, 7, 11]
    assert model.index(0, COL["flagged"]).data() == "\u2691"
    view.filter_buttons["labeled"].click()
    view.split_combo.setCurrentIndex(view.split_combo.findData("dev"))
    assert list(model.ids) == project.pairs.query_ids(filter="labeled", split="dev")
    view.filter_buttons["all"].click()
    view.split_combo.setCurrentIndex(0)
    assert model.rowCount() == 40

    # search is debounced, then re-runs the query (sentences and notes, case-insensitive)
    view.search_edit.setText("printer")
    qtbot.waitUntil(lambda: model.search == "printer", timeout=2000)
    assert list(model.ids) == project.pairs.query_ids(search="printer")
    assert 9 in model.ids and 5 in model.ids
    assert view.count_label.text() == f"Showing {len(model.ids)} of 40 pairs"
    view.search_edit.clear()
    qtbot.waitUntil(lambda: model.rowCount() == 40, timeout=2000)

    # header clicks sort in SQLite
    header = view.table.horizontalHeader()
    header.sectionClicked.emit(COL["score"])  # what a click does, without pixel hunting
    view.table.sortByColumn(COL["score"], Qt.SortOrder.AscendingOrder)
    assert list(model.ids) == project.pairs.query_ids(order_by="score")
    view.table.sortByColumn(COL["score"], Qt.SortOrder.DescendingOrder)
    assert list(model.ids) == project.pairs.query_ids(order_by="score", descending=True)
    top = model.index(0, COL["score"]).data(SCORE_ROLE)
    assert top == max(p.score for p in project.pairs.all() if p.score is not None)
    view.table.sortByColumn(COL["id"], Qt.SortOrder.DescendingOrder)
    assert list(model.ids) == list(range(40, 0, -1))


def test_bulk_split_flag_delete_and_undo(table_ctx, qtbot):
    ctx = table_ctx
    project = ctx.project
    view = _view(ctx, qtbot)
    _select(view, [0, 1, 2, 5])
    ids = [1, 2, 3, 6]
    old_splits = {i: project.pairs.get(i).split for i in ids}
    view.split_actions["test"].trigger()
    assert all(project.pairs.get(i).split == "test" for i in ids)
    assert view.model.index(0, COL["split"]).data() == "test"
    ctx.undo_stack.undo()
    assert {i: project.pairs.get(i).split for i in ids} == old_splits

    _select(view, [0, 1, 2])    # 3 is flagged, 1 and 2 are not: flag all of them
    view.flag_action.trigger()
    assert [project.pairs.get(i).flagged for i in (1, 2, 3)] == [True, True, True]
    view.flag_action.trigger()  # all flagged now: unflag them
    assert [project.pairs.get(i).flagged for i in (1, 2, 3)] == [False, False, False]
    ctx.undo_stack.undo()
    ctx.undo_stack.undo()
    assert [project.pairs.get(i).flagged for i in (1, 2, 3)] == [False, False, True]

    labels_before = project.stats()["labels"]
    checksum = project.checksum()
    _select(view, [4, 5, 6])
    view.delete_action.trigger()
    assert project.stats()["pairs"] == 37
    assert project.pairs.by_ids([5, 6, 7]) == {}
    assert view.model.rowCount() == 37
    assert view.count_label.text() == "Showing 37 of 37 pairs"
    assert not isinstance(view.model.ids, range) and 5 not in view.model.ids
    ctx.undo_stack.undo()
    assert project.stats()["pairs"] == 40
    assert project.stats()["labels"] == labels_before
    assert project.checksum() == checksum
    assert view.model.rowCount() == 40
    ctx.undo_stack.redo()
    assert project.stats()["pairs"] == 37


def test_double_click_and_enter_open_the_pair(table_ctx, qtbot):
    ctx = table_ctx
    view = _view(ctx, qtbot)
    rect = view.table.visualRect(view.model.index(2, COL["sentence1"]))
    qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    with qtbot.waitSignal(ctx.openPairRequested, timeout=2000) as blocker:
        qtbot.mouseDClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert blocker.args == [3]
    view.table.selectionModel().setCurrentIndex(view.model.index(4, 0),
                                                QItemSelectionModel.SelectionFlag.ClearAndSelect)
    with qtbot.waitSignal(ctx.openPairRequested) as blocker:
        qtbot.keyClick(view.table, Qt.Key.Key_Return)
    assert blocker.args == [5]


def test_label_edit_refreshes_one_row(table_ctx, qtbot):
    ctx = table_ctx
    view = _view(ctx, qtbot)
    model = view.model
    assert model.index(3, COL["score"]).data() == ""          # pair 4 is unlabeled
    changed = []
    model.dataChanged.connect(lambda a, b: changed.append((a.row(), b.row())))
    fetches = model.page_fetches
    ctx.undo_stack.push(SetLabelCommand(ctx, 4, 0.65, "carol"))
    assert changed == [(3, 3)]
    assert model.page_fetches == fetches                      # no page re-read for one row
    assert model.index(3, COL["score"]).data() == "0.65"
    assert model.index(3, COL["annotator"]).data() == "carol"
    ctx.undo_stack.undo()
    assert model.index(3, COL["score"]).data() == ""


def test_pages_are_fetched_on_demand(tmp_path, qtbot):
    project = Project.create(tmp_path / "big")
    project.pairs.insert((f"a {i}", f"b {i}", None, "train", i, None) for i in range(1, 2001))
    ctx = ProjectContext()
    ctx.set_project(project)
    model = PairTableModel(ctx)
    model.requery()
    assert model.rowCount() == 2000 and model.page_fetches == 0
    assert model.index(1999, COL["sentence2"]).data() == "b 2000"
    assert model.page_fetches == 1
    assert model.index(2000 - PAGE_SIZE, COL["sentence2"]).data() == f"b {2001 - PAGE_SIZE}"
    assert model.page_fetches == 1                            # same page, from the cache
    project.pairs.delete([10])
    ids = query_ids(project)
    assert not isinstance(ids, range) and len(ids) == 1999 and 10 not in ids
    ctx.set_project(None)


def test_empty_project_offers_import(ctx, qtbot):
    view = _view(ctx, qtbot)
    assert view.stack.currentWidget() is view.empty
    with qtbot.waitSignal(ctx.showViewRequested) as blocker:
        view.empty.button.click()
    assert blocker.args == ["import"]
    ctx.project.pairs.insert([("a", "b", None, "none", 1, None)])
    ctx.pairsChanged.emit()
    assert view.stack.currentIndex() == 1 and view.model.rowCount() == 1


def test_sentence_columns_take_the_width_and_imported_columns_stay_compact(tmp_path, qtbot):
    """Issue 20, point 10: at 1024x640 the sentences showed "Three …" while case_id, rater and
    Note took the width. Imported columns start at a capped width; the sentences stretch."""
    from stsstudio.core.importers import import_pairs
    from stsstudio.gui.pairs.pairs_table import META_MAX

    csv = tmp_path / "findings.csv"
    rows = ["case_id,finding_a,finding_b,rating,ward_of_the_referring_clinician"]
    rows += [f"CASE-2024-{i:05d},Three small nodules in the right lower lobe {i},"
             f"Several nodules in the lower right lung {i},{1 + i % 5},radiology outpatients east wing"
             for i in range(12)]
    csv.write_text("\n".join(rows) + "\n")
    project = Project.create(tmp_path / "p")
    import_pairs(project, csv)
    ctx = ProjectContext()
    ctx.set_project(project)
    view = PairsView(ctx)
    qtbot.addWidget(view)
    view.resize(830, 560)          # the table's room in a 1024x640 window, beside the sidebar
    view.show()
    qtbot.waitExposed(view)
    hh, model = view.table.horizontalHeader(), view.model
    meta = [c for c in range(model.columnCount()) if model.column_key(c).startswith("meta:")]
    assert len(meta) == 2
    sentence = min(hh.sectionSize(COL["sentence1"]), hh.sectionSize(COL["sentence2"]))
    for column in meta + [COL["note"]]:
        assert hh.sectionSize(column) <= max(META_MAX), model.column_key(column)
        assert hh.sectionSize(column) < sentence
    assert sentence >= 160        # the imported columns are a sideways scroll away
    view.resize(1400, 560)         # room enough: the sentences stretch into it
    qtbot.waitUntil(lambda: hh.sectionSize(COL["sentence1"]) > 250, timeout=2000)
    ctx.set_project(None)

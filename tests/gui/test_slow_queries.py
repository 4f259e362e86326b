"""Slow queries of big projects run in a worker thread; the answer is the same as on the GUI thread.

The thresholds are lowered so that a small real project drives the worker path.
"""

from __future__ import annotations

import gc
import sqlite3

import pytest
from PySide6.QtCore import Qt

from stsstudio.core.store import Project
from stsstudio.gui.common.context import ProjectContext
from stsstudio.gui.common.workers import active_workers
from stsstudio.gui.label.annotate import AnnotateView
from stsstudio.gui.pairs.pairs_table import COL, PairsView


@pytest.fixture(autouse=True)
def _settle(qtbot):
    """Let worker threads end and collect Qt garbage now, while no thread runs.

    Earlier tests leave cyclic garbage that holds pyqtgraph items; collected later, in the
    middle of the training test (a QThread running), it has crashed the interpreter. Collected
    here it only raises AttributeError from pyqtgraph's half-torn-down LabelItem.sizeHint,
    which is not this test's to judge.
    """
    yield
    qtbot.waitUntil(lambda: not active_workers(), timeout=10_000)
    qtbot.wait(50)
    with qtbot.capture_exceptions():
        gc.collect()


def _db_scalar(project: Project, sql: str) -> int:
    """Read the database directly, beside the project's own connection."""
    conn = sqlite3.connect(project.db_path)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


def _project(tmp_path) -> Project:
    project = Project.create(tmp_path / "big")
    rows = [(f"left sentence {i}", f"right sentence {i}",
             None if i % 3 == 0 else (i * 37 % 101) / 100, ("train", "dev", "test")[i % 3], i, None)
            for i in range(1, 301)]
    project.pairs.insert(rows, source="unit")
    return project


def _ctx(project: Project) -> ProjectContext:
    ctx = ProjectContext()
    ctx.annotator = "dana"
    ctx.set_project(project)
    return ctx


def test_filter_and_sort_in_a_worker_keep_the_window_free(tmp_path, qtbot):
    project = _project(tmp_path)
    ctx = _ctx(project)
    view = PairsView(ctx)
    qtbot.addWidget(view)
    view.model.async_rows = 0
    before = view.model.ids

    with qtbot.waitSignal(view.model.queryChanged, timeout=10_000):
        view.filter_buttons["unlabeled"].click()
        # The click returned at once: the old rows are still shown, marked busy.
        assert view.model.busy and view.model.ids == before
        assert not view.busy_bar.isHidden() and view.count_label.text() == "Filtering…"
    assert list(view.model.ids) == project.pairs.query_ids(filter="unlabeled")
    assert not view.model.busy and view.busy_bar.isHidden()
    assert view.count_label.text() == "Showing 100 of 300 pairs"

    # Two queries in a row: only the last one's answer lands.
    seen = []
    view.model.queryChanged.connect(lambda: seen.append(list(view.model.ids)))
    view.filter_buttons["labeled"].click()
    view.table.sortByColumn(COL["score"], Qt.SortOrder.DescendingOrder)
    qtbot.waitUntil(lambda: not view.model.busy, timeout=10_000)
    expected = project.pairs.query_ids(filter="labeled", order_by="score", descending=True)
    assert list(view.model.ids) == expected and seen == [expected]

    # A write meanwhile: the synchronous re-query wins over the worker's late answer.
    view.filter_buttons["unlabeled"].click()
    project.labels.set(3, 0.5, "dana")
    view.model.requery()
    qtbot.wait(300)
    expected = project.pairs.query_ids(filter="unlabeled", order_by="score", descending=True)
    assert list(view.model.ids) == expected and 3 not in view.model.ids
    ctx.set_project(None)


def test_label_counts_in_a_worker_match_the_database(tmp_path, qtbot):
    project = _project(tmp_path)
    ctx = _ctx(project)
    view = AnnotateView(ctx)
    qtbot.addWidget(view)
    view.counts.async_rows = 0
    view.resize(900, 600)
    view.show()
    qtbot.waitUntil(lambda: not view.counts.counting, timeout=10_000)
    assert (view.total, view.labeled) == (300, 200)

    # Labels given while a first count runs are not lost or counted twice.
    project.counts.forget()
    view._recount()
    assert view.counts.counting
    for key in (Qt.Key.Key_3, Qt.Key.Key_Return, Qt.Key.Key_4, Qt.Key.Key_Return):
        qtbot.keyClick(view, key)
    qtbot.waitUntil(lambda: not view.counts.counting, timeout=10_000)
    assert view.labeled == 202 == _db_scalar(project, "SELECT COUNT(score) FROM pairs")
    assert "202 of 300 labeled" in view.progress_label.text()

    view.split_combo.setCurrentIndex(view.split_combo.findData("test"))
    qtbot.waitUntil(lambda: not view.counts.counting, timeout=10_000)
    assert view.total == _db_scalar(project, "SELECT COUNT(*) FROM pairs WHERE split = 'test'")
    assert view.labeled == _db_scalar(project, "SELECT COUNT(score) FROM pairs WHERE split = 'test'")
    ctx.set_project(None)

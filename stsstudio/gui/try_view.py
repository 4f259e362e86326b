"""The Try view: score two sentences, search the project, and plot gold against predicted.

Every model call runs in a worker (``core.inference``; the first call loads the model, later ones
reuse it). Jobs run one at a time through a small queue that keeps only the newest job of each
kind, so typing fast never piles up encodes: the pair score is debounced (300 ms) and a newer
request replaces a pending one.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Slot
from PySide6.QtGui import QColor, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from stsstudio.gui.context import ProjectContext
from stsstudio.gui.plots import PALETTE, GoldPredictedPlot
from stsstudio.gui.run_combo import fill_run_combo
from stsstudio.gui.workers import JobRunner

DEBOUNCE_MS = 300
HINT_STYLE = "color: #6b6b6b;"


# ----------------------------------------------------------------------------------------
# Jobs (run in a worker thread; plain functions of core calls)


def score_job(project: Any, refs: dict[str, str], s1: str, s2: str) -> dict[str, Any]:
    from stsstudio.core.inference import similarity

    out: dict[str, Any] = {"s1": s1, "s2": s2}
    for key, ref in refs.items():
        out[key] = float(similarity(ref, s1, s2, project=project))
        out[f"{key}_guess"] = calibrated_guess(project, ref, out[key])
    return out


def calibrated_guess(project: Any, ref: str, cosine: float) -> str:
    """The cosine as a guess on the project's scale ("3.9 of 5: mostly equivalent"), through the
    model's stored calibration; "" when it has none yet."""
    from stsstudio.core.calibration import Calibration, describe_guess
    from stsstudio.core.errors import UserError
    from stsstudio.core.predictions import prediction_target

    try:
        run_id, _ = prediction_target(project, ref)
    except UserError:
        return ""
    cal = Calibration.load(project, run_id)
    return "" if cal is None else describe_guess(cal.guess(cosine), project.display_scale())


def review_job(project: Any, limit: int = 50) -> dict[str, Any]:
    """The "review disagreements" queue (core), with the rows the table shows."""
    from stsstudio.core.label_queue import rank_pairs
    from stsstudio.core.predictions import guesses

    choices = rank_pairs(project, "review", limit=limit)
    ids = [c.pair_id for c in choices]
    pairs = project.pairs_by_ids(ids)
    guess = guesses(project, ids)
    return {"rows": [(c.pair_id, pairs[c.pair_id].score, guess.get(c.pair_id), c.reason,
                      pairs[c.pair_id].sentence1, pairs[c.pair_id].sentence2)
                     for c in choices if c.pair_id in pairs]}


def search_job(project: Any, refs: dict[str, str], query: str, top_k: int,
               task: Any = None) -> dict[str, Any]:
    from stsstudio.core.inference import search

    out: dict[str, Any] = {"query": query}
    for key, ref in refs.items():
        # The first search of a model embeds every sentence of the project: ``task`` counts them.
        hits = search(project, ref, query, top_k, task=task)
        out[key] = [(h.sentence, float(h.score), list(h.pair_ids)) for h in hits]
    return out


def scatter_job(project: Any, refs: dict[str, str], split: str) -> dict[str, Any]:
    from stsstudio.core.evaluation import held_out_run, predict_split, run_of

    out: dict[str, Any] = {"split": split}
    # Without a dev split, every model is scored on the selected run's own held-out pairs; every
    # model leaves out the pairs the selected run trained on, so both are scored on the same pairs.
    fallback = held_out_run(project, refs.get("run")) if split == "dev" else None
    trained_run = run_of(project, refs.get("run"))
    for key, ref in refs.items():
        r = predict_split(project, ref, split, fallback_run=fallback, exclude_run=trained_run)
        out["source"] = r.source
        out["leak_note"] = r.leak_note or out.get("leak_note", "")
        out[key] = {"spearman": r.spearman, "pearson": r.pearson, "gold": list(r.gold),
                    "predicted": list(r.predicted), "pair_ids": [int(i) for i in r.pair_ids]}
    return out


def _table(headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setDefaultSectionSize(22)
    table.setSelectionBehavior(QAbstractItemView.SelectRows)
    table.setSelectionMode(QAbstractItemView.SingleSelection)
    table.setEditTriggers(QAbstractItemView.NoEditTriggers)
    table.setWordWrap(False)
    table.setAlternatingRowColors(True)
    table.setTextElideMode(Qt.ElideRight)
    return table


def _two_line_rows(table: QTableWidget) -> None:
    """Rows of two lines: a pair's sentences one above the other, each with the column's whole
    width (side by side, on a 1024-pixel screen, each kept only a few characters)."""
    table.verticalHeader().setDefaultSectionSize(2 * table.fontMetrics().lineSpacing() + 8)


def _two_lines(sentence1: str, sentence2: str) -> str:
    return f"{sentence1}\n{sentence2}"


def _item(text: str, data: Any = None, right: bool = False, tooltip: str | None = None) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    if data is not None:
        item.setData(Qt.UserRole, data)
    if right:
        item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
    item.setToolTip(tooltip if tooltip is not None else text)
    return item


class ScoreCard(QFrame):
    """One model's score of the pair: a name, a big number and a bar."""

    def __init__(self, title: str, color: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.StyledPanel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 8)
        layout.setSpacing(2)
        self.title = QLabel(title)
        self.title.setStyleSheet(HINT_STYLE)
        self.value = QLabel("–")
        self._small = self.value.font()
        self._big = self.value.font()
        self._big.setPointSizeF(self._big.pointSizeF() * 1.9)
        self._big.setBold(True)
        self.value.setFont(self._big)
        self.value.setMinimumHeight(self.value.fontMetrics().height() + 2)
        self.value.setStyleSheet(f"color: {color};")
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.bar.setFixedHeight(6)
        self.bar.setStyleSheet(f"QProgressBar {{ border: none; background: #e6e6e6; border-radius: 3px; }}"
                               f"QProgressBar::chunk {{ background: {color}; border-radius: 3px; }}")
        self.guess = QLabel()                  # the calibrated guess on the project's scale
        self.guess.setObjectName("calibratedGuess")
        layout.addWidget(self.title)
        layout.addWidget(self.value)
        layout.addWidget(self.guess)
        layout.addWidget(self.bar)

    def set_state(self, text: str) -> None:
        """A number in large type, or a state ("Loading model…") in normal type."""
        numeric = text[:1].isdigit() or text[:1] in "-–"
        self.value.setFont(self._big if numeric else self._small)
        self.value.setText(text)

    def set_score(self, score: float | None) -> None:
        if score is None:
            self.set_state("–")
            self.bar.setValue(0)
            return
        self.set_state(f"{score:.3f}")
        self.bar.setValue(int(round(max(0.0, min(1.0, score)) * 1000)))


class TryView(QWidget):
    """Score pairs, search and check gold against predicted, for the base model and a run."""

    def __init__(self, ctx: ProjectContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.last_scores: dict[str, float] = {}
        self.last_search: dict[str, Any] = {}
        self.last_scatter: dict[str, Any] = {}
        self.last_error = ""
        self._loaded_refs: set[str] = set()
        self._queue: dict[str, tuple[Callable[..., Any], tuple[Any, ...]]] = {}
        # One job at a time (each may load a model); a newer job of the running kind makes the
        # running one stale: its result is dropped and the next starts once it has ended.
        self._runner = JobRunner(self, serial=True)
        self._runner.finished.connect(self._on_job_finished)
        self._runner.failed.connect(self._on_job_failed)
        self._runner.done.connect(self._on_job_done)
        self._runner.progressed.connect(self._on_job_progressed)
        self._running_kind = ""
        self._review_rows: list[int] = []    # pair ids of the review queue the table shows
        self._scatter_dirty = True
        self._debounce = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._debounce.timeout.connect(self.score_now)
        self._build_ui()
        ctx.projectChanged.connect(self._on_project_changed)
        ctx.runsChanged.connect(self._reload_runs)
        ctx.pairsChanged.connect(self._mark_scatter_dirty)
        ctx.pairChanged.connect(self._mark_scatter_dirty)
        self._on_project_changed()

    # ------------------------------------------------------------------------------------
    # UI

    def _build_ui(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(10, 10, 10, 10)
        root.setSpacing(8)

        top = QHBoxLayout()
        top.addWidget(QLabel("Compare the base model with"))
        self.run_combo = QComboBox()
        self.run_combo.setMinimumWidth(320)
        self.run_combo.currentIndexChanged.connect(self._on_run_changed)
        top.addWidget(self.run_combo)
        self.busy_label = QLabel()
        self.busy_label.setStyleSheet(HINT_STYLE)
        top.addWidget(self.busy_label, 1)
        # The first search embeds the whole project (seconds to minutes): a bar with the count.
        self.job_progress = QProgressBar()
        self.job_progress.setFormat("%v of %m sentences")
        self.job_progress.setMaximumWidth(260)
        self.job_progress.setVisible(False)
        top.addWidget(self.job_progress)
        root.addLayout(top)

        split = QSplitter(Qt.Horizontal)
        split.setChildrenCollapsible(False)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self._build_score_box())
        left_layout.addWidget(self._build_search_box(), 1)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self._build_scatter_box(), 1)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        root.addWidget(split, 1)

    def _build_score_box(self) -> QGroupBox:
        box = QGroupBox("Pair score")
        grid = QGridLayout(box)
        grid.setVerticalSpacing(4)
        self.sentence1 = QPlainTextEdit()
        self.sentence2 = QPlainTextEdit()
        for edit, text in ((self.sentence1, "First sentence…"), (self.sentence2, "Second sentence…")):
            edit.setPlaceholderText(text)
            edit.setFixedHeight(52)
            edit.setTabChangesFocus(True)
            edit.textChanged.connect(self._on_text_changed)
        grid.addWidget(self.sentence1, 0, 0)
        grid.addWidget(self.sentence2, 1, 0)
        cards = QHBoxLayout()
        self.base_card = ScoreCard("Base model", "#6b6b6b")
        self.run_card = ScoreCard("Selected run", PALETTE[0])
        cards.addWidget(self.base_card)
        cards.addWidget(self.run_card)
        grid.addLayout(cards, 2, 0)
        hint = QLabel("Cosine similarity of the two sentences, updated as you type.")
        hint.setStyleSheet(HINT_STYLE)
        grid.addWidget(hint, 3, 0)
        return box

    def _build_search_box(self) -> QGroupBox:
        box = QGroupBox("Search the project")
        layout = QVBoxLayout(box)
        row = QHBoxLayout()
        self.query = QLineEdit()
        self.query.setPlaceholderText("Type a sentence and press Enter…")
        self.query.setClearButtonEnabled(True)
        self.query.returnPressed.connect(self.search_now)
        self.top_k = QSpinBox(minimum=1, maximum=100, value=5)
        self.top_k.setPrefix("top ")
        self.search_button = QPushButton("Search")
        self.search_button.clicked.connect(self.search_now)
        row.addWidget(self.query, 1)
        row.addWidget(self.top_k)
        row.addWidget(self.search_button)
        layout.addLayout(row)
        results = QHBoxLayout()
        self.base_hits = _table(["Score", "Base model"])
        self.run_hits = _table(["Score", "Selected run"])
        for table in (self.base_hits, self.run_hits):
            table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Fixed)
            table.setColumnWidth(0, 54)
            table.horizontalHeader().setSectionResizeMode(1, QHeaderView.Stretch)
            table.itemSelectionChanged.connect(self._on_hit_selected)
            results.addWidget(table)
        layout.addLayout(results, 2)
        self.hit_pairs_label = QLabel("Click a hit to list its pairs; double-click a pair to label it.")
        self.hit_pairs_label.setStyleSheet(HINT_STYLE)
        self.hit_pairs_label.setWordWrap(True)
        layout.addWidget(self.hit_pairs_label)
        self.hit_pairs = _table(["Pair", "Sentences", "Gold", "Split"])
        _two_line_rows(self.hit_pairs)
        header = self.hit_pairs.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.Interactive)
        header.setSectionResizeMode(1, QHeaderView.Stretch)
        for col, width in ((0, 50), (2, 50), (3, 50)):
            self.hit_pairs.setColumnWidth(col, width)
        self.hit_pairs.itemDoubleClicked.connect(self._on_pair_double_clicked)
        layout.addWidget(self.hit_pairs, 1)
        return box

    def _build_scatter_box(self) -> QGroupBox:
        box = QGroupBox("Gold against predicted")
        layout = QVBoxLayout(box)
        row = QHBoxLayout()
        row.addWidget(QLabel("Split"))
        self.split_combo = QComboBox()
        self.split_combo.addItem("dev", "dev")
        self.split_combo.addItem("test", "test")
        self.split_combo.currentIndexChanged.connect(self._on_split_changed)
        row.addWidget(self.split_combo)
        row.addStretch(1)
        self.evaluate_button = QPushButton("Evaluate again")
        self.evaluate_button.clicked.connect(self.refresh_scatter)
        row.addWidget(self.evaluate_button)
        layout.addLayout(row)
        self.spearman_label = QLabel()
        self.spearman_label.setTextFormat(Qt.RichText)
        self.spearman_label.setWordWrap(True)
        layout.addWidget(self.spearman_label)
        self.scatter = GoldPredictedPlot()
        self.scatter.pairClicked.connect(self._on_point_clicked)
        self.scatter.setMinimumHeight(220)
        layout.addWidget(self.scatter, 3)
        label = QLabel("Largest disagreements between the selected model and the labels "
                       "(click a point or double-click a row to relabel the pair):")
        label.setWordWrap(True)
        label.setStyleSheet(HINT_STYLE)
        layout.addWidget(label)
        self.disagreements = _table(["Pair", "Gold", "Pred.", "Δ", "Sentences"])
        _two_line_rows(self.disagreements)
        header = self.disagreements.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.Interactive)
        header.setSectionResizeMode(4, QHeaderView.Stretch)
        for col, width in ((0, 44), (1, 48), (2, 48), (3, 52)):
            self.disagreements.setColumnWidth(col, width)
        self.disagreements.itemDoubleClicked.connect(self._on_pair_double_clicked)
        layout.addWidget(self.disagreements, 2)
        return box

    # ------------------------------------------------------------------------------------
    # Project and runs

    @Slot()
    def _on_project_changed(self) -> None:
        self._loaded_refs.clear()
        self.last_scores = {}
        for table in (self.base_hits, self.run_hits, self.hit_pairs, self.disagreements):
            table.setRowCount(0)
        self.scatter.clear_series("base")
        self.scatter.clear_series("run")
        self.spearman_label.setText("")
        self.base_card.set_score(None)
        self.run_card.set_score(None)
        self._reload_runs()
        self._scatter_dirty = True
        if self.isVisible():
            self.refresh_scatter()

    @Slot()
    def _reload_runs(self) -> None:
        project = self.ctx.project
        current = self.selected_run_id()
        if project is None or project.closed:
            fill_run_combo(self.run_combo, None, None)
            return
        fill_run_combo(self.run_combo, project, current)
        self._update_run_titles()
        if self.selected_run_id() != current:
            self._on_run_changed()

    def selected_run_id(self) -> int | None:
        data = self.run_combo.currentData()
        return int(data) if data is not None else None

    def select_run(self, run_id: int) -> None:
        index = self.run_combo.findData(run_id)
        if index >= 0:
            self.run_combo.setCurrentIndex(index)

    def _refs(self) -> dict[str, str]:
        refs = {"base": "base"}
        run_id = self.selected_run_id()
        if run_id is not None:
            refs["run"] = f"run:{run_id}"
        return refs

    def _update_run_titles(self) -> None:
        run_id = self.selected_run_id()
        name = f"Run {run_id}" if run_id is not None else "No run"
        self.run_card.title.setText(name)
        self.run_hits.setHorizontalHeaderLabels(["Score", name])
        self.run_hits.setVisible(run_id is not None)   # no run: the base model's hits get the width

    @Slot()
    def _on_run_changed(self) -> None:
        self._update_run_titles()
        if self.selected_run_id() is None:
            self.run_card.set_score(None)
            self.run_hits.setRowCount(0)
            self.scatter.clear_series("run")
        if self._has_pair():
            self.score_now()
        if self.query.text().strip():
            self.search_now()
        self._scatter_dirty = True
        if self.isVisible():
            self.refresh_scatter()

    @Slot()
    def _mark_scatter_dirty(self, *_: object) -> None:
        self._scatter_dirty = True

    @Slot()
    def _on_split_changed(self) -> None:
        self.refresh_scatter()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if self._scatter_dirty:
            self.refresh_scatter()

    # ------------------------------------------------------------------------------------
    # Job queue: one worker at a time, newest job of each kind wins

    def _submit(self, kind: str, fn: Callable[..., Any], *args: Any) -> None:
        self._queue.pop(kind, None)
        self._queue[kind] = (fn, args)
        if self._runner.is_running() and self._running_kind == kind:
            self._runner.cancel(quiet=True)
        self._pump()

    def _pump(self) -> None:
        running = self._runner.is_running()
        if running or not self._queue:
            self.busy_label.setText(self.busy_label.text() if running else "")
            return
        kind = next(iter(self._queue))
        fn, args = self._queue.pop(kind)
        refs = args[1] if len(args) > 1 and isinstance(args[1], dict) else {}
        loading = [r for r in refs.values() if r not in self._loaded_refs]
        self.busy_label.setText("Loading model…" if loading else
                                {"score": "Scoring…", "search": "Searching…"}.get(kind, "Evaluating…"))
        self._running_kind = kind
        self._running_refs = list(refs.values())
        self._runner.start(fn, *args)

    def is_busy(self) -> bool:
        return self._runner.is_running() or bool(self._queue)

    @Slot(object)
    def _on_job_finished(self, result: dict[str, Any]) -> None:
        self._loaded_refs.update(self._running_refs)
        self.last_error = ""
        handler = {"score": self._apply_scores, "search": self._apply_search,
                   "scatter": self._apply_scatter, "review": self._apply_review}[self._running_kind]
        handler(result)

    @Slot(str, str)
    def _on_job_failed(self, message: str, _details: str) -> None:
        self.last_error = message
        if self._running_kind == "score":
            self.base_card.set_state("error")
            self.run_card.set_state("error")
        elif self._running_kind == "review":
            self._review_rows = []   # no predictions yet: the table keeps the evaluation's list
            return
        elif self._running_kind == "scatter":
            self.spearman_label.setText(f"<span style='color:#b3261e'>{html.escape(message)}</span>")
        else:
            self.hit_pairs_label.setText(f"<span style='color:#b3261e'>{html.escape(message)}</span>")
        self.ctx.statusMessage.emit(message)

    @Slot(int, int)
    def _on_job_progressed(self, done: int, total: int) -> None:
        if total <= 0:
            return
        if self._running_kind == "search":
            self.busy_label.setText("Embedding the project's sentences for the search…")
        self.job_progress.setRange(0, total)
        self.job_progress.setValue(done)
        self.job_progress.setVisible(done < total)

    @Slot()
    def _on_job_done(self) -> None:
        self.busy_label.setText("")
        self.job_progress.setVisible(False)
        self._pump()

    # ------------------------------------------------------------------------------------
    # Pair score

    def set_sentences(self, s1: str, s2: str) -> None:
        self.sentence1.setPlainText(s1)
        self.sentence2.setPlainText(s2)

    def _has_pair(self) -> bool:
        return bool(self.sentence1.toPlainText().strip() and self.sentence2.toPlainText().strip())

    @Slot()
    def _on_text_changed(self) -> None:
        if self._has_pair():
            self._debounce.start()

    @Slot()
    def score_now(self) -> None:
        self._debounce.stop()
        project = self.ctx.project
        if project is None or not self._has_pair():
            return
        refs = self._refs()
        for key, card in (("base", self.base_card), ("run", self.run_card)):
            if key in refs and refs[key] not in self._loaded_refs:
                card.set_state("Loading model…")
        self._submit("score", score_job, project, refs, self.sentence1.toPlainText().strip(),
                     self.sentence2.toPlainText().strip())

    def _apply_scores(self, result: dict[str, Any]) -> None:
        self.last_scores = {k: v for k, v in result.items() if k in ("base", "run")}
        self.base_card.set_score(result.get("base"))
        self.run_card.set_score(result.get("run"))
        self.base_card.guess.setText(result.get("base_guess") or "")
        self.run_card.guess.setText(result.get("run_guess") or "")

    # ------------------------------------------------------------------------------------
    # Search

    @Slot()
    def search_now(self) -> None:
        project = self.ctx.project
        query = self.query.text().strip()
        if project is None or not query:
            return
        self._submit("search", search_job, project, self._refs(), query, int(self.top_k.value()))

    def _apply_search(self, result: dict[str, Any]) -> None:
        self.last_search = result
        for key, table in (("base", self.base_hits), ("run", self.run_hits)):
            hits = result.get(key, [])
            table.setRowCount(len(hits))
            for row, (sentence, score, pair_ids) in enumerate(hits):
                table.setItem(row, 0, _item(f"{score:.3f}", pair_ids, right=True))
                table.setItem(row, 1, _item(sentence, pair_ids))
        self.hit_pairs.setRowCount(0)
        self.hit_pairs_label.setText("Click a hit to list its pairs; double-click a pair to label it.")

    @Slot()
    def _on_hit_selected(self) -> None:
        table = self.sender()
        if not isinstance(table, QTableWidget):
            return
        items = table.selectedItems()
        if not items or self.ctx.project is None:
            return
        pair_ids = items[0].data(Qt.UserRole) or []
        self.show_hit_pairs(list(pair_ids), table.item(items[0].row(), 1).text())

    def show_hit_pairs(self, pair_ids: list[int], sentence: str = "") -> None:
        project = self.ctx.project
        if project is None:
            return
        pairs = project.pairs_by_ids(pair_ids)
        rows = [pairs[i] for i in pair_ids if i in pairs]
        short = sentence if len(sentence) <= 40 else sentence[:39] + "…"
        self.hit_pairs_label.setText(f"{len(rows)} pair(s) with “{html.escape(short)}”; "
                                     "double-click to label it.")
        self.hit_pairs.setRowCount(len(rows))
        for row, pair in enumerate(rows):
            gold = "–" if pair.score is None else f"{pair.score:.2f}"
            for col, (text, right) in enumerate(((str(pair.id), True),
                                                 (_two_lines(pair.sentence1, pair.sentence2), False),
                                                 (gold, True), (pair.split, False))):
                self.hit_pairs.setItem(row, col, _item(text, pair.id, right=right))

    @Slot(QTableWidgetItem)
    def _on_pair_double_clicked(self, item: QTableWidgetItem) -> None:
        pair_id = item.data(Qt.UserRole)
        if pair_id is None:
            return
        if item.tableWidget() is self.disagreements and int(pair_id) in self._review_rows:
            # The review queue, not file order: Enter in the Label view goes on through it.
            self.ctx.openPairInOrderRequested.emit(int(pair_id), "review")
        self.ctx.openPairRequested.emit(int(pair_id))

    # ------------------------------------------------------------------------------------
    # Gold against predicted

    @Slot()
    def refresh_scatter(self) -> None:
        project = self.ctx.project
        if project is None or project.closed:
            return
        split = self.split_combo.currentData()
        labeled = project.counts().labeled(split)
        self._scatter_dirty = False
        if labeled < 2 and split == "dev":
            from stsstudio.core.evaluation import held_out_run

            run_id = held_out_run(project, self._refs().get("run"))
            labeled = len(project.run_pair_ids(run_id, "dev")) if run_id is not None else labeled
        if labeled < 2:
            self.scatter.clear_series("base")
            self.scatter.clear_series("run")
            self.disagreements.setRowCount(0)
            self.spearman_label.setText(f"<span style='color:#6b6b6b'>No labeled {split} pairs to "
                                        "evaluate on.</span>")
            return
        self.spearman_label.setText(f"<span style='color:#6b6b6b'>Evaluating on {labeled} {split} "
                                    "pairs…</span>")
        self._submit("scatter", scatter_job, project, self._refs(), split)

    def _apply_scatter(self, result: dict[str, Any]) -> None:
        self.last_scatter = result
        parts = []
        for key, label, color in (("base", "base model", "#6b6b6b"), ("run", f"run {self.selected_run_id()}",
                                                                       PALETTE[0])):
            data = result.get(key)
            if not data:
                self.scatter.clear_series(key)
                continue
            sp = data["spearman"]
            name = f"{label} (ρ {sp:.3f})"
            self.scatter.set_series(key, data["gold"], data["predicted"], data["pair_ids"], name)
            parts.append(f"<span style='color:{color}'>■</span> {label}: Spearman <b>{sp:.3f}</b>, "
                         f"Pearson {data['pearson']:.3f}")
        n = len(result.get("base", {}).get("gold", []))
        where = result.get("source") or f"the {result['split']} split"
        count = f"&nbsp;&nbsp;<span style='color:#6b6b6b'>({n} pairs of {where})</span>"
        note = result.get("leak_note") or ""
        # Pairs the run trained on are left out of the comparison; say so, in the warning colour.
        leak = f"<br><span style='color:#8a5a00'>⚠ {html.escape(note)}</span>" if note else ""
        self.spearman_label.setText("&nbsp;&nbsp;&nbsp;".join(parts) + count + leak)
        self._fill_disagreements(result.get("run") or result.get("base"))
        self._submit("review", review_job, self.ctx.project)

    def _apply_review(self, result: dict[str, Any]) -> None:
        """The table becomes the core "review disagreements" queue; a double-click opens the
        pair in the Label view in that order, so Enter goes on through the queue."""
        scale = self.ctx.project.display_scale() if self.ctx.project is not None else None
        from stsstudio.core.scales import format_display

        rows = result["rows"]
        self._review_rows = [r[0] for r in rows]
        self.disagreements.setRowCount(len(rows))
        for row, (pid, gold, guess, reason, s1, s2) in enumerate(rows):
            delta = None if guess is None or gold is None else guess - gold
            cells = [(str(pid), True), (format_display(gold, scale), True),
                     (format_display(guess, scale), True),
                     ("" if delta is None else f"{delta:+.2f}", True), (_two_lines(s1, s2), False)]
            for col, (text, right) in enumerate(cells):
                item = _item(text, int(pid), right=right, tooltip=reason)
                if col == 3 and delta is not None:
                    item.setForeground(QColor("#b3261e" if abs(delta) >= 0.3 else "#8a5a00"))
                self.disagreements.setItem(row, col, item)

    def _fill_disagreements(self, data: dict[str, Any] | None, limit: int = 50) -> None:
        project = self.ctx.project
        if not data or project is None:
            self.disagreements.setRowCount(0)
            return
        gold = np.asarray(data["gold"], dtype=float)
        pred = np.asarray(data["predicted"], dtype=float)
        ids = data["pair_ids"]
        order = np.argsort(-np.abs(pred - gold))[:limit]
        pairs = project.pairs_by_ids([ids[i] for i in order])
        self.disagreements.setRowCount(len(order))
        for row, i in enumerate(order):
            pair = pairs.get(ids[i])
            delta = pred[i] - gold[i]
            cells = [(str(ids[i]), True), (f"{gold[i]:.2f}", True), (f"{pred[i]:.2f}", True),
                     (f"{delta:+.2f}", True),
                     (_two_lines(pair.sentence1, pair.sentence2) if pair else "", False)]
            for col, (text, right) in enumerate(cells):
                item = _item(text, int(ids[i]), right=right)
                if col == 3:
                    item.setForeground(QColor("#b3261e" if abs(delta) >= 0.3 else "#8a5a00"))
                self.disagreements.setItem(row, col, item)

    @Slot(int)
    def _on_point_clicked(self, pair_id: int) -> None:
        self.ctx.openPairRequested.emit(pair_id)

    # ------------------------------------------------------------------------------------
    # Screenshot

    def prepare_for_screenshot(self) -> None:
        """Fill every panel synchronously (the screenshot command renders once and exits)."""
        project = self.ctx.project
        if project is None:
            return
        self._reload_runs()
        refs = self._refs()
        dev = project.labeled_pairs("dev") or project.labeled_pairs()
        with QSignalBlocker(self.sentence1), QSignalBlocker(self.sentence2):
            if dev and not self._has_pair():
                self.set_sentences(dev[0].sentence1, dev[0].sentence2)
        if not self.query.text() and dev:
            self.query.setText(dev[min(3, len(dev) - 1)].sentence1)
            self.query.setCursorPosition(0)
        try:
            if self._has_pair():
                self._apply_scores(score_job(project, refs, self.sentence1.toPlainText().strip(),
                                             self.sentence2.toPlainText().strip()))
            if self.query.text().strip():
                self._apply_search(search_job(project, refs, self.query.text().strip(),
                                              int(self.top_k.value())))
                if self.base_hits.rowCount():
                    self.run_hits.selectRow(0) if self.run_hits.rowCount() else self.base_hits.selectRow(0)
            split = self.split_combo.currentData()
            if project.counts().labeled(split) >= 2:
                self._apply_scatter(scatter_job(project, refs, split))
            self._scatter_dirty = False
        except Exception as exc:  # noqa: BLE001 - a screenshot still shows what it can
            self.last_error = str(exc)
        self.busy_label.setText("")

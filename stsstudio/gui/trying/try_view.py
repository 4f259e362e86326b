"""The Try view: score two sentences, search the project, and plot gold against predicted.

Every model call runs in a worker (``core.inference``; the first call loads the model, later ones
reuse it). Jobs run one at a time through a small queue that keeps only the newest job of each
kind, so typing fast never piles up encodes: the pair score is debounced (300 ms) and a newer
request replaces a pending one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from stsstudio.core.export_formats import EXPORT_FORMATS
from stsstudio.gui.common import style
from stsstudio.gui.common.context import ProjectContext
from stsstudio.gui.common.workers import JobRunner
from stsstudio.gui.train.run_combo import fill_run_combo
from stsstudio.gui.trying.try_evaluation import EvaluationBox
from stsstudio.gui.trying.try_score import PairScoreBox
from stsstudio.gui.trying.try_search import SearchBox

# ----------------------------------------------------------------------------------------
# Jobs (run in a worker thread; plain functions of core calls)


def score_job(project: Any, refs: dict[str, str], s1: str, s2: str,
              formats: dict[str, str] | None = None) -> dict[str, Any]:
    """Each model's score of the pair; ``formats`` runs a model as an export variant (onnx, ...)."""
    from stsstudio.core.inference import cut_note, get_model, similarity, token_counts

    out: dict[str, Any] = {"s1": s1, "s2": s2}
    for key, ref in refs.items():
        out[key] = float(similarity(ref, s1, s2, project=project, format=(formats or {}).get(key, "torch")))
        out[f"{key}_guess"] = calibrated_guess(project, ref, out[key])
        out.setdefault("cut", cut_note(*token_counts(get_model(ref, project=project), [s1, s2])))
    return out


def calibrated_guess(project: Any, ref: str, cosine: float) -> str:
    """The cosine as a guess on the project's scale ("3.9 of 5: mostly equivalent"), through the
    model's stored calibration (core's one rule); "" when it has none yet."""
    from stsstudio.core.calibration import project_guess
    from stsstudio.core.errors import UserError
    from stsstudio.core.predictions import prediction_target

    try:
        run_id, _ = prediction_target(project, ref)
    except UserError:
        return ""
    guess = project_guess(project, run_id, cosine)
    if not guess.calibrated:
        return ""
    caveat = guess.caveat()
    return guess.describe(project.display_scale()) + (f" ({caveat})" if caveat else "")


def review_job(project: Any, limit: int = 200) -> dict[str, Any]:
    """The pair ids of the "review disagreements" queue (core): a pair of the table that is in
    it opens in that order. The table itself lists the split's worst pairs (``scatter_job``)."""
    from stsstudio.core.label_queue import rank_pairs

    return {"ids": [c.pair_id for c in rank_pairs(project, "review", limit=limit)]}


def search_job(project: Any, refs: dict[str, str], query: str, top_k: int,
               formats: dict[str, str] | None = None, task: Any = None) -> dict[str, Any]:
    from stsstudio.core.inference import search

    out: dict[str, Any] = {"query": query}
    for key, ref in refs.items():
        # The first search of a model embeds every sentence of the project: ``task`` counts them.
        hits = search(project, ref, query, top_k, task=task, format=(formats or {}).get(key, "torch"))
        out[key] = [(h.sentence, float(h.score), list(h.pair_ids)) for h in hits]
    return out


def scatter_job(project: Any, refs: dict[str, str], split: str) -> dict[str, Any]:
    from stsstudio.core.evaluation import held_out_run, predict_split, run_of, worst_pairs

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
        # The table: the selected model's worst pairs of the same split, without trained pairs.
        out["worst"] = worst_pairs(project, ref, split, result=r)
    return out



class TryView(QWidget):
    """Score pairs, search and check gold against predicted, for the base model and a run.

    Composed of three boxes (:mod:`try_score`, :mod:`try_search`, :mod:`try_evaluation`); the
    view owns the run choice and the job queue, and hands each result to its box.
    """

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
        self._scatter_dirty = True
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
        root.addLayout(self._build_run_row())

        self.pair_score = PairScoreBox()
        self.pair_score.scoreRequested.connect(self.score_now)
        self.search = SearchBox(self.ctx)
        self.search.searchRequested.connect(self.search_now)
        self.evaluation = EvaluationBox(self.ctx)
        self.evaluation.evaluateRequested.connect(self.refresh_scatter)

        split = QSplitter(Qt.Horizontal)
        split.setChildrenCollapsible(False)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.pair_score)
        left_layout.addWidget(self.search, 1)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.evaluation, 1)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        root.addWidget(split, 1)

    def _build_run_row(self) -> QHBoxLayout:
        top = QHBoxLayout()
        top.addWidget(QLabel("Compare the base model with"))
        self.run_combo = QComboBox()
        self.run_combo.setMinimumWidth(320)
        self.run_combo.currentIndexChanged.connect(self._on_run_changed)
        top.addWidget(self.run_combo)
        # The run as an export variant (ONNX, int8, OpenVINO): scores and search use it, so the
        # user sees what a deployed variant answers. The plot stays on the torch model.
        top.addWidget(QLabel("as"))
        self.format_combo = QComboBox()
        for fmt in EXPORT_FORMATS.values():
            self.format_combo.addItem(fmt.label, fmt.name)
            reason = fmt.unavailable_reason(deep=False)
            item = self.format_combo.model().item(self.format_combo.count() - 1)
            item.setToolTip(reason or fmt.help)
            item.setEnabled(reason is None)
        self.format_combo.setToolTip("Score and search with the run written in this format (the "
                                     "first use writes it once, which takes a little while).")
        self.format_combo.currentIndexChanged.connect(self._on_format_changed)
        top.addWidget(self.format_combo)
        self.busy_label = QLabel()
        self.busy_label.setStyleSheet(style.text_color("hint"))
        top.addWidget(self.busy_label, 1)
        # The first search embeds the whole project (seconds to minutes): a bar with the count.
        self.job_progress = QProgressBar()
        self.job_progress.setFormat("%v of %m sentences")
        self.job_progress.setMaximumWidth(260)
        self.job_progress.setVisible(False)
        top.addWidget(self.job_progress)
        return top

    # ------------------------------------------------------------------------------------
    # Project and runs

    @Slot()
    def _on_project_changed(self) -> None:
        self._loaded_refs.clear()
        self.last_scores = {}
        self.search.clear()
        self.evaluation.clear()
        self.pair_score.clear()
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

    def _formats(self) -> dict[str, str]:
        """The run's export variant for scores and search (empty: torch)."""
        name = self.format_combo.currentData()
        return {"run": name} if name and name != "torch" else {}

    @Slot()
    def _on_format_changed(self) -> None:
        if self.ctx.project is None:
            return
        self.score_now()
        if self.search.query_text():
            self.search_now()

    def _refs(self) -> dict[str, str]:
        refs = {"base": "base"}
        run_id = self.selected_run_id()
        if run_id is not None:
            refs["run"] = f"run:{run_id}"
        return refs

    def _update_run_titles(self) -> None:
        run_id = self.selected_run_id()
        name = f"Run {run_id}" if run_id is not None else "No run"
        self.pair_score.set_run_title(name)
        self.search.set_run_title(name, has_run=run_id is not None)

    @Slot()
    def _on_run_changed(self) -> None:
        self._update_run_titles()
        if self.selected_run_id() is None:
            self.pair_score.clear_run()
            self.search.clear_run()
            self.evaluation.clear_run()
        if self.pair_score.has_pair():
            self.score_now()
        if self.search.query_text():
            self.search_now()
        self._scatter_dirty = True
        if self.isVisible():
            self.refresh_scatter()

    @Slot()
    def _mark_scatter_dirty(self, *_: object) -> None:
        self._scatter_dirty = True

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
            self.pair_score.show_error()
        elif self._running_kind == "review":
            self.evaluation.forget_review()
            return
        elif self._running_kind == "scatter":
            self.evaluation.show_error(message)
        else:
            self.search.show_error(message)
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
        self.pair_score.set_sentences(s1, s2)

    @Slot()
    def score_now(self) -> None:
        self.pair_score.cancel_pending()
        project = self.ctx.project
        pair = self.pair_score.pair()
        if project is None or pair is None:
            return
        refs = self._refs()
        self.pair_score.show_loading(k for k, ref in refs.items() if ref not in self._loaded_refs)
        self._submit("score", score_job, project, refs, *pair, self._formats())

    def _apply_scores(self, result: dict[str, Any]) -> None:
        self.last_scores = {k: v for k, v in result.items() if k in ("base", "run")}
        self.pair_score.show_scores(result)

    # ------------------------------------------------------------------------------------
    # Search

    @Slot()
    def search_now(self) -> None:
        project = self.ctx.project
        query = self.search.query_text()
        if project is None or not query:
            return
        self._submit("search", search_job, project, self._refs(), query, int(self.search.top_k.value()),
                     self._formats())

    def _apply_search(self, result: dict[str, Any]) -> None:
        self.last_search = result
        self.search.show_hits(result)

    # ------------------------------------------------------------------------------------
    # Gold against predicted

    @Slot()
    def refresh_scatter(self) -> None:
        project = self.ctx.project
        if project is None or project.closed:
            return
        split = self.evaluation.split()
        labeled = project.counts.get().labeled(split)
        self._scatter_dirty = False
        if labeled < 2 and split == "dev":
            from stsstudio.core.evaluation import held_out_run

            run_id = held_out_run(project, self._refs().get("run"))
            labeled = len(project.runs.pair_ids(run_id, "dev")) if run_id is not None else labeled
        if labeled < 2:
            self.evaluation.show_nothing_to_evaluate(split)
            return
        self.evaluation.show_evaluating(labeled, split)
        self._submit("scatter", scatter_job, project, self._refs(), split)

    def _apply_scatter(self, result: dict[str, Any]) -> None:
        self.last_scatter = result
        self.evaluation.show_result(result, self.selected_run_id())
        self._submit("review", review_job, self.ctx.project)

    def _apply_review(self, result: dict[str, Any]) -> None:
        self.evaluation.set_review_ids(result["ids"])

    # ------------------------------------------------------------------------------------
    # Screenshot

    def prepare_for_screenshot(self) -> None:
        """Fill every panel synchronously (the screenshot command renders once and exits)."""
        project = self.ctx.project
        if project is None:
            return
        self._reload_runs()
        refs = self._refs()
        dev = project.pairs.labeled("dev") or project.pairs.labeled()
        if dev and not self.pair_score.has_pair():
            self.pair_score.set_sentences(dev[0].sentence1, dev[0].sentence2, quiet=True)
        if not self.search.query.text() and dev:
            self.search.set_query(dev[min(3, len(dev) - 1)].sentence1)
        try:
            pair = self.pair_score.pair()
            if pair is not None:
                self._apply_scores(score_job(project, refs, *pair))
            if self.search.query_text():
                self._apply_search(search_job(project, refs, self.search.query_text(),
                                              int(self.search.top_k.value())))
                self.search.select_first_hit()
            split = self.evaluation.split()
            if project.counts.get().labeled(split) >= 2:
                self._apply_scatter(scatter_job(project, refs, split))
            self._scatter_dirty = False
        except Exception as exc:  # noqa: BLE001 - a screenshot still shows what it can
            self.last_error = str(exc)
        self.busy_label.setText("")

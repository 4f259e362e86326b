"""The labelling view: two sentences, a 0–1 slider, the guidelines, and nothing to save.

Keyboard first. The view handles its keys in ``keyPressEvent``, so a key typed into the note
or guideline editor stays there, and it claims them in ``ShortcutOverride`` so the window's
menu shortcuts (Ctrl+Z among them) do not take them while the view has the focus.

A label is written to the project when the annotator confirms it with Enter (core commits it
before returning), then the next pair, already fetched, is shown. The queue of pairs is
:class:`~stsstudio.core.label_queue.LabelQueue`; the counts are the project's
:meth:`~stsstudio.core.store.Project.counts`, kept in step by its writes.
"""

from __future__ import annotations

import html
import re
import time

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from stsstudio.core.label_queue import RANDOM_SEED, LabelQueue, queue_order
from stsstudio.core.scales import key_range, key_scores
from stsstudio.core.store import Pair, PairCounts, Project
from stsstudio.gui.context import ProjectContext
from stsstudio.gui.guidelines_panel import GuidelinesPanel
from stsstudio.gui.label_progress import LabelProgress
from stsstudio.gui.model_guess import ModelGuess
from stsstudio.gui.queue_bar import QueueBar
from stsstudio.gui.score_panel import RUBRIC, ScorePanel
from stsstudio.gui.undo import FlagCommand, NoteCommand, SetLabelCommand
from stsstudio.gui.widgets import SHARED_WORD_BG, EmptyState, mute
from stsstudio.gui.workers import JobRunner

__all__ = ["HIGHLIGHT_MODES", "RANDOM_SEED", "RUBRIC", "AnnotateView", "different_words",
           "highlight_html", "shared_words"]

NUMBER_KEYS = {getattr(Qt.Key, f"Key_{i}"): RUBRIC[i][0] for i in range(6)}  # on 0-1 and 0-5
_HINTS = ("<b>{keys}</b> set score &nbsp;·&nbsp; <b>←/→</b> ±0.05 &nbsp;·&nbsp; <b>Shift+←/→</b> ±0.01"
          " &nbsp;·&nbsp; <b>Enter</b> save &amp; next &nbsp;·&nbsp; <b>Backspace</b> back"
          " &nbsp;·&nbsp; <b>S</b> skip &nbsp;·&nbsp; <b>F</b> flag &nbsp;·&nbsp; <b>N</b> note"
          " &nbsp;·&nbsp; <b>Ctrl+Z</b> undo")


def number_keys(scale: str | None) -> dict[int, float]:
    """Qt digit key -> stored score on the project's display scale (core.scales.key_scores):
    on 1-5 key 1 is a 1 (stored 0), key 5 a 5."""
    return {getattr(Qt.Key, f"Key_{k}"): v for k, v in key_scores(scale).items()}
STEP, FINE_STEP = 0.05, 0.01
PREFETCH = 40            # pairs fetched ahead in one query
ASYNC_COUNT_ROWS = 50_000  # from this many pairs on, the first count (a full scan) leaves the GUI thread
ASYNC_RANK_ROWS = 20_000   # from this many pairs on, a model order ranks in a worker (seconds at 200k)


def _rank_queue(queue: LabelQueue) -> LabelQueue:
    """A worker's job: the first page of a model order (reads every prediction)."""
    queue.extend()
    return queue

_STOPWORDS = frozenset("""a an the and or but if of to in on at by for with from into onto over under
is are was were be been being am do does did has have had having it its this that these those
there here as so than then too very i me my we our you your he him his she her they them their
not no can could will would should may might must just also up down out off about again""".split())
_WORD = re.compile(r"\w+(?:['’]\w+)*", re.UNICODE)


def shared_words(a: str, b: str) -> set[str]:
    """Content words (case-insensitive) that both sentences contain."""
    wa = {w.casefold() for w in _WORD.findall(a)}
    wb = {w.casefold() for w in _WORD.findall(b)}
    return {w for w in wa & wb if w not in _STOPWORDS}


def different_words(a: str, b: str) -> tuple[set[str], set[str]]:
    """The words (case-insensitive) of ``a`` missing from ``b``, and of ``b`` missing from ``a``.

    Small words count too: in near-duplicates the one real difference is often a "not".
    Sentences that share fewer words than either has of its own get no marks.
    """
    wa = {w.casefold() for w in _WORD.findall(a)}
    wb = {w.casefold() for w in _WORD.findall(b)}
    only_a, only_b = wa - wb, wb - wa
    if len(wa & wb) < max(len(only_a), len(only_b)):
        return set(), set()   # mostly different: marking nearly every word would show nothing
    return only_a, only_b


# What the sentence cards highlight: (name, menu text). Differences first, the default.
HIGHLIGHT_MODES = (("differences", "Highlight differences"), ("shared", "Highlight shared words"),
                   ("none", "No highlighting"))


def highlight_html(text: str, words: set[str]) -> str:
    """``text`` as HTML with the given words on a soft background."""
    if not words:
        return html.escape(text)
    out, last = [], 0
    for m in _WORD.finditer(text):
        if m.group(0).casefold() in words:
            out.append(html.escape(text[last:m.start()]))
            out.append(f"<span style='background-color:{SHARED_WORD_BG}; font-weight:600'>"
                       f"{html.escape(m.group(0))}</span>")
            last = m.end()
    out.append(html.escape(text[last:]))
    return "".join(out)


def warm_counts(project: Project) -> PairCounts:
    """The project's counts, for a worker: the first count scans every pair (about 150 ms at a
    million), too long for the GUI thread; later ones are kept in step by the project."""
    return project.warm_counts()


FONT_SIZES = (16, 15, 14, 13, 12, 11)   # the sentence cards' sizes, largest first


class SentenceCard(QFrame):
    """One sentence, large, wrapped and selectable, on a quiet card."""

    def __init__(self, caption: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sentenceCard")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 12, 18, 16)
        layout.setSpacing(6)
        self.caption = QLabel(caption)
        self.caption.setObjectName("cardCaption")
        self.text = QLabel()
        self.text.setObjectName("sentenceText")
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setFocusPolicy(Qt.FocusPolicy.NoFocus)   # keys stay with the view
        self.text.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)
        font = QFont(self.text.font())
        font.setPointSizeF(16)
        self.text.setFont(font)
        layout.addWidget(self.caption)
        layout.addWidget(self.text)
        layout.addStretch(1)
        self._fitted: tuple | None = None   # (width, height, text) the font was fitted for
        self.setStyleSheet(_CARD_STYLE)
        # The cards share the free height, so a longer or shorter sentence never moves the
        # controls below (which would repaint the whole view on every pair).
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(self.text.fontMetrics().lineSpacing() * 2 + 48)

    def set_html(self, text: str) -> None:
        self.text.setText(text)
        self._fit_font()

    def resizeEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt override
        super().resizeEvent(event)
        self._fit_font()

    def _fit_font(self) -> None:
        """The largest sentence size (16 pt down to 11) at which the whole sentence fits the
        card, so a long sentence on a small screen loses no line."""
        margins = self.layout().contentsMargins()
        width = self.width() - margins.left() - margins.right()
        height = (self.height() - margins.top() - margins.bottom()
                  - self.caption.sizeHint().height() - self.layout().spacing())
        key = (width, height, self.text.text())
        if width <= 0 or key == self._fitted:
            return
        self._fitted = key
        font = QFont(self.text.font())
        for size in FONT_SIZES:
            font.setPointSizeF(size)
            self.text.setFont(font)
            if self.text.heightForWidth(width) <= height:
                break


class NoteEdit(QLineEdit):
    """The note line: Enter saves, Escape reverts; either gives the keys back to the view."""

    committed = Signal()
    cancelled = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("noteEdit")
        self.setPlaceholderText("Add a note for this pair (N)")
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.committed.emit()
            return
        if event.key() == Qt.Key.Key_Escape:
            self.cancelled.emit()
            return
        super().keyPressEvent(event)


class AnnotateView(QWidget):
    """Label pairs one after another, keyboard first (see the module docstring)."""

    pairShown = Signal(int)      # a pair is on screen (tests and the bench wait for it)
    labelSaved = Signal(int, float)

    def __init__(self, ctx: ProjectContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._queue = LabelQueue(None)
        self.pos = 0
        self._just_counted = False
        self._confirming = False
        self._cache: dict[int, Pair] = {}
        self.current: Pair | None = None
        self.score: float | None = None          # the slider's value; None until set
        self._dirty = True                       # the queue must be rebuilt before use
        self.total = 0
        self.labeled = 0
        self.async_count_rows = ASYNC_COUNT_ROWS   # tests lower it to drive the worker path
        self.async_rank_rows = ASYNC_RANK_ROWS
        self.ranking = False                       # a model order's first page ranks in a worker
        self._ranker = JobRunner(self)
        self._ranker.finished.connect(self._on_ranked)
        self._ranker.failed.connect(self._on_rank_failed)
        self._rank_keep: int | None = None
        self._rank_open: int | None = None         # a pair opened while ranking
        self.counting = False                      # a first count runs in a worker
        self._counter = JobRunner(self)
        self._counter.finished.connect(self._on_counted)
        self._counter.failed.connect(self._on_count_failed)
        self._sitting: dict[int, float] = {}     # pairs labeled this sitting: first label's time
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

        self.queue_bar = QueueBar()
        self.queue_bar.settingsChanged.connect(self._on_queue_settings_changed)
        self.header, self.flag_badge = self.queue_bar.header, self.queue_bar.flag_badge
        self.split_combo, self.order_combo = self.queue_bar.split_combo, self.queue_bar.order_combo
        self.card1 = SentenceCard("Sentence 1")
        self.card2 = SentenceCard("Sentence 2")
        self.highlight_combo = QComboBox()
        for mode, text in HIGHLIGHT_MODES:
            self.highlight_combo.addItem(text, mode)
        self.highlight_combo.setToolTip("Which words the sentences mark: the words only one "
                                        "of them has, the words both share, or none")
        self.highlight_combo.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.highlight_combo.currentIndexChanged.connect(self._on_highlight_changed)
        self.score_panel = ScorePanel()
        self.score_panel.moved.connect(self._on_slider_moved)
        self.slider, self.ticks = self.score_panel.slider, self.score_panel.ticks
        self.score_label, self.score_state = self.score_panel.score_label, self.score_panel.score_state
        self.model_guess = ModelGuess(ctx, self.slider)   # the model's guess on the slider (issue 12)
        self.note_edit = NoteEdit()
        self.note_edit.committed.connect(self._on_note_committed)
        self.note_edit.cancelled.connect(self._on_note_cancelled)
        self.label_progress = LabelProgress()
        self.progress = self.label_progress.progress
        self.progress_label = self.label_progress.progress_label

        self.empty = EmptyState("Nothing to label", "", "Import pairs…", icon_name="label")
        self.empty.actionTriggered.connect(self._on_empty_action)
        self.pages = QStackedWidget()
        self.pages.addWidget(self._work_page())
        self.pages.addWidget(self.empty)
        self.guidelines = GuidelinesPanel(ctx)
        self.guidelines.editingDone.connect(self._on_guidelines_done)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._splitter())

        ctx.projectChanged.connect(self._on_project_changed)
        ctx.pairsChanged.connect(self._on_pairs_changed)
        ctx.pairChanged.connect(self._on_pair_changed)
        ctx.openPairRequested.connect(self.open_pair)
        ctx.predictionsChanged.connect(self._on_predictions_changed)
        ctx.openPairInOrderRequested.connect(self.use_order)
        self._on_project_changed()

    def _work_page(self) -> QWidget:
        """The labelling page: the pair, the score, the note, the key hints and the progress."""
        note_row = QHBoxLayout()
        note_label = QLabel("Note")
        mute(note_label)
        note_row.addWidget(note_label)
        note_row.addWidget(self.note_edit, 1)
        note_row.addSpacing(8)
        note_row.addWidget(self.highlight_combo)
        self.hints = QLabel(_HINTS.format(keys="0–5"))
        self.hints.setObjectName("keyHints")
        self.hints.setWordWrap(True)
        mute(self.hints)
        work = QWidget()
        wl = QVBoxLayout(work)
        wl.setContentsMargins(20, 16, 20, 14)
        wl.setSpacing(12)
        wl.addWidget(self.queue_bar)
        wl.addWidget(self.card1, 1)
        wl.addWidget(self.card2, 1)
        wl.addSpacing(2)
        wl.addWidget(self.score_panel)
        wl.addWidget(self.model_guess)
        wl.addLayout(note_row)
        wl.addWidget(self.hints)
        wl.addSpacing(4)
        wl.addWidget(self.label_progress)
        return work

    def _splitter(self) -> QSplitter:
        """The labelling pages beside the guidelines."""
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.pages)
        self.splitter.addWidget(self.guidelines)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        # Narrower, the guidelines' rubric table breaks its words ("Scor-e", "Complet-ely").
        self.guidelines.setMinimumWidth(250)
        self.splitter.setSizes([760, 300])
        return self.splitter

    def _on_guidelines_done(self) -> None:
        self.setFocus()

    # -- loading the queue -------------------------------------------------------------------

    def _apply_scale(self) -> None:
        """Keys, slider ticks and the score on the project's display scale (storage: 0..1)."""
        project = self.ctx.project
        scale = project.display_scale() if project is not None and not project.closed else None
        self.number_keys = number_keys(scale)
        self.score_panel.set_scale(scale)
        self.hints.setText(_HINTS.format(keys=key_range(scale)))

    def _on_project_changed(self) -> None:
        self._apply_scale()
        self._cache.clear()
        self._sitting.clear()
        self.current = None
        self.guidelines.load()
        self._dirty = True
        self.reload()

    def _on_pairs_changed(self) -> None:
        """Pairs were added, deleted or moved elsewhere: rebuild the queue when next seen."""
        self._apply_scale()  # the first import with scores sets the display scale
        self._cache.clear()
        self._dirty = True
        if self.isVisible():
            self.reload(keep=self.current.id if self.current else None)

    def use_order(self, _pair_id: int, order: str) -> None:
        """Switch the queue to ``order`` (Try's review list opens its pairs in the review queue)."""
        index = self.order_combo.findData(order)
        if index >= 0 and index != self.order_combo.currentIndex():
            self.order_combo.setCurrentIndex(index)   # rebuilds the queue

    def _on_predictions_changed(self, _run_id: int) -> None:
        if queue_order(self.order).needs_predictions:   # a model order re-ranks on a new set
            self._on_pairs_changed()

    def _on_queue_settings_changed(self) -> None:
        self._dirty = True
        self.reload()
        self.setFocus()

    @property
    def split(self) -> str | None:
        return self.queue_bar.split

    @property
    def order(self) -> str:
        return self.queue_bar.order

    @property
    def queue(self) -> list[int]:
        """The pair ids in labelling order, as far as read so far."""
        return self._queue.ids

    def reload(self, keep: int | None = None) -> None:
        """Rebuild the queue: unlabeled pairs first (file order or seeded shuffle), then labeled."""
        project = self.ctx.project
        self._dirty = False
        self._cache.clear()
        self.pos = 0
        if project is None or project.closed:
            self._queue = LabelQueue(None)
            self.total = self.labeled = 0
            self._show_empty()
            return
        self._queue = LabelQueue(project, self.split, self.order, annotator=self.ctx.annotator or "")
        self._ranker.cancel(quiet=True)
        self.ranking = False
        if queue_order(self.order).needs_predictions and project.pair_count() >= self.async_rank_rows:
            # Ranking reads every prediction: seconds on a large project, so not on this thread.
            self.ranking, self._rank_keep = True, keep
            self.empty.set_text("Ranking pairs…", f"{queue_order(self.order).label}: the model's "
                                "predictions are being ranked.")
            self.empty.button.setVisible(False)
            self.pages.setCurrentIndex(1)
            self._ranker.start(_rank_queue, self._queue)
            return
        self._queue.extend()
        self._queue_ready(keep)

    def _queue_ready(self, keep: int | None) -> None:
        self._recount()
        if keep is not None and keep in self._queue:
            self.pos = self.queue.index(keep)
        self._show_current()

    def _on_ranked(self, queue: LabelQueue) -> None:
        if queue is self._queue:
            self.ranking = False
            self._queue_ready(self._rank_keep)
            if self._rank_open is not None:
                pair_id, self._rank_open = self._rank_open, None
                self._go_to(pair_id)

    def _on_rank_failed(self, message: str, _details: str) -> None:
        self.ranking = False
        self._queue.problem = message
        self.current = None
        self._show_empty()

    # -- counts ---------------------------------------------------------------------------------

    def _recount(self) -> None:
        project = self.ctx.project
        if project is None or project.closed:
            self.total = self.labeled = 0
        elif project.counts_ready() or project.max_pair_id() < self.async_count_rows:
            self._take_counts(project.counts())
        else:
            # Big project, first count: a scan, in a worker; the progress keeps its last figures
            # meanwhile (COUNT(*) alone walks the smallest b-tree and is quick, so the total is exact).
            if not self.split:
                self.total = project.pair_count()
            self.counting = True
            self._counter.start(warm_counts, project)
        self._just_counted = True
        QTimer.singleShot(0, self._forget_count)
        self._update_progress()

    def _take_counts(self, counts: PairCounts | None = None) -> None:
        """Show the project's counts for the queue's split (when they need no scan)."""
        project = self.ctx.project
        if counts is None:
            if project is None or not project.counts_ready():
                return
            counts = project.counts()
        self.total, self.labeled = counts.total(self.split), counts.labeled(self.split)

    def _on_counted(self, counts: PairCounts) -> None:
        self.counting = False
        # Labels given since the worker answered are in the project's own counts.
        project = self.ctx.project
        self._take_counts(project.counts() if project is not None and project.counts_ready()
                          else counts)
        self._update_progress()
        if self.pages.currentIndex() == 1:
            self._show_empty()

    def _on_count_failed(self, _message: str, _details: str) -> None:
        self.async_count_rows = 1 << 62    # count on the GUI thread from now on
        self.counting = False
        self._recount()

    def _forget_count(self) -> None:
        self._just_counted = False

    # -- showing a pair ------------------------------------------------------------------------

    def _fetch(self, pair_id: int) -> Pair | None:
        pair = self._cache.get(pair_id)
        if pair is None and self.ctx.project is not None:
            pair = self.ctx.project.pair(pair_id)
            if pair is not None:
                self._cache[pair_id] = pair
        return pair

    def _prefetch(self) -> None:
        """Fetch the next pairs in one query so Enter never waits on the database."""
        project = self.ctx.project
        if project is None or project.closed:
            return
        if self.pos + 1 + PREFETCH >= len(self.queue):
            self._queue.extend()
        upcoming = self.queue[self.pos + 1:self.pos + 1 + PREFETCH]
        missing = [i for i in upcoming[:PREFETCH // 2] if i not in self._cache]
        if missing:
            self._cache.update(project.pairs_by_ids(upcoming))
        if len(self._cache) > 4 * PREFETCH:   # keep the cache small: drop what is behind
            keep = set(self.queue[max(0, self.pos - PREFETCH):self.pos + 1 + PREFETCH])
            self._cache = {k: v for k, v in self._cache.items() if k in keep}

    def _show_current(self, draft: float | None = None) -> None:
        while self.pos < len(self.queue):
            pair = self._fetch(self.queue[self.pos])
            if pair is not None:
                break
            del self.queue[self.pos]    # deleted meanwhile
        else:
            if self._queue.extend():
                self._show_current(draft)
                return
            self.current = None
            self._show_empty()
            return
        self.current = pair
        self.pages.setCurrentIndex(0)
        self.score = draft if draft is not None else pair.score
        self._render_sentences()
        self.note_edit.setText(pair.note)
        self._render_header()
        self._render_score()
        self.model_guess.show_pair(pair)
        self.pairShown.emit(pair.id)
        QTimer.singleShot(0, self._prefetch)

    def _show_empty(self) -> None:
        project = self.ctx.project
        if project is None:
            self.empty.set_text("No project open", "Open or create a project to start labelling.")
            self.empty.button.setVisible(False)
        elif self._queue.problem:
            self.empty.set_text("Waiting for the model's scores", self._queue.problem)
            self.empty.button.setVisible(False)
        elif self.total == 0:
            where = f" in the {self.split} split" if self.split else ""
            self.empty.set_text("Nothing to label",
                                f"There are no pairs{where} yet. Import a file of sentence pairs "
                                "to start labelling.")
            self.empty.button.setText("Import pairs…")
            self.empty.button.setVisible(True)
        else:
            self.empty.set_text("You reached the end",
                                f"{self.labeled:,} of {self.total:,} pairs are labeled. "
                                "Start over to review them again.")
            self.empty.button.setText("Start over")
            self.empty.button.setVisible(True)
        self.pages.setCurrentIndex(1)
        self._update_progress()

    def _on_empty_action(self) -> None:
        if self.ctx.project is not None and self.total > 0:
            self._dirty = True
            self.reload()
            if not self.queue:
                return
            self.pos = 0
            self._show_current()
            self.setFocus()
        else:
            self.ctx.showViewRequested.emit("import")

    def _render_sentences(self) -> None:
        pair = self.current
        if pair is None:
            return
        mode = self.highlight_combo.currentData()
        if mode == "differences":
            words1, words2 = different_words(pair.sentence1, pair.sentence2)
        elif mode == "shared":
            words1 = words2 = shared_words(pair.sentence1, pair.sentence2)
        else:
            words1 = words2 = set()
        self.card1.set_html(highlight_html(pair.sentence1, words1))
        self.card2.set_html(highlight_html(pair.sentence2, words2))

    def _on_highlight_changed(self) -> None:
        self._render_sentences()
        self.setFocus()

    def _render_header(self) -> None:
        if self.current is not None:
            labels = None
            project = self.ctx.project
            if queue_order(self.order).adjudicates and project is not None:
                # Adjudication: every annotator's latest label, next to the pair's own note.
                labels = {a: v for _p, _s, a, v in project.annotator_labels(pair_ids=[self.current.id])}
            self.queue_bar.show_pair(self.current, labels)

    def _render_score(self) -> None:
        self.score_panel.show_score(self.score, self.current.score if self.current else None)

    def _update_progress(self) -> None:
        self.label_progress.show_progress(self.total, self.labeled, self.split,
                                          sorted(self._sitting.values()))

    # -- actions ------------------------------------------------------------------------------

    def set_score(self, score: float) -> None:
        self.score = round(min(1.0, max(0.0, score)), 2)
        self._render_score()

    def nudge(self, delta: float) -> None:
        """←/→: move the score; on an unset slider the first press sets the middle, 0.50."""
        self.set_score(0.5 if self.score is None else self.score + delta)

    def _on_slider_moved(self, score: float) -> None:
        self.score = score
        self._render_score()

    def accept_guess(self) -> bool:
        """G (show-before mode only): the model's guess becomes the label, recorded as such."""
        if self.current is None or not self.model_guess.can_accept():
            return False
        self.score = round(self.model_guess.guess, 4)
        return self.confirm(accepted=True)

    def confirm(self, accepted: bool = False) -> bool:
        """Save the slider's score for the current pair and move on (Enter)."""
        pair = self.current
        project = self.ctx.project
        if pair is None or project is None:
            return False
        if self.score is None:
            self.score_state.setText("set a score first")
            return False
        annotator = self.ctx.annotator or ""
        score = self.score
        adjudicate = queue_order(self.order).adjudicates
        unchanged = pair.score is not None and abs(pair.score - score) < 1e-9 \
            and (pair.annotator or "") == annotator and not adjudicate
        if not unchanged:
            if project.readonly:
                self.ctx.statusMessage.emit("This project is open read-only; labels are not saved.")
                return False
            self._confirming = True   # we move on at once: no need to re-read this pair
            provenance = self.model_guess.provenance(score, accepted=accepted,
                                                     review=queue_order(self.order).reviews)
            try:
                self.ctx.undo_stack.push(SetLabelCommand(self.ctx, pair.id, score, annotator,
                                                         previous_score=pair.score,
                                                         adjudicate=adjudicate, provenance=provenance))
            finally:
                self._confirming = False
            self.model_guess.after_commit(provenance, score)
            if pair.score is None:
                self.labeled += 1     # until the first count is in; then the project's counts
            self._take_counts()
            self._sitting.setdefault(pair.id, time.time())   # a pair relabeled counts once
            self.labelSaved.emit(pair.id, score)
        self._update_progress()
        self.next()
        return True

    def next(self) -> None:
        if self.current is None:
            return
        self.pos += 1
        self._show_current()

    def back(self) -> None:
        if self.pos > 0:
            self.pos -= 1
            self._show_current()

    def toggle_flag(self) -> None:
        if self.current is not None and self.ctx.project is not None:
            self.ctx.undo_stack.push(FlagCommand(self.ctx, [self.current.id], not self.current.flagged))

    def edit_note(self) -> None:
        if self.current is not None:
            self.note_edit.setFocus()
            self.note_edit.selectAll()

    def _on_note_committed(self) -> None:
        pair = self.current
        if pair is not None and self.note_edit.text() != pair.note:
            self.ctx.undo_stack.push(NoteCommand(self.ctx, pair.id, self.note_edit.text()))
        self.setFocus()

    def _on_note_cancelled(self) -> None:
        self.note_edit.setText(self.current.note if self.current else "")
        self.setFocus()

    def undo(self) -> None:
        """Ctrl+Z: undo the last step; for a label, go back to that pair with its score."""
        stack = self.ctx.undo_stack
        if not stack.canUndo():
            return
        command = stack.command(stack.index() - 1)
        if isinstance(command, SetLabelCommand):
            pair_id, score = command.pair_id, command.score
            stack.undo()
            if command.previous_score is None:
                self.labeled = max(0, self.labeled - 1)
            self._take_counts()
            if command.previous_score is None:
                self._sitting.pop(pair_id, None)
            self._update_progress()
            self._go_to(pair_id, draft=score)
        else:
            stack.undo()

    def open_pair(self, pair_id: int) -> None:
        """Show one pair (a double-click in the pair table)."""
        if self._dirty:
            self.reload()
        if self.ranking:              # shown once the queue is ranked (the worker owns it now)
            self._rank_open = pair_id
            return
        self._go_to(pair_id)
        self.setFocus()

    def _go_to(self, pair_id: int, draft: float | None = None) -> None:
        self._cache.pop(pair_id, None)
        # Most jumps are a few pairs back (undo), so look behind the current position first.
        start = max(0, self.pos - 50)
        try:
            self.pos = self.queue.index(pair_id, start, min(len(self.queue), self.pos + 50))
        except ValueError:
            try:
                self.pos = self.queue.index(pair_id)
            except ValueError:
                self._queue.insert(self.pos, pair_id)
        self._show_current(draft)

    def _on_pair_changed(self, pair_id: int) -> None:
        self._cache.pop(pair_id, None)
        if self._confirming:
            return
        if self.current is not None and self.current.id == pair_id:
            fresh = self._fetch(pair_id)
            if fresh is None:
                return
            self.current = fresh
            self._render_header()
            if self.note_edit.hasFocus() is False:
                self.note_edit.setText(fresh.note)
            self._render_score()

    # -- keys -----------------------------------------------------------------------------------

    def _handles(self, event: QKeyEvent) -> bool:
        key, mods = event.key(), event.modifiers()
        ctrl = Qt.KeyboardModifier.ControlModifier
        plain = mods & ~(Qt.KeyboardModifier.KeypadModifier | Qt.KeyboardModifier.ShiftModifier) \
            == Qt.KeyboardModifier.NoModifier
        if key == Qt.Key.Key_Z and mods & ctrl and not mods & Qt.KeyboardModifier.ShiftModifier:
            return True
        if not plain:
            return False
        return key in self.number_keys or key in (
            Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Return, Qt.Key.Key_Enter,
            Qt.Key.Key_Backspace, Qt.Key.Key_S, Qt.Key.Key_F, Qt.Key.Key_N, Qt.Key.Key_G)

    def event(self, event: QEvent) -> bool:
        # Claim our keys before the window's shortcuts see them, but only when the key is
        # for the view itself (an editor with focus receives its own events first).
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent) \
                and self._handles(event) and self._owns_keys():
            event.accept()
            return True
        return super().event(event)

    def _owns_keys(self) -> bool:
        focus = self.focusWidget()
        return not isinstance(focus, (QLineEdit, QPlainTextEdit, QComboBox))

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        if self.pages.currentIndex() != 0 or not self._handles(event):
            super().keyPressEvent(event)
            return
        key = event.key()
        shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if key == Qt.Key.Key_Z:
            self.undo()
        elif key in self.number_keys and not shift:
            self.set_score(self.number_keys[key])
        elif key == Qt.Key.Key_Left:
            self.nudge(-(FINE_STEP if shift else STEP))
        elif key == Qt.Key.Key_Right:
            self.nudge(FINE_STEP if shift else STEP)
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.confirm()
        elif key == Qt.Key.Key_Backspace:
            self.back()
        elif key == Qt.Key.Key_S:
            self.next()
        elif key == Qt.Key.Key_F:
            self.toggle_flag()
        elif key == Qt.Key.Key_N:
            self.edit_note()
        elif key == Qt.Key.Key_G:
            self.accept_guess()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    # -- visibility -----------------------------------------------------------------------------

    def showEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt override
        super().showEvent(event)
        if self._dirty:
            self.reload(keep=self.current.id if self.current else None)
        elif not self._just_counted:
            self._recount()   # labels may have been given elsewhere (the CLI, another view)
        self.setFocus()

    def hideEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt override
        self.guidelines.save()
        super().hideEvent(event)


# Style sheets stay on the few widgets that need them: one on the whole view would route every
# child's paint through QStyleSheetStyle and slow the Enter -> next pair repaint.
_CARD_STYLE = """
QFrame#sentenceCard { background: palette(base); border: 1px solid #dde1e6; border-radius: 8px; }
QLabel#cardCaption { color: #6b7280; font-size: 8.5pt; }
"""

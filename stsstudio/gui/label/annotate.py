"""The labelling view: two sentences, a slider on the project's scale, the guidelines, and nothing
to save.

Keyboard first. The view handles its keys in ``keyPressEvent``, so a key typed into the note
or guideline editor stays there, and it claims them in ``ShortcutOverride`` so the window's
menu shortcuts (Ctrl+Z among them) do not take them while the view has the focus.

A label is written to the project when the annotator confirms it with Enter (core commits it
before returning), then the next pair, already fetched, is shown.

**The pair on screen is the user's.** A key press, the slider and Enter act on the pair the view
displays (:attr:`AnnotateView.shown_id`), and a score typed for one pair is never saved to
another. Work that finishes in the background (scoring, calibration, new or merged pairs, a new
queue order's ranking) rebuilds what comes *next*; the pair on screen and its unsaved score
stay, and a pair the new order leaves out is kept in front of it. The queue of pairs is
:class:`~stsstudio.core.label_queue.LabelQueue`; the counts are the project's
:meth:`~stsstudio.core.store.Project.counts.get`, kept in step by its writes.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from stsstudio.core.label_queue import LabelQueue, queue_order
from stsstudio.core.scales import nudge as nudged
from stsstudio.core.scales import snap
from stsstudio.core.store import Pair
from stsstudio.gui.common.context import ProjectContext
from stsstudio.gui.common.undo import FlagCommand, NoteCommand, SetLabelCommand
from stsstudio.gui.label.guidelines_panel import GuidelinesPanel
from stsstudio.gui.label.label_counts import LabelCounts
from stsstudio.gui.label.label_empty import LabelEmptyPage
from stsstudio.gui.label.label_keys import handles, hints, key_action, number_keys
from stsstudio.gui.label.label_layout import key_hints, label_splitter, work_page
from stsstudio.gui.label.label_progress import LabelProgress
from stsstudio.gui.label.model_guess import ModelGuess
from stsstudio.gui.label.pair_cards import PairCards
from stsstudio.gui.label.queue_bar import QueueBar, above_pages
from stsstudio.gui.label.queue_loader import PairCache, QueueLoader
from stsstudio.gui.label.score_panel import ScorePanel

__all__ = ["AnnotateView"]

PREFETCH = 40            # pairs fetched ahead in one query

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
        self.pos = 0
        self._confirming = False
        self._cache = PairCache()
        self.current: Pair | None = None
        self.score: float | None = None          # the slider's value; None until set
        self.shown_id: int | None = None         # the pair the cards display
        self._score_pair: int | None = None      # the pair ``score`` was given for
        self._dirty = True                       # the queue must be rebuilt before use
        self.counts = LabelCounts(self)          # total and labeled pairs of the split
        self.counts.changed.connect(self._on_counted)
        self.loader = QueueLoader(self)          # the queue, ranked in a worker when big
        self.loader.ready.connect(self._queue_ready)
        self.loader.failed.connect(self._on_rank_failed)
        self._rank_open: int | None = None       # a pair opened while ranking
        self._sitting: dict[int, float] = {}     # pairs labeled this sitting: first label's time
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

        self.queue_bar = QueueBar(ctx)
        self.queue_bar.settingsChanged.connect(self._on_queue_settings_changed)
        self.header, self.flag_badge = self.queue_bar.header, self.queue_bar.flag_badge
        self.split_combo, self.order_combo = self.queue_bar.split_combo, self.queue_bar.order_combo
        self.cards = PairCards(self)
        self.cards.modeChanged.connect(self.setFocus)
        self.card1, self.card2 = self.cards.card1, self.cards.card2
        self.highlight_combo = self.cards.highlight_combo
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

        self.empty = LabelEmptyPage(ctx, self.queue_bar)   # offers scores or another order (queue)
        self.empty.actionTriggered.connect(self._on_empty_action)
        self.pages = QStackedWidget()
        self.hints = key_hints()
        self.pages.addWidget(work_page(self))
        self.pages.addWidget(self.empty)
        self.guidelines = GuidelinesPanel(ctx)
        self.guidelines.editingDone.connect(self._on_guidelines_done)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.splitter = label_splitter(above_pages(self.queue_bar, self.pages), self.guidelines)
        layout.addWidget(self.splitter)

        ctx.projectChanged.connect(self._on_project_changed)
        ctx.pairsChanged.connect(self._on_pairs_changed)
        ctx.pairChanged.connect(self._on_pair_changed)
        ctx.openPairRequested.connect(self.open_pair)
        ctx.predictionsChanged.connect(self._on_predictions_changed)
        ctx.openPairInOrderRequested.connect(self.use_order)
        self._on_project_changed()

    def _on_guidelines_done(self) -> None:
        self.setFocus()

    # -- loading the queue -------------------------------------------------------------------

    def _apply_scale(self) -> None:
        """Keys, slider ticks and the score on the project's display scale (storage: 0..1)."""
        project = self.ctx.project
        scale = project.display_scale() if project is not None and not project.closed else None
        if scale != self.score_panel.scale:
            self.guidelines.load()   # an untouched template follows the new scale (core.guidelines)
        self.number_keys = number_keys(scale)
        self.score_panel.set_scale(scale)
        self.queue_bar.scale = scale
        self.hints.setText(hints(scale))

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
    def _queue(self) -> LabelQueue:
        return self.loader.queue

    @property
    def queue(self) -> list[int]:
        """The pair ids in labelling order, as far as read so far."""
        return self.loader.queue.ids

    @property
    def ranking(self) -> bool:
        """A model order ranks a big project's predictions in a worker."""
        return self.loader.ranking

    def reload(self, keep: int | None = None) -> None:
        """Rebuild the queue: unlabeled pairs first (file order or seeded shuffle), then labeled.

        ``keep``: the pair on screen, which stays on screen with its unsaved score (a
        background rebuild); without it the new queue starts at its first pair."""
        project = self.ctx.project
        self._dirty = False
        if keep is None:
            self._cache.clear()
            self.pos = 0
        if project is None or project.closed:
            self.loader.load(None, None, "file")
            return
        self.loader.load(project, self.split, self.order, self.ctx.annotator or "", keep)
        if self.ranking and not self._keeps(keep):   # ranking a big project takes seconds
            self.pos = 0
            self.empty.show_ranking(queue_order(self.order).label)
            self.pages.setCurrentIndex(1)

    def _keeps(self, keep: int | None) -> bool:   # ``keep`` is the pair on screen
        return keep is not None and keep == self.shown_id and self.pages.currentIndex() == 0

    def _queue_ready(self, keep: int | None) -> None:
        self._recount()
        self._cache.clear()
        if self._keeps(keep):
            self._stay_on(keep)
        else:
            self.pos = self.queue.index(keep) if keep is not None and keep in self._queue else 0
            self._show_current()
        if self._rank_open is not None:
            pair_id, self._rank_open = self._rank_open, None
            self._go_to(pair_id)

    def _stay_on(self, pair_id: int) -> None:
        """The queue was rebuilt under the pair on screen: find it there, or keep it in front of
        the new order, and refresh it in place (its unsaved score stays)."""
        if pair_id in self._queue:
            self.pos = self.queue.index(pair_id)
        else:
            self.pos = 0
            self._queue.insert(0, pair_id)
        fresh = self._fetch(pair_id)
        if fresh is None:              # deleted meanwhile: the next pair takes its place
            return self._show_current()
        self.current = fresh
        self._render_header()
        self._render_score()
        QTimer.singleShot(0, self._prefetch)

    def _on_rank_failed(self, message: str) -> None:
        if self.shown_id is not None and self.pages.currentIndex() == 0:
            self.ctx.statusMessage.emit(f"The queue order could not be built: {message}")
            return   # the pair on screen stays; the old queue goes on after it
        self.current = None
        self._show_empty()

    # -- counts ---------------------------------------------------------------------------------

    @property
    def total(self) -> int:
        return self.counts.total

    @property
    def labeled(self) -> int:
        return self.counts.labeled

    def _recount(self) -> None:
        self.counts.recount(self.ctx.project, self.split)
        self._update_progress()

    def _on_counted(self) -> None:
        self._update_progress()
        if self.pages.currentIndex() == 1 and not self.ranking:
            self._show_empty()

    # -- showing a pair ------------------------------------------------------------------------

    def _fetch(self, pair_id: int) -> Pair | None:
        return self._cache.get(self.ctx.project, pair_id)

    def _prefetch(self) -> None:
        """Fetch the next pairs in one query so Enter never waits on the database."""
        project = self.ctx.project
        if project is None or project.closed:
            return
        if self.pos + 1 + PREFETCH >= len(self.queue):
            self._queue.extend()
        self._cache.prefetch(project, self.queue, self.pos, PREFETCH)

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
        self.shown_id = pair.id
        self.pages.setCurrentIndex(0)
        self.score = draft if draft is not None else pair.score
        self._score_pair = pair.id
        self.cards.show_pair(pair)
        self.note_edit.setText(pair.note)
        self._render_header()
        self._render_score()
        self.model_guess.show_pair(pair)
        self.pairShown.emit(pair.id)
        QTimer.singleShot(0, self._prefetch)

    def _show_empty(self) -> None:
        self.shown_id = None
        self.empty.show_state(has_project=self.ctx.project is not None, problem=self._queue.problem,
                              total=self.total, labeled=self.labeled, split=self.split)
        self.pages.setCurrentIndex(1)
        self._update_progress()

    def _on_empty_action(self) -> None:
        if self.empty.action != "start_over":
            self.ctx.showViewRequested.emit("import")
            return
        self._dirty = True
        self.reload()
        if self.queue:
            self.pos = 0
            self._show_current()
            self.setFocus()

    def _render_header(self) -> None:
        if self.current is not None:
            labels = None
            project = self.ctx.project
            if queue_order(self.order).adjudicates and project is not None:
                # Adjudication: every annotator's latest label, next to the pair's own note.
                labels = {a: v for _p, _s, a, v in project.labels.by_annotator(pair_ids=[self.current.id])}
            self.queue_bar.show_pair(self.current, labels)

    def _render_score(self) -> None:
        self.score_panel.show_score(self.score, self.current.score if self.current else None)

    def _update_progress(self) -> None:
        self.label_progress.show_progress(self.total, self.labeled, self.split,
                                          sorted(self._sitting.values()))

    # -- actions ------------------------------------------------------------------------------

    def set_score(self, score: float) -> None:
        # Snapped to the scale's readable steps: what is stored is the number on screen.
        self.score = snap(score, self.score_panel.scale)
        self._score_pair = self.shown_id
        self._render_score()

    def nudge(self, direction: int, fine: bool = False) -> None:
        """←/→: one step of the project's scale (Shift: one readable unit); on an unset slider
        the first press sets the middle."""
        self.set_score(nudged(self.score, direction, self.score_panel.scale, fine=fine))

    def _on_slider_moved(self, score: float) -> None:
        self.score = score
        self._score_pair = self.shown_id
        self._render_score()

    def accept_guess(self) -> bool:
        """G (show-before mode only): the model's guess becomes the label, recorded as such."""
        if self.current is None or not self.model_guess.can_accept():
            return False
        self.score, self._score_pair = round(self.model_guess.guess, 4), self.current.id
        return self.confirm(accepted=True)

    def confirm(self, accepted: bool = False) -> bool:
        """Save the slider's score for the current pair and move on (Enter)."""
        pair = self.current
        project = self.ctx.project
        if pair is None or project is None or pair.id != self.shown_id \
                or self.pages.currentIndex() != 0:
            return False   # only the pair on screen is ever labelled
        if self.score is None or self._score_pair != pair.id:
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
            self.model_guess.after_commit(provenance, score, pair)   # the pair just labelled
            if pair.score is None:
                self.counts.label_added(+1)
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
                self.counts.label_added(-1)
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

    def event(self, event: QEvent) -> bool:
        # Claim our keys before the window's shortcuts see them, but only when the key is
        # for the view itself (an editor with focus receives its own events first).
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent) \
                and handles(event, self.number_keys) \
                and not isinstance(self.focusWidget(), (QLineEdit, QPlainTextEdit, QComboBox)):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        action = key_action(event, self.number_keys) if self.pages.currentIndex() == 0 else None
        if action is None:
            super().keyPressEvent(event)
            return
        name, args = action
        getattr(self, name)(*args)
        event.accept()

    # -- visibility -----------------------------------------------------------------------------

    def showEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt override
        super().showEvent(event)
        if self._dirty:
            self.reload(keep=self.current.id if self.current else None)
        elif not self.counts.fresh:
            self._recount()   # labels may have been given elsewhere (the CLI, another view)
        self.setFocus()

    def hideEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt override
        self.guidelines.save()
        super().hideEvent(event)


# Style sheets stay on the few widgets that need them: one on the whole view would route every
# child's paint through QStyleSheetStyle and slow the Enter -> next pair repaint.

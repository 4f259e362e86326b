"""The labelling view: two sentences, a 0–1 slider, the guidelines, and nothing to save.

Keyboard first. The view handles its keys in ``keyPressEvent``, so a key typed into the note
or guideline editor stays there, and it claims them in ``ShortcutOverride`` so the window's
menu shortcuts (Ctrl+Z among them) do not take them while the view has the focus.

A label is written to the project when the annotator confirms it with Enter (core commits it
before returning), then the next pair, already fetched, is shown.
"""

from __future__ import annotations

import html
import random
import re
import time

from PySide6.QtCore import QEvent, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QKeyEvent, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSlider,
    QSplitter,
    QStackedWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from stsstudio.core.store import SPLITS, Pair, Project
from stsstudio.gui import style
from stsstudio.gui.context import ProjectContext
from stsstudio.gui.undo import FlagCommand, NoteCommand, SetLabelCommand
from stsstudio.gui.widgets import (
    ACCENT,
    FLAG_COLOR,
    MUTED_TEXT,
    SHARED_WORD_BG,
    ElidedLabel,
    EmptyState,
    mute,
)
from stsstudio.gui.workers import FunctionWorker, start_worker

# The STS 0–5 rubric on our 0–1 scale: the number keys and the slider's tick labels.
RUBRIC: list[tuple[float, str]] = [
    (0.0, "unrelated"),
    (0.2, "same topic"),
    (0.4, "some details"),
    (0.6, "roughly equivalent"),
    (0.8, "mostly equivalent"),
    (1.0, "equivalent"),
]
NUMBER_KEYS = {getattr(Qt.Key, f"Key_{i}"): RUBRIC[i][0] for i in range(6)}
STEP, FINE_STEP = 0.05, 0.01
PREFETCH = 40            # pairs fetched ahead in one query
QUEUE_CHUNK = 2000       # ids read at a time in file order
ASYNC_COUNT_ROWS = 50_000  # from this many pairs on, the labeled count (a full scan) leaves the GUI thread
RANDOM_SEED = 42

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


def count_in_thread(path: object, split: str | None, epoch: int) -> tuple[int, int, int]:
    """(epoch, total, labeled) of a split, on a read-only connection of its own (a worker's job).

    COUNT(score) scans every row: about 150 ms at a million pairs, too long for the GUI thread
    each time the view is shown.
    """
    reader = Project.open(path, readonly=True)   # type: ignore[arg-type]
    try:
        sql, params = "SELECT COUNT(*), COUNT(score) FROM pairs", ()
        if split:
            sql, params = sql + " WHERE split = ?", (split,)
        total, labeled = reader.execute(sql, params)[0]
        return epoch, int(total), int(labeled)
    finally:
        reader.close()


def _duration(seconds: float) -> str:
    minutes = int(round(seconds / 60))
    if minutes < 1:
        return "under a minute"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours < 48 else f"{hours // 24} days"


def _demote_headings(markdown: str) -> str:
    """Render headings two levels down: a side panel is no place for a page-sized title."""
    return re.sub(r"^(#{1,4})(?=\s)", lambda m: m.group(1) + "##", markdown, flags=re.MULTILINE)


class RubricTicks(QWidget):
    """The rubric under the slider: each STS step's value and meaning, aligned with the groove."""

    def __init__(self, inset: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.inset = inset          # half the slider handle: where 0 and 1 sit on the groove
        self.active: float | None = None
        f = QFont(self.font())
        f.setPointSizeF(max(7.5, f.pointSizeF() * 0.92))
        self.setFont(f)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(520, self.fontMetrics().height() * 3 + 10)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(300, self.sizeHint().height())

    def set_active(self, score: float | None) -> None:
        nearest = None if score is None else min(RUBRIC, key=lambda r: abs(r[0] - score))[0]
        if nearest != getattr(self, "_nearest", None):
            self._nearest = nearest
            self.update()
        self.active = score

    def paintEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt override
        # Twelve wrapped texts cost milliseconds per paint; the picture only changes with the
        # width and the highlighted step, so paint it once per (size, step) and blit it.
        ratio = self.devicePixelRatioF()
        key = (self.width(), self.height(), ratio, getattr(self, "_nearest", None))
        cache: dict = self.__dict__.setdefault("_pixmaps", {})
        pixmap = cache.get(key)
        if pixmap is None:
            if len(cache) > 16:
                cache.clear()
            pixmap = QPixmap(int(self.width() * ratio), int(self.height() * ratio))
            pixmap.setDevicePixelRatio(ratio)
            pixmap.fill(Qt.GlobalColor.transparent)
            self._paint_ticks(pixmap)
            cache[key] = pixmap
        painter = QPainter(self)
        painter.drawPixmap(0, 0, pixmap)
        painter.end()

    def _paint_ticks(self, device: QPixmap) -> None:
        p = QPainter(device)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setFont(self.font())
        fm = self.fontMetrics()
        span = self.width() - 2 * self.inset
        cell = span / (len(RUBRIC) - 1)
        nearest = getattr(self, "_nearest", None)
        text_color = self.palette().color(QPalette.ColorRole.WindowText)
        bold = QFont(self.font())
        bold.setWeight(QFont.Weight.DemiBold)
        for value, meaning in RUBRIC:
            x = self.inset + value * span
            on = nearest is not None and abs(value - nearest) < 1e-9
            p.setPen(ACCENT if on else QColor("#b9c0c8"))
            p.drawLine(int(x), 0, int(x), 5)
            width = cell
            left = x - width / 2
            align = Qt.AlignmentFlag.AlignHCenter
            if value == 0.0:
                left, align = max(0.0, x - 6), Qt.AlignmentFlag.AlignLeft
            elif value == 1.0:
                left, align = min(self.width() - width, x + 6 - width), Qt.AlignmentFlag.AlignRight
            p.setFont(bold)
            p.setPen(ACCENT if on else text_color)
            p.drawText(QRectF(left, 7, width, fm.height()), int(align | Qt.AlignmentFlag.AlignTop),
                       f"{value:.1f}")
            p.setFont(self.font())
            p.setPen(ACCENT if on else MUTED_TEXT)
            p.drawText(QRectF(left, 7 + fm.height(), width, fm.height() * 2 + 2),
                       int(align | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap), meaning)
        p.end()


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
        self.setStyleSheet(_CARD_STYLE)
        # The cards share the free height, so a longer or shorter sentence never moves the
        # controls below (which would repaint the whole view on every pair).
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(self.text.fontMetrics().lineSpacing() * 2 + 48)

    def set_html(self, text: str) -> None:
        self.text.setText(text)


class GuidelinesPanel(QWidget):
    """The project's guidelines: rendered Markdown, editable in place, saved as you type."""

    SAVE_DELAY_MS = 800
    saved = Signal()

    def __init__(self, ctx: ProjectContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        title = QLabel("Guidelines")
        f = QFont(title.font())
        f.setWeight(QFont.Weight.DemiBold)
        f.setPointSizeF(f.pointSizeF() * 1.1)
        title.setFont(f)
        self.edit_button = QPushButton("Edit")
        self.edit_button.setCheckable(True)
        self.edit_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.edit_button.setToolTip("Edit the guidelines; they are saved in the project as you type")
        self.edit_button.toggled.connect(self._on_edit_toggled)
        head = QHBoxLayout()
        head.addWidget(title)
        head.addStretch(1)
        head.addWidget(self.edit_button)

        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(True)
        self.browser.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.browser.setFrameShape(QFrame.Shape.NoFrame)
        self.editor = QPlainTextEdit()
        self.editor.setObjectName("guidelinesEditor")
        self.editor.setPlaceholderText("How should annotators judge similarity in this project?")
        self.editor.textChanged.connect(self._on_text_changed)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.browser)
        self.stack.addWidget(self.editor)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 14, 14, 14)
        layout.setSpacing(8)
        layout.addLayout(head)
        layout.addWidget(self.stack, 1)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(self.SAVE_DELAY_MS)
        self._timer.timeout.connect(self.save)
        self._loading = False
        self._pending = False

    def load(self) -> None:
        self.save()
        project = self.ctx.project
        text = project.guidelines if project is not None else ""
        self._loading = True
        self.editor.setPlainText(text)
        self._loading = False
        self.browser.setMarkdown(_demote_headings(text))
        self.edit_button.setEnabled(project is not None and not project.readonly)

    def _on_text_changed(self) -> None:
        if not self._loading:
            self._pending = True
            self._timer.start()

    def save(self) -> None:
        """Write pending edits to the project now (also called when the view hides)."""
        if not self._pending:
            return
        self._pending = False
        self._timer.stop()
        project = self.ctx.project
        if project is not None and not project.closed and not project.readonly:
            project.set_meta("guidelines", self.editor.toPlainText())
            self.saved.emit()

    def _on_edit_toggled(self, editing: bool) -> None:
        if editing:
            self.stack.setCurrentWidget(self.editor)
            self.edit_button.setText("Done")
            self.editor.setFocus()
        else:
            self.save()
            self.browser.setMarkdown(_demote_headings(self.editor.toPlainText()))
            self.stack.setCurrentWidget(self.browser)
            self.edit_button.setText("Edit")
            view = self.parentWidget()
            while view is not None and not isinstance(view, AnnotateView):
                view = view.parentWidget()
            if view is not None:
                view.setFocus()


class NoteEdit(QLineEdit):
    """The note line: Enter saves, Escape reverts; either gives the keys back to the view."""

    committed = Signal()
    cancelled = Signal()

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
        self.queue: list[int] = []
        self.pos = 0
        self._queued: set[int] = set()
        self._phase, self._last_id = "unlabeled", 0
        self._just_counted = False
        self._confirming = False
        self._cache: dict[int, Pair] = {}
        self.current: Pair | None = None
        self.score: float | None = None          # the slider's value; None until set
        self._dirty = True                       # the queue must be rebuilt before use
        self.total = 0
        self.labeled = 0
        self.async_count_rows = ASYNC_COUNT_ROWS   # tests lower it to drive the worker path
        self._count_epoch = 0                      # bumped by every count and label change
        self._count_started = -1                   # the epoch of the count in the worker
        self._count_restarts = 0
        self.counting = False                      # a count runs in a worker
        self._sitting: list[float] = []          # times of this sitting's confirmed labels
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

        # -- top bar: where the pair is, queue settings --------------------------------
        self.header = ElidedLabel()
        self.header.setObjectName("pairHeader")
        hf = QFont(self.header.font())
        hf.setPointSizeF(hf.pointSizeF() * 1.15)
        hf.setWeight(QFont.Weight.DemiBold)
        self.header.setFont(hf)
        self.flag_badge = QLabel("\u2691 Flagged")
        self.flag_badge.setStyleSheet(f"color: {FLAG_COLOR.name()}; font-weight: 600;")
        self.flag_badge.setVisible(False)
        self.split_combo = QComboBox()
        self.split_combo.addItem("All splits", None)
        for split in SPLITS:
            self.split_combo.addItem("No split" if split == "none" else split.capitalize(), split)
        self.split_combo.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.split_combo.setToolTip("Label only the pairs of one split")
        self.split_combo.currentIndexChanged.connect(self._on_queue_settings_changed)
        self.order_combo = QComboBox()
        self.order_combo.addItem("File order", "file")
        self.order_combo.addItem("Random order", "random")
        self.order_combo.setToolTip("Unlabeled pairs come first, in file order or shuffled "
                                    f"(seed {RANDOM_SEED}); labeled pairs follow for review")
        self.order_combo.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.order_combo.currentIndexChanged.connect(self._on_queue_settings_changed)
        top = QHBoxLayout()
        top.setSpacing(8)
        top.addWidget(self.header, 1)
        top.addWidget(self.flag_badge)
        top.addSpacing(12)
        top.addWidget(self.split_combo)
        top.addWidget(self.order_combo)

        # -- the two sentences ---------------------------------------------------------
        self.card1 = SentenceCard("Sentence 1")
        self.card2 = SentenceCard("Sentence 2")
        self.highlight_box = QCheckBox("Highlight shared words")
        self.highlight_box.setChecked(True)
        self.highlight_box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.highlight_box.toggled.connect(self._render_sentences)

        # -- the score -------------------------------------------------------------------
        self.score_label = QLabel("–")
        self.score_label.setObjectName("scoreValue")
        sf = QFont(self.score_label.font())
        sf.setPointSizeF(26)
        sf.setWeight(QFont.Weight.DemiBold)
        self.score_label.setFont(sf)
        # A fixed column: changing texts never re-lay out (and repaint) the row.
        column_width = max(QFontMetrics(sf).horizontalAdvance("0.00") + 16,
                           self.fontMetrics().horizontalAdvance("press 0–5 or ←/→") + 12)
        self.score_label.setFixedWidth(column_width)
        self.score_state = QLabel()
        self.score_state.setObjectName("scoreState")
        mute(self.score_state)
        self.score_state.setFixedWidth(column_width)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 100)
        self.slider.setSingleStep(1)
        self.slider.setPageStep(5)
        self.slider.setTickPosition(QSlider.TickPosition.NoTicks)
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)   # the view owns ←/→
        self.slider.valueChanged.connect(self._on_slider_moved)
        handle = self.style().pixelMetric(self.style().PixelMetric.PM_SliderLength, None, self.slider)
        self.ticks = RubricTicks(max(4, handle // 2))
        score_col = QVBoxLayout()
        score_col.setSpacing(0)
        score_col.addWidget(QLabel("Similarity"))
        score_col.addWidget(self.score_label)
        score_col.addWidget(self.score_state)
        score_col.addStretch(1)
        slider_col = QVBoxLayout()
        slider_col.setSpacing(4)
        slider_col.addSpacing(18)
        slider_col.addWidget(self.slider)
        slider_col.addWidget(self.ticks)
        score_row = QHBoxLayout()
        score_row.setSpacing(18)
        score_row.addLayout(score_col)
        score_row.addLayout(slider_col, 1)

        # -- note and key hints ----------------------------------------------------------
        self.note_edit = NoteEdit()
        self.note_edit.setObjectName("noteEdit")
        self.note_edit.setPlaceholderText("Add a note for this pair (N)")
        self.note_edit.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.note_edit.committed.connect(self._on_note_committed)
        self.note_edit.cancelled.connect(self._on_note_cancelled)
        note_row = QHBoxLayout()
        note_label = QLabel("Note")
        mute(note_label)
        note_row.addWidget(note_label)
        note_row.addWidget(self.note_edit, 1)
        self.hints = QLabel(
            "<b>0–5</b> set score &nbsp;·&nbsp; <b>←/→</b> ±0.05 &nbsp;·&nbsp; <b>Shift+←/→</b> ±0.01"
            " &nbsp;·&nbsp; <b>Enter</b> save &amp; next &nbsp;·&nbsp; <b>Backspace</b> back"
            " &nbsp;·&nbsp; <b>S</b> skip &nbsp;·&nbsp; <b>F</b> flag &nbsp;·&nbsp; <b>N</b> note"
            " &nbsp;·&nbsp; <b>Ctrl+Z</b> undo")
        self.hints.setObjectName("keyHints")
        self.hints.setWordWrap(True)
        mute(self.hints)

        # -- progress ----------------------------------------------------------------------
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(8)
        self.progress.setStyleSheet(_PROGRESS_STYLE)
        self.progress_label = QLabel()
        self.progress_label.setObjectName("progressText")
        mute(self.progress_label)

        work = QWidget()
        wl = QVBoxLayout(work)
        wl.setContentsMargins(20, 16, 20, 14)
        wl.setSpacing(12)
        wl.addLayout(top)
        wl.addWidget(self.card1, 1)
        wl.addWidget(self.card2, 1)
        wl.addWidget(self.highlight_box)
        wl.addSpacing(6)
        wl.addLayout(score_row)
        wl.addLayout(note_row)
        wl.addWidget(self.hints)
        wl.addSpacing(4)
        wl.addWidget(self.progress)
        wl.addWidget(self.progress_label)

        self.empty = EmptyState("Nothing to label", "", "Import pairs…", icon_name="label")
        self.empty.actionTriggered.connect(self._on_empty_action)
        self.pages = QStackedWidget()
        self.pages.addWidget(work)
        self.pages.addWidget(self.empty)

        self.guidelines = GuidelinesPanel(ctx)
        self.guidelines.setObjectName("guidelinesPanel")
        self.guidelines.setStyleSheet(_GUIDELINES_STYLE)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.pages)
        self.splitter.addWidget(self.guidelines)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([760, 300])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

        ctx.projectChanged.connect(self._on_project_changed)
        ctx.pairsChanged.connect(self._on_pairs_changed)
        ctx.pairChanged.connect(self._on_pair_changed)
        ctx.openPairRequested.connect(self.open_pair)
        self._on_project_changed()

    # -- loading the queue -------------------------------------------------------------------

    def _on_project_changed(self) -> None:
        self._cache.clear()
        self._sitting.clear()
        self.current = None
        self.guidelines.load()
        self._dirty = True
        self.reload()

    def _on_pairs_changed(self) -> None:
        """Pairs were added, deleted or moved elsewhere: rebuild the queue when next seen."""
        self._cache.clear()
        self._dirty = True
        if self.isVisible():
            self.reload(keep=self.current.id if self.current else None)

    def _on_queue_settings_changed(self) -> None:
        self._dirty = True
        self.reload()
        self.setFocus()

    @property
    def split(self) -> str | None:
        return self.split_combo.currentData()

    @property
    def order(self) -> str:
        return self.order_combo.currentData()

    def reload(self, keep: int | None = None) -> None:
        """Rebuild the queue: unlabeled pairs first (file order or seeded shuffle), then labeled."""
        project = self.ctx.project
        self._dirty = False
        self._cache.clear()
        self.queue, self.pos = [], 0
        self._queued: set[int] = set()
        self._phase, self._last_id = "unlabeled", 0
        if project is None or project.closed:
            self._phase = "done"
            self.total = self.labeled = 0
            self._show_empty()
            return
        self._extend_queue()
        self._recount()
        if keep is not None and keep in self._queued:
            self.pos = self.queue.index(keep)
        self._show_current()

    def _extend_queue(self) -> bool:
        """Append the next ids to the queue; False once every pair of the split is queued.

        In file order the ids come in chunks (keyset pagination on the primary key), so opening
        the view on a million pairs reads a few thousand ids, not all of them. A seeded shuffle
        needs the whole list, once.
        """
        project = self.ctx.project
        added = 0
        while self._phase != "done" and not added and project is not None:
            labeled = self._phase == "labeled"
            where = ["score IS NOT NULL" if labeled else "score IS NULL"]
            params: list = []
            if self.split:
                where.append("split = ?")
                params.append(self.split)
            if self.order == "random":
                ids = [r[0] for r in project.execute(
                    f"SELECT id FROM pairs WHERE {' AND '.join(where)} ORDER BY id", params)]
                random.Random(RANDOM_SEED + int(labeled)).shuffle(ids)
                exhausted = True
            else:
                where.append("id > ?")
                params.append(self._last_id)
                ids = [r[0] for r in project.execute(
                    f"SELECT id FROM pairs WHERE {' AND '.join(where)} ORDER BY id LIMIT ?",
                    [*params, QUEUE_CHUNK])]
                exhausted = len(ids) < QUEUE_CHUNK
                if ids:
                    self._last_id = ids[-1]
            fresh = [i for i in ids if i not in self._queued]
            self.queue.extend(fresh)
            self._queued.update(fresh)
            added += len(fresh)
            if exhausted:
                self._phase, self._last_id = ("labeled" if not labeled else "done"), 0
        return added > 0

    def _recount(self) -> None:
        project = self.ctx.project
        self._count_epoch += 1
        if project is None or project.closed:
            self.total = self.labeled = 0
        elif (project.scalar("SELECT MAX(id) FROM pairs") or 0) >= self.async_count_rows:
            # Big project: count in a worker; the progress keeps its last figures meanwhile
            # (COUNT(*) alone walks the smallest b-tree and is quick, so the total is exact).
            if not self.split:
                self.total = project.scalar("SELECT COUNT(*) FROM pairs") or 0
            self.counting = True
            self._count_started = self._count_epoch
            worker = FunctionWorker(count_in_thread, project.path, self.split, self._count_epoch)
            worker.finished.connect(self._on_counted)
            worker.failed.connect(self._on_count_failed)
            start_worker(worker)
        else:
            sql = "SELECT COUNT(*), COUNT(score) FROM pairs"
            params: tuple = ()
            if self.split:
                sql += " WHERE split = ?"
                params = (self.split,)
            self.total, self.labeled = project.execute(sql, params)[0]
        self._just_counted = True
        QTimer.singleShot(0, self._forget_count)
        self._update_progress()

    def _on_counted(self, result: tuple[int, int, int]) -> None:
        epoch, total, labeled = result
        if epoch != self._count_started:
            return   # a newer count is on its way
        if epoch != self._count_epoch and self._count_restarts < 3:
            # A label was given or taken back while counting (the snapshot may or may not hold
            # it): count again rather than guess.
            self._count_restarts += 1
            self._recount()
            return
        self._count_restarts = 0
        self.counting = False
        self.total, self.labeled = total, labeled
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
            self._extend_queue()
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
            if self._extend_queue():
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
        self.pairShown.emit(pair.id)
        QTimer.singleShot(0, self._prefetch)

    def _show_empty(self) -> None:
        project = self.ctx.project
        if project is None:
            self.empty.set_text("No project open", "Open or create a project to start labelling.")
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
        words = shared_words(pair.sentence1, pair.sentence2) if self.highlight_box.isChecked() else set()
        self.card1.set_html(highlight_html(pair.sentence1, words))
        self.card2.set_html(highlight_html(pair.sentence2, words))

    def _render_header(self) -> None:
        pair = self.current
        if pair is None:
            return
        parts = [f"Pair {pair.id}"]
        if pair.split != "none":
            parts.append(pair.split)
        if pair.score is None:
            parts.append("not labeled yet")
        else:
            parts.append(f"labeled {pair.score:.2f} by {pair.annotator or 'unknown'}")
        self.header.setText("  ·  ".join(parts))
        self.flag_badge.setVisible(pair.flagged)

    def _render_score(self) -> None:
        score = self.score
        self.slider.blockSignals(True)
        self.slider.setValue(50 if score is None else int(round(score * 100)))
        self.slider.blockSignals(False)
        self.ticks.set_active(score)
        saved = self.current.score if self.current is not None else None
        if score is None:
            self.score_label.setText("–")
            self.score_state.setText("press 0–5 or ←/→")
        else:
            self.score_label.setText(f"{score:.2f}")
            if saved is not None and abs(saved - score) < 1e-9:
                self.score_state.setText("saved")
            else:
                self.score_state.setText("Enter to save")

    def _update_progress(self) -> None:
        total, labeled = self.total, min(self.labeled, self.total)
        self.progress.setMaximum(max(total, 1))
        self.progress.setValue(labeled)
        if total == 0:
            self.progress_label.setText("")
            return
        where = f" in {self.split}" if self.split else ""
        parts = [f"{labeled:,} of {total:,} labeled{where} ({100 * labeled / total:.0f} %)"]
        n = len(self._sitting)
        if n >= 2:
            elapsed = max(self._sitting[-1] - self._sitting[0], 1.0)
            if elapsed >= 20:
                rate = (n - 1) / elapsed * 3600
                parts.append(f"{rate:,.0f} labels/h this sitting")
                left = total - labeled
                if left > 0 and rate > 0:
                    parts.append(f"about {_duration(left / rate * 3600)} left")
        if n and len(parts) == 1:
            parts.append(f"{n} label{'s' if n != 1 else ''} this sitting")
        self.progress_label.setText("  ·  ".join(parts))

    # -- actions ------------------------------------------------------------------------------

    def set_score(self, score: float) -> None:
        self.score = round(min(1.0, max(0.0, score)), 2)
        self._render_score()

    def nudge(self, delta: float) -> None:
        base = self.score if self.score is not None else 0.5
        self.set_score(base + delta)

    def _on_slider_moved(self, value: int) -> None:
        self.score = value / 100
        self.ticks.set_active(self.score)
        self._render_score()

    def confirm(self) -> bool:
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
        unchanged = pair.score is not None and abs(pair.score - score) < 1e-9 \
            and (pair.annotator or "") == annotator
        if not unchanged:
            if project.readonly:
                self.ctx.statusMessage.emit("This project is open read-only; labels are not saved.")
                return False
            self._confirming = True   # we move on at once: no need to re-read this pair
            try:
                self.ctx.undo_stack.push(SetLabelCommand(self.ctx, pair.id, score, annotator,
                                                         previous_score=pair.score))
            finally:
                self._confirming = False
            if pair.score is None:
                self.labeled += 1
                self._count_epoch += 1
            self._sitting.append(time.time())
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
                self._count_epoch += 1
            if self._sitting:
                self._sitting.pop()
            self._update_progress()
            self._go_to(pair_id, draft=score)
        else:
            stack.undo()

    def open_pair(self, pair_id: int) -> None:
        """Show one pair (a double-click in the pair table)."""
        if self._dirty:
            self.reload()
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
                self.queue.insert(self.pos, pair_id)
                self._queued.add(pair_id)
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
        return key in NUMBER_KEYS or key in (
            Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Return, Qt.Key.Key_Enter,
            Qt.Key.Key_Backspace, Qt.Key.Key_S, Qt.Key.Key_F, Qt.Key.Key_N)

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
        elif key in NUMBER_KEYS and not shift:
            self.set_score(NUMBER_KEYS[key])
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
_PROGRESS_STYLE = f"""
QProgressBar {{ border: none; background: {style.TRACK}; border-radius: 4px; }}
QProgressBar::chunk {{ background: {style.ACCENT}; border-radius: 4px; }}
"""
_GUIDELINES_STYLE = """
QWidget#guidelinesPanel { background: #f6f7f9; }
QTextBrowser { background: #f6f7f9; border: none; }
"""

"""The Try view's "Pair score" box: two sentences and each model's score card.

Typing schedules one score request once it pauses (debounced, 300 ms); the view runs the job.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import ExitStack
from typing import Any

from PySide6.QtCore import QSignalBlocker, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from stsstudio.gui.common import style

DEBOUNCE_MS = 300


class ScoreCard(QFrame):
    """One model's score of the pair: a name, a big number and a bar."""

    def __init__(self, title: str, color: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.StyledPanel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 8)
        layout.setSpacing(2)
        self.title = QLabel(title)
        self.title.setStyleSheet(style.text_color("hint"))
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
        track = style.color("track")
        self.bar.setStyleSheet(f"QProgressBar {{ border: none; background: {track}; border-radius: 3px; }}"
                               f"QProgressBar::chunk {{ background: {color}; border-radius: 3px; }}")
        self.guess = QLabel()                  # the calibrated guess on the project's scale
        self.guess.setObjectName("calibratedGuess")
        self.guess.setWordWrap(True)           # a rough calibration says why, in full
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


class PairScoreBox(QGroupBox):
    """Two sentence fields and the base model's and the selected run's score cards."""

    scoreRequested = Signal()   # both sentences filled and typing has paused

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Pair score", parent)
        self._debounce = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._debounce.timeout.connect(self.scoreRequested)
        grid = QGridLayout(self)
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
        self.base_card = ScoreCard("Base model", style.color("base_model"))
        self.run_card = ScoreCard("Selected run", style.series(0))
        cards.addWidget(self.base_card)
        cards.addWidget(self.run_card)
        grid.addLayout(cards, 2, 0)
        hint = QLabel("Cosine similarity of the two sentences, updated as you type.")
        hint.setStyleSheet(style.text_color("hint"))
        grid.addWidget(hint, 3, 0)
        self.cut_note = QLabel()              # a sentence longer than the model reads
        self.cut_note.setObjectName("cutNote")
        self.cut_note.setWordWrap(True)
        self.cut_note.setVisible(False)
        grid.addWidget(self.cut_note, 4, 0)

    def _cards(self) -> tuple[tuple[str, ScoreCard], ...]:
        return (("base", self.base_card), ("run", self.run_card))

    # -- the pair --------------------------------------------------------------------

    def set_sentences(self, s1: str, s2: str, *, quiet: bool = False) -> None:
        """Fill both fields; ``quiet`` schedules no score (the caller scores them itself)."""
        with ExitStack() as blockers:
            if quiet:
                blockers.enter_context(QSignalBlocker(self.sentence1))
                blockers.enter_context(QSignalBlocker(self.sentence2))
            self.sentence1.setPlainText(s1)
            self.sentence2.setPlainText(s2)

    def pair(self) -> tuple[str, str] | None:
        """Both sentences, stripped; None while either is empty."""
        s1, s2 = self.sentence1.toPlainText().strip(), self.sentence2.toPlainText().strip()
        return (s1, s2) if s1 and s2 else None

    def has_pair(self) -> bool:
        return self.pair() is not None

    def cancel_pending(self) -> None:
        """The pair is being scored now: no debounced request is still due."""
        self._debounce.stop()

    @Slot()
    def _on_text_changed(self) -> None:
        if self.has_pair():
            self._debounce.start()

    # -- the cards -------------------------------------------------------------------

    def set_run_title(self, name: str) -> None:
        self.run_card.title.setText(name)

    def show_loading(self, keys: Iterable[str]) -> None:
        """"Loading model…" on the cards of the models not loaded yet ("base", "run")."""
        keys = set(keys)
        for key, card in self._cards():
            if key in keys:
                card.set_state("Loading model…")

    def show_scores(self, result: dict[str, Any]) -> None:
        for key, card in self._cards():
            card.set_score(result.get(key))
            card.guess.setText(result.get(f"{key}_guess") or "")
        self.cut_note.setText(result.get("cut") or "")
        self.cut_note.setVisible(bool(result.get("cut")))

    def show_error(self) -> None:
        for _key, card in self._cards():
            card.set_state("error")

    def clear_run(self) -> None:
        self.run_card.set_score(None)

    def clear(self) -> None:
        for _key, card in self._cards():
            card.set_score(None)

"""The two sentences of a pair, on cards, with the words to notice marked.

What the cards mark is the annotator's choice (:data:`HIGHLIGHT_MODES`): the words only one
sentence has (the default: in near-duplicates the one real difference is often a "not"), the
words both share, or none.
"""

from __future__ import annotations

import html
import re

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QComboBox, QFrame, QLabel, QSizePolicy, QVBoxLayout, QWidget

from stsstudio.core.store import Pair
from stsstudio.gui.common import style

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
    background = style.color("shared_word_bg")
    for m in _WORD.finditer(text):
        if m.group(0).casefold() in words:
            out.append(html.escape(text[last:m.start()]))
            out.append(f"<span style='background-color:{background}; font-weight:600'>"
                       f"{html.escape(m.group(0))}</span>")
            last = m.end()
    out.append(html.escape(text[last:]))
    return "".join(out)


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
        font.setPointSizeF(style.pt(16))
        self.text.setFont(font)
        layout.addWidget(self.caption)
        layout.addWidget(self.text)
        layout.addStretch(1)
        self._fitted: tuple | None = None   # (width, height, text) the font was fitted for
        self.setStyleSheet(style.sheet(_CARD_STYLE))
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


class PairCards(QObject):
    """Sentence 1 and 2 and the highlight choice; the view places them in its layout."""

    modeChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.card1 = SentenceCard("Sentence 1")
        self.card2 = SentenceCard("Sentence 2")
        self.highlight_combo = QComboBox()
        for mode, text in HIGHLIGHT_MODES:
            self.highlight_combo.addItem(text, mode)
        self.highlight_combo.setToolTip("Which words the sentences mark: the words only one "
                                        "of them has, the words both share, or none")
        self.highlight_combo.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.highlight_combo.currentIndexChanged.connect(self._on_mode_changed)
        self.pair: Pair | None = None

    def show_pair(self, pair: Pair | None) -> None:
        """Show ``pair``'s sentences, marked as the highlight choice says."""
        self.pair = pair
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

    def _on_mode_changed(self) -> None:
        self.show_pair(self.pair)
        self.modeChanged.emit()


_CARD_STYLE = """
QFrame#sentenceCard { background: palette(base); border: 1px solid $card_border; border-radius: 8px; }
QLabel#cardCaption { color: $muted; font-size: $small_pt; }
"""

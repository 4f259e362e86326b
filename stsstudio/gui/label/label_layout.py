"""The Label view's layout: the labelling page and the splitter beside the guidelines."""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSplitter, QVBoxLayout, QWidget

from stsstudio.gui.common.widgets import mute
from stsstudio.gui.label.label_keys import hints as hint_text


class LabelWidgets(Protocol):
    """The widgets the labelling page lays out (the Label view's ``AnnotateView`` has them)."""

    note_edit: QWidget
    highlight_combo: QWidget
    card1: QWidget
    card2: QWidget
    score_panel: QWidget
    model_guess: QWidget
    hints: QWidget
    label_progress: QWidget


def key_hints() -> QLabel:
    """The line of key hints under the pair."""
    hints = QLabel(hint_text(None))
    hints.setObjectName("keyHints")
    hints.setWordWrap(True)
    mute(hints)
    return hints


def work_page(view: LabelWidgets) -> QWidget:
    """The labelling page: the pair, the score, the note, the key hints and the progress."""
    note_row = QHBoxLayout()
    note_label = QLabel("Note")
    mute(note_label)
    note_row.addWidget(note_label)
    note_row.addWidget(view.note_edit, 1)
    note_row.addSpacing(8)
    note_row.addWidget(view.highlight_combo)
    work = QWidget()
    wl = QVBoxLayout(work)
    wl.setContentsMargins(20, 16, 20, 14)
    wl.setSpacing(12)
    wl.addWidget(view.card1, 1)
    wl.addWidget(view.card2, 1)
    wl.addSpacing(2)
    wl.addWidget(view.score_panel)
    wl.addWidget(view.model_guess)
    wl.addLayout(note_row)
    wl.addWidget(view.hints)
    wl.addSpacing(4)
    wl.addWidget(view.label_progress)
    return work


def label_splitter(pages: QWidget, guidelines: QWidget) -> QSplitter:
    """The labelling pages beside the guidelines."""
    splitter = QSplitter(Qt.Orientation.Horizontal)
    splitter.addWidget(pages)
    splitter.addWidget(guidelines)
    splitter.setStretchFactor(0, 3)
    splitter.setStretchFactor(1, 1)
    splitter.setChildrenCollapsible(False)
    # Narrower, the guidelines' rubric table breaks its words ("Scor-e", "Complet-ely").
    guidelines.setMinimumWidth(250)
    splitter.setSizes([760, 300])
    return splitter

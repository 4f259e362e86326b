"""The model's guess in the Label view (issue 12): a marker on the slider, a surprise note, and
accepting the guess as the label.

By default the marker appears only once the pair has a label (after the expert commits), so it
does not anchor her; a check box shows it before, and then ``G`` accepts the guess. The guess
is the stored prediction of the current model (:func:`core.predictions.current_prediction_run`)
through that run's calibration (:func:`core.calibration.calibrated_guess`, the rule the CLI and
Try use too), on the project's display scale. After each label the guess for that pair is shown
in full, named by the pair, with a word when the calibration is rough (issue 20, point 8).
"""

from __future__ import annotations

import sys
from typing import Any

from PySide6.QtCore import QEvent, QObject, QPointF, Qt, QTimer, Slot
from PySide6.QtGui import QPainter, QPolygonF
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from stsstudio.core.calibration import Calibration, Guess, calibrated_guess
from stsstudio.core.scales import format_display
from stsstudio.gui.common import style
from stsstudio.gui.common.context import ProjectContext
from stsstudio.gui.common.widgets import mute
from stsstudio.gui.shell import settings

SURPRISE_MS = 5000


class GuessMarker(QWidget):
    """A small triangle over the slider's groove at the model's guess; never takes the mouse."""

    def __init__(self, slider: QSlider) -> None:
        super().__init__(slider)
        self.slider = slider
        self.value: float | None = None
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        slider.installEventFilter(self)
        self.setGeometry(slider.rect())
        self.hide()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if obj is self.slider and event.type() == QEvent.Type.Resize:
            self.setGeometry(self.slider.rect())
        return False

    def set_value(self, value: float | None) -> None:
        if value != self.value:
            self.value = value
            self.setVisible(value is not None)
            self.update()

    def x_of(self, value: float) -> float:
        """The x of a 0..1 value: the handle's centre travels between half a handle's width
        from each end (the same inset as the rubric ticks)."""
        style = self.slider.style()
        handle = style.pixelMetric(style.PixelMetric.PM_SliderLength, None, self.slider)
        inset = max(4, handle // 2)
        return inset + value * (self.width() - 2 * inset)

    def paintEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt override
        if self.value is None:
            return
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(style.qcolor("flag"))   # orange: not the accent of the expert's own handle
        x, h = self.x_of(self.value), self.height()
        p.drawPolygon(QPolygonF([QPointF(x - 5, 0), QPointF(x + 5, 0), QPointF(x, 7)]))
        p.drawPolygon(QPolygonF([QPointF(x - 5, h), QPointF(x + 5, h), QPointF(x, h - 7)]))
        p.end()


class ModelGuess(QWidget):
    """Under the slider: the guess for the pair on screen (or why there is none) and the
    setting; under that, once a label is committed, the model's guess for *that* pair in full,
    named by its id and first words, so the expert reads it where her eye already is."""

    def __init__(self, ctx: ProjectContext, slider: QSlider, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.marker = GuessMarker(slider)
        self.text = QLabel()
        self.text.setObjectName("modelGuess")
        mute(self.text)
        # The pair just committed: every label gets its line (a surprise in the guess colour),
        # word-wrapped so nothing is cut; it stays until the next label.
        self.surprise = QLabel()
        self.surprise.setObjectName("surpriseNote")
        self.surprise.setWordWrap(True)
        self.surprise.setTextFormat(Qt.TextFormat.PlainText)
        self.surprise.setVisible(False)
        # Short texts: the row must fit beside the slider at 1024x640 (the tooltip says the rest).
        self.before_box = QCheckBox("Show the guess first")
        self.before_box.setToolTip("Off (default): the guess appears once the pair has your label, "
                                   "so it cannot anchor you. On: it shows at once and G accepts it.")
        self.before_box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.before_box.setChecked(settings.get(settings.MODEL_GUESS_BEFORE))
        self.before_box.toggled.connect(self._on_before_toggled)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.text, 1)
        row.addWidget(self.before_box)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addLayout(row)
        column.addWidget(self.surprise)
        self.text.setWordWrap(True)
        self._surprise_timer = QTimer(self, singleShot=True, interval=SURPRISE_MS)
        self._surprise_timer.timeout.connect(self._hide_surprise)
        self.run_id: int | None = None
        self._calibration: Calibration | None = None
        self._loaded = False
        self.guess: float | None = None     # the current pair's calibrated guess (0..1)
        self.detail: Guess | None = None    # ... with its cosine and calibration
        self.pair: Any = None
        ctx.projectChanged.connect(self.refresh)
        ctx.projectChanged.connect(self._hide_surprise)
        ctx.predictionsChanged.connect(self.refresh)
        ctx.runsChanged.connect(self.refresh)

    @property
    def show_before(self) -> bool:
        return self.before_box.isChecked()

    @Slot()
    def refresh(self) -> None:
        """Re-read which model's predictions to use (a new set, a new best run, a new project)."""
        self._loaded = False
        if self.pair is not None:
            self.show_pair(self.pair)

    def _load(self) -> None:
        self._loaded = True
        self.run_id, self._calibration = None, None
        project = self.ctx.project
        if project is None or project.closed:
            return
        from stsstudio.core.predictions import current_prediction_run

        self.run_id = current_prediction_run(project)
        if self.run_id is not None:
            self._calibration = Calibration.load(project, self.run_id)

    def _guess_of(self, pair_id: int) -> Guess | None:
        project = self.ctx.project
        if self.run_id is None or project is None or project.closed:
            return None
        pred = project.predictions.get(self.run_id, [pair_id]).get(pair_id)
        if pred is None:
            return None
        return calibrated_guess(pred[0], self.run_id, self._calibration)

    def show_pair(self, pair: Any) -> None:
        """Show (or hide) the marker and the words for the pair on screen."""
        if not self._loaded:
            self._load()
        self.pair = pair
        self.detail = None if pair is None else self._guess_of(pair.id)
        self.guess = None if self.detail is None else self.detail.value
        if self.guess is None:
            self.marker.set_value(None)
            self.text.setText("" if self.run_id is not None or self.ctx.project is None
                              else "The model's guess appears once the pairs are scored.")
            self.text.setToolTip("")
            return
        visible = self.show_before or pair.score is not None
        self.marker.set_value(self.guess if visible else None)
        model = self.detail.model
        if visible:
            extra = " · G accepts it" if self.show_before and pair.score is None else ""
            rough = " (rough)" if self.detail.caveat() else ""
            self.text.setText(f"Model ({model}) guesses {self._display(self.guess)}{rough}{extra}")
        else:
            self.text.setText(f"Model's guess ({model}): shown once you score")
        self.text.setToolTip(self._caveats(pair))

    def _caveats(self, pair: Any) -> str:
        """Why the guess may mislead: a rough calibration, a sentence the model read only in part."""
        notes = [self.detail.caveat()] if self.detail is not None else []
        notes.append(self._cut(pair))
        return "\n".join(n[:1].upper() + n[1:] for n in notes if n)

    def _cut(self, pair: Any) -> str:
        """"Only the first 256 tokens ... were read" when the model is loaded here (it is once
        the pairs were scored in this session); "" otherwise: the check never loads a model."""
        project = self.ctx.project
        if pair is None or project is None or self.run_id is None or "torch" not in sys.modules:
            return ""
        from stsstudio.core.inference import cut_note, loaded_model, token_counts

        model = loaded_model(project, "base" if self.run_id == 0 else f"run:{self.run_id}")
        if model is None:
            return ""
        return cut_note(*token_counts(model, [pair.sentence1, pair.sentence2]))

    def _display(self, value: float) -> str:
        project = self.ctx.project
        return format_display(value, project.display_scale() if project is not None else None)

    def can_accept(self) -> bool:
        return self.show_before and self.guess is not None

    def provenance(self, score: float, *, accepted: bool = False, review: bool = False) -> dict[str, Any]:
        """What the label records of the model: set_label's source, model_run, guess, surprise."""
        from stsstudio.core.predictions import is_surprise

        source = "model" if accepted else ("review" if review else "")
        if self.guess is None:
            return {"source": source}
        return {"source": source, "model_run": self.run_id, "guess": round(self.guess, 4),
                "surprise": not accepted and is_surprise(score, self.guess)}

    def after_commit(self, provenance: dict[str, Any], score: float, pair: Any = None) -> None:
        """The model's guess for the pair just labelled, in full, under the slider.

        ``pair`` is the pair the label went to (default: the one this widget last showed, which
        is that pair when the view calls this before moving on).
        """
        pair = self.pair if pair is None else pair
        text = commit_note(pair, score, provenance, self.detail if pair is self.pair else None,
                           self._display, self._cut(pair))
        if not text:
            self.surprise.setVisible(False)
            return
        surprise = bool(provenance.get("surprise"))
        self.surprise.setStyleSheet(style.text_color("flag") + " font-weight: 600;" if surprise else "")
        self.surprise.setText(text)
        self.surprise.setVisible(True)
        self._surprise_timer.stop()
        if surprise:
            self.ctx.statusMessage.emit(text)

    @Slot()
    def _hide_surprise(self) -> None:
        self.surprise.setVisible(False)

    @Slot(bool)
    def _on_before_toggled(self, on: bool) -> None:
        settings.set(settings.MODEL_GUESS_BEFORE, on)
        if self.pair is not None:
            self.show_pair(self.pair)


def pair_name(pair: Any, words: int = 5) -> str:
    """``Pair 301 ("Mild cardiomegaly without effusion …")``: its id and first words."""
    first = str(getattr(pair, "sentence1", "") or "").split()
    head = " ".join(first[:words]) + (" …" if len(first) > words else "")
    return f"Pair {pair.id}" + (f" (\u201c{head}\u201d)" if head else "")


def commit_note(pair: Any, score: float, provenance: dict[str, Any], detail: Guess | None,
                display: Any, cut: str = "") -> str:
    """The line shown after a label: which pair, what the expert gave, what the model guessed,
    whether that was a surprise, and why the guess may be rough. "" without a guess."""
    if pair is None or provenance.get("guess") is None:
        return ""
    model = detail.model if detail is not None else (
        "base model" if provenance.get("model_run") == 0 else f"run {provenance.get('model_run')}")
    lead = f"{pair_name(pair)}: you gave {display(score)}, the model ({model}) guessed " \
           f"{display(provenance['guess'])}."
    if provenance.get("source") == "model":
        lead = f"{pair_name(pair)}: you accepted the model's guess, {display(score)}."
    elif provenance.get("surprise"):
        lead = "Surprise! " + lead + " Noted in the pair's history."
    notes = [n for n in ((detail.caveat() if detail is not None else ""), cut) if n]
    return " ".join([lead] + [n[:1].upper() + n[1:] + ("" if n.endswith(".") else ".") for n in notes])

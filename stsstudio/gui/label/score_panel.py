"""The score row of the labelling view: the value, its state, the slider and the rubric, all on
the project's scale (:mod:`stsstudio.core.scales`; storage stays 0..1)."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QStyle,
    QStyleOptionSlider,
    QStylePainter,
    QVBoxLayout,
    QWidget,
)

from stsstudio.core.scales import format_score, key_range, rubric, snap
from stsstudio.gui.common import style
from stsstudio.gui.common.widgets import ACCENT, MUTED_TEXT, mute


class RubricTicks(QWidget):
    """The rubric under the slider: each STS step's value and meaning, aligned with the groove."""

    def __init__(self, inset: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.inset = inset          # half the slider handle: where 0 and 1 sit on the groove
        self.active: float | None = None
        # (stored 0..1, value as shown, meaning): core.scales.rubric of the project's scale
        self.rubric: list[tuple[float, str, str]] = rubric(None)
        f = QFont(self.font())
        f.setPointSizeF(max(7.5, f.pointSizeF() * 0.92))
        self.setFont(f)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(520, self.fontMetrics().height() * 3 + 10)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(300, self.sizeHint().height())

    def set_rubric(self, rubric: list[tuple[float, str, str]]) -> None:
        """Show the steps of the project's display scale (1-5: ticks 1 ... 5)."""
        self.rubric = list(rubric)
        self.__dict__.pop("_pixmaps", None)
        self.update()

    def set_active(self, score: float | None) -> None:
        nearest = None if score is None else min(self.rubric, key=lambda r: abs(r[0] - score))[0]
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
        cell = span / (len(self.rubric) - 1)
        nearest = getattr(self, "_nearest", None)
        text_color = self.palette().color(QPalette.ColorRole.WindowText)
        bold = QFont(self.font())
        bold.setWeight(QFont.Weight.DemiBold)
        # Each meaning gets the room between its neighbours' ticks. When a word would not fit
        # (a narrow window), the meanings alternate between two lines, each with twice the room.
        staggered = any(fm.horizontalAdvance(word) > self._box(i, cell, 1)[1] - 2
                        for i, (_v, _t, meaning) in enumerate(self.rubric) for word in meaning.split())
        for i, (value, shown, meaning) in enumerate(self.rubric):
            x = self.inset + value * span
            on = nearest is not None and abs(value - nearest) < 1e-9
            p.setPen(ACCENT if on else style.qcolor("tick"))
            p.drawLine(int(x), 0, int(x), 5)
            left, width, align = self._box(i, cell, 1)
            p.setFont(bold)
            p.setPen(ACCENT if on else text_color)
            p.drawText(QRectF(left, 7, width, fm.height()), int(align | Qt.AlignmentFlag.AlignTop),
                       shown)
            p.setFont(self.font())
            p.setPen(ACCENT if on else MUTED_TEXT)
            if staggered:
                left, width, align = self._box(i, cell, 2)
                top = 7 + fm.height() * (1 + i % 2)
                text = fm.elidedText(meaning, Qt.TextElideMode.ElideRight, int(width) - 2)
                p.drawText(QRectF(left, top, width, fm.height()),
                           int(align | Qt.AlignmentFlag.AlignTop), text)
            else:
                p.drawText(QRectF(left, 7 + fm.height(), width, fm.height() * 2 + 2),
                           int(align | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap), meaning)
        p.end()

    def _box(self, i: int, cell: float, cells: int) -> tuple[float, float, Qt.AlignmentFlag]:
        """Where the i-th step's text goes: ``cells`` cells wide, centred on its tick; the ends
        run from the tick to the widget's edge."""
        x = self.inset + self.rubric[i][0] * (self.width() - 2 * self.inset)
        half = cell * cells / 2
        if i == 0:
            return 0.0, x + half, Qt.AlignmentFlag.AlignLeft
        if i == len(self.rubric) - 1:
            return x - half, self.width() - (x - half), Qt.AlignmentFlag.AlignRight
        return x - half, 2 * half, Qt.AlignmentFlag.AlignHCenter


class ScoreSlider(QSlider):
    """A 0–100 slider that can be unset: then it draws its groove without a handle, so no
    score looks chosen on a pair that has none."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.unset = True

    def set_unset(self, unset: bool) -> None:
        if unset != self.unset:
            self.unset = unset
            self.update()

    def paintEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt override
        if not self.unset:
            super().paintEvent(event)
            return
        painter = QStylePainter(self)
        opt = QStyleOptionSlider()
        self.initStyleOption(opt)
        opt.subControls = QStyle.SubControl.SC_SliderGroove
        opt.sliderPosition = opt.sliderValue = opt.minimum   # no filled part either
        painter.drawComplexControl(QStyle.ComplexControl.CC_Slider, opt)


class ScorePanel(QWidget):
    """The score being given: its value, whether it is saved, the slider and the rubric.

    The labelling view owns the keys; the slider only takes the mouse (``moved``).
    """

    moved = Signal(float)   # the slider was dragged to this score

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.scale: str | None = None  # the project's display scale; storage stays 0..1
        self.score_label = QLabel("–")
        self.score_label.setObjectName("scoreValue")
        sf = QFont(self.score_label.font())
        sf.setPointSizeF(style.pt(26))
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
        self.slider = ScoreSlider()
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
        score_row = QHBoxLayout(self)
        score_row.setContentsMargins(0, 0, 0, 0)
        score_row.setSpacing(18)
        score_row.addLayout(score_col)
        score_row.addLayout(slider_col, 1)

    def set_scale(self, scale: str | None) -> None:
        """Show scores, keys and ticks on the project's display scale (None: 0–1)."""
        self.scale = scale
        self.ticks.set_rubric(rubric(scale))

    def show_score(self, score: float | None, saved: float | None) -> None:
        """Show the slider's score and whether it is the pair's saved one."""
        self.slider.blockSignals(True)
        self.slider.setValue(50 if score is None else int(round(score * 100)))
        self.slider.blockSignals(False)
        self.slider.set_unset(score is None)
        self.ticks.set_active(score)
        if score is None:
            self.score_label.setText("–")
            self.score_state.setText(f"press {key_range(self.scale)} or ←/→")
        else:
            self.score_label.setText(format_score(score, self.scale))
            if saved is not None and abs(saved - score) < 1e-9:
                self.score_state.setText("saved")
            else:
                self.score_state.setText("Enter to save")

    def _on_slider_moved(self, value: int) -> None:
        # The slider's hundredths are finer than the scale's readable steps on 1-5 and 1-10:
        # snap, so the stored score is exactly the number on screen.
        score = snap(value / 100, self.scale)
        self.slider.set_unset(False)
        self.ticks.set_active(score)
        self.moved.emit(score)

"""Small widgets shared by the views: a score bar delegate, an elided label, an empty state."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QFont, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from stsstudio.core.scales import format_score
from stsstudio.gui.common import style

# The palette of style.py as QColors, for painting code (the table and the labelling view).
# The objects stay the same and take the scheme's values in place when the style is applied,
# so modules that imported them paint in the scheme chosen at start (light or dark).
ACCENT = style.qcolor("accent")
ACCENT_SOFT = style.qcolor("accent_soft")
TRACK = style.qcolor("track")
MUTED_TEXT = style.qcolor("muted")
FLAG_COLOR = style.qcolor("flag")
_LIVE = {"accent": ACCENT, "accent_soft": ACCENT_SOFT, "track": TRACK, "muted": MUTED_TEXT,
         "flag": FLAG_COLOR}


def _follow_scheme() -> None:
    for role, qcolor in _LIVE.items():
        qcolor.setRgba(style.qcolor(role).rgba())


style.on_scheme_applied(_follow_scheme)

SCORE_ROLE = Qt.ItemDataRole.UserRole + 1   # float | None: the score the bar shows
PAIR_ID_ROLE = Qt.ItemDataRole.UserRole + 2  # int: the pair id of a row


def icon(name: str, color: str | None = None, size: int = 24) -> QIcon:
    """An icon from the shipped SVGs (resources/icons/NAME.svg); empty if it is missing.

    The SVGs draw with ``currentColor``; ``color`` recolours them for dark/light themes.
    """
    from stsstudio.core.resources import icon_path

    try:
        path = icon_path(name)
        svg = path.read_text(encoding="utf-8")
    except (OSError, ModuleNotFoundError):
        return QIcon()
    if color:
        svg = svg.replace("currentColor", color)
    pixmap = QPixmap()
    if not pixmap.loadFromData(svg.encode("utf-8"), "SVG"):
        return QIcon(str(path))
    return QIcon(pixmap.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                               Qt.TransformationMode.SmoothTransformation))


def mute(widget: QWidget) -> QWidget:
    """Grey secondary text through the palette (style sheets would slow every repaint)."""
    pal = widget.palette()
    pal.setColor(QPalette.ColorRole.WindowText, MUTED_TEXT)
    pal.setColor(QPalette.ColorRole.Text, MUTED_TEXT)
    widget.setPalette(pal)
    return widget


def project_scale(project: Any) -> str | None:
    """The open project's display scale (None: 0-1, or no project)."""
    return project.display_scale() if project is not None and not project.closed else None


def shown_score(project: Any, score: float | None, empty: str = "–") -> str:
    """A stored 0..1 score as the person reads it on the project's scale (core's format_score)."""
    return format_score(score, project_scale(project), empty)


class ScoreBarDelegate(QStyledItemDelegate):
    """Paints a score as its number followed by a thin horizontal bar.

    The number is the model's display text (the score on the project's scale, e.g. 4.4 of
    1-5), or the 0-1 score to two decimals; the bar always shows the stored 0-1 score."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        score = index.data(SCORE_ROLE)
        opt.text = ""
        style = opt.widget.style() if opt.widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        if score is None:
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        rect = opt.rect.adjusted(8, 0, -10, 0)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        text_color = opt.palette.color(QPalette.ColorRole.HighlightedText if selected
                                       else QPalette.ColorRole.Text)
        number_width = opt.fontMetrics.horizontalAdvance("0.00") + 8
        painter.setPen(text_color)
        painter.setFont(opt.font)
        painter.drawText(QRect(rect.left(), rect.top(), number_width, rect.height()),
                         int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft),
                         index.data(Qt.ItemDataRole.DisplayRole) or f"{score:.2f}")
        bar_left = rect.left() + number_width
        bar_width = rect.right() - bar_left
        if bar_width > 8:
            bar_h = 6.0
            top = rect.center().y() - bar_h / 2 + 1
            track = QRectF(bar_left, top, bar_width, bar_h)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(style.qcolor("on_accent", 90) if selected else TRACK)
            painter.drawRoundedRect(track, 3, 3)
            fill_w = max(0.0, min(1.0, float(score))) * bar_width
            if fill_w > 0.5:
                painter.setBrush(style.qcolor("on_accent") if selected else ACCENT)
                painter.drawRoundedRect(QRectF(bar_left, top, max(fill_w, bar_h), bar_h), 3, 3)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem,
                 index: QModelIndex | QPersistentModelIndex) -> QSize:
        return QSize(110, option.fontMetrics.height() + 10)


class ElidedLabel(QLabel):
    """A one-line label that elides its text ("…") instead of growing or clipping."""

    def __init__(self, text: str = "", parent: QWidget | None = None,
                 mode: Qt.TextElideMode = Qt.TextElideMode.ElideRight) -> None:
        super().__init__(parent)
        self._full = text
        self._mode = mode
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt naming
        self._full = text
        self.setToolTip(text if text else "")
        self._update_elided()

    def fullText(self) -> str:  # noqa: N802 - Qt naming
        return self._full

    def resizeEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt override
        super().resizeEvent(event)
        self._update_elided()

    def _update_elided(self) -> None:
        width = max(10, self.contentsRect().width() - 2)  # inside any style-sheet padding
        super().setText(self.fontMetrics().elidedText(self._full, self._mode, width))

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(20, super().minimumSizeHint().height())


class EmptyState(QWidget):
    """A centred friendly message with an optional action button (no pairs, nothing to label)."""

    actionTriggered = Signal()

    def __init__(self, title: str, message: str, action: str | None = None,
                 icon_name: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        if icon_name:
            pic = QLabel()
            pic.setPixmap(icon(icon_name, style.color("icon_faint"), 56).pixmap(56, 56))
            pic.setAlignment(Qt.AlignmentFlag.AlignHCenter)
            layout.addWidget(pic)
            layout.addSpacing(8)
        self.title = QLabel(title)
        font = QFont(self.title.font())
        font.setPointSizeF(font.pointSizeF() * 1.45)
        font.setWeight(QFont.Weight.DemiBold)
        self.title.setFont(font)
        self.title.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.message = QLabel(message)
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        mute(self.message)
        self.message.setMaximumWidth(460)
        # No alignment flag on the item: a layout honours a wrapped label's heightForWidth only
        # when the label fills its cell, so the centring comes from stretches on both sides.
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.message, 100)
        row.addStretch(1)
        layout.addWidget(self.title)
        layout.addSpacing(4)
        layout.addLayout(row)
        self.button: QPushButton | None = None
        if action:
            layout.addSpacing(14)
            self.button = QPushButton(action)
            self.button.setMinimumWidth(160)
            self.button.setDefault(True)
            self.button.clicked.connect(self.actionTriggered)
            layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(3)

    def set_text(self, title: str, message: str) -> None:
        self.title.setText(title)
        self.message.setText(message)


class WrapLabel(QLabel):
    """A word-wrapped label that asks its layout for the height its text needs at its actual
    width (a form row computed it at another width and clipped the last line)."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setWordWrap(True)

    def resizeEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt override
        super().resizeEvent(event)
        self._fit()

    def setText(self, text: str) -> None:  # noqa: N802 - Qt override
        super().setText(text)
        self._fit()

    def _fit(self) -> None:
        needed = self.heightForWidth(self.width()) if self.width() > 0 else -1
        if needed > 0 and needed != self.minimumHeight():
            self.setMinimumHeight(needed)

"""Icons from the plain SVG files in resources/icons (no .qrc step), tinted to the palette.

The SVGs draw with ``currentColor``; we substitute a colour before rendering so one file
serves the normal, selected and disabled states.
"""

from __future__ import annotations

import re
from functools import lru_cache

from PySide6.QtCore import QByteArray, QRectF, QSize, Qt
from PySide6.QtGui import QIcon, QIconEngine, QImage, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

from stsstudio.core import resources
from stsstudio.gui.common import style

_FIXED_COLOR = re.compile(r'color="#[0-9a-fA-F]{3,6}"')


def _svg_text(name: str) -> str:
    return resources.icon_path(name).read_text(encoding="utf-8")


def _render(svg: str, size: int, color: str | None) -> QPixmap:
    if color is not None:
        # The shipped SVGs draw in currentColor, a few with a fixed color="..." attribute.
        svg = _FIXED_COLOR.sub(f'color="{color}"', svg.replace("currentColor", color))
    renderer = QSvgRenderer(QByteArray(svg.encode("utf-8")))
    image = QImage(size, size, QImage.Format_ARGB32_Premultiplied)
    image.fill(Qt.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.Antialiasing)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    return QPixmap.fromImage(image)


class _TintedSvgEngine(QIconEngine):
    """Renders the SVG on demand, at the size and in the colour of the requested mode.

    Rendering every size of every icon up front costs a noticeable share of start-up.
    """

    def __init__(self, svg: str, color: str | None, selected_color: str | None) -> None:
        super().__init__()
        self._svg = svg
        self._colors = {QIcon.Normal: color, QIcon.Active: color,
                        QIcon.Selected: selected_color or color,
                        QIcon.Disabled: style.color("disabled_text") if color else None}
        self._cache: dict[tuple[int, int, int], QPixmap] = {}

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:  # noqa: N802
        side = max(1, min(size.width(), size.height()))
        key = (side, int(mode.value) if hasattr(mode, "value") else int(mode), 0)
        pm = self._cache.get(key)
        if pm is None:
            pm = _render(self._svg, side, self._colors.get(mode, self._colors[QIcon.Normal]))
            self._cache[key] = pm
        return pm

    def paint(self, painter: QPainter, rect, mode: QIcon.Mode, state: QIcon.State) -> None:
        painter.drawPixmap(rect, self.pixmap(rect.size(), mode, state))

    def clone(self) -> QIconEngine:
        engine = _TintedSvgEngine(self._svg, None, None)
        engine._colors = dict(self._colors)
        return engine


@lru_cache(maxsize=128)
def icon(name: str, color: str | None = "", selected_color: str | None = None) -> QIcon:
    """The icon ``resources/icons/<name>.svg``; an empty icon when the file is missing.

    ``color`` tints it ("": the scheme's icon colour; None: the SVG's own colours).
    """
    if color == "":
        return icon(name, style.color("icon"), selected_color)
    try:
        svg = _svg_text(name)
    except (FileNotFoundError, OSError):
        return QIcon()
    return QIcon(_TintedSvgEngine(svg, color, selected_color))


@lru_cache(maxsize=1)
def app_icon() -> QIcon:
    """The application icon (the full-colour SVG, plus the shipped PNG sizes)."""
    result = QIcon()
    try:
        svg = _svg_text("stsstudio")
    except (FileNotFoundError, OSError):
        return result
    for size in (16, 24, 32, 48, 64, 128, 256):
        result.addPixmap(_render(svg, size, None))
    return result


def app_pixmap(size: int) -> QPixmap:
    """The app icon rendered crisply at ``size`` logical pixels."""
    try:
        return _render(_svg_text("stsstudio"), size, None)
    except (FileNotFoundError, OSError):
        return QPixmap(QSize(size, size))


def sidebar_icon(name: str) -> QIcon:
    return icon(name, style.color("icon"), style.color("accent_dark"))

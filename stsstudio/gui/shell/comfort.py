"""App-wide comfort, installed once on the QApplication (issue 20, points 9 and 10).

One event filter does three things for every widget, so no view or dialog has to remember them:

- **The mouse wheel changes a spin box or a combo box only when it has the keyboard focus.**
  Scrolling a form to read it must not turn "Batch size 16" into 2: an unfocused field passes
  the wheel on to its parent (the scroll area scrolls), and fields take focus by Tab or click
  only (``Qt.StrongFocus``), never by the wheel.
- **Every top-level window and dialog fits the screen's available area** when it is first
  shown (:func:`fit_rect` is the arithmetic): a 940x680 wizard on a 1024x640 screen keeps its
  buttons on screen, and the main window does not open at 1280x800 there.
- **Focus comes back after a dialog closes**: the window below is activated and its focus
  widget (the current view) gets the keyboard again, so Ctrl+W and Ctrl+1 work at once.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPointF, QRect, QSize, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QWheelEvent
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDialog,
    QMainWindow,
    QStackedWidget,
    QWidget,
)

MARGIN = 16          # kept free around a fitted window (task bars, window frames)
_FITTED = "stsstudio_fitted"


def fit_rect(window: QRect, minimum: QSize, area: QRect, margin: int = MARGIN) -> tuple[QRect, QSize]:
    """Where a window of geometry ``window`` goes on a screen whose available area is ``area``.

    The size shrinks to the area less ``margin`` on each side (never grows); the minimum size
    shrinks with it, else Qt would keep the window larger than the screen; the position moves
    the window fully inside the area. Returns the new geometry and the new minimum size.
    """
    room_w = max(1, area.width() - 2 * margin)
    room_h = max(1, area.height() - 2 * margin)
    w, h = min(window.width(), room_w), min(window.height(), room_h)
    new_min = QSize(min(minimum.width(), w), min(minimum.height(), h))
    x = min(max(window.x(), area.left() + margin), area.left() + area.width() - margin - w)
    y = min(max(window.y(), area.top() + margin), area.top() + area.height() - margin - h)
    return QRect(max(area.left(), x), max(area.top(), y), w, h), new_min


def available_area(widget: QWidget) -> QRect:
    """The available geometry of the screen the widget is on (or the primary screen)."""
    screen = widget.screen() if widget.screen() is not None else QGuiApplication.primaryScreen()
    return screen.availableGeometry()


def fit_to_screen(widget: QWidget, area: QRect | None = None) -> None:
    """Shrink and move a top-level window so it lies inside the screen's available area."""
    area = available_area(widget) if area is None else area
    frame = widget.frameGeometry()
    width, height = widget.width(), widget.height()
    extra_w, extra_h = frame.width() - width, frame.height() - height
    min_w, min_h = widget.minimumWidth(), widget.minimumHeight()
    rect, minimum = fit_rect(QRect(widget.x(), widget.y(), width + extra_w, height + extra_h),
                             QSize(min_w + extra_w, min_h + extra_h), area)
    new_w, new_h = rect.width() - extra_w, rect.height() - extra_h
    new_min_w, new_min_h = max(0, minimum.width() - extra_w), max(0, minimum.height() - extra_h)
    if (new_min_w, new_min_h) != (min_w, min_h):
        widget.setMinimumSize(new_min_w, new_min_h)
    if (new_w, new_h) != (width, height):
        widget.resize(new_w, new_h)
    if (rect.x(), rect.y()) != (widget.x(), widget.y()):
        widget.move(rect.x(), rect.y())


def keep_size(window: QWidget) -> None:
    """Leave ``window`` at the size it is given (a screenshot of an exact size): not fitted.

    Fitting a window larger than the (offscreen) screen, then closing it, has crashed a later
    garbage collection in the test suite; a screenshot asks for its size on purpose anyway."""
    window.setProperty(_FITTED, True)


def _is_app_window(widget: QWidget) -> bool:
    return widget.isWindow() and isinstance(widget, (QDialog, QMainWindow))


_WATCHED = frozenset({QEvent.Type.Wheel, QEvent.Type.Polish, QEvent.Type.Show, QEvent.Type.Hide})


class ComfortFilter(QObject):
    """The application-wide event filter described in the module docstring."""

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        kind = event.type()
        if kind not in _WATCHED:   # every event of the app passes here: leave the rest at once
            return False
        if kind == QEvent.Type.Wheel and isinstance(obj, (QAbstractSpinBox, QComboBox)):
            return self._wheel(obj, event)
        if kind == QEvent.Type.Polish and isinstance(obj, (QAbstractSpinBox, QComboBox)):
            if obj.focusPolicy() == Qt.FocusPolicy.WheelFocus:
                obj.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        elif kind == QEvent.Type.Show and isinstance(obj, QWidget) and _is_app_window(obj):
            if not obj.property(_FITTED):
                obj.setProperty(_FITTED, True)
                fit_to_screen(obj)
        elif kind == QEvent.Type.Hide and isinstance(obj, QDialog) and obj.isWindow():
            below = obj.parentWidget()
            if below is not None:
                QTimer.singleShot(0, below.window(), lambda w=below.window(): return_focus(w))
        return False

    def _wheel(self, field: QWidget, event: QWheelEvent) -> bool:
        if field.hasFocus():
            return False
        # An unfocused field: the wheel belongs to the scroll area around it. A re-sent event is
        # not propagated by Qt, so it goes straight to the nearest scroll area's viewport.
        area = field.parentWidget()
        while area is not None and not isinstance(area, QAbstractScrollArea):
            area = area.parentWidget()
        if area is not None:
            viewport = area.viewport()
            local = QPointF(viewport.mapFromGlobal(event.globalPosition().toPoint()))
            QApplication.sendEvent(viewport, QWheelEvent(
                local, event.globalPosition(), event.pixelDelta(), event.angleDelta(), event.buttons(),
                event.modifiers(), event.phase(), event.inverted(), event.source()))
        return True


def return_focus(window: QWidget) -> None:
    """Give the keyboard back to ``window`` after a dialog over it closed."""
    if not window.isVisible() or QApplication.activeModalWidget() is not None:
        return
    window.activateWindow()
    window.raise_()
    focus = window.focusWidget()
    if focus is None or not focus.isVisible():
        stack = getattr(window, "view_stack", None)   # the main window's views
        target = stack.currentWidget() if isinstance(stack, QStackedWidget) else None
        focus = target if target is not None and target.isVisible() else window
    focus.setFocus(Qt.FocusReason.ActiveWindowFocusReason)


def install(app: QApplication) -> ComfortFilter:
    """Install the filter once on ``app`` (a second call returns the same filter)."""
    existing = next((f for f in app.findChildren(ComfortFilter) if not f.property("uninstalled")), None)
    if existing is not None:
        return existing
    comfort = ComfortFilter(app)
    app.installEventFilter(comfort)
    return comfort


def uninstall(app: QApplication) -> None:
    """Remove the filter (tests that installed it on the shared test application)."""
    for existing in app.findChildren(ComfortFilter):
        if existing.property("uninstalled"):
            continue
        existing.setProperty("uninstalled", True)   # deleted at the next event loop turn
        app.removeEventFilter(existing)
        # Qt owns it (its parent is the app) and deletes it: taking it out of the app's children
        # as well (setParent(None)) handed it to Python too, and a wrapper collected after Qt's
        # deleteLater had run freed it twice (a segfault in a later test's gc.collect()).
        existing.deleteLater()

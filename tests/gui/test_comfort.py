"""App-wide comfort (issue 20, points 9 and 10): the wheel, small screens, focus after dialogs."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, QRect, QSize, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QDialog, QScrollArea

from stsstudio.gui.shell import comfort


@pytest.fixture
def comfort_app(qapp):
    """The filter as the app installs it (create_application), removed after the test."""
    comfort.install(qapp)
    yield qapp
    comfort.uninstall(qapp)


def _wheel(widget, steps: int = -3) -> None:
    """Scroll the wheel over the middle of ``widget`` (negative: towards the user)."""
    pos = QPointF(widget.rect().center())
    event = QWheelEvent(pos, QPointF(widget.mapToGlobal(pos.toPoint())), QPoint(0, 0),
                        QPoint(0, 120 * steps), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def test_the_wheel_over_an_unfocused_spin_box_in_the_train_form_changes_nothing(comfort_app, ctx,
                                                                                 qtbot) -> None:
    from stsstudio.gui.train.train_view import TrainView

    view = TrainView(ctx)
    qtbot.addWidget(view)
    view.resize(900, 420)          # short: the form scrolls
    view.show()
    qtbot.waitExposed(view)
    spin, combo = view.batch_size, view.learning_rate
    assert spin.focusPolicy() == Qt.FocusPolicy.StrongFocus   # the wheel never gives focus
    scroll = next(w for w in [spin.parentWidget()] + _ancestors(spin) if isinstance(w, QScrollArea))
    before, combo_before = spin.value(), combo.currentIndex()
    bar = scroll.verticalScrollBar()
    assert bar.maximum() > 0, "the form should scroll at this height"
    bar.setValue(0)
    view.setFocus()
    assert not spin.hasFocus()
    _wheel(spin)
    _wheel(combo)
    assert spin.value() == before and combo.currentIndex() == combo_before
    assert bar.value() > 0          # the wheel scrolled the form instead
    # Focused (by a click or Tab), the wheel changes the value as before.
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus, timeout=2000)
    _wheel(spin, steps=1)
    assert spin.value() != before


def _ancestors(widget) -> list:
    out = []
    while widget.parentWidget() is not None:
        widget = widget.parentWidget()
        out.append(widget)
    return out


def test_the_wheel_guard_is_installed_by_the_application_setup() -> None:
    import subprocess
    import sys

    code = ("from stsstudio.gui.shell.application import create_application\n"
            "from stsstudio.gui.shell.comfort import ComfortFilter\n"
            "app = create_application(['x']); print(app.findChild(ComfortFilter) is not None)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert out.stdout.strip() == "True", out.stderr


@pytest.mark.parametrize(("window", "minimum", "area", "expected", "expected_min"), [
    # The import wizard (940x680, minimum 760x560) on a 1024x640 screen: height shrinks.
    (QRect(50, 40, 940, 680), QSize(760, 560), QRect(0, 0, 1024, 640), QRect(50, 16, 940, 608),
     QSize(760, 560)),
    # The main window's first start (1280x800) on the same screen; minimum shrinks too.
    (QRect(0, 0, 1280, 800), QSize(1100, 700), QRect(0, 0, 1024, 640), QRect(16, 16, 992, 608),
     QSize(992, 608)),
    # A task bar on the left of a second screen: the window moves inside the area.
    (QRect(1900, 500, 600, 400), QSize(100, 100), QRect(1970, 30, 1024, 730),
     QRect(1986, 344, 600, 400), QSize(100, 100)),
    # Fits already: unchanged.
    (QRect(100, 100, 400, 300), QSize(10, 10), QRect(0, 0, 1920, 1080), QRect(100, 100, 400, 300),
     QSize(10, 10)),
])
def test_fit_rect_keeps_windows_inside_the_available_area(window, minimum, area, expected,
                                                          expected_min) -> None:
    rect, new_min = comfort.fit_rect(window, minimum, area)
    assert rect == expected and new_min == expected_min
    assert area.contains(rect)


def test_every_dialog_and_the_main_window_fit_the_screen_when_shown(comfort_app, ctx, qtbot) -> None:
    """The offscreen screen is 800x800: the main window (1280x800) and the import wizard
    (940x680) open inside it, buttons included."""
    from stsstudio.gui.importing.import_wizard import ImportWizard
    from stsstudio.gui.shell.main_window import MainWindow

    area = QApplication.primaryScreen().availableGeometry()
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert area.contains(window.frameGeometry()), (window.frameGeometry(), area)
    wizard = ImportWizard(ctx, window)
    qtbot.addWidget(wizard)
    wizard.open()
    qtbot.waitExposed(wizard)
    assert area.contains(wizard.frameGeometry())
    for button in wizard.findChildren(type(wizard.next_button)):
        if button.isVisible():
            top_left = button.mapToGlobal(QPoint(0, 0))
            assert area.contains(QRect(top_left, button.size())), button.text()
    wizard.reject()


def test_focus_returns_to_the_view_after_a_dialog_closes(comfort_app, demo_ctx, qtbot) -> None:
    from stsstudio.gui.shell.main_window import MainWindow

    window = MainWindow(demo_ctx)
    qtbot.addWidget(window)
    window.show()
    window.show_view("pairs")
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=3000)
    dialog = QDialog(window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog, timeout=3000)
    window.view_stack.setFocus()      # as if the view had lost track of its focus widget
    window.setFocus()
    dialog.close()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=3000)
    focus = QApplication.focusWidget()
    assert focus is not None and focus.window() is window
    # The window's shortcuts answer at once: Ctrl+3 switches the view.
    qtbot.keyClick(focus, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    assert window.current_view() != "pairs"


DARK_PROBE = """
import os
from stsstudio.gui.shell.application import create_application
from stsstudio.gui.common import style, widgets
from stsstudio.gui.common.context import ProjectContext
from stsstudio.gui.shell.main_window import MainWindow
from PySide6.QtGui import QPalette
app = create_application(["x"])
w = MainWindow(ProjectContext()); w.show(); app.processEvents()
pal = w.palette()
print(style.scheme(), pal.color(QPalette.Window).lightness(), pal.color(QPalette.WindowText).lightness(),
      widgets.ACCENT.name(), "background: " + style.color("window") in app.styleSheet())
"""


@pytest.mark.parametrize("scheme", ["dark", "light"])
def test_the_window_follows_the_colour_scheme(scheme: str) -> None:
    """A dark desktop gets a dark window (STSSTUDIO_COLOR_SCHEME stands in for the desktop's
    setting, which the offscreen platform cannot report); the painted roles follow it."""
    import os
    import subprocess
    import sys

    from stsstudio.gui.common import style

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", style.SCHEME_ENV: scheme}
    out = subprocess.run([sys.executable, "-c", DARK_PROBE], capture_output=True, text=True, timeout=120,
                         env=env)
    assert out.returncode == 0, out.stderr
    name, window, text, accent, sheet = out.stdout.split()
    dark = scheme == "dark"
    assert name == scheme and sheet == "True"
    assert (int(window) < 60) is dark and (int(text) > 180) is dark
    assert accent == style.ROLES["accent"][1 if dark else 0]


def test_every_role_has_a_light_and_a_dark_value_that_differ_in_lightness_where_it_matters() -> None:
    from PySide6.QtGui import QColor

    from stsstudio.gui.common import style

    for role, (light, dark) in style.ROLES.items():
        assert QColor(light).isValid() and QColor(dark).isValid(), role
    for role in ("window", "base", "text", "muted"):
        light, dark = (QColor(c).lightness() for c in style.ROLES[role])
        assert (light > dark) is (role != "text" and role != "muted"), role


def test_shared_sentences_alone_are_not_shown_as_a_warning(qtbot) -> None:
    """Issue 20, point 11: "Leakage: 0 pairs and 8 sentences" was orange on a 2-row import.
    Only pairs in both train and dev/test inflate a score; those stay in the warning colour."""
    from stsstudio.core.importers import ImportReport
    from stsstudio.gui.common import style
    from stsstudio.gui.importing.import_pages import SummaryPage

    page = SummaryPage()
    qtbot.addWidget(page)
    page.show_report(ImportReport(source="two.csv", rows=2, imported=2, leakage=0, leakage_sentences=8),
                     "two.csv")
    text = page.values["leakage"].text()
    assert "8 sentences" in text and style.color("warning") not in text and "color" not in text
    page.show_report(ImportReport(source="big.csv", rows=90, imported=90, leakage=3, leakage_sentences=8),
                     "big.csv")
    assert style.color("warning") in page.values["leakage"].text()


def test_the_order_box_shows_its_longest_name_in_full_at_1024x640(ctx, qtbot) -> None:
    """Issue 20, point 11: "Fill thin score bar…" was cut."""
    from PySide6.QtWidgets import QStyle, QStyleOptionComboBox

    from stsstudio.core.label_queue import QUEUE_ORDERS
    from stsstudio.gui.label.annotate import AnnotateView

    view = AnnotateView(ctx)
    qtbot.addWidget(view)
    view.resize(830, 560)
    view.show()
    qtbot.waitExposed(view)
    combo = view.order_combo
    option = QStyleOptionComboBox()
    combo.initStyleOption(option)
    text_room = combo.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, option,
                                             QStyle.SubControl.SC_ComboBoxEditField, combo).width()
    for order in QUEUE_ORDERS:
        assert combo.fontMetrics().horizontalAdvance(order.label) <= text_room, order.label


SMALL_SCREEN_PROBE = """
import json, sys
from PySide6.QtCore import QPoint, QRect
from stsstudio.gui.shell.application import create_application
from stsstudio.gui.common.context import ProjectContext
from stsstudio.gui.shell.main_window import MainWindow
from stsstudio.core.store import Project
app = create_application(["x"])
area = app.primaryScreen().availableGeometry()
ctx = ProjectContext()
ctx.set_project(Project.create(sys.argv[1]))
window = MainWindow(ctx)
window.show(); app.processEvents()
wizard = window.open_import_wizard(); app.processEvents()
buttons = [b for b in (wizard.back_button, wizard.cancel_button, wizard.next_button) if b.isVisible()]
inside = [area.contains(QRect(b.mapToGlobal(QPoint(0, 0)), b.size())) for b in buttons]
print(json.dumps({"area": [area.width(), area.height()],
                  "window": area.contains(window.frameGeometry()),
                  "wizard": area.contains(wizard.frameGeometry()),
                  "buttons": inside}))
if len(sys.argv) > 2:
    window.grab().save(sys.argv[2] + "-window.png"); wizard.grab().save(sys.argv[2] + "-wizard.png")
wizard.reject(); ctx.set_project(None)
"""


def test_first_start_on_a_1024x640_screen_fits_with_the_wizard_buttons_on_screen(tmp_path) -> None:
    """The offscreen platform takes a screen of 1024x640 (its configfile); on it the main
    window's first start (1280x800) and the import wizard (940x680) fit, buttons included."""
    import json
    import os
    import subprocess
    import sys

    config = tmp_path / "screen.json"
    config.write_text(json.dumps({"screens": [{"name": "small", "x": 0, "y": 0, "width": 1024,
                                               "height": 640, "logicalDpi": 96, "logicalBaseDpi": 96,
                                               "dpr": 1}]}))
    env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={config}",
           "STSSTUDIO_SETTINGS_DIR": str(tmp_path / "settings")}
    args = [sys.executable, "-c", SMALL_SCREEN_PROBE, str(tmp_path / "p")]
    if os.environ.get("STSSTUDIO_SHOTS"):
        args.append(os.environ["STSSTUDIO_SHOTS"])
    out = subprocess.run(args, capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["area"] == [1024, 640]
    assert got["window"] and got["wizard"] and got["buttons"] and all(got["buttons"]), got


def test_fixed_font_sizes_scale_with_the_system_font(qapp) -> None:
    """The few sizes designed at 10 pt (captions, plot titles, the big score) follow the
    system's font size instead of staying fixed."""
    from stsstudio.gui.common import style

    saved = qapp.font()
    try:
        font = qapp.font()
        font.setPointSizeF(14)
        qapp.setFont(font)
        assert style.pt(8.5) == 11.9 and style.pt(10) == 14
        assert "font-size: 11.9pt" in style.sheet("QLabel { font-size: $small_pt; }")
    finally:
        qapp.setFont(saved)

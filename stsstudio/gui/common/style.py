"""The app-wide look: Fusion, a calm palette that follows the system's colour scheme (light or
dark), one accent colour and a small stylesheet.

Fusion looks the same on every platform and offscreen (screenshots), which keeps the README
images honest. Every colour the app paints is a named role of :data:`ROLES`, with a light and a
dark value; views ask :func:`color` (a ``"#rrggbb"`` string for style sheets and HTML) or
:func:`qcolor` when they build their widgets, never a literal (``tests/test_architecture.py``
checks that no hex colour appears outside this file). The scheme is chosen once, by
:func:`apply_style`: ``STSSTUDIO_COLOR_SCHEME=dark|light`` when set (screenshots, tests), else the
desktop's scheme. The font is the system's, at its size.
"""

from __future__ import annotations

import os

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

SCHEME_ENV = "STSSTUDIO_COLOR_SCHEME"

# name: (light, dark). The light values are the app's look since its first release.
ROLES: dict[str, tuple[str, str]] = {
    "accent": ("#4c5fd5", "#8797f2"),         # indigo, matches the app icon
    "accent_dark": ("#3a4bb8", "#aab5fa"),    # accent text on accent_soft
    "accent_soft": ("#e8ebfb", "#2c3358"),    # selected sidebar item, highlights
    "accent_disabled": ("#b9c0e8", "#3b4266"),
    "on_accent": ("#ffffff", "#ffffff"),      # text on an accent background
    "accent_button": ("#4c5fd5", "#4c5fd5"),  # a primary button (white text on it)
    "accent_button_hover": ("#3a4bb8", "#5d6fe3"),
    "window": ("#f5f6f8", "#1f2127"),
    "base": ("#ffffff", "#17191e"),
    "alt_base": ("#f8f9fb", "#1c1e24"),
    "panel": ("#f6f7f9", "#1c1e24"),          # the guidelines panel
    "code_bg": ("#f4f4f4", "#262a31"),
    "button": ("#fbfbfc", "#2a2d35"),
    "border": ("#dcdfe5", "#3a3e48"),
    "card_border": ("#dde1e6", "#3a3e48"),
    "control_border": ("#c9ced6", "#4a4f5a"),
    "hover": ("#f1f3f6", "#2a2d35"),
    "text": ("#1f2430", "#e4e6eb"),
    "text_soft": ("#404040", "#c9ccd3"),      # plot labels, run details
    "muted": ("#6b7280", "#9ea5b2"),          # captions and hints
    "hint": ("#6b6b6b", "#a3a8b2"),           # hints under form fields and tables
    "faint": ("#9a9a9a", "#6f7581"),          # unavailable rows
    "placeholder": ("#9aa0ab", "#7b818c"),
    "disabled_text": ("#a0a6b0", "#6b7079"),
    "icon": ("#4b5563", "#c3c8d1"),
    "icon_soft": ("#8a929b", "#8a929b"),      # icons inside fields
    "icon_faint": ("#9aa0ab", "#6f7581"),     # large empty-state pictures
    "sidebar": ("#eef0f4", "#24272e"),
    "sidebar_text": ("#374151", "#d1d5db"),
    "sidebar_hover": ("#e3e6ec", "#2e323a"),
    "light": ("#ffffff", "#3a3e48"),
    "midlight": ("#eceef2", "#30343c"),
    "mid": ("#c9cdd5", "#4a4f5a"),
    "dark": ("#a3a9b4", "#15171b"),
    "shadow": ("#7c8391", "#0b0c0e"),
    "success": ("#2a7d46", "#62c78b"),
    "success_bg": ("#e7f4ea", "#1d3527"),
    "ok_dot": ("#2a9d5c", "#4fc081"),         # the status bar's "ready" dot
    "warning": ("#8a5a00", "#e2b04f"),        # warning text
    "warning_dot": ("#c27c0e", "#e3a13a"),
    "warning_bg": ("#fdf4e0", "#3a301b"),
    "caution": ("#8a6d1f", "#d2b45c"),        # a cancelled run
    "danger": ("#b3261e", "#f08c84"),         # errors
    "danger_soft": ("#c2410c", "#f5a078"),
    "danger_bg": ("#fbe9e7", "#42221f"),
    "danger_border": ("#f3c9b6", "#7a3a2a"),
    "action": ("#2f6fdf", "#4f86ef"),         # Start training, Export
    "action_disabled": ("#a9bde6", "#33476e"),
    "track": ("#e4e7eb", "#343843"),          # the empty part of score and progress bars
    "tick": ("#b9c0c8", "#5a606b"),           # the slider's rubric ticks
    "flag": ("#d9822b", "#f0a04b"),           # flagged pairs, the model's guess marker
    "shared_word_bg": ("#fdf1c7", "#4d4320"), # words both sentences share
    "plot_axis": ("#b0b0b0", "#6b7079"),
    "plot_baseline": ("#7a7a7a", "#9ea5b2"),
    "base_model": ("#6b6b6b", "#a3a8b2"),     # the base model's series and score card
    "series0": ("#2f6fdf", "#6d9cf2"),
    "series1": ("#e0712c", "#f0924f"),
    "series2": ("#2a9d5c", "#4fc081"),
    "series3": ("#b8459d", "#d97cc0"),
    "series4": ("#8a6d1f", "#d2b45c"),
    "series5": ("#3aa6b9", "#5cc5d6"),
    "tooltip": ("#ffffff", "#2a2d35"),
}
SERIES = ("series0", "series1", "series2", "series3", "series4", "series5")

_scheme = "light"
_hooks: list = []


def on_scheme_applied(hook) -> None:  # noqa: ANN001 - a plain callable
    """Call ``hook()`` whenever :func:`apply_style` has chosen the scheme (modules that keep
    QColor objects refresh them in place)."""
    _hooks.append(hook)


def scheme() -> str:
    """The colour scheme in use: ``"light"`` or ``"dark"``."""
    return _scheme


def is_dark() -> bool:
    return _scheme == "dark"


def set_scheme(name: str) -> None:
    """Choose the scheme the roles resolve to (:func:`apply_style` does it once at start)."""
    global _scheme
    if name not in ("light", "dark"):
        raise ValueError(f"unknown colour scheme {name!r}")
    _scheme = name


def color(role: str) -> str:
    """The ``"#rrggbb"`` of a named role in the current scheme."""
    light, dark = ROLES[role]
    return dark if _scheme == "dark" else light


def qcolor(role: str, alpha: int | None = None) -> QColor:
    c = QColor(color(role))
    if alpha is not None:
        c.setAlpha(alpha)
    return c


class SeriesColors:
    """The plot series colours as a sequence that reads the current scheme at each access
    (``PALETTE[i % len(PALETTE)]`` keeps working)."""

    def __len__(self) -> int:
        return len(SERIES)

    def __getitem__(self, index: int) -> str:
        return color(SERIES[index])


def series(index: int) -> str:
    """The colour of the index-th plot series (runs, models), cycling."""
    return color(SERIES[index % len(SERIES)])


def text_color(role: str) -> str:
    """``"color: #rrggbb;"``: a one-role style sheet for a label."""
    return f"color: {color(role)};"


BASE_PT = 10.0   # the font size the app's few fixed sizes were designed at


def pt(size: float) -> float:
    """A font size designed at the app's 10 pt, scaled to the system's font size."""
    app = QGuiApplication.instance()
    base = app.font().pointSizeF() if app is not None else BASE_PT
    return round(size * (base if base > 0 else BASE_PT) / BASE_PT, 1)


def sheet(template: str) -> str:
    """A style sheet template with ``$role`` names filled in the current scheme, and
    ``$small_pt`` (8.5 pt at a 10 pt system font) scaled to the system's font size."""
    from string import Template

    return Template(template).substitute({**{role: color(role) for role in ROLES},
                                          "small_pt": f"{pt(8.5)}pt"})


ACTION_BUTTON = """
QPushButton { background: $action; color: $on_accent; font-weight: 600; border-radius: 4px;
              padding: 4px 14px; }
QPushButton:disabled { background: $action_disabled; }
"""


def span(role: str, html_text: str) -> str:
    """Rich text in a role's colour (the text must already be HTML-escaped)."""
    return f"<span style='color:{color(role)}'>{html_text}</span>"


# The old upper-case names (``style.ACCENT``) resolve in the current scheme when read.
_LEGACY = {"ACCENT": "accent", "ACCENT_DARK": "accent_dark", "ACCENT_SOFT": "accent_soft",
           "WINDOW": "window", "BASE": "base", "ALT_BASE": "alt_base", "BORDER": "border",
           "TEXT": "text", "MUTED": "muted", "SUCCESS": "ok_dot", "WARNING": "warning_dot",
           "DANGER": "danger_soft", "SIDEBAR": "sidebar", "TRACK": "track", "FLAG": "flag",
           "SHARED_WORD_BG": "shared_word_bg"}


def __getattr__(name: str) -> str:
    if name in _LEGACY:
        return color(_LEGACY[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def system_scheme(app: QGuiApplication | None = None) -> str:
    """The desktop's scheme: the environment override, Qt's colour-scheme hint, else the
    lightness of the platform's own window colour."""
    forced = os.environ.get(SCHEME_ENV, "").strip().lower()
    if forced in ("light", "dark"):
        return forced
    app = app or QGuiApplication.instance()
    if app is None:
        return "light"
    hint = app.styleHints().colorScheme()
    if hint == Qt.ColorScheme.Dark:
        return "dark"
    if hint == Qt.ColorScheme.Light:
        return "light"
    return "dark" if app.palette().color(QPalette.ColorRole.Window).lightness() < 110 else "light"


def palette() -> QPalette:
    """The app's palette in the current scheme."""
    pal = QPalette()
    roles = {
        QPalette.Window: "window",
        QPalette.WindowText: "text",
        QPalette.Base: "base",
        QPalette.AlternateBase: "alt_base",
        QPalette.ToolTipBase: "tooltip",
        QPalette.ToolTipText: "text",
        QPalette.PlaceholderText: "placeholder",
        QPalette.Text: "text",
        QPalette.Button: "button",
        QPalette.ButtonText: "text",
        QPalette.BrightText: "on_accent",
        QPalette.Highlight: "accent",
        QPalette.HighlightedText: "on_accent",
        QPalette.Link: "accent",
        QPalette.LinkVisited: "accent_dark",
        QPalette.Light: "light",
        QPalette.Midlight: "midlight",
        QPalette.Mid: "mid",
        QPalette.Dark: "dark",
        QPalette.Shadow: "shadow",
    }
    for qt_role, role in roles.items():
        pal.setColor(qt_role, qcolor(role))
    for qt_role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        pal.setColor(QPalette.Disabled, qt_role, qcolor("disabled_text"))
    pal.setColor(QPalette.Disabled, QPalette.Highlight, qcolor("accent_disabled"))
    return pal


def stylesheet() -> str:
    """The app's style sheet in the current scheme."""
    c = {role: color(role) for role in ROLES}
    return _STYLESHEET.format(**c)


_STYLESHEET = """
QToolTip {{ color: {text}; background: {tooltip}; border: 1px solid {border}; padding: 4px; }}
QStatusBar {{ background: {window}; border-top: 1px solid {border}; color: {muted}; }}
QStatusBar::item {{ border: none; }}
QStatusBar QLabel {{ color: {muted}; padding: 0 6px; }}
QMenuBar {{ background: {window}; border-bottom: 1px solid {border}; }}
QMenuBar::item {{ padding: 4px 10px; background: transparent; }}
QMenuBar::item:selected {{ background: {accent_soft}; border-radius: 4px; }}
QMenu {{ background: {base}; border: 1px solid {border}; padding: 4px; }}
QMenu::item {{ padding: 5px 24px 5px 24px; border-radius: 4px; }}
QMenu::item:selected {{ background: {accent_soft}; color: {text}; }}
QMenu::separator {{ height: 1px; background: {border}; margin: 4px 8px; }}

QListWidget#sidebar {{
    background: {sidebar}; border: none; border-right: 1px solid {border};
    padding: 10px 8px; outline: 0;
}}
QListWidget#sidebar::item {{
    color: {sidebar_text}; padding: 9px 10px; margin: 1px 0; border-radius: 6px;
}}
QListWidget#sidebar::item:hover {{ background: {sidebar_hover}; }}
QListWidget#sidebar::item:selected {{ background: {accent_soft}; color: {accent_dark}; font-weight: 600; }}
QLabel#sidebarTitle {{ color: {text}; font-weight: 600; padding: 0 18px; }}
QLabel#sidebarSubtitle {{ color: {muted}; padding: 0 18px; }}

QWidget#welcome {{ background: {window}; }}
QLabel#welcomeTitle {{ color: {text}; }}
QLabel#welcomeTagline {{ color: {muted}; }}
QLabel#sectionTitle {{ color: {muted}; font-weight: 600; }}
QFrame#card {{ background: {base}; border: 1px solid {border}; border-radius: 10px; }}
QPushButton#welcomeAction {{
    text-align: left; padding: 10px 14px; border: 1px solid {border}; border-radius: 8px;
    background: {base}; color: {text};
}}
QPushButton#welcomeAction:hover {{ border-color: {accent}; background: {accent_soft}; }}
QPushButton#welcomeAction:focus {{ border-color: {accent}; }}
QLabel#actionTitle {{ color: {text}; background: transparent; }}
QLabel#actionSubtitle {{ color: {muted}; background: transparent; }}
QListWidget#recentList {{ border: none; background: transparent; outline: 0; }}
QListWidget#recentList::item {{ padding: 8px 10px; border-radius: 6px; color: {text}; }}
QListWidget#recentList::item:hover {{ background: {accent_soft}; }}
QListWidget#recentList::item:selected {{ background: {accent_soft}; color: {text}; }}

QPushButton#primary {{
    background: {accent_button}; color: {on_accent}; border: 1px solid {accent_button_hover};
    border-radius: 6px; padding: 6px 16px; font-weight: 600;
}}
QPushButton#primary:hover {{ background: {accent_button_hover}; }}
QPushButton#primary:disabled {{ background: {accent_disabled}; border-color: {accent_disabled}; }}

QLabel#placeholderTitle {{ color: {text}; }}
QLabel#placeholderText {{ color: {muted}; }}
QLabel#errorLabel {{
    color: {danger_soft}; background: {danger_bg}; border: 1px solid {danger_border}; border-radius: 6px;
    padding: 8px 10px;
}}
QLabel#hint {{ color: {muted}; }}
QProgressBar {{
    border: 1px solid {border}; border-radius: 5px; background: {base}; text-align: center;
    min-height: 14px;
}}
QProgressBar::chunk {{ background: {accent}; border-radius: 4px; }}
"""


def apply_style(app: QApplication) -> None:
    """Fusion, the palette of the system's colour scheme, the system's font and the stylesheet."""
    set_scheme(system_scheme(app))
    app.setStyle("Fusion")
    app.setPalette(palette())
    font = app.font()
    # The system's font size is the user's choice; only the platforms without a desktop (the
    # offscreen one of screenshots and tests reports 9 pt) get the app's readable 10 pt.
    if QGuiApplication.platformName() in ("offscreen", "minimal") and font.pointSizeF() < 10:
        font.setPointSizeF(10)
    font.setHintingPreference(QFont.PreferNoHinting)
    app.setFont(font)
    app.setStyleSheet(stylesheet())
    for hook in list(_hooks):
        hook()

"""The app-wide look: Fusion with a calm light palette, one accent colour and a small stylesheet.

Fusion looks the same on every platform and offscreen (screenshots), which keeps the README
images honest. Views use the named colours below instead of literals.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

ACCENT = "#4c5fd5"          # indigo, matches the app icon
ACCENT_DARK = "#3a4bb8"
ACCENT_SOFT = "#e8ebfb"     # selected sidebar item, highlights
WINDOW = "#f5f6f8"
BASE = "#ffffff"
ALT_BASE = "#f8f9fb"
BORDER = "#dcdfe5"
TEXT = "#1f2430"
MUTED = "#6b7280"
SUCCESS = "#2a9d5c"
WARNING = "#c27c0e"
DANGER = "#c2410c"
SIDEBAR = "#eef0f4"
TRACK = "#e4e7eb"           # the empty part of score bars and progress bars
FLAG = "#d9822b"            # flagged pairs
SHARED_WORD_BG = "#fdf1c7"  # words both sentences share


def palette() -> QPalette:
    pal = QPalette()
    colors = {
        QPalette.Window: WINDOW,
        QPalette.WindowText: TEXT,
        QPalette.Base: BASE,
        QPalette.AlternateBase: ALT_BASE,
        QPalette.ToolTipBase: "#ffffff",
        QPalette.ToolTipText: TEXT,
        QPalette.PlaceholderText: "#9aa0ab",
        QPalette.Text: TEXT,
        QPalette.Button: "#fbfbfc",
        QPalette.ButtonText: TEXT,
        QPalette.BrightText: "#ffffff",
        QPalette.Highlight: ACCENT,
        QPalette.HighlightedText: "#ffffff",
        QPalette.Link: ACCENT,
        QPalette.LinkVisited: ACCENT_DARK,
        QPalette.Light: "#ffffff",
        QPalette.Midlight: "#eceef2",
        QPalette.Mid: "#c9cdd5",
        QPalette.Dark: "#a3a9b4",
        QPalette.Shadow: "#7c8391",
    }
    for role, color in colors.items():
        pal.setColor(role, QColor(color))
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        pal.setColor(QPalette.Disabled, role, QColor("#a0a6b0"))
    pal.setColor(QPalette.Disabled, QPalette.Highlight, QColor("#b9c0e8"))
    return pal


STYLESHEET = f"""
QToolTip {{ color: {TEXT}; background: #ffffff; border: 1px solid {BORDER}; padding: 4px; }}
QStatusBar {{ background: {WINDOW}; border-top: 1px solid {BORDER}; color: {MUTED}; }}
QStatusBar::item {{ border: none; }}
QStatusBar QLabel {{ color: {MUTED}; padding: 0 6px; }}
QMenuBar {{ background: {WINDOW}; border-bottom: 1px solid {BORDER}; }}
QMenuBar::item {{ padding: 4px 10px; background: transparent; }}
QMenuBar::item:selected {{ background: {ACCENT_SOFT}; border-radius: 4px; }}
QMenu {{ background: #ffffff; border: 1px solid {BORDER}; padding: 4px; }}
QMenu::item {{ padding: 5px 24px 5px 24px; border-radius: 4px; }}
QMenu::item:selected {{ background: {ACCENT_SOFT}; color: {TEXT}; }}
QMenu::separator {{ height: 1px; background: {BORDER}; margin: 4px 8px; }}

QListWidget#sidebar {{
    background: {SIDEBAR}; border: none; border-right: 1px solid {BORDER};
    padding: 10px 8px; outline: 0;
}}
QListWidget#sidebar::item {{
    color: #374151; padding: 9px 10px; margin: 1px 0; border-radius: 6px;
}}
QListWidget#sidebar::item:hover {{ background: #e3e6ec; }}
QListWidget#sidebar::item:selected {{ background: {ACCENT_SOFT}; color: {ACCENT_DARK}; font-weight: 600; }}
QLabel#sidebarTitle {{ color: {TEXT}; font-weight: 600; padding: 0 18px; }}
QLabel#sidebarSubtitle {{ color: {MUTED}; padding: 0 18px; }}

QWidget#welcome {{ background: {WINDOW}; }}
QLabel#welcomeTitle {{ color: {TEXT}; }}
QLabel#welcomeTagline {{ color: {MUTED}; }}
QLabel#sectionTitle {{ color: {MUTED}; font-weight: 600; }}
QFrame#card {{ background: #ffffff; border: 1px solid {BORDER}; border-radius: 10px; }}
QPushButton#welcomeAction {{
    text-align: left; padding: 10px 14px; border: 1px solid {BORDER}; border-radius: 8px;
    background: #ffffff; color: {TEXT};
}}
QPushButton#welcomeAction:hover {{ border-color: {ACCENT}; background: {ACCENT_SOFT}; }}
QPushButton#welcomeAction:focus {{ border-color: {ACCENT}; }}
QLabel#actionTitle {{ color: {TEXT}; background: transparent; }}
QLabel#actionSubtitle {{ color: {MUTED}; background: transparent; }}
QListWidget#recentList {{ border: none; background: transparent; outline: 0; }}
QListWidget#recentList::item {{ padding: 8px 10px; border-radius: 6px; color: {TEXT}; }}
QListWidget#recentList::item:hover {{ background: {ACCENT_SOFT}; }}
QListWidget#recentList::item:selected {{ background: {ACCENT_SOFT}; color: {TEXT}; }}

QPushButton#primary {{
    background: {ACCENT}; color: #ffffff; border: 1px solid {ACCENT_DARK};
    border-radius: 6px; padding: 6px 16px; font-weight: 600;
}}
QPushButton#primary:hover {{ background: {ACCENT_DARK}; }}
QPushButton#primary:disabled {{ background: #b9c0e8; border-color: #b9c0e8; }}

QLabel#placeholderTitle {{ color: {TEXT}; }}
QLabel#placeholderText {{ color: {MUTED}; }}
QLabel#errorLabel {{
    color: {DANGER}; background: #fdf1ec; border: 1px solid #f3c9b6; border-radius: 6px;
    padding: 8px 10px;
}}
QLabel#hint {{ color: {MUTED}; }}
QProgressBar {{
    border: 1px solid {BORDER}; border-radius: 5px; background: #ffffff; text-align: center;
    min-height: 14px;
}}
QProgressBar::chunk {{ background: {ACCENT}; border-radius: 4px; }}
"""


def apply_style(app: QApplication) -> None:
    """Fusion, the light palette, a readable default font size and the stylesheet."""
    app.setStyle("Fusion")
    app.setPalette(palette())
    font = app.font()
    if font.pointSizeF() < 10:
        font.setPointSizeF(10)
    font.setHintingPreference(QFont.PreferNoHinting)
    app.setFont(font)
    app.setStyleSheet(STYLESHEET)

"""The workspace's sidebar: the project's name, and one entry per view in work order."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from stsstudio.gui.common import icons, style
from stsstudio.gui.common.widgets import ElidedLabel
from stsstudio.gui.shell.view_stack import VIEW_SPECS


class Sidebar(QWidget):
    """``title`` and ``subtitle`` name the project; ``views`` lists the views (data: the key)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sidebarPanel")
        self.setFixedWidth(188)
        self.setAttribute(Qt.WA_StyledBackground, True)
        self.setStyleSheet(f"QWidget#sidebarPanel {{ background: {style.SIDEBAR}; "
                           f"border-right: 1px solid {style.BORDER}; }}")
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 16, 0, 12)
        col.setSpacing(2)
        self.title = ElidedLabel()   # a long project name ends in "…", in full in the tooltip
        self.title.setObjectName("sidebarTitle")
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.08)
        self.title.setFont(font)
        self.subtitle = QLabel()
        self.subtitle.setObjectName("sidebarSubtitle")
        col.addWidget(self.title)
        col.addWidget(self.subtitle)
        col.addSpacing(8)

        self.views = QListWidget()
        self.views.setObjectName("sidebar")
        self.views.setIconSize(QSize(20, 20))
        self.views.setStyleSheet("QListWidget#sidebar { border-right: none; }")
        self.views.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.views.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        for spec in VIEW_SPECS:
            item = QListWidgetItem(icons.sidebar_icon(spec.icon), spec.title)
            item.setData(Qt.UserRole, spec.key)
            item.setSizeHint(QSize(160, 40))
            self.views.addItem(item)
        col.addWidget(self.views, 1)

    def set_project(self, name: str, path: str, readonly: bool) -> None:
        self.title.setText(name)
        self.title.setToolTip(f"{name}\n{path}")
        self.subtitle.setText("read-only" if readonly else "")
        self.subtitle.setVisible(readonly)

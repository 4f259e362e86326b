"""The welcome screen shown when no project is open: new, open, recent, demo."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from stsstudio.core.formats import in_words
from stsstudio.gui.common import icons, style
from stsstudio.gui.shell import settings

TAGLINE = "Label how similar sentence pairs are, and fine-tune an embedding model on your own labels."


def _font(widget: QWidget, scale: float, bold: bool = False) -> None:
    font = widget.font()
    font.setPointSizeF(font.pointSizeF() * scale)
    font.setBold(bold)
    widget.setFont(font)


class WelcomePage(QWidget):
    """Centred start page. Emits requests; the main window acts on them."""

    newRequested = Signal()
    openRequested = Signal()
    demoRequested = Signal()
    recentRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcome")
        self.setAttribute(Qt.WA_StyledBackground, True)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(40, 32, 40, 32)
        outer.addStretch(2)

        column = QWidget()
        column.setMaximumWidth(820)
        column.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Maximum)
        col = QVBoxLayout(column)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(28)

        col.addLayout(self._build_header())
        body = QHBoxLayout()
        body.setSpacing(24)
        body.addLayout(self._build_start_column(), 5)
        body.addLayout(self._build_recent_column(), 6)
        col.addLayout(body)

        hint = QLabel(f"Tip: drop a {in_words('pairs')} file on this window to import it.")
        hint.setObjectName("hint")
        col.addWidget(hint)

        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(column, 100)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(3)
        self.refresh()

    @staticmethod
    def _build_header() -> QHBoxLayout:
        """The logo, the name and the tagline."""
        header = QHBoxLayout()
        header.setSpacing(18)
        logo = QLabel()
        logo.setPixmap(icons.app_pixmap(72))
        logo.setFixedSize(72, 72)
        header.addWidget(logo, 0, Qt.AlignTop)
        titles = QVBoxLayout()
        titles.setSpacing(4)
        title = QLabel("STS Studio")
        title.setObjectName("welcomeTitle")
        _font(title, 2.2, bold=True)
        tagline = QLabel(TAGLINE)
        tagline.setObjectName("welcomeTagline")
        tagline.setWordWrap(True)
        _font(tagline, 1.1)
        titles.addStretch(1)
        titles.addWidget(title)
        titles.addWidget(tagline)
        titles.addStretch(1)
        header.addLayout(titles, 1)
        return header

    def _build_start_column(self) -> QVBoxLayout:
        """New, open and demo."""
        start = QVBoxLayout()
        start.setSpacing(10)
        start.addWidget(self._section("Start"))
        self.new_button = self._action("new", "New project…", "An empty project in a new folder")
        self.open_button = self._action("open", "Open project…", "A project folder on this computer")
        self.demo_button = self._action("play", "Open demo project",
                                        "258 helpdesk pairs to label and train on")
        self.new_button.clicked.connect(self.newRequested)
        self.open_button.clicked.connect(self.openRequested)
        self.demo_button.clicked.connect(self.demoRequested)
        start.addWidget(self.new_button)
        start.addLayout(self._build_template_row())
        for button in (self.open_button, self.demo_button):
            start.addWidget(button)
        start.addStretch(1)
        return start

    def _build_template_row(self) -> QHBoxLayout:
        """The guidelines a new project starts from (core.guidelines.TEMPLATES)."""
        from stsstudio.core.guidelines import DEFAULT_TEMPLATE, TEMPLATES

        row = QHBoxLayout()
        row.setContentsMargins(14, 0, 0, 0)
        label = QLabel("Guidelines to start from:")
        label.setObjectName("hint")
        self.template_combo = QComboBox()
        for t in TEMPLATES:
            self.template_combo.addItem(t.label, t.name)
            self.template_combo.setItemData(self.template_combo.count() - 1, t.help, Qt.ToolTipRole)
        self.template_combo.setCurrentIndex(self.template_combo.findData(DEFAULT_TEMPLATE))
        self.template_combo.setToolTip("A starting text with placeholders for your domain, the "
                                       "question to ask and examples; edit it in the Label view.")
        label.setBuddy(self.template_combo)
        row.addWidget(label)
        row.addWidget(self.template_combo, 1)
        return row

    def template(self) -> str:
        """The name of the guideline template chosen for the next new project."""
        return str(self.template_combo.currentData())

    def _build_recent_column(self) -> QVBoxLayout:
        """The recent projects, or a hint while there are none."""
        recent = QVBoxLayout()
        recent.setSpacing(10)
        recent.addWidget(self._section("Recent projects"))
        card = QFrame()
        card.setObjectName("card")
        card_layout = QVBoxLayout(card)
        card_layout.setContentsMargins(6, 6, 6, 6)
        self.recent_list = QListWidget()
        self.recent_list.setObjectName("recentList")
        self.recent_list.setFrameShape(QFrame.NoFrame)
        self.recent_list.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.recent_list.itemActivated.connect(self._on_recent_activated)
        self.recent_list.itemClicked.connect(self._on_recent_activated)
        self.no_recent = QLabel("No recent projects yet.\nProjects you open appear here.")
        self.no_recent.setObjectName("hint")
        self.no_recent.setAlignment(Qt.AlignCenter)
        card_layout.addWidget(self.recent_list)
        card_layout.addWidget(self.no_recent)
        card.setMinimumHeight(220)
        recent.addWidget(card, 1)
        return recent

    @staticmethod
    def _section(text: str) -> QLabel:
        label = QLabel(text.upper())
        label.setObjectName("sectionTitle")
        _font(label, 0.85, bold=True)
        return label

    def _action(self, icon_name: str, title: str, subtitle: str) -> QPushButton:
        """A large button: icon, a bold title and a muted line under it."""
        button = QPushButton()
        button.setObjectName("welcomeAction")
        button.setMinimumHeight(62)
        button.setCursor(Qt.PointingHandCursor)
        button.setAccessibleName(title.rstrip("…"))
        button.setToolTip(subtitle)
        row = QHBoxLayout(button)
        row.setContentsMargins(14, 8, 14, 8)
        row.setSpacing(12)
        pic = QLabel()
        pic.setPixmap(icons.icon(icon_name, style.ACCENT).pixmap(24, 24))
        texts = QVBoxLayout()
        texts.setSpacing(1)
        head = QLabel(title)
        head.setObjectName("actionTitle")
        _font(head, 1.05, bold=True)
        sub = QLabel(subtitle)
        sub.setObjectName("actionSubtitle")
        texts.addWidget(head)
        texts.addWidget(sub)
        row.addWidget(pic)
        row.addLayout(texts, 1)
        for label in (pic, head, sub):
            label.setAttribute(Qt.WA_TransparentForMouseEvents, True)
        return button

    def refresh(self) -> None:
        """Reload the recent-projects list from the settings."""
        self.recent_list.clear()
        paths = settings.recent_projects()
        for path in paths:
            p = Path(path)
            item = QListWidgetItem(f"{_project_name(p)}\n{_short_path(p)}")
            item.setData(Qt.UserRole, path)
            item.setToolTip(path)
            item.setIcon(icons.icon("folder", style.color("muted")))
            self.recent_list.addItem(item)
        self.recent_list.setIconSize(QSize(20, 20))
        self.recent_list.setVisible(bool(paths))
        self.no_recent.setVisible(not paths)

    @Slot(QListWidgetItem)
    def _on_recent_activated(self, item: QListWidgetItem) -> None:
        self.recentRequested.emit(item.data(Qt.UserRole))


def _project_name(path: Path) -> str:
    """The project's display name (read-only open: works while another window holds it)."""
    from stsstudio.core.errors import UserError
    from stsstudio.core.store import Project

    try:
        with Project.open(path, readonly=True) as project:
            return project.name
    except (UserError, OSError):
        return path.name


def _short_path(path: Path) -> str:
    """``~/...`` for paths under the home folder."""
    try:
        return "~/" + str(path.relative_to(Path.home()))
    except ValueError:
        return str(path)

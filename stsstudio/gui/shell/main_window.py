"""The main window: the welcome page, or a sidebar with one view per task in work order.

The views and their lazy building live in ``view_stack.py``, the sidebar in ``sidebar.py``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QEvent, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QStackedWidget,
    QWidget,
)

from stsstudio import APP_NAME, __version__
from stsstudio.core.errors import UserError
from stsstudio.core.formats import suffixes
from stsstudio.core.store import Project
from stsstudio.gui.common import icons
from stsstudio.gui.common.context import ProjectContext
from stsstudio.gui.common.workers import wait_for_workers_to_quit
from stsstudio.gui.label.prediction_scheduler import PredictionScheduler
from stsstudio.gui.shell import settings
from stsstudio.gui.shell.sidebar import Sidebar
from stsstudio.gui.shell.status_bar import StatusBar
from stsstudio.gui.shell.view_stack import (  # noqa: F401 - PlaceholderView: tests import it here
    VIEW_KEYS,
    VIEW_SPECS,
    LazyViews,
    PlaceholderView,
    ViewStack,
)
from stsstudio.gui.shell.welcome import WelcomePage

log = logging.getLogger(__name__)

IMPORTABLE_SUFFIXES = suffixes("pairs")  # dropped files the import wizard takes (core/formats.py)


class MainWindow(QMainWindow):
    """The application window on one :class:`ProjectContext`."""

    firstPainted = Signal()   # once, after the window's first paint event
    _painted = False          # a class default: event() runs before __init__ finishes

    def __init__(self, ctx: ProjectContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle(APP_NAME)
        self.setWindowIcon(icons.app_icon())
        self.setAcceptDrops(True)
        self.resize(1280, 800)
        self.setMinimumSize(760, 520)
        self._import_wizard: QWidget | None = None
        self._annotator_dialog: QInputDialog | None = None

        self.pages = QStackedWidget()
        self.welcome = WelcomePage()
        self.welcome.newRequested.connect(self.new_project)
        self.welcome.openRequested.connect(self.open_project_dialog)
        self.welcome.demoRequested.connect(self.open_demo)
        self.welcome.recentRequested.connect(self.open_project)
        self.pages.addWidget(self.welcome)
        self.workspace = self._build_workspace()
        self.pages.addWidget(self.workspace)
        self.setCentralWidget(self.pages)

        self._build_menus()
        self.status = StatusBar(ctx, self)
        self.setStatusBar(self.status)
        self.project_label = self.status.project_label
        self.counts_label = self.status.counts_label
        self.ml_label = self.status.ml_label
        self.predictions = PredictionScheduler(ctx, self.status, self)

        ctx.projectChanged.connect(self._on_project_changed)
        ctx.showViewRequested.connect(self.show_view)
        ctx.openPairRequested.connect(self._on_open_pair_requested)

        self._restore_geometry()
        self._on_project_changed()

    # -- construction ------------------------------------------------------------------

    def _build_workspace(self) -> QWidget:
        workspace = QWidget()
        row = QHBoxLayout(workspace)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        self.side_panel = Sidebar()
        self.sidebar = self.side_panel.views
        self.sidebar.currentRowChanged.connect(self._on_sidebar_row_changed)
        row.addWidget(self.side_panel)
        self.view_stack = ViewStack(self.ctx)
        self.views = LazyViews(self.view_stack)
        row.addWidget(self.view_stack, 1)
        return workspace

    def _action(self, text: str, slot, shortcut: QKeySequence | str | None = None,
                icon: str | None = None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if icon:
            action.setIcon(icons.icon(icon))
        action.triggered.connect(slot)
        self.addAction(action)  # shortcuts work while the menu bar is hidden too
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        self._build_file_menu(bar.addMenu("&File"))
        self._build_edit_menu(bar.addMenu("&Edit"))
        self._build_view_menu(bar.addMenu("&View"))
        self.help_menu = bar.addMenu("&Help")
        self._build_help_menu(self.help_menu)
        from stsstudio.gui.annotators.annotators_menu import install_annotator_menu

        # Merge labels…, Agreement…, Double-label… (issue 15)
        self.annotator_actions = install_annotator_menu(self.add_menu("&Annotators"), self, self.ctx)

    def add_menu(self, title: str) -> QMenu:
        """A new menu on the menu bar, before Help: where a feature installs its own menu."""
        menu = self.menuBar().addMenu(title)
        self.menuBar().insertMenu(self.help_menu.menuAction(), menu)
        return menu

    def _build_file_menu(self, file_menu: QMenu) -> None:
        self.action_new = self._action("&New project…", self.new_project, QKeySequence.New, "new")
        self.action_open = self._action("&Open project…", self.open_project_dialog, QKeySequence.Open,
                                        "open")
        file_menu.addAction(self.action_new)
        file_menu.addAction(self.action_open)
        self.recent_menu = QMenu("Open &recent", self)
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addMenu(self.recent_menu)
        self.action_demo = self._action("Open &demo project", self.open_demo, None, "play")
        file_menu.addAction(self.action_demo)
        self.action_rebuild_demo = self._action("Re&build demo project…", self.rebuild_demo, None)
        file_menu.addAction(self.action_rebuild_demo)
        file_menu.addSeparator()
        self.action_import = self._action("&Import pairs…", self.open_import_wizard, "Ctrl+I", "import")
        file_menu.addAction(self.action_import)
        self.action_suggest = self._action("&Suggest pairs…", self.open_suggest_dialog)
        file_menu.addAction(self.action_suggest)
        from stsstudio.gui.export.backup_action import install_backup_action

        self.backup_action = install_backup_action(self, self.ctx, file_menu)  # Back up… (issue 24)
        file_menu.addSeparator()
        self.action_preferences = self._action("&Preferences…", self.edit_annotator,
                                               QKeySequence.Preferences, "settings")
        self.action_preferences.setMenuRole(QAction.PreferencesRole)
        file_menu.addAction(self.action_preferences)
        file_menu.addSeparator()
        self.action_close = self._action("&Close project", self.close_project, "Ctrl+W")
        file_menu.addAction(self.action_close)
        self.action_quit = self._action("&Quit", self.close, QKeySequence.Quit)
        self.action_quit.setShortcut(QKeySequence("Ctrl+Q"))
        self.action_quit.setMenuRole(QAction.QuitRole)
        file_menu.addAction(self.action_quit)

    def _build_edit_menu(self, edit_menu: QMenu) -> None:
        self.action_undo = self.ctx.undo_stack.createUndoAction(self, "&Undo")
        self.action_undo.setShortcut(QKeySequence("Ctrl+Z"))
        self.action_undo.setIcon(icons.icon("undo"))
        self.action_redo = self.ctx.undo_stack.createRedoAction(self, "&Redo")
        self.action_redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.action_redo.setIcon(icons.icon("redo"))
        edit_menu.addAction(self.action_undo)
        edit_menu.addAction(self.action_redo)
        self.addAction(self.action_undo)
        self.addAction(self.action_redo)

    def _build_view_menu(self, view_menu: QMenu) -> None:
        self.view_actions: dict[str, QAction] = {}
        for i, spec in enumerate(VIEW_SPECS, start=1):
            action = self._action(spec.title, self._on_view_action, f"Ctrl+{i}", spec.icon)
            action.setData(spec.key)
            action.setCheckable(True)
            view_menu.addAction(action)
            self.view_actions[spec.key] = action

    def _build_help_menu(self, help_menu: QMenu) -> None:
        self.action_shortcuts = self._action("&Keyboard shortcuts", self.show_shortcuts, "F1", "help")
        self.action_about = self._action(f"&About {APP_NAME}", self.show_about)
        self.action_about.setMenuRole(QAction.AboutRole)
        help_menu.addAction(self.action_shortcuts)
        help_menu.addAction(self.action_about)

    def _restore_geometry(self) -> None:
        geometry = settings.get(settings.GEOMETRY)
        if not geometry.isEmpty():
            self.restoreGeometry(geometry)
        state = settings.get(settings.WINDOW_STATE)
        if not state.isEmpty():
            self.restoreState(state)

    # -- projects --------------------------------------------------------------------

    @Slot()
    def new_project(self) -> bool:
        start = settings.get(settings.LAST_PROJECT_DIR) or str(Path.home())
        path, _ = QFileDialog.getSaveFileName(
            self, "New project: choose a name and place for its folder",
            str(Path(start) / "My STS project"), "STS Studio project folder (*)",
            options=QFileDialog.DontConfirmOverwrite)
        if not path:
            return False
        from stsstudio.core.guidelines import template_text

        try:
            project = Project.create(path, guidelines=template_text(self.welcome.template()))
        except (UserError, OSError) as exc:
            QMessageBox.warning(self, "Could not create the project", str(exc))
            return False
        settings.set(settings.LAST_PROJECT_DIR, str(Path(path).parent))
        self._set_project(project)
        return True

    @Slot()
    def open_project_dialog(self) -> bool:
        start = settings.get(settings.LAST_PROJECT_DIR) or str(Path.home())
        path = QFileDialog.getExistingDirectory(self, "Open project folder", start)
        if not path:
            return False
        settings.set(settings.LAST_PROJECT_DIR, str(Path(path).parent))
        return self.open_project(path)

    @Slot(str)
    def open_project(self, path: str) -> bool:
        """Open the project at ``path``; on failure explain why and stay where we were."""
        try:
            project = Project.open(path)
        except UserError as exc:
            QMessageBox.warning(self, "Could not open the project", str(exc))
            if not (Path(path) / "project.stsproj").exists() and not Path(path).is_file():
                settings.remove_recent_project(path)
                self.welcome.refresh()
            return False
        self._set_project(project)
        return True

    @Slot()
    def open_demo(self, fresh: bool = False) -> bool:
        """Open the demo project (kept in the user data folder, with its labels and runs);
        ``fresh`` builds it again."""
        try:
            from stsstudio.core.demo import open_demo_project
        except ImportError:
            QMessageBox.warning(self, "Demo project", "The demo project is not available in this build.")
            return False
        QApplication.setOverrideCursor(Qt.WaitCursor)
        try:
            project = open_demo_project(fresh=fresh)
        except UserError as exc:
            QApplication.restoreOverrideCursor()
            QMessageBox.warning(self, "Could not create the demo project", str(exc))
            return False
        QApplication.restoreOverrideCursor()
        self._set_project(project)
        return True

    @Slot()
    def rebuild_demo(self) -> bool:
        """Build the demo project again, after asking: its labels and runs are discarded."""
        from stsstudio.core.paths import user_data_dir

        answer = QMessageBox.question(
            self, "Rebuild the demo project",
            "Build the demo project again from its shipped data? Its labels, runs and edited "
            "guidelines are discarded.", QMessageBox.Yes | QMessageBox.Cancel, QMessageBox.Cancel)
        if answer != QMessageBox.Yes:
            return False
        project = self.ctx.project
        if project is not None and project.path == (user_data_dir() / "demo").resolve():
            self.close_project()  # release it, so the rebuild replaces it in place
        return self.open_demo(fresh=True)

    def _set_project(self, project: Project) -> None:
        self.ctx.set_project(project)
        settings.add_recent_project(project.path)
        self.welcome.refresh()

    @Slot()
    def close_project(self) -> None:
        if self.ctx.project is not None:
            self.ctx.set_project(None)

    @Slot()
    def _on_project_changed(self) -> None:
        project = self.ctx.project
        has = project is not None
        for action in (self.action_import, self.action_suggest, self.action_close,
                       *self.view_actions.values()):
            action.setEnabled(has)
        if not has:
            self.status.show_project(None)
            self.setWindowTitle(APP_NAME)
            self.pages.setCurrentWidget(self.welcome)
            self.welcome.refresh()
            return
        self.setWindowTitle(f"{project.name} — {APP_NAME}")
        self.side_panel.set_project(project.name, str(project.path), project.readonly)
        self.pages.setCurrentWidget(self.workspace)
        self.show_view("pairs")
        self.status.show_project(project)

    # -- views -----------------------------------------------------------------------

    def view(self, key: str) -> QWidget:
        """The view for ``key``, built now if it was not yet."""
        return self.view_stack.view(key)

    @Slot()
    def _build_next_view(self) -> None:
        """Build one not-yet-built view per event-loop turn, after the first paint."""
        if self.view_stack.build_next():
            QTimer.singleShot(30, self._build_next_view)

    @Slot(str)
    def show_view(self, key: str) -> None:
        if key == "import" and self.ctx.project is not None:  # the empty pages' "Import pairs…"
            self.open_import_wizard()
            return
        if key not in VIEW_KEYS or self.ctx.project is None:
            return
        row = VIEW_KEYS.index(key)
        if self.sidebar.currentRow() != row:
            self.sidebar.setCurrentRow(row)  # re-enters through _on_sidebar_row_changed
            return
        view = self.view(key)
        self.view_stack.setCurrentWidget(view)
        for k, action in self.view_actions.items():
            action.setChecked(k == key)
        if key == "label":
            # Ask for the name once there is something to label, not on an empty page.
            if getattr(view, "current", None) is not None:
                self._ensure_annotator()
            else:
                view.pairShown.connect(self._on_first_pair_shown, Qt.UniqueConnection)
            view.setFocus(Qt.OtherFocusReason)

    def current_view(self) -> str:
        return self.view_stack.current_key()

    @Slot(int)
    def _on_sidebar_row_changed(self, row: int) -> None:
        if 0 <= row < len(VIEW_KEYS):
            self.show_view(VIEW_KEYS[row])

    @Slot()
    def _on_view_action(self) -> None:
        action = self.sender()
        if isinstance(action, QAction):
            self.show_view(str(action.data()))

    @Slot(int)
    def _on_open_pair_requested(self, pair_id: int) -> None:
        self.show_view("label")

    # -- annotator -------------------------------------------------------------------

    def _ensure_annotator(self) -> None:
        """Ask once for the annotator's name, without blocking (labels use the default meanwhile)."""
        if self.ctx.annotator:
            return
        self.ctx.annotator = settings.default_annotator()
        self.edit_annotator(asked=True)

    @Slot(int)
    def _on_first_pair_shown(self, pair_id: int) -> None:
        view = self.sender()
        if view is not None:
            view.pairShown.disconnect(self._on_first_pair_shown)
        if self.current_view() == "label":
            self._ensure_annotator()

    @Slot()
    def edit_annotator(self, asked: bool = False) -> None:
        dialog = QInputDialog(self)
        dialog.setWindowTitle("Annotator")
        dialog.setLabelText("Your name, saved with every label you give:")
        # A name the user chose, else the account's full name; never "root" or another
        # system account filled in as if it were a person's name.
        name = "" if asked else (self.ctx.annotator or settings.get(settings.ANNOTATOR))
        dialog.setTextValue(name or settings.suggested_annotator())
        line = dialog.findChild(QLineEdit)
        if line is not None:
            line.setPlaceholderText("e.g. Ada Lovelace")
        dialog.textValueSelected.connect(self._on_annotator_chosen)
        self._annotator_dialog = dialog
        dialog.open()
        self._place_beside_sentences(dialog)

    def _place_beside_sentences(self, dialog: QWidget) -> None:
        """Put a dialog over the bottom right of the window, clear of the two sentences."""
        dialog.adjustSize()
        area = self.geometry()
        x = area.right() - dialog.width() - 24
        y = area.bottom() - dialog.height() - 48
        dialog.move(max(area.left(), x), max(area.top(), y))

    @Slot(str)
    def _on_annotator_chosen(self, name: str) -> None:
        name = name.strip() or settings.default_annotator()
        self.ctx.annotator = name
        settings.set(settings.ANNOTATOR, name)
        self.statusBar().showMessage(f"Labels are saved as {name}.", 4000)

    # -- import ----------------------------------------------------------------------

    @Slot()
    def open_import_wizard(self, source: str | None = None) -> QWidget | None:
        if self.ctx.project is None:
            QMessageBox.information(self, "Import pairs",
                                    "Create or open a project first; the pairs are imported into it.")
            return None
        from stsstudio.gui.importing.import_wizard import ImportWizard

        wizard = ImportWizard(self.ctx, self, source=source if isinstance(source, str) else None)
        wizard.setAttribute(Qt.WA_DeleteOnClose)
        wizard.sentencesRequested.connect(self._on_sentences_requested)
        self._import_wizard = wizard
        wizard.open()
        return wizard

    @Slot(str)
    def _on_sentences_requested(self, source: str) -> None:
        dialog = self.open_suggest_dialog()
        if dialog is not None:
            dialog.import_file(source)

    @Slot()
    def open_suggest_dialog(self) -> QWidget | None:
        """Pairs from a list of sentences: import them to the pool, plan, preview, add."""
        if self.ctx.project is None:
            QMessageBox.information(self, "Suggest pairs",
                                    "Create or open a project first; the pairs are added to it.")
            return None
        from stsstudio.gui.importing.suggest_dialog import SuggestPairsDialog

        dialog = SuggestPairsDialog(self.ctx, self)
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        dialog.pairsAdded.connect(self.ctx.openPairRequested)
        dialog.open()
        return dialog

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if _dropped_file(event) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        path = _dropped_file(event)
        if path is None:
            event.ignore()
            return
        event.acceptProposedAction()
        if (Path(path) / "project.stsproj").exists():
            self.open_project(path)
        else:
            self.open_import_wizard(path)

    # -- help ------------------------------------------------------------------------

    @Slot()
    def show_shortcuts(self) -> QWidget:
        from stsstudio.gui.common.widgets import project_scale
        from stsstudio.gui.shell.shortcuts_dialog import ShortcutsDialog

        dialog = ShortcutsDialog(self, scale=project_scale(self.ctx.project))
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        dialog.open()
        return dialog

    @Slot()
    def show_about(self) -> None:
        QMessageBox.about(
            self, f"About {APP_NAME}",
            f"<h3>{APP_NAME} {__version__}</h3>"
            "<p>Label sentence-pair similarity and fine-tune sentence-transformers models on "
            "your own workstation.</p><p>Open source under the MIT licence.</p>")

    @Slot()
    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        paths = settings.recent_projects()
        for path in paths:
            action = self.recent_menu.addAction(icons.icon("folder"), Path(path).name)
            action.setToolTip(path)
            action.setData(path)
            action.triggered.connect(self._on_recent_action)
        if not paths:
            empty = self.recent_menu.addAction("No recent projects")
            empty.setEnabled(False)

    @Slot()
    def _on_recent_action(self) -> None:
        action = self.sender()
        if isinstance(action, QAction):
            self.open_project(str(action.data()))

    # -- lifecycle -------------------------------------------------------------------

    def event(self, event: QEvent) -> bool:
        if not self._painted and event.type() == QEvent.Paint:
            self._painted = True
            # Queued, so it runs once this paint (and the children's) has finished.
            QTimer.singleShot(0, self._on_first_paint)
        return super().event(event)

    @Slot()
    def _on_first_paint(self) -> None:
        self.firstPainted.emit()
        QTimer.singleShot(300, self._build_next_view)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        settings.set(settings.GEOMETRY, self.saveGeometry())
        settings.set(settings.WINDOW_STATE, self.saveState())
        # Workers first (cancel, then wait): one may still be reading or writing the project.
        wait_for_workers_to_quit(5000)
        if self.ctx.project is not None:
            self.ctx.set_project(None)  # releases the writer lock; labels are already committed
        super().closeEvent(event)


def _dropped_file(event: QDragEnterEvent | QDropEvent) -> str | None:
    mime = event.mimeData()
    if not mime.hasUrls():
        return None
    for url in mime.urls():
        if not url.isLocalFile():
            continue
        path = Path(url.toLocalFile())
        if path.is_dir() or path.suffix.lower() in IMPORTABLE_SUFFIXES:
            return str(path)
    return None

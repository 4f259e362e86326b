"""File ▸ Back up…: copy the open project's database, with every label, to one file.

Kept out of main_window.py so that the window only calls :func:`install_backup_action`. The
copy is :meth:`Project.backup_to` (SQLite's backup API), the same as ``stsstudio backup``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMenu, QMessageBox

from stsstudio.core.errors import UserError

if TYPE_CHECKING:
    from stsstudio.gui.common.context import ProjectContext


class BackupAction(QObject):
    """The Back up… action: enabled while a project is open."""

    def __init__(self, window: QMainWindow, ctx: ProjectContext, menu: QMenu,
                 before: QAction | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.ctx = ctx
        self.action = QAction("&Back up…", window)
        self.action.setStatusTip("Copy the project, with every label, to one file")
        self.action.triggered.connect(self.back_up)
        menu.insertAction(before, self.action) if before is not None else menu.addAction(self.action)
        ctx.projectChanged.connect(self._on_project_changed)
        self._on_project_changed()

    @Slot()
    def _on_project_changed(self) -> None:
        self.action.setEnabled(self.ctx.project is not None)

    def suggested_path(self) -> str:
        project = self.ctx.project
        stamp = time.strftime("%Y-%m-%d")
        return str(project.path.parent / f"{project.path.name}-backup-{stamp}.stsproj")

    @Slot()
    def back_up(self, target: str | None = None) -> Path | None:
        """Ask where (unless ``target`` is given), then write the backup; None when cancelled."""
        project = self.ctx.project
        if project is None:
            return None
        if not target:
            target, _ = QFileDialog.getSaveFileName(
                self.window, "Back up the project", self.suggested_path(),
                "STS Studio database (*.stsproj);;All files (*)")
            if not target:
                return None
        try:
            # The dialog has already asked before replacing an existing file.
            out = project.backup_to(target, force=True)
        except UserError as exc:
            QMessageBox.warning(self.window, "Could not back up the project", str(exc))
            return None
        self.window.statusBar().showMessage(f"Backed up {project.name} to {out}.", 6000)
        return out


def install_backup_action(window: QMainWindow, ctx: ProjectContext, menu: QMenu,
                          before: QAction | None = None) -> BackupAction:
    """Add File ▸ Back up… for ``ctx``'s project to ``menu`` (before ``before``); returns the
    action's owner."""
    return BackupAction(window, ctx, menu, before)

"""The GUI's shared state: the open project, the undo stack and the change signals.

Views subscribe to these signals; core never knows about views. Every view is built as
``View(ctx, parent)`` and reacts to ``projectChanged`` to (re)load itself.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from stsstudio.core.changes import Changes
from stsstudio.core.store import Project


class ProjectContext(QObject):
    projectChanged = Signal()            # a project was opened or closed (ctx.project may be None)
    pairsChanged = Signal()              # pairs added/removed/moved (re-run queries)
    pairChanged = Signal(int)            # one pair's label/flag/note/split changed
    runsChanged = Signal()               # a run was added or its status changed
    openPairRequested = Signal(int)      # show this pair in the labelling view
    openPairInOrderRequested = Signal(int, str)  # ... with the Label view's queue in this order
    showViewRequested = Signal(str)      # "pairs" | "label" | "train" | "try" | "export" | "import"
    mlReady = Signal()                   # torch & sentence-transformers finished importing
    statusMessage = Signal(str)
    predictionsChanged = Signal(int)     # a model (run id; 0: base) finished scoring every pair
    scoresRequested = Signal()           # the user asked for the missing scores now (a queue order)
    scoringProgressed = Signal(int, int, int)  # run id being scored, done, total (0, 0: started)
    scoringStopped = Signal(int, str)    # that scoring ended: "" or why it failed

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.project: Project | None = None
        self.undo_stack = QUndoStack(self)
        self.annotator: str = ""
        self.ml_ready = False
        self.device_label: str = ""      # e.g. "CPU (8 cores)"; set when mlReady is emitted

    def apply(self, changes: Changes) -> None:
        """The one place a change set becomes the signals views listen to (see core.changes).

        One changed pair refreshes that pair; several re-run the views' queries."""
        if changes.pairs or changes.annotators or len(changes.pair_ids) > 1:
            self.pairsChanged.emit()
        elif changes.pair_ids:
            self.pairChanged.emit(changes.pair_ids[0])
        if changes.runs:
            self.runsChanged.emit()
        for run_id in changes.predictions:
            self.predictionsChanged.emit(run_id)

    def set_project(self, project: Project | None) -> None:
        """Make ``project`` the open one (closing the previous one)."""
        if self.project is not None and self.project is not project:
            self.project.close()
        self.project = project
        self.undo_stack.clear()
        self.projectChanged.emit()

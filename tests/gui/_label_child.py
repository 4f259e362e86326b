"""Child process of the crash test: label pairs by key presses until killed.

Usage: python _label_child.py PROJECT_DIR. After each Enter the label has been committed by core,
and the child prints ``CONFIRMED <pair_id> <score>`` (flushed). The parent SIGKILLs it mid-session.
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main(project_dir: str) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from stsstudio.core.store import Project
    from stsstudio.gui.common.context import ProjectContext
    from stsstudio.gui.label.annotate import AnnotateView

    app = QApplication([])
    ctx = ProjectContext()
    ctx.annotator = "crash-tester"
    ctx.set_project(Project.open(project_dir))
    view = AnnotateView(ctx)
    view.resize(900, 600)
    view.show()
    app.processEvents()
    print("READY", flush=True)
    keys = [Qt.Key.Key_1, Qt.Key.Key_2, Qt.Key.Key_3, Qt.Key.Key_4, Qt.Key.Key_5]
    for i in range(100_000):
        if view.current is None:
            break
        pair_id = view.current.id
        QTest.keyClick(view, keys[i % 5])
        if i % 3 == 0:
            QTest.keyClick(view, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
        score = view.score
        QTest.keyClick(view, Qt.Key.Key_Return)
        print(f"CONFIRMED {pair_id} {score:.2f}", flush=True)
        app.processEvents()
    print("DONE", flush=True)
    time.sleep(60)   # wait to be killed


if __name__ == "__main__":
    main(sys.argv[1])

"""stsstudio.core never imports Qt: checked in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys

_CHECK = """
import importlib, pkgutil, sys
import stsstudio.core as core
names = [m.name for m in pkgutil.walk_packages(core.__path__, "stsstudio.core.")]
for name in names:
    importlib.import_module(name)
QT = ("PySide6", "shiboken6", "pyqtgraph", "PyQt5", "PyQt6")
qt = sorted(m for m in sys.modules if m.split(".")[0] in QT)
print(len(names), ",".join(qt))
"""


def test_core_imports_no_qt():
    out = subprocess.run([sys.executable, "-c", _CHECK], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    count, qt = out.stdout.strip().split(" ", 1) if " " in out.stdout.strip() else (out.stdout.strip(), "")
    assert int(count) >= 5  # store, importers, data_export, demo, ... were all imported
    assert qt == "", f"Qt modules imported by stsstudio.core: {qt}"

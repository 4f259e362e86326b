"""The run chooser shared by the Try and Export views."""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker
from PySide6.QtWidgets import QComboBox

from stsstudio.core.store import Project


def fill_run_combo(combo: QComboBox, project: Project | None, current: int | None) -> None:
    """List the runs that have a model, newest first, best marked; keep ``current`` or pick the best.

    Only a run measurably better than the base model is marked (``Project.runs.best``); a run that
    is not says so in its entry.

    Signals are blocked while filling; the caller reacts to the final selection itself.
    """
    from stsstudio.core.estimate import pending  # plain Python, no torch

    with QSignalBlocker(combo):
        combo.clear()
        if project is None or project.closed:
            return
        runs = [r for r in project.runs.all() if r.model_dir and r.status in ("finished", "cancelled")]
        best = project.runs.best()
        for run in reversed(runs):
            rho = f"dev ρ {run.best_dev_spearman:.3f}" if run.best_dev_spearman is not None else "no dev"
            star = "  ★ best" if best is not None and run.id == best.id else \
                ("  (worse than base)" if run.outcome == "worse" else
                 "" if run.outcome == "better" else
                 "  (not estimated yet)" if not run.outcome and pending(run) else "  (not better than base)")
            combo.addItem(f"Run {run.id} · {run.loss} · {rho}{star}", run.id)
        if not runs:
            combo.addItem("No trained run yet: train one in the Train view", None)
        index = combo.findData(current) if current is not None else -1
        if index < 0 and best is not None:
            index = combo.findData(best.id)
        combo.setCurrentIndex(max(0, index))

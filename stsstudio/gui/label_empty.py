"""The labelling view's page when no pair is on screen, saying why and what to do next."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from stsstudio.gui.widgets import EmptyState


class LabelEmptyPage(EmptyState):
    """No project, no pairs, the end of the queue, a queue waiting for the model, or ranking.

    ``actionTriggered`` carries the button: "Import pairs…" or "Start over" (``action``).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Nothing to label", "", "Import pairs…", icon_name="label", parent=parent)
        self.action = "import"

    def show_state(self, *, has_project: bool, problem: str, total: int, labeled: int,
                   split: str | None) -> None:
        """Say why nothing is shown (``problem``: a model order without predictions yet)."""
        self.action = ""
        if not has_project:
            self.set_text("No project open", "Open or create a project to start labelling.")
        elif problem:
            self.set_text("Waiting for the model's scores", problem)
        elif total == 0:
            where = f" in the {split} split" if split else ""
            self.set_text("Nothing to label", f"There are no pairs{where} yet. Import a file of "
                                              "sentence pairs to start labelling.")
            self.action = "import"
            self.button.setText("Import pairs…")
        else:
            self.set_text("You reached the end", f"{labeled:,} of {total:,} pairs are labeled. "
                                                 "Start over to review them again.")
            self.action = "start_over"
            self.button.setText("Start over")
        self.button.setVisible(bool(self.action))

    def show_ranking(self, order_label: str) -> None:
        """A model order ranks a big project's predictions in a worker."""
        self.action = ""
        self.set_text("Ranking pairs…", f"{order_label}: the model's predictions are being ranked.")
        self.button.setVisible(False)

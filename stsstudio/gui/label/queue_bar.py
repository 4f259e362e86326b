"""The labelling view's top bar: which pair is shown, and which queue it comes from.

The bar sits above the view's pages (:func:`above_pages`), so the order box stays in reach on
the empty page too: an order with nothing to show is never a dead end. Under a model order it
says in plain words what ranks the pairs (:func:`~stsstudio.core.label_queue.order_plan`).
"""

from __future__ import annotations

from pathlib import PurePath

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QStackedWidget, QVBoxLayout, QWidget

from stsstudio.core.label_queue import QUEUE_ORDERS, RANDOM_SEED, order_plan, queue_order
from stsstudio.core.scales import format_score
from stsstudio.core.store import IMPORT_ANNOTATOR, SPLITS, Pair
from stsstudio.gui.common.context import ProjectContext
from stsstudio.gui.common.widgets import FLAG_COLOR, ElidedLabel, mute


class QueueBar(QWidget):
    """The pair's header and flag, and the queue's split and order."""

    settingsChanged = Signal()   # the split or the order changed: rebuild the queue

    def __init__(self, ctx: ProjectContext | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.scale: str | None = None   # the project's display scale: scores are shown on it
        self.header = ElidedLabel()
        self.header.setObjectName("pairHeader")
        hf = QFont(self.header.font())
        hf.setPointSizeF(hf.pointSizeF() * 1.15)
        hf.setWeight(QFont.Weight.DemiBold)
        self.header.setFont(hf)
        self.flag_badge = QLabel("\u2691 Flagged")
        self.flag_badge.setStyleSheet(f"color: {FLAG_COLOR.name()}; font-weight: 600;")
        self.flag_badge.setVisible(False)
        self.split_combo = QComboBox()
        self.split_combo.addItem("All splits", None)
        for split in SPLITS:
            self.split_combo.addItem("No split" if split == "none" else split.capitalize(), split)
        self.split_combo.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.split_combo.setToolTip("Label only the pairs of one split")
        self.split_combo.currentIndexChanged.connect(self.settingsChanged)
        self.order_combo = QComboBox()
        for order in QUEUE_ORDERS:
            self.order_combo.addItem(order.label, order.name)
            self.order_combo.setItemData(self.order_combo.count() - 1, order.help,
                                         Qt.ItemDataRole.ToolTipRole)
        self.order_combo.setToolTip("Unlabeled pairs come first, in file order or shuffled "
                                    f"(seed {RANDOM_SEED}); labeled pairs follow for review")
        self.order_combo.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.order_combo.currentIndexChanged.connect(self.settingsChanged)
        # Wide enough for the longest order name ("Fill thin score bands" was cut); the header
        # beside it elides first on a small screen.
        self.order_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.order_combo.view().setMinimumWidth(self.order_combo.sizeHint().width())
        self.uses_label = QLabel()           # what a model order ranks by, in plain words
        self.uses_label.setObjectName("queueUses")
        self.uses_label.setWordWrap(True)
        mute(self.uses_label)
        self.uses_label.setVisible(False)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        top = QHBoxLayout()
        top.setSpacing(8)
        top.addWidget(self.header, 1)
        top.addWidget(self.flag_badge)
        top.addSpacing(12)
        top.addWidget(self.split_combo)
        top.addWidget(self.order_combo)
        column.addLayout(top)
        column.addWidget(self.uses_label)
        if ctx is not None:
            self.order_combo.currentIndexChanged.connect(self.show_uses)
            for signal in (ctx.projectChanged, ctx.runsChanged, ctx.predictionsChanged, ctx.pairsChanged):
                signal.connect(self.show_uses)

    @property
    def split(self) -> str | None:
        return self.split_combo.currentData()

    @property
    def order(self) -> str:
        return self.order_combo.currentData()

    def show_pair(self, pair: Pair, labels: dict[str, float] | None = None) -> None:
        """The header line; ``labels`` (annotator: score) are shown when adjudicating."""
        parts = [f"Pair {pair.id}"]
        if pair.split != "none":
            parts.append(pair.split)
        if pair.score is None:
            parts.append("unlabeled")
        else:
            parts.append(f"labeled {format_score(pair.score, self.scale)} {_label_origin(pair)}")
        if labels:
            parts.append("labels: " + ", ".join(f"{a or 'unnamed'} {format_score(v, self.scale)}"
                                                for a, v in sorted(labels.items())))
        self.header.setText("  ·  ".join(parts))
        self.flag_badge.setVisible(pair.flagged)

    def clear_pair(self) -> None:
        """No pair on screen (the empty page): no header and no flag of the last one."""
        self.header.setText("")
        self.flag_badge.setVisible(False)

    def show_uses(self, *_args: object) -> None:
        """Under a model order, what it ranks by now; hidden for the other orders and while no
        model has scored the pairs (the empty page then offers to compute the scores)."""
        project = self.ctx.project if self.ctx is not None else None
        text = ""
        if project is not None and not project.closed and self.order \
                and queue_order(self.order).needs_predictions:
            plan = order_plan(project, self.order)
            text = plan.uses if plan.ready else ""
        self.uses_label.setText(text)
        self.uses_label.setVisible(bool(text))


def above_pages(bar: QueueBar, pages: QStackedWidget) -> QWidget:
    """The view's pages under the queue bar, so the order box shows on every page."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(0)
    row = QVBoxLayout()
    row.setContentsMargins(20, 16, 20, 0)   # the work page's side margins
    row.addWidget(bar)
    layout.addLayout(row)
    layout.addWidget(pages, 1)
    return box


def _label_origin(pair: Pair) -> str:
    """Who gave the label: "by Ada", or "from clinic.csv, row 17" for a label that was imported."""
    if pair.annotator == IMPORT_ANNOTATOR and pair.source:
        name = PurePath(pair.source).name or pair.source
        row = f", row {pair.source_row}" if pair.source_row is not None else ""
        return f"from {name}{row}"
    return f"by {pair.annotator or 'unknown'}"

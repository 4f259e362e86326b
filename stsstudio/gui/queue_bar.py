"""The labelling view's top bar: which pair is shown, and which queue it comes from."""

from __future__ import annotations

from pathlib import PurePath

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from stsstudio.core.label_queue import QUEUE_ORDERS, RANDOM_SEED
from stsstudio.core.store import IMPORT_ANNOTATOR, SPLITS, Pair
from stsstudio.gui.widgets import FLAG_COLOR, ElidedLabel


class QueueBar(QWidget):
    """The pair's header and flag, and the queue's split and order."""

    settingsChanged = Signal()   # the split or the order changed: rebuild the queue

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
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
        top = QHBoxLayout(self)
        top.setContentsMargins(0, 0, 0, 0)
        top.setSpacing(8)
        top.addWidget(self.header, 1)
        top.addWidget(self.flag_badge)
        top.addSpacing(12)
        top.addWidget(self.split_combo)
        top.addWidget(self.order_combo)

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
            parts.append(f"labeled {pair.score:.2f} {_label_origin(pair)}")
        if labels:
            parts.append("labels: " + ", ".join(f"{a or 'unnamed'} {v:.2f}"
                                                for a, v in sorted(labels.items())))
        self.header.setText("  ·  ".join(parts))
        self.flag_badge.setVisible(pair.flagged)


def _label_origin(pair: Pair) -> str:
    """Who gave the label: "by Ada", or "from clinic.csv, row 17" for a label that was imported."""
    if pair.annotator == IMPORT_ANNOTATOR and pair.source:
        name = PurePath(pair.source).name or pair.source
        row = f", row {pair.source_row}" if pair.source_row is not None else ""
        return f"from {name}{row}"
    return f"by {pair.annotator or 'unknown'}"

"""The Train view's form: base model, loss, device, hyperparameters, and the data summary with
Start and Cancel. It turns its fields into a ``TrainConfig`` and shows ``training.data_plan``;
the view owns the run."""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt, Signal, Slot
from PySide6.QtGui import QDoubleValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from stsstudio.core.losses import LOSSES, get_loss
from stsstudio.gui.common import style

AUTOMATIC = "Automatic"

BASE_CHOICES = [
    ("default", "Embedded default (all-MiniLM-L6-v2)",
     "Ships with the app, works offline: 384-dim, fast on CPU."),
    ("folder", "Local model folder…",
     "A sentence-transformers or plain transformers folder on this computer."),
    ("hub", "Hugging Face Hub id",
     "e.g. org/model. Offline, it must already be in the local Hugging Face cache."),
]



def _hint(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet(style.text_color("hint"))
    font = label.font()
    font.setPointSizeF(max(7.5, font.pointSizeF() - 1))
    label.setFont(font)
    label.setTextInteractionFlags(Qt.TextSelectableByMouse)
    return label


def _form_label(text: str) -> QLabel:
    label = QLabel(text)
    label.setMinimumHeight(24)      # aligned with the field's first line, not its hint
    label.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
    return label


def _stack(*widgets: QWidget) -> QWidget:
    """A field and its hint lines, tightly stacked, as one form row."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(3)
    for w in widgets:
        layout.addWidget(w)
    return box


def _grid_row(grid: QGridLayout, row: int, label: str, widget: QWidget, hint: str) -> None:
    """label | field (fixed width) | hint: dense rows for the numeric settings."""
    if label:
        lab = QLabel(label)
        lab.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
        grid.addWidget(lab, row, 0)
    widget.setFixedWidth(118)
    widget.setToolTip(hint)
    grid.addWidget(widget, row, 1)
    grid.addWidget(_hint(hint), row, 2)


def _grid() -> QGridLayout:
    grid = QGridLayout()
    grid.setHorizontalSpacing(8)
    grid.setVerticalSpacing(6)
    grid.setColumnStretch(2, 1)
    grid.setColumnMinimumWidth(0, 92)       # the same label column in both grids
    return grid


class CollapsibleSection(QWidget):
    """A header button that shows or hides its content (the "Advanced" part of the form)."""

    def __init__(self, title: str, content: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.toggle = QToolButton(text=title, checkable=True, checked=False)
        self.toggle.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        self.toggle.setArrowType(Qt.RightArrow)
        self.toggle.setStyleSheet("QToolButton { border: none; font-weight: 600; padding: 2px 0; }")
        self.toggle.toggled.connect(self._on_toggled)
        self.content = content
        content.setVisible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.toggle)
        layout.addWidget(content)

    @Slot(bool)
    def _on_toggled(self, checked: bool) -> None:
        self.toggle.setArrowType(Qt.DownArrow if checked else Qt.RightArrow)
        self.content.setVisible(checked)

    def set_expanded(self, expanded: bool) -> None:
        self.toggle.setChecked(expanded)


class TrainForm(QWidget):
    """The left column of the Train view: the settings (scrollable) over the data summary."""

    settingsChanged = Signal()  # a field that changes the plan (epochs, learning rate, loss, caps)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        form_panel = QWidget()
        form_layout = QVBoxLayout(form_panel)
        form_layout.setContentsMargins(0, 0, 6, 0)
        form_layout.setSpacing(10)
        form_layout.addWidget(self._build_model_box())
        form_layout.addWidget(self._build_hyper_box())
        form_layout.addStretch(1)
        # Scrollable so small windows never clip it.
        scroll = QScrollArea()
        scroll.setWidget(form_panel)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(scroll, 1)
        # The data summary and Start stay visible however long the form gets.
        layout.addWidget(self._build_data_box())
        self.setMinimumWidth(360)
        self.setMaximumWidth(420)
        # A long model name must not make the form wider than its column: the hints beside
        # and under the fields would be cut at the right edge (1024x640).
        for combo in (self.base_choice, self.loss_combo, self.device_combo):
            combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(12)
            combo.setMinimumWidth(combo.sizeHint().width())   # the hint above, not the longest item

    # ------------------------------------------------------------------------------------
    # UI

    def _build_model_box(self) -> QGroupBox:
        box = QGroupBox("Model")
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignRight | Qt.AlignTop)
        form.setVerticalSpacing(8)

        self.base_choice = QComboBox()
        for key, label, _ in BASE_CHOICES:
            self.base_choice.addItem(label, key)
        self.base_choice.currentIndexChanged.connect(self._on_base_choice)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        self.base_path = QLineEdit()
        self.base_path.setClearButtonEnabled(True)
        self.browse_button = QPushButton("Browse…")
        self.browse_button.clicked.connect(self._on_browse)
        row.addWidget(self.base_path, 1)
        row.addWidget(self.browse_button)
        self.base_path_row = QWidget()
        self.base_path_row.setLayout(row)
        self.base_hint = _hint("")
        form.addRow(_form_label("Base model"), _stack(self.base_choice, self.base_path_row, self.base_hint))

        self.loss_combo = QComboBox()
        self.loss_combo.addItem("Automatic", None)
        for loss in LOSSES:
            self.loss_combo.addItem(loss.label, loss.name)
        self.loss_combo.currentIndexChanged.connect(self._on_loss_choice)
        self.loss_hint = _hint("")
        form.addRow(_form_label("Loss"), _stack(self.loss_combo, self.loss_hint))

        self.device_combo = QComboBox()
        self.device_combo.addItem("Automatic (best available)", "auto")
        self.device_combo.addItem("CPU", "cpu")
        self.device_combo.setToolTip("Detected once the ML libraries have loaded.")
        self.device_hint = _hint("Detecting devices once the ML libraries have loaded…")
        form.addRow(_form_label("Device"), _stack(self.device_combo, self.device_hint))
        self._on_base_choice()
        self._on_loss_choice()
        return box

    def _build_hyper_box(self) -> QGroupBox:
        from stsstudio.core.training import TrainConfig  # plain dataclasses: cheap

        defaults = TrainConfig()
        self._defaults = defaults
        box = QGroupBox("Training")
        layout = QVBoxLayout(box)
        layout.setSpacing(6)
        grid = _grid()

        # 0 shows "Automatic": the schedule picks the epochs from the label count (core/schedule.py).
        self.epochs = QDoubleSpinBox(decimals=1, minimum=0.0, maximum=100, singleStep=1.0)
        self.epochs.setSpecialValueText("Automatic")
        self.epochs.setValue(float(defaults.epochs or 0.0))
        self.batch_size = QDoubleSpinBox(decimals=0, minimum=2, maximum=1024, singleStep=8)
        self.batch_size.setValue(defaults.batch_size)
        self.learning_rate = QComboBox(editable=True)
        for lr in (AUTOMATIC, "1e-5", "2e-5", "3e-5", "5e-5", "1e-4"):
            self.learning_rate.addItem(lr)
        self.learning_rate.setCurrentText(AUTOMATIC if defaults.learning_rate is None
                                          else f"{defaults.learning_rate:g}")
        validator = QDoubleValidator(1e-8, 1.0, 10, self)
        validator.setNotation(QDoubleValidator.ScientificNotation)
        self.learning_rate.lineEdit().setValidator(validator)
        self.max_seq_length = QDoubleSpinBox(decimals=0, minimum=0, maximum=8192, singleStep=32)
        self.max_seq_length.setSpecialValueText("model's own")
        self.max_seq_length.setValue(defaults.max_seq_length or 0)
        self.seed = QDoubleSpinBox(decimals=0, minimum=0, maximum=2**31 - 1)
        self.seed.setValue(defaults.seed)
        self.schedule_label = _hint("")
        self.schedule_label.setWordWrap(True)
        rows = [("Epochs", self.epochs, "Passes over the data; Automatic: more for fewer labels."),
                ("Batch size", self.batch_size, "Lower it if memory runs out."),
                ("Learning rate", self.learning_rate, "Lower it if the loss jumps or is NaN."),
                ("Max length", self.max_seq_length, "Tokens per sentence; the rest is cut."),
                ("Seed", self.seed, "Same seed and data, same model.")]
        for i, (label, widget, hint) in enumerate(rows):
            _grid_row(grid, i, label, widget, hint)
        layout.addLayout(grid)
        layout.addWidget(self.schedule_label)
        layout.addWidget(self._build_advanced(defaults))
        self.epochs.valueChanged.connect(self.settingsChanged)
        self.batch_size.valueChanged.connect(self.settingsChanged)
        self.learning_rate.currentTextChanged.connect(self.settingsChanged)
        self.max_steps.valueChanged.connect(self.settingsChanged)
        for spin in (self.epochs, self.batch_size, self.max_seq_length, self.seed, self.warmup,
                     self.eval_steps, self.max_steps):
            spin.setAlignment(Qt.AlignRight)
            spin.setKeyboardTracking(False)
        return box

    def _build_advanced(self, defaults: Any) -> CollapsibleSection:
        adv = QWidget()
        adv_grid = _grid()
        adv_grid.setContentsMargins(0, 0, 0, 0)
        adv.setLayout(adv_grid)
        self.warmup = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=0.5, singleStep=0.05)
        self.warmup.setValue(defaults.warmup_ratio if defaults.warmup_ratio is not None else 0.1)
        self.eval_steps = QDoubleSpinBox(decimals=0, minimum=0, maximum=1_000_000, singleStep=10)
        self.eval_steps.setSpecialValueText("auto")
        self.eval_steps.setValue(defaults.eval_steps or 0)
        self.max_steps = QDoubleSpinBox(decimals=0, minimum=0, maximum=10_000_000, singleStep=10)
        self.max_steps.setSpecialValueText("no cap")
        self.max_steps.setValue(defaults.max_steps or 0)
        self.matryoshka = QCheckBox("Matryoshka")
        self.matryoshka.setChecked(defaults.matryoshka)
        # Issue 23's parts, each a switch (core/schedule.py says when the automatic rule uses them).
        self.silver_combo = QComboBox()
        self.silver_combo.addItem("Automatic", None)
        self.silver_combo.addItem("Off", 0)
        self.blend_combo = QComboBox()
        for text, weight in (("Off", 1.0), ("70 % tuned", 0.7), ("50 % tuned", 0.5)):
            self.blend_combo.addItem(text, weight)
        self.estimate_check = QCheckBox("Estimate after training")
        self.estimate_check.setChecked(defaults.estimate)
        for combo in (self.silver_combo, self.blend_combo):
            combo.currentIndexChanged.connect(self.settingsChanged)
        rows = [("Warmup", self.warmup, "Share of steps with a rising learning rate."),
                ("Eval every", self.eval_steps, "Steps between dev evaluations (auto: ~10)."),
                ("Max steps", self.max_steps, "Stop here, whatever the epochs say."),
                ("", self.matryoshka, "Also train truncatable shorter embeddings."),
                ("Silver pairs", self.silver_combo, "Automatic: from 1,000 labels, pairs labeled by a "
                 "cross-encoder trained on yours."),
                ("Blend with base", self.blend_combo, "Mix the tuned weights with the base model's."),
                ("", self.estimate_check, "After the model: the gain and what more labels would add.")]
        for i, (label, widget, hint) in enumerate(rows):
            _grid_row(adv_grid, i, label, widget, hint)
        self.advanced = CollapsibleSection("Advanced", adv)
        # Closed: at the default window size the form then ends on a whole row, not half a one.
        self.advanced.set_expanded(False)
        return self.advanced

    def _build_data_box(self) -> QGroupBox:
        box = QGroupBox("Data")
        layout = QVBoxLayout(box)
        layout.setSpacing(6)
        self.counts_label = QLabel()
        self.counts_label.setWordWrap(True)
        self.warnings_label = QLabel()
        self.warnings_label.setWordWrap(True)
        self.warnings_label.setStyleSheet(style.text_color("warning"))
        layout.addWidget(self.counts_label)
        layout.addWidget(self.warnings_label)
        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start training")
        self.start_button.setDefault(True)
        self.start_button.setMinimumHeight(30)
        self.start_button.setStyleSheet(style.sheet(style.ACTION_BUTTON))
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setMinimumHeight(30)
        self.cancel_button.setEnabled(False)
        buttons.addWidget(self.start_button, 1)
        buttons.addWidget(self.cancel_button)
        layout.addLayout(buttons)
        return box

    # ------------------------------------------------------------------------------------
    # Fields

    @Slot()
    def _on_base_choice(self) -> None:
        key = self.base_choice.currentData()
        self.base_path_row.setVisible(key != "default")
        self.browse_button.setVisible(key == "folder")
        self.base_path.setPlaceholderText("/path/to/model-folder" if key == "folder" else "org/model-name")
        self.base_hint.setText(next(h for k, _, h in BASE_CHOICES if k == key))

    @Slot()
    def _on_loss_choice(self) -> None:
        loss = get_loss(self.loss_combo.currentData() or "")
        self.loss_hint.setText(loss.help if loss else "Chosen from the number of labeled pairs (see below).")
        self.settingsChanged.emit()

    @Slot()
    def _on_browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a model folder", self.base_path.text())
        if folder:
            self.base_path.setText(folder)

    def set_base_model(self, name: str | None) -> None:
        """Select the base model in the form: "default", a folder path, or a Hub id."""
        if not name or name == "default":
            self.base_choice.setCurrentIndex(0)
            self.base_path.clear()
            return
        is_folder = Path(name).expanduser().exists() or os.sep in name and not name.count("/") == 1
        self.base_choice.setCurrentIndex(1 if is_folder else 2)
        self.base_path.setText(str(name))

    def base_model(self) -> str:
        key = self.base_choice.currentData()
        return "default" if key == "default" else self.base_path.text().strip()

    def loss_names(self) -> list[str]:
        return [self.loss_combo.itemData(i) for i in range(self.loss_combo.count())]

    def config(self) -> Any:
        """The TrainConfig the form describes."""
        from stsstudio.core.training import TrainConfig

        try:
            lr: float | None = float(self.learning_rate.currentText())
        except ValueError:  # "Automatic", or text the validator let through half-typed
            lr = None
        return TrainConfig(
            base_model=self.base_model(),
            loss=self.loss_combo.currentData(),
            matryoshka=self.matryoshka.isChecked(),
            epochs=float(self.epochs.value()) or None,
            batch_size=int(self.batch_size.value()),
            learning_rate=lr,
            warmup_ratio=float(self.warmup.value()),
            max_seq_length=int(self.max_seq_length.value()) or None,
            seed=int(self.seed.value()),
            eval_steps=int(self.eval_steps.value()) or None,
            max_steps=int(self.max_steps.value()) or None,
            device=self.device_combo.currentData() or "auto",
            silver=self.silver_combo.currentData(),
            blend=self.blend_combo.currentData(),
            estimate=self.estimate_check.isChecked(),
        )

    def set_fields_enabled(self, enabled: bool) -> None:
        for w in (self.base_choice, self.base_path, self.browse_button, self.loss_combo, self.device_combo,
                  self.epochs, self.batch_size, self.learning_rate, self.max_seq_length, self.seed,
                  self.warmup, self.eval_steps, self.matryoshka, self.max_steps, self.silver_combo,
                  self.blend_combo, self.estimate_check):
            w.setEnabled(enabled)

    # ------------------------------------------------------------------------------------
    # Devices (listed by the view, in a worker)

    def set_devices(self, devices: list[tuple[str, str]]) -> None:
        current = self.device_combo.currentData()
        with QSignalBlocker(self.device_combo):
            self.device_combo.clear()
            self.device_combo.addItem("Automatic (best available)", "auto")
            if not any(dev_id == "cpu" for dev_id, _ in devices):
                devices = [*devices, ("cpu", "CPU")]
            for dev_id, label in devices:
                self.device_combo.addItem(label, dev_id)
            index = self.device_combo.findData(current)
            self.device_combo.setCurrentIndex(max(0, index))
        gpus = [label for dev_id, label in devices if dev_id != "cpu"]
        self.device_hint.setText(("Found: " + ", ".join(gpus) + ". ") if gpus else
                                 "No GPU found: training runs on the CPU (slower, but fine for "
                                 "a few thousand pairs).")
        self.device_combo.setToolTip("")

    def set_devices_failed(self, message: str) -> None:
        self.device_hint.setText(f"Could not list devices ({message}); the CPU is always available.")

    def device_labels(self) -> list[str]:
        return [self.device_combo.itemText(i) for i in range(self.device_combo.count())]

    # ------------------------------------------------------------------------------------
    # Data summary

    def show_plan(self, plan: Any, training: bool) -> None:
        """Show ``training.data_plan(...)``; Start is enabled when the plan can start."""
        if plan is None:
            self.counts_label.setText("Open a project to train a model on its labeled pairs.")
            self.warnings_label.setText("")
            self.start_button.setEnabled(False)
            return
        source = "dev" if not plan.held_out else "held-out"
        text = (f"Will train on <b>{plan.train:,}</b> labeled train pairs and evaluate on "
                f"<b>{plan.dev:,}</b> {source} pairs.")
        if plan.labeled_test:
            text += f" {plan.labeled_test:,} labeled test pairs stay untouched."
        self.counts_label.setText(text)
        schedule = getattr(plan, "schedule", None)
        self.schedule_label.setText(schedule.describe() + "." if schedule is not None and plan.can_start
                                    else "")
        if getattr(plan, "cv_folds", 0):
            text = (f"Will train on all <b>{plan.train:,}</b> labeled pairs; then a {plan.cv_folds}-fold "
                    "cross-validation measures the gain in the background.")
            if plan.labeled_test:
                text += f" {plan.labeled_test:,} labeled test pairs stay untouched."
            self.counts_label.setText(text)
        warnings = [*plan.problems, *([plan.hint] if getattr(plan, "hint", "") else []), *plan.notes]
        self.warnings_label.setText("<br>".join(f"⚠ {html.escape(w)}" for w in warnings))
        self.warnings_label.setVisible(bool(warnings))
        self.start_button.setEnabled(plan.can_start and not training)
        self.start_button.setToolTip(plan.problems[0] if plan.problems else "")

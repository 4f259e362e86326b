"""The Train view: the run form, live plots of a run in progress, and the run history.

Training runs through ``core.training.train`` in a :class:`TrainingWorker` (its own QThread).
The worker's signals land in slots of this view (GUI thread); they only append to buffers, and a
10 Hz timer pushes the buffers to the plots and labels, so a fast GPU cannot flood the window.
Nothing here imports torch at module import time: devices are listed in a worker once the ML
stack is ready.
"""

from __future__ import annotations

import html
import json
import math
import os
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Slot
from PySide6.QtGui import QColor, QDoubleValidator, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from stsstudio.gui.context import ProjectContext
from stsstudio.gui.plots import PALETTE, EvalPlot, LossPlot
from stsstudio.gui.training_worker import TrainingWorker
from stsstudio.gui.workers import FunctionWorker, start_worker

MIN_TRAIN_PAIRS = 10
MIN_DEV_PAIRS = 5

LOSSES = [
    ("cosine", "CosineSimilarity",
     "Regresses the cosine onto your scores. A safe default for graded 0–1 labels."),
    ("cosent", "CoSENT",
     "Learns only the ranking of pairs. Good when scores are consistent but not calibrated."),
    ("angle", "AnglE",
     "CoSENT in angle space; can help when many pairs are near-duplicates (cosine ≈ 1)."),
]

BASE_CHOICES = [
    ("default", "Embedded default (all-MiniLM-L6-v2)",
     "Ships with the app, works offline: 384-dim, fast on CPU."),
    ("folder", "Local model folder…",
     "A sentence-transformers or plain transformers folder on this computer."),
    ("hub", "Hugging Face Hub id",
     "e.g. org/model. Offline, it must already be in the local Hugging Face cache."),
]

HINT_STYLE = "color: #6b6b6b;"
STATUS_COLORS = {"finished": "#2a7d46", "running": "#2f6fdf", "cancelled": "#8a6d1f",
                 "failed": "#b3261e", "interrupted": "#b3261e"}


def _hint(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet(HINT_STYLE)
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


def _fmt_duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "–"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def _fmt_corr(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def describe_base_model(name: str | None) -> str:
    try:
        from stsstudio.core.models import describe_model

        return describe_model(name)
    except Exception:  # noqa: BLE001 - a label must never break the view
        return str(name or "default")


def explain_failure(message: str) -> str:
    """Add the next step to take to an engine failure message (unless it already says one)."""
    low = message.lower()
    if "out of memory" in low or "oom" in low.split():
        step = "Lower the batch size or the max sequence length, or train on the CPU."
    elif "nan" in low.split() or "nan " in low or "not a number" in low:
        step = "Lower the learning rate (e.g. 1e-5) or increase the warmup, then start again."
    elif "too few" in low or "at least" in low:
        step = "Label more pairs in the Label view (or assign a dev split in Pairs), then start again."
    elif "model" in low and ("not" in low or "missing" in low or "offline" in low or "cache" in low):
        step = "Choose the embedded default model, or a local model folder, then start again."
    else:
        step = "Check the log below; the project is unchanged and you can start again."
    if any(w in low for w in ("lower the", "label more", "choose ", "try ")):
        return message
    return f"{message}\n{step}"


def _list_devices_job() -> list[tuple[str, str]]:
    """Runs in a worker: importing torch takes seconds."""
    from stsstudio.core.devices import list_devices

    return [(d.id, d.label) for d in list_devices()]


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


class TrainView(QWidget):
    """Form, live plots and run history for fine-tuning on the open project."""

    # Keep one core for the GUI thread on small machines (torch would take them all).
    reserve_gui_core = True

    def __init__(self, ctx: ProjectContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.worker: TrainingWorker | None = None
        self._devices_worker: FunctionWorker | None = None
        self._devices_loaded = False
        self._run_id: int | None = None
        self._total_steps = 0
        self._step = 0
        self._epoch = 0.0
        self._t_first: float | None = None
        self._step_first = 0
        self._t_last_step: float | None = None
        self._batch_size = 16
        self._device_label = ""
        self._last_loss: float | None = None
        self._best_spearman: float | None = None
        self._baseline: float | None = None
        self._dirty = False
        self._log_every = 10
        self.last_status: str = ""          # "finished" | "cancelled" | "failed" after a run
        self.last_result: Any = None
        self.last_error: str = ""

        self._build_ui()

        self._timer = QTimer(self)
        self._timer.setInterval(100)         # ~10 Hz redraw
        self._timer.timeout.connect(self._on_tick)
        self._counts_timer = QTimer(self, singleShot=True, interval=0)
        self._counts_timer.timeout.connect(self.refresh_counts)

        ctx.projectChanged.connect(self._on_project_changed)
        ctx.pairsChanged.connect(self._schedule_counts)
        ctx.pairChanged.connect(self._schedule_counts)
        ctx.runsChanged.connect(self._on_runs_changed)
        ctx.mlReady.connect(self._on_ml_ready)
        self._on_project_changed()
        if getattr(ctx, "ml_ready", False):
            self._on_ml_ready()

    # ------------------------------------------------------------------------------------
    # UI

    def _build_ui(self) -> None:
        root = QHBoxLayout(self)
        root.setContentsMargins(10, 10, 10, 10)
        root.setSpacing(10)

        # Left: the form, scrollable so small windows never clip it.
        form_panel = QWidget()
        form_layout = QVBoxLayout(form_panel)
        form_layout.setContentsMargins(0, 0, 6, 0)
        form_layout.setSpacing(10)
        form_layout.addWidget(self._build_model_box())
        form_layout.addWidget(self._build_hyper_box())
        form_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(form_panel)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.setSpacing(8)
        left_layout.addWidget(scroll, 1)
        # The data summary and Start stay visible however long the form gets.
        left_layout.addWidget(self._build_data_box())
        left.setMinimumWidth(360)
        left.setMaximumWidth(420)
        root.addWidget(left)

        # Right: status, plots, history/log.
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.setSpacing(8)
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setVisible(False)
        self.banner.setTextInteractionFlags(Qt.TextSelectableByMouse)
        right_layout.addWidget(self.banner)
        right_layout.addWidget(self._build_status_box())

        plots = QSplitter(Qt.Horizontal)
        self.loss_plot = LossPlot()
        self.eval_plot = EvalPlot()
        for plot in (self.loss_plot, self.eval_plot):
            plot.setFrameShape(QFrame.StyledPanel)
        plots.addWidget(self.loss_plot)
        plots.addWidget(self.eval_plot)
        plots.setChildrenCollapsible(False)

        bottom = QTabWidget()
        bottom.addTab(self._build_history(), "Run history")
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(2000)
        self.log.setLineWrapMode(QPlainTextEdit.NoWrap)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.Monospace)
        mono.setPointSizeF(max(8.0, self.font().pointSizeF() - 1))
        self.log.setFont(mono)
        bottom.addTab(self.log, "Log")
        self.bottom_tabs = bottom

        vsplit = QSplitter(Qt.Vertical)
        vsplit.addWidget(plots)
        vsplit.addWidget(bottom)
        vsplit.setStretchFactor(0, 3)
        vsplit.setStretchFactor(1, 2)
        vsplit.setSizes([430, 230])
        vsplit.setChildrenCollapsible(False)
        right_layout.addWidget(vsplit, 1)
        root.addWidget(right, 1)

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
        for key, label, _ in LOSSES:
            self.loss_combo.addItem(label, key)
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
        grid = QGridLayout()
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(6)
        grid.setColumnStretch(2, 1)
        grid.setColumnMinimumWidth(0, 92)       # same label column as the Advanced grid

        self.epochs = QDoubleSpinBox(decimals=1, minimum=0.1, maximum=100, singleStep=1.0)
        self.epochs.setValue(float(defaults.epochs))
        self.batch_size = QDoubleSpinBox(decimals=0, minimum=2, maximum=1024, singleStep=8)
        self.batch_size.setValue(defaults.batch_size)
        self.learning_rate = QComboBox(editable=True)
        for lr in ("1e-5", "2e-5", "3e-5", "5e-5", "1e-4"):
            self.learning_rate.addItem(lr)
        self.learning_rate.setCurrentText(f"{defaults.learning_rate:g}")
        validator = QDoubleValidator(1e-8, 1.0, 10, self)
        validator.setNotation(QDoubleValidator.ScientificNotation)
        self.learning_rate.lineEdit().setValidator(validator)
        self.max_seq_length = QDoubleSpinBox(decimals=0, minimum=0, maximum=8192, singleStep=32)
        self.max_seq_length.setSpecialValueText("model's own")
        self.max_seq_length.setValue(defaults.max_seq_length or 0)
        self.seed = QDoubleSpinBox(decimals=0, minimum=0, maximum=2**31 - 1)
        self.seed.setValue(defaults.seed)
        rows = [("Epochs", self.epochs, "Passes over the data; 1–4 is typical."),
                ("Batch size", self.batch_size, "Lower it if memory runs out."),
                ("Learning rate", self.learning_rate, "Lower it if the loss jumps or is NaN."),
                ("Max length", self.max_seq_length, "Tokens per sentence; the rest is cut."),
                ("Seed", self.seed, "Same seed and data, same model.")]
        for i, (label, widget, hint) in enumerate(rows):
            _grid_row(grid, i, label, widget, hint)
        layout.addLayout(grid)

        adv = QWidget()
        adv_grid = QGridLayout(adv)
        adv_grid.setContentsMargins(0, 0, 0, 0)
        adv_grid.setHorizontalSpacing(8)
        adv_grid.setVerticalSpacing(6)
        adv_grid.setColumnStretch(2, 1)
        adv_grid.setColumnMinimumWidth(0, 92)
        self.warmup = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=0.5, singleStep=0.05)
        self.warmup.setValue(defaults.warmup_ratio)
        self.eval_steps = QDoubleSpinBox(decimals=0, minimum=0, maximum=1_000_000, singleStep=10)
        self.eval_steps.setSpecialValueText("auto")
        self.eval_steps.setValue(defaults.eval_steps or 0)
        self.max_steps = QDoubleSpinBox(decimals=0, minimum=0, maximum=10_000_000, singleStep=10)
        self.max_steps.setSpecialValueText("no cap")
        self.max_steps.setValue(defaults.max_steps or 0)
        self.matryoshka = QCheckBox("Matryoshka")
        self.matryoshka.setChecked(defaults.matryoshka)
        rows = [("Warmup", self.warmup, "Share of steps with a rising learning rate."),
                ("Eval every", self.eval_steps, "Steps between dev evaluations (auto: ~10)."),
                ("Max steps", self.max_steps, "Stop here, whatever the epochs say."),
                ("", self.matryoshka, "Also train truncatable shorter embeddings.")]
        for i, (label, widget, hint) in enumerate(rows):
            _grid_row(adv_grid, i, label, widget, hint)
        self.advanced = CollapsibleSection("Advanced", adv)
        self.advanced.set_expanded(True)
        layout.addWidget(self.advanced)
        for spin in (self.epochs, self.batch_size, self.max_seq_length, self.seed, self.warmup,
                     self.eval_steps, self.max_steps):
            spin.setAlignment(Qt.AlignRight)
            spin.setKeyboardTracking(False)
        return box

    def _build_data_box(self) -> QGroupBox:
        box = QGroupBox("Data")
        layout = QVBoxLayout(box)
        layout.setSpacing(6)
        self.counts_label = QLabel()
        self.counts_label.setWordWrap(True)
        self.warnings_label = QLabel()
        self.warnings_label.setWordWrap(True)
        self.warnings_label.setStyleSheet("color: #8a5a00;")
        layout.addWidget(self.counts_label)
        layout.addWidget(self.warnings_label)
        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start training")
        self.start_button.setDefault(True)
        self.start_button.setMinimumHeight(30)
        self.start_button.setStyleSheet(
            "QPushButton { background: #2f6fdf; color: white; font-weight: 600; border-radius: 4px;"
            " padding: 4px 14px; } QPushButton:disabled { background: #a9bde6; }")
        self.start_button.clicked.connect(self.start_training)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setMinimumHeight(30)
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_training)
        buttons.addWidget(self.start_button, 1)
        buttons.addWidget(self.cancel_button)
        layout.addLayout(buttons)
        return box

    def _build_status_box(self) -> QFrame:
        frame = QFrame()
        frame.setFrameShape(QFrame.StyledPanel)
        grid = QGridLayout(frame)
        grid.setContentsMargins(10, 8, 10, 8)
        grid.setHorizontalSpacing(18)
        grid.setVerticalSpacing(4)
        self.state_label = QLabel("Ready")
        font = self.state_label.font()
        font.setBold(True)
        self.state_label.setFont(font)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("no run yet")
        self.progress.setTextVisible(True)
        self.progress.setMinimumWidth(200)
        grid.addWidget(self.state_label, 0, 0)
        grid.addWidget(self.progress, 0, 1, 1, 5)
        self.epoch_label = QLabel()
        self.eta_label = QLabel()
        self.speed_label = QLabel()
        self.device_label = QLabel()
        self.loss_label = QLabel()
        self.best_label = QLabel()
        # Fixed-size cells: a label whose text changes must not re-run the layout (which would
        # repaint the whole view, plots included, at every refresh).
        self.state_label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)
        self.state_label.setMinimumWidth(130)
        for col, (title, label) in enumerate((("Epoch", self.epoch_label), ("ETA", self.eta_label),
                                              ("Throughput", self.speed_label),
                                              ("Device", self.device_label), ("Loss", self.loss_label),
                                              ("Best dev Spearman", self.best_label))):
            label.setText("–")
            label.setTextInteractionFlags(Qt.TextSelectableByMouse)
            label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)
            label.setMinimumWidth(60)
            cell = QLabel(title)
            cell.setStyleSheet("color: #6b6b6b;")
            if title == "ETA":
                self.eta_header = cell
            box = QVBoxLayout()
            box.setSpacing(0)
            box.addWidget(cell)
            box.addWidget(label)
            grid.addLayout(box, 1, col)
        for col in range(6):
            grid.setColumnStretch(col, 1)
        frame.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Fixed)
        return frame

    def _build_history(self) -> QWidget:
        panel = QWidget()
        layout = QHBoxLayout(panel)
        layout.setContentsMargins(4, 4, 4, 4)
        self.history = QTableWidget(0, 6)
        self.history.setHorizontalHeaderLabels(["Run", "Started", "Base model", "Loss", "Status",
                                                "Best dev ρ"])
        self.history.verticalHeader().setVisible(False)
        self.history.verticalHeader().setDefaultSectionSize(24)
        self.history.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.history.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.history.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.history.setAlternatingRowColors(True)
        self.history.setWordWrap(False)
        header = self.history.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.Interactive)
        header.setSectionResizeMode(2, QHeaderView.Stretch)
        header.setMinimumSectionSize(36)
        for col, width in ((0, 40), (1, 96), (3, 58), (4, 76), (5, 114)):
            self.history.setColumnWidth(col, width)
        self.history.itemSelectionChanged.connect(self._on_history_selection)
        layout.addWidget(self.history, 3)

        side = QVBoxLayout()
        self.details = QLabel("Select a run to see its settings. Select two to compare their curves.")
        self.details.setWordWrap(True)
        self.details.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.details.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.details.setStyleSheet("color: #404040;")
        details_scroll = QScrollArea()
        details_scroll.setWidget(self.details)
        details_scroll.setWidgetResizable(True)
        details_scroll.setFrameShape(QFrame.NoFrame)
        side.addWidget(details_scroll, 1)
        self.resume_button = QPushButton("Resume run")
        self.resume_button.setEnabled(False)
        self.resume_button.setToolTip("Continue an interrupted or cancelled run from its last checkpoint.")
        self.resume_button.clicked.connect(self.resume_selected)
        side.addWidget(self.resume_button)
        side_widget = QWidget()
        side_widget.setLayout(side)
        side_widget.setMinimumWidth(190)
        side_widget.setMaximumWidth(240)
        layout.addWidget(side_widget, 1)
        return panel

    # ------------------------------------------------------------------------------------
    # Form

    @Slot()
    def _on_base_choice(self) -> None:
        key = self.base_choice.currentData()
        self.base_path_row.setVisible(key != "default")
        self.browse_button.setVisible(key == "folder")
        self.base_path.setPlaceholderText("/path/to/model-folder" if key == "folder" else "org/model-name")
        self.base_hint.setText(next(h for k, _, h in BASE_CHOICES if k == key))

    @Slot()
    def _on_loss_choice(self) -> None:
        self.loss_hint.setText(LOSSES[self.loss_combo.currentIndex()][2])

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

    def config(self) -> Any:
        """The TrainConfig the form describes."""
        from stsstudio.core.training import TrainConfig

        try:
            lr = float(self.learning_rate.currentText())
        except ValueError:
            lr = self._defaults.learning_rate
        return TrainConfig(
            base_model=self.base_model(),
            loss=self.loss_combo.currentData(),
            matryoshka=self.matryoshka.isChecked(),
            epochs=float(self.epochs.value()),
            batch_size=int(self.batch_size.value()),
            learning_rate=lr,
            warmup_ratio=float(self.warmup.value()),
            max_seq_length=int(self.max_seq_length.value()) or None,
            seed=int(self.seed.value()),
            eval_steps=int(self.eval_steps.value()) or None,
            max_steps=int(self.max_steps.value()) or None,
            device=self.device_combo.currentData() or "auto",
        )

    def _set_form_enabled(self, enabled: bool) -> None:
        for w in (self.base_choice, self.base_path, self.browse_button, self.loss_combo, self.device_combo,
                  self.epochs, self.batch_size, self.learning_rate, self.max_seq_length, self.seed,
                  self.warmup, self.eval_steps, self.matryoshka, self.max_steps):
            w.setEnabled(enabled)

    # ------------------------------------------------------------------------------------
    # Project state

    @Slot()
    def _on_project_changed(self) -> None:
        project = self.ctx.project
        if project is not None and not self.is_training():
            self.set_base_model(project.base_model)
        self.loss_plot.clear_overlays()
        self.eval_plot.clear_overlays()
        if not self.is_training():
            self.loss_plot.clear_live()
            self.eval_plot.clear_live()
            self._reset_status()
        self.reload_history()
        self.refresh_counts()

    @Slot()
    def _schedule_counts(self, *_: object) -> None:
        self._counts_timer.start()

    @Slot()
    def _on_runs_changed(self) -> None:
        self.reload_history()

    def refresh_counts(self) -> None:
        project = self.ctx.project
        if project is None or project.closed:
            self.counts_label.setText("Open a project to train a model on its labeled pairs.")
            self.warnings_label.setText("")
            self.start_button.setEnabled(False)
            return
        labeled = project.counts().labeled_splits
        train, dev = labeled.get("train", 0), labeled.get("dev", 0)
        test = labeled.get("test", 0)
        self.train_pairs, self.dev_pairs = train, dev
        # The engine's rule: with no dev split it holds out 10 % of the train pairs, at least 5.
        holdout = max(MIN_DEV_PAIRS, round(train * 0.1)) if dev == 0 and train else 0
        if dev:
            text = (f"Will train on <b>{train:,}</b> labeled train pairs and evaluate on "
                    f"<b>{dev:,}</b> dev pairs.")
        else:
            text = (f"Will train on <b>{train - holdout:,}</b> labeled train pairs and evaluate on "
                    f"<b>{holdout:,}</b> held-out pairs.")
        if test:
            text += f" {test:,} labeled test pairs stay untouched."
        self.counts_label.setText(text)
        warnings: list[str] = []
        blocked = False
        if train - holdout < MIN_TRAIN_PAIRS:
            need = MIN_TRAIN_PAIRS + holdout if dev == 0 else MIN_TRAIN_PAIRS
            warnings.append(f"Too few labeled train pairs ({train}): label at least {need} "
                            "in the Label view.")
            blocked = True
        elif train < 100:
            warnings.append("Fewer than 100 train pairs: expect a small, noisy improvement.")
        if dev == 0 and train:
            warnings.append("No dev split: a seeded 10 % of the train pairs is held out for evaluation. "
                            "Assign a dev split in Pairs for a stable comparison between runs.")
        elif 0 < dev < MIN_DEV_PAIRS:
            warnings.append(f"Too few labeled dev pairs ({dev}): label at least {MIN_DEV_PAIRS}.")
            blocked = True
        elif 0 < dev < 30:
            warnings.append(f"Only {dev} dev pairs: the dev Spearman will be noisy.")
        self.warnings_label.setText("<br>".join(f"⚠ {html.escape(w)}" for w in warnings))
        self.warnings_label.setVisible(bool(warnings))
        self.start_button.setEnabled(not blocked and not self.is_training())
        self.start_button.setToolTip(warnings[0] if blocked else "")

    @Slot()
    def _on_ml_ready(self) -> None:
        if self._devices_loaded or self._devices_worker is not None:
            return
        worker = FunctionWorker(_list_devices_job)
        worker.finished.connect(self._on_devices)
        worker.failed.connect(self._on_devices_failed)
        self._devices_worker = worker
        start_worker(worker)

    @Slot(object)
    def _on_devices(self, devices: list[tuple[str, str]]) -> None:
        self._devices_worker = None
        self._devices_loaded = True
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

    @Slot(str, str)
    def _on_devices_failed(self, message: str, _details: str) -> None:
        self._devices_worker = None
        self.device_hint.setText(f"Could not list devices ({message}); the CPU is always available.")

    def device_labels(self) -> list[str]:
        return [self.device_combo.itemText(i) for i in range(self.device_combo.count())]

    # ------------------------------------------------------------------------------------
    # Run control

    def is_training(self) -> bool:
        return self.worker is not None

    @Slot()
    def start_training(self) -> None:
        """Start a run with the form's settings (no-op while one runs)."""
        if self.is_training() or self.ctx.project is None:
            return
        config = self.config()
        if config.base_model == "":
            self._show_banner("Enter a model folder or a Hub id, or choose the embedded default.", "error")
            return
        self._batch_size = config.batch_size
        self._begin(TrainingWorker(self.ctx.project, config, num_threads=self._num_threads()),
                    f"Starting a run: {describe_base_model(config.base_model)}, {config.loss} loss, "
                    f"{config.epochs:g} epoch(s), batch {config.batch_size}, lr {config.learning_rate:g}")

    @Slot()
    def resume_selected(self) -> None:
        runs = self.selected_run_ids()
        if len(runs) != 1 or self.is_training() or self.ctx.project is None:
            return
        run = self.ctx.project.run(runs[0])
        if run is None:
            return
        self._batch_size = int(run.config.get("batch_size", 16) or 16)
        worker = TrainingWorker(self.ctx.project, resume_run=run.id, num_threads=self._num_threads())
        self._begin(worker, f"Resuming run {run.id} from its last checkpoint")
        metrics = self.ctx.project.metrics(run.id)
        # Continue the curves where they stopped.
        for step, value in metrics.get("loss", []):
            self.loss_plot.live.append(step, value)
        sp = dict(metrics.get("dev_spearman", []))
        for step, value in metrics.get("dev_pearson", []):
            if step in sp:
                self.eval_plot.add_point(step, sp[step], value)
        self.eval_plot.set_baseline(run.base_dev_spearman)
        self._run_id = run.id
        self._dirty = True

    def _num_threads(self) -> int | None:
        if not self.reserve_gui_core:
            return None
        cores = os.cpu_count() or 1
        return max(1, cores - 1) if cores <= 8 else None

    def _begin(self, worker: TrainingWorker, message: str) -> None:
        self.banner.setVisible(False)
        self.last_status = ""
        self.last_error = ""
        self.last_result = None
        self._run_id = None
        self._total_steps = 0
        self._step = 0
        self._epoch = 0.0
        self._t_first = None
        self._t_last_step = None
        self._last_loss = None
        self._best_spearman = None
        self._baseline = None
        self._device_label = ""
        with QSignalBlocker(self.history):
            self.history.clearSelection()
        self.loss_plot.clear_overlays()
        self.eval_plot.clear_overlays()
        self.loss_plot.clear_live()
        self.eval_plot.clear_live()
        self.log.clear()
        self._log(message)
        self.state_label.setText("Loading model…")
        # Not the busy animation (range 0, 0): it repaints ~20 times a second for nothing.
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("preparing the run…")
        for label in (self.epoch_label, self.eta_label, self.speed_label, self.loss_label, self.best_label):
            label.setText("–")
        self.device_label.setText(self.device_combo.currentText())
        self.eta_header.setText("ETA")
        worker.runStarted.connect(self._on_started)
        worker.progressed.connect(self._on_progressed)
        worker.metricsLogged.connect(self._on_metrics)
        worker.evaluated.connect(self._on_evaluated)
        worker.checkpointSaved.connect(self._on_checkpoint)
        worker.statusChanged.connect(self._on_status)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        worker.cancelled.connect(self._on_cancelled)
        worker.done.connect(self._on_done)
        self.worker = worker
        self._set_form_enabled(False)
        self.start_button.setEnabled(False)
        self.resume_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText("Cancel")
        self._timer.start()
        start_worker(worker)

    @Slot()
    def cancel_training(self) -> None:
        """Ask the run to stop; the engine stops within one step and keeps the last checkpoint."""
        if self.worker is None:
            return
        self.worker.cancel()
        self.cancel_button.setEnabled(False)
        self.cancel_button.setText("Cancelling…")
        self.state_label.setText("Cancelling…")
        self._log("Cancel requested; stopping after the current step.")

    # ------------------------------------------------------------------------------------
    # Worker events (GUI thread; cheap: append and mark dirty)

    @Slot(int, str)
    def _on_started(self, total_steps: int, device: str) -> None:
        self._total_steps = int(total_steps)
        self._device_label = device
        self._log_every = max(1, self._total_steps // 25)
        self.progress.setRange(0, max(1, self._total_steps))
        self.progress.setValue(0)
        if self._total_steps:
            self.loss_plot.set_x_extent(self._total_steps)
            self.eval_plot.set_x_extent(self._total_steps)
        self.state_label.setText("Training")
        self._log(f"Training {self._total_steps} steps on {device}.")
        project = self.ctx.project
        if project is not None:
            running = [r for r in project.runs() if r.status == "running"]
            if running:
                self._run_id = running[-1].id
        self._dirty = True
        self.ctx.runsChanged.emit()

    @Slot(int, int)
    def _on_progressed(self, step: int, total: int) -> None:
        if total:
            self._total_steps = total
        self._dirty = True

    @Slot(object)
    def _on_metrics(self, batch: list[tuple[int, float, float, float]]) -> None:
        now = time.monotonic()
        live = self.loss_plot.live
        for step, loss, _lr, epoch in batch:
            if self._t_first is None:
                self._t_first, self._step_first = now, step
            if step // self._log_every != self._step // self._log_every or step == 1:
                self._log(f"step {step:>6}  loss {loss:.4f}  lr {_lr:.2e}  epoch {epoch:.2f}")
            live.append(step, loss)
            self._step, self._epoch, self._last_loss = step, epoch, loss
        self._t_last_step = now
        self._dirty = True

    @Slot(int, float, float)
    def _on_evaluated(self, step: int, spearman: float, pearson: float) -> None:
        if step == 0 or self._baseline is None and self.eval_plot.spearman.n == 0:
            self._baseline = spearman
            self.eval_plot.set_baseline(spearman)
        self.eval_plot.add_point(step, spearman, pearson)
        if math.isfinite(spearman) and (self._best_spearman is None or spearman > self._best_spearman):
            self._best_spearman = spearman
        label = "baseline" if step == 0 else f"step {step}"
        self._log(f"dev @ {label}: Spearman {spearman:.4f}  Pearson {pearson:.4f}")
        self._dirty = True

    @Slot(str)
    def _on_checkpoint(self, path: str) -> None:
        self._log(f"checkpoint saved: {path}")

    @Slot(str)
    def _on_status(self, message: str) -> None:
        self._log(message)
        if self.worker is not None and not self.worker.task.is_cancelled():
            self.state_label.setText(message if len(message) < 40 else message[:38] + "…")

    @Slot(object)
    def _on_finished(self, result: Any) -> None:
        if getattr(result, "status", "finished") == "cancelled":
            self._on_cancelled()
            return
        self.last_status = "finished"
        self.last_result = result
        self._run_id = getattr(result, "run_id", self._run_id)
        best = getattr(result, "dev_spearman", None)
        base = getattr(result, "base_dev_spearman", None)
        gain = f" (baseline {base:.3f}, {best - base:+.3f})" if best is not None and base is not None else ""
        self._log(f"Finished in {_fmt_duration(getattr(result, 'seconds', None))}: "
                  f"best dev Spearman {_fmt_corr(best)}{gain}.")
        self.state_label.setText("Finished")
        self._show_banner(f"Run {self._run_id} finished: best dev Spearman {_fmt_corr(best)}{gain}. "
                          "Try it in the Try view, or export it.", "ok")

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        self.last_status = "failed"
        self.last_error = message
        self.last_result = self.worker.result if self.worker is not None else None
        text = explain_failure(message)
        self._log("FAILED: " + text.replace("\n", " "))
        if details:
            for line in details.rstrip().splitlines()[-12:]:
                self._log("  " + line)
        self.state_label.setText("Failed")
        self._show_banner(text, "error")

    @Slot()
    def _on_cancelled(self) -> None:
        self.last_status = "cancelled"
        self.last_result = self.worker.result if self.worker is not None else None
        self._log("Cancelled. The last checkpoint is kept; select the run and Resume to continue.")
        self.state_label.setText("Cancelled")
        self._show_banner("Run cancelled. Its last checkpoint is kept: select it in the history and "
                          "press Resume to continue.", "warn")

    @Slot()
    def _on_done(self) -> None:
        self.worker = None
        self._timer.stop()
        self._on_tick(force=True)
        if self._total_steps == 0:
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            self.progress.setFormat(self.last_status or "stopped")
        self._set_form_enabled(True)
        self.cancel_button.setEnabled(False)
        self.cancel_button.setText("Cancel")
        self.refresh_counts()
        self.ctx.runsChanged.emit()        # reloads the history
        if self._run_id is not None:
            self.select_runs([self._run_id], show_curves=False)

    # ------------------------------------------------------------------------------------
    # Redraw (10 Hz)

    @Slot()
    def _on_tick(self, force: bool = False) -> None:
        if not (self._dirty or force):
            return
        self._dirty = False
        self.loss_plot.refresh()
        self.eval_plot.refresh()
        if self._total_steps:
            self.progress.setMaximum(self._total_steps)
            self.progress.setValue(min(self._step, self._total_steps))
            self.progress.setFormat(f"step {self._step:,} / {self._total_steps:,}  (%p%)")
        self.epoch_label.setText(f"{self._epoch:.2f}" if self._step else "–")
        if self._t_first is not None and self._t_last_step is not None and self._step > self._step_first:
            elapsed = self._t_last_step - self._t_first
            rate = (self._step - self._step_first) / elapsed if elapsed > 0 else 0.0
            if rate > 0:
                self.speed_label.setText(f"{rate * self._batch_size:,.1f} pairs/s")
                remaining = (self._total_steps - self._step) / rate if self._total_steps else None
                self.eta_label.setText(_fmt_duration(remaining) if self.worker is not None else "done")
        self.device_label.setText(self._device_label or self.device_label.text())
        self.loss_label.setText(f"{self._last_loss:.4f}" if self._last_loss is not None else "–")
        if self._best_spearman is not None:
            base = f"  (base {self._baseline:.3f})" if self._baseline is not None else ""
            self.best_label.setText(f"{self._best_spearman:.3f}{base}")

    # ------------------------------------------------------------------------------------
    # History

    def reload_history(self) -> None:
        project = self.ctx.project
        selected = set(self.selected_run_ids())
        with QSignalBlocker(self.history):
            self.history.setRowCount(0)
            if project is None or project.closed:
                return
            runs = list(reversed(project.runs()))   # newest first
            self.history.setRowCount(len(runs))
            for row, run in enumerate(runs):
                started = time.strftime("%b %d %H:%M", time.localtime(run.created_at))
                steps = f"{run.steps}/{run.total_steps}" if run.total_steps else (str(run.steps or "–"))
                best = run.best_dev_spearman
                best_text = _fmt_corr(best)
                if best is not None and run.base_dev_spearman is not None:
                    best_text += f"  ({best - run.base_dev_spearman:+.3f})"
                cells = [str(run.id), started, describe_base_model(run.base_model), run.loss,
                         f"{run.status}" + (f" ({steps})" if run.status != "finished" and run.total_steps
                                            else ""), best_text]
                tooltip = self._run_tooltip(run)
                for col, text in enumerate(cells):
                    item = QTableWidgetItem(text)
                    item.setData(Qt.UserRole, run.id)
                    item.setToolTip(tooltip)
                    if col in (0, 5):
                        item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                    if col == 4:
                        item.setForeground(QColor(STATUS_COLORS.get(run.status, "#404040")))
                    self.history.setItem(row, col, item)
                if run.id in selected:
                    self.history.selectRow(row)
        # Keep the plots as they are: a reload is not a new selection.
        self._on_history_selection(show_curves=False)

    @staticmethod
    def _run_tooltip(run: Any) -> str:
        cfg = json.dumps(run.config, indent=1, sort_keys=True, default=str)
        return f"Run {run.id} — {run.status}\n{cfg}"

    def selected_run_ids(self) -> list[int]:
        ids: list[int] = []
        for index in self.history.selectionModel().selectedRows():
            run_id = self.history.item(index.row(), 0).data(Qt.UserRole)
            if run_id not in ids:
                ids.append(int(run_id))
        return sorted(ids)

    def select_runs(self, run_ids: list[int], show_curves: bool = True) -> None:
        with QSignalBlocker(self.history):
            self.history.clearSelection()
            mode = self.history.selectionMode()
            self.history.setSelectionMode(QAbstractItemView.MultiSelection)
            for row in range(self.history.rowCount()):
                if self.history.item(row, 0).data(Qt.UserRole) in run_ids:
                    self.history.selectRow(row)
            self.history.setSelectionMode(mode)
        self._on_history_selection(show_curves=show_curves)

    def history_run_ids(self) -> list[int]:
        return [int(self.history.item(r, 0).data(Qt.UserRole)) for r in range(self.history.rowCount())]

    @Slot()
    def _on_history_selection(self, show_curves: bool = True) -> None:
        project = self.ctx.project
        ids = self.selected_run_ids()
        runs = [r for i in ids if project is not None and (r := project.run(i)) is not None]
        self.resume_button.setEnabled(len(runs) == 1 and runs[0].status in ("interrupted", "cancelled")
                                      and not self.is_training())
        self.details.setText(self._details_html(runs))
        if show_curves:
            self._show_run_curves(runs)
        if len(runs) == 1 and not self.is_training():
            self._show_run_status(runs[0])

    def _details_html(self, runs: list[Any]) -> str:
        if not runs:
            return ("<span style='color:#6b6b6b'>Select a run to see its settings. "
                    "Select two to compare their curves.</span>")
        if len(runs) > 1:
            rows = "".join(f"<li><span style='color:{PALETTE[i % len(PALETTE)]}'>■</span> run {r.id}: "
                           f"{html.escape(r.loss)}, best {_fmt_corr(r.best_dev_spearman)}</li>"
                           for i, r in enumerate(runs))
            return f"<b>Comparing {len(runs)} runs</b><ul style='margin-left:-20px'>{rows}</ul>"
        run = runs[0]
        cfg = run.config or {}
        keys = [("epochs", "Epochs"), ("batch_size", "Batch size"), ("learning_rate", "Learning rate"),
                ("warmup_ratio", "Warmup"), ("max_seq_length", "Max length"), ("seed", "Seed"),
                ("eval_steps", "Eval every"), ("max_steps", "Max steps"), ("matryoshka", "Matryoshka")]
        lines = [f"<b>Run {run.id}</b> · <span style='color:{STATUS_COLORS.get(run.status, '#404040')}'>"
                 f"{html.escape(run.status)}</span>",
                 f"{html.escape(describe_base_model(run.base_model))}, {html.escape(run.loss)} loss"]
        table = "".join(f"<tr><td style='color:#6b6b6b;padding-right:8px'>{label}</td>"
                        f"<td>{html.escape(str(cfg.get(key)))}</td></tr>"
                        for key, label in keys if key in cfg)
        extra = [f"Device: {html.escape(str(run.device or '–'))}",
                 f"Time: {_fmt_duration(run.seconds)}",
                 f"Dev Spearman: {_fmt_corr(run.base_dev_spearman)} → {_fmt_corr(run.best_dev_spearman)}"]
        if run.message:
            extra.append(f"<span style='color:#8a5a00'>{html.escape(run.message)}</span>")
        return "<br>".join(lines) + f"<table style='margin-top:4px'>{table}</table>" + "<br>".join(extra)

    def _show_run_curves(self, runs: list[Any]) -> None:
        """Overlay the stored curves of the selected runs (the live run's stay as they are)."""
        project = self.ctx.project
        self.loss_plot.clear_overlays()
        self.eval_plot.clear_overlays()
        if not self.is_training():
            self.loss_plot.clear_live()
            self.eval_plot.clear_live()
        if project is None:
            return
        if len(runs) == 1 and not self.is_training():
            # One run: show it like a live run (raw + smoothed loss, Spearman and Pearson).
            run = runs[0]
            metrics = project.metrics(run.id)
            for step, value in metrics.get("loss", []):
                self.loss_plot.live.append(step, value)
            pearson = dict(metrics.get("dev_pearson", []))
            for step, value in metrics.get("dev_spearman", []):
                self.eval_plot.add_point(step, value, pearson.get(step, float("nan")))
            self.loss_plot.refresh()
            self.eval_plot.refresh()
            self.loss_plot.ranges.reset()
            self.eval_plot.ranges.reset()
            self.eval_plot.set_baseline(run.base_dev_spearman)
            return
        baseline = None
        for i, run in enumerate(r for r in runs if r.id != (self._run_id if self.is_training() else None)):
            metrics = project.metrics(run.id)
            color = PALETTE[i % len(PALETTE)]
            loss = metrics.get("loss", [])
            if loss:
                steps, values = zip(*loss)
                self.loss_plot.add_overlay(f"run {run.id}", steps, values, color)
            self.eval_plot.add_overlay(f"run {run.id}", metrics.get("dev_spearman", []),
                                       metrics.get("dev_pearson", []), color)
            if baseline is None:
                baseline = run.base_dev_spearman
        if not self.is_training():
            self.eval_plot.set_baseline(baseline)
            for plot in (self.loss_plot, self.eval_plot):
                plot.getPlotItem().enableAutoRange()

    def _show_run_status(self, run: Any) -> None:
        """When idle, the status strip summarises the selected run."""
        total = run.total_steps or run.steps or 0
        steps = run.steps or 0
        self.state_label.setText(f"Run {run.id}: {run.status}")
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(min(steps, max(1, total)))
        self.progress.setFormat(f"step {steps:,} / {total:,}" if total else run.status)
        cfg = run.config or {}
        metrics = self.ctx.project.metrics(run.id) if self.ctx.project is not None else {}
        loss = metrics.get("loss", [])
        epochs = cfg.get("epochs")
        self.epoch_label.setText(f"{epochs:g}" if isinstance(epochs, (int, float)) else "–")
        self.eta_header.setText("Time")
        self.eta_label.setText(_fmt_duration(run.seconds) if run.seconds else "–")
        if run.seconds and steps:
            bs = int(cfg.get("batch_size", 16) or 16)
            self.speed_label.setText(f"{steps * bs / run.seconds:,.1f} pairs/s")
        else:
            self.speed_label.setText("–")
        self.device_label.setText(str(run.device or "–"))
        self.loss_label.setText(f"{loss[-1][1]:.4f}" if loss else "–")
        base = f"  (base {run.base_dev_spearman:.3f})" if run.base_dev_spearman is not None else ""
        self.best_label.setText(f"{_fmt_corr(run.best_dev_spearman)}{base}")

    def _reset_status(self) -> None:
        self.state_label.setText("Ready")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("no run yet")
        for label in (self.epoch_label, self.eta_label, self.speed_label, self.device_label,
                      self.loss_label, self.best_label):
            label.setText("–")

    # ------------------------------------------------------------------------------------
    # Messages

    def _log(self, text: str) -> None:
        self.log.appendPlainText(f"{time.strftime('%H:%M:%S')}  {text}")

    def _show_banner(self, text: str, kind: str) -> None:
        colors = {"ok": ("#e7f4ea", "#2a7d46"), "warn": ("#fdf4e0", "#8a5a00"),
                  "error": ("#fbe9e7", "#b3261e")}
        bg, fg = colors.get(kind, colors["warn"])
        self.banner.setStyleSheet(f"QLabel {{ background: {bg}; color: {fg}; border: 1px solid {fg};"
                                  " border-radius: 4px; padding: 6px 10px; }")
        self.banner.setText(html.escape(text).replace("\n", "<br>"))
        self.banner.setVisible(True)

    # ------------------------------------------------------------------------------------
    # Screenshot

    def prepare_for_screenshot(self) -> None:
        """Show the latest finished run's curves (for ``stsstudio screenshot --view train``)."""
        self.refresh_counts()
        self.reload_history()
        project = self.ctx.project
        if project is None:
            return
        if not self._devices_loaded:
            try:
                self._on_devices(_list_devices_job())
            except Exception:  # noqa: BLE001 - the combo keeps Automatic and CPU
                pass
        finished = [r for r in project.runs() if r.status == "finished"]
        if finished:
            self.select_runs([finished[-1].id])
            self.bottom_tabs.setCurrentIndex(0)

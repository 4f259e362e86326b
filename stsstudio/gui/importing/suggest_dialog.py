"""The "Suggest pairs…" dialog: sentence pool, planned mix by stratum, preview, then add.

All rules live in :mod:`stsstudio.core.suggest` (strata, plan, dedup, splits); the dialog
shows :func:`plan_mix` as the user edits the mix and runs :func:`suggest_pairs` in a worker,
first as a preview (nothing written), then for real.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from stsstudio.core.changes import Changes
from stsstudio.core.errors import UserError
from stsstudio.core.formats import dialog_filter, in_words
from stsstudio.core.sentences import import_sentences
from stsstudio.core.suggest import STRATA, SuggestOptions, SuggestResult, plan_mix, suggest_pairs
from stsstudio.gui.common.context import ProjectContext
from stsstudio.gui.common.workers import JobRunner

PREVIEW_PER_STRATUM = 3


def _preview(project: Any, options: SuggestOptions, task: Any = None) -> SuggestResult:
    return suggest_pairs(project, options, commit=False, task=task)


def _commit(project: Any, options: SuggestOptions, task: Any = None) -> SuggestResult:
    return suggest_pairs(project, options, commit=True, task=task)


class SuggestPairsDialog(QDialog):
    """Plan, preview and add suggested pairs. Emits ``pairsAdded(first_pair_id)``."""

    pairsAdded = Signal(int)

    def __init__(self, ctx: ProjectContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.result: SuggestResult | None = None
        self.setWindowTitle("Suggest pairs")
        self.resize(900, 600)
        self._job = JobRunner(self)
        self._job.finished.connect(self._on_finished)
        self._job.failed.connect(self._on_failed)
        self._job.cancelled.connect(self._on_cancelled)
        self._job.progressed.connect(self._on_progress)
        self._job.busyChanged.connect(self._on_busy)
        self._committing = False
        self._pool_size = 0

        col = QVBoxLayout(self)
        col.addLayout(self._build_pool_row())
        top = QHBoxLayout()
        top.addWidget(self._build_pairs_box(), 1)
        top.addWidget(self._build_mix_box(), 2)
        col.addLayout(top)
        col.addWidget(self._build_preview(), 1)
        self.status = QLabel("Preview shows a few pairs of each stratum; nothing is written until "
                             "you add the pairs.")
        self.status.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        col.addWidget(self.status)
        col.addWidget(self.progress)
        col.addWidget(self._build_buttons())

        self._fill_models()
        self.refresh_pool()
        self._update_plan()

    # -- construction --------------------------------------------------------------------

    def _build_pool_row(self) -> QHBoxLayout:
        pool_row = QHBoxLayout()
        self.pool_label = QLabel()
        self.pool_label.setWordWrap(True)
        self.import_button = QPushButton("Import sentences…")
        self.import_button.clicked.connect(self._on_import_clicked)
        pool_row.addWidget(self.pool_label, 1)
        pool_row.addWidget(self.import_button)
        return pool_row

    def _build_pairs_box(self) -> QGroupBox:
        form_box = QGroupBox("Pairs")
        form = QFormLayout(form_box)
        self.pairs_spin = QSpinBox()
        self.pairs_spin.setRange(1, 100_000)
        self.pairs_spin.setValue(500)
        self.pairs_spin.valueChanged.connect(self._update_plan)
        self.model_combo = QComboBox()
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        self.dev_spin = QDoubleSpinBox()
        self.dev_spin.setRange(0.0, 0.5)
        self.dev_spin.setSingleStep(0.05)
        self.dev_spin.setValue(0.1)
        self.dev_spin.setToolTip("Share of sentences not yet in a split that go to dev. A sentence "
                                 "keeps its split, so none is in both train and dev pairs.")
        form.addRow("Number of pairs", self.pairs_spin)
        form.addRow("Model", self.model_combo)
        form.addRow("Seed", self.seed_spin)
        form.addRow("Dev share", self.dev_spin)
        return form_box

    def _build_mix_box(self) -> QGroupBox:
        """One row per stratum of core's table: on/off, its cosine span, its weight, its pairs."""
        mix_box = QGroupBox("Planned mix by predicted similarity")
        grid = QGridLayout(mix_box)
        for c, text in enumerate(("Stratum", "Predicted cosine", "Weight", "Pairs")):
            head = QLabel(f"<b>{text}</b>")
            grid.addWidget(head, 0, c)
        self.stratum_checks: dict[str, QCheckBox] = {}
        self.weight_spins: dict[str, QSpinBox] = {}
        self.count_labels: dict[str, QLabel] = {}
        for r, st in enumerate(STRATA, start=1):
            check = QCheckBox(st.label)
            check.setChecked(True)
            check.setToolTip(st.help)
            check.toggled.connect(self._update_plan)
            low, high = max(st.low, -1.0), min(st.high, 1.0)
            span = QLabel(f"{low:.2f} – {high:.2f}" if low > -1 else f"below {high:.2f}")
            weight = QSpinBox()
            weight.setRange(0, 100)
            weight.setSuffix(" %")
            weight.setValue(int(round(st.share * 100)))
            weight.valueChanged.connect(self._update_plan)
            count = QLabel()
            count.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
            grid.addWidget(check, r, 0)
            grid.addWidget(span, r, 1)
            grid.addWidget(weight, r, 2)
            grid.addWidget(count, r, 3)
            self.stratum_checks[st.name] = check
            self.weight_spins[st.name] = weight
            self.count_labels[st.name] = count
        self.plan_note = QLabel()
        self.plan_note.setWordWrap(True)
        grid.addWidget(self.plan_note, len(STRATA) + 1, 0, 1, 4)
        return mix_box

    def _build_preview(self) -> QTreeWidget:
        self.preview = QTreeWidget()
        self.preview.setHeaderLabels(["Cosine", "Sentence 1", "Sentence 2", "Split"])
        self.preview.setRootIsDecorated(True)
        self.preview.setUniformRowHeights(True)
        header = self.preview.header()
        header.setSectionResizeMode(0, QHeaderView.Fixed)
        header.setSectionResizeMode(1, QHeaderView.Stretch)
        header.setSectionResizeMode(2, QHeaderView.Stretch)
        header.setSectionResizeMode(3, QHeaderView.Fixed)
        header.resizeSection(0, 90)
        header.resizeSection(3, 60)
        return self.preview

    def _build_buttons(self) -> QDialogButtonBox:
        self.buttons = QDialogButtonBox()
        self.preview_button = self.buttons.addButton("Preview", QDialogButtonBox.ActionRole)
        self.add_button = self.buttons.addButton("Add pairs", QDialogButtonBox.AcceptRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.Close)
        self.preview_button.clicked.connect(self.start_preview)
        self.add_button.clicked.connect(self.start_commit)
        self.cancel_button.clicked.connect(self._on_close_clicked)
        return self.buttons

    # -- state ---------------------------------------------------------------------------

    def _fill_models(self) -> None:
        self.model_combo.clear()
        self.model_combo.addItem("Base model", "base")
        project = self.ctx.project
        if project is None:
            return
        for run in project.runs.all():
            if run.model_dir and run.status in ("finished", "cancelled"):
                score = f", dev {run.best_dev_spearman:.3f}" if run.best_dev_spearman is not None else ""
                self.model_combo.addItem(f"Run {run.id}{score}", f"run:{run.id}")

    def refresh_pool(self) -> None:
        project = self.ctx.project
        counts = project.pool.split_counts() if project is not None else {"sentences": 0}
        n = self._pool_size = counts["sentences"]
        if not n:
            self.pool_label.setText("The sentence pool is empty. Import a file with one text column "
                                    f"({in_words('sentences')}).")
        else:
            parts = [f"{counts[k]:,} {k}" for k in ("train", "dev", "test", "unassigned") if counts.get(k)]
            self.pool_label.setText(f"<b>{n:,}</b> sentences in the pool ({', '.join(parts)}).")
        self.preview_button.setEnabled(n >= 2)
        self.add_button.setEnabled(n >= 2)

    def options(self) -> SuggestOptions:
        strata = tuple(n for n, c in self.stratum_checks.items() if c.isChecked())
        mix = {n: float(self.weight_spins[n].value()) for n in strata}
        return SuggestOptions(pairs=self.pairs_spin.value(), strata=strata, mix=mix,
                              model=self.model_combo.currentData() or "base",
                              seed=self.seed_spin.value(), dev_fraction=self.dev_spin.value())

    @Slot()
    def _update_plan(self) -> None:
        opts = self.options()
        try:
            plan = plan_mix(opts.pairs, opts.strata, opts.mix) if opts.strata else {}
            self.plan_note.setText("")
        except UserError as exc:
            plan = {}
            self.plan_note.setText(str(exc))
        for name, label in self.count_labels.items():
            label.setText(f"{plan[name]:,}" if name in plan else "–")
        ok = bool(plan) and sum(plan.values()) > 0
        has_pool = self._pool_size >= 2  # counted by refresh_pool, not on every keystroke
        self.preview_button.setEnabled(ok and has_pool)
        self.add_button.setEnabled(ok and has_pool)

    # -- actions -------------------------------------------------------------------------

    @Slot()
    def _on_import_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Import sentences", "", dialog_filter("sentences", "Sentences", each=False))
        if path:
            self.import_file(path)

    def import_file(self, path: str) -> None:
        """Add a file's sentences to the pool (in a worker)."""
        self._committing = False
        self.status.setText(f"Importing {path}…")
        self._job.start(import_sentences, self.ctx.project, path)

    @Slot()
    def start_preview(self) -> None:
        self._committing = False
        self.status.setText("Embedding the pool and choosing pairs…")
        self._job.start(_preview, self.ctx.project, self.options())

    @Slot()
    def start_commit(self) -> None:
        self._committing = True
        self.status.setText("Adding the suggested pairs…")
        self._job.start(_commit, self.ctx.project, self.options())

    @Slot()
    def _on_close_clicked(self) -> None:
        if self._job.is_running():
            self._job.cancel()
            return
        self.reject()

    def reject(self) -> None:
        self._job.cancel(quiet=True)
        super().reject()

    # -- worker results ------------------------------------------------------------------

    @Slot(bool)
    def _on_busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.progress.setRange(0, 0)
        self.preview_button.setEnabled(not busy)
        self.add_button.setEnabled(not busy)
        self.import_button.setEnabled(not busy)
        self.cancel_button.setText("Cancel" if busy else "Close")

    @Slot(int, int)
    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    @Slot(object)
    def _on_finished(self, result: object) -> None:
        if not isinstance(result, SuggestResult):  # an import of sentences
            self.status.setText(f"Added {getattr(result, 'imported', 0):,} sentences to the pool "
                                f"({getattr(result, 'duplicates', 0):,} duplicates dropped).")
            self.refresh_pool()
            self._update_plan()
            return
        self.result = result
        self._show_preview(result)
        made = ", ".join(f"{k} {v:,}" for k, v in result.made.items())
        warn = (" " + " ".join(result.warnings)) if result.warnings else ""
        if self._committing:
            self.status.setText(f"Added {result.inserted:,} unlabeled pairs ({made}).{warn}")
            self.ctx.apply(Changes.new_pairs())
            self.refresh_pool()
            if result.first_id is not None:
                self.pairsAdded.emit(result.first_id)
            self.accept()
        else:
            self.status.setText(f"Preview of {len(result.pairs):,} pairs ({made}); embedding "
                                f"{result.seconds_embed:.1f} s, search {result.seconds_search:.1f} s.{warn}")

    def _show_preview(self, result: SuggestResult) -> None:
        self.preview.clear()
        for st in STRATA:
            pairs = [p for p in result.pairs if p.stratum == st.name]
            if st.name not in result.made:
                continue
            top = QTreeWidgetItem([f"{st.label}", f"{len(pairs):,} pairs", "", ""])
            font = top.font(0)
            font.setBold(True)
            top.setFont(0, font)
            top.setFirstColumnSpanned(False)
            self.preview.addTopLevelItem(top)
            for p in pairs[:PREVIEW_PER_STRATUM]:
                item = QTreeWidgetItem([f"{p.predicted:.2f}", p.sentence1, p.sentence2, p.split])
                item.setToolTip(1, p.sentence1)
                item.setToolTip(2, p.sentence2)
                top.addChild(item)
            top.setExpanded(True)

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        self.status.setText(message)

    @Slot()
    def _on_cancelled(self) -> None:
        self.status.setText("Cancelled; nothing was written.")

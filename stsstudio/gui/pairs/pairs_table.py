"""The pair table: a million pairs, browsed like Anki's browser.

``PairTableModel`` holds only the ids of the rows, filtered and sorted by SQLite; ``data()``
fetches a page of pairs by id on a cache miss into a small LRU. Filtering, searching and
sorting re-run the query; there is no QSortFilterProxyModel. The view uses fixed row heights,
no word wrap and elided text, so its cost does not grow with the number of rows.

On a big project a filtered or sorted query takes a second or more (SQLite scans and sorts every
row; the schema deliberately has no index but the primary key, see core/store/schema.py). Those
queries run in a worker thread on a read-only connection of their own, so the window keeps
painting and the table keeps showing the previous rows with a busy indicator until the new ids
arrive. Small projects and the id-order shortcut stay synchronous (a few milliseconds).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QAction, QColor, QFont, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QProgressBar,
    QStackedWidget,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from stsstudio.core.formats import in_words
from stsstudio.core.scales import format_delta, format_score, scale_text
from stsstudio.core.store import PAIR_FILTERS, SORTABLE_COLUMNS, SPLITS, Pair, Project
from stsstudio.gui.common import style
from stsstudio.gui.common.context import ProjectContext
from stsstudio.gui.common.undo import DeleteCommand, FlagCommand, SplitCommand
from stsstudio.gui.common.widgets import (
    FLAG_COLOR,
    MUTED_TEXT,
    PAIR_ID_ROLE,
    SCORE_ROLE,
    EmptyState,
    ScoreBarDelegate,
    icon,
    mute,
)
from stsstudio.gui.common.workers import JobRunner

PAGE_SIZE = 200
MAX_CACHED_PAGES = 40          # 8,000 rows: a few screens either way of every place visited
ASYNC_ROWS = 50_000            # from this many pairs on, slow queries leave the GUI thread
FLAG_GLYPH = "\u2691"          # ⚑

# (key in the store's SORTABLE_COLUMNS, header text)
COLUMNS: list[tuple[str, str]] = [
    ("id", "#"),
    ("sentence1", "Sentence 1"),
    ("sentence2", "Sentence 2"),
    ("score", "Score"),
    ("split", "Split"),
    ("annotator", "Annotator"),
    ("labels", "Labels"),      # annotators and their spread (issue 15); not sortable
    ("flagged", FLAG_GLYPH),
    ("note", "Note"),
]
COL = {key: i for i, (key, _) in enumerate(COLUMNS)}
FILTER_TITLES = {"all": "All", "unlabeled": "Unlabeled", "labeled": "Labeled", "flagged": "Flagged"}


def _one_line(text: str | None) -> str:
    if not text:
        return ""
    return " ".join(text.split()) if ("\n" in text or "\t" in text) else text


def query_ids(project: Project, *, filter: str = "all", split: str | None = None,
              search: str | None = None, order_by: str = "id",
              descending: bool = False) -> Sequence[int]:
    """The ids of the rows, in order. A ``range`` when they are one contiguous run.

    Pulling a million single-int rows through Python's sqlite3 takes about a second. The
    common case, every pair in file order, needs none of it: when COUNT(*) equals
    MAX(id) - MIN(id) + 1 the ids are exactly that range (ids are unique integers). These three
    queries use the index and the rowid b-tree and take milliseconds.
    """
    if filter == "all" and not split and not search and order_by == "id":
        count, lo, hi = project.pairs.id_span()
        if count == 0:
            return range(0)
        if hi - lo + 1 == count:
            return range(hi, lo - 1, -1) if descending else range(lo, hi + 1)
    return project.pairs.query_ids(filter=filter, split=split, search=search or None,
                                  order_by=order_by, descending=descending)


def _is_shortcut(filter: str, split: str | None, search: str | None, order_by: str) -> bool:
    """Whether query_ids can answer from the id range (milliseconds at any size)."""
    return filter == "all" and not split and not search and order_by == "id"


def query_ids_in_thread(path: object, **query: object) -> Sequence[int]:
    """query_ids on a read-only connection of its own (a worker thread's function).

    The GUI's connection is left free: its lock is not held for the second the query takes, so
    page fetches and label writes in the GUI thread never wait for it. WAL lets both read.
    """
    reader = Project.open(path, readonly=True)   # type: ignore[arg-type]
    try:
        return query_ids(reader, **query)   # type: ignore[arg-type]
    finally:
        reader.close()


# The roles data() answers; any other role gets None before the row is even fetched.
_DATA_ROLES = (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole, SCORE_ROLE, PAIR_ID_ROLE,
               Qt.ItemDataRole.TextAlignmentRole, Qt.ItemDataRole.ForegroundRole)


def _alignment(key: str) -> int:
    """A column's alignment, for its header and its cells alike."""
    if key == "id":
        return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    if key == "flagged":
        return int(Qt.AlignmentFlag.AlignCenter)
    return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)


class PairTableModel(QAbstractTableModel):
    """Rows are pair ids from one SQLite query; pairs are fetched in pages on demand."""

    queryChanged = Signal()   # the ids were re-queried (counts may have changed)
    busyChanged = Signal(bool)  # a query runs in a worker thread (True) or no longer (False)

    def __init__(self, ctx: ProjectContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.ids: Sequence[int] = range(0)
        self.filter = "all"
        self.split: str | None = None
        self.search = ""
        self.order_by = "id"
        self.descending = False
        self._pages: OrderedDict[int, list[Pair | None]] = OrderedDict()
        self._label_counts: dict[int, tuple[int, float]] = {}  # of cached rows: (annotators, spread)
        self.page_fetches = 0   # how many pages were read (benches and tests look at it)
        self.async_rows = ASYNC_ROWS   # tests lower it to drive the worker path on small data
        self.busy = False
        self._querier = JobRunner(self)   # latest query wins; a late answer is dropped
        self._querier.finished.connect(self._on_query_done)
        self._querier.failed.connect(self._on_query_failed)
        self._muted = MUTED_TEXT
        self._flag = FLAG_COLOR
        self.scale: str | None = None       # the project's display scale (the Score column)
        self.extra_keys: list[str] = []     # metadata columns after COLUMNS (the file's own)
        ctx.pairChanged.connect(self._on_pair_changed)

    # -- the query -----------------------------------------------------------------------

    def set_query(self, *, filter: str | None = None, split: str | None = "",
                  search: str | None = None, order_by: str | None = None,
                  descending: bool | None = None) -> None:
        """Change any part of the query and re-run it. ``split=""`` keeps the current split."""
        if filter is not None:
            if filter not in PAIR_FILTERS:
                raise ValueError(f"unknown filter {filter!r}")
            self.filter = filter
        if split != "":
            self.split = split or None
        if search is not None:
            self.search = search.strip()
        if order_by is not None:
            self.order_by = order_by
        if descending is not None:
            self.descending = descending
        self._start_query()

    def _query(self) -> dict[str, object]:
        return {"filter": self.filter, "split": self.split, "search": self.search or None,
                "order_by": self.order_by, "descending": self.descending}

    def _start_query(self) -> None:
        """Re-run the query, in a worker thread when it would freeze the window."""
        project = self.ctx.project
        if project is None or project.closed or _is_shortcut(self.filter, self.split, self.search,
                                                              self.order_by):
            self.requery()
            return
        # MAX(id) is a b-tree lookup: a cheap upper bound of the row count.
        size = project.pairs.max_id()
        if size < self.async_rows:
            self.requery()
            return
        self._set_busy(True)
        self._querier.start(query_ids_in_thread, project.path, **self._query())

    @Slot(object)
    def _on_query_done(self, ids: Sequence[int]) -> None:
        project = self.ctx.project
        if project is None or project.closed:
            self.requery()
            return
        self._apply(ids)
        self._set_busy(False)

    @Slot(str, str)
    def _on_query_failed(self, message: str, _details: str) -> None:
        # A read-only connection can fail where the main one works (a locked-down folder):
        # answer on the GUI thread instead, slower but correct.
        self.requery()

    def _set_busy(self, busy: bool) -> None:
        if busy != self.busy:
            self.busy = busy
            self.busyChanged.emit(busy)

    def requery(self) -> None:
        """Re-run the query now, on the GUI thread (after an import, a delete...)."""
        self._querier.cancel(quiet=True)   # any query still running in a worker is out of date
        project = self.ctx.project
        if project is None or project.closed:
            ids: Sequence[int] = range(0)
        else:
            ids = query_ids(project, **self._query())   # type: ignore[arg-type]
        self._apply(ids)
        self._set_busy(False)

    def _apply(self, ids: Sequence[int]) -> None:
        self.beginResetModel()
        project = self.ctx.project
        live = project is not None and not project.closed
        self.scale = project.display_scale() if live else None
        self.extra_keys = project.pairs.metadata_keys() if live else []
        self.ids = ids
        self._pages.clear()
        self._label_counts.clear()
        self.endResetModel()
        self.queryChanged.emit()

    def pair_id(self, row: int) -> int:
        return int(self.ids[row])

    def rows_of(self, pair_ids: Sequence[int]) -> dict[int, int]:
        """Rows of some pair ids in the current query (those not in it are left out)."""
        ids = self.ids
        if isinstance(ids, range):
            return {i: ids.index(i) for i in pair_ids if i in ids}
        wanted = set(pair_ids)
        if not wanted:
            return {}
        if len(wanted) < 8:   # a few C-speed scans beat building a map of every row
            return {i: ids.index(i) for i in wanted if i in ids}
        return {i: row for row, i in enumerate(ids) if i in wanted}

    def pair_at(self, row: int) -> Pair | None:
        if not 0 <= row < len(self.ids):
            return None
        page_no, offset = divmod(row, PAGE_SIZE)
        page = self._pages.get(page_no)
        if page is None:
            page = self._fetch_page(page_no)
        else:
            self._pages.move_to_end(page_no)
        return page[offset]

    def _fetch_page(self, page_no: int) -> list[Pair | None]:
        project = self.ctx.project
        ids = self.ids[page_no * PAGE_SIZE:(page_no + 1) * PAGE_SIZE]
        found = project.pairs.by_ids(list(ids)) if project is not None and not project.closed else {}
        page = [found.get(i) for i in ids]
        if found:
            self._label_counts.update(project.labels.summaries(list(found)))
        self._pages[page_no] = page
        self.page_fetches += 1
        while len(self._pages) > MAX_CACHED_PAGES:
            _, dropped = self._pages.popitem(last=False)
            for pair in dropped:
                if pair is not None:
                    self._label_counts.pop(pair.id, None)
        return page

    def _on_pair_changed(self, pair_id: int) -> None:
        """Refresh one row if it is cached (an uncached row is read fresh when shown)."""
        project = self.ctx.project
        for page_no, page in self._pages.items():
            for offset, pair in enumerate(page):
                if pair is not None and pair.id == pair_id:
                    page[offset] = project.pairs.get(pair_id) if project is not None else None
                    self._label_counts.pop(pair_id, None)
                    if project is not None:
                        self._label_counts.update(project.labels.summaries([pair_id]))
                    row = page_no * PAGE_SIZE + offset
                    self.dataChanged.emit(self.index(row, 0), self.index(row, self.columnCount() - 1))
                    return

    # -- QAbstractTableModel ------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.ids)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(COLUMNS) + len(self.extra_keys)

    def column_key(self, column: int) -> str:
        """The key of a column: one of COLUMNS, else ``meta:<name>`` (an imported column)."""
        if column < len(COLUMNS):
            return COLUMNS[column][0]
        return "meta:" + self.extra_keys[column - len(COLUMNS)]

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal:
            return None
        if section >= len(COLUMNS):
            name = self.extra_keys[section - len(COLUMNS)] if section - len(COLUMNS) < len(
                self.extra_keys) else ""
            if role == Qt.ItemDataRole.DisplayRole:
                return name
            if role == Qt.ItemDataRole.ToolTipRole:
                return f"{name}: a column of the imported file, kept with each pair (searchable)"
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            if COLUMNS[section][0] == "score" and self.scale and self.scale != "0-1":
                return f"Score ({scale_text(self.scale)})"
            return COLUMNS[section][1]
        if role == Qt.ItemDataRole.ToolTipRole:
            key = COLUMNS[section][0]
            return {"id": "Pair number (file order)", "flagged": "Flagged for review",
                    "labels": "How many annotators labelled the pair, and Δ, the spread of their "
                              "labels (largest minus smallest)"}.get(
                key, f"Sort by {COLUMNS[section][1].lower()}")
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _alignment(COLUMNS[section][0])
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        if role not in _DATA_ROLES:
            return None
        key = self.column_key(index.column())
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _alignment(key)
        pair = self.pair_at(index.row())
        if pair is None:
            return None
        if role == PAIR_ID_ROLE:
            return pair.id
        if role == SCORE_ROLE:
            return pair.score
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._foreground(key)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(pair, key)
        return self._display(pair, key)

    def _foreground(self, key: str) -> QColor | None:
        if key == "flagged":
            return self._flag
        if key in ("id", "split", "annotator", "note", "labels"):
            return self._muted
        return None

    def _tooltip(self, pair: Pair, key: str) -> str | None:
        if key in ("sentence1", "sentence2", "note"):
            text = getattr(pair, key)
            return f"<p style='white-space:pre-wrap'>{_html(text)}</p>" if text else None
        if key == "score" and pair.score is not None:
            return (f"{format_score(pair.score, self.scale)} on {scale_text(self.scale)} "
                    f"(labeled by {pair.annotator or 'unknown'})")
        if key == "flagged" and pair.flagged:
            return "Flagged for review"
        if key == "labels" and pair.id in self._label_counts:
            n, spread = self._label_counts[pair.id]
            return (f"{n} annotator{'s' if n != 1 else ''}"
                    + (f"; their labels differ by up to {format_delta(spread, self.scale)}" if n > 1 else ""))
        return None

    def _display(self, pair: Pair, key: str) -> str | None:
        if key == "id":
            return str(pair.id)
        if key in ("sentence1", "sentence2"):
            return _one_line(getattr(pair, key))
        if key == "score":
            if pair.score is None:
                return ""
            return format_score(pair.score, self.scale)
        if key.startswith("meta:"):
            value = (pair.metadata or {}).get(key[5:])
            return "" if value is None else _one_line(str(value))
        if key == "split":
            return "" if pair.split == "none" else pair.split
        if key == "annotator":
            return pair.annotator or ""
        if key == "flagged":
            return FLAG_GLYPH if pair.flagged else ""
        if key == "note":
            return _one_line(pair.note)
        if key == "labels":
            n, spread = self._label_counts.get(pair.id, (0, 0.0))
            return "" if n == 0 else str(n) if n == 1 else f"{n}  Δ{format_delta(spread, self.scale)}"
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        key = self.column_key(column)
        if key not in SORTABLE_COLUMNS:
            return
        descending = order == Qt.SortOrder.DescendingOrder
        if key == self.order_by and descending == self.descending and self.rowCount() > 0:
            return
        self.order_by, self.descending = key, descending
        self._start_query()


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


NARROW_TABLE = 900   # px of table below which the note narrows and the labels column hides
META_MAX = (120, 84)  # px: an imported column's widest start (wide, narrow table); drag for more
SENTENCE_MIN = 160    # px each sentence column keeps; below it the table scrolls sideways


class PairTableView(QTableView):
    """The table itself: fixed row heights, elided single lines, Enter opens the pair."""

    openRequested = Signal(int)   # row

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setShowGrid(False)
        self.setAlternatingRowColors(True)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setCornerButtonEnabled(False)
        vh = self.verticalHeader()
        vh.setVisible(False)
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vh.setDefaultSectionSize(self.fontMetrics().height() + 12)
        vh.setMinimumSectionSize(self.fontMetrics().height() + 4)
        hh = self.horizontalHeader()
        hh.setHighlightSections(False)
        hh.setSectionsMovable(True)
        hh.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        hh.setMinimumSectionSize(28)
        self.setSortingEnabled(True)
        self.doubleClicked.connect(self._on_double_clicked)

    def setup_columns(self) -> None:
        """Sensible initial widths: the sentences share the free space, the rest is compact."""
        hh = self.horizontalHeader()
        fm = self.fontMetrics()
        fixed = {"id": fm.horizontalAdvance("0000000") + 16, "score": 118,
                 "split": fm.horizontalAdvance("train") + 34,
                 "annotator": fm.horizontalAdvance("Annotator") + 34,
                 "labels": fm.horizontalAdvance("3  Δ0.00") + 24,
                 "flagged": fm.horizontalAdvance(FLAG_GLYPH) + 22, "note": 150}
        for key, width in fixed.items():
            hh.setSectionResizeMode(COL[key], QHeaderView.ResizeMode.Interactive)
            hh.resizeSection(COL[key], width)
        for key in ("sentence1", "sentence2"):
            hh.setSectionResizeMode(COL[key], QHeaderView.ResizeMode.Stretch)
        self.setItemDelegateForColumn(COL["score"], ScoreBarDelegate(self))
        self._narrow: bool | None = None
        self._meta_sized = 0
        self.model().modelReset.connect(self._size_meta_columns)
        self._fit_to_width()
        self._size_meta_columns()

    def _size_meta_columns(self) -> None:
        """Imported columns (case_id, rater, ...) start compact: the sentences take the stretch,
        metadata a capped width (the header's text, at most META_MAX); the user can drag wider."""
        hh, fm = self.horizontalHeader(), self.fontMetrics()
        count = self.model().columnCount() if self.model() is not None else 0
        if count == self._meta_sized and getattr(self, "_meta_narrow", None) == self._narrow:
            return
        self._meta_sized, self._meta_narrow = count, self._narrow
        cap = META_MAX[1 if self._narrow else 0]
        for column in range(len(COLUMNS), count):
            title = str(self.model().headerData(column, Qt.Orientation.Horizontal) or "")
            hh.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            hh.resizeSection(column, max(56, min(cap, fm.horizontalAdvance(title) + 28)))
        self._fit_sentences()

    def resizeEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt override
        super().resizeEvent(event)
        self._fit_to_width()
        self._fit_sentences()

    def _fit_sentences(self) -> None:
        """The sentences share the free width (stretch); when the other columns leave them less
        than SENTENCE_MIN each, they keep that width and the table scrolls sideways to the
        imported columns, instead of showing "Three …"."""
        hh = self.horizontalHeader()
        if self.model() is None or hh.count() <= COL["sentence2"]:
            return
        sentences = (COL["sentence1"], COL["sentence2"])
        others = sum(hh.sectionSize(c) for c in range(hh.count())
                     if c not in sentences and not hh.isSectionHidden(c))
        roomy = self.viewport().width() - others >= 2 * SENTENCE_MIN
        mode = QHeaderView.ResizeMode.Stretch if roomy else QHeaderView.ResizeMode.Interactive
        for column in sentences:
            if hh.sectionResizeMode(column) != mode:
                hh.setSectionResizeMode(column, mode)
                if not roomy:
                    hh.resizeSection(column, SENTENCE_MIN)

    def _fit_to_width(self) -> None:
        """On a small screen (a 1024-pixel window) the sentences keep room to be read: the note
        column narrows and the annotator-count column hides (its figures are in the Label view)."""
        narrow = self.viewport().width() < NARROW_TABLE
        if narrow == getattr(self, "_narrow", None):
            return
        self._narrow = narrow
        self.horizontalHeader().resizeSection(COL["note"], 70 if narrow else 150)
        self.setColumnHidden(COL["labels"], narrow)
        if getattr(self, "_meta_sized", None) is not None:
            self._size_meta_columns()

    def keyPressEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt override
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.openRequested.emit(self.currentIndex().row())
            return
        super().keyPressEvent(event)

    def _on_double_clicked(self, index: QModelIndex) -> None:
        if index.isValid():
            self.openRequested.emit(index.row())


class PairsView(QWidget):
    """Filters, search and the pair table, with bulk edits (split, flag, delete) that undo."""

    SEARCH_DELAY_MS = 250

    def __init__(self, ctx: ProjectContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.model = PairTableModel(ctx, self)
        self._total = 0

        top = self._build_toolbar()
        self._build_selection_actions()
        self._build_table()
        bottom = self._build_status_row()
        table_page = self._build_table_page(top, bottom)

        self.empty = EmptyState(
            "No pairs yet",
            f"Import sentence pairs from a {in_words('pairs')} file, or a Hugging Face "
            "dataset, to start labelling.", "Import pairs…", icon_name="import")
        self.empty.actionTriggered.connect(self._on_import_clicked)

        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(table_page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)

        self.model.queryChanged.connect(self._update_counts)
        self.model.busyChanged.connect(self._on_busy_changed)
        self.model.modelReset.connect(self._update_actions)
        ctx.projectChanged.connect(self._on_project_changed)
        ctx.pairsChanged.connect(self._on_pairs_changed)
        self._on_project_changed()

    # -- construction (parts of __init__) -------------------------------------------------

    def _build_toolbar(self) -> QHBoxLayout:
        """Filters, split and search, over the table."""
        self._build_filter_bar()
        self.split_combo = QComboBox()
        self.split_combo.addItem("All splits", None)
        for split in SPLITS:
            self.split_combo.addItem("No split" if split == "none" else split.capitalize(), split)
        self.split_combo.setToolTip("Show one split only")
        self.split_combo.currentIndexChanged.connect(self._on_split_changed)

        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText("Search sentences, notes and imported columns")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.addAction(icon("search", style.color("icon_soft"), 16),
                                   QLineEdit.ActionPosition.LeadingPosition)
        self.search_edit.setMinimumWidth(220)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(self.SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self._on_search_timeout)
        self.search_edit.textChanged.connect(self._search_timer.start)
        self.search_edit.returnPressed.connect(self._on_search_timeout)

        top = QHBoxLayout()
        top.setSpacing(10)
        top.addWidget(self.filter_bar)
        top.addWidget(self.split_combo)
        top.addStretch(1)
        top.addWidget(self.search_edit, 2)
        return top

    def _build_filter_bar(self) -> None:
        """The segmented filter buttons (all, unlabeled, ...)."""
        self.filter_group = QButtonGroup(self)
        self.filter_group.setExclusive(True)
        self.filter_bar = QWidget()
        # Scoped: the table paints unstyled (fast).
        self.filter_bar.setStyleSheet(style.sheet(_SEGMENT_STYLE))
        filter_bar = QHBoxLayout(self.filter_bar)
        filter_bar.setContentsMargins(0, 0, 0, 0)
        filter_bar.setSpacing(0)
        self.filter_buttons: dict[str, QToolButton] = {}
        for i, name in enumerate(PAIR_FILTERS):
            button = QToolButton()
            button.setText(FILTER_TITLES[name])
            button.setCheckable(True)
            button.setChecked(name == "all")
            button.setObjectName(f"filter_{name}")
            button.setProperty("segment", "first" if i == 0 else
                               "last" if i == len(PAIR_FILTERS) - 1 else "middle")
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            self.filter_group.addButton(button, i)
            self.filter_buttons[name] = button
            filter_bar.addWidget(button)
        self.filter_group.idToggled.connect(self._on_filter_toggled)

    def _build_selection_actions(self) -> None:
        """Set split, flag, delete and label: actions on the selected pairs."""
        self.split_menu = QMenu("Set split", self)
        self.split_actions: dict[str, QAction] = {}
        for split in SPLITS:
            act = self.split_menu.addAction("No split" if split == "none" else split.capitalize())
            act.setData(split)
            act.triggered.connect(self._on_split_action)
            self.split_actions[split] = act
        self.split_button = QToolButton()
        self.split_button.setText("Set split \u25be")
        self.split_button.setObjectName("splitButton")
        self.split_button.setStyleSheet("QToolButton::menu-indicator { image: none; width: 0px; }")
        self.split_button.setMenu(self.split_menu)
        self.split_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.split_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)

        self.flag_action = QAction(icon("flag", style.color("icon")), "Flag", self)
        self.flag_action.setToolTip("Flag the selected pairs for review (toggle)")
        self.flag_action.triggered.connect(self.toggle_flag_selected)
        self.delete_action = QAction("Delete", self)
        self.delete_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        self.delete_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.delete_action.setToolTip("Delete the selected pairs (Ctrl+Z brings them back)")
        self.delete_action.triggered.connect(self.delete_selected)
        self.open_action = QAction(icon("label", style.color("icon")), "Label", self)
        self.open_action.setToolTip("Open the current pair in the labelling view (Enter)")
        self.open_action.triggered.connect(self._on_open_current)
        self.flag_button = QToolButton()
        self.flag_button.setDefaultAction(self.flag_action)
        self.flag_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.delete_button = QToolButton()
        self.delete_button.setDefaultAction(self.delete_action)
        self.open_button = QToolButton()
        self.open_button.setDefaultAction(self.open_action)
        self.open_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.addAction(self.delete_action)

    def _build_table(self) -> None:
        self.table = PairTableView()
        self.table.setModel(self.model)
        self.table.setup_columns()
        self.table.horizontalHeader().setSortIndicator(COL["id"], Qt.SortOrder.AscendingOrder)
        self.table.openRequested.connect(self._on_open_row)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._on_context_menu)
        self.table.selectionModel().selectionChanged.connect(self._update_actions)

    def _build_status_row(self) -> QHBoxLayout:
        """Under the table: busy bar, counts, selection, and the selection's buttons."""
        self.count_label = QLabel()
        self.count_label.setObjectName("pairCount")
        mute(self.count_label)
        self.selection_label = QLabel()
        mute(self.selection_label)
        # Shown while a slow query runs in a worker: the table keeps the previous rows meanwhile.
        self.busy_bar = QProgressBar()
        self.busy_bar.setRange(0, 0)           # indeterminate
        self.busy_bar.setTextVisible(False)
        self.busy_bar.setFixedSize(80, 6)
        self.busy_bar.setVisible(False)
        self.busy_bar.setToolTip("Querying the pairs…")
        bottom = QHBoxLayout()
        bottom.setSpacing(6)
        bottom.addWidget(self.busy_bar)
        bottom.addWidget(self.count_label)
        bottom.addSpacing(12)
        bottom.addWidget(self.selection_label)
        bottom.addStretch(1)
        bottom.addWidget(self.open_button)
        bottom.addWidget(self.split_button)
        bottom.addWidget(self.flag_button)
        bottom.addWidget(self.delete_button)
        return bottom

    def _build_table_page(self, top: QHBoxLayout, bottom: QHBoxLayout) -> QWidget:
        table_page = QWidget()
        tl = QVBoxLayout(table_page)
        tl.setContentsMargins(16, 14, 16, 12)
        tl.setSpacing(10)
        title = QLabel("Pairs")
        f = QFont(title.font())
        f.setPointSizeF(f.pointSizeF() * 1.35)
        f.setWeight(QFont.Weight.DemiBold)
        title.setFont(f)
        tl.addWidget(title)
        tl.addLayout(top)
        tl.addWidget(self.table, 1)
        tl.addLayout(bottom)
        return table_page

    # -- loading ----------------------------------------------------------------------

    def _on_project_changed(self) -> None:
        self.model.requery()
        self._show_right_page()

    def _on_pairs_changed(self) -> None:
        """Pairs were added, removed or moved: re-run the query, keep scroll and selection."""
        scroll = self.table.verticalScrollBar().value()
        selected = self.selected_ids() if self.model.rowCount() else []
        current = self.table.currentIndex()
        current_id = self.model.pair_id(current.row()) if current.isValid() else None
        current_col = max(current.column(), 0)
        self.model.requery()
        self._show_right_page()
        self.table.verticalScrollBar().setValue(scroll)
        rows = self.model.rows_of(selected + ([current_id] if current_id is not None else []))
        if selected:
            self.select_rows([rows[i] for i in selected if i in rows])
        if current_id in rows:
            self.table.selectionModel().setCurrentIndex(
                self.model.index(rows[current_id], current_col),
                QItemSelectionModel.SelectionFlag.NoUpdate)

    def _show_right_page(self) -> None:
        project = self.ctx.project
        self._total = project.pairs.count() if project else 0
        if project is None:
            self.empty.set_text("No project open", "Open or create a project to see its pairs.")
            if self.empty.button is not None:
                self.empty.button.setVisible(False)
            self.stack.setCurrentIndex(0)
        elif self._total == 0:
            self.empty.set_text(
                "No pairs yet",
                f"Import sentence pairs from a {in_words('pairs')} file, or a Hugging Face "
                "dataset, to start labelling.")
            if self.empty.button is not None:
                self.empty.button.setVisible(True)
            self.stack.setCurrentIndex(0)
        else:
            self.stack.setCurrentIndex(1)
        self._update_counts()

    def _on_busy_changed(self, busy: bool) -> None:
        self.busy_bar.setVisible(busy)
        if busy:
            self.count_label.setText("Sorting…" if self.model.filter == "all" and not self.model.split
                                     and not self.model.search else "Filtering…")
        else:
            self._update_counts()

    def _update_counts(self) -> None:
        if self.model.busy:
            return
        shown = self.model.rowCount()
        if self.ctx.project is not None and self.model.filter == "all" and not self.model.split \
                and not self.model.search:
            self._total = shown
        self.count_label.setText(f"Showing {shown:,} of {self._total:,} pairs")

    # -- filters and search --------------------------------------------------------------

    def set_filter(self, name: str) -> None:
        self.filter_buttons[name].setChecked(True)

    def _on_filter_toggled(self, button_id: int, checked: bool) -> None:
        if checked:
            self.model.set_query(filter=PAIR_FILTERS[button_id])

    def _on_split_changed(self, _index: int) -> None:
        self.model.set_query(split=self.split_combo.currentData())

    def _on_search_timeout(self) -> None:
        self._search_timer.stop()
        text = self.search_edit.text().strip()
        if text != self.model.search:
            self.model.set_query(search=text)

    # -- selection and actions -------------------------------------------------------------

    def selected_ids(self) -> list[int]:
        """Ids of the selected rows, from selection ranges (cheap even for a huge selection)."""
        rows: set[int] = set()
        for rng in self.table.selectionModel().selection():
            rows.update(range(rng.top(), rng.bottom() + 1))
        return [self.model.pair_id(r) for r in sorted(rows) if r < len(self.model.ids)]

    def select_rows(self, rows: Sequence[int]) -> None:
        sm = self.table.selectionModel()
        sm.clearSelection()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for r in rows:
            sm.select(self.model.index(r, 0), flags)
        if rows:
            sm.setCurrentIndex(self.model.index(rows[-1], 0), QItemSelectionModel.SelectionFlag.NoUpdate)

    def _update_actions(self) -> None:
        n = len(self.table.selectionModel().selectedRows()) if self.model.rowCount() < 200_000 \
            else len(self.selected_ids())
        enabled = n > 0 and self.ctx.project is not None and not self.ctx.project.readonly
        for w in (self.split_button, self.flag_button, self.delete_button):
            w.setEnabled(enabled)
        self.flag_action.setEnabled(enabled)
        self.delete_action.setEnabled(enabled)
        self.open_action.setEnabled(self.table.currentIndex().isValid())
        self.selection_label.setText(f"{n:,} selected" if n > 1 else "")

    def set_split_selected(self, split: str) -> None:
        ids = self.selected_ids()
        if ids and self.ctx.project is not None:
            self.ctx.undo_stack.push(SplitCommand(self.ctx, ids, split))
            self.ctx.statusMessage.emit(f"Moved {len(ids):,} pair(s) to {split}")

    def toggle_flag_selected(self) -> None:
        ids = self.selected_ids()
        if not ids or self.ctx.project is None:
            return
        pairs = self.ctx.project.pairs.by_ids(ids)
        flag = not all(p.flagged for p in pairs.values())
        self.ctx.undo_stack.push(FlagCommand(self.ctx, ids, flag))

    def delete_selected(self) -> None:
        ids = self.selected_ids()
        if not ids or self.ctx.project is None:
            return
        self.ctx.undo_stack.push(DeleteCommand(self.ctx, ids))
        self.ctx.statusMessage.emit(
            f"Deleted {len(ids):,} pair{'s' if len(ids) != 1 else ''}. Undo (Ctrl+Z) brings "
            f"{'them' if len(ids) != 1 else 'it'} back.")

    def _on_split_action(self) -> None:
        action = self.sender()
        if isinstance(action, QAction):
            self.set_split_selected(str(action.data()))

    def _on_context_menu(self, pos) -> None:  # noqa: ANN001
        if not self.table.indexAt(pos).isValid():
            return
        menu = QMenu(self)
        menu.addAction(self.open_action)
        menu.addSeparator()
        menu.addMenu(self.split_menu)
        menu.addAction(self.flag_action)
        menu.addSeparator()
        menu.addAction(self.delete_action)
        menu.exec(self.table.viewport().mapToGlobal(pos))

    def _on_open_row(self, row: int) -> None:
        if 0 <= row < self.model.rowCount():
            self.ctx.openPairRequested.emit(self.model.pair_id(row))

    def _on_open_current(self) -> None:
        index = self.table.currentIndex()
        if index.isValid():
            self._on_open_row(index.row())

    def _on_import_clicked(self) -> None:
        self.ctx.showViewRequested.emit("import")


# Segmented filter buttons: a calm, native-looking group without a custom widget.
_SEGMENT_STYLE = """
QToolButton[segment] {
    padding: 4px 12px; border: 1px solid $control_border; background: palette(base);
    margin: 0px; min-height: 20px;
}
QToolButton[segment="first"] { border-top-left-radius: 5px; border-bottom-left-radius: 5px; }
QToolButton[segment="middle"], QToolButton[segment="last"] { border-left: none; }
QToolButton[segment="last"] { border-top-right-radius: 5px; border-bottom-right-radius: 5px; }
QToolButton[segment]:checked {
    background: $accent_soft; color: $accent_dark; border-color: $accent;
}
QToolButton[segment]:hover:!checked { background: $hover; }
"""

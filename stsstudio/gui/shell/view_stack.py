"""The views of the workspace, in work order, and the stack that builds each on first use.

Each view is ``View(ctx, parent)``. Views are built when first shown, or soon after the window's
first paint: the train view alone needs pyqtgraph and a second of set-up, which must not delay
the window. A view that fails to build gets a tidy placeholder page so the shell always works.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QStackedWidget, QVBoxLayout, QWidget

from stsstudio.gui.common import icons, style
from stsstudio.gui.common.context import ProjectContext

log = logging.getLogger(__name__)

ViewFactory = Callable[[ProjectContext, QWidget], QWidget]


# Plain imports, inside functions so that a view's module (and what it pulls in: pyqtgraph for
# the train view) loads when the view is first built, not at start-up.
def _pairs_view(ctx: ProjectContext, parent: QWidget) -> QWidget:
    from stsstudio.gui.pairs.pairs_table import PairsView

    return PairsView(ctx, parent)


def _label_view(ctx: ProjectContext, parent: QWidget) -> QWidget:
    from stsstudio.gui.label.annotate import AnnotateView

    return AnnotateView(ctx, parent)


def _train_view(ctx: ProjectContext, parent: QWidget) -> QWidget:
    from stsstudio.gui.train.train_view import TrainView

    return TrainView(ctx, parent)


def _try_view(ctx: ProjectContext, parent: QWidget) -> QWidget:
    from stsstudio.gui.trying.try_view import TryView

    return TryView(ctx, parent)


def _export_view(ctx: ProjectContext, parent: QWidget) -> QWidget:
    from stsstudio.gui.export.export_view import ExportView

    return ExportView(ctx, parent)


@dataclass(frozen=True)
class ViewSpec:
    key: str
    title: str
    icon: str
    factory: ViewFactory
    placeholder: str


VIEW_SPECS: tuple[ViewSpec, ...] = (
    ViewSpec("pairs", "Pairs", "pairs", _pairs_view, "The pair table will appear here."),
    ViewSpec("label", "Label", "label", _label_view, "The labelling view will appear here."),
    ViewSpec("train", "Train", "train", _train_view, "Training will appear here."),
    ViewSpec("try", "Try", "try", _try_view, "Trying your model will appear here."),
    ViewSpec("export", "Export", "export", _export_view, "Exporting a model will appear here."),
)
VIEW_KEYS = tuple(spec.key for spec in VIEW_SPECS)


class PlaceholderView(QWidget):
    """Stands in for a view that could not be built."""

    def __init__(self, spec: ViewSpec, detail: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        pic = QLabel()
        pic.setPixmap(icons.icon(spec.icon, style.color("icon_faint")).pixmap(48, 48))
        pic.setAlignment(Qt.AlignCenter)
        title = QLabel(spec.title)
        title.setObjectName("placeholderTitle")
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        title.setFont(font)
        title.setAlignment(Qt.AlignCenter)
        text = QLabel(spec.placeholder + (f"\n{detail}" if detail else ""))
        text.setObjectName("placeholderText")
        text.setAlignment(Qt.AlignCenter)
        text.setWordWrap(True)
        for w in (pic, title, text):
            layout.addWidget(w)
        layout.addStretch(2)


def build_view(spec: ViewSpec, ctx: ProjectContext, parent: QWidget) -> QWidget:
    """The view of ``spec``, or a placeholder that says why it could not be built."""
    try:
        return spec.factory(ctx, parent)
    except Exception as exc:  # noqa: BLE001 - one broken view must not take the shell down
        log.exception("view %s could not be built", spec.key)
        return PlaceholderView(spec, f"({type(exc).__name__}: {exc})", parent)


class ViewStack(QStackedWidget):
    """One page per view; an empty slot stands in for each view until it is built."""

    def __init__(self, ctx: ProjectContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.built: dict[str, QWidget] = {}
        self._slots: dict[str, QWidget] = {}
        for spec in VIEW_SPECS:
            slot = QWidget()
            self._slots[spec.key] = slot
            self.addWidget(slot)

    def view(self, key: str) -> QWidget:
        """The view for ``key``, built now if it was not yet. Views load ctx.project themselves."""
        view = self.built.get(key)
        if view is not None:
            return view
        spec = VIEW_SPECS[VIEW_KEYS.index(key)]
        t0 = time.perf_counter()
        view = build_view(spec, self.ctx, self)
        log.debug("built view %s in %.0f ms", key, 1000 * (time.perf_counter() - t0))
        slot = self._slots.pop(key)
        index = self.indexOf(slot)
        was_current = self.currentWidget() is slot
        self.insertWidget(index, view)
        self.removeWidget(slot)
        slot.deleteLater()
        if was_current:
            self.setCurrentWidget(view)
        self.built[key] = view
        return view

    def build_next(self) -> bool:
        """Build one view not built yet; False when every view is built."""
        for key in VIEW_KEYS:
            if key not in self.built:
                self.view(key)
                return True
        return False

    def current_key(self) -> str:
        for key, view in self.built.items():
            if view is self.currentWidget():
                return key
        return ""


class LazyViews(Mapping[str, QWidget]):
    """``window.views["train"]``: the view, built on first access."""

    def __init__(self, stack: ViewStack) -> None:
        self._stack = stack

    def __getitem__(self, key: str) -> QWidget:
        if key not in VIEW_KEYS:
            raise KeyError(key)
        return self._stack.view(key)

    def __iter__(self) -> Iterator[str]:
        return iter(VIEW_KEYS)

    def __len__(self) -> int:
        return len(VIEW_KEYS)

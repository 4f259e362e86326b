"""pyqtgraph helpers: growing series in preallocated arrays, the training plots, the gold/predicted scatter.

Plots are redrawn from a ~10 Hz timer in the views (pyqtgraph's ``scrollingPlots`` pattern), never
once per event: events append into numpy arrays here, :meth:`refresh` pushes them to the curves.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont

# A palette that stays readable on white and distinguishes up to six overlaid runs.
PALETTE = ["#2f6fdf", "#e0712c", "#2a9d5c", "#b8459d", "#8a6d1f", "#3aa6b9"]
BASELINE_COLOR = "#7a7a7a"
TEXT_COLOR = "#404040"


def style_plot(plot: pg.PlotItem, *, title: str, x_label: str, y_label: str) -> None:
    """A calm, readable look shared by every plot of the app."""
    plot.setTitle(f"<span style='font-size:10.5pt; font-weight:600; color:{TEXT_COLOR}'>{title}</span>")
    font = QFont()
    font.setPointSizeF(8.5)
    for name, label in (("bottom", x_label), ("left", y_label)):
        axis = plot.getAxis(name)
        axis.setLabel(f"<span style='color:{TEXT_COLOR}'>{label}</span>")
        axis.setTextPen(pg.mkPen(TEXT_COLOR))
        axis.setPen(pg.mkPen("#b0b0b0"))
        axis.setTickFont(font)
    plot.showGrid(x=True, y=True, alpha=0.15)
    plot.getViewBox().setMouseEnabled(x=True, y=False)


def make_plot_widget(*, title: str, x_label: str, y_label: str) -> pg.PlotWidget:
    widget = pg.PlotWidget(background="w")
    widget.setAntialiasing(True)
    style_plot(widget.getPlotItem(), title=title, x_label=x_label, y_label=y_label)
    widget.setMinimumHeight(180)
    return widget


class GrowingSeries:
    """x/y values appended one by one into preallocated arrays (doubling when full)."""

    def __init__(self, capacity: int = 1024) -> None:
        self._x = np.empty(capacity, dtype=np.float64)
        self._y = np.empty(capacity, dtype=np.float64)
        self.n = 0

    def clear(self) -> None:
        self.n = 0

    def _grow(self, need: int) -> None:
        if need <= len(self._x):
            return
        size = max(need, 2 * len(self._x))
        for name in ("_x", "_y"):
            old = getattr(self, name)
            new = np.empty(size, dtype=np.float64)
            new[: self.n] = old[: self.n]
            setattr(self, name, new)

    def append(self, x: float, y: float) -> None:
        self._grow(self.n + 1)
        self._x[self.n] = x
        self._y[self.n] = y
        self.n += 1

    def extend(self, xs: Sequence[float], ys: Sequence[float]) -> None:
        k = len(xs)
        self._grow(self.n + k)
        self._x[self.n: self.n + k] = xs
        self._y[self.n: self.n + k] = ys
        self.n += k

    @property
    def x(self) -> np.ndarray:
        return self._x[: self.n]

    @property
    def y(self) -> np.ndarray:
        return self._y[: self.n]

    @property
    def last_y(self) -> float | None:
        return float(self._y[self.n - 1]) if self.n else None


def ema(values: np.ndarray, alpha: float = 0.1) -> np.ndarray:
    """Exponential moving average with bias correction, so the first points are not dragged to 0."""
    out = np.empty_like(values, dtype=np.float64)
    acc = 0.0
    weight = 0.0
    for i, v in enumerate(values):
        acc = (1 - alpha) * acc + alpha * float(v)
        weight = (1 - alpha) * weight + alpha
        out[i] = acc / weight
    return out


class EmaSeries(GrowingSeries):
    """A growing series that also keeps its EMA up to date incrementally (O(1) per point)."""

    def __init__(self, alpha: float = 0.1, capacity: int = 1024) -> None:
        super().__init__(capacity)
        self.alpha = alpha
        self.smooth = GrowingSeries(capacity)
        self._acc = 0.0
        self._weight = 0.0

    def clear(self) -> None:
        super().clear()
        self.smooth.clear()
        self._acc = self._weight = 0.0

    def append(self, x: float, y: float) -> None:
        super().append(x, y)
        if np.isfinite(y):
            self._acc = (1 - self.alpha) * self._acc + self.alpha * y
            self._weight = (1 - self.alpha) * self._weight + self.alpha
        self.smooth.append(x, self._acc / self._weight if self._weight else y)


def _pen(color: str, width: float = 2.0, alpha: int = 255, style: Qt.PenStyle = Qt.SolidLine) -> object:
    c = QColor(color)
    c.setAlpha(alpha)
    return pg.mkPen(c, width=width, style=style)


class LossPlot(pg.PlotWidget):
    """Training loss per step: the raw values (faint) and an EMA (strong); overlays for other runs."""

    def __init__(self, parent: object = None) -> None:
        super().__init__(parent, background="w")
        self.setAntialiasing(True)
        item = self.getPlotItem()
        style_plot(item, title="Training loss", x_label="step", y_label="loss")
        item.setClipToView(True)
        item.setDownsampling(auto=True, mode="peak")
        self.legend = item.addLegend(offset=(-8, 8), labelTextColor=TEXT_COLOR, labelTextSize="8pt")
        self.live = EmaSeries(alpha=0.1)
        self.raw_curve = item.plot(pen=_pen(PALETTE[0], 1.2, 90), name="loss")
        self.smooth_curve = item.plot(pen=_pen(PALETTE[0], 2.4), name="smoothed (EMA)")
        self._overlays: list[object] = []
        self.setMinimumHeight(180)

    def clear_live(self) -> None:
        self.live.clear()
        self.refresh()

    def refresh(self) -> None:
        """Push the buffered points to the curves (called from the view's ~10 Hz timer)."""
        self.raw_curve.setData(self.live.x, self.live.y)
        self.smooth_curve.setData(self.live.smooth.x, self.live.smooth.y)

    def point_count(self) -> int:
        total = self.live.n
        for curve in self._overlays:
            x = curve.getData()[0]  # type: ignore[attr-defined]
            total += 0 if x is None else len(x)
        return total

    def clear_overlays(self) -> None:
        item = self.getPlotItem()
        for curve in self._overlays:
            item.removeItem(curve)
            self.legend.removeItem(curve)
        self._overlays = []

    def add_overlay(self, name: str, steps: Sequence[float], values: Sequence[float], color: str) -> None:
        item = self.getPlotItem()
        x = np.asarray(steps, dtype=np.float64)
        y = np.asarray(values, dtype=np.float64)
        raw = item.plot(x, y, pen=_pen(color, 1.0, 70))
        smooth = item.plot(x, ema(y), pen=_pen(color, 2.2), name=name)
        self._overlays += [raw, smooth]


class EvalPlot(pg.PlotWidget):
    """Dev Spearman and Pearson per evaluation, with the baseline (before training) as a line."""

    def __init__(self, parent: object = None) -> None:
        super().__init__(parent, background="w")
        self.setAntialiasing(True)
        item = self.getPlotItem()
        style_plot(item, title="Dev correlation", x_label="step", y_label="correlation")
        self.legend = item.addLegend(offset=(-8, -8), labelTextColor=TEXT_COLOR, labelTextSize="8pt")
        self.spearman = GrowingSeries(64)
        self.pearson = GrowingSeries(64)
        self.spearman_curve = item.plot(pen=_pen(PALETTE[0], 2.4), symbol="o", symbolSize=7,
                                        symbolBrush=PALETTE[0], symbolPen="w", name="Spearman")
        self.pearson_curve = item.plot(pen=_pen(PALETTE[1], 1.8, style=Qt.DashLine), symbol="s",
                                       symbolSize=6, symbolBrush=PALETTE[1], symbolPen="w", name="Pearson")
        self.baseline = pg.InfiniteLine(angle=0, movable=False,
                                        pen=_pen(BASELINE_COLOR, 1.4, style=Qt.DotLine),
                                        label="baseline {value:.3f}",
                                        labelOpts={"position": 0.1, "color": BASELINE_COLOR,
                                                   "anchors": [(0, 1), (0, 1)]})
        self.baseline.setVisible(False)
        item.addItem(self.baseline, ignoreBounds=False)
        self._overlays: list[object] = []
        self.setMinimumHeight(180)

    def set_baseline(self, value: float | None) -> None:
        if value is None or not np.isfinite(value):
            self.baseline.setVisible(False)
        else:
            self.baseline.setValue(float(value))
            self.baseline.setVisible(True)

    def clear_live(self) -> None:
        self.spearman.clear()
        self.pearson.clear()
        self.set_baseline(None)
        self.refresh()

    def add_point(self, step: float, spearman: float, pearson: float) -> None:
        self.spearman.append(step, spearman)
        self.pearson.append(step, pearson)

    def refresh(self) -> None:
        self.spearman_curve.setData(self.spearman.x, self.spearman.y)
        self.pearson_curve.setData(self.pearson.x, self.pearson.y)

    def clear_overlays(self) -> None:
        item = self.getPlotItem()
        for curve in self._overlays:
            item.removeItem(curve)
            self.legend.removeItem(curve)
        self._overlays = []

    def add_overlay(self, name: str, spearman: Sequence[tuple[int, float]],
                    pearson: Sequence[tuple[int, float]], color: str) -> None:
        item = self.getPlotItem()
        if spearman:
            xs, ys = zip(*spearman)
            self._overlays.append(item.plot(list(xs), list(ys), pen=_pen(color, 2.2), symbol="o",
                                            symbolSize=6, symbolBrush=color, symbolPen="w",
                                            name=f"{name} Spearman"))
        if pearson:
            xs, ys = zip(*pearson)
            self._overlays.append(item.plot(list(xs), list(ys), pen=_pen(color, 1.4, 160, Qt.DashLine),
                                            name=f"{name} Pearson"))


class GoldPredictedPlot(pg.PlotWidget):
    """Gold score (x) against predicted cosine (y) for two models; clicking a point emits its pair id."""

    pairClicked = Signal(int)

    def __init__(self, parent: object = None) -> None:
        super().__init__(parent, background="w")
        self.setAntialiasing(True)
        item = self.getPlotItem()
        style_plot(item, title="", x_label="gold score", y_label="predicted cosine")
        item.setTitle(None)
        item.getViewBox().setMouseEnabled(x=True, y=True)
        self.legend = item.addLegend(offset=(8, 8), labelTextColor=TEXT_COLOR, labelTextSize="8pt")
        diagonal = pg.PlotCurveItem([0, 1], [0, 1], pen=_pen(BASELINE_COLOR, 1.2, style=Qt.DashLine))
        item.addItem(diagonal)
        self.base_points = pg.ScatterPlotItem(size=7, pen=pg.mkPen("w", width=0.6),
                                              brush=pg.mkBrush(150, 150, 150, 150), hoverable=True,
                                              hoverSize=11)
        self.run_points = pg.ScatterPlotItem(size=8, pen=pg.mkPen("w", width=0.6),
                                             brush=pg.mkBrush(QColor(PALETTE[0])), hoverable=True,
                                             hoverSize=12)
        for points in (self.base_points, self.run_points):
            item.addItem(points)     # unnamed: the legend lists a series only once it has points
            points.sigClicked.connect(self._on_points_clicked)
        item.setXRange(-0.02, 1.02, padding=0)
        item.setYRange(-0.1, 1.02, padding=0)

    def set_series(self, which: str, gold: Sequence[float], predicted: Sequence[float],
                   pair_ids: Sequence[int], label: str) -> None:
        points = self.base_points if which == "base" else self.run_points
        points.setData(x=list(gold), y=list(predicted), data=list(pair_ids))
        self.legend.removeItem(points)
        self.legend.addItem(points, label)

    def clear_series(self, which: str) -> None:
        points = self.base_points if which == "base" else self.run_points
        points.setData(x=[], y=[])
        self.legend.removeItem(points)

    def point_count(self, which: str) -> int:
        points = self.base_points if which == "base" else self.run_points
        return len(points.data)

    def _on_points_clicked(self, _item: object, points: Sequence[object], *_: object) -> None:
        if len(points):
            self.pairClicked.emit(int(points[0].data()))

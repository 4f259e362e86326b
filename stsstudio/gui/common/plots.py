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
from PySide6.QtWidgets import QGraphicsItem

from stsstudio.gui.common import style

# A palette that stays readable on the plot background (light or dark) and distinguishes up to
# six overlaid runs: style.py's series roles, read at each access.
PALETTE = style.SeriesColors()


def _ink() -> str:
    return style.color("text_soft")


def _paper() -> str:
    return style.color("base")


def _baseline() -> str:
    return style.color("plot_baseline")


def style_plot(plot: pg.PlotItem, *, title: str, x_label: str, y_label: str) -> None:
    """A calm, readable look shared by every plot of the app."""
    ink = style.color("text_soft")
    plot.setTitle(f"<span style='font-size:{style.pt(10.5)}pt; font-weight:600; color:{ink}'>{title}</span>")
    font = QFont()
    font.setPointSizeF(style.pt(8.5))
    for name, label in (("bottom", x_label), ("left", y_label)):
        axis = plot.getAxis(name)
        axis.setLabel(f"<span style='color:{style.color('text_soft')}'>{label}</span>")
        axis.setTextPen(pg.mkPen(style.color("text_soft")))
        axis.setPen(pg.mkPen(style.color("plot_axis")))
        axis.setTickFont(font)
        axis.enableAutoSIPrefix(False)    # "0.85", never "850 (x0.001)"
    # No grid: pyqtgraph draws it as part of the axes, so every curve update would repaint the
    # axes too (tens of ms of text drawing on a software-rendered window).
    plot.getViewBox().setMouseEnabled(x=True, y=False)


def scale_axes(plot: pg.PlotItem, scale: str | None, *names: str) -> None:
    """Tick the named axes of a plot of stored 0..1 scores on the project's scale (1-5: 1 ... 5),
    so a person reads the numbers they label with; the data stays 0..1."""
    from stsstudio.core.scales import axis_ticks

    ticks = axis_ticks(scale)
    for name in names:
        plot.getAxis(name).setTicks([ticks, []])


def cache_static_items(plot: pg.PlotItem, *items: object) -> None:
    """Paint axes, title and legend from pixmap caches.

    A repaint of a pyqtgraph plot calls Python ``paint()`` methods for every item in the dirty
    region. While training, the worker thread holds the GIL most of the time, so each of those
    calls waits for it; with the static items cached, a refresh calls Python only for the curves.
    """
    cache = QGraphicsItem.DeviceCoordinateCache
    for name in ("left", "bottom", "top", "right"):
        axis = plot.getAxis(name)
        axis.setCacheMode(cache)
        axis.label.setCacheMode(cache)
    plot.titleLabel.setCacheMode(cache)
    for item in items:
        if item is None:
            continue
        item.setCacheMode(cache)
        for child in item.childItems():
            child.setCacheMode(cache)


def make_plot_widget(*, title: str, x_label: str, y_label: str) -> pg.PlotWidget:
    widget = pg.PlotWidget(background=style.color("base"))
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


class _LiveRanges:
    """Axis ranges for a live plot that change only when the data leaves them.

    pyqtgraph's auto-range moves the axes at every refresh, and redrawing axis text is the most
    expensive part of a repaint. Here the x range is the whole run and the y range grows in
    steps, so a refresh usually repaints only the curves.
    """

    def __init__(self, plot: pg.PlotItem, y_pad: float = 0.0) -> None:
        self.plot = plot
        self.y_pad = y_pad
        self.managed = False
        self.x: tuple[float, float] | None = None
        self.y: tuple[float, float] | None = None

    def reset(self) -> None:
        """Back to pyqtgraph's auto-range (for static curves of finished runs)."""
        self.managed = False
        self.x = self.y = None
        self.plot.enableAutoRange()

    def _manage(self) -> None:
        if not self.managed:
            self.managed = True
            self.plot.disableAutoRange()

    def set_x(self, lo: float, hi: float) -> None:
        self._manage()
        self.x = (lo, hi)
        self.plot.setXRange(lo, hi, padding=0.02)

    def include_x(self, value: float) -> None:
        if self.x is not None and value > self.x[1]:
            self.set_x(self.x[0], value * 1.25)

    def include_y(self, lo: float, hi: float) -> None:
        if not self.managed:
            self._manage()
        if self.y is not None and self.y[0] <= lo and hi <= self.y[1]:
            return
        if self.y is not None:
            lo, hi = min(lo, self.y[0]), max(hi, self.y[1])
        span = max(hi - lo, 1e-3)
        # Grow with head-room so that the next few refreshes fit without another change.
        self.y = (lo - self.y_pad - (0.1 * span if self.y_pad else 0.0), hi + self.y_pad + 0.15 * span)
        self.plot.setYRange(*self.y, padding=0)


class _OverlayPlot(pg.PlotWidget):
    """A plot of the live run that can also overlay stored runs' curves (run comparison)."""

    _overlays: list
    legend: pg.LegendItem

    def _live_curves(self) -> tuple[tuple[pg.PlotDataItem, str], ...]:  # pragma: no cover
        raise NotImplementedError

    def clear_overlays(self) -> None:
        item = self.getPlotItem()
        for curve in self._overlays:
            item.removeItem(curve)
            self.legend.removeItem(curve)
        self._overlays = []
        self.show_live_legend(True)

    def show_live_legend(self, show: bool) -> None:
        """The live curves' legend entries; hidden while comparing stored runs."""
        for curve, name in self._live_curves():
            self.legend.removeItem(curve)
            if show:
                self.legend.addItem(curve, name)


class LossPlot(_OverlayPlot):
    """Training loss per step: the raw values (faint) and an EMA (strong); overlays for other runs."""

    def __init__(self, parent: object = None) -> None:
        super().__init__(parent, background=style.color("base"))
        self.setAntialiasing(True)
        item = self.getPlotItem()
        style_plot(item, title="Training loss", x_label="step", y_label="loss")
        item.setClipToView(True)
        item.setDownsampling(auto=True, mode="peak")
        self.legend = item.addLegend(offset=(-8, 8), labelTextColor=_ink(), labelTextSize=f"{style.pt(8)}pt",
                                     brush=pg.mkBrush(style.qcolor("base", 210)))
        self.live = EmaSeries(alpha=0.1)
        self.raw_curve = item.plot(pen=_pen(PALETTE[0], 1.2, 90), name="loss")
        self.smooth_curve = item.plot(pen=_pen(PALETTE[0], 2.4), name="smoothed (EMA)")
        self._overlays: list[object] = []
        self.ranges = _LiveRanges(self.getPlotItem())
        self._shown = 0
        cache_static_items(item, self.legend)
        self.setMinimumHeight(180)

    def clear_live(self) -> None:
        self.live.clear()
        self.ranges.reset()
        self._shown = -1
        self.refresh()

    def set_x_extent(self, total_steps: int) -> None:
        """Fix the x range to the whole run, so the axes are not redrawn at every refresh."""
        self.ranges.set_x(0, max(1, total_steps))

    def refresh(self) -> None:
        """Push the buffered points to the curves (called from the view's ~10 Hz timer)."""
        if self.live.n == self._shown:
            return                          # nothing new: no repaint
        self._shown = self.live.n
        self.raw_curve.setData(self.live.x, self.live.y)
        self.smooth_curve.setData(self.live.smooth.x, self.live.smooth.y)
        if self.live.n:
            y = self.live.y
            finite = y[np.isfinite(y)]
            if finite.size:
                self.ranges.include_y(min(0.0, float(finite.min())), float(finite.max()))
            self.ranges.include_x(float(self.live.x[-1]))

    def point_count(self) -> int:
        total = self.live.n
        for curve in self._overlays:
            x = curve.getData()[0]  # type: ignore[attr-defined]
            total += 0 if x is None else len(x)
        return total

    def _live_curves(self) -> tuple[tuple[pg.PlotDataItem, str], ...]:
        return ((self.raw_curve, "loss"), (self.smooth_curve, "smoothed (EMA)"))

    def add_overlay(self, name: str, steps: Sequence[float], values: Sequence[float], color: str) -> None:
        item = self.getPlotItem()
        self.show_live_legend(False)
        x = np.asarray(steps, dtype=np.float64)
        y = np.asarray(values, dtype=np.float64)
        raw = item.plot(x, y, pen=_pen(color, 1.0, 70))
        smooth = item.plot(x, ema(y), pen=_pen(color, 2.2), name=name)
        self._overlays += [raw, smooth]


class EvalPlot(_OverlayPlot):
    """Dev Spearman and Pearson per evaluation, with the baseline (before training) as a line."""

    def __init__(self, parent: object = None) -> None:
        super().__init__(parent, background=style.color("base"))
        self.setAntialiasing(True)
        item = self.getPlotItem()
        style_plot(item, title="Dev correlation", x_label="step", y_label="correlation")
        # The baseline is named in the legend, not on its line: a label on the line met the
        # legend (or a curve) in a narrow plot. Bottom right stays clear while a run climbs.
        self.legend = item.addLegend(offset=(-8, -8), labelTextColor=_ink(), labelTextSize=f"{style.pt(8)}pt",
                                     brush=pg.mkBrush(style.qcolor("base", 210)))
        self.spearman = GrowingSeries(64)
        self.pearson = GrowingSeries(64)
        self.spearman_curve = item.plot(pen=_pen(PALETTE[0], 2.4), symbol="o", symbolSize=7,
                                        symbolBrush=PALETTE[0], symbolPen=_paper(), name="Spearman")
        self.pearson_curve = item.plot(pen=_pen(PALETTE[1], 1.8, style=Qt.DashLine), symbol="s",
                                       symbolSize=6, symbolBrush=PALETTE[1], symbolPen=_paper(),
                                       name="Pearson")
        self.baseline = pg.InfiniteLine(angle=0, movable=False,
                                        pen=_pen(_baseline(), 1.4, style=Qt.DotLine))
        self.baseline.setVisible(False)
        self.baseline_key = pg.PlotDataItem(pen=_pen(_baseline(), 1.4, style=Qt.DotLine))
        item.addItem(self.baseline, ignoreBounds=False)
        # The bootstrap 95 % interval of each dev Spearman, as a band around its curve.
        self.low = GrowingSeries(64)
        self.high = GrowingSeries(64)
        self.low_curve = pg.PlotDataItem(pen=pg.mkPen(None))
        self.high_curve = pg.PlotDataItem(pen=pg.mkPen(None))
        color = pg.mkColor(PALETTE[0])
        color.setAlpha(45)
        self.band = pg.FillBetweenItem(self.low_curve, self.high_curve, brush=pg.mkBrush(color))
        item.addItem(self.band)
        self.band.setZValue(-10)
        # The annotators' agreement on the dev pairs (two or more of them): the human ceiling.
        self.ceiling = pg.InfiniteLine(angle=0, movable=False, pen=_pen(style.color("success"), 1.4,
                                                                                 style=Qt.DashLine),
                                       label="human agreement {value:.3f}",
                                       labelOpts={"position": 0.02, "color": style.color("success"),
                                                  "anchors": [(0, 1), (0, 1)]})
        self.ceiling.setVisible(False)
        item.addItem(self.ceiling, ignoreBounds=False)
        self._overlays: list[object] = []
        self.ranges = _LiveRanges(item, y_pad=0.02)
        self._shown = 0
        cache_static_items(item, self.legend)
        self.setMinimumHeight(180)

    def set_baseline(self, value: float | None) -> None:
        self.legend.removeItem(self.baseline_key)
        if value is None or not np.isfinite(value):
            self.baseline.setVisible(False)
        else:
            self.baseline.setValue(float(value))
            self.baseline.setVisible(True)
            self.legend.addItem(self.baseline_key, f"baseline {value:.3f}")
            if self.ranges.managed:
                self.ranges.include_y(float(value), float(value))

    def set_ceiling(self, value: float | None) -> None:
        """Draw the human-agreement line (None hides it)."""
        if value is None or not np.isfinite(value):
            self.ceiling.setVisible(False)
            return
        self.ceiling.setValue(float(value))
        self.ceiling.setVisible(True)
        self.ceiling.label.setFormat(f"human agreement {value:.3f}")
        if self.ranges.managed:
            self.ranges.include_y(float(value), float(value))

    def add_interval(self, step: float, low: float, high: float) -> None:
        self.low.append(step, low)
        self.high.append(step, high)
        self._shown = -1

    def band_points(self) -> int:
        return self.low.n

    def set_x_extent(self, total_steps: int) -> None:
        self.ranges.set_x(0, max(1, total_steps))

    def clear_live(self) -> None:
        self.spearman.clear()
        self.pearson.clear()
        self.low.clear()
        self.high.clear()
        self.set_ceiling(None)
        self.ranges.reset()
        self.set_baseline(None)
        self._shown = -1
        self.refresh()

    def add_point(self, step: float, spearman: float, pearson: float) -> None:
        self.spearman.append(step, spearman)
        self.pearson.append(step, pearson)

    def refresh(self) -> None:
        if self.spearman.n == self._shown:
            return
        self._shown = self.spearman.n
        self.spearman_curve.setData(self.spearman.x, self.spearman.y)
        self.pearson_curve.setData(self.pearson.x, self.pearson.y)
        self.low_curve.setData(self.low.x, self.low.y)
        self.high_curve.setData(self.high.x, self.high.y)
        if self.low.n:
            lows = self.low.y[np.isfinite(self.low.y)]
            highs = self.high.y[np.isfinite(self.high.y)]
            if lows.size and highs.size:
                self.ranges.include_y(float(lows.min()), float(highs.max()))
        if self.spearman.n:
            values = np.concatenate([self.spearman.y, self.pearson.y])
            values = values[np.isfinite(values)]
            if values.size:
                self.ranges.include_y(float(values.min()), float(values.max()))
            self.ranges.include_x(float(self.spearman.x[-1]))

    def _live_curves(self) -> tuple[tuple[pg.PlotDataItem, str], ...]:
        return ((self.spearman_curve, "Spearman"), (self.pearson_curve, "Pearson"))

    def add_overlay(self, name: str, spearman: Sequence[tuple[int, float]],
                    pearson: Sequence[tuple[int, float]], color: str) -> None:
        item = self.getPlotItem()
        self.show_live_legend(False)
        if spearman:
            xs, ys = zip(*spearman)
            self._overlays.append(item.plot(list(xs), list(ys), pen=_pen(color, 2.2), symbol="o",
                                            symbolSize=6, symbolBrush=color, symbolPen=_paper(),
                                            name=f"{name} Spearman"))
        if pearson:
            xs, ys = zip(*pearson)
            self._overlays.append(item.plot(list(xs), list(ys), pen=_pen(color, 1.4, 160, Qt.DashLine),
                                            name=f"{name} Pearson"))


class GoldPredictedPlot(pg.PlotWidget):
    """Gold score (x) against predicted cosine (y) for two models, both read on the project's
    scale (:meth:`set_scale`); clicking a point emits its pair id."""

    pairClicked = Signal(int)

    def __init__(self, parent: object = None) -> None:
        super().__init__(parent, background=style.color("base"))
        self.setAntialiasing(True)
        item = self.getPlotItem()
        style_plot(item, title="", x_label="gold score", y_label="predicted cosine")
        item.setTitle(None)
        item.getViewBox().setMouseEnabled(x=True, y=True)
        self.legend = item.addLegend(offset=(8, 8), labelTextColor=_ink(), labelTextSize=f"{style.pt(8)}pt")
        diagonal = pg.PlotCurveItem([0, 1], [0, 1], pen=_pen(_baseline(), 1.2, style=Qt.DashLine))
        item.addItem(diagonal)
        self.base_points = pg.ScatterPlotItem(size=7, pen=pg.mkPen(style.color("base"), width=0.6),
                                              brush=pg.mkBrush(style.qcolor("base_model", 150)),
                                              hoverable=True,
                                              hoverSize=11)
        self.run_points = pg.ScatterPlotItem(size=8, pen=pg.mkPen(style.color("base"), width=0.6),
                                             brush=pg.mkBrush(QColor(PALETTE[0])), hoverable=True,
                                             hoverSize=12)
        for points in (self.base_points, self.run_points):
            item.addItem(points)     # unnamed: the legend lists a series only once it has points
            points.sigClicked.connect(self._on_points_clicked)
        item.setXRange(-0.02, 1.02, padding=0)
        item.setYRange(-0.1, 1.02, padding=0)

    def set_scale(self, scale: str | None) -> None:
        """Ticks and axis names on the project's display scale (the points stay 0..1)."""
        from stsstudio.core.scales import scale_text

        item = self.getPlotItem()
        scale_axes(item, scale, "bottom", "left")
        plain = (scale or "0-1") == "0-1"
        x_label = "gold score" if plain else f"gold score ({scale_text(scale)})"
        y_label = "predicted cosine" if plain else f"predicted cosine (on {scale_text(scale)})"
        for name, label in (("bottom", x_label), ("left", y_label)):
            item.getAxis(name).setLabel(style.span("text_soft", label))

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

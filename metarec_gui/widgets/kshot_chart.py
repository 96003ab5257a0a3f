"""K-shot chart: cold-start metrics against the support size K, one line with markers per run.

Two plots side by side — Recall@20 and nDCG@20 (the top-N headline) when the tables hold them,
else MAE (lower is better) and nDCG@3 — over a logarithmic K axis with ticks at the evaluated K values. Each series keeps its colour (the
caller passes the same colour it uses for the run's training curves); baselines are dashed.
One legend for both plots sits in a row below them, so that it never covers a curve; clicking
an entry's sample hides or shows that series in both plots.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import QSizeF, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QSizePolicy, QVBoxLayout, QWidget

from ..theme import style_view, theme
from .export import export_chart

METRICS = (("mae", "MAE", "lower is better"), ("ndcg3", "nDCG@3", "higher is better"))
# each plot shows the first metric of its list that some series has
SLOTS = (
    (("recall20", "Recall@20", "higher is better"), ("mae", "MAE", "lower is better")),
    (("ndcg20", "nDCG@20", "higher is better"), ("ndcg3", "nDCG@3", "higher is better")),
)
COLUMN_GAP = 28  # px between legend columns
MARKERS = ("o", "s", "t", "d", "+", "x", "star", "p", "h")


class _RowLegend(pg.LegendItem):
    """A frameless legend laid out as a cell of the chart's GraphicsLayout (not floating over a
    plot): its size comes from its grid of entries, and the layout places it."""

    def __init__(self) -> None:
        super().__init__(offset=None, horSpacing=6, verSpacing=-4, frame=False, labelTextSize="9pt")
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)

    def updateSize(self) -> None:  # pyqtgraph moves a floating legend to (0, 0); let the layout do it
        if not hasattr(self, "layout"):
            return
        self.layout.invalidate()
        self.layout.activate()
        hint = self.layout.effectiveSizeHint(Qt.SizeHint.PreferredSize)
        self.setFixedSize(hint) if self.items else self.setFixedSize(QSizeF(0, 0))
        self.updateGeometry()

    def setFixedSize(self, size: QSizeF) -> None:  # noqa: N802 (Qt naming)
        self.setMinimumSize(size)
        self.setMaximumSize(size)
        self.setPreferredSize(size)

    def entry_width(self) -> float:
        """Width of the widest entry (sample + label)."""
        hint = Qt.SizeHint.PreferredSize
        return max((s.effectiveSizeHint(hint).width() + lab.effectiveSizeHint(hint).width()
                    for s, lab in self.items), default=0.0)

    def relayout(self, columns: int) -> None:
        """Entries in reading order, ``columns`` per row (also closes the gaps left by removals)."""
        for i in range(self.layout.count() - 1, -1, -1):
            self.layout.removeAt(i)
        for n, (sample, label) in enumerate(self.items):
            row, col = divmod(n, columns)
            self.layout.addItem(sample, row, 2 * col, alignment=Qt.AlignmentFlag.AlignVCenter)
            self.layout.addItem(label, row, 2 * col + 1)
        for col in range(columns - 1):
            self.layout.setColumnSpacing(2 * col + 1, COLUMN_GAP)
        self.columnCount = columns
        self.rowCount = math.ceil(len(self.items) / columns) if self.items else 0
        self.updateSize()


@dataclass
class _Series:
    label: str
    color: QColor
    dashed: bool
    frame: pd.DataFrame
    items: dict[str, pg.PlotDataItem]
    marker: str = "o"


class KShotChart(QWidget):
    """Lines of MAE and nDCG@3 versus K for several runs, with a shared legend."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = pg.GraphicsLayoutWidget()
        self.plots: dict[str, pg.PlotItem] = {}  # metric shown -> plot
        self._slot_plots: list[pg.PlotItem] = []
        for col, ((key, _name, _hint), _fallback) in enumerate(SLOTS):
            plot = self.canvas.addPlot(row=0, col=col)
            plot.setLabel("bottom", "K (ratings revealed per cold user)")
            plot.getAxis("left").enableAutoSIPrefix(False)
            self._slot_plots.append(plot)
            plot.setLogMode(x=True, y=False)
            plot.showGrid(x=True, y=True, alpha=0.25)
            plot.setMenuEnabled(False)
            plot.getViewBox().setMouseEnabled(x=False, y=True)
            self.plots[key] = plot
        self.legend = _RowLegend()
        self.canvas.addItem(self.legend, row=1, col=0, colspan=len(METRICS))
        self.canvas.ci.layout.setAlignment(self.legend, Qt.AlignmentFlag.AlignHCenter)
        self.legend.sigSampleClicked.connect(self._sample_clicked)
        self._series: dict[str, _Series] = {}
        self._hint_allowed = True
        self._empty = pg.TextItem(
            "Select runs and press “Compute K-shot curves”", color=theme().muted(), anchor=(0.5, 0.5)
        )
        self._retitle(["recall20", "ndcg20"])
        self._slot_plots[0].addItem(self._empty, ignoreBounds=True)
        self._empty.setPos(math.log10(4), 0.5)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.canvas)
        self._restyle()
        theme().changed.connect(self._restyle)

    # ------------------------------------------------------------------ API
    def series_keys(self) -> list[str]:
        return list(self._series)

    def series_frame(self, key: str) -> pd.DataFrame:
        return self._series[key].frame

    def set_series(
        self, key: str, label: str, color: QColor | str, frame: pd.DataFrame, *, dashed: bool = False,
        marker: str | None = None,
    ) -> None:
        """Add or replace a series from a frame with a ``k`` column and metric columns
        (``marker``: a pyqtgraph symbol; by default the next of ``MARKERS``)."""
        marker = marker or MARKERS[len(self._series) % len(MARKERS)]
        frame = frame.sort_values("k").reset_index(drop=True)
        self._series[key] = _Series(label, QColor(color), dashed, frame, {}, marker)
        self._rebuild()

    def remove_series(self, key: str) -> None:
        if self._series.pop(key, None) is not None:
            self._rebuild()

    def shown_metrics(self) -> list[str]:
        """The metric each plot shows: the first of its list that some series has."""
        out = []
        for slot in SLOTS:
            names = [m for m, _n, _h in slot]
            out.append(next((m for m in names if any(m in s.frame for s in self._series.values())),
                            names[0]))
        return out

    def curve_count(self) -> int:
        """Series drawn (each has one legend entry)."""
        return sum(1 for s in self._series.values() if s.items)

    def set_hint_visible(self, visible: bool) -> None:
        """The 'select runs and press…' hint of an empty chart (hidden while computing)."""
        self._hint_allowed = visible
        self._empty.setVisible(visible and not self._series)

    def _retitle(self, metrics: list[str]) -> None:
        names = {m: (n, h) for slot in SLOTS for m, n, h in slot}
        self.plots = {}
        for plot, metric in zip(self._slot_plots, metrics, strict=True):
            name, hint = names[metric]
            plot.setTitle(f"{name} vs. support size K ({hint})", size="10pt")
            plot.setLabel("left", name)
            self.plots[metric] = plot

    def _rebuild(self) -> None:
        """Redraw every series (the metrics shown depend on what all series hold)."""
        for series in self._series.values():
            if series.items:
                self.legend.removeItem(next(iter(series.items.values())))
            for item in series.items.values():
                for plot in self._slot_plots:
                    if item in plot.items:
                        plot.removeItem(item)
            series.items = {}
        self.legend.clear()
        self._retitle(self.shown_metrics())
        for series in self._series.values():
            style = Qt.PenStyle.DashLine if series.dashed else Qt.PenStyle.SolidLine
            color = series.color
            for metric, plot in self.plots.items():
                if metric not in series.frame:
                    continue
                series.items[metric] = plot.plot(
                    series.frame["k"].to_numpy(dtype=float),
                    series.frame[metric].to_numpy(dtype=float),
                    pen=pg.mkPen(color, width=2, style=style),
                    symbol=series.marker,
                    symbolSize=9 if series.dashed else 8,
                    symbolBrush=None if series.dashed else pg.mkBrush(color),
                    symbolPen=pg.mkPen(color if series.dashed else color.darker(130), width=2),
                )
            if series.items:
                self.legend.addItem(next(iter(series.items.values())), series.label)
        self._fit_legend()
        self._update_axes()

    def clear(self) -> None:
        for key in list(self._series):
            self.remove_series(key)

    def export(self, path: str | Path, width: int = 1600) -> Path:
        """Save both plots as one image: PNG (or any raster suffix) or SVG by file suffix."""
        self._empty.setVisible(False)
        try:
            return export_chart(self.canvas.ci, path, theme().plot_background(), width)
        finally:
            self._empty.setVisible(self._hint_allowed and not self._series)

    def to_frame(self) -> pd.DataFrame:
        """All series in long form (label, k, metrics) for CSV export."""
        parts = [s.frame.assign(series=s.label) for s in self._series.values()]
        if not parts:
            return pd.DataFrame(columns=["series", "k", *self.shown_metrics()])
        frame = pd.concat(parts, ignore_index=True)
        return frame[["series", *[c for c in frame.columns if c != "series"]]]

    def legend_labels(self) -> list[str]:
        return [label.text for _sample, label in self.legend.items]

    # ------------------------------------------------------------------ helpers
    def resizeEvent(self, event) -> None:  # noqa: ANN001, N802 (Qt naming)
        super().resizeEvent(event)
        self._fit_legend()

    def _fit_legend(self) -> None:
        """As many legend columns as the width allows (entries fill rows left to right)."""
        n = len(self.legend.items)
        entry = self.legend.entry_width() + 6 + COLUMN_GAP
        columns = max(1, min(n, int((self.canvas.width() - 40) // max(entry, 1.0))))
        rows = math.ceil(n / columns) if n else 1
        self.legend.relayout(math.ceil(n / rows) if n else 1)  # as few columns as those rows need

    def _sample_clicked(self, item: pg.PlotDataItem) -> None:
        """The legend's sample toggled the first plot's line; follow it in the other plot."""
        for series in self._series.values():
            if any(i is item for i in series.items.values()):
                for other in series.items.values():
                    other.setVisible(item.isVisible())

    def _restyle(self) -> None:
        style_view(self.canvas)
        self._empty.setColor(theme().muted())
        self.legend.setLabelTextColor(theme().plot_foreground())

    def _update_axes(self) -> None:
        self._empty.setVisible(self._hint_allowed and not self._series)
        ks = sorted({int(k) for s in self._series.values() for k in s.frame["k"]}) or [1, 2, 5, 10, 20]
        ticks = [[(math.log10(k), str(k)) for k in ks]]
        for plot in self.plots.values():
            plot.getAxis("bottom").setTicks(ticks)
            lo, hi = math.log10(min(ks)), math.log10(max(ks))
            pad = max(0.05, (hi - lo) * 0.06)
            plot.setXRange(lo - pad, hi + pad, padding=0)
            metric = self._metric_of(plot)
            values = [s.frame[metric].to_numpy(dtype=float) for s in self._series.values()
                      if metric in s.frame]
            finite = np.concatenate(values) if values else np.array([])
            finite = finite[np.isfinite(finite)]
            if len(finite):
                lo, hi = sensible_range(finite.min(), finite.max())
                plot.setYRange(lo, hi, padding=0)

    def _metric_of(self, plot: pg.PlotItem) -> str:
        return next(k for k, p in self.plots.items() if p is plot)


def sensible_range(lo: float, hi: float, min_span_frac: float = 0.1) -> tuple[float, float]:
    """A y range around [lo, hi] that never zooms into a band narrower than ``min_span_frac`` of
    the values' magnitude (so noise in the 4th decimal does not look like movement)."""
    span = hi - lo
    floor = max(abs(hi), abs(lo), 1e-6) * min_span_frac
    if span < floor:
        mid = (hi + lo) / 2
        lo, hi, span = mid - floor / 2, mid + floor / 2, floor
    lo, hi = lo - 0.08 * span, hi + 0.12 * span
    return lo, hi

"""K-shot chart: cold-start metrics against the support size K, one line with markers per run.

Two plots side by side — MAE (lower is better) and nDCG@3 (higher is better) — over a
logarithmic K axis with ticks at the evaluated K values. Each series keeps its colour (the
caller passes the same colour it uses for the run's training curves); baselines are dashed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QVBoxLayout, QWidget

from ..theme import style_view, theme
from .export import export_chart

METRICS = (("mae", "MAE", "lower is better"), ("ndcg3", "nDCG@3", "higher is better"))
MARKERS = ("o", "s", "t", "d", "+", "x", "star", "p", "h")


@dataclass
class _Series:
    label: str
    color: QColor
    dashed: bool
    frame: pd.DataFrame
    items: dict[str, pg.PlotDataItem]


class KShotChart(QWidget):
    """Lines of MAE and nDCG@3 versus K for several runs, with a shared legend."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = pg.GraphicsLayoutWidget()
        self.plots: dict[str, pg.PlotItem] = {}
        for col, (key, name, hint) in enumerate(METRICS):
            plot = self.canvas.addPlot(row=0, col=col)
            plot.setTitle(f"{name} vs. support size K ({hint})", size="10pt")
            plot.setLabel("bottom", "K (ratings revealed per cold user)")
            plot.setLabel("left", name)
            plot.getAxis("left").enableAutoSIPrefix(False)
            plot.setLogMode(x=True, y=False)
            plot.showGrid(x=True, y=True, alpha=0.25)
            plot.setMenuEnabled(False)
            plot.getViewBox().setMouseEnabled(x=False, y=True)
            self.plots[key] = plot
        self.legend = self.plots["mae"].addLegend(offset=(-10, 10))
        self._series: dict[str, _Series] = {}
        self._empty = pg.TextItem(
            "Select runs and press “Compute K-shot curves”", color=theme().muted(), anchor=(0.5, 0.5)
        )
        self.plots["mae"].addItem(self._empty, ignoreBounds=True)
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
        self, key: str, label: str, color: QColor | str, frame: pd.DataFrame, *, dashed: bool = False
    ) -> None:
        """Add or replace a series from a frame with a ``k`` column and metric columns."""
        self.remove_series(key)
        color = QColor(color)
        marker = MARKERS[len(self._series) % len(MARKERS)]
        style = Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine
        items = {}
        frame = frame.sort_values("k").reset_index(drop=True)
        for metric, plot in self.plots.items():
            if metric not in frame:
                continue
            item = plot.plot(
                frame["k"].to_numpy(dtype=float),
                frame[metric].to_numpy(dtype=float),
                pen=pg.mkPen(color, width=2, style=style),
                symbol=marker,
                symbolSize=8,
                symbolBrush=pg.mkBrush(color),
                symbolPen=pg.mkPen(color.darker(130)),
                name=label if metric == "mae" else None,
            )
            items[metric] = item
        self._series[key] = _Series(label, color, dashed, frame, items)
        self._update_axes()

    def remove_series(self, key: str) -> None:
        series = self._series.pop(key, None)
        if series is None:
            return
        for metric, item in series.items.items():
            self.plots[metric].removeItem(item)
        self.legend.removeItem(series.label)
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
            self._empty.setVisible(not self._series)

    def to_frame(self) -> pd.DataFrame:
        """All series in long form (label, k, metrics) for CSV export."""
        parts = [s.frame.assign(series=s.label) for s in self._series.values()]
        if not parts:
            return pd.DataFrame(columns=["series", "k", *[m for m, _, _ in METRICS]])
        frame = pd.concat(parts, ignore_index=True)
        return frame[["series", *[c for c in frame.columns if c != "series"]]]

    # ------------------------------------------------------------------ helpers
    def _restyle(self) -> None:
        style_view(self.canvas)
        self._empty.setColor(theme().muted())

    def _update_axes(self) -> None:
        self._empty.setVisible(not self._series)
        ks = sorted({int(k) for s in self._series.values() for k in s.frame["k"]}) or [1, 2, 5, 10, 20]
        ticks = [[(math.log10(k), str(k)) for k in ks]]
        for plot in self.plots.values():
            plot.getAxis("bottom").setTicks(ticks)
            lo, hi = math.log10(min(ks)), math.log10(max(ks))
            pad = max(0.05, (hi - lo) * 0.06)
            plot.setXRange(lo - pad, hi + pad, padding=0)
            values = [
                s.frame[m].to_numpy(dtype=float)
                for s in self._series.values()
                for m in (self._metric_of(plot),)
                if m in s.frame
            ]
            finite = np.concatenate(values) if values else np.array([])
            finite = finite[np.isfinite(finite)]
            if len(finite):
                span = max(finite.max() - finite.min(), 1e-3)
                plot.setYRange(finite.min() - 0.08 * span, finite.max() + 0.12 * span, padding=0)

    def _metric_of(self, plot: pg.PlotItem) -> str:
        return next(k for k, p in self.plots.items() if p is plot)

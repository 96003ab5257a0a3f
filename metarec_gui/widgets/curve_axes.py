"""The plots of :class:`~.loss_plot.LossPlot` (a mixin): the loss plot and the validation
plots, their grids, cursor lines and legend row, pens, which metric each validation plot shows,
y ranges that do not magnify noise, and the theme."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QColor

from ..theme import style_view, theme
from .curve_data import sensible_range


class CurveAxes:
    """Builds and styles the plots; reads the plot's ``_runs``, ``_slots``, ``_shown``,
    ``_x_mode``, ``_manual_y`` and ``log_check``."""

    def _build_plots(self, title: str, n_metrics: int) -> None:
        """The loss plot on top, one validation plot per metric slot under it, the legend row."""
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.ci.setContentsMargins(4, 4, 4, 4)
        self.loss_plot: pg.PlotItem = self.graphics.addPlot(row=0, col=0,
                                                            colspan=max(1, n_metrics))
        self.loss_plot.setTitle(title)
        self.loss_plot.setLabel("left", "loss")
        self.loss_plot.setClipToView(True)
        self.loss_plot.enableAutoRange(axis=pg.ViewBox.YAxis, enable=False)
        self.loss_plot.getViewBox().sigRangeChangedManually.connect(self._on_manual_range)
        self.metric_plots: dict[str, pg.PlotItem] = {}  # slot's first metric -> plot
        self._slot_plots: list[pg.PlotItem] = []
        for col, slot in enumerate(self._slots):
            name, label = slot[0]
            p = self.graphics.addPlot(row=1, col=col)
            p.setTitle(label)
            p.enableAutoRange(axis=pg.ViewBox.YAxis, enable=False)
            self._slot_plots.append(p)
            # Same x range as the loss plot (not setXLink: pyqtgraph maps linked ranges by screen
            # position, which shifts side-by-side plots).
            p.enableAutoRange(axis=pg.ViewBox.XAxis, enable=False)
            self.metric_plots[name] = p
        self.loss_plot.sigXRangeChanged.connect(self._sync_x)
        from .kshot_chart import _RowLegend

        # The legend is a row of its own under the plots: it never covers a curve.
        self.legend = _RowLegend()
        self.graphics.addItem(self.legend, row=2, col=0, colspan=max(1, len(self._slots)))
        self.graphics.ci.layout.setAlignment(self.legend, Qt.AlignmentFlag.AlignHCenter)
        self.loss_plot.legend = self.legend
        self.graphics.ci.layout.setRowStretchFactor(0, 3)
        self.graphics.ci.layout.setRowStretchFactor(1, 2)
        # Grids as GridItems inside the views: PlotItem.showGrid() makes every axis repaint its
        # tick labels whenever a curve changes, which costs 3-10 ms per axis per redraw.
        self._grids = []
        for p in self._all_plots():
            grid = pg.GridItem(textPen=None)
            grid.setTickSpacing(x=[None, None], y=[None, None])
            grid.setZValue(-10)
            p.addItem(grid, ignoreBounds=True)
            self._grids.append(grid)
        self._cursor_lines = []
        for p in self._all_plots():
            for name in ("left", "bottom"):
                p.getAxis(name).enableAutoSIPrefix(False)
            line = pg.InfiniteLine(angle=90, movable=False,
                                   pen=pg.mkPen(theme().muted(), width=1, style=Qt.PenStyle.DashLine))
            line.setVisible(False)
            line.setZValue(50)
            p.addItem(line, ignoreBounds=True)
            self._cursor_lines.append(line)
        self._update_x_labels()

    def _update_x_labels(self) -> None:
        text = "step" if self._x_mode == "step" else "wall time (s)"
        for p in self._all_plots():
            p.setLabel("bottom", text, color=theme().plot_foreground())

    @Slot(object, object)
    def _sync_x(self, _view: Any, x_range: Any) -> None:
        for p in self.metric_plots.values():
            p.setXRange(float(x_range[0]), float(x_range[1]), padding=0)

    def _all_plots(self) -> list[pg.PlotItem]:
        return [self.loss_plot, *self.metric_plots.values()]

    def _curve(self, plot: pg.PlotItem, pen: Any, name: str | None) -> pg.PlotDataItem:
        # One min/max pair per pixel column at most ('peak' keeps the extremes): drawing cost stays
        # flat however many points a run has (pyqtgraph's default keeps 5 per pixel).
        # Set after addItem: PlotItem.addItem() imposes the plot's own (off) downsampling mode.
        item = pg.PlotDataItem(pen=pen, name=name, connect="finite", autoDownsampleFactor=1.0)
        plot.addItem(item)
        item.setClipToView(True)
        item.setDownsampling(auto=True, method="peak")
        return item

    def _pens(self, color_index: int) -> tuple[Any, Any]:
        """Faint raw line, solid smoothed line; both 1 px: wider antialiased pens are stroked
        point by point by the raster engine (a 2 px line cost 150-500 ms per redraw)."""
        color = theme().run_color(color_index)
        faint = QColor(color)
        faint.setAlpha(60)
        return pg.mkPen(faint, width=1), pg.mkPen(color, width=1)

    # ------------------------------------------------------------------ axes and legend
    def _slot_names(self) -> list[str]:
        return [slot[0][0] for slot in self._slots]

    def shown_metrics(self) -> list[str]:
        """The metric each validation plot shows (Recall@20 when a run has it, else MAE …)."""
        return list(self._shown)

    def _choose_metrics(self) -> None:
        for i, slot in enumerate(self._slots):
            names = [m for m, _ in slot]
            chosen = next((m for m in names if any(r.has_metric(m) for r in self._runs.values())),
                          names[0])
            if chosen != self._shown[i]:
                self._shown[i] = chosen
                self._slot_plots[i].setTitle(dict(slot)[chosen])
                for run in self._runs.values():
                    run.dirty = True

    def _on_manual_range(self, *_args: Any) -> None:
        self._manual_y = True  # the user zoomed or panned: leave the loss axis alone

    def _update_y_ranges(self) -> None:
        """y ranges from the visible data, never narrower than a tenth of its size."""
        if not self._manual_y and not self.log_check.isChecked():
            values = [r.smoothed.view() for r in self._runs.values() if r.visible and r.smoothed.n]
            raw = [r.losses.view() for r in self._runs.values() if r.visible and r.losses.n]
            self._set_y(self.loss_plot, values, raw)
        for plot, name in zip(self._slot_plots, self._shown, strict=True):
            values = [r.metrics[name].view() for r in self._runs.values()
                      if r.visible and name in r.metrics and r.metrics[name].n]
            self._set_y(plot, values, [])

    @staticmethod
    def _set_y(plot: pg.PlotItem, values: list[np.ndarray], raw: list[np.ndarray]) -> None:
        data = np.concatenate(values) if values else np.empty(0)
        data = data[np.isfinite(data)]
        if not len(data):
            return
        lo, hi = float(data.min()), float(data.max())
        if raw:  # the faint raw loss: its bulk (1st-99th percentile), not single spikes
            r = np.concatenate(raw)
            r = r[np.isfinite(r)]
            if len(r):
                lo = min(lo, float(np.percentile(r, 1)))
                hi = max(hi, float(np.percentile(r, 99)))
        plot.setYRange(*sensible_range(lo, hi), padding=0)

    def _fit_legend(self) -> None:
        n = len(self.legend.items)
        entry = self.legend.entry_width() + 36
        columns = max(1, min(n, int((self.graphics.width() - 40) // max(entry, 1.0))))
        rows = math.ceil(n / columns) if n else 1
        self.legend.relayout(math.ceil(n / rows) if n else 1)

    def _style_plots(self) -> None:
        """Background, pens, grid and labels in the current theme."""
        style_view(self.graphics)
        for run in self._runs.values():
            raw, smooth = self._pens(run.color_index)
            run.raw_item.setPen(raw)
            run.smooth_item.setPen(smooth)
            color = theme().run_color(run.color_index)
            for item in run.metric_items.values():
                item.setPen(pg.mkPen(color, width=2))
                item.setSymbolBrush(pg.mkBrush(color))
                item.setSymbolPen(pg.mkPen(color))
        for line in self._cursor_lines:
            line.setPen(pg.mkPen(theme().muted(), width=1, style=Qt.PenStyle.DashLine))
        grid = QColor(theme().plot_foreground())
        grid.setAlphaF(theme().grid_alpha() / 2)
        for item in self._grids:
            item.setPen(pg.mkPen(grid, width=1))
        self._update_x_labels()

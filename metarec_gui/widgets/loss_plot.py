"""Live training curves for one or many runs: loss per step (raw + smoothed) and per-epoch metrics.

Reusable by the Train page (live runs) and the Compare page (runs read from disk)::

    plot.add_run("run-a", "MAML #1")
    plot.append_steps("run-a", steps, losses, times)          # any number of points, any rate
    plot.append_epochs("run-a", steps_at_epoch_end, {"val_mae": [...]}, times)
    plot.set_metrics_frame("run-b", run.read_metrics(), label="ProtoNet")  # a whole metrics.csv
    plot.export_png(path) / export_svg(path) / export_csv(path)

Incoming points are buffered; curves are redrawn by a timer at most ``MAX_FPS`` times a second,
whatever the training speed. Smoothing is TensorBoard's debiased exponential moving average.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..theme import style_view, theme
from .curve_data import Buffer as _Buffer
from .curve_data import ema, sensible_range
from .curve_export import CurveReadoutAndExport

MAX_FPS = 20
MAX_POINTS = 20_000  # loss points kept per run: beyond, every other point (uniformly) is dropped
# each validation plot shows the first metric of its list that some run has
DEFAULT_METRICS: tuple[tuple[tuple[str, str], ...], ...] = (
    (("val_recall20", "Validation Recall@20 (higher is better)"),
     ("val_mae", "Validation MAE (lower is better)")),
    (("val_ndcg20", "Validation nDCG@20 (higher is better)"),
     ("val_ndcg3", "Validation nDCG@3 (higher is better)")),
)


@dataclass
class _Run:
    key: str
    label: str
    color_index: int
    steps: _Buffer = field(default_factory=_Buffer)
    times: _Buffer = field(default_factory=_Buffer)
    losses: _Buffer = field(default_factory=_Buffer)
    smoothed: _Buffer = field(default_factory=_Buffer)
    ema_state: tuple[float, float] = (0.0, 0.0)
    epoch_steps: _Buffer = field(default_factory=_Buffer)
    epoch_times: _Buffer = field(default_factory=_Buffer)
    metrics: dict[str, _Buffer] = field(default_factory=dict)
    raw_item: Any = None
    smooth_item: Any = None
    metric_items: dict[str, Any] = field(default_factory=dict)
    visible: bool = True
    dirty: bool = True
    stride: int = 1  # keep one loss point in ``stride`` (doubles each time the cap is reached)
    seen: int = 0  # loss points received


class LossPlot(CurveReadoutAndExport, QWidget):
    """Loss and validation metrics of any number of runs, overlaid, one colour per run."""

    runVisibilityChanged = Signal(str, bool)

    def __init__(self, parent: QWidget | None = None,
                 metrics: Sequence[Sequence[tuple[str, str]]] = DEFAULT_METRICS,
                 title: str = "Meta-training loss",
                 color_index_of: Callable[[str], int] | None = None) -> None:
        """``color_index_of(key)``: the palette index of a new run (default: the next index), for a
        caller that keeps one colour per run across several charts."""
        super().__init__(parent)
        self._runs: dict[str, _Run] = {}
        self._next_color = 0
        self._color_index_of = color_index_of
        self._slots = [list(slot) for slot in metrics]
        self._metric_names = [m for slot in self._slots for m, _ in slot]
        self._shown = [slot[0][0] for slot in self._slots]  # metric of each validation plot
        self.max_points = MAX_POINTS
        self._manual_y = False
        self._smoothing = 0.6
        self._x_mode = "step"

        # ---- toolbar
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.setSpacing(8)
        bar.addWidget(QLabel("Smoothing"))
        self.smoothing_slider = QSlider(Qt.Orientation.Horizontal)
        self.smoothing_slider.setRange(0, 999)
        self.smoothing_slider.setValue(int(self._smoothing * 1000))
        self.smoothing_slider.setFixedWidth(140)
        self.smoothing_slider.setToolTip("Exponential moving average of the loss (TensorBoard-style)")
        self.smoothing_label = QLabel(f"{self._smoothing:.3f}")
        self.smoothing_label.setMinimumWidth(38)
        self.smoothing_slider.valueChanged.connect(self._on_smoothing)
        bar.addWidget(self.smoothing_slider)
        bar.addWidget(self.smoothing_label)
        bar.addSpacing(8)
        self.log_check = QCheckBox("Log loss axis")
        self.log_check.toggled.connect(self.set_log_y)
        bar.addWidget(self.log_check)
        bar.addSpacing(8)
        bar.addWidget(QLabel("x axis"))
        self.x_combo = QComboBox()
        self.x_combo.addItem("Step", "step")
        self.x_combo.addItem("Wall time (s)", "time")
        self.x_combo.currentIndexChanged.connect(
            lambda _i: self.set_x_mode(self.x_combo.currentData()))
        bar.addWidget(self.x_combo)
        bar.addStretch(1)
        self.export_button = QToolButton(text="Export")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.export_button)
        for text, kind in (("Image (PNG)…", "png"), ("Vector image (SVG)…", "svg"),
                           ("Data (CSV)…", "csv")):
            action = QAction(text, menu)
            action.setData(kind)
            action.triggered.connect(self._on_export_action)
            menu.addAction(action)
        self.export_button.setMenu(menu)
        self.export_button.setEnabled(False)
        self.export_button.setToolTip("Save the curves as an image or their data as CSV "
                                      "(once there are curves)")
        bar.addWidget(self.export_button)

        # ---- plots
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.ci.setContentsMargins(4, 4, 4, 4)
        self.loss_plot: pg.PlotItem = self.graphics.addPlot(row=0, col=0, colspan=max(1, len(metrics)))
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

        self.readout = QLabel(" ")
        self.readout.setTextFormat(Qt.TextFormat.RichText)
        self.readout.setMinimumHeight(self.readout.fontMetrics().height() + 4)
        self.readout.setToolTip("Values under the mouse")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(bar)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.readout)

        self._timer = QTimer(self)
        self._timer.setInterval(int(1000 / MAX_FPS))
        self._timer.timeout.connect(self._redraw)
        self.redraw_count = 0
        self._mouse_proxy = pg.SignalProxy(self.graphics.scene().sigMouseMoved, rateLimit=30,
                                           slot=self._on_mouse_moved)
        theme().changed.connect(self._apply_theme)
        self._apply_theme()

    # ------------------------------------------------------------------ runs
    def add_run(self, key: str, label: str | None = None) -> None:
        """Start a new curve set (no-op when ``key`` exists; the label is updated)."""
        if key in self._runs:
            self.set_label(key, label or key)
            return
        if self._color_index_of is not None:
            index = self._color_index_of(key)
        else:
            index = self._next_color
            self._next_color += 1
        run = _Run(key, label or key, index)
        pen_raw, pen_smooth = self._pens(run.color_index)
        run.raw_item = self._curve(self.loss_plot, pen_raw, None)
        run.smooth_item = self._curve(self.loss_plot, pen_smooth, None)
        self.legend.addItem(run.smooth_item, run.label)
        run.raw_item.setZValue(1)
        run.smooth_item.setZValue(2)
        for name, plot in zip(self._slot_names(), self._slot_plots, strict=True):
            color = theme().run_color(run.color_index)
            item = self._curve(plot, pg.mkPen(color, width=2), None)
            item.setSymbol("o")
            item.setSymbolSize(5)
            item.setSymbolBrush(pg.mkBrush(color))
            item.setSymbolPen(pg.mkPen(color))
            run.metric_items[name] = item
        self._runs[key] = run
        self._fit_legend()
        self._schedule()

    def set_label(self, key: str, label: str) -> None:
        run = self._runs[key]
        run.label = label
        for sample, text in self.legend.items:
            if sample.item is run.smooth_item:
                text.setText(label)
        self._fit_legend()

    def label(self, key: str) -> str:
        return self._runs[key].label

    def remove_run(self, key: str) -> None:
        run = self._runs.pop(key, None)
        if run is None:
            return
        self.legend.removeItem(run.smooth_item)
        self.export_button.setEnabled(self.has_data())
        self.loss_plot.removeItem(run.raw_item)
        self.loss_plot.removeItem(run.smooth_item)
        for item in run.metric_items.values():
            for plot in self._slot_plots:
                if item in plot.items:
                    plot.removeItem(item)
        self._fit_legend()
        self._schedule()

    def clear(self) -> None:
        for key in list(self._runs):
            self.remove_run(key)
        self._next_color = 0
        self.readout.setText(" ")

    def runs(self) -> list[str]:
        return list(self._runs)

    def has_data(self) -> bool:
        """Whether any run has a point to export."""
        return any(r.losses.n or r.epoch_steps.n for r in self._runs.values())

    def has_run(self, key: str) -> bool:
        return key in self._runs

    def set_run_visible(self, key: str, visible: bool) -> None:
        run = self._runs[key]
        run.visible = visible
        run.raw_item.setVisible(visible)
        run.smooth_item.setVisible(visible)
        for item in run.metric_items.values():
            item.setVisible(visible)
        self.runVisibilityChanged.emit(key, visible)

    def run_color(self, key: str) -> QColor:
        return theme().run_color(self._runs[key].color_index)

    # ------------------------------------------------------------------ data
    def append_steps(self, key: str, steps: Sequence[float] | np.ndarray,
                     losses: Sequence[float] | np.ndarray,
                     times: Sequence[float] | np.ndarray | None = None) -> None:
        """Append loss points (``times``: seconds since the run started)."""
        run = self._runs[key]
        losses = np.asarray(losses, dtype=np.float64).ravel()
        steps = np.asarray(steps, dtype=np.float64).ravel()
        times = (np.asarray(times, dtype=np.float64).ravel() if times is not None
                 else np.full(len(losses), np.nan))
        smoothed, num, den = ema(losses, self._smoothing, *run.ema_state)
        run.ema_state = (num, den)
        if run.stride > 1:  # past the cap: keep every stride-th point, as the halving did
            keep = (run.seen + np.arange(len(losses))) % run.stride == 0
            steps, times, losses, smoothed = steps[keep], times[keep], losses[keep], smoothed[keep]
        run.seen += len(keep) if run.stride > 1 else len(losses)
        run.steps.extend(steps)
        run.times.extend(times)
        run.losses.extend(losses)
        run.smoothed.extend(smoothed)
        while run.losses.n > self.max_points:
            for buf in (run.steps, run.times, run.losses, run.smoothed):
                buf.halve()
            run.stride *= 2
        run.dirty = True
        self._schedule()

    def append_epochs(self, key: str, steps: Sequence[float] | np.ndarray,
                      metrics: dict[str, Sequence[float]],
                      times: Sequence[float] | np.ndarray | None = None) -> None:
        """Append per-epoch metrics; ``steps`` is the step count at each epoch's end."""
        run = self._runs[key]
        steps = np.asarray(steps, dtype=np.float64).ravel()
        run.epoch_steps.extend(steps)
        run.epoch_times.extend(times if times is not None else np.full(len(steps), np.nan))
        for name in set(run.metrics) | set(metrics):
            buf = run.metrics.setdefault(name, _Buffer())
            if buf.n < run.epoch_steps.n - len(steps):  # a metric that appears late
                buf.extend(np.full(run.epoch_steps.n - len(steps) - buf.n, np.nan))
            values = metrics.get(name)
            buf.extend(np.full(len(steps), np.nan) if values is None else values)
        run.dirty = True
        self._schedule()

    def set_series(self, key: str, steps: Sequence[float] = (), losses: Sequence[float] = (),
                   times: Sequence[float] | None = None, epoch_steps: Sequence[float] = (),
                   metrics: dict[str, Sequence[float]] | None = None,
                   epoch_times: Sequence[float] | None = None, label: str | None = None) -> None:
        """Replace a run's data (adds the run when new)."""
        self.add_run(key, label)
        run = self._runs[key]
        for buf in (run.steps, run.times, run.losses, run.smoothed, run.epoch_steps,
                    run.epoch_times):
            buf.clear()
        run.metrics.clear()
        run.ema_state = (0.0, 0.0)
        run.stride, run.seen = 1, 0
        if len(losses):
            self.append_steps(key, steps, losses, times)
        if len(epoch_steps):
            self.append_epochs(key, epoch_steps, metrics or {}, epoch_times)
        run.dirty = True
        self._schedule()

    def set_metrics_frame(self, key: str, frame: pd.DataFrame, label: str | None = None) -> None:
        """Show a run's ``metrics.csv`` (``core.runs.Run.read_metrics()``); garbage lines are
        skipped."""
        from ..watch import MetricsChunk

        MetricsChunk.from_frame(frame).show(self, key, label or key)

    def point_count(self, key: str) -> int:
        """Loss points held for a run."""
        return self._runs[key].losses.n

    def epoch_count(self, key: str) -> int:
        return self._runs[key].epoch_steps.n

    def loss_data(self, key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(steps, raw losses, smoothed losses) held for a run (copies)."""
        run = self._runs[key]
        return run.steps.view().copy(), run.losses.view().copy(), run.smoothed.view().copy()

    def metric_data(self, key: str, name: str) -> tuple[np.ndarray, np.ndarray]:
        run = self._runs[key]
        if name not in run.metrics:
            return np.empty(0), np.empty(0)
        return run.epoch_steps.view().copy(), run.metrics[name].view().copy()

    # ------------------------------------------------------------------ display options
    @Slot(int)
    def _on_smoothing(self, value: int) -> None:
        self.set_smoothing(value / 1000)

    def set_smoothing(self, weight: float) -> None:
        """EMA weight in [0, 0.999]; 0 = no smoothing."""
        weight = min(max(float(weight), 0.0), 0.999)
        self._smoothing = weight
        self.smoothing_label.setText(f"{weight:.3f}")
        if self.smoothing_slider.value() != round(weight * 1000):
            self.smoothing_slider.blockSignals(True)
            self.smoothing_slider.setValue(round(weight * 1000))
            self.smoothing_slider.blockSignals(False)
        for run in self._runs.values():
            smoothed, num, den = ema(run.losses.view(), weight)
            run.smoothed.clear()
            run.smoothed.extend(smoothed)
            run.ema_state = (num, den)
            run.dirty = True
        self._schedule()

    @property
    def smoothing(self) -> float:
        return self._smoothing

    @Slot(bool)
    def set_log_y(self, on: bool) -> None:
        if self.log_check.isChecked() != on:
            self.log_check.setChecked(on)
            return
        self.loss_plot.setLogMode(y=on)
        self.loss_plot.enableAutoRange(axis=pg.ViewBox.YAxis, enable=on)
        if not on:
            self._update_y_ranges()

    def set_x_mode(self, mode: str) -> None:
        """'step' or 'time' (seconds since each run started)."""
        if mode not in ("step", "time"):
            raise ValueError("x mode must be 'step' or 'time'")
        self._x_mode = mode
        index = self.x_combo.findData(mode)
        if self.x_combo.currentIndex() != index:
            self.x_combo.setCurrentIndex(index)
        self._update_x_labels()
        for run in self._runs.values():
            run.dirty = True
        self._schedule()

    @property
    def x_mode(self) -> str:
        return self._x_mode

    def _update_x_labels(self) -> None:
        text = "step" if self._x_mode == "step" else "wall time (s)"
        for p in self._all_plots():
            p.setLabel("bottom", text, color=theme().plot_foreground())

    # ------------------------------------------------------------------ drawing
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

    def _schedule(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        """Redraw now (tests, exports)."""
        self._redraw()

    @Slot()
    def _redraw(self) -> None:
        dirty = [r for r in self._runs.values() if r.dirty]
        if not dirty:
            self._timer.stop()
            return
        self._choose_metrics()
        for run in dirty:
            x = run.steps.view() if self._x_mode == "step" else run.times.view()
            run.raw_item.setData(x, run.losses.view())
            run.smooth_item.setData(x, run.smoothed.view())
            ex = run.epoch_steps.view() if self._x_mode == "step" else run.epoch_times.view()
            for name, item in zip(self._shown, run.metric_items.values(), strict=True):
                buf = run.metrics.get(name)
                if buf is None or buf.n == 0:
                    item.setData([], [])
                else:
                    item.setData(ex[: buf.n], buf.view())
            run.dirty = False
        self._update_y_ranges()
        self.export_button.setEnabled(self.has_data())
        self.redraw_count += 1

    # ------------------------------------------------------------------ axes and legend
    def _slot_names(self) -> list[str]:
        return [slot[0][0] for slot in self._slots]

    def shown_metrics(self) -> list[str]:
        """The metric each validation plot shows (Recall@20 when a run has it, else MAE …)."""
        return list(self._shown)

    def _choose_metrics(self) -> None:
        for i, slot in enumerate(self._slots):
            names = [m for m, _ in slot]
            chosen = next((m for m in names if any(
                m in r.metrics and np.isfinite(r.metrics[m].view()).any()
                for r in self._runs.values())), names[0])
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

    def resizeEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit_legend()

    @Slot()
    def _apply_theme(self) -> None:
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


__all__ = ["DEFAULT_METRICS", "LossPlot", "MAX_POINTS", "ema", "sensible_range"]

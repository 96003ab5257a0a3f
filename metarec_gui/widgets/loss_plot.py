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

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ..theme import theme
from .curve_axes import CurveAxes
from .curve_data import ema, sensible_range
from .curve_export import CurveReadoutAndExport
from .curve_runs import RunCurves
from .curve_toolbar import CurveToolbar

MAX_FPS = 20
MAX_POINTS = 20_000  # loss points kept per run: beyond, every other point (uniformly) is dropped
# each validation plot shows the first metric of its list that some run has
DEFAULT_METRICS: tuple[tuple[tuple[str, str], ...], ...] = (
    (("val_recall20", "Validation Recall@20 (higher is better)"),
     ("val_mae", "Validation MAE (lower is better)")),
    (("val_ndcg20", "Validation nDCG@20 (higher is better)"),
     ("val_ndcg3", "Validation nDCG@3 (higher is better)")),
)


class LossPlot(CurveAxes, CurveReadoutAndExport, QWidget):
    """Loss and validation metrics of any number of runs, overlaid, one colour per run."""

    runVisibilityChanged = Signal(str, bool)

    def __init__(self, parent: QWidget | None = None,
                 metrics: Sequence[Sequence[tuple[str, str]]] = DEFAULT_METRICS,
                 title: str = "Meta-training loss",
                 color_index_of: Callable[[str], int] | None = None) -> None:
        """``color_index_of(key)``: the palette index of a new run (default: the next index), for a
        caller that keeps one colour per run across several charts."""
        super().__init__(parent)
        self._runs: dict[str, RunCurves] = {}
        self._next_color = 0
        self._color_index_of = color_index_of
        self._slots = [list(slot) for slot in metrics]
        self._metric_names = [m for slot in self._slots for m, _ in slot]
        self._shown = [slot[0][0] for slot in self._slots]  # metric of each validation plot
        self.max_points = MAX_POINTS
        self._manual_y = False
        self._smoothing = 0.6
        self._x_mode = "step"

        # ---- toolbar (its widgets stay reachable as attributes of the plot)
        self.toolbar = CurveToolbar(self._smoothing)
        self.smoothing_slider = self.toolbar.smoothing_slider
        self.smoothing_label = self.toolbar.smoothing_label
        self.log_check = self.toolbar.log_check
        self.x_combo = self.toolbar.x_combo
        self.export_button = self.toolbar.export_button
        self.toolbar.smoothingChanged.connect(self.set_smoothing)
        self.toolbar.logToggled.connect(self.set_log_y)
        self.toolbar.xModeChanged.connect(self.set_x_mode)
        self.toolbar.exportRequested.connect(self.export_dialog)

        self._build_plots(title, len(metrics))

        self.readout = QLabel(" ")
        self.readout.setTextFormat(Qt.TextFormat.RichText)
        self.readout.setMinimumHeight(self.readout.fontMetrics().height() + 4)
        self.readout.setToolTip("Values under the mouse")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.toolbar)
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
        run = RunCurves(key, label or key, index)
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
        self._runs[key].append_steps(steps, losses, times, self._smoothing, self.max_points)
        self._schedule()

    def append_epochs(self, key: str, steps: Sequence[float] | np.ndarray,
                      metrics: dict[str, Sequence[float]],
                      times: Sequence[float] | np.ndarray | None = None) -> None:
        """Append per-epoch metrics; ``steps`` is the step count at each epoch's end."""
        self._runs[key].append_epochs(steps, metrics, times)
        self._schedule()

    def set_series(self, key: str, steps: Sequence[float] = (), losses: Sequence[float] = (),
                   times: Sequence[float] | None = None, epoch_steps: Sequence[float] = (),
                   metrics: dict[str, Sequence[float]] | None = None,
                   epoch_times: Sequence[float] | None = None, label: str | None = None) -> None:
        """Replace a run's data (adds the run when new)."""
        self.add_run(key, label)
        run = self._runs[key]
        run.reset()
        if len(losses):
            run.append_steps(steps, losses, times, self._smoothing, self.max_points)
        if len(epoch_steps):
            run.append_epochs(epoch_steps, metrics or {}, epoch_times)
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
    @Slot(float)
    def set_smoothing(self, weight: float) -> None:
        """EMA weight in [0, 0.999]; 0 = no smoothing."""
        weight = min(max(float(weight), 0.0), 0.999)
        self._smoothing = weight
        self.toolbar.show_smoothing(weight)
        for run in self._runs.values():
            run.resmooth(weight)
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

    @Slot(str)
    def set_x_mode(self, mode: str) -> None:
        """'step' or 'time' (seconds since each run started)."""
        if mode not in ("step", "time"):
            raise ValueError("x mode must be 'step' or 'time'")
        self._x_mode = mode
        self.toolbar.show_x_mode(mode)
        self._update_x_labels()
        for run in self._runs.values():
            run.dirty = True
        self._schedule()

    @property
    def x_mode(self) -> str:
        return self._x_mode

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
            x = run.loss_x(self._x_mode)
            run.raw_item.setData(x, run.losses.view())
            run.smooth_item.setData(x, run.smoothed.view())
            ex = run.epoch_x(self._x_mode)
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

    def resizeEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit_legend()

    @Slot()
    def _apply_theme(self) -> None:
        # A slot of this QObject class (not of the mixin): Qt drops the connection to the
        # application-wide theme when the plot is destroyed.
        self._style_plots()


__all__ = ["DEFAULT_METRICS", "LossPlot", "MAX_POINTS", "ema", "sensible_range"]

"""Per-run curve bookkeeping of :class:`~.loss_plot.LossPlot`, without Qt: the loss points
(raw and smoothed), the per-epoch metrics, and the history cap.

A run keeps at most ``max_points`` loss points: when it would hold more, every other point is
dropped (uniformly, the first kept) and from then on only one incoming point in ``stride`` is
kept, so a run of any length costs bounded memory and drawing time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .curve_data import Buffer, ema


@dataclass
class RunCurves:
    """One run's data and its plot items (``raw_item`` / ``smooth_item`` on the loss plot,
    ``metric_items`` one per validation plot; set by the plot)."""

    key: str
    label: str
    color_index: int
    steps: Buffer = field(default_factory=Buffer)
    times: Buffer = field(default_factory=Buffer)  # seconds since the run started (NaN: unknown)
    losses: Buffer = field(default_factory=Buffer)
    smoothed: Buffer = field(default_factory=Buffer)
    ema_state: tuple[float, float] = (0.0, 0.0)
    epoch_steps: Buffer = field(default_factory=Buffer)
    epoch_times: Buffer = field(default_factory=Buffer)
    metrics: dict[str, Buffer] = field(default_factory=dict)
    raw_item: Any = None
    smooth_item: Any = None
    metric_items: dict[str, Any] = field(default_factory=dict)
    visible: bool = True
    dirty: bool = True
    stride: int = 1  # keep one loss point in ``stride`` (doubles each time the cap is reached)
    seen: int = 0  # loss points received

    def append_steps(self, steps: Sequence[float] | np.ndarray,
                     losses: Sequence[float] | np.ndarray,
                     times: Sequence[float] | np.ndarray | None,
                     smoothing: float, max_points: int) -> None:
        """Append loss points (equal lengths; ``times`` None = unknown), smoothed with EMA weight
        ``smoothing`` continuing the run's state, thinned to at most ``max_points``."""
        losses = np.asarray(losses, dtype=np.float64).ravel()
        steps = np.asarray(steps, dtype=np.float64).ravel()
        times = (np.asarray(times, dtype=np.float64).ravel() if times is not None
                 else np.full(len(losses), np.nan))
        smoothed, num, den = ema(losses, smoothing, *self.ema_state)
        self.ema_state = (num, den)
        received = len(losses)
        if self.stride > 1:  # past the cap: keep every stride-th point, as the halving did
            keep = (self.seen + np.arange(received)) % self.stride == 0
            steps, times, losses, smoothed = steps[keep], times[keep], losses[keep], smoothed[keep]
        self.seen += received
        self.steps.extend(steps)
        self.times.extend(times)
        self.losses.extend(losses)
        self.smoothed.extend(smoothed)
        while self.losses.n > max_points:
            for buf in (self.steps, self.times, self.losses, self.smoothed):
                buf.halve()
            self.stride *= 2
        self.dirty = True

    def append_epochs(self, steps: Sequence[float] | np.ndarray,
                      metrics: dict[str, Sequence[float]],
                      times: Sequence[float] | np.ndarray | None) -> None:
        """Append per-epoch metrics; ``steps`` is the step count at each epoch's end. A metric
        missing from ``metrics`` (or appearing late) is padded with NaN."""
        steps = np.asarray(steps, dtype=np.float64).ravel()
        self.epoch_steps.extend(steps)
        self.epoch_times.extend(times if times is not None else np.full(len(steps), np.nan))
        before = self.epoch_steps.n - len(steps)
        for name in set(self.metrics) | set(metrics):
            buf = self.metrics.setdefault(name, Buffer())
            if buf.n < before:
                buf.extend(np.full(before - buf.n, np.nan))
            values = metrics.get(name)
            buf.extend(np.full(len(steps), np.nan) if values is None else values)
        self.dirty = True

    def reset(self) -> None:
        """Forget every point (the items stay)."""
        for buf in (self.steps, self.times, self.losses, self.smoothed, self.epoch_steps,
                    self.epoch_times):
            buf.clear()
        self.metrics.clear()
        self.ema_state = (0.0, 0.0)
        self.stride, self.seen = 1, 0
        self.dirty = True

    def resmooth(self, weight: float) -> None:
        """Recompute the smoothed loss with a new EMA weight."""
        smoothed, num, den = ema(self.losses.view(), weight)
        self.smoothed.clear()
        self.smoothed.extend(smoothed)
        self.ema_state = (num, den)
        self.dirty = True

    def loss_x(self, mode: str) -> np.ndarray:
        """x of the loss points: steps (``mode`` 'step') or seconds ('time')."""
        return self.steps.view() if mode == "step" else self.times.view()

    def epoch_x(self, mode: str) -> np.ndarray:
        """x of the epoch points: steps (``mode`` 'step') or seconds ('time')."""
        return self.epoch_steps.view() if mode == "step" else self.epoch_times.view()

    def has_metric(self, name: str) -> bool:
        """Whether the run has at least one finite value of metric ``name``."""
        return name in self.metrics and bool(np.isfinite(self.metrics[name].view()).any())

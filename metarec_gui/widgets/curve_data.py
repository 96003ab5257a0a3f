"""Data helpers of the curve widgets: growable buffers, TensorBoard-style smoothing, y ranges
that do not magnify noise, and number formatting for readouts and CSV."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd


def sensible_range(lo: float, hi: float, min_span_frac: float = 0.1) -> tuple[float, float]:
    """A y range around [lo, hi] never narrower than ``min_span_frac`` of the values' size, so
    noise in the 4th decimal does not fill the plot and look like movement."""
    span = hi - lo
    floor = max(abs(hi), abs(lo), 1e-6) * min_span_frac
    if span < floor:
        mid = (hi + lo) / 2
        lo, hi, span = mid - floor / 2, mid + floor / 2, floor
    return lo - 0.05 * span, hi + 0.08 * span


class Buffer:
    """A growable float64 array (amortised O(1) appends)."""

    def __init__(self) -> None:
        self._data = np.empty(256, dtype=np.float64)
        self.n = 0

    def extend(self, values: Iterable[float] | np.ndarray) -> None:
        arr = np.asarray(values, dtype=np.float64).ravel()
        need = self.n + len(arr)
        if need > len(self._data):
            grown = np.empty(max(need, 2 * len(self._data)), dtype=np.float64)
            grown[: self.n] = self._data[: self.n]
            self._data = grown
        self._data[self.n : need] = arr
        self.n = need

    def view(self) -> np.ndarray:
        return self._data[: self.n]

    def clear(self) -> None:
        self.n = 0

    def halve(self) -> None:
        """Keep every other value (the first included): the history cap."""
        kept = self._data[: self.n : 2].copy()
        self._data = np.empty(max(256, 2 * len(kept)), dtype=np.float64)
        self._data[: len(kept)] = kept
        self.n = len(kept)


def ema(values: np.ndarray, weight: float, num: float = 0.0, den: float = 0.0
        ) -> tuple[np.ndarray, float, float]:
    """Debiased EMA (TensorBoard's smoothing) continuing from state (num, den).

    smoothed_t = num_t / den_t with num_t = w num_{t-1} + x_t, den_t = w den_{t-1} + 1; non-finite
    values are skipped (the previous smoothed value is repeated). Returns (smoothed, num, den).
    """
    v = np.asarray(values, dtype=np.float64).copy()
    v[~np.isfinite(v)] = np.nan
    if len(v) == 0:
        return v, num, den
    count = np.cumsum(np.isfinite(v))
    wp = weight**count
    d = (1.0 - wp) / (1.0 - weight) if weight < 1 else count.astype(np.float64)
    e = pd.Series(v).ewm(alpha=1.0 - weight, adjust=True, ignore_na=True).mean().to_numpy()
    s = np.where(count > 0, e * d, 0.0)
    num_t = wp * num + s
    den_t = wp * den + d
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(den_t > 0, num_t / den_t, np.nan)
    return out, float(num_t[-1]), float(den_t[-1])



def nearest(xs: np.ndarray, x: float) -> int | None:
    """Index of the point nearest to ``x`` in a non-decreasing array (NaNs allowed, slower)."""
    if len(xs) == 0 or not math.isfinite(x):
        return None
    if np.isfinite(xs[0]) and np.isfinite(xs[-1]):
        i = int(np.searchsorted(xs, x))
        candidates = [j for j in (i - 1, i) if 0 <= j < len(xs)]
        return min(candidates, key=lambda j: abs(xs[j] - x))
    finite = np.isfinite(xs)
    if not finite.any():
        return None
    return int(np.nanargmin(np.where(finite, np.abs(xs - x), np.nan)))


def fmt_x(x: float) -> str:
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.2f}"


def num(v: float) -> str:
    if not math.isfinite(v):
        return ""
    return f"{v:.0f}" if float(v).is_integer() and abs(v) < 1e15 else f"{v:.6g}"

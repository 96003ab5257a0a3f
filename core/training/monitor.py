"""The validation metric that picks the best epoch and stops training early: which metric,
which direction is better, its score per epoch, and the patience count.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

MONITOR_CHOICES = ("recall20", "recall10", "ndcg20", "ndcg10", "mae", "rmse", "ndcg3")
LOWER_IS_BETTER = ("mae", "rmse")
_FALLBACKS = ("recall20", "mae")  # tried in order when the monitored metric is absent


def monitor_mode(name: str) -> str:
    """'min' for error metrics (mae, rmse), 'max' for ranking metrics."""
    return "min" if name in LOWER_IS_BETTER else "max"


def monitor_fallback(monitor: str, metrics: dict[str, float]) -> str | None:
    """The metric to monitor instead when ``metrics`` (``val_<name>`` keys) lack ``monitor``:
    recall20, then mae; None when ``monitor`` is there, ``metrics`` is empty or neither is."""
    if f"val_{monitor}" not in metrics and metrics:
        fallback = next((m for m in _FALLBACKS if f"val_{m}" in metrics), None)
        if fallback and fallback != monitor:
            return fallback
    return None


def monitor_score(metrics: dict[str, float], monitor: str, epoch: int) -> float:
    """The monitored validation metric in 'higher is better' form (NaN: no improvement, -inf);
    without it, the latest epoch counts as the best (no validation users): ``epoch``."""
    value = metrics.get(f"val_{monitor}")
    if value is None:
        return float(epoch)
    if not math.isfinite(value):
        return -math.inf
    return -value if monitor_mode(monitor) == "min" else value


def best_validation(history: list[dict[str, float]], monitor: str) -> dict[str, float]:
    """The epoch record of ``history`` (non-empty) with the best finite ``val_<monitor>``; the
    last one when no record has it."""
    key = f"val_{monitor}"
    sign = -1.0 if monitor_mode(monitor) == "min" else 1.0
    scored = [h for h in history if isinstance(h.get(key), float) and math.isfinite(h[key])]
    return max(scored, key=lambda h: sign * h[key]) if scored else history[-1]


@dataclass
class Best:
    """The best epoch so far and a copy of its parameters."""

    metric: float = -math.inf  # in "higher is better" form (error metrics are negated)
    epoch: int = 0
    state: dict[str, torch.Tensor] = field(default_factory=dict)


class EarlyStopping:
    """Keeps the best epoch and counts epochs without a gain; ``patience`` 0 never stops."""

    def __init__(self, patience: int) -> None:
        self.patience = patience
        self.best = Best()
        self.stale = 0  # epochs since the last gain

    def update(self, score: float, epoch: int,
               snapshot: Callable[[], dict[str, torch.Tensor]]) -> bool:
        """Record an epoch's :func:`monitor_score`; True (and ``snapshot()`` kept as the best
        state) when it beats the best by more than 1e-6."""
        improved = score > self.best.metric + 1e-6
        if improved:
            self.best = Best(score, epoch, snapshot())
            self.stale = 0
        else:
            self.stale += 1
        return improved

    @property
    def exhausted(self) -> bool:
        """No gain for ``patience`` epochs: time to stop."""
        return bool(self.patience) and self.stale >= self.patience

"""Progress reports of a training run: plain-Python events passed to the Trainer's callback on
the training thread (the app's worker sends them, pickled, from the training child process).
Times are seconds since the run started.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class StepEvent:
    """One meta-step done (``step`` counts from 1; ``tasks_per_s`` of this step)."""

    step: int
    epoch: int
    total_steps: int
    loss: float
    elapsed: float
    tasks_per_s: float


@dataclass(frozen=True)
class EpochEvent:
    """One meta-epoch done and validated (``improved``: the monitored metric got better)."""

    epoch: int
    step: int
    elapsed: float
    metrics: dict[str, float]  # val_mae, val_rmse, val_ndcg3
    improved: bool


@dataclass(frozen=True)
class LogEvent:
    """A message for the user; ``level`` is 'info' or 'warning'."""

    message: str
    level: str = "info"


@dataclass(frozen=True)
class FinishedEvent:
    """The run ended normally or was cancelled; ``summary`` is what summary.json holds."""

    summary: dict[str, Any]
    run_dir: str | None
    status: str  # 'finished' or 'cancelled'


@dataclass(frozen=True)
class FailedEvent:
    """The run ended on an error (``message`` is for the user; ``step``: the last one done)."""

    message: str
    step: int
    run_dir: str | None = None


Event = StepEvent | EpochEvent | LogEvent | FinishedEvent | FailedEvent

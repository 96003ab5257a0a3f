"""Meta-training, shared by the CLI, the app's training process and ``torchrun``.

The Trainer owns everything algorithms should not repeat: the outer optimizer, gradient
clipping, NaN/Inf detection (stop, keep the last good weights), early stopping on validation,
cancellation within one meta-step, pause/resume, distributed all-reduce of meta-gradients, and
writing the run folder. It reports progress as plain-Python events to one callback.

Modules: :mod:`~core.training.trainer` (:class:`Trainer`), :mod:`~core.training.settings`
(:class:`TrainConfig`), :mod:`~core.training.events`, :mod:`~core.training.stopping`
(:class:`StopToken`, SIGTERM), :mod:`~core.training.monitor` (best epoch, early stopping),
:mod:`~core.training.divergence` (NaN / exploding loss, last good weights). Everything public
is re-exported here: ``from core.training import Trainer`` is the way in.
"""

from __future__ import annotations

from .divergence import START_STEPS, TrainingFailed
from .events import EpochEvent, Event, FailedEvent, FinishedEvent, LogEvent, StepEvent
from .monitor import LOWER_IS_BETTER, MONITOR_CHOICES, monitor_mode
from .settings import TrainConfig
from .stopping import StopToken, Terminated
from .trainer import Trainer

__all__ = [
    "LOWER_IS_BETTER",
    "MONITOR_CHOICES",
    "START_STEPS",
    "EpochEvent",
    "Event",
    "FailedEvent",
    "FinishedEvent",
    "LogEvent",
    "StepEvent",
    "StopToken",
    "TrainConfig",
    "Trainer",
    "Terminated",
    "TrainingFailed",
    "monitor_mode",
]

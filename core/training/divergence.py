"""Training that went wrong: a non-finite or exploding loss, non-finite meta-gradients, the
advice shown with them, and the copies of the last good parameters kept to fall back on.
"""

from __future__ import annotations

import math
from typing import Any

import torch

START_STEPS = 5  # the loss's starting level: the mean of the first steps


class TrainingFailed(RuntimeError):
    """Training stopped on an error the user should read (NaN loss, out of memory, ...)."""

    def __init__(self, message: str, failure: str | None = None) -> None:
        super().__init__(message)
        self.failure = failure  # a short machine-readable kind, e.g. 'diverged'


def divergence(loss: float, grads: dict[str, torch.Tensor], losses: list[float],
               factor: float, scale: Any) -> str | None:
    """Why a meta-step diverged (None if it did not): a non-finite ``loss``, a non-finite
    gradient (``grads``: name -> tensor) or an :func:`explosion` against the earlier
    ``losses``."""
    bad = [k for k, g in grads.items() if not torch.isfinite(g).all()]
    if not math.isfinite(loss):
        return f"loss is {loss}"
    if bad:
        return f"gradient of {bad[0]} is not finite"
    return explosion(loss, losses, factor, scale)


def explosion(loss: float, losses: list[float], factor: float, scale: Any) -> str | None:
    """Why a finite loss counts as diverged (None if it does not).

    Relative: above ``factor`` (TrainConfig.diverge_factor; 0 = off) x its starting level (the
    mean of the first START_STEPS of ``losses``, floored at 0.01). Absolute, for a loss that is
    huge from step 1: above ``factor`` x max(1, (rating range of ``scale``)^2) -- far beyond any
    squared error on the scale, and beyond ranking losses (a few units)."""
    if not factor:
        return None
    span = float(scale.max - scale.min) if scale is not None else 1.0
    ceiling = factor * max(1.0, span * span)
    if loss > ceiling:
        return (f"loss {loss:.3g} is beyond {ceiling:.3g} ({factor:g} x the squared rating "
                "range): the loss exploded")
    first = losses[:START_STEPS]
    if first:
        start = max(sum(first) / len(first), 0.01)
        if loss > factor * start:
            return (f"loss {loss:.3g} is more than {factor:g} x its starting level "
                    f"{start:.3g}: the loss exploded")
    return None


def lr_advice(algorithm: Any, outer_lr: float) -> str:
    """What to change after a divergence: the learning rates (naming their values), grad_clip."""
    inner = getattr(getattr(algorithm, "config", None), "inner_lr", None)
    inner_text = f"inner_lr (now {inner:g})" if isinstance(inner, (int, float)) else "the inner learning rate"
    return (f"Lower {inner_text} or outer_lr (now {outer_lr:g}), "
            "or tighten grad_clip")


def snapshot(params: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Detached copies of ``params`` (the last good or the best weights)."""
    return {k: v.detach().clone() for k, v in params.items()}


def restore(params: dict[str, torch.Tensor], state: dict[str, torch.Tensor]) -> None:
    """Copy ``state`` back into ``params`` in place."""
    with torch.no_grad():
        for k, p in params.items():
            p.copy_(state[k])

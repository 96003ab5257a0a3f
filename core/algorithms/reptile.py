"""Reptile (Nichol et al., 2018): move the initialisation towards each task's adapted weights."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..tasks import TaskBatch
from .base import param
from .functional import (
    ModelAlgorithm,
    ModelConfig,
    gradients,
    inner_loop,
    mean_over_tasks,
    support_and_query,
    task_losses,
)


@dataclass
class ReptileConfig(ModelConfig):
    inner_lr: float = param(0.5, "Inner-loop learning rate", low=1e-7, high=100.0, log=True)
    inner_steps: int = param(5, "Inner-loop gradient steps per task", low=1, high=50)


class Reptile(ModelAlgorithm):
    """Reptile's meta-gradient for the adapted parameters is ``(theta - mean_b phi_b) /
    (inner_lr * steps)``, where ``phi_b`` are task ``b``'s weights after ``steps`` SGD steps on
    all its sampled ratings (support and query: Reptile has no held-out set). Scaling by the
    step size makes it equal the average gradient for one step, so the outer optimizer and
    gradient clipping see gradient-sized numbers.

    Meta-only parameters (item tables, shared by all tasks, no per-task copy) get the gradient
    of the task loss at the adapted weights, averaged over tasks, as in first-order MAML.
    """

    name = "reptile"
    title = "Reptile"
    family = "meta"
    description = (
        "Reptile (Nichol et al., 2018): a first-order meta-learner that trains a copy of the "
        "model on each user's ratings for a few steps and moves the initial values towards the "
        "adapted ones. No held-out loss and no second derivatives: the cheapest meta-learner."
    )
    Config = ReptileConfig
    train_defaults = {"epochs": 60, "outer_lr": 0.01, "meta_batch_size": 32}

    def meta_gradients(self, batch: TaskBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        items, ratings, mask = support_and_query(batch)
        names, steps, lr = self.adapted_names, self.inner_steps(None), self.inner_lr()
        with torch.enable_grad():
            fast, _ = inner_loop(
                self.model, self.detached(), names, lr, batch.user_features, items, ratings, mask,
                steps, create_graph=False, track_losses=False,
            )
            # Loss at the adapted weights with the shared parameters attached for their gradient.
            at_adapted = {**self.params, **{n: fast[n].detach() for n in names}}
            loss = mean_over_tasks(task_losses(self.model(at_adapted, batch.user_features, items), ratings, mask), mask)
            shared = {k: v for k, v in self.params.items() if k not in names}
            grads = gradients(self.objective(loss, at_adapted, batch), shared)
        # A task without ratings does not move (phi_b = theta) and is not counted.
        n_tasks = mask.any(1).sum().clamp_min(1)
        for n in names:
            moved = (self.params[n].detach() - fast[n].detach()).sum(0)
            grads[n] = moved / n_tasks / (lr * steps)
        return loss.detach(), {k: grads[k] for k in self.params}

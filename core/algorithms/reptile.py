"""Reptile (Nichol et al., 2018): move the initialisation towards each task's adapted weights."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..tasks import TaskBatch
from .base import param
from .functional import gradients, inner_loop, query_loss
from .model_algorithm import ModelAlgorithm, ModelConfig


@dataclass
class ReptileConfig(ModelConfig):
    inner_lr: float = param(0.3, "Inner-loop learning rate", low=1e-7, high=100.0, log=True)
    inner_steps: int = param(5, "Inner-loop gradient steps per task", low=1, high=50)
    inner_prior: float = param(3.0, "Inner-loop pull towards the initial values, in "
                               "pseudo-ratings (see MAML)", low=0.0, high=1e3)


class Reptile(ModelAlgorithm):
    """Reptile's meta-gradient for the adapted parameters is ``(theta - mean_b phi_b) /
    (inner_lr * steps)``, where ``phi_b`` are task ``b``'s weights after ``steps`` gradient steps
    on its support set. Scaling by the step size makes it equal the average support gradient for
    one step, so the outer optimizer and gradient clipping see gradient-sized numbers.

    Meta-only parameters (item tables, shared by all tasks, with no per-task copy to move
    towards) get the gradient of the query loss at the adapted weights, as in first-order MAML.
    Training them on the ratings the adapted weights were just fitted to (support and query,
    plain Reptile's data) fits them to post-adaptation training data: on the built-in MovieLens
    that drove validation MAE at K=5 from 0.717 to 0.75 within 20 epochs; with held-out query
    ratings it stays at 0.716.
    """

    name = "reptile"
    title = "Reptile"
    family = "meta"
    description = (
        "Reptile (Nichol et al., 2018): a first-order meta-learner that trains a copy of the "
        "model on each user's support ratings for a few steps and moves the initial values "
        "towards the adapted ones; the shared item parameters learn from the query loss. No "
        "second derivatives: the cheapest meta-learner."
    )
    Config = ReptileConfig
    train_defaults = {"epochs": 10, "outer_lr": 0.003, "meta_batch_size": 32, "query_size": 50,
                      "support_min": 2}

    def meta_gradients(self, batch: TaskBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        names, steps, lr = self.adapted_names, self.inner_steps(None), self.inner_lr()
        with torch.enable_grad():
            fast, _ = inner_loop(
                self.model, self.detached(), names, lr, batch.user_features, batch.support_items,
                batch.support_ratings, batch.support_mask, steps, create_graph=False,
                track_losses=False, prior=self.inner_prior,
            )
            # Query loss at the adapted weights, shared parameters attached for their gradient.
            at_adapted = {**self.params, **{n: fast[n].detach() for n in names}}
            loss = query_loss(self.model, at_adapted, batch)
            shared = {k: v for k, v in self.meta_parameters().items() if k not in names}
            grads = gradients(self.objective(loss, at_adapted, batch), shared)
        # A task without support ratings does not move (phi_b = theta) and is not counted.
        n_tasks = batch.support_mask.any(1).sum().clamp_min(1)
        for n in names:
            moved = (self.params[n].detach() - fast[n].detach()).sum(0)
            grads[n] = moved / n_tasks / (lr * steps)
        return loss.detach(), {k: grads[k] for k in self.meta_parameters()}

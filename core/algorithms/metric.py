"""Metric-based meta-learning: a user is a rating-weighted prototype of the items they rated.

No inner gradient steps: the user's bias and vector are computed in closed form from the
support set by a meta-learned encoder, and the whole map (support set -> predictions) is
trained end-to-end on the query loss, as prototypical networks are (Snell et al., 2017).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..data import RatingsDataset
from ..models import Params
from ..tasks import FeatureTables, TaskBatch
from .base import Adapted, AlgorithmConfig, param
from .functional import ModelAlgorithm, gradients, mean_over_tasks, task_losses


@dataclass
class ProtoConfig(AlgorithmConfig):
    model: str = param("factor", "Item encoder: the factor model's item vectors (genres + year, "
                       "plus an item-id vector with use_item_id)", choices=("factor",))
    factors: int = param(32, "Size of item embeddings and of the user prototype", low=1, high=512)
    use_item_id: bool = param(False, "Item embeddings include an item-id vector (else genres and "
                              "year only, which generalise better on small data)")
    shrinkage: float = param(3.0, "Initial pseudo-count pulling the user's bias and prototype "
                             "towards the learned prior (meta-learned)", low=1e-3, high=1e3, log=True)
    warm_start: bool = param(True, "Start the global mean and item biases from the training "
                             "ratings (fit)")
    item_reg: float = param(0.3, "L2 penalty on the item factors and biases of the items in each "
                            "batch (per rating)", low=0.0, high=100.0)


class ProtoRec(ModelAlgorithm):
    """Prediction ``mu + b_i + b_u + <p_u, q_i>`` where, from the support ratings ``r_j``:

    * residuals ``e_j = r_j - mu - b_j``;
    * ``b_u = (lam_b * b0 + sum_j e_j) / (n + lam_b)`` (shrunk towards a learned prior ``b0``);
    * ``p_u = p0 + s * sum_j (e_j - b_u) q_j / (n + lam_p)``: the support items' embeddings
      weighted by the user's centred ratings, i.e. a prototype of what they like minus what
      they dislike; ``s``, ``lam_b``, ``lam_p`` are learned (log-parametrised).

    With an empty support set the prediction is the prior (population) one.
    """

    name = "proto"
    title = "Prototype (metric)"
    family = "metric"
    description = (
        "Metric-based: the new user's vector is the average embedding of the items they rated, "
        "weighted by how much above or below expectation they rated them; predictions are the "
        "similarity of a candidate item's embedding to it, plus biases. No gradient steps at "
        "adaptation time (instant), trained end-to-end on query loss."
    )
    Config = ProtoConfig
    train_defaults = {"epochs": 10, "outer_lr": 0.003, "meta_batch_size": 32}

    def __init__(
        self, config: ProtoConfig, dataset: RatingsDataset, features: FeatureTables, device: torch.device
    ) -> None:
        super().__init__(config, dataset, features, device)
        dtype = self.params["mu"].dtype
        for name, value in (("log_shrink_bias", config.shrinkage), ("log_shrink_vec", config.shrinkage),
                            ("log_scale", 1.0)):
            self.params[name] = torch.tensor(math.log(value), device=device, dtype=dtype).requires_grad_(True)

    def user_state(self, params: Params, batch: TaskBatch) -> Params:
        """The user's bias [B] and vector [B, d] from the support set."""
        m = batch.support_mask.to(params["mu"].dtype)
        items = batch.support_items
        resid = (batch.support_ratings - params["mu"] - params["item_bias"][items]) * m
        n = m.sum(1)
        lam_b, lam_p = params["log_shrink_bias"].exp(), params["log_shrink_vec"].exp()
        bias = (lam_b * params["user_bias"] + resid.sum(1)) / (n + lam_b)
        centred = (resid - bias.unsqueeze(1)) * m
        proto = (centred.unsqueeze(-1) * self.model.item_vectors(params, items)).sum(1)
        vec = params["user_vec"] + params["log_scale"].exp() * proto / (n + lam_p).unsqueeze(1)
        return {"user_bias": bias, "user_vec": vec}

    def meta_gradients(self, batch: TaskBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        with torch.enable_grad():
            params = {**self.params, **self.user_state(self.params, batch)}
            pred = self.model(params, batch.user_features, batch.query_items)
            loss = mean_over_tasks(task_losses(pred, batch.query_ratings, batch.query_mask), batch.query_mask)
            return loss.detach(), gradients(self.objective(loss, self.params, batch), self.params)

    def adapt(self, batch: TaskBatch, steps: int | None = None) -> Adapted:
        with torch.no_grad():
            return Adapted(self.user_state(self.detached(), batch))

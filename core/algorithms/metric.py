"""Metric-based meta-learners on the ranker's item embeddings: no inner gradient steps; the new
user is computed from the support set by a meta-learned map, trained end-to-end on the query
loss of training users (episodes), as prototypical and matching networks are.

* ``proto`` (Snell et al., NeurIPS 2017): the user is a prototype, the rating-weighted sum of
  the support items' embeddings (RankingModel.encode); candidates are scored by their dot
  product with it plus a popularity logit.
* ``matching`` (Vinyals et al., NeurIPS 2016): each candidate attends to the support items by
  cosine similarity of its output embedding to their input embeddings (softmax with a learned
  temperature and a "none of these" slot); its score is the attention-weighted sum of the
  support's rating weights, plus a popularity logit. The rating head is the same attention
  over the support's rating residuals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..data import RatingsDataset
from ..models import Params
from ..tasks import FeatureTables, TaskBatch
from .base import Adapted, param
from .functional import ModelAlgorithm, RankerConfig, gradients, query_loss, support_mask_matrix


@dataclass
class ProtoConfig(RankerConfig):
    model: str = param("ranker", "Item embeddings: the ranker's (item ids + genres + year)",
                       choices=("ranker",))
    dim: int = param(128, "Size of the user vector and item embeddings (128: the persona benchmark's "
                     "lists follow the taste more closely than with 64, at the same Recall@20)",
                     low=2, high=1024)
    shrinkage: float = param(3.0, "Pseudo-count pulling the user's rating bias towards the "
                             "learned prior", low=1e-3, high=1e3, log=True)


class ProtoRec(ModelAlgorithm):
    """User vector ``u = user_vec + sum_j w(r_j) e_j / sqrt(n)`` (learned rating weights ``w``,
    input embeddings ``e``); rating bias = the support's mean residual shrunk towards a learned
    prior. With an empty support the user is the population vector."""

    name = "proto"
    title = "Prototype network"
    family = "metric"
    description = (
        "Metric-based (prototypical networks, Snell et al. 2017): the new user is the sum of the "
        "embeddings of the items they rated, each weighted by a learned function of its rating "
        "(dislikes push away); candidates are ranked by similarity to it plus popularity. No "
        "gradient steps when adapting (instant); trained end-to-end on training users' episodes."
    )
    Config = ProtoConfig
    train_defaults = {"epochs": 10, "outer_lr": 0.003, "meta_batch_size": 32, "query_size": 50,
                      "support_min": 2}

    def user_state(self, params: Params, batch: TaskBatch) -> Params:
        m = self.model
        offset = m.encode(params, batch.support_items, batch.support_ratings, batch.support_mask)
        bias = m.closed_form_bias(params, batch.support_items, batch.support_ratings,
                                  batch.support_mask, self.config.shrinkage)
        return {"user_vec": params["user_vec"] + offset, "user_bias": bias}

    def meta_gradients(self, batch: TaskBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        with torch.enable_grad():
            params = {**self.params, **self.user_state(self.params, batch)}
            loss = query_loss(self.model, params, batch)
            return loss.detach(), gradients(self.objective(loss, self.params, batch), self.meta_parameters())

    def adapt(self, batch: TaskBatch, steps: int | None = None) -> Adapted:
        with torch.no_grad():
            return Adapted(self.user_state(self.detached(), batch))


@dataclass
class MatchingConfig(ProtoConfig):
    dim: int = param(64, "Size of the item embeddings the attention compares", low=2, high=1024)
    temperature: float = param(0.1, "Initial softmax temperature of the cosine attention "
                               "(meta-learned)", low=1e-3, high=10.0, log=True)


class MatchingNet(ProtoRec):
    """Score ``s_i = a_i + g * sum_j att_ij w(r_j)`` with ``att_i. = softmax([cos(v_i, e_j) / T]_j,
    0)`` over the support plus a null slot of logit 0 (a candidate like none of the support
    attends to nothing); rating ``mu + b_i + b_u + c * sum_j att_ij (r_j - mu - b_j)``."""

    name = "matching"
    title = "Matching network"
    description = (
        "Metric-based (matching networks, Vinyals et al. 2016): each candidate item attends to "
        "the items the user rated, by cosine similarity of learned embeddings; its score is the "
        "attention-weighted sum of what the user thought of them (a learned weight per rating), "
        "plus popularity. Behaves like a learned item-to-item neighbourhood; instant adaptation."
    )
    Config = MatchingConfig

    def __init__(
        self, config: MatchingConfig, dataset: RatingsDataset, features: FeatureTables, device: torch.device
    ) -> None:
        super().__init__(config, dataset, features, device)
        dtype = self.params["mu"].dtype
        for name, value in (("log_inv_temp", -math.log(config.temperature)), ("log_gain", math.log(3.0)),
                            ("resid_scale", 0.0)):
            self.params[name] = torch.tensor(value, device=device, dtype=dtype).requires_grad_(True)

    def user_state(self, params: Params, batch: TaskBatch) -> Params:
        m = self.model
        e = m.input_vectors(params, batch.support_items)  # [B, S, d]
        e = e / e.norm(dim=-1, keepdim=True).clamp_min(1e-8)
        bias = m.closed_form_bias(params, batch.support_items, batch.support_ratings,
                                  batch.support_mask, self.config.shrinkage)
        resid = batch.support_ratings - params["mu"] - params["item_bias"][batch.support_items]
        return {"keys": e, "weights": m.rating_weights(params, batch.support_ratings),
                "resid": resid - bias.unsqueeze(1), "mask": batch.support_mask.to(e.dtype),
                "user_bias": bias}

    def attention(self, params: Params, state: Params) -> torch.Tensor:
        """att [B, n_items, S]: each item's attention over the support (null slot dropped)."""
        v = self.model.item_vectors(params)
        v = v / v.norm(dim=-1, keepdim=True).clamp_min(1e-8)
        logits = (state["keys"] @ v.T).mT * params["log_inv_temp"].exp()  # [B, n, S]
        logits = logits.masked_fill(state["mask"].unsqueeze(1) == 0, float("-inf"))
        null = torch.zeros_like(logits[..., :1])
        return torch.softmax(torch.cat([logits, null], -1), -1)[..., :-1]

    def _outputs(self, params: Params, state: Params, batch: TaskBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """(ranking scores [B, n_items], predicted ratings [B, n_items])."""
        att = self.attention(params, state)
        taste = (att @ (state["weights"] * state["mask"]).unsqueeze(-1)).squeeze(-1)
        scores = params["item_logit"] + params["log_gain"].exp() * taste
        resid = (att @ (state["resid"] * state["mask"]).unsqueeze(-1)).squeeze(-1)
        ratings = (params["mu"] + params["item_bias"] + state["user_bias"].unsqueeze(1)
                   + params["resid_scale"] * resid)
        return scores, ratings

    def meta_gradients(self, batch: TaskBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        with torch.enable_grad():
            state = self.user_state(self.params, batch)
            scores, ratings = self._outputs(self.params, state, batch)
            exclude = support_mask_matrix(batch, self.dataset.n_items)
            loss = _episode_loss(self.model, scores, ratings, batch, exclude)
            return loss.detach(), gradients(self.objective(loss, self.params, batch), self.meta_parameters())

    def adapt(self, batch: TaskBatch, steps: int | None = None) -> Adapted:
        with torch.no_grad():
            return Adapted(self.user_state(self.detached(), batch))

    def predict(self, adapted: Adapted | None, batch: TaskBatch, items: torch.Tensor) -> torch.Tensor:
        params = self.detached()
        if adapted is None:
            with torch.no_grad():
                return params["mu"] + params["item_bias"][items] + params["user_bias"]
        with torch.no_grad():
            return self._outputs(params, adapted.state, batch)[1].gather(1, items)

    def score(self, adapted: Adapted | None, batch: TaskBatch, items: torch.Tensor) -> torch.Tensor:
        params = self.detached()
        if adapted is None:
            return params["item_logit"][items]
        with torch.no_grad():
            return self._outputs(params, adapted.state, batch)[0].gather(1, items)


def _episode_loss(model, scores: torch.Tensor, ratings: torch.Tensor, batch: TaskBatch,
                  exclude: torch.Tensor) -> torch.Tensor:
    """The ranker's query loss for precomputed catalogue scores and ratings [B, n_items]."""
    logits = scores.masked_fill(exclude, float("-inf"))
    mask = batch.query_mask
    liked = mask if model.implicit else mask & (batch.query_ratings >= model.threshold - 1e-6)
    pos = logits.gather(1, batch.query_items)
    terms = torch.where(liked, torch.logsumexp(logits, 1, keepdim=True) - pos, 0.0)
    loss = terms.sum(1) / liked.sum(1).clamp_min(1)
    if model.rating_weight > 0:
        m = mask.to(ratings.dtype)
        err = (ratings.gather(1, batch.query_items) - batch.query_ratings) * m
        loss = loss + model.rating_weight * (err**2).sum(1) / m.sum(1).clamp_min(1.0)
    return loss.sum() / mask.any(1).sum().clamp_min(1)

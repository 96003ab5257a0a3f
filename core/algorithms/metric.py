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
from ..models import Cache, Params
from ..ranker import bpr_loss, rating_mse, softmax_nll
from ..tasks import FeatureTables, TaskBatch
from .base import Adapted, param
from .functional import gradients, support_mask_matrix
from .model_algorithm import ModelAlgorithm, RankerConfig


@dataclass
class ProtoConfig(RankerConfig):
    model: str = param("ranker", "Item embeddings: the ranker's (item ids + genres + year)",
                       choices=("ranker",))
    dim: int = param(128, "Size of the user vector and item embeddings (128: the persona benchmark's "
                     "lists follow the taste more closely than with 64, at the same Recall@20)",
                     low=2, high=1024)
    shrinkage: float = param(3.0, "Pseudo-count pulling the user's rating bias towards the "
                             "learned prior", low=1e-3, high=1e3, log=True)
    ranking_loss: str = param("softmax", "Query ranking loss: 'softmax' (NLL of each liked item "
                              "over the whole catalogue) or 'bpr' (Rendle et al. 2009: each liked "
                              "item against uniformly drawn negatives). Softmax ranks better on the "
                              "built-in data; BPR's curve falls further (docs/benchmarks.md)",
                              choices=("softmax", "bpr"))
    negatives: int = param(1000, "BPR only: items drawn uniformly (with replacement) from the "
                           "catalogue each step, shared by the meta-batch's tasks; memory grows "
                           "as meta-batch x query size x negatives (32 x 50 x 1,000: ~20 MB)",
                           low=1, high=20_000)


class ProtoRec(ModelAlgorithm):
    """User vector ``u = user_vec + sum_j w(r_j) e_j / sqrt(n)`` (learned rating weights ``w``,
    input embeddings ``e``); ranking score ``s_i = a_i + <u, v_i>``. With an empty support the
    user is the population vector.

    Rating head (shared with the matching network): ``r_i = mu + b_i + b_u + c sum_j att_ij
    (r_j - mu - b_j - b_u)``, the support's rating residuals averaged by a cosine attention of the
    candidate's output embedding to the support's input embeddings (with a null slot), where
    ``b_u`` is the support's mean residual shrunk towards a learned prior. An attention over the
    support generalises to cold users where a multiple of the ranking score ``<u, v_i>`` did not
    (its MAE was above item + user bias at K = 5 and 10)."""

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
    #: the parameter holding log(1 / temperature) of the rating head's attention
    rating_temperature = "rating_log_inv_temp"

    def __init__(
        self, config: ProtoConfig, dataset: RatingsDataset, features: FeatureTables, device: torch.device
    ) -> None:
        super().__init__(config, dataset, features, device)
        dtype = self.params["mu"].dtype
        for name, value in self._extra_params().items():
            self.params[name] = torch.tensor(value, device=device, dtype=dtype).requires_grad_(True)

    def _extra_params(self) -> dict[str, float]:
        return {self.rating_temperature: -math.log(0.1), "resid_scale": 0.0}

    def user_state(self, params: Params, batch: TaskBatch) -> Params:
        """What the support says about the user: the prototype ``user_vec`` [B, d], the rating
        bias ``user_bias`` [B], and for the attention heads the support's unit input embeddings
        ``keys`` [B, S, d], rating weights ``weights`` [B, S], residuals ``resid`` [B, S] and
        ``mask`` [B, S]."""
        m = self.model
        e = m.input_vectors(params, batch.support_items)  # [B, S, d]
        bias = m.closed_form_bias(params, batch.support_items, batch.support_ratings,
                                  batch.support_mask, self.config.shrinkage)
        resid = batch.support_ratings - params["mu"] - params["item_bias"][batch.support_items]
        offset = m.encode(params, batch.support_items, batch.support_ratings, batch.support_mask)
        return {"user_vec": params["user_vec"] + offset, "user_bias": bias,
                "keys": _unit(e), "weights": m.rating_weights(params, batch.support_ratings),
                "resid": resid - bias.unsqueeze(1), "mask": batch.support_mask.to(e.dtype)}

    def attention(self, params: Params, state: Params, items: torch.Tensor | None = None,
                  cache: Cache | None = None) -> torch.Tensor:
        """att [B, N, S]: each of ``items`` [B, N] (default: the whole catalogue, N = n_items)
        attends to the support by cosine similarity over a learned temperature, beside a null
        slot of logit 0 (dropped), so an item like none of the support attends to nothing.
        ``cache`` shares the catalogue's item vectors with the ranking scores of one step."""
        v = self.model.item_vectors(params, cache)
        keys = state["keys"]
        # [B, N, S]; with items given, only their rows are normalised
        logits = (keys @ _unit(v).T).mT if items is None else _unit(v[items]) @ keys.mT
        logits = logits * params[self.rating_temperature].exp()
        logits = logits.masked_fill(state["mask"].unsqueeze(1) == 0, float("-inf"))
        null = torch.zeros_like(logits[..., :1])
        return torch.softmax(torch.cat([logits, null], -1), -1)[..., :-1]

    def ratings(self, params: Params, state: Params, items: torch.Tensor,
                att: torch.Tensor | None = None, cache: Cache | None = None) -> torch.Tensor:
        """Predicted ratings [B, N] of ``items`` [B, N] (not clamped); ``att`` [B, N, S] if
        already computed for these items."""
        if att is None:
            att = self.attention(params, state, items, cache)
        resid = (att @ (state["resid"] * state["mask"]).unsqueeze(-1)).squeeze(-1)
        return (params["mu"] + params["item_bias"][items] + state["user_bias"].unsqueeze(1)
                + params["resid_scale"] * resid)

    def scores(self, params: Params, state: Params, batch: TaskBatch,
               cache: Cache | None = None) -> torch.Tensor:
        """Ranking scores of the whole catalogue [B, n_items]."""
        return self.model.rank_scores({**params, "user_vec": state["user_vec"]}, batch.user_features, cache)

    def meta_gradients(self, batch: TaskBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        with torch.enable_grad():
            state, cache = self.user_state(self.params, batch), {}
            scores = self.scores(self.params, state, batch, cache)
            ratings = self.ratings(self.params, state, batch.query_items, cache=cache)
            exclude = support_mask_matrix(batch, self.dataset.n_items)
            loss = _episode_loss(self, scores, ratings, batch, exclude)
            return loss.detach(), gradients(self.objective(loss, self.params, batch), self.meta_parameters())

    def adapt(self, batch: TaskBatch, steps: int | None = None) -> Adapted:
        with torch.no_grad():
            return Adapted(self.user_state(self.detached(), batch))

    def predict(self, adapted: Adapted | None, batch: TaskBatch, items: torch.Tensor) -> torch.Tensor:
        params = self.detached()
        with torch.no_grad():
            if adapted is None:
                return params["mu"] + params["item_bias"][items] + params["user_bias"]
            return self.ratings(params, adapted.state, items)

    def score(self, adapted: Adapted | None, batch: TaskBatch, items: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            if adapted is None:
                return super().score(None, batch, items)
            return self.scores(self.detached(), adapted.state, batch).gather(1, items)


@dataclass
class MatchingConfig(ProtoConfig):
    dim: int = param(64, "Size of the item embeddings the attention compares", low=2, high=1024)
    temperature: float = param(0.1, "Initial softmax temperature of the cosine attention "
                               "(meta-learned)", low=1e-3, high=10.0, log=True)


class MatchingNet(ProtoRec):
    """Score ``s_i = a_i + g * sum_j att_ij w(r_j)`` with ``att_i. = softmax([cos(v_i, e_j) / T]_j,
    0)`` over the support plus a null slot of logit 0 (a candidate like none of the support
    attends to nothing); rating ``mu + b_i + b_u + c * sum_j att_ij (r_j - mu - b_j - b_u)``
    with the same attention."""

    name = "matching"
    title = "Matching network"
    description = (
        "Metric-based (matching networks, Vinyals et al. 2016): each candidate item attends to "
        "the items the user rated, by cosine similarity of learned embeddings; its score is the "
        "attention-weighted sum of what the user thought of them (a learned weight per rating), "
        "plus popularity. Behaves like a learned item-to-item neighbourhood; instant adaptation."
    )
    Config = MatchingConfig
    rating_temperature = "log_inv_temp"  # one attention for ranking and rating

    def _extra_params(self) -> dict[str, float]:
        return {"log_inv_temp": -math.log(self.config.temperature), "log_gain": math.log(3.0),
                "resid_scale": 0.0}

    def _outputs(self, params: Params, state: Params, batch: TaskBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """(ranking scores [B, n_items], predicted ratings [B, n_items])."""
        att = self.attention(params, state)
        taste = (att @ (state["weights"] * state["mask"]).unsqueeze(-1)).squeeze(-1)
        scores = params["item_logit"] + params["log_gain"].exp() * taste
        catalogue = torch.arange(self.dataset.n_items, device=att.device).expand(len(batch), -1)
        return scores, self.ratings(params, state, catalogue, att)

    def scores(self, params: Params, state: Params, batch: TaskBatch,
               cache: Cache | None = None) -> torch.Tensor:
        return self._outputs(params, state, batch)[0]

    def meta_gradients(self, batch: TaskBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        with torch.enable_grad():
            state = self.user_state(self.params, batch)
            scores, ratings = self._outputs(self.params, state, batch)
            exclude = support_mask_matrix(batch, self.dataset.n_items)
            loss = _episode_loss(self, scores, ratings.gather(1, batch.query_items), batch, exclude)
            return loss.detach(), gradients(self.objective(loss, self.params, batch), self.meta_parameters())

    def score(self, adapted: Adapted | None, batch: TaskBatch, items: torch.Tensor) -> torch.Tensor:
        params = self.detached()
        if adapted is None:
            return params["item_logit"][items]
        with torch.no_grad():
            return self.scores(params, adapted.state, batch).gather(1, items)


def _unit(x: torch.Tensor) -> torch.Tensor:
    """Rows of ``x`` scaled to unit length (zero rows stay zero)."""
    return x / x.norm(dim=-1, keepdim=True).clamp_min(1e-8)


def _episode_loss(algorithm: ProtoRec, scores: torch.Tensor, ratings: torch.Tensor, batch: TaskBatch,
                  exclude: torch.Tensor) -> torch.Tensor:
    """The query loss of one meta-batch, averaged over tasks with a query: the configured ranking
    loss of the catalogue ``scores`` [B, n_items] (``exclude`` [B, n_items] bool: the support)
    plus rating_weight x the MSE of the query items' predicted ``ratings`` [B, Q]."""
    model, config = algorithm.model, algorithm.config
    logits = scores.masked_fill(exclude, float("-inf"))
    liked = model.liked(batch.query_ratings, batch.query_mask)
    if config.ranking_loss == "bpr":
        # One uniform draw per step, shared by the tasks (global RNG: seeded by the Trainer).
        negatives = torch.randint(0, logits.shape[1], (config.negatives,), device=logits.device)
        loss = bpr_loss(logits, batch.query_items, liked, negatives)
    else:
        loss = softmax_nll(logits, batch.query_items, liked)
    if model.rating_weight > 0:
        loss = loss + model.rating_weight * rating_mse(ratings, batch.query_ratings, batch.query_mask)
    return loss.sum() / batch.query_mask.any(1).sum().clamp_min(1)

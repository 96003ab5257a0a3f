"""The top-N model every meta-learner shares: a user vector against item embeddings, scored over
the whole catalogue, with a rating head beside it.

Functional, like core.models: ``params`` is a dict of tensors; the user-side parameters
``user_vec`` [d] and ``user_bias`` [] may carry a leading task dimension [B, ...] (per-task
copies made by an inner loop).

* Ranking score of item i: ``s_i = a_i + <u, v_i>`` with a popularity logit ``a_i`` (started at
  the centred log(1 + training interactions)) and the item's output vector
  ``v_i = item_out[i] + mean genre vector + year vector`` (content, so items no training user
  rated are scored from their features).
* Rating head: ``r_i = mu + b_i + b_u + c <u, v_i>`` (b_i item rating bias, b_u user rating
  bias, c a learned scale started at 0), so MAE stays reported.
* Task loss (support for inner loops, query for outer losses): the negative log-likelihood of
  each liked item under a softmax over the catalogue (minus ``exclude``, e.g. the support) plus
  ``rating_weight`` x the rating MSE. "Liked" = rating >= the relevance threshold; every
  interaction on implicit data, where the MSE term is off.
* Support encoder (metric learners, and an optional amortised start for the inner loop):
  ``u = user_vec + sum_j w(r_j) e_j / sqrt(n)`` with input embeddings ``e_j`` and a learned
  piecewise-linear weight ``w`` of the rating (started from -1 for the lowest rating to +1 for
  the highest, so dislikes push away).

Item tables may start from a rank-d factorisation of the EASE^R item matrix (Steck, WWW 2019)
of the meta-training users, ``B ~ (U sqrt S)(V sqrt S)^T``: ``item_in = U sqrt S``,
``item_out = V sqrt S``, so ``<e_j, v_i>`` starts as the item-item weight ``B_ji``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from .models import Cache, FunctionalModel, Params, _cached, _per_task_rows
from .tasks import FeatureTables

N_KNOTS = 11
USER_PARAMS = ("user_vec", "user_bias")


class RankingModel(FunctionalModel):
    """See the module docstring. ``scopes``: "user" (user_vec, user_bias: MAML, Meta-SGD,
    Reptile) and "decision" (a per-user linear map of the user vector, MeLU's locally updated
    decision layer)."""

    item_tables = ("item_in", "item_out")

    def __init__(
        self,
        features: FeatureTables,
        dim: int = 64,
        *,
        threshold: float,
        rating_range: tuple[float, float],
        implicit: bool = False,
        rating_weight: float = 1.0,
    ) -> None:
        super().__init__(features)
        self.dim = dim
        self.threshold = threshold
        self.low, self.high = rating_range
        self.implicit = implicit
        self.rating_weight = 0.0 if implicit else rating_weight
        self.user_fields = [f"user_emb.{i}" for i in range(len(features.user_cardinalities))]
        self.scopes = {"user": USER_PARAMS, "all": USER_PARAMS,
                       "decision": ("decision.weight", "decision.bias")}

    def _init_values(self) -> Params:
        f, d = self.features, self.dim
        values: Params = {
            "mu": torch.tensor(3.0),
            "item_bias": torch.zeros(f.n_items),
            "item_logit": torch.zeros(f.n_items),
            "item_in": torch.randn(f.n_items, d) * 0.01,
            "item_out": torch.randn(f.n_items, d) * 0.01,
            "genre_out": torch.zeros(f.n_genres, d),
            "year_out": torch.zeros(f.n_year_buckets, d),
            "genre_in": torch.zeros(f.n_genres, d),
            "rating_knots": torch.linspace(-1.0, 1.0, N_KNOTS),
            "rating_scale": torch.tensor(0.0),
            "encoder_scale": torch.tensor(1.0),
            "user_vec": torch.zeros(d),
            "user_bias": torch.tensor(0.0),
            "decision.weight": torch.eye(d),
            "decision.bias": torch.zeros(d),
        }
        for name, card in zip(self.user_fields, f.user_cardinalities, strict=True):
            values[name] = torch.zeros(card, d)
        return values

    # ------------------------------------------------------------------ item side
    def item_vectors(self, params: Params, cache: Cache | None = None) -> torch.Tensor:
        """Output vectors of every item [n_items, d] (id + genres + year)."""
        def compute() -> torch.Tensor:
            w = self.genre_weights.to(params["genre_out"].dtype)
            return params["item_out"] + w @ params["genre_out"] + params["year_out"][self.features.year_bucket]
        return _cached(cache, "item_vectors", compute)

    def input_vectors(self, params: Params, items: torch.Tensor) -> torch.Tensor:
        """Input (support-side) vectors [B, S, d] of ``items`` [B, S]."""
        w = self.genre_weights[items].to(params["genre_in"].dtype)
        return params["item_in"][items] + w @ params["genre_in"]

    def rating_weights(self, params: Params, ratings: torch.Tensor) -> torch.Tensor:
        """w(r) [B, S]: piecewise-linear in the rating over ``N_KNOTS`` knots spanning the scale
        (every interaction weighs w(top) on implicit data)."""
        span = max(self.high - self.low, 1e-12)
        z = ((ratings - self.low) / span).clamp(0, 1) if not self.implicit else torch.ones_like(ratings)
        pos = z * (N_KNOTS - 1)
        lo = pos.floor().long().clamp(max=N_KNOTS - 2)
        frac = pos - lo
        knots = params["rating_knots"]
        return knots[lo] * (1 - frac) + knots[lo + 1] * frac

    # ------------------------------------------------------------------ user side
    def user_vector(self, params: Params, user_features: torch.Tensor) -> torch.Tensor:
        """The user representation [B, d]: user_vec (+ user-feature embeddings, code 0 =
        unknown contributes nothing), through the decision map."""
        n = user_features.shape[0]
        u = params["user_vec"].expand(n, self.dim) if params["user_vec"].dim() == 1 else params["user_vec"]
        for f, name in enumerate(self.user_fields):
            codes = user_features[:, f]
            rows = _per_task_rows(params[name], codes, self.is_batched(params, name))
            u = u + rows * (codes > 0).unsqueeze(1).to(rows.dtype)
        w, b = params["decision.weight"], params["decision.bias"]
        if w.dim() == 3:
            return torch.baddbmm(b.unsqueeze(1) if b.dim() == 2 else b, u.unsqueeze(1), w.mT).squeeze(1)
        return u @ w.mT + b

    def user_bias(self, params: Params, n: int) -> torch.Tensor:
        b = params["user_bias"]
        return b.expand(n) if b.dim() == 0 else b

    def encode(self, params: Params, items: torch.Tensor, ratings: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The support encoder's offset to user_vec [B, d]: sum_j w(r_j) e_j / sqrt(n)."""
        m = mask.to(params["item_in"].dtype)
        weights = self.rating_weights(params, ratings) * m
        summed = (weights.unsqueeze(-1) * self.input_vectors(params, items)).sum(1)
        return params["encoder_scale"] * summed / m.sum(1, keepdim=True).clamp_min(1.0).sqrt()

    def closed_form_bias(self, params: Params, items, ratings, mask, shrinkage: float = 3.0) -> torch.Tensor:
        """The user's rating bias from the support: mean residual shrunk towards user_bias [B]."""
        m = mask.to(params["mu"].dtype)
        resid = (ratings - params["mu"] - params["item_bias"][items]) * m
        return (shrinkage * params["user_bias"] + resid.sum(1)) / (m.sum(1) + shrinkage)

    # ------------------------------------------------------------------ outputs
    def rank_scores(self, params: Params, user_features: torch.Tensor, cache: Cache | None = None) -> torch.Tensor:
        """Ranking scores of every item [B, n_items]."""
        u = self.user_vector(params, user_features)
        return params["item_logit"] + u @ self.item_vectors(params, cache).T

    def forward(
        self, params: Params, user_features: torch.Tensor, items: torch.Tensor, cache: Cache | None = None
    ) -> torch.Tensor:
        """Predicted ratings [B, N] (not clamped) for ``items`` [B, N]."""
        u = self.user_vector(params, user_features)
        return self._ratings(params, u, self.item_vectors(params, cache), items)

    def _ratings(self, params: Params, u: torch.Tensor, vectors: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """The rating head ``mu + b_i + b_u + c <u, v_i>`` [B, N] (c learned, started at 0 so the
        head starts as item + user bias)."""
        dot = (vectors[items] @ (u * params["rating_scale"]).unsqueeze(-1)).squeeze(-1)
        b_u = self.user_bias(params, items.shape[0]).unsqueeze(1)
        return params["mu"] + params["item_bias"][items] + b_u + dot

    def loss(
        self, params: Params, user_features: torch.Tensor, items: torch.Tensor, ratings: torch.Tensor,
        mask: torch.Tensor, exclude: torch.Tensor | None = None, cache: Cache | None = None,
    ) -> torch.Tensor:
        """Per-task loss [B]: softmax NLL of the liked items over the catalogue (minus
        ``exclude`` [B, n_items] bool) + rating_weight x rating MSE over all rated items."""
        u = self.user_vector(params, user_features)
        vectors = self.item_vectors(params, cache)
        logits = params["item_logit"] + u @ vectors.T  # [B, n_items]
        if exclude is not None:
            logits = logits.masked_fill(exclude, float("-inf"))
        nll = softmax_nll(logits, items, self.liked(ratings, mask))
        if self.rating_weight == 0.0:
            return nll
        pred = self._ratings(params, u, vectors, items)
        return nll + self.rating_weight * rating_mse(pred, ratings, mask)

    def liked(self, ratings: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """[B, N] bool: the rated items that count as positives (every one on implicit data)."""
        return mask if self.implicit else mask & (ratings >= self.threshold - 1e-6)

    def start_from(
        self, params: Params, *, mu: float, item_bias: np.ndarray, counts: np.ndarray,
        item_factors: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        """Warm start (in place): rating mean and item biases, popularity logits, and optionally
        item input/output tables from a factorisation (see ``ease_factors``)."""
        with torch.no_grad():
            params["mu"].fill_(mu)
            params["item_bias"].copy_(torch.as_tensor(item_bias))
            logit = np.log1p(counts)
            params["item_logit"].copy_(torch.as_tensor(logit - logit.mean()))
            if item_factors is not None:
                params["item_in"].copy_(torch.as_tensor(item_factors[0]))
                params["item_out"].copy_(torch.as_tensor(item_factors[1]))


# ---------------------------------------------------------------------------- losses
def softmax_nll(logits: torch.Tensor, items: torch.Tensor, liked: torch.Tensor) -> torch.Tensor:
    """Per-task mean negative log-likelihood [B] of the liked ``items`` [B, N] (``liked`` [B, N]
    bool) under a softmax over the catalogue ``logits`` [B, n_items] (excluded items -inf), as
    Mult-VAE's multinomial likelihood (Liang et al., WWW 2018); 0 for a task with no liked item."""
    pos = logits.gather(1, items)
    terms = torch.where(liked, torch.logsumexp(logits, 1, keepdim=True) - pos, 0.0)
    return terms.sum(1) / liked.sum(1).clamp_min(1)


def bpr_loss(
    logits: torch.Tensor, items: torch.Tensor, liked: torch.Tensor, negatives: torch.Tensor
) -> torch.Tensor:
    """Per-task BPR loss [B] (Rendle et al., UAI 2009): the mean over liked ``items`` [B, N] and
    ``negatives`` [M] (item ids, e.g. drawn uniformly) of ``softplus(s_neg - s_pos)``, i.e.
    ``-log sigmoid(s_pos - s_neg)``. A negative that is excluded (logit -inf, e.g. in the support)
    or is one of the task's liked items is skipped; 0 for a task with no liked item."""
    neg = logits[:, negatives]  # [B, M]
    hit = ((items.unsqueeze(2) == negatives.view(1, 1, -1)) & liked.unsqueeze(2)).any(1)
    valid = ~hit & torch.isfinite(neg)
    pos = logits.gather(1, items)
    diff = neg.masked_fill(~valid, 0.0).unsqueeze(1) - pos.unsqueeze(2)  # [B, N, M]
    pairs = (torch.nn.functional.softplus(diff) * valid.unsqueeze(1)).sum(2)
    per_item = pairs / valid.sum(1, keepdim=True).clamp_min(1)
    return torch.where(liked, per_item, 0.0).sum(1) / liked.sum(1).clamp_min(1)


def rating_mse(pred: torch.Tensor, ratings: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-task mean squared rating error [B] over the ``mask``ed entries of [B, N]."""
    m = mask.to(pred.dtype)
    return ((pred - ratings) ** 2 * m).sum(1) / m.sum(1).clamp_min(1.0)


def ease_factors(
    x_binary, dim: int, l2: float = 500.0, min_count: int = 3, max_items: int = 4000,
    scale: float = 3.0, seed: int = 0, progress: Callable[[str], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Rank-``dim`` factors (in, out) [n_items, dim] of the EASE^R matrix of a binary
    ``users x items`` scipy matrix; items outside the ``max_items`` most frequent (or under
    ``min_count``) get small random vectors. ``scale`` multiplies both so dot products start on
    the scale of the popularity logits."""
    n_items = x_binary.shape[1]
    counts = np.asarray(x_binary.sum(0)).ravel()
    order = np.argsort(-counts, kind="stable")[:max_items]
    kept = np.sort(order[counts[order] >= min_count])
    gen = torch.Generator().manual_seed(seed)
    e_in = torch.randn(n_items, dim, generator=gen, dtype=torch.float64) * 0.01
    e_out = torch.randn(n_items, dim, generator=gen, dtype=torch.float64) * 0.01
    if len(kept) > dim:
        xs = x_binary[:, kept]
        gram = torch.as_tensor((xs.T @ xs).toarray(), dtype=torch.float64)
        gram.diagonal().add_(l2)
        p = torch.linalg.inv(gram)
        b = -p / torch.diagonal(p).unsqueeze(0)
        b.fill_diagonal_(0.0)
        torch.manual_seed(seed)
        u, s, v = torch.svd_lowrank(b, q=dim, niter=4)
        root = s.sqrt() * scale
        idx = torch.as_tensor(kept)
        e_in[idx] = u * root
        e_out[idx] = v * root
    return e_in.float().numpy(), e_out.float().numpy()

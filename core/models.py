"""Functional rating models: pure functions of a parameter dict, so every algorithm can adapt
any subset of the parameters per task.

A model is ``forward(params, user_features, items) -> ratings``. A parameter in ``params`` either
has its declared shape (shared by all tasks) or carries a leading task dimension ``[B, ...]`` (a
per-task copy made by the inner loop). The forward pass uses batched matrix products and lookups
that handle both, so the inner loop for a whole batch of tasks is one forward and one
``autograd.grad`` on stacked per-task tensors: task ``b``'s loss only depends on copy ``b``, so the
gradient of the summed loss with respect to the stack is the stack of per-task gradients (what
``torch.func.vmap(grad(...))`` would give), and ``create_graph=True`` makes it differentiable for
second-order MAML with nothing more than plain autograd.

Per-item tables (item-id embeddings and item biases) are never adapted: a task's support and query
items are disjoint, so changing a support item's row cannot change a query prediction.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch

from .tasks import FeatureTables

Params = dict[str, torch.Tensor]
Cache = dict[str, torch.Tensor]

MODEL_NAMES = ("melu", "factor")


def _per_task_rows(table: torch.Tensor, idx: torch.Tensor, batched: bool) -> torch.Tensor:
    """``table[idx]`` for idx [B, ...]; a per-task table [B, V, ...] is indexed task by task."""
    if not batched:
        return table[idx]
    tasks = torch.arange(idx.shape[0], device=idx.device).view(-1, *([1] * (idx.dim() - 1)))
    return table[tasks, idx]


def _cached(cache: Cache | None, key: str, compute: Callable[[], torch.Tensor]) -> torch.Tensor:
    """``compute()``, stored in ``cache`` under ``key`` for the next call (see ``forward``)."""
    if cache is None:
        return compute()
    if key not in cache:
        cache[key] = compute()
    return cache[key]


def _linear(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """x [B, N, in] -> [B, N, out] with shared ([out, in]) or per-task ([B, out, in]) weights,
    bias fused into the matrix product (one kernel, not two, per layer)."""
    if w.dim() == 3:
        bias = b.unsqueeze(1) if b.dim() == 2 else b.expand(x.shape[0], 1, -1)
        return torch.baddbmm(bias, x, w.mT)
    if b.dim() == 2:  # shared weight, per-task bias
        return torch.baddbmm(b.unsqueeze(1), x, w.mT.expand(x.shape[0], -1, -1))
    return torch.addmm(b, x.flatten(0, 1), w.mT).view(*x.shape[:2], -1)


def _uniform(shape: tuple[int, ...], bound: float) -> torch.Tensor:
    return (torch.rand(shape) * 2 - 1) * bound


class FunctionalModel:
    """Base: parameter shapes, fresh initial values, and which parameters may adapt per task."""

    #: ``scope -> names`` of parameters an algorithm may adapt in its inner loop.
    scopes: dict[str, tuple[str, ...]]
    #: per-item tables (never adapted, regularised by ``item_penalty``).
    item_tables: tuple[str, ...] = ()
    #: whether the model implements ``descend`` (else the inner loop uses autograd).
    explicit_descent: bool = False

    def __init__(self, features: FeatureTables) -> None:
        self.features = features
        self.shapes: dict[str, tuple[int, ...]] = {}
        # Genres as a row-normalised multi-hot matrix: a genre bag's mean embedding is a matmul.
        genres = features.genres
        weights = torch.zeros(genres.shape[0], features.n_genres + 1, device=genres.device)
        weights.scatter_add_(1, genres, torch.ones_like(genres, dtype=weights.dtype))
        weights = weights[:, 1:]
        self.genre_weights = weights / weights.sum(1, keepdim=True).clamp_min(1.0)

    def init_params(self, device: torch.device | str = "cpu") -> Params:
        """Fresh initial values (global torch RNG, drawn on CPU so a seed means the same on
        every device), as leaf tensors that require grad, in the default dtype."""
        values = self._init_values()
        self.shapes = {k: tuple(v.shape) for k, v in values.items()}
        dtype = torch.get_default_dtype()
        return {k: v.to(device, dtype).requires_grad_(True) for k, v in values.items()}

    def _init_values(self) -> Params:
        raise NotImplementedError

    def adapted_names(self, scope: str) -> tuple[str, ...]:
        if scope not in self.scopes:
            raise KeyError(f"unknown adaptation scope '{scope}'; valid: {', '.join(self.scopes)}")
        return self.scopes[scope]

    def is_batched(self, params: Params, name: str) -> bool:
        return params[name].dim() > len(self.shapes[name])

    def forward(
        self, params: Params, user_features: torch.Tensor, items: torch.Tensor, cache: Cache | None = None
    ) -> torch.Tensor:
        """Predicted ratings [B, N] (not clamped) for ``items`` [B, N].

        ``cache``: a dict shared by calls with the same ``user_features`` and ``items`` during
        which the shared (not per-task) parameters keep their values (the first-order inner
        loop); terms that depend only on those are computed once. Models may ignore it.
        """
        raise NotImplementedError

    def __call__(
        self, params: Params, user_features: torch.Tensor, items: torch.Tensor, cache: Cache | None = None
    ) -> torch.Tensor:
        return self.forward(params, user_features, items, cache)

    def loss(
        self, params: Params, user_features: torch.Tensor, items: torch.Tensor, ratings: torch.Tensor,
        mask: torch.Tensor, exclude: torch.Tensor | None = None, cache: Cache | None = None,
    ) -> torch.Tensor:
        """Per-task training loss [B] on the rated positions of ``items`` [B, N]: here the masked
        mean squared rating error (a task with none gives 0). ``exclude`` [B, n_items] (items
        that are not candidates, e.g. the support) matters to ranking losses only."""
        m = mask.to(ratings.dtype)
        err = self.forward(params, user_features, items, cache) - ratings
        return (err**2 * m).sum(1) / m.sum(1).clamp_min(1.0)

    def descend(
        self, params: Params, names: tuple[str, ...], lr: float, user_features: torch.Tensor,
        items: torch.Tensor, ratings: torch.Tensor, mask: torch.Tensor, weight: torch.Tensor, cache: Cache,
    ) -> torch.Tensor:
        """One in-place first-order gradient step on the per-task stacks (``explicit_descent``
        models only; see PreferenceEstimator.descend)."""
        raise NotImplementedError

    def item_penalty(self, params: Params, items: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Per task [B], the mean over rated positions of the squared norm of the items' own
        parameters (id embedding or factors, bias): the per-occurrence L2 of SGD matrix
        factorisation, so an item's penalty grows with its data as its loss terms do."""
        m = mask.to(params["mu"].dtype)
        total = torch.zeros_like(m)
        for name in self.item_tables:
            if name in params:
                rows = params[name][items]
                total = total + (rows**2 if rows.dim() == items.dim() else (rows**2).sum(-1))
        return (total * m).sum(1) / m.sum(1).clamp_min(1.0)

    # ------------------------------------------------------------ shared pieces
    def _genre_mean(self, params: Params, name: str, items: torch.Tensor) -> torch.Tensor:
        """Mean of an item's genre embeddings [B, N, D] (zeros for an item without genres)."""
        table = params[name]
        w = self.genre_weights[items].to(table.dtype)  # [B, N, G]
        return w @ table  # [G, D] or per task [B, G, D]

    def _user_feature_embeddings(
        self, params: Params, names: Iterable[str], user_features: torch.Tensor
    ) -> list[torch.Tensor]:
        """One [B, D] embedding per categorical user field (code 0 = unknown)."""
        return [
            _per_task_rows(params[n], user_features[:, f], self.is_batched(params, n))
            for f, n in enumerate(names)
        ]


class PreferenceEstimator(FunctionalModel):
    """MeLU-style network (Lee et al., KDD 2019): item embeddings (genre bag, year bucket,
    optionally item id) and user-field embeddings, concatenated, through an MLP ("decision
    layers") to a residual added to the global mean and an item bias (the paper has no bias;
    a per-item scalar is cheap and the single most useful piece of item information).

    On data without user attributes the user enters only through the adapted decision layers,
    which is exactly MeLU's point: personalisation lives in the locally updated layers.
    """

    explicit_descent = True

    def __init__(
        self,
        features: FeatureTables,
        embedding_dim: int = 32,
        hidden: int = 64,
        layers: int = 2,
        use_item_id: bool = True,
    ) -> None:
        super().__init__(features)
        self.dim = embedding_dim
        self.use_item_id = use_item_id
        self.user_fields = [f"user_emb.{i}" for i in range(len(features.user_cardinalities))]
        self.layer_names = [f"fc{i + 1}" for i in range(layers)] + ["out"]
        self.sizes = [hidden] * layers + [1]
        decision = tuple(f"{n}.{p}" for n in self.layer_names for p in ("weight", "bias"))
        embeddings = ("genre_emb", "year_emb", *self.user_fields)
        self.scopes = {"decision": decision, "all": embeddings + decision}
        self.item_tables = ("item_emb", "item_bias") if use_item_id else ("item_bias",)

    def _init_values(self) -> Params:
        f, d = self.features, self.dim
        values: Params = {
            "mu": torch.tensor(3.0),
            "genre_emb": torch.randn(f.n_genres, d) * 0.1,
            "year_emb": torch.randn(f.n_year_buckets, d) * 0.1,
        }
        for name, card in zip(self.user_fields, f.user_cardinalities, strict=True):
            values[name] = torch.randn(card, d) * 0.1
        values["item_bias"] = torch.zeros(f.n_items)
        if self.use_item_id:
            values["item_emb"] = torch.randn(f.n_items, d) * 0.1
        width = d * (2 + self.use_item_id + len(self.user_fields))
        for name, size in zip(self.layer_names, self.sizes, strict=True):
            bound = 1.0 / math.sqrt(width)  # torch.nn.Linear's default initialisation
            values[f"{name}.weight"] = _uniform((size, width), bound)
            values[f"{name}.bias"] = _uniform((size,), bound)
            width = size
        return values

    def forward(
        self, params: Params, user_features: torch.Tensor, items: torch.Tensor, cache: Cache | None = None
    ) -> torch.Tensor:
        # With a cache, the decision layers' input is computed once when no embedding is per
        # task (only the decision layers adapt), else its item-side lookups are.
        embeddings = ("genre_emb", "year_emb", *self.user_fields)
        static = not any(self.is_batched(params, n) for n in embeddings)
        x = _cached(cache, "input", lambda: self._input(params, user_features, items, cache)) if static \
            else self._input(params, user_features, items, cache)
        for i, name in enumerate(self.layer_names):
            x = _linear(x, params[f"{name}.weight"], params[f"{name}.bias"])
            if i < len(self.layer_names) - 1:
                x = torch.relu(x)
        offset = _cached(cache, "offset", lambda: params["mu"] + params["item_bias"][items])
        return x.squeeze(-1) + offset

    def descend(
        self, params: Params, names: tuple[str, ...], lr: float, user_features: torch.Tensor,
        items: torch.Tensor, ratings: torch.Tensor, mask: torch.Tensor, weight: torch.Tensor, cache: Cache,
    ) -> torch.Tensor:
        """One gradient step ``theta_b -= lr * d(sum_b weight_b * loss_b) / d theta_b``, in place,
        on the per-task stacks ``params[n]`` for ``n`` in ``names`` (every other parameter
        shared), by explicit batched backpropagation; returns the task losses [B] before it.

        For the first-order inner loop, where no graph through the step is wanted: compared
        with autograd it skips the graph bookkeeping, and each weight gradient ``dZ^T A`` is
        added straight into its weight stack (``baddbmm_``) instead of being materialised and
        then subtracted (the weight stacks' memory traffic is a large part of the step's cost).
        """
        adapted = set(names)
        # The first layer's input gradient is needed up to the last adapted embedding's columns
        # (layout: genre, year, item id, user fields; none when only the decision layers adapt).
        ends = {"genre_emb": self.dim, "year_emb": 2 * self.dim} | {
            n: self.dim * (3 + self.use_item_id + f) for f, n in enumerate(self.user_fields)}
        width = max((end for n, end in ends.items() if n in adapted), default=0)
        embeddings = width > 0
        x = self._input(params, user_features, items, cache) if embeddings \
            else _cached(cache, "input", lambda: self._input(params, user_features, items, cache))
        acts = [x]  # inputs of each decision layer
        for i, name in enumerate(self.layer_names):
            z = _linear(acts[-1], params[f"{name}.weight"], params[f"{name}.bias"])
            acts.append(z.relu_() if i < len(self.layer_names) - 1 else z)
        offset = _cached(cache, "offset", lambda: params["mu"] + params["item_bias"][items])
        err = (acts.pop().squeeze(-1) + offset - ratings) * mask.to(x.dtype)  # [B, N]
        count = mask.sum(1).to(x.dtype).clamp_min(1.0)
        losses = (err * err).sum(1) / count
        grad = (err * (2 * weight / count).unsqueeze(1)).unsqueeze(-1)  # d objective / d output
        for i in reversed(range(len(self.layer_names))):
            w, b, a = f"{self.layer_names[i]}.weight", f"{self.layer_names[i]}.bias", acts[i]
            # The input's gradient uses the weights before their update.
            below = grad @ params[w] if i > 0 else grad @ params[w][..., :width] if embeddings else None
            if w in adapted:
                params[w].baddbmm_(grad.mT, a, alpha=-lr)
            if b in adapted:
                params[b].add_(grad.sum(1), alpha=-lr)
            # Through the ReLU (a is its output; a > 0 where its input was): its backward kernel,
            # one pass, where ``below * (a > 0)`` takes three.
            grad = torch.ops.aten.threshold_backward(below, a, 0.0) if i > 0 else below
        if grad is not None:
            self._descend_embeddings(params, adapted, lr, user_features, grad, cache)
        return losses

    def _descend_embeddings(
        self, params: Params, adapted: set[str], lr: float, user_features: torch.Tensor,
        grad: torch.Tensor, cache: Cache,
    ) -> None:
        """``descend`` for the per-task embedding tables, from the input gradient [B, N, width]
        (the input's layout is ``_input``'s: genre mean, year, item id, user fields)."""
        d = self.dim
        if "genre_emb" in adapted:  # input = genre_weights @ table
            params["genre_emb"].baddbmm_(cache["genres"].mT, grad[..., :d], alpha=-lr)
        if "year_emb" in adapted:  # input = table[b, year]: scatter the rows' gradients back
            years = cache["years"].unsqueeze(-1).expand(-1, -1, d)
            params["year_emb"].scatter_add_(1, years, grad[..., d:2 * d] * -lr)
        start = d * (2 + self.use_item_id)
        tasks = torch.arange(grad.shape[0], device=grad.device)
        for f, name in enumerate(self.user_fields):
            if name in adapted:  # one row per task, broadcast over the items
                rows = grad[..., start + f * d:start + (f + 1) * d].sum(1)
                params[name].index_put_((tasks, user_features[:, f]), rows * -lr, accumulate=True)

    def _input(
        self, params: Params, user_features: torch.Tensor, items: torch.Tensor, cache: Cache | None
    ) -> torch.Tensor:
        """The decision layers' input [B, N, width]: item and user embeddings, concatenated."""
        genre_weights = _cached(cache, "genres", lambda: self.genre_weights[items].to(params["genre_emb"].dtype))
        years = _cached(cache, "years", lambda: self.features.year_bucket[items])
        parts = [
            genre_weights @ params["genre_emb"],  # mean genre embedding (see _genre_mean)
            _per_task_rows(params["year_emb"], years, self.is_batched(params, "year_emb")),
        ]
        if self.use_item_id:
            parts.append(_cached(cache, "item_emb", lambda: params["item_emb"][items]))
        for u in self._user_feature_embeddings(params, self.user_fields, user_features):
            parts.append(u.unsqueeze(1).expand(-1, items.shape[1], -1))
        return torch.cat(parts, dim=-1)


class FactorModel(FunctionalModel):
    """Meta-learned biased matrix factorisation: ``mu + b_i + b_u + <p_u, q_i>``.

    Global mean, item biases and item factors (item id, plus genre and year factors so rarely
    rated items borrow strength) are learned across users. The user's bias and factor vector are
    the adapted parameters: their initial values are meta-learned and the inner loop fits them to
    the new user's few ratings. User attributes, where the data has them, add to ``p_u``.
    """

    def __init__(self, features: FeatureTables, factors: int = 32, use_item_id: bool = True) -> None:
        super().__init__(features)
        self.dim = factors
        self.use_item_id = use_item_id
        self.user_fields = [f"user_factor.{i}" for i in range(len(features.user_cardinalities))]
        user = ("user_bias", "user_vec")
        self.scopes = {"decision": user, "all": user}
        self.item_tables = ("item_factors", "item_bias")

    def _init_values(self) -> Params:
        f, d = self.features, self.dim
        values: Params = {
            "mu": torch.tensor(3.0),
            "item_bias": torch.zeros(f.n_items),
            "genre_factors": torch.randn(f.n_genres, d) * 0.1,
            "year_factors": torch.randn(f.n_year_buckets, d) * 0.1,
            "user_bias": torch.tensor(0.0),
            "user_vec": torch.randn(d) * 0.1,
        }
        if self.use_item_id:
            values["item_factors"] = torch.randn(f.n_items, d) * 0.1
        for name, card in zip(self.user_fields, f.user_cardinalities, strict=True):
            values[name] = torch.randn(card, d) * 0.1
        return values

    def item_vectors(self, params: Params, items: torch.Tensor) -> torch.Tensor:
        """q_i [B, N, d]."""
        q = self._genre_mean(params, "genre_factors", items)
        q = q + _per_task_rows(
            params["year_factors"], self.features.year_bucket[items], self.is_batched(params, "year_factors")
        )
        if self.use_item_id:
            q = q + params["item_factors"][items]
        return q

    def forward(
        self, params: Params, user_features: torch.Tensor, items: torch.Tensor, cache: Cache | None = None
    ) -> torch.Tensor:
        n_tasks = items.shape[0]
        p = params["user_vec"].expand(n_tasks, self.dim)
        for u in self._user_feature_embeddings(params, self.user_fields, user_features):
            p = p + u
        b_u = params["user_bias"].expand(n_tasks).unsqueeze(1)
        dot = (self.item_vectors(params, items) @ p.unsqueeze(-1)).squeeze(-1)
        return params["mu"] + params["item_bias"][items] + b_u + dot


def build_model(
    name: str,
    features: FeatureTables,
    *,
    embedding_dim: int = 32,
    hidden: int = 64,
    layers: int = 2,
    factors: int = 32,
    use_item_id: bool = True,
) -> FunctionalModel:
    """A model by name: 'melu' (preference estimator) or 'factor' (meta-learned factor model)."""
    if name == "melu":
        return PreferenceEstimator(features, embedding_dim, hidden, layers, use_item_id)
    if name == "factor":
        return FactorModel(features, factors, use_item_id)
    raise KeyError(f"unknown model '{name}'; valid: {', '.join(MODEL_NAMES)}")

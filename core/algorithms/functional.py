"""The shared machinery of model-based algorithms: per-task losses, the batched inner loop, the
MAML outer loss, and a base class that owns a functional model's parameters.

The inner loop adapts stacked per-task copies ``[B, ...]`` of the adapted parameters with one
forward pass and one ``autograd.grad`` per step for the whole batch (see core/models.py for why
the gradient of the summed loss is the per-task gradient). With ``create_graph=True`` the outer
loss differentiates through every inner step (second-order MAML); without it the inner gradients
are constants and the outer gradient is the first-order approximation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch.autograd.function import FunctionCtx

from ..data import RatingsDataset
from ..models import FunctionalModel, Params, build_model
from ..ranker import RankingModel, ease_factors
from ..split import interaction_matrix
from ..tasks import FeatureTables, TaskBatch
from .base import Adapted, Algorithm, AlgorithmConfig, param

LearningRate = float | dict[str, torch.Tensor]
MODEL_NAMES = ("ranker", "factor", "melu")


# --------------------------------------------------------------------------- losses
def task_losses(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Masked mean squared error of each task [B]; a task with no rated position gives 0."""
    m = mask.to(pred.dtype)
    return ((pred - target) ** 2 * m).sum(1) / m.sum(1).clamp_min(1.0)


def mean_over_tasks(losses: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Average of per-task losses over the tasks that have at least one rated position."""
    return losses.sum() / mask.any(1).sum().clamp_min(1).to(losses.dtype)


def gradients(loss: torch.Tensor, params: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """d loss / d param for each param (zeros where a param does not reach the loss)."""
    grads = torch.autograd.grad(loss, list(params.values()), materialize_grads=True)
    return {k: g.detach() for k, g in zip(params, grads, strict=True)}


def support_and_query(batch: TaskBatch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Items, ratings and mask of all of each task's sampled ratings (supervised pretraining,
    the item penalty)."""
    return (
        torch.cat([batch.support_items, batch.query_items], 1),
        torch.cat([batch.support_ratings, batch.query_ratings], 1),
        torch.cat([batch.support_mask, batch.query_mask], 1),
    )


# --------------------------------------------------------------------------- inner loop
def task_copies(params: Params, names: Iterable[str], n_tasks: int) -> Params:
    """``params`` with a per-task copy [B, ...] of each adapted parameter (a broadcast view: the
    outer gradient through it is the sum over tasks)."""
    out = dict(params)
    for n in names:
        copy = params[n].expand(n_tasks, *params[n].shape)
        out[n] = copy if copy.requires_grad else copy.requires_grad_(True)
    return out


def inner_loop(
    model: FunctionalModel,
    params: Params,
    names: tuple[str, ...],
    lr: LearningRate,
    user_features: torch.Tensor,
    items: torch.Tensor,
    ratings: torch.Tensor,
    mask: torch.Tensor,
    steps: int,
    *,
    create_graph: bool,
    track_losses: bool = True,
    prior: float = 0.0,
) -> tuple[Params, torch.Tensor | None]:
    """``steps`` of gradient descent on each task's support loss, for all tasks at once.

    Task b minimises ``(n_b * L_b + prior * |theta_b - theta|^2) / (n_b + prior)`` with ``L_b`` the
    model's per-task loss (``model.loss``: the mean squared error for the rating models, so the
    first term is the sum of squared errors; the ranking loss for the ranker), plus a Gaussian
    prior centred on the meta-learned initial values ``theta``
    (``prior`` counts as pseudo-ratings, as in iMAML's proximal term). Its minimiser trusts n
    ratings about n / (n + prior) (the closed-form user bias is the special case), and dividing
    by ``n_b + prior`` keeps the curvature, hence the stable step size, the same for 3 ratings
    or 300. ``prior = 0`` is MAML's plain mean squared error; an empty support set gives a
    zero gradient, so its parameters stay at ``theta``.

    ``lr`` is a float or, for Meta-SGD, a tensor per adapted parameter (its shape, broadcast over
    tasks). Returns the parameters with per-task adapted copies and, if ``track_losses``, the
    support loss before each step and after the last one [steps + 1, B].
    """
    n = mask.sum(1).to(ratings.dtype)
    data_weight = n / (n + prior).clamp_min(1e-12)  # [B]
    pull = 2 * prior / (n + prior).clamp_min(1e-12)  # [B]: prior gradient = pull * (theta_b - theta)
    if not create_graph:
        return _first_order_inner_loop(
            model, params, names, lr, user_features, items, ratings, mask, steps, data_weight,
            pull if prior > 0 else None, track_losses,
        )
    fast = task_copies(params, names, items.shape[0])
    update = {
        k: _Update(fast[k], lr[k] if isinstance(lr, dict) else float(lr), pull, prior > 0)
        for k in names
    }
    history = []
    for _ in range(steps):
        loss = model.loss(fast, user_features, items, ratings, mask)
        history.append(loss.detach())
        grads = torch.autograd.grad(
            (loss * data_weight).sum(), [fast[k] for k in names],
            create_graph=create_graph, materialize_grads=True,
        )
        fast = {**fast, **{k: update[k](fast[k], g) for k, g in zip(names, grads, strict=True)}}
    if not track_losses:
        return fast, None
    with torch.no_grad():
        history.append(model.loss(fast, user_features, items, ratings, mask))
    return fast, torch.stack(history)


def _first_order_inner_loop(
    model: FunctionalModel,
    params: Params,
    names: tuple[str, ...],
    lr: LearningRate,
    user_features: torch.Tensor,
    items: torch.Tensor,
    ratings: torch.Tensor,
    mask: torch.Tensor,
    steps: int,
    data_weight: torch.Tensor,
    pull: torch.Tensor | None,
    track_losses: bool,
) -> tuple[Params, torch.Tensor | None]:
    """``inner_loop`` without ``create_graph``: every inner gradient is a constant, so the
    adapted value is ``theta - lr * (sum of the steps' gradients)``, whose Jacobian is the
    identity for ``theta`` (the first-order approximation) and ``-sum`` for Meta-SGD's rates.

    The steps therefore run on detached per-task stacks that are updated in place: no autograd
    graph across steps, and no fresh ``[B, ...]`` weight stack allocated (and page-faulted) per
    update. Only the returned values are attached to ``theta`` (and ``lr``), by one operation.
    """
    n_tasks = items.shape[0]
    tensor_lr = isinstance(lr, dict)
    explicit = model.explicit_descent and not tensor_lr
    init = {k: params[k].detach() for k in names}
    work = {k: v.expand(n_tasks, *v.shape).clone().requires_grad_(not explicit) for k, v in init.items()}
    state = {k: v.detach() for k, v in params.items()} | work  # meta-only values: constants here
    total = {k: torch.zeros_like(v) for k, v in work.items()} if tensor_lr else {}
    pulls = {k: pull.view(-1, *[1] * init[k].dim()) for k in names} if pull is not None else {}
    history, cache = [], {}  # the meta-only values are constants: their terms are computed once
    for _ in range(steps):
        # The prior's gradient pull_b * (theta_b - theta), at the values before the step.
        with torch.no_grad():
            prior_grads = {k: pulls[k] * (w - init[k]) for k, w in work.items()} if pulls else {}
        if explicit:
            with torch.no_grad():
                history.append(model.descend(state, names, float(lr), user_features, items, ratings,
                                             mask, data_weight, cache))
                for k, g in prior_grads.items():
                    work[k].add_(g, alpha=-float(lr))
            continue
        loss = model.loss(state, user_features, items, ratings, mask, cache=cache)
        history.append(loss.detach())
        grads = torch.autograd.grad((loss * data_weight).sum(), list(work.values()), materialize_grads=True)
        with torch.no_grad():
            for (k, w), g in zip(work.items(), grads, strict=True):
                if prior_grads:
                    g = g + prior_grads[k]
                if tensor_lr:
                    w.addcmul_(lr[k].detach(), g, value=-1.0)
                    total[k].add_(g)
                else:
                    w.add_(g, alpha=-float(lr))
    fast = dict(params)
    for k, w in work.items():
        theta = params[k]
        # Value w; gradient identity to theta (summed over tasks), -sum to Meta-SGD's rates.
        fast[k] = theta - lr[k] * total[k] if tensor_lr else _ShiftedFrom.apply(theta, w.detach())
    if not track_losses:
        return fast, None
    with torch.no_grad():
        history.append(model.loss(state, user_features, items, ratings, mask, cache=cache))
    return fast, torch.stack(history)


class _ShiftedFrom(torch.autograd.Function):
    """``(theta, w) -> w`` (per-task stacks [B, ...]) with gradient identity to ``theta``, summed
    over tasks: the first-order link of the adapted values to their initial values.

    Written out (not ``theta + (w - theta.detach())``) to save two passes over the stacks and
    because a weight's gradient arrives as a transposed view (``x^T dY``, transposed), which a
    plain sum over tasks reads several times slower than the contiguous transpose it is.
    """

    @staticmethod
    def forward(ctx: FunctionCtx, theta: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return w.view_as(w)

    @staticmethod
    def backward(ctx: FunctionCtx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        if grad.dim() >= 3 and not grad.is_contiguous() and grad.mT.is_contiguous():
            return grad.mT.sum(0).mT, None
        return grad.sum(0), None


class _Update:
    """One differentiated gradient step ``theta_b - lr * (g + pull_b * (theta_b - theta))`` for one
    parameter (second order; the first-order loop updates in place instead), in as few tensor
    operations as possible (they dominate the inner loop's cost on CPU): written as
    ``decay * theta_b + anchor - lr * g`` with ``decay = 1 - lr * pull`` and
    ``anchor = lr * pull * theta`` computed once.
    """

    def __init__(self, init: torch.Tensor, lr: float | torch.Tensor, pull: torch.Tensor, has_prior: bool) -> None:
        self.lr, self.has_prior = lr, has_prior
        if has_prior:
            pull = pull.view(-1, *[1] * (init.dim() - 1))
            self.decay = 1 - lr * pull
            self.anchor = lr * pull * init

    def __call__(self, theta: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        if self.has_prior:
            theta = torch.addcmul(self.anchor, self.decay, theta)
        if isinstance(self.lr, torch.Tensor):
            return torch.addcmul(theta, self.lr, g, value=-1.0)
        return theta.add(g, alpha=-self.lr)


def maml_outer_loss(
    model: FunctionalModel,
    params: Params,
    names: tuple[str, ...],
    lr: LearningRate,
    batch: TaskBatch,
    steps: int,
    *,
    second_order: bool,
    prior: float = 0.0,
) -> torch.Tensor:
    """Query loss after adapting on the support set, averaged over tasks (MAML's objective).
    Ranking losses exclude the support items from the query's candidates."""
    fast, _ = inner_loop(
        model, params, names, lr, batch.user_features, batch.support_items, batch.support_ratings,
        batch.support_mask, steps, create_graph=second_order, track_losses=False, prior=prior,
    )
    return query_loss(model, fast, batch)


def query_loss(model: FunctionalModel, params: Params, batch: TaskBatch) -> torch.Tensor:
    """The model's loss on each task's query set, averaged over tasks with a query."""
    exclude = support_mask_matrix(batch, model.features.n_items)
    query = model.loss(params, batch.user_features, batch.query_items, batch.query_ratings,
                       batch.query_mask, exclude=exclude)
    return mean_over_tasks(query, batch.query_mask)


def support_mask_matrix(batch: TaskBatch, n_items: int) -> torch.Tensor:
    """[B, n_items] bool: each task's support items."""
    out = torch.zeros(len(batch), n_items, dtype=torch.bool, device=batch.support_items.device)
    return out.scatter_(1, batch.support_items, batch.support_mask)


# --------------------------------------------------------------------------- statistics
def shrunk_means(group: np.ndarray, values: np.ndarray, n_groups: int, shrinkage: float) -> np.ndarray:
    """Per-group sum / (count + shrinkage): a mean pulled towards 0 for sparsely observed groups
    (the MAP estimate under a zero-mean Gaussian prior)."""
    sums = np.bincount(group, weights=values, minlength=n_groups)
    counts = np.bincount(group, minlength=n_groups) + shrinkage
    return np.divide(sums, counts, out=np.zeros(n_groups), where=counts > 0)


def bias_statistics(
    dataset: RatingsDataset, rows: np.ndarray, item_shrinkage: float
) -> tuple[float, np.ndarray]:
    """Global mean and shrunken item biases of the given rating rows (meta-training users)."""
    ratings = dataset.rating[rows].astype(np.float64)
    mu = float(ratings.mean()) if len(ratings) else (dataset.scale.min + dataset.scale.max) / 2
    item_bias = shrunk_means(dataset.item[rows], ratings - mu, dataset.n_items, item_shrinkage)
    return mu, item_bias


# --------------------------------------------------------------------------- base class
@dataclass
class RankerConfig(AlgorithmConfig):
    """Settings of the ranking model (core/ranker.py) shared by every algorithm built on it."""

    model: str = param("ranker", "Network: 'ranker' (user vector against item embeddings, "
                       "trained to rank the catalogue, with a rating head), 'factor' (meta-learned "
                       "user bias + factors, rating error only) or 'melu' (MeLU preference "
                       "estimator: embeddings -> MLP, rating error only)", choices=MODEL_NAMES)
    dim: int = param(64, "Ranker: size of the user vector and item embeddings", low=2, high=1024)
    init: str = param("ease", "Ranker: start the item embeddings from a rank-dim factorisation "
                      "of the EASE^R item matrix of the training users, or at random",
                      choices=("ease", "random"))
    rating_weight: float = param(1.0, "Ranker: weight of the rating MSE beside the ranking loss "
                                 "(0 = ranking only; ignored on implicit data)", low=0.0, high=100.0)
    warm_start: bool = param(True, "Start the global mean and item biases (ranker: also the "
                             "popularity logits) from the training ratings (fit) instead of the "
                             "scale midpoint and zero")
    item_reg: float = param(0.0, "L2 penalty on the item-id embeddings/factors (and rating "
                            "models' biases) of the items in each batch (per rating, as in SGD "
                            "matrix factorisation)", low=0.0, high=100.0)


@dataclass
class ModelConfig(RankerConfig):
    """Model settings of the algorithms that can also run the rating models (factor, MeLU)."""

    embedding_dim: int = param(32, "MeLU model: size of each embedding", low=2, high=512)
    hidden: int = param(64, "MeLU model: width of each hidden decision layer", low=2, high=1024)
    layers: int = param(2, "MeLU model: number of hidden decision layers", low=1, high=6)
    factors: int = param(32, "Factor model: size of user and item factor vectors", low=1, high=512)
    use_item_id: bool = param(False, "Rating models: learn a vector per item id (MeLU: embedding + "
                              "item bias; factor: item factors). Off, items are described by "
                              "genres and year only (the ranker always has item ids)")
    fast_path: bool = param(True, "MeLU network, first order: hand-written batched backprop for "
                            "the inner steps (about 1.6x the autograd step, benchmarks/"
                            "bench_throughput.py; checked against the same per-task reference)")


class ModelAlgorithm(Algorithm):
    """An algorithm whose state is a functional model's parameter dict (all meta-parameters).

    Subclasses choose which parameters adapt (``scope``) and how: ``adapt()`` runs the inner loop
    from the meta-learned values with ``inner_lr()`` and ``steps`` steps.
    """

    scope: ClassVar[str] = "all"  # which of the model's adaptation scopes this algorithm uses
    ITEM_SHRINKAGE: ClassVar[float] = 3.0  # warm start of item biases (val-tuned, as item_bias)

    def __init__(
        self, config: AlgorithmConfig, dataset: RatingsDataset, features: FeatureTables, device: torch.device
    ) -> None:
        super().__init__(config, dataset, features, device)
        if config.model == "ranker":
            self.model = RankingModel(
                features, getattr(config, "dim", 64), threshold=dataset.scale.relevance_threshold(),
                rating_range=(dataset.scale.min, dataset.scale.max),
                implicit=bool(getattr(dataset, "implicit", False)),
                rating_weight=float(getattr(config, "rating_weight", 1.0)),
            )
        else:
            options = ("embedding_dim", "hidden", "layers", "factors", "use_item_id")
            self.model = build_model(
                config.model, features, **{k: getattr(config, k) for k in options if hasattr(config, k)}
            )
            self.model.explicit_descent &= bool(getattr(config, "fast_path", True))
        self.params = self.model.init_params(device)
        with torch.no_grad():
            self.params["mu"].fill_((self.scale.min + self.scale.max) / 2)

    @property
    def adapted_names(self) -> tuple[str, ...]:
        return self.model.adapted_names(self.scope)

    def inner_lr(self) -> LearningRate:
        return float(self.config.inner_lr)

    @property
    def inner_prior(self) -> float:
        return float(getattr(self.config, "inner_prior", 0.0))

    def inner_steps(self, steps: int | None) -> int:
        return int(self.config.inner_steps if steps is None else steps)

    def fit(self, train_rows: np.ndarray, split=None) -> None:
        """Warm start: global mean and shrunken item biases of the meta-training ratings (the
        ranker also: popularity logits, and item tables from EASE^R with ``init='ease'``)."""
        if not self.config.warm_start:
            return
        mu, item_bias = bias_statistics(self.dataset, train_rows, self.ITEM_SHRINKAGE)
        if isinstance(self.model, RankingModel):
            x = interaction_matrix(self.dataset, train_rows)
            counts = np.asarray(x.sum(0)).ravel()
            factors = None
            if getattr(self.config, "init", "random") == "ease":
                factors = ease_factors(x, self.model.dim, seed=int(torch.initial_seed() % 2**31))
            self.model.start_from(self.params, mu=mu, item_bias=item_bias, counts=counts,
                                  item_factors=factors)
            # The rating head's mean and item biases stay the fitted (shrunken) statistics: trained
            # further by small meta-batches they drift and the rating head loses to item + user bias.
            self.frozen = {"mu", "item_bias"}
            for name in self.frozen:
                self.params[name].requires_grad_(False)
            return
        with torch.no_grad():
            self.params["mu"].fill_(mu)
            if "item_bias" in self.params:
                self.params["item_bias"].copy_(torch.as_tensor(item_bias))

    #: parameters fitted in closed form by ``fit`` and not meta-learned (kept in the weights)
    frozen: set[str] = set()

    def meta_parameters(self) -> dict[str, torch.Tensor]:
        return {k: v for k, v in self.params.items() if k not in self.frozen}

    def all_tensors(self) -> dict[str, torch.Tensor]:
        """Meta-parameters and frozen fitted statistics: everything the weights file holds."""
        return {**self.params, **self.meta_parameters()}

    def detached(self) -> Params:
        return {k: v.detach() for k, v in self.all_tensors().items()}

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().cpu() for k, v in self.all_tensors().items()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        tensors = self.all_tensors()
        missing = set(tensors) - set(state)
        if missing:
            raise KeyError(f"weights lack {sorted(missing)}")
        with torch.no_grad():
            for k, p in tensors.items():
                p.copy_(state[k].to(p.device, p.dtype))

    def objective(self, loss: torch.Tensor, params: Params, batch: TaskBatch) -> torch.Tensor:
        """The meta-training objective: ``loss`` plus the item penalty (``item_reg``), averaged
        over tasks so that shards of a meta-batch average to the whole batch's value. The
        reported loss stays the plain rating MSE, comparable with validation."""
        reg = float(getattr(self.config, "item_reg", 0.0))
        if reg == 0.0:
            return loss
        items, _, mask = support_and_query(batch)
        return loss + reg * self.model.item_penalty(params, items, mask).mean()

    def adapt(self, batch: TaskBatch, steps: int | None = None) -> Adapted:
        params = self.detached()
        lr = self.inner_lr()
        if isinstance(lr, dict):
            lr = {k: v.detach() for k, v in lr.items()}
        with torch.enable_grad():
            fast, losses = inner_loop(
                self.model, params, self.adapted_names, lr, batch.user_features, batch.support_items,
                batch.support_ratings, batch.support_mask, self.inner_steps(steps), create_graph=False,
                prior=self.inner_prior,
            )
        return Adapted({n: fast[n].detach() for n in self.adapted_names}, losses)

    def _with_state(self, adapted: Adapted | None) -> Params:
        params = self.detached()
        if adapted is not None:
            params.update(adapted.state)
        return params

    def predict(self, adapted: Adapted | None, batch: TaskBatch, items: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.model(self._with_state(adapted), batch.user_features, items)

    def score(self, adapted: Adapted | None, batch: TaskBatch, items: torch.Tensor) -> torch.Tensor:
        """The ranker's catalogue scores (rating models rank by predicted rating)."""
        if not isinstance(self.model, RankingModel):
            return self.predict(adapted, batch, items)
        with torch.no_grad():
            scores = self.model.rank_scores(self._with_state(adapted), batch.user_features)
            return scores.gather(1, items)

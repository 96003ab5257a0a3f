"""The functional core of model-based algorithms: per-task losses, the batched inner loop and the
MAML outer loss (the base class that owns a model's parameters is in ``model_algorithm.py``).

The inner loop adapts stacked per-task copies ``[B, ...]`` of the adapted parameters with one
forward pass and one ``autograd.grad`` per step for the whole batch (see core/models.py for why
the gradient of the summed loss is the per-task gradient). With ``create_graph=True`` the outer
loss differentiates through every inner step (second-order MAML); without it the inner gradients
are constants and the outer gradient is the first-order approximation.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch.autograd.function import FunctionCtx

from ..models import FunctionalModel, Params
from ..tasks import TaskBatch

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

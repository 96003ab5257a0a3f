"""Plain per-task reference implementations of the meta-gradients: a Python loop over tasks, one
unbatched parameter copy per task, ``torch.autograd.grad`` (with ``create_graph`` for second
order). Deliberately naive: the vectorized code in core.algorithms must agree with it, and
benchmarks/bench_throughput.py measures how much faster the vectorized code is.

The per-task support objective is written out directly (``n`` times the model's mean loss plus
the prior term, over ``n + prior``: for the rating models the sum of squared errors) rather than
through the vectorized code's analytic prior gradient. The query loss excludes the task's
support items from the ranking model's candidates, built here item by item.
"""

from __future__ import annotations

import torch

from core.models import FunctionalModel, Params
from core.tasks import TaskBatch


def _support_objective(model, params, fast, init, sub: TaskBatch, prior: float) -> torch.Tensor:
    n = sub.support_mask[0].to(sub.support_ratings.dtype).sum()
    loss = model.loss({**params, **fast}, sub.user_features, sub.support_items, sub.support_ratings,
                      sub.support_mask)[0]
    penalty = sum(((fast[k] - init[k]) ** 2).sum() for k in fast)
    denom = n + prior
    return (n * loss + prior * penalty) / denom if float(denom) > 0 else loss * 0.0


def _query_loss(model, params, sub: TaskBatch) -> torch.Tensor:
    exclude = torch.zeros(1, model.features.n_items, dtype=torch.bool)
    for item, rated in zip(sub.support_items[0].tolist(), sub.support_mask[0].tolist(), strict=True):
        if rated:
            exclude[0, item] = True
    return model.loss(params, sub.user_features, sub.query_items, sub.query_ratings, sub.query_mask,
                      exclude=exclude)[0]


def _adapt_one(model, params, names, lr, sub, steps, prior, create_graph):
    init = {k: params[k] for k in names}
    fast = dict(init)
    for _ in range(steps):
        loss = _support_objective(model, params, fast, init, sub, prior)
        grads = torch.autograd.grad(loss, [fast[k] for k in names], create_graph=create_graph,
                                    allow_unused=True)
        fast = {
            k: fast[k] - (lr[k] if isinstance(lr, dict) else lr) * (g if g is not None else 0.0)
            for k, g in zip(names, grads, strict=True)
        }
    return fast


def reference_maml_gradients(
    model: FunctionalModel,
    params: Params,
    names: tuple[str, ...],
    lr: float | dict[str, torch.Tensor],
    batch: TaskBatch,
    steps: int,
    *,
    second_order: bool,
    prior: float = 0.0,
    wrt: dict[str, torch.Tensor] | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """(MAML outer loss, its gradient w.r.t. ``wrt`` (default: ``params``)), task by task.

    First order: without ``create_graph`` each inner gradient is a constant, so the adapted
    weights depend on the initial values with identity Jacobian (and on Meta-SGD's rates
    through ``-lr * g``).
    """
    wrt = params if wrt is None else wrt
    losses = []
    for b in range(len(batch)):
        sub = batch.select(slice(b, b + 1))
        fast = _adapt_one(model, params, names, lr, sub, steps, prior, create_graph=second_order)
        if bool(sub.query_mask.any()):
            losses.append(_query_loss(model, {**params, **fast}, sub))
    total = torch.stack(losses).sum() / max(1, len(losses))
    grads = torch.autograd.grad(total, list(wrt.values()), allow_unused=True)
    return total.detach(), {
        k: (g if g is not None else torch.zeros_like(v)) for (k, v), g in zip(wrt.items(), grads, strict=True)
    }


def reference_reptile_gradients(
    model: FunctionalModel,
    params: Params,
    names: tuple[str, ...],
    lr: float,
    batch: TaskBatch,
    steps: int,
    *,
    prior: float = 0.0,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Reptile, task by task: (theta - mean phi_b) / (lr * steps) for adapted parameters, the
    query-loss gradient at phi_b for shared ones."""
    moved = {k: torch.zeros_like(params[k]) for k in names}
    n_support, losses = 0, []
    shared = {k: v for k, v in params.items() if k not in names}
    for b in range(len(batch)):
        sub = batch.select(slice(b, b + 1))
        detached = {k: (v.detach().requires_grad_() if k in names else v.detach()) for k, v in params.items()}
        phi = _adapt_one(model, detached, names, lr, sub, steps, prior, create_graph=False)
        if bool(sub.support_mask.any()):
            n_support += 1
            for k in names:
                moved[k] += params[k].detach() - phi[k].detach()
        if bool(sub.query_mask.any()):
            losses.append(_query_loss(model, {**params, **{k: v.detach() for k, v in phi.items()}}, sub))
    total = torch.stack(losses).sum() / max(1, len(losses))
    grads = dict(zip(shared, torch.autograd.grad(total, list(shared.values()), allow_unused=True), strict=True))
    out = {k: (grads[k] if grads[k] is not None else torch.zeros_like(v)) for k, v in shared.items()}
    for k in names:
        out[k] = moved[k] / max(1, n_support) / (lr * steps)
    return total.detach(), {k: out[k] for k in params}

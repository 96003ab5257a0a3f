"""Per-task metric functions on padded batches (the protocol that feeds them: core.evaluation).

Rating accuracy on a fixed query set (MAE, RMSE, nDCG@3 with graded gains) and top-N accuracy
over the whole catalogue (Recall@N, binary nDCG@N), as in docs/PROTOCOL.md.
"""

from __future__ import annotations

import torch

from .tasks import TaskBatch

TOPN_CUTOFFS = (10, 20)


def ndcg_at(scores: torch.Tensor, gains: torch.Tensor, mask: torch.Tensor, n: int) -> torch.Tensor:
    """Per-task nDCG@n [B] of ranking the masked items of ``scores`` [B, N] by score, with graded
    ``gains`` [B, N] (>= 0; callers pass ``rating - scale.min`` so negative scales stay valid).
    A task whose ideal DCG is 0 gets 0."""
    neg = torch.finfo(scores.dtype).min
    s = scores.masked_fill(~mask, neg)
    g = gains.masked_fill(~mask, 0.0)
    n = min(n, scores.shape[1])
    top = s.topk(n, dim=1).indices
    discounts = 1.0 / torch.log2(torch.arange(2, n + 2, dtype=scores.dtype, device=scores.device))
    dcg = (g.gather(1, top) * discounts).sum(1)
    ideal = (g.topk(n, dim=1).values * discounts).sum(1)
    return torch.where(ideal > 0, dcg / ideal.clamp_min(1e-12), torch.zeros_like(dcg))


def rating_metrics(pred: torch.Tensor, batch: TaskBatch, scale_min: float) -> dict[str, torch.Tensor]:
    """Per-task MAE, RMSE and nDCG@3 [B] on the query set; ``pred`` [B, Q] already clamped to
    the scale. nDCG gains are ``rating - scale_min``."""
    mask = batch.query_mask
    m = mask.to(pred.dtype)
    n = m.sum(1).clamp_min(1.0)
    err = (pred - batch.query_ratings) * m
    return {
        "mae": err.abs().sum(1) / n,
        "rmse": torch.sqrt((err**2).sum(1) / n),
        "ndcg3": ndcg_at(pred, batch.query_ratings - scale_min, mask, 3),
    }


@torch.no_grad()
def topn_metrics(
    scores: torch.Tensor, excluded: torch.Tensor, relevant: torch.Tensor, prefix: str = ""
) -> dict[str, torch.Tensor]:
    """Recall@10/20 and binary nDCG@10/20 per task [B].

    ``scores`` [B, n_items] (raw, unclamped); ``excluded`` [B, n_items] bool: not candidates (the
    support); ``relevant`` [B, n_items] bool. Recall@N = hits in the top N / min(N, #relevant).
    Tasks with no relevant item get NaN (left out of averages).
    """
    neg = torch.finfo(scores.dtype).min
    scores = scores.masked_fill(excluded, neg)
    relevant = relevant & ~excluded
    n_rel = relevant.sum(1).to(scores.dtype)
    width = min(max(TOPN_CUTOFFS), scores.shape[1])
    hits = relevant.gather(1, scores.topk(width, dim=1).indices).to(scores.dtype)
    discounts = 1.0 / torch.log2(torch.arange(2, width + 2, device=scores.device, dtype=scores.dtype))
    out = {}
    for n in TOPN_CUTOFFS:
        w = min(n, width)
        out[f"{prefix}recall{n}"] = hits[:, :w].sum(1) / n_rel.clamp(max=n).clamp_min(1)
        ideal = discounts[:w].cumsum(0)[(n_rel.long().clamp(1, w) - 1)]
        out[f"{prefix}ndcg{n}"] = (hits[:, :w] * discounts[:w]).sum(1) / ideal
    nan = torch.full_like(n_rel, float("nan"))
    return {k: torch.where(n_rel > 0, v, nan) for k, v in out.items()}

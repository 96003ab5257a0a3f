"""The ranking losses of core/ranker.py: checked by hand, per task, and in training."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from test_topn import clustered, idx, trained

from core.evaluation import evaluate
from core.ranker import bpr_loss, softmax_nll
from core.recommend import Recommender

INF = float("inf")


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def test_bpr_by_hand_skips_excluded_negatives_and_accidental_hits():
    # item 3 is in the support (-inf); the query holds item 0 (liked) and item 4 (not liked)
    logits = torch.tensor([[2.0, 0.0, 1.0, -INF, 3.0]], dtype=torch.float64)
    items, liked = torch.tensor([[0, 4]]), torch.tensor([[True, False]])
    negatives = torch.tensor([1, 3, 0, 4])  # 3: excluded; 0: the liked item itself
    loss = bpr_loss(logits, items, liked, negatives)
    assert loss.item() == pytest.approx((softplus(0.0 - 2.0) + softplus(3.0 - 2.0)) / 2, abs=1e-12)
    # a task with nothing liked contributes 0, not NaN
    assert bpr_loss(logits, items, torch.zeros_like(liked), negatives).item() == 0.0


def test_softmax_nll_by_hand_over_the_catalogue_minus_the_support():
    logits = torch.tensor([[2.0, 0.0, 1.0, -INF, 3.0]], dtype=torch.float64)
    items, liked = torch.tensor([[0, 2]]), torch.tensor([[True, True]])
    lse = math.log(sum(math.exp(v) for v in (2.0, 0.0, 1.0, 3.0)))
    expected = ((lse - 2.0) + (lse - 1.0)) / 2
    assert softmax_nll(logits, items, liked).item() == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("loss", ["softmax", "bpr"])
def test_vectorised_loss_and_gradient_equal_a_per_task_loop(loss):
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(4, 12, generator=g, dtype=torch.float64, requires_grad=True)
    exclude = torch.zeros(4, 12, dtype=torch.bool)
    exclude[0, [5, 6]] = exclude[2, 1] = True
    items = torch.stack([torch.randperm(12, generator=g)[:5] for _ in range(4)])
    items[0, :2] = torch.tensor([7, 8])  # keep the query off task 0's support
    liked = torch.rand(4, 5, generator=g) > 0.4
    liked[3] = False  # a task without a liked query item
    negatives = torch.randint(0, 12, (9,), generator=g)

    def per_task(x: torch.Tensor, rows: slice) -> torch.Tensor:
        masked = x[rows].masked_fill(exclude[rows], -INF)
        if loss == "bpr":
            return bpr_loss(masked, items[rows], liked[rows], negatives)
        return softmax_nll(masked, items[rows], liked[rows])

    whole = per_task(logits, slice(None)).sum()
    (grad,) = torch.autograd.grad(whole, logits)
    loop = sum(per_task(logits, slice(b, b + 1)).sum() for b in range(4))
    (ref,) = torch.autograd.grad(loop, logits)
    torch.testing.assert_close(whole, loop, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(grad, ref, rtol=1e-12, atol=1e-12)
    assert grad[3].abs().max() == 0 and grad[0].abs().max() > 0


def test_prototype_network_trained_with_bpr_adapts_to_a_taste():
    dataset = clustered()
    algo, split = trained("proto", dataset, ranking_loss="bpr", negatives=20)
    assert algo.config.ranking_loss == "bpr"
    table = evaluate(algo, dataset, split, "test", [8])[8]
    assert table["recall20"] > table["base_recall20"]
    rec = Recommender(algo, dataset, split)
    left = rec.recommend({idx(dataset, "i0"): 5.0, idx(dataset, "i1"): 5.0, idx(dataset, "i40"): 1.0},
                         top=5, min_ratings=0, explain=False)
    assert (left.adapted["genres"] == "Left").mean() >= 0.8
    again, _ = trained("proto", dataset, ranking_loss="bpr", negatives=20)
    assert all(np.array_equal(algo.params[k].detach(), again.params[k].detach()) for k in algo.params)

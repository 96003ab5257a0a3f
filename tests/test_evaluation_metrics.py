"""Metric definitions checked against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from core.data.synthetic import SyntheticConfig, make_synthetic
from core.evaluation import relevant_matrix
from core.metrics import ndcg_at, rating_metrics, topn_metrics
from core.tasks import TaskBatch


def _batch(q_items, q_ratings, s_items, q_mask=None) -> TaskBatch:
    q_items = torch.tensor(q_items)
    s_items = torch.tensor(s_items)
    return TaskBatch(
        users=torch.zeros(len(q_items), dtype=torch.long),
        user_features=torch.zeros(len(q_items), 0, dtype=torch.long),
        support_items=s_items,
        support_ratings=torch.ones_like(s_items, dtype=torch.float),
        support_mask=torch.ones_like(s_items, dtype=torch.bool),
        query_items=q_items,
        query_ratings=torch.tensor(q_ratings, dtype=torch.float),
        query_mask=torch.ones_like(q_items, dtype=torch.bool) if q_mask is None else torch.tensor(q_mask),
    )


def test_ndcg3_by_hand():
    scores = torch.tensor([[0.9, 0.8, 0.7, 0.1]])
    gains = torch.tensor([[1.0, 5.0, 3.0, 4.0]])
    mask = torch.ones(1, 4, dtype=torch.bool)
    d = [1 / math.log2(i + 2) for i in range(3)]
    expected = (1 * d[0] + 5 * d[1] + 3 * d[2]) / (5 * d[0] + 4 * d[1] + 3 * d[2])
    assert float(ndcg_at(scores, gains, mask, 3)[0]) == pytest.approx(expected)


def test_masked_items_do_not_count():
    batch = _batch([[1, 2, 3]], [[4.0, 2.0, 5.0]], [[0]], q_mask=[[True, True, False]])
    pred = torch.tensor([[3.0, 3.0, 0.0]])
    m = rating_metrics(pred, batch, 0.5)
    assert float(m["mae"][0]) == pytest.approx(1.0)
    assert float(m["rmse"][0]) == pytest.approx(math.sqrt((1 + 1) / 2))


def test_ndcg_gains_start_at_the_scale_minimum():
    """On a -10..10 scale a rating of -10 is the least relevant, not a negative gain."""
    batch = _batch([[1, 2, 3]], [[-10.0, 0.0, 10.0]], [[0]])
    best = rating_metrics(torch.tensor([[-9.0, 0.0, 9.0]]), batch, -10.0)["ndcg3"]
    worst = rating_metrics(torch.tensor([[9.0, 0.0, -9.0]]), batch, -10.0)["ndcg3"]
    assert float(best[0]) == pytest.approx(1.0) and 0 < float(worst[0]) < 1


def test_topn_metrics_by_hand():
    # 25 items scored 1 > ... > 0; item 0 (support) is excluded, relevant = {1, 24}.
    scores = torch.linspace(1, 0, 25)[None]
    excluded = torch.zeros(1, 25, dtype=torch.bool)
    excluded[0, 0] = True
    relevant = torch.zeros(1, 25, dtype=torch.bool)
    relevant[0, [0, 1, 24]] = True  # a relevant support item does not count
    m = topn_metrics(scores, excluded, relevant)
    assert float(m["recall10"][0]) == pytest.approx(0.5)  # item 1 is rank 1, item 24 rank 24
    assert float(m["recall20"][0]) == pytest.approx(0.5)
    ideal = 1 + 1 / math.log2(3)
    assert float(m["ndcg10"][0]) == pytest.approx(1 / ideal)
    assert float(m["ndcg20"][0]) == pytest.approx(1 / ideal)


def test_recall_divides_by_min_of_n_and_relevant_count():
    scores = torch.linspace(1, 0, 60)[None]
    relevant = torch.zeros(1, 60, dtype=torch.bool)
    relevant[0, :30] = True  # 30 relevant items, all ranked first
    m = topn_metrics(scores, torch.zeros_like(relevant), relevant)
    assert float(m["recall10"][0]) == pytest.approx(1.0)
    assert float(m["recall20"][0]) == pytest.approx(1.0)


def test_user_without_relevant_items_is_nan():
    scores = torch.linspace(1, 0, 25)[None]
    none = torch.zeros(1, 25, dtype=torch.bool)
    m = topn_metrics(scores, none, none)
    assert torch.isnan(m["recall10"]).all() and torch.isnan(m["ndcg20"]).all()


def test_relevant_matrix_uses_the_threshold_or_every_interaction():
    ds = make_synthetic(SyntheticConfig(n_users=6, n_items=12, seed=0))
    user = 2
    lo, hi = ds.user_offsets[user], ds.user_offsets[user + 1]
    items, ratings = ds.item[lo:hi], ds.rating[lo:hi]
    thr = ds.scale.relevance_threshold()
    rel = relevant_matrix(ds, np.array([user]), thr)[0].numpy()
    assert set(np.flatnonzero(rel)) == set(items[ratings >= thr - 1e-6].tolist())
    everything = relevant_matrix(ds, np.array([user]), None)[0].numpy()
    assert set(np.flatnonzero(everything)) == set(items.tolist())

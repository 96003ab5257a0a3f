"""Metric definitions checked against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from core.data import RatingScale
from core.evaluation import ndcg_at, ranking_metrics, rating_metrics
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
    m = rating_metrics(pred, batch)
    assert float(m["mae"][0]) == pytest.approx(1.0)
    assert float(m["rmse"][0]) == pytest.approx(math.sqrt((1 + 1) / 2))


class _FixedScores:
    """A stand-in algorithm whose catalogue scores are given."""

    def __init__(self, scores):
        self.scores = torch.tensor(scores, dtype=torch.float)

        class _D:
            n_items = self.scores.shape[1]

        self.dataset = _D()

    def predict(self, adapted, batch, items):
        return self.scores.gather(1, items)


def test_ranking_metrics_exclude_support_and_use_threshold():
    # 25 items; item 0 (support) scores highest but must be skipped; relevant = rating >= 3.65.
    scores = np.linspace(1, 0, 25)[None]
    algo = _FixedScores(scores)
    batch = _batch([[1, 2, 24]], [[5.0, 3.0, 4.0]], [[0]])
    threshold = RatingScale(0.5, 5, 0.5).relevance_threshold()
    m = ranking_metrics(algo, None, batch, threshold)
    # relevant: items 1 (rank 1 after excluding 0) and 24 (rank 24, outside top 20)
    assert float(m["recall10"][0]) == pytest.approx(0.5)
    assert float(m["recall20"][0]) == pytest.approx(0.5)
    ideal = 1 + 1 / math.log2(3)
    assert float(m["ndcg10"][0]) == pytest.approx(1 / ideal)


def test_user_without_relevant_items_is_nan():
    algo = _FixedScores(np.linspace(1, 0, 25)[None])
    batch = _batch([[1, 2]], [[1.0, 2.0]], [[0]])
    m = ranking_metrics(algo, None, batch, 3.65)
    assert torch.isnan(m["recall10"]).all()

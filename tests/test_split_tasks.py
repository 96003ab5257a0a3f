"""Cold-start split and task sampling: determinism, no leakage, padded batches."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.data import load_builtin
from core.split import SplitConfig, make_split, train_rows
from core.tasks import FeatureTables, TaskSampler, new_user_batch


@pytest.fixture(scope="module")
def dataset():
    return load_builtin()


def test_split_is_80_10_10_and_disjoint(dataset):
    split = make_split(dataset, SplitConfig(seed=3))
    n = dataset.n_users
    assert len(split.val_users) == round(0.1 * n)
    assert len(split.test_users) == round(0.1 * n)
    sets = [set(split.train_users), set(split.val_users), set(split.test_users)]
    assert not (sets[0] & sets[1]) and not (sets[0] & sets[2]) and not (sets[1] & sets[2])
    assert len(sets[0] | sets[1] | sets[2]) == n


def test_no_rating_of_a_cold_user_reaches_meta_training(dataset):
    split = make_split(dataset)
    rows = train_rows(dataset, split)
    cold = np.concatenate([split.val_users, split.test_users])
    assert not np.isin(dataset.user[rows], cold).any()
    # ... and every training batch the sampler produces comes from training users only.
    sampler = TaskSampler(dataset, split, batch_size=64, seed=1)
    seen = np.concatenate([b.users.numpy() for b in sampler.epoch()])
    assert set(seen) == set(split.train_users)
    # The training rows are exactly all ratings of the training users.
    assert len(rows) == dataset.ratings_per_user[split.train_users].sum()


def test_split_is_deterministic_for_a_seed_and_changes_with_it(dataset):
    a, b = make_split(dataset, SplitConfig(seed=5)), make_split(dataset, SplitConfig(seed=5))
    c = make_split(dataset, SplitConfig(seed=6))
    assert np.array_equal(a.test_users, b.test_users)
    u = int(a.test_users[0])
    assert np.array_equal(a.eval_rows[u], b.eval_rows[u])
    assert not np.array_equal(a.test_users, c.test_users)


def test_support_sets_are_nested_and_disjoint_from_query(dataset):
    split = make_split(dataset)
    u = int(split.test_users[0])
    query = set(split.query_rows(u))
    s5, s20 = split.support_rows(u, 5), split.support_rows(u, 20)
    assert len(query) == 10 and len(s5) == 5 and len(s20) == 20
    assert list(s20[:5]) == list(s5)
    assert not query & set(s20)
    assert (dataset.user[s20] == u).all()


def test_min_max_ratings_filter_excludes_users(dataset):
    split = make_split(dataset, SplitConfig(min_ratings=30, max_ratings=100))
    per_user = dataset.ratings_per_user
    kept = np.concatenate([split.train_users, split.val_users, split.test_users])
    assert ((per_user[kept] >= 30) & (per_user[kept] <= 100)).all()
    assert len(split.excluded_users) == ((per_user < 30) | (per_user > 100)).sum()


def test_sampler_batches_are_padded_with_masks(dataset):
    split = make_split(dataset)
    sampler = TaskSampler(dataset, split, batch_size=16, support_size=20, support_min=5,
                          query_size=10, seed=0)
    batch = next(sampler.epoch())
    assert batch.support_items.shape == (16, 20) and batch.query_items.shape == (16, 10)
    s = batch.support_mask.sum(1)
    assert (s >= 5).all() and (s <= 20).all()
    assert (batch.support_ratings[~batch.support_mask] == 0).all()
    for i in range(16):
        u = int(batch.users[i])
        items, ratings = dataset.ratings_of(u)
        lookup = dict(zip(items.tolist(), ratings.tolist(), strict=True))
        sup = batch.support_items[i][batch.support_mask[i]].tolist()
        qry = batch.query_items[i][batch.query_mask[i]].tolist()
        assert not set(sup) & set(qry)
        for it, r in zip(sup, batch.support_ratings[i][batch.support_mask[i]].tolist(), strict=True):
            assert lookup[it] == pytest.approx(r)


def test_sampler_is_reproducible(dataset):
    split = make_split(dataset)
    a = next(TaskSampler(dataset, split, seed=7).epoch())
    b = next(TaskSampler(dataset, split, seed=7).epoch())
    assert torch.equal(a.support_items, b.support_items) and torch.equal(a.users, b.users)


def test_eval_batch_matches_split(dataset):
    split = make_split(dataset)
    batch = TaskSampler(dataset, split).eval_batch("test", 5)
    u = int(batch.users[0])
    assert batch.support_items[0].tolist() == dataset.item[split.support_rows(u, 5)].tolist()
    assert batch.query_items[0].tolist() == dataset.item[split.query_rows(u)].tolist()


def test_new_user_batch_and_feature_tables(dataset):
    batch = new_user_batch(np.array([3, 7]), np.array([4.0, 2.5]))
    assert batch.support_mask.tolist() == [[True, True]] and int(batch.users[0]) == -1
    feats = FeatureTables.from_dataset(dataset)
    assert feats.genres.shape[0] == dataset.n_items
    toy = int(dataset.item_index([1])[0])  # Toy Story: 5 genres
    assert (feats.genres[toy] > 0).sum() == len(dataset.item_features.genres_of(toy)) == 5

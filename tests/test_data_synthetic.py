"""Synthetic data: seeded, truth aligned with the dense ids, clusters that shape the ratings."""

from __future__ import annotations

import time

import numpy as np
import pytest

from core.data import (
    DatasetError,
    DatasetSpec,
    RatingScale,
    SyntheticConfig,
    load_dataset,
    make_synthetic,
    parse_synthetic,
)


@pytest.fixture(scope="module")
def default():
    return make_synthetic(SyntheticConfig())


def test_same_config_same_dataset(default):
    again = make_synthetic(SyntheticConfig())
    assert again.fingerprint == default.fingerprint
    for name in ("user", "item", "rating", "timestamp", "truth"):
        np.testing.assert_array_equal(getattr(again, name), getattr(default, name))
    assert again.items.equals(default.items) and again.users.equals(default.users)
    other = make_synthetic(SyntheticConfig(seed=1))
    assert other.fingerprint != default.fingerprint


def test_defaults_are_fast():
    start = time.perf_counter()
    make_synthetic(SyntheticConfig(seed=5))
    assert time.perf_counter() - start < 1.0


def test_sizes_and_ratings_per_user(default):
    assert default.n_users == 600
    assert 780 <= default.n_items <= 800  # an unpopular item may go unrated
    per_user = default.ratings_per_user
    assert per_user.min() >= 20 and per_user.max() <= 120
    assert not any("duplicate" in n for n in default.notes)


def test_truth_shape_and_alignment(default):
    truth = default.truth
    assert truth is not None and truth.dtype == np.float32
    assert truth.shape == (default.n_users, default.n_items)
    assert truth.min() >= default.scale.min and truth.max() <= default.scale.max
    at_ratings = truth[default.user, default.item]
    r = np.corrcoef(default.rating, at_ratings)[0, 1]
    assert r > 0.8, r
    # Misaligned truth (another user's row, or columns in another order) loses the relation.
    shifted = truth[(default.user + 1) % default.n_users, default.item]
    assert np.corrcoef(default.rating, shifted)[0, 1] < 0.5
    reversed_items = truth[default.user, default.n_items - 1 - default.item]
    assert np.corrcoef(default.rating, reversed_items)[0, 1] < 0.5
    # Observed = truth + noise: the error is centred and about noise-sized, not a bias.
    error = default.rating - at_ratings
    assert abs(error.mean()) < 0.1 and 0.3 < error.std() < 0.7


def test_truth_columns_follow_item_ids_when_items_go_unrated():
    ds = make_synthetic(SyntheticConfig(n_users=30, n_items=400, ratings_per_user=(5, 10), seed=3))
    unrated = ds.ratings_per_item == 0
    assert ds.n_items == 400 and unrated.any()  # items nobody rated stay in the catalogue
    assert not unrated[: (~unrated).sum()].any()  # rated items first, then the unrated ones
    assert ds.truth.shape == (30, 400)
    assert np.corrcoef(ds.rating, ds.truth[ds.user, ds.item])[0, 1] > 0.7
    # Each column's truth belongs to the item whose raw id heads it (raw id = generation index + 1).
    same = make_synthetic(SyntheticConfig(n_users=30, n_items=400, ratings_per_user=(5, 10), seed=3))
    assert np.array_equal(same.truth, ds.truth)
    assert sorted(ds.item_ids.tolist()) == list(range(1, 401))


def test_scale_is_respected():
    for scale in (RatingScale(1, 5, 1), RatingScale(0.5, 5, 0.5), RatingScale(1, 10, 1)):
        ds = make_synthetic(SyntheticConfig(n_users=100, n_items=150, scale=scale, seed=2))
        assert ds.scale == scale
        assert set(np.unique(ds.rating).tolist()) <= set(scale.values())
        assert len(np.unique(ds.rating)) >= len(scale.values()) - 2
    continuous = make_synthetic(SyntheticConfig(n_users=50, n_items=80, scale=RatingScale(0, 1, 0)))
    assert continuous.rating.min() >= 0 and continuous.rating.max() <= 1
    assert len(np.unique(continuous.rating)) > 100


def test_clusters_shape_taste(default):
    cluster = default.users["cluster"].to_numpy()
    assert sorted(np.unique(cluster).tolist()) == [0, 1, 2, 3]
    assert default.user_features is None  # the cluster is not leaked as a feature by default
    centred = default.truth - default.truth.mean(axis=1, keepdims=True)
    corr = np.corrcoef(centred)
    same = cluster[:, None] == cluster[None, :]
    off_diagonal = ~np.eye(len(cluster), dtype=bool)
    assert corr[same & off_diagonal].mean() > corr[~same].mean() + 0.3
    with_feature = make_synthetic(SyntheticConfig(n_users=50, n_items=60, cluster_as_feature=True))
    assert with_feature.user_features is not None and with_feature.user_features.fields == [
        "cluster"
    ]


def test_items_have_genres_years_titles(default):
    counts = np.diff(default.item_features.genre_offsets)
    assert counts.min() >= 1 and counts.max() <= 3
    assert default.item_features.n_genres == 12
    assert default.items["year"].between(1950, 2020).all()
    assert default.items["title"].is_unique


def test_strings_and_specs():
    config = parse_synthetic(
        "n_users=300,seed=1,ratings_per_user=5-30,min_rating=0.5,rating_step=0.5"
    )
    assert config.n_users == 300 and config.seed == 1 and config.ratings_per_user == (5, 30)
    assert config.scale == RatingScale(0.5, 5.0, 0.5)
    spec = DatasetSpec.parse("synthetic:n_users=300,seed=1")
    assert spec.kind == "synthetic" and spec.to_string() == "synthetic:n_users=300,seed=1"
    assert DatasetSpec.from_dict(spec.to_dict()) == spec
    ds = load_dataset("synthetic:n_users=40,n_items=50,seed=4")
    assert ds.n_users == 40 and ds.source == "synthetic:n_users=40,n_items=50,seed=4"
    assert load_dataset("synthetic").fingerprint == make_synthetic().fingerprint


def test_invalid_settings():
    with pytest.raises(DatasetError, match="ratings_per_user"):
        make_synthetic(SyntheticConfig(ratings_per_user=(0, 10)))
    with pytest.raises(DatasetError, match="n_users"):
        make_synthetic(SyntheticConfig(n_users=0))
    with pytest.raises(DatasetError, match="too large for the ground-truth matrix"):
        make_synthetic(SyntheticConfig(n_users=1_000_000, n_items=1_000_000))

"""The built-in MovieLens latest-small subset: sizes, side information, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from core.data import (
    BUILTINS,
    DatasetError,
    RatingScale,
    describe_source,
    load_builtin,
    load_dataset,
)


@pytest.fixture(scope="module")
def builtin():
    return load_builtin("movielens-small")


def test_sizes_and_scale(builtin):
    assert builtin.n_ratings == 100_004
    assert builtin.n_users == 671
    assert builtin.n_items == 9_066
    assert builtin.scale == RatingScale(0.5, 5.0, 0.5)
    assert set(np.unique(builtin.rating).tolist()) == set(builtin.scale.values())
    assert builtin.timestamp is not None and len(builtin.timestamp) == builtin.n_ratings
    assert builtin.notes == []


def test_sorted_by_user_then_item(builtin):
    assert np.all(np.diff(builtin.user) >= 0)
    key = builtin.user.astype(np.int64) * builtin.n_items + builtin.item
    assert np.all(np.diff(key) > 0)  # strictly increasing: no duplicate pairs
    assert builtin.user_offsets[-1] == builtin.n_ratings
    assert builtin.ratings_per_user.min() >= 20


def test_titles_years_genres(builtin):
    items = builtin.items.set_index("item_id")
    assert items.loc[1, "title"] == "Toy Story" and items.loc[1, "year"] == 1995
    assert items.loc[1, "genres"] == "Adventure|Animation|Children|Comedy|Fantasy"
    assert builtin.items["title"].str.len().min() > 0
    assert builtin.items["year"].notna().mean() > 0.99
    assert builtin.item_features.n_genres == 19
    assert "(no genres listed)" not in builtin.item_features.genre_names
    assert builtin.genre_counts().index[0] == "Drama"


def test_fingerprint_is_deterministic(builtin):
    assert load_builtin().fingerprint == builtin.fingerprint
    assert builtin.fingerprint == "7ff54f7c1dbd97a4"  # runs saved against it must keep loading
    assert load_dataset("builtin:movielens-small").fingerprint == builtin.fingerprint
    assert load_dataset("movielens-small").fingerprint == builtin.fingerprint


def test_listing_and_unknown_name():
    assert "movielens-small" in BUILTINS
    assert describe_source("movielens-small") == "Built-in: MovieLens latest-small (2016)"
    with pytest.raises(DatasetError, match="unknown built-in dataset 'nope'"):
        load_builtin("nope")

"""Functional models: one forward for shared and per-task parameters, features, scopes."""

from __future__ import annotations

import pytest
import torch

from core.data.synthetic import SyntheticConfig, make_synthetic
from core.models import FactorModel, PreferenceEstimator, build_model
from core.tasks import FeatureTables


@pytest.fixture(scope="module")
def features() -> FeatureTables:
    data = make_synthetic(SyntheticConfig(n_users=30, n_items=40, seed=1, cluster_as_feature=True))
    return FeatureTables.from_dataset(data)


def _models(features):
    return [
        PreferenceEstimator(features, embedding_dim=4, hidden=6, layers=2, use_item_id=True),
        FactorModel(features, factors=3, use_item_id=True),
    ]


def test_per_task_copies_give_the_same_predictions_as_shared_parameters(features):
    torch.manual_seed(0)
    items = torch.randint(0, features.n_items, (3, 5))
    codes = features.user_codes[:3]
    for model in _models(features):
        params = {k: v.detach() for k, v in model.init_params().items()}
        shared = model(params, codes, items)
        for scope in model.scopes:
            per_task = dict(params)
            for name in model.adapted_names(scope):
                per_task[name] = params[name].expand(3, *params[name].shape)
            assert torch.allclose(model(per_task, codes, items), shared, atol=1e-6)
        assert shared.shape == (3, 5)


def test_a_per_task_copy_changes_only_its_own_task(features):
    model = FactorModel(features, factors=3)
    params = {k: v.detach() for k, v in model.init_params().items()}
    items = torch.randint(0, features.n_items, (2, 4))
    codes = features.user_codes[:2]
    bias = torch.tensor([0.0, 1.5])
    out = model({**params, "user_bias": bias}, codes, items)
    base = model(params, codes, items)
    assert torch.allclose(out[0], base[0]) and torch.allclose(out[1], base[1] + 1.5)


def test_genre_bag_is_the_mean_of_the_item_genres(features):
    model = PreferenceEstimator(features, embedding_dim=4)
    params = {k: v.detach() for k, v in model.init_params().items()}
    for item in range(5):
        ids = features.genres[item][features.genres[item] > 0] - 1
        expected = params["genre_emb"][ids].mean(0) if len(ids) else torch.zeros(4)
        got = model._genre_mean(params, "genre_emb", torch.tensor([[item]]))[0, 0]
        assert torch.allclose(got, expected, atol=1e-6)


def test_user_features_enter_the_prediction(features):
    assert features.user_cardinalities, "fixture should expose the cluster as a user feature"
    for model in _models(features):
        params = {k: v.detach() for k, v in model.init_params().items()}
        items = torch.zeros(2, 3, dtype=torch.long)
        codes = torch.tensor([[1], [2]])
        out = model(params, codes, items)
        assert not torch.allclose(out[0], out[1])


def test_item_tables_never_adapt_and_scopes_name_real_parameters(features):
    for model in _models(features):
        params = model.init_params()
        for scope in model.scopes:
            names = model.adapted_names(scope)
            assert set(names) <= set(params)
            assert not set(names) & {"item_emb", "item_factors", "item_bias", "mu"}
    with pytest.raises(KeyError, match="unknown adaptation scope"):
        _models(features)[0].adapted_names("everything")


def test_item_penalty_is_the_mean_squared_norm_over_rated_positions(features):
    model = FactorModel(features, factors=3)
    params = {k: v.detach() for k, v in model.init_params().items()}
    params["item_bias"] = torch.arange(features.n_items, dtype=torch.float32)
    items = torch.tensor([[1, 2, 3]])
    mask = torch.tensor([[True, True, False]])
    expected = sum(float(params["item_factors"][i].pow(2).sum()) + i**2 for i in (1, 2)) / 2
    assert model.item_penalty(params, items, mask).tolist() == pytest.approx([expected], rel=1e-5)


def test_build_model_by_name(features):
    assert isinstance(build_model("melu", features), PreferenceEstimator)
    assert isinstance(build_model("factor", features, factors=5), FactorModel)
    with pytest.raises(KeyError, match="unknown model"):
        build_model("transformer", features)

"""Every registered algorithm: shapes, finiteness, persistence, adaptation, configs; baselines
checked by hand on tiny examples."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
import torch

from core.algorithms import (
    ALGORITHMS,
    DEFAULT_ALGORITHM,
    ConfigError,
    algorithm_class,
    coerce_config,
    create_algorithm,
    preset_overrides,
)
from core.data import RatingScale, build_dataset
from core.data.synthetic import SyntheticConfig, make_synthetic
from core.devices import seed_everything
from core.split import make_split, train_rows
from core.tasks import TaskSampler, new_user_batch
from core.training import TrainConfig

GRADIENT_BASED = ["maml", "fomaml", "melu", "metasgd", "reptile", "finetune"]


@pytest.fixture(scope="module")
def data():
    dataset = make_synthetic(SyntheticConfig(n_users=120, n_items=80, seed=5))
    split = make_split(dataset)
    sampler = TaskSampler(dataset, split, batch_size=16, seed=0)
    return dataset, split, sampler


def fitted(name: str, data, seed: int = 0, steps: int = 2, **overrides):
    """An algorithm after fit() and a few Adam meta-steps (if trainable)."""
    dataset, split, sampler = data
    seed_everything(seed)
    algo = create_algorithm(name, overrides, dataset)
    algo.fit(train_rows(dataset, split))
    params = algo.meta_parameters()
    if algo.trainable:
        opt = torch.optim.Adam(params.values(), lr=1e-2)
        batches = sampler.epoch()
        for _ in range(steps):
            _, grads = algo.meta_gradients(next(batches))
            for k, p in params.items():
                p.grad = grads[k]
            opt.step()
    return algo


def test_registry_has_every_method():
    assert list(ALGORITHMS) == [
        "maml", "fomaml", "melu", "metasgd", "reptile", "proto", "matching",
        "popularity", "ease", "itemknn", "mf_foldin", "global_mean", "item_bias",
        "user_item_bias", "finetune",
    ]
    assert ALGORITHMS[DEFAULT_ALGORITHM].family in ("meta", "metric")
    for name, cls in ALGORITHMS.items():
        assert cls.name == name and cls.family in ("meta", "metric", "baseline")
        assert cls.title and cls.description
        assert set(cls.train_defaults) <= {f.name for f in dataclasses.fields(TrainConfig)}
        for spec in cls.Config.field_specs():
            assert spec["help"], f"{name}.{spec['name']} has no help"
        cls.Config()  # defaults are valid
    assert not ALGORITHMS["user_item_bias"].trainable and ALGORITHMS["finetune"].trainable


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_every_algorithm_trains_adapts_and_predicts(data, name):
    dataset, split, sampler = data
    algo = fitted(name, data)
    if algo.trainable:
        loss, grads = algo.meta_gradients(next(sampler.epoch()))
        params = algo.meta_parameters()
        assert torch.isfinite(loss) and loss.dim() == 0 and not loss.requires_grad
        assert set(grads) == set(params)
        for k, g in grads.items():
            assert g.shape == params[k].shape and torch.isfinite(g).all(), k
    else:
        assert algo.meta_parameters() == {}
    batch = sampler.eval_batch("test", 5)
    adapted = algo.adapt(batch)
    everything = torch.arange(dataset.n_items).expand(len(batch), -1)
    for state in (adapted, None):
        pred = algo.clamp(algo.predict(state, batch, batch.query_items))
        assert pred.shape == batch.query_items.shape and torch.isfinite(pred).all()
        assert float(pred.min()) >= dataset.scale.min and float(pred.max()) <= dataset.scale.max
        scores = algo.score(state, batch, everything)
        assert scores.shape == everything.shape and not torch.isnan(scores).any()
    if adapted.losses is not None:
        steps = getattr(algo.config, "inner_steps", 0)
        assert adapted.losses.shape == (steps + 1, len(batch))
    # A new user with no ratings at all (the app before any star is given).
    empty = new_user_batch(np.array([], dtype=np.int64), np.array([]), np.arange(7))
    pred = algo.predict(algo.adapt(empty), empty, empty.query_items)
    assert pred.shape == (1, 7) and torch.isfinite(pred).all()


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_state_dict_round_trip_predicts_identically(data, name):
    dataset, _, sampler = data
    trained = fitted(name, data, seed=0)
    state = trained.state_dict()
    assert all(v.device.type == "cpu" for v in state.values())
    seed_everything(99)
    fresh = create_algorithm(name, {}, dataset)  # different random init, never fitted
    fresh.load_state_dict(state)
    batch = sampler.eval_batch("val", 10)
    (a, a0), (b, b0) = [
        (algo.predict(algo.adapt(batch), batch, batch.query_items), algo.predict(None, batch, batch.query_items))
        for algo in (trained, fresh)
    ]
    assert torch.equal(a, b) and torch.equal(a0, b0)
    with pytest.raises(KeyError):
        fresh.load_state_dict({})


@pytest.mark.parametrize("name", GRADIENT_BASED)
def test_adaptation_reduces_the_support_loss(data, name):
    _, _, sampler = data
    algo = fitted(name, data, steps=3)
    losses = algo.adapt(sampler.eval_batch("val", 10)).losses
    assert float(losses[-1].mean()) < float(losses[0].mean())


def test_steps_override_and_zero_steps(data):
    _, _, sampler = data
    algo = fitted("maml", data)
    batch = sampler.eval_batch("val", 5)
    assert algo.adapt(batch, steps=7).losses.shape == (8, len(batch))
    zero = algo.adapt(batch, steps=0)
    assert torch.equal(algo.predict(zero, batch, batch.query_items), algo.predict(None, batch, batch.query_items))


def test_metasgd_learns_its_inner_learning_rates(data):
    algo = fitted("metasgd", data, steps=3)
    rates = {k: v for k, v in algo.meta_parameters().items() if k.startswith("lr.")}
    assert set(rates) == {f"lr.{n}" for n in algo.adapted_names}
    assert any(not torch.allclose(v, torch.full_like(v, algo.config.inner_lr)) for v in rates.values())


# ------------------------------------------------------------------------------- configs
def test_overrides_are_coerced_and_checked(data):
    dataset, _, _ = data
    algo = create_algorithm("maml", {"inner_steps": "3", "model": "melu", "use_item_id": "yes"}, dataset)
    assert algo.config.inner_steps == 3 and algo.config.use_item_id is True
    with pytest.raises(ConfigError, match="unknown algorithm"):
        create_algorithm("mammal", {}, dataset)
    with pytest.raises(ConfigError, match="must be one of .*, got 'transformer'"):
        create_algorithm("maml", {"model": "transformer"}, dataset)
    with pytest.raises(ConfigError, match="outside"):
        create_algorithm("maml", {"inner_steps": -1}, dataset)
    with pytest.raises(ConfigError, match="unknown setting"):
        create_algorithm("user_item_bias", {"inner_lr": 0.1}, dataset)


def test_melu_paper_preset(data):
    algo_over, train_over = preset_overrides("melu", "paper")
    assert algo_over["inner_lr"] == 5e-6 and algo_over["inner_steps"] == 1
    assert train_over == {"outer_lr": 5e-5, "meta_batch_size": 32, "epochs": 20}
    coerce_config(TrainConfig, train_over)
    algo = fitted("melu", data, **algo_over)
    assert algo.config.inner_lr == 5e-6
    assert "too small" in algorithm_class("melu").description
    with pytest.raises(ConfigError, match="no preset"):
        preset_overrides("maml", "paper")


# ------------------------------------------------------------------------------- baselines by hand
@pytest.fixture(scope="module")
def tiny():
    """Users 0-2 train, user 3 is new. Item 2 is rated once, items 0 and 1 three times."""
    ratings = pd.DataFrame({
        "user": [0, 0, 0, 1, 1, 2, 2, 3, 3],
        "item": [0, 1, 2, 0, 1, 0, 1, 0, 1],
        "rating": [5.0, 3.0, 4.0, 4.0, 2.0, 3.0, 1.0, 5.0, 5.0],
    })
    dataset = build_dataset(ratings, name="tiny", source="test", scale=RatingScale(1, 5, 1))
    return dataset, np.arange(7)  # rows of users 0-2


def make_baseline(name, tiny, **overrides):
    dataset, rows = tiny
    algo = create_algorithm(name, overrides, dataset)
    algo.fit(rows)
    return algo


def test_global_mean_is_the_mean_of_training_ratings(tiny):
    algo = make_baseline("global_mean", tiny)
    batch = new_user_batch(np.array([0]), np.array([5.0]), np.array([0, 1, 2]))
    expected = np.mean([5, 3, 4, 4, 2, 3, 1])  # user 3's ratings are not training data
    assert torch.allclose(algo.predict(algo.adapt(batch), batch, batch.query_items),
                          torch.full((1, 3), expected, dtype=torch.float32))


def test_item_bias_is_a_shrunken_mean_deviation(tiny):
    algo = make_baseline("item_bias", tiny, item_shrinkage=1.0)
    mu = 22 / 7
    expected = [(5 + 4 + 3 - 3 * mu) / 4, (3 + 2 + 1 - 3 * mu) / 4, (4 - mu) / 2]
    assert np.allclose(algo.stats["item_bias"].numpy(), expected, atol=1e-6)
    unshrunk = make_baseline("item_bias", tiny, item_shrinkage=0.0)
    assert float(unshrunk.stats["item_bias"][2]) == pytest.approx(4 - mu, abs=1e-6)


def test_user_bias_shrinks_towards_zero_with_few_ratings(tiny):
    algo = make_baseline("user_item_bias", tiny, user_shrinkage=2.0)
    mu, b = float(algo.stats["mu"]), algo.stats["item_bias"].double().numpy()
    residual = 0.8  # every support rating is this much above mu + b_i

    def user_bias(items):
        batch = new_user_batch(items, mu + b[items] + residual, np.array([1]))
        return float(algo.adapt(batch).state["user_bias"][0]), batch

    b_few, few = user_bias(np.array([0]))
    b_many, _ = user_bias(np.array([0, 1, 2]))
    assert b_few == pytest.approx(residual * 1 / (1 + 2), rel=1e-5)
    assert b_many == pytest.approx(residual * 3 / (3 + 2), rel=1e-5)
    pred = algo.predict(algo.adapt(few), few, few.query_items)
    assert float(pred[0, 0]) == pytest.approx(mu + b[1] + b_few, rel=1e-5)


def test_mf_fold_in_is_ridge_regression_on_the_support_set(tiny):
    algo = make_baseline("mf_foldin", tiny, factors=2, reg=0.5)
    mu, b, q = float(algo.stats["mu"]), algo.stats["item_bias"].double(), algo.stats["item_factors"].double()
    items, ratings = np.array([0, 1, 2]), np.array([5.0, 2.0, 4.0])
    batch = new_user_batch(items, ratings, np.array([0, 1, 2]))
    state = algo.adapt(batch).state
    x = np.c_[np.ones(3), q[items].numpy()]
    y = ratings - mu - b[items].numpy()
    w = np.linalg.solve(x.T @ x + 0.5 * np.eye(3), x.T @ y)
    assert float(state["user_bias"][0]) == pytest.approx(w[0], abs=1e-5)
    assert np.allclose(state["user_vec"][0].numpy(), w[1:], atol=1e-5)
    pred = algo.predict(algo.adapt(batch), batch, batch.query_items)[0].double().numpy()
    assert np.allclose(pred, np.clip(mu + b.numpy() + x @ w, 1, 5), atol=1e-5)


def test_mf_fold_in_beats_item_biases_on_training_users(data):
    """ALS factors fitted on the training users explain their held-out ratings better than
    item biases alone (a check that the factors are fitted, not left at zero)."""
    dataset, split, _ = data
    mf, bias = fitted("mf_foldin", data), fitted("item_bias", data)
    sampler = TaskSampler(dataset, split, batch_size=40, support_size=20, support_min=20, seed=1)
    batch = sampler.sample(split.train_users[:40])
    mse = {}
    for name, algo in (("mf", mf), ("bias", bias)):
        pred = algo.predict(algo.adapt(batch), batch, batch.query_items)
        mse[name] = float(((pred - batch.query_ratings) ** 2 * batch.query_mask).sum() / batch.query_mask.sum())
    assert mse["mf"] < mse["bias"]


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_data_without_genres_or_years_works(tiny, name):
    dataset, _ = tiny
    assert dataset.item_features.n_genres == 0
    algo = make_baseline(name, tiny)
    batch = new_user_batch(np.array([0, 1]), np.array([5.0, 4.0]), np.array([2]))
    if algo.trainable:
        trained = dataclasses.replace(batch, query_ratings=torch.tensor([[4.0]]))
        loss, grads = algo.meta_gradients(trained)
        assert torch.isfinite(loss) and all(torch.isfinite(g).all() for g in grads.values())
    pred = algo.predict(algo.adapt(batch), batch, batch.query_items)
    assert pred.shape == (1, 1) and torch.isfinite(pred).all()


# ------------------------------------------------------------------------------- top-N baselines by hand
def test_popularity_counts_training_users_only(tiny):
    algo = make_baseline("popularity", tiny)
    # items 0 and 1 have 3 training interactions each, item 2 one; user 3 is not counted
    assert np.allclose(algo.stats["pop"].numpy(), np.log1p([3, 3, 1]))
    batch = new_user_batch(np.array([0]), np.array([5.0]))
    scores = algo.score(algo.adapt(batch), batch, torch.tensor([[0, 1, 2]]))
    assert scores[0, 1] > scores[0, 2]


def test_ease_is_the_closed_form_of_steck_2019():
    rng = np.random.default_rng(0)
    x = (rng.random((30, 8)) < 0.4).astype(float)
    users, items = np.nonzero(x)
    ratings = pd.DataFrame({"user": users, "item": items, "rating": 4.0 + 0 * users})
    ratings.loc[::2, "rating"] = 2.0  # EASE^R uses the binary matrix, whatever the rating
    dataset = build_dataset(ratings, name="ease", source="test", scale=RatingScale(1, 5, 1))
    algo = create_algorithm("ease", {"l2": 3.0, "min_count": 1}, dataset)
    algo.fit(np.arange(dataset.n_ratings))
    x = np.zeros((dataset.n_users, dataset.n_items))
    x[dataset.user, dataset.item] = 1.0
    p = np.linalg.inv(x.T @ x + 3.0 * np.eye(dataset.n_items))
    b = -p / np.diag(p)[None]
    np.fill_diagonal(b, 0.0)
    assert np.allclose(algo.stats["B"].numpy(), b, atol=1e-5)
    batch = new_user_batch(np.array([1, 4]), np.array([5.0, 1.0]))
    scores = algo.score(algo.adapt(batch), batch, torch.arange(dataset.n_items)[None])[0].numpy()
    assert np.allclose(scores, b[1] + b[4], atol=1e-4)


def test_item_knn_sums_shrunk_cosine_similarities_to_the_support(tiny):
    dataset, rows = tiny
    algo = make_baseline("itemknn", tiny, neighbours=2, shrink=1.0)
    x = np.zeros((3, 3))
    x[dataset.user[rows], dataset.item[rows]] = 1.0
    norms = np.sqrt(x.sum(0))
    sim = (x.T @ x) / (np.outer(norms, norms) + 1.0)
    np.fill_diagonal(sim, 0.0)
    batch = new_user_batch(np.array([2]), np.array([5.0]))
    scores = algo.score(algo.adapt(batch), batch, torch.tensor([[0, 1]]))[0].numpy()
    assert np.allclose(scores, sim[2, [0, 1]], atol=1e-3)


@pytest.mark.parametrize("name", ["proto", "matching"])
def test_metric_rating_head_is_bias_plus_attended_support_residuals(name):
    """r_i = mu + b_i + b_u + c * sum_j att_ij (r_j - mu - b_j - b_u), checked by hand: with c = 0
    it is exactly item + user bias (b_u = support residuals / (n + shrinkage) around the prior);
    an item whose embedding equals a support item's takes most of that item's residual."""
    dataset = make_synthetic(SyntheticConfig(n_users=60, n_items=40, seed=1))
    algo = create_algorithm(name, {"dim": 8, "shrinkage": 2.0}, dataset)
    algo.fit(np.arange(dataset.n_ratings))
    p = algo.params
    items, ratings = np.array([3, 7]), np.array([5.0, 2.0])
    batch = new_user_batch(items, ratings)
    query = torch.arange(dataset.n_items).unsqueeze(0)
    mu, b = float(p["mu"]), p["item_bias"].detach().double()
    resid = torch.tensor(ratings, dtype=torch.float64) - mu - b[items]
    b_u = (2.0 * float(p["user_bias"].detach()) + float(resid.sum())) / (2 + 2.0)
    with torch.no_grad():
        p["resid_scale"].zero_()
    plain = algo.predict(algo.adapt(batch), batch, query)[0].double()
    assert torch.allclose(plain, mu + b + b_u, atol=1e-5)
    with torch.no_grad():
        p["resid_scale"].fill_(1.0)
        p[algo.rating_temperature].fill_(math.log(50.0))  # sharp attention
        p["item_in"][7] = p["item_out"][7] = p["item_in"][3] * -1.0  # 7 opposite to 3
        p["genre_in"].zero_(), p["genre_out"].zero_(), p["year_out"].zero_()
        p["item_out"][3] = p["item_in"][3]
    pred = algo.predict(algo.adapt(batch), batch, query)[0].double()
    pulled = pred - (mu + b + b_u)
    own = resid - b_u  # each support item's residual around the user's bias
    assert abs(float(pulled[3]) - float(own[0])) < 0.05 and abs(float(pulled[7]) - float(own[1])) < 0.05

"""The vectorized inner loop and meta-gradients equal a plain per-task loop (float64, 1e-8)."""

from __future__ import annotations

import pytest
import torch
from reference_loops import reference_maml_gradients, reference_reptile_gradients

from core.algorithms import create_algorithm
from core.data.synthetic import SyntheticConfig, make_synthetic
from core.devices import seed_everything
from core.tasks import TaskBatch

SMALL = {"embedding_dim": 4, "hidden": 5, "layers": 2, "factors": 3, "use_item_id": True,
         "item_reg": 0.0, "inner_steps": 3, "dim": 4, "init": "random"}


@pytest.fixture(scope="module")
def data():
    return make_synthetic(SyntheticConfig(n_users=40, n_items=30, seed=2, cluster_as_feature=True))


@pytest.fixture
def float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def ragged_batch(n_items: int, n_codes: int) -> TaskBatch:
    """Five tasks: full, partial, empty support (K=0), one support rating, no query at all."""
    g = torch.Generator().manual_seed(7)
    s_len, q_len = [6, 3, 0, 1, 4], [4, 2, 4, 3, 0]
    items = torch.stack([torch.randperm(n_items, generator=g)[:10] for _ in s_len])
    s_mask = torch.arange(6)[None] < torch.tensor(s_len)[:, None]
    q_mask = torch.arange(4)[None] < torch.tensor(q_len)[:, None]
    ratings = torch.randint(1, 6, (5, 10), generator=g).double()
    return TaskBatch(
        users=torch.arange(5),
        user_features=torch.randint(0, n_codes, (5, 1), generator=g),
        support_items=torch.where(s_mask, items[:, :6], 0),
        support_ratings=torch.where(s_mask, ratings[:, :6], 0.0),
        support_mask=s_mask,
        query_items=torch.where(q_mask, items[:, 6:], 0),
        query_ratings=torch.where(q_mask, ratings[:, 6:], 0.0),
        query_mask=q_mask,
    )


def make(name: str, data, **overrides):
    seed_everything(0)
    algo = create_algorithm(name, {**SMALL, **overrides}, data)
    with torch.no_grad():  # move every parameter off its initial value (e.g. zero item biases)
        for p in algo.meta_parameters().values():
            p.add_(0.05 * torch.randn_like(p))
    return algo


CASES = [
    ("maml", {"model": "ranker"}), ("fomaml", {"model": "ranker"}), ("metasgd", {"model": "ranker"}),
    ("melu", {"model": "ranker"}), ("melu", {"model": "ranker", "first_order": True}),
    ("maml", {"model": "factor"}), ("maml", {"model": "melu"}),
    ("fomaml", {"model": "factor"}), ("fomaml", {"model": "melu"}),
    ("metasgd", {"model": "factor"}), ("metasgd", {"model": "melu"}),
    ("metasgd", {"model": "melu", "first_order": True}),
    ("melu", {"model": "melu"}), ("melu", {"model": "melu", "first_order": True}),
]


@pytest.mark.parametrize("prior", [0.0, 2.0])
@pytest.mark.parametrize(("name", "options"), CASES)
def test_vectorized_meta_gradients_equal_the_per_task_reference(data, float64, name, options, prior):
    algo = make(name, data, **options, inner_prior=prior, inner_lr=0.1)
    batch = ragged_batch(data.n_items, algo.features.user_cardinalities[0])
    loss, grads = algo.meta_gradients(batch)
    ref_loss, ref = reference_maml_gradients(
        algo.model, algo.params, algo.adapted_names, algo.inner_lr(), batch, algo.inner_steps(None),
        second_order=algo.second_order, prior=prior, wrt=algo.meta_parameters(),
    )
    assert set(grads) == set(algo.meta_parameters())
    torch.testing.assert_close(loss, ref_loss, rtol=1e-8, atol=1e-8)
    for k in ref:
        torch.testing.assert_close(grads[k], ref[k], rtol=1e-8, atol=1e-8, msg=f"{name} {options}: {k}")
    # The gradient is not trivially zero where it matters.
    assert any(float(grads[k].abs().max()) > 1e-4 for k in algo.adapted_names)


def test_second_order_terms_are_really_there(data, float64):
    """MAML and first-order MAML differ (else the equality test above could not tell them apart)."""
    batch = ragged_batch(data.n_items, 3)
    for model in ("melu", "ranker"):
        _, second = make("maml", data, model=model, inner_lr=0.1).meta_gradients(batch)
        _, first = make("fomaml", data, model=model, inner_lr=0.1).meta_gradients(batch)
        assert max(float((second[k] - first[k]).abs().max()) for k in second) > 1e-6, model


@pytest.mark.parametrize("model", ["ranker", "factor", "melu"])
def test_reptile_direction_equals_the_per_task_reference(data, float64, model):
    algo = make("reptile", data, model=model, inner_lr=0.1, inner_prior=1.0)
    batch = ragged_batch(data.n_items, algo.features.user_cardinalities[0])
    loss, grads = algo.meta_gradients(batch)
    ref_loss, ref = reference_reptile_gradients(
        algo.model, algo.params, algo.adapted_names, algo.inner_lr(), batch, algo.inner_steps(None),
        prior=1.0,
    )
    torch.testing.assert_close(loss, ref_loss, rtol=1e-8, atol=1e-8)
    for k in ref:
        torch.testing.assert_close(grads[k], ref[k], rtol=1e-8, atol=1e-8, msg=k)


@pytest.mark.parametrize("name", ["maml", "fomaml", "metasgd", "melu", "reptile", "finetune"])
def test_empty_support_leaves_parameters_unchanged(data, name):
    algo = make(name, data)
    batch = ragged_batch(data.n_items, 3).to("cpu", torch.float32)
    adapted = algo.adapt(batch, steps=4)
    assert adapted.losses.shape == (5, 5) and torch.isfinite(adapted.losses).all()
    for k, v in adapted.state.items():
        assert torch.isfinite(v).all()
        assert torch.equal(v[2], algo.params[k].detach()), k  # task 2 has no support ratings
    pred = algo.predict(adapted, batch, batch.query_items)
    assert torch.allclose(pred[2], algo.predict(None, batch, batch.query_items)[2])
    loss, grads = algo.meta_gradients(batch)
    assert torch.isfinite(loss) and all(torch.isfinite(g).all() for g in grads.values())


def test_same_seed_gives_identical_meta_gradients(data):
    batch = ragged_batch(data.n_items, 3).to("cpu", torch.float32)
    runs = []
    for seed in (3, 3, 4):
        seed_everything(seed)
        runs.append(create_algorithm("maml", {"model": "melu"}, data).meta_gradients(batch)[1])
    assert all(torch.equal(runs[0][k], runs[1][k]) for k in runs[0])
    assert not all(torch.equal(runs[0][k], runs[2][k]) for k in runs[0])


def test_first_order_fast_path_equals_autograd(data, float64):
    """The MeLU network's hand-written first-order step (fast_path) is a switch, not a different
    algorithm: the same loss and meta-gradients as the autograd inner loop."""
    batch = ragged_batch(data.n_items, 3)
    fast = make("fomaml", data, model="melu", inner_lr=0.1, inner_prior=2.0, fast_path=True)
    slow = make("fomaml", data, model="melu", inner_lr=0.1, inner_prior=2.0, fast_path=False)
    assert fast.model.explicit_descent and not slow.model.explicit_descent
    (l1, g1), (l2, g2) = fast.meta_gradients(batch), slow.meta_gradients(batch)
    torch.testing.assert_close(l1, l2, rtol=1e-10, atol=1e-10)
    for k in g1:
        torch.testing.assert_close(g1[k], g2[k], rtol=1e-8, atol=1e-10, msg=k)

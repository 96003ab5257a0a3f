"""Top-N learners end to end on small data: implicit feedback, user features of a new user,
cold items scored from their features, adaptation that changes the ranking, and the leak rule
(nothing a ranking uses is counted on cold users)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from core.algorithms import algorithm_class, create_algorithm
from core.data import build_dataset
from core.devices import seed_everything
from core.evaluation import TOPN_METRICS, evaluate
from core.recommend import Recommender
from core.split import SplitConfig, make_split, train_rows
from core.tasks import TaskSampler

LEARNERS = ["proto", "matching", "fomaml", "maml", "reptile", "metasgd", "melu"]


def clustered(n_users=90, n_items=60, implicit=False, seed=0, users_table=False):
    """Two tastes: users like (interact with) items of their half of the catalogue."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        half = u % 2
        liked = rng.choice(np.arange(half * n_items // 2, (half + 1) * n_items // 2), 24, replace=False)
        other = rng.choice(np.arange((1 - half) * n_items // 2, (2 - half) * n_items // 2), 8, replace=False)
        for i in liked:
            rows.append((f"u{u}", f"i{i}", 5.0))
        for i in other:
            rows.append((f"u{u}", f"i{i}", 1.0))
    frame = pd.DataFrame(rows, columns=["user", "item", "rating"])
    if implicit:
        frame = frame[frame["rating"] > 3].drop(columns="rating")
    items = pd.DataFrame({"item_id": [f"i{i}" for i in range(n_items + 4)],
                          "title": [f"Item {i}" for i in range(n_items + 4)],
                          "genres": ["Left" if i < n_items // 2 else "Right" for i in range(n_items + 4)]})
    users = None
    if users_table:
        users = pd.DataFrame({"user_id": [f"u{u}" for u in range(n_users)],
                              "gender": ["F" if u % 2 else "M" for u in range(n_users)]})
    return build_dataset(frame, name="clusters", source="test", items=items, users=users)


def idx(dataset, raw: str) -> int:
    return int(np.asarray(dataset.item_index([raw]))[0])


def trained(name, dataset, epochs=4, seed=0, **overrides):
    split = make_split(dataset, SplitConfig(seed=seed, query_size=4, max_support=8))
    seed_everything(seed)
    fields = {f["name"] for f in algorithm_class(name).Config.field_specs()}
    options = {k: v for k, v in {"dim": 8, "inner_steps": 2, **overrides}.items() if k in fields}
    algo = create_algorithm(name, options, dataset)
    algo.fit(train_rows(dataset, split), split=split)
    params = algo.meta_parameters()
    sampler = TaskSampler(dataset, split, batch_size=16, support_size=8, support_min=2, query_size=12, seed=seed)
    opt = torch.optim.Adam(params.values(), lr=0.01)
    for _ in range(epochs):
        for batch in sampler.epoch():
            _, grads = algo.meta_gradients(batch)
            for k, p in params.items():
                p.grad = grads[k]
            opt.step()
    return algo, split


@pytest.mark.parametrize("name", LEARNERS)
def test_learners_adapt_to_a_taste_on_implicit_data(name):
    dataset = clustered(implicit=True)
    assert dataset.implicit
    algo, split = trained(name, dataset)
    table = evaluate(algo, dataset, split, "test", [8])[8]
    assert set(TOPN_METRICS) <= set(table) and "mae" not in table
    assert table["recall20"] > table["base_recall20"]  # adaptation helps
    rec = Recommender(algo, dataset, split)
    left = rec.recommend({idx(dataset, "i0"): 1.0, idx(dataset, "i1"): 1.0,
                          idx(dataset, "i2"): 1.0}, top=5, min_ratings=0, explain=False)
    assert (left.adapted["genres"] == "Left").mean() >= 0.8


def test_new_user_with_or_without_user_features():
    dataset = clustered(users_table=True)
    assert dataset.user_feature_fields == ["gender"]
    algo, split = trained("fomaml", dataset, epochs=2)
    rec = Recommender(algo, dataset, split)
    ratings = {idx(dataset, "i0"): 5.0}
    unknown = rec.recommend(ratings, top=5, min_ratings=0)
    known = rec.recommend(ratings, top=5, min_ratings=0, user_features={"gender": "F"})
    assert len(unknown.adapted) == len(known.adapted) == 5
    assert not np.allclose(unknown.scores[np.isfinite(unknown.scores)], known.scores[np.isfinite(known.scores)])


def test_items_no_training_user_rated_are_scored_from_their_features():
    dataset = clustered()
    split = make_split(dataset, SplitConfig(seed=0, query_size=4, max_support=8))
    rows = train_rows(dataset, split)
    # Hide items i10 and i40 from training, as if only cold users had rated them.
    hidden = [idx(dataset, "i10"), idx(dataset, "i40")]
    rows = rows[~np.isin(dataset.item[rows], hidden)]
    seed_everything(0)
    algo = create_algorithm("proto", {"dim": 8}, dataset)
    algo.fit(rows, split=split)
    rec = Recommender(algo, dataset, split).recommend({idx(dataset, "i45"): 5.0}, top=dataset.n_items,
                                                      min_ratings=0, explain=False)
    assert np.isfinite(rec.scores[hidden]).all() and set(hidden) <= set(rec.adapted["item"])


def test_nothing_a_ranking_uses_is_counted_on_cold_users():
    """Popularity logits, item biases and EASE^R's matrix are identical whether or not the cold
    users' ratings are in the file: they are fitted on training users only."""
    dataset = clustered(seed=3)
    split = make_split(dataset, SplitConfig(seed=0, query_size=4, max_support=8))
    cold = np.concatenate([split.val_users, split.test_users])
    rows = train_rows(dataset, split)
    assert not np.isin(dataset.user[rows], cold).any()
    fitted = {}
    for name in ("popularity", "ease", "proto"):
        algo = create_algorithm(name, {"dim": 4} if name == "proto" else {}, dataset)
        algo.fit(rows, split=split)
        fitted[name] = algo.state_dict()
    counts = np.bincount(dataset.item[rows], minlength=dataset.n_items)
    assert np.allclose(fitted["popularity"]["pop"].numpy(), np.log1p(counts))
    logits = fitted["proto"]["item_logit"].numpy()
    assert np.allclose(logits, np.log1p(counts) - np.log1p(counts).mean(), atol=1e-6)


def test_predict_answers_for_item_table_films_nobody_rated(tmp_path, capsys):
    """movies.csv lists films no one rated: they are in the catalogue (scored from genres and
    year), so `metarec predict` gives them a prediction instead of "unknown item"."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from cli_fixtures import movielens_folder

    from core.cli import main
    from core.data.loading import load_dataset

    folder = movielens_folder(tmp_path, n_items=40)
    movies = pd.read_csv(folder / "movies.csv")
    extra = pd.DataFrame({"movieId": [901, 902], "title": ["Unseen Space (2001)", "Unseen Noir (1950)"],
                          "genres": ["Sci-Fi", "Film-Noir|Crime"]})
    pd.concat([movies, extra]).to_csv(folder / "movies.csv", index=False)
    dataset = load_dataset(str(folder))
    assert dataset.n_items == 42 and dataset.ratings_per_item[dataset.item_index([901, 902])].tolist() == [0, 0]
    run = tmp_path / "run"
    assert main(["train", "--dataset", str(folder), "--algorithm", "proto", "--epochs", "1",
                 "--out", str(run), "-q"]) == 0
    (tmp_path / "s.csv").write_text("user,item,rating\nme,1,5\nme,2,3\nme,3,4\n")
    (tmp_path / "q.csv").write_text("user,item\nme,901\nme,902\nme,5\n")
    out = tmp_path / "pred.csv"
    assert main(["predict", str(run), "--support", str(tmp_path / "s.csv"), "--query",
                 str(tmp_path / "q.csv"), "--out", str(out)]) == 0
    assert "unknown item" not in capsys.readouterr().err
    pred = pd.read_csv(out)
    assert len(pred) == 3 and pred["prediction"].between(0.5, 5).all()

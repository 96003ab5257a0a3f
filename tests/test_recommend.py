"""Recommending for new and held-out users; item search; profiles; cached run evaluation."""

from __future__ import annotations

import numpy as np
import pytest

from core.data.loading import load_dataset
from core.evaluation import cached_evaluation, evaluate_run
from core.profiles import Profile, ProfileError, list_profiles, load_profile, save_profile
from core.recommend import Recommender, jaccard, search_items
from core.runs import Run
from core.split import SplitConfig, make_split
from core.training import Trainer


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    dataset = load_dataset("synthetic:n_users=200,n_items=160,seed=2")
    split = make_split(dataset)
    folder = tmp_path_factory.mktemp("runs") / "maml"
    trainer = Trainer("maml", dataset, split, train={"epochs": 3, "meta_batch_size": 16},
                      run_dir=folder)
    trainer.run()
    return dataset, split, trainer.algorithm, Run.open(folder)


def _ratings(dataset, n=5):
    items = np.argsort(-dataset.ratings_per_item)[:n]
    return {int(i): float(dataset.scale.max if j % 2 else dataset.scale.min)
            for j, i in enumerate(items)}


def test_new_user_recommendations_adapt_and_skip_rated_items(trained):
    dataset, split, algo, _ = trained
    ratings = _ratings(dataset)
    rec = Recommender(algo, dataset, split).recommend(ratings, top=10)
    assert len(rec.adapted) == len(rec.unadapted) == 10
    assert not set(rec.adapted["item"]) & set(ratings)
    assert not set(rec.unadapted["item"]) & set(ratings)
    assert rec.adapted["item"].tolist() != rec.unadapted["item"].tolist()
    assert (rec.adapted["rank_change"] == rec.adapted["base_rank"] - rec.adapted["rank"]).all()
    assert len(rec.losses) == algo.config.inner_steps + 1 and rec.losses[-1] < rec.losses[0]
    assert rec.adapted["rating"].between(dataset.scale.min, dataset.scale.max).all()
    assert rec.adapted["score"].is_monotonic_decreasing
    assert rec.n_candidates >= 10 and 0 <= rec.overlap < 1
    assert rec.adapted["genre_match"].between(0, 1).all()


def test_reasons_are_the_rated_items_that_pull_an_item_up(trained):
    dataset, split, algo, _ = trained
    rec = Recommender(algo, dataset, split)
    ratings = _ratings(dataset, 6)
    top = rec.recommend(ratings, top=5)
    item = int(top.adapted["item"].iloc[0])
    why = rec.explain(ratings, item)
    assert [w[0] for w in why] != [] and {w[0] for w in why} == set(ratings)
    pulls = [w[3] for w in why]
    assert pulls == sorted(pulls, reverse=True)
    # The leave-one-out contribution is what removing that rating does to the score.
    best = why[0][0]
    without = {k: v for k, v in ratings.items() if k != best}
    after = rec.recommend(without, top=dataset.n_items, min_ratings=0, explain=False)
    before = rec.recommend(ratings, top=dataset.n_items, min_ratings=0, explain=False)
    delta = before.scores[item] - after.scores[item]
    assert delta == pytest.approx(why[0][3], rel=1e-4, abs=1e-5)
    # "because" names liked items only (a dislike may pull an item up, but is no reason to give).
    named = top.adapted["because"].iloc[0].split("; ")
    liked = [w for w in why if w[2] >= dataset.scale.relevance_threshold() and w[3] > 1e-9]
    if liked:
        assert named[0] == liked[0][1]
    assert all(w[1] not in named for w in why if w[2] < dataset.scale.relevance_threshold())


def test_candidate_filter_counts_training_users_only(trained):
    dataset, split, algo, _ = trained
    rec = Recommender(algo, dataset, split)
    counts = rec.candidate_counts()
    cold = np.concatenate([split.val_users, split.test_users])
    rows = np.concatenate([np.arange(dataset.user_offsets[u], dataset.user_offsets[u + 1]) for u in cold])
    everyone = np.bincount(dataset.item, minlength=dataset.n_items)
    cold_counts = np.bincount(dataset.item[rows], minlength=dataset.n_items)
    assert np.array_equal(counts, everyone - cold_counts)
    threshold = int(np.median(counts)) + 1
    result = rec.recommend({}, top=dataset.n_items, min_ratings=threshold, explain=False)
    assert result.n_candidates == int((counts >= threshold).sum()) == len(result.adapted)


def test_heldout_reveals_k_and_predicts_the_fixed_query_set(trained):
    dataset, split, algo, _ = trained
    user = int(split.test_users[0])
    rec = Recommender(algo, dataset, split)
    r5, r15 = rec.heldout(user, 5), rec.heldout(user, 15)
    assert len(r5.support) == 5 and len(r5.predictions) == split.config.query_size
    assert list(r5.predictions["item"]) == list(dataset.item[split.query_rows(user)])
    assert len(r15.support) == 15 and set(r5.support["item"]) < set(r15.support["item"])
    assert r5.mae == pytest.approx(np.abs(r5.predictions["actual"] - r5.predictions["predicted"]).mean())
    assert r5.truth_corr is not None  # synthetic data has ground truth


def test_suggestions_skip_rated_items_and_prefer_popular_divisive_ones(trained):
    dataset, split, algo, _ = trained
    rec = Recommender(algo, dataset, split)
    first = rec.suggest_items_to_rate(n=5)
    assert first["score"].is_monotonic_decreasing
    rated = {int(first["item"].iloc[0]): 3.0}
    again = rec.suggest_items_to_rate(rated, n=5)
    assert int(first["item"].iloc[0]) not in set(again["item"])


def test_search_items_by_title_genre_and_year():
    dataset = load_dataset("movielens-small")
    hits = search_items(dataset, "toy story")
    assert hits["title"].str.contains("Toy Story").all() and len(hits) >= 2
    comedies = search_items(dataset, genre="Comedy", years=(1990, 1995), limit=20)
    assert comedies["genres"].str.contains("Comedy").all()
    assert comedies["year"].between(1990, 1995).all()
    assert comedies["ratings"].is_monotonic_decreasing


def test_profiles_round_trip_and_refuse_other_dataset(trained, tmp_path):
    dataset, *_ = trained
    ratings = _ratings(dataset)
    path = save_profile(Profile.from_dense("Ada / demo", dataset, ratings), tmp_path)
    assert list_profiles(tmp_path) == [path]
    assert load_profile(path).dense_ratings(dataset) == ratings
    other = load_dataset("synthetic:n_users=100,n_items=90,seed=9")
    with pytest.raises(ProfileError, match="was made on"):
        load_profile(path).dense_ratings(other)
    path.write_text("{not json")
    with pytest.raises(ProfileError, match="not a MetaRec profile"):
        load_profile(path)


def test_evaluate_run_caches_and_refuses_a_foreign_split(trained, monkeypatch):
    dataset, split, _, run = trained
    first = evaluate_run(run, dataset, ks=[2, 5])
    assert set(cached_evaluation(run, dataset, ks=[2, 5, 10])) == {2, 5}
    import core.evaluation as ev

    monkeypatch.setattr(ev, "evaluate", lambda *a, **k: pytest.fail("recomputed a cached K"))
    assert evaluate_run(run, dataset, ks=[2, 5]) == first
    with pytest.raises(ValueError, match="training users"):
        evaluate_run(run, dataset, make_split(dataset, SplitConfig(seed=99)), ks=[5])


def test_jaccard():
    assert jaccard([1, 2, 3], [2, 3, 4]) == pytest.approx(0.5)
    assert jaccard([], []) == 0.0

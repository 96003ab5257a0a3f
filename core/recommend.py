"""A trained algorithm + a new user's few ratings -> adapted scores, top-N, and what changed.

The un-adapted (population) ranking is always computed beside the adapted one, so the effect of
adaptation is visible. Rated items are never recommended.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from .data import RatingsDataset
from .split import ColdStartSplit, train_rows
from .tasks import make_batch, new_user_batch, new_users_batch

ITEM_COLUMNS = ["item", "item_id", "title", "genres", "year"]


@dataclass
class Recommendation:
    """A new user's top-N. Frames: ``adapted`` (item, item_id, title, genres, year, score, rating,
    rank, base_rank, rank_change, because, genre_match) and ``unadapted`` (item, item_id, title,
    genres, year, score, rating, rank). ``score`` is the raw ranking score; ``rating`` the
    predicted rating clamped to the scale (NaN on implicit data)."""

    adapted: pd.DataFrame
    unadapted: pd.DataFrame
    losses: list[float]  # support loss before and after each inner step (empty if none)
    scores: np.ndarray  # adapted score of every item (rated items and non-candidates = -inf)
    base_scores: np.ndarray  # un-adapted score of every item (same -inf)
    n_candidates: int = 0  # items that could be recommended (after the candidate filter)

    @property
    def overlap(self) -> float:
        """Jaccard overlap of the adapted and un-adapted lists (1 = adaptation changed nothing)."""
        return jaccard(list(self.adapted["item"]), list(self.unadapted["item"]))


@dataclass
class HeldoutResult:
    support: pd.DataFrame  # the K revealed ratings: item, item_id, title, rating
    predictions: pd.DataFrame  # the fixed query set: item, item_id, title, actual, predicted, base
    mae: float
    base_mae: float
    truth_corr: float | None  # synthetic data: correlation of predictions with true preference
    base_truth_corr: float | None = None  # the same for the un-adapted predictions


def _item_rows(dataset: RatingsDataset, items: np.ndarray) -> pd.DataFrame:
    table = dataset.items.iloc[items]
    return pd.DataFrame({
        "item": items.astype(np.int64),
        "item_id": table["item_id"].to_numpy(),
        "title": table["title"].to_numpy(),
        "genres": table["genres"].astype(str).str.replace("|", ", ", regex=False).to_numpy(),
        "year": table["year"].to_numpy(),
    })


class Recommender:
    """Adapt a trained algorithm to one user at a time: top-N beside the un-adapted ranking,
    with the rated items that pull each recommendation up."""

    def __init__(self, algorithm, dataset: RatingsDataset, split: ColdStartSplit | None = None):
        self.algorithm = algorithm
        self.dataset = dataset
        self.split = split
        self._all_items = torch.arange(dataset.n_items, device=algorithm.device)[None]

    # ------------------------------------------------------------------ building blocks
    def user_codes(self, user_features: Mapping[str, object] | None) -> np.ndarray:
        """Categorical codes [F] for a new user (0 = unknown for every field not given)."""
        uf = self.dataset.user_features
        width = 0 if uf is None else uf.codes.shape[1]
        if not user_features or width == 0:
            return np.zeros(width, np.int64)
        encode = getattr(self.dataset, "encode_user_features", None)
        if encode is None:
            raise ValueError("this dataset cannot encode user features")
        return np.asarray(encode(dict(user_features)), dtype=np.int64)

    def _batch(self, items: np.ndarray, values: np.ndarray, codes: np.ndarray):
        return new_user_batch(items, values, user_features=codes).to(self.algorithm.device)

    def _scores(self, batch, steps):
        adapted = self.algorithm.adapt(batch, steps=steps)
        with torch.no_grad():
            scores = self.algorithm.score(adapted, batch, self._all_items)[0]
            base = self.algorithm.score(None, batch, self._all_items)[0]
            ratings = self.algorithm.clamp(self.algorithm.predict(adapted, batch, self._all_items))[0]
            base_ratings = self.algorithm.clamp(self.algorithm.predict(None, batch, self._all_items))[0]
        losses = [] if adapted.losses is None else [float(x) for x in adapted.losses[:, 0]]
        out = (scores, base, ratings, base_ratings)
        return tuple(t.double().cpu().numpy() for t in out), losses

    def candidate_counts(self) -> np.ndarray:
        """Interactions per item among training users (all users without a split): what the
        candidate filter counts, never a cold user's ratings."""
        if not hasattr(self, "_counts"):
            rows = train_rows(self.dataset, self.split) if self.split is not None else slice(None)
            self._counts = np.bincount(self.dataset.item[rows], minlength=self.dataset.n_items)
        return self._counts

    # ------------------------------------------------------------------ the list
    def recommend(
        self,
        ratings: Mapping[int, float],
        top: int = 20,
        steps: int | None = None,
        min_ratings: int = 10,
        user_features: Mapping[str, object] | None = None,
        explain: bool = True,
    ) -> Recommendation:
        """Top-``top`` items for a user who rated ``ratings`` (dense item index -> rating).

        Candidates: items not rated, with at least ``min_ratings`` interactions among training
        users (0 = the whole catalogue, as the evaluation protocol ranks); ``n_candidates`` says
        how many there were, so a caller can tell the user when fewer than ``top`` remain.
        ``user_features``: raw values per user field (e.g. {"gender": "F"}); fields not given
        are unknown. Raises ValueError for an item index outside the catalogue."""
        items = np.fromiter(ratings.keys(), dtype=np.int64, count=len(ratings))
        values = np.fromiter(ratings.values(), dtype=np.float32, count=len(ratings))
        if len(items) and (items.min() < 0 or items.max() >= self.dataset.n_items):
            raise ValueError("rated item index outside the catalogue")
        codes = self.user_codes(user_features)
        (scores, base, pred, base_pred), losses = self._scores(self._batch(items, values, codes), steps)
        blocked = np.zeros(self.dataset.n_items, dtype=bool)
        blocked[items] = True
        if min_ratings > 0:
            blocked |= self.candidate_counts() < min_ratings
        scores[blocked] = -np.inf
        base[blocked] = -np.inf
        n_candidates = int((~blocked).sum())
        top = max(0, min(top, n_candidates))
        base_order = np.argsort(-base, kind="stable")
        base_rank = np.empty(self.dataset.n_items, dtype=np.int64)
        base_rank[base_order] = np.arange(1, self.dataset.n_items + 1)
        order = np.argsort(-scores, kind="stable")[:top]
        implicit = bool(getattr(self.dataset, "implicit", False))
        adapted = _item_rows(self.dataset, order)
        adapted["score"] = scores[order]
        adapted["rating"] = np.nan if implicit else pred[order]
        adapted["rank"] = np.arange(1, len(order) + 1)
        adapted["base_rank"] = base_rank[order]
        adapted["rank_change"] = adapted["base_rank"] - adapted["rank"]
        adapted["genre_match"] = self._genre_match(items, values, order)
        adapted["because"] = ""
        if explain and len(items) and len(order):
            pulls = self.contributions(items, values, codes, order, steps)
            liked = self._liked(values)
            adapted["because"] = [self._because(items[liked], pulls[liked, c]) for c in range(len(order))]
        unadapted = _item_rows(self.dataset, base_order[:top])
        unadapted["score"] = base[base_order[:top]]
        unadapted["rating"] = np.nan if implicit else base_pred[base_order[:top]]
        unadapted["rank"] = np.arange(1, len(unadapted) + 1)
        return Recommendation(adapted, unadapted, losses, scores, base, n_candidates)

    # ------------------------------------------------------------------ why
    def contributions(
        self, items: np.ndarray, values: np.ndarray, codes: np.ndarray, targets: np.ndarray,
        steps: int | None = None,
    ) -> np.ndarray:
        """How much each rated item pulls each target's score up [n_rated, n_targets]: the
        adapted score minus the score adapted without that rating (leave-one-out, so it is the
        model's own attribution whatever the algorithm). One batch of n_rated tasks."""
        n = len(items)
        keep = ~np.eye(n, dtype=bool)
        rows = [np.flatnonzero(k) for k in keep]
        batch = new_users_batch([items[r] for r in rows], [values[r] for r in rows], codes)
        batch = batch.to(self.algorithm.device)
        full = self._batch(items, values, codes)
        target = torch.as_tensor(np.asarray(targets, dtype=np.int64), device=self.algorithm.device)
        with torch.no_grad():
            with_all = self.algorithm.score(self.algorithm.adapt(full, steps=steps), full, target[None])
            without = self.algorithm.score(self.algorithm.adapt(batch, steps=steps), batch,
                                           target.expand(n, -1))
        return (with_all - without).double().cpu().numpy()

    def explain(
        self, ratings: Mapping[int, float], item: int, user_features: Mapping[str, object] | None = None,
        steps: int | None = None,
    ) -> list[tuple[int, str, float, float]]:
        """The rated items ordered by how much they pull ``item`` up: (item, title, rating,
        contribution to its score), largest first (negative = pushes it down)."""
        items = np.fromiter(ratings.keys(), dtype=np.int64, count=len(ratings))
        values = np.fromiter(ratings.values(), dtype=np.float32, count=len(ratings))
        if not len(items):
            return []
        pulls = self.contributions(items, values, self.user_codes(user_features), np.array([item]), steps)[:, 0]
        titles = self.dataset.items["title"].to_numpy()
        order = np.argsort(-pulls, kind="stable")
        return [(int(items[j]), str(titles[items[j]]), float(values[j]), float(pulls[j])) for j in order]

    def _because(self, items: np.ndarray, pulls: np.ndarray, n: int = 3) -> str:
        """Titles of the (liked) rated items that pull an item up most, largest first."""
        titles = self.dataset.items["title"].to_numpy()
        order = [j for j in np.argsort(-pulls, kind="stable")[:n] if pulls[j] > 1e-9]
        return "; ".join(str(titles[items[j]]) for j in order)

    def _liked(self, values: np.ndarray) -> np.ndarray:
        """bool per rating: at or above the relevance threshold (every interaction if implicit)."""
        if bool(getattr(self.dataset, "implicit", False)):
            return np.ones(len(values), dtype=bool)
        return values >= self.dataset.scale.relevance_threshold() - 1e-6

    def liked_genres(self, items: np.ndarray, values: np.ndarray) -> set[str]:
        """Genres of the items rated at or above the relevance threshold."""
        liked = items[self._liked(values)]
        genres = self.dataset.items["genres"].astype(str).iloc[liked].str.split("|")
        return {g for gs in genres for g in gs if g and g != "(no genres listed)"}

    def _genre_match(self, items: np.ndarray, values: np.ndarray, order: np.ndarray) -> np.ndarray:
        """Per recommended item: the share of its genres among the user's liked genres."""
        liked = self.liked_genres(items, values)
        genres = self.dataset.items["genres"].astype(str).iloc[order].str.split("|")
        return np.array([len(set(g) & liked) / max(1, len(g)) for g in genres], dtype=float)

    def heldout(self, user: int, k: int, steps: int | None = None) -> HeldoutResult:
        """Reveal K ratings of a cold user (the protocol's nested support) and predict the
        protocol's fixed query set. Raises ValueError without a split."""
        if self.split is None:
            raise ValueError("a split is needed to choose a held-out user's ratings")
        user = int(user)
        if user in self.split.eval_rows:
            k = max(0, min(k, self.split.config.max_support))
            support, hidden = self.split.support_rows(user, k), self.split.query_rows(user)
        else:
            rows = _user_order(self.dataset, self.split, user)
            k = max(0, min(k, len(rows) - 1))
            support, hidden = rows[:k], rows[k:]
        batch = make_batch(self.dataset, np.array([user]), [support], [hidden]).to(self.algorithm.device)
        adapted = self.algorithm.adapt(batch, steps=steps)
        with torch.no_grad():
            pred = self.algorithm.clamp(self.algorithm.predict(adapted, batch, batch.query_items))[0]
            base = self.algorithm.clamp(self.algorithm.predict(None, batch, batch.query_items))[0]
        pred = pred[: len(hidden)].float().cpu().numpy()
        base = base[: len(hidden)].float().cpu().numpy()
        actual = self.dataset.rating[hidden]
        sup = _item_rows(self.dataset, self.dataset.item[support])
        sup["rating"] = self.dataset.rating[support]
        table = _item_rows(self.dataset, self.dataset.item[hidden])
        table["actual"] = actual
        table["predicted"] = pred
        table["base"] = base
        corr = base_corr = None
        if self.dataset.truth is not None and len(hidden) > 2:
            truth = self.dataset.truth[user, self.dataset.item[hidden]]
            corr, base_corr = (float(np.corrcoef(truth, p)[0, 1]) if np.std(p) > 0 else 0.0 for p in (pred, base))
        return HeldoutResult(
            sup, table, float(np.abs(pred - actual).mean()), float(np.abs(base - actual).mean()), corr,
            base_corr,
        )

    def suggest_items_to_rate(
        self, ratings: Mapping[int, float] | None = None, n: int = 20
    ) -> pd.DataFrame:
        """Items worth asking a new user about: known to many and divisive among them.

        Score = log(1 + ratings count) x standard deviation of the item's ratings among
        meta-training users (the 'log popularity x entropy' strategy of Rashid et al., IUI 2002):
        a popular item the user has probably seen, whose rating tells users apart. Items
        already rated are skipped.
        """
        pop, std = self._item_stats()
        score = np.log1p(pop) * std
        if ratings:
            score[np.fromiter(ratings.keys(), dtype=np.int64)] = -np.inf
        order = np.argsort(-score, kind="stable")[:n]
        table = _item_rows(self.dataset, order)
        table["ratings"] = pop[order]
        table["spread"] = std[order]
        table["score"] = score[order]
        return table

    def _item_stats(self) -> tuple[np.ndarray, np.ndarray]:
        if not hasattr(self, "_stats"):
            rows = train_rows(self.dataset, self.split) if self.split is not None else slice(None)
            items, r = self.dataset.item[rows], self.dataset.rating[rows].astype(np.float64)
            n = self.dataset.n_items
            count = np.bincount(items, minlength=n).astype(np.float64)
            mean = np.bincount(items, weights=r, minlength=n) / np.maximum(count, 1)
            sq = np.bincount(items, weights=r * r, minlength=n) / np.maximum(count, 1)
            std = np.sqrt(np.maximum(sq - mean**2, 0.0))
            self._stats = (count, std)
        return self._stats


def _user_order(dataset: RatingsDataset, split: ColdStartSplit, user: int) -> np.ndarray:
    """A cold user's ratings in split order: the support pool first, then everything else."""
    lo, hi = dataset.user_offsets[user], dataset.user_offsets[user + 1]
    q = split.config.query_size
    fixed = split.eval_rows.get(user)
    if fixed is None:
        rng = np.random.default_rng(split.config.seed + user)
        return lo + rng.permutation(hi - lo)
    pool = fixed[q:]
    rest = np.setdiff1d(np.arange(lo, hi), pool, assume_unique=True)
    return np.concatenate([pool, fixed[:q], np.setdiff1d(rest, fixed[:q], assume_unique=True)])


def search_items(
    dataset: RatingsDataset,
    text: str = "",
    genre: str | None = None,
    years: tuple[int, int] | None = None,
    limit: int = 50,
) -> pd.DataFrame:
    """Items whose title contains ``text`` (case-insensitive), optionally of a genre and a year
    range, most rated first."""
    items = dataset.items
    mask = np.ones(len(items), dtype=bool)
    if text.strip():
        mask &= items["title"].str.contains(text.strip(), case=False, regex=False).to_numpy()
    if genre:
        mask &= items["genres"].str.split("|").map(lambda gs: genre in gs).to_numpy(dtype=bool)
    if years is not None:
        year = items["year"].to_numpy(dtype=float)
        mask &= (year >= years[0]) & (year <= years[1])
    idx = np.flatnonzero(mask)
    pop = dataset.ratings_per_item[idx]
    idx = idx[np.argsort(-pop, kind="stable")][:limit]
    table = _item_rows(dataset, idx)
    table["ratings"] = dataset.ratings_per_item[idx]
    return table


def jaccard(a: list[int], b: list[int]) -> float:
    """|A ∩ B| / |A ∪ B| of two recommendation lists (0 when both are empty)."""
    sa, sb = set(a), set(b)
    return len(sa & sb) / len(sa | sb) if sa | sb else 0.0

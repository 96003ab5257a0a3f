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
from .tasks import make_batch, new_user_batch

ITEM_COLUMNS = ["item", "item_id", "title", "genres", "year"]


@dataclass
class Recommendation:
    adapted: pd.DataFrame  # item, item_id, title, genres, year, score, rank, base_rank, rank_change
    unadapted: pd.DataFrame  # item, item_id, title, genres, year, score, rank
    losses: list[float]  # support loss before and after each inner step (empty if none)
    scores: np.ndarray  # adapted score of every item (rated items = -inf)
    base_scores: np.ndarray  # un-adapted score of every item (rated items = -inf)


@dataclass
class HeldoutResult:
    support: pd.DataFrame  # the K revealed ratings: item, item_id, title, rating
    predictions: pd.DataFrame  # the hidden ratings: item, item_id, title, actual, predicted, base
    mae: float
    base_mae: float
    truth_corr: float | None  # synthetic data: correlation of predictions with true preference


def _item_rows(dataset: RatingsDataset, items: np.ndarray) -> pd.DataFrame:
    table = dataset.items.iloc[items]
    return pd.DataFrame({
        "item": items.astype(np.int64),
        "item_id": table["item_id"].to_numpy(),
        "title": table["title"].to_numpy(),
        "genres": table["genres"].str.replace("|", ", ", regex=False).to_numpy(),
        "year": table["year"].to_numpy(),
    })


class Recommender:
    """Adapt a trained algorithm to one user at a time."""

    def __init__(self, algorithm, dataset: RatingsDataset, split: ColdStartSplit | None = None):
        self.algorithm = algorithm
        self.dataset = dataset
        self.split = split
        self._all_items = torch.arange(dataset.n_items, device=algorithm.device)[None]

    def _scores(self, batch, steps):
        adapted = self.algorithm.adapt(batch, steps=steps)
        with torch.no_grad():
            adapted_scores = self.algorithm.predict(adapted, batch, self._all_items)[0]
            base_scores = self.algorithm.predict(None, batch, self._all_items)[0]
        losses = [] if adapted.losses is None else [float(x) for x in adapted.losses[:, 0]]
        return adapted_scores.float().cpu().numpy(), base_scores.float().cpu().numpy(), losses

    def recommend(
        self,
        ratings: Mapping[int, float],
        top: int = 20,
        steps: int | None = None,
        min_ratings: int = 10,
    ) -> Recommendation:
        """Top-``top`` items for a user who rated ``ratings`` (dense item index -> rating).

        Only items with at least ``min_ratings`` ratings in the dataset are candidates: an item
        seen twice has an unreliable bias and features-only description, and would otherwise
        top lists on noise (0 = the whole catalogue, as the evaluation protocol ranks)."""
        items = np.fromiter(ratings.keys(), dtype=np.int64, count=len(ratings))
        values = np.fromiter(ratings.values(), dtype=np.float32, count=len(ratings))
        if len(items) and (items.min() < 0 or items.max() >= self.dataset.n_items):
            raise ValueError("rated item index outside the catalogue")
        batch = new_user_batch(items, values).to(self.algorithm.device)
        scores, base, losses = self._scores(batch, steps)
        scores[items] = -np.inf
        base[items] = -np.inf
        if min_ratings > 0:
            rare = self.dataset.ratings_per_item < min_ratings
            scores[rare] = -np.inf
            base[rare] = -np.inf
        n_candidates = int(np.isfinite(scores).sum())
        top = max(0, min(top, n_candidates))
        base_order = np.argsort(-base, kind="stable")
        base_rank = np.empty(self.dataset.n_items, dtype=np.int64)
        base_rank[base_order] = np.arange(1, self.dataset.n_items + 1)
        order = np.argsort(-scores, kind="stable")[:top]
        clamp = self.algorithm.scale
        adapted = _item_rows(self.dataset, order)
        adapted["score"] = np.clip(scores[order], clamp.min, clamp.max)
        adapted["rank"] = np.arange(1, len(order) + 1)
        adapted["base_rank"] = base_rank[order]
        adapted["rank_change"] = adapted["base_rank"] - adapted["rank"]
        unadapted = _item_rows(self.dataset, base_order[:top])
        unadapted["score"] = np.clip(base[base_order[:top]], clamp.min, clamp.max)
        unadapted["rank"] = np.arange(1, len(unadapted) + 1)
        return Recommendation(adapted, unadapted, losses, scores, base)

    def heldout(self, user: int, k: int, steps: int | None = None) -> HeldoutResult:
        """Reveal K ratings of a cold user (split order) and predict all the others."""
        if self.split is None:
            raise ValueError("a split is needed to choose a held-out user's ratings")
        user = int(user)
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
        corr = None
        if self.dataset.truth is not None and len(hidden) > 2:
            truth = self.dataset.truth[user, self.dataset.item[hidden]]
            corr = float(np.corrcoef(truth, pred)[0, 1]) if np.std(pred) > 0 else 0.0
        return HeldoutResult(
            sup, table, float(np.abs(pred - actual).mean()), float(np.abs(base - actual).mean()), corr
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

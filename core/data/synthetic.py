"""Synthetic ratings with a known ground truth, to check that a method recovers real structure.

Users belong to taste clusters (a preference vector over genres); each user is the cluster's
vector plus personal variation and a bias. The true, continuous preference of every user for
every item is kept in ``dataset.truth``, so evaluation can compare predictions with the truth
and not only with noisy, rounded observed ratings. Which items a user rates is skewed towards
popular items (and, mildly, towards items the user likes), as in real data.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from .build import build_dataset
from .dataset import RatingScale, RatingsDataset
from .errors import DatasetError

GENRE_NAMES = [
    "Action", "Comedy", "Drama", "Romance", "Sci-Fi", "Thriller", "Horror", "Documentary",
    "Animation", "Fantasy", "Crime", "Adventure", "Mystery", "Western", "Musical", "War",
    "Family", "History", "Sport", "Music",
]  # fmt: skip
_ADJECTIVES = [
    "Silent", "Crimson", "Last", "Hidden", "Golden", "Broken", "Distant", "Electric", "Frozen",
    "Wild", "Secret", "Lonely", "Burning", "Midnight", "Endless", "Paper", "Iron", "Lost",
    "Bright", "Savage", "Quiet", "Hollow", "Velvet", "Northern",
]  # fmt: skip
_NOUNS = [
    "River", "Kingdom", "Promise", "Harbor", "Machine", "Garden", "Voyage", "Empire", "Signal",
    "Winter", "Mirror", "Frontier", "Orchard", "Detective", "Symphony", "Island", "Station",
    "Letter", "Storm", "Carnival", "Horizon", "Lantern", "Citadel", "Echo",
]  # fmt: skip


MAX_TRUTH_CELLS = 100_000_000  # users x items: the float32 truth matrix is kept in memory


@dataclass
class SyntheticConfig:
    """Size, structure and noise of a synthetic dataset. The same config gives the same data.

    ``noise`` is the standard deviation of the rating noise in stars of a 1-5 scale (it is scaled
    with the span of other scales). ``personal`` is how far a user's taste strays from their
    cluster's. ``cluster_as_feature`` exposes the cluster as a user feature: off by default,
    because a feature that names the taste group makes cold start trivially easy.
    """

    n_users: int = 600
    n_items: int = 800
    n_genres: int = 12
    n_clusters: int = 4
    ratings_per_user: tuple[int, int] = (20, 120)
    scale: RatingScale = RatingScale(1.0, 5.0, 1.0)
    noise: float = 0.4
    seed: int = 0
    personal: float = 0.5
    cluster_as_feature: bool = False

    def validate(self) -> None:
        """Raise :class:`DatasetError` for settings that cannot produce a dataset."""
        lo, hi = self.ratings_per_user
        problems = []
        if self.n_users < 1 or self.n_items < 1:
            problems.append("n_users and n_items must be at least 1")
        if self.n_genres < 1 or self.n_clusters < 1:
            problems.append("n_genres and n_clusters must be at least 1")
        if not 1 <= lo <= hi:
            problems.append(f"ratings_per_user must be a range 1 <= min <= max, not {lo}-{hi}")
        if self.scale.max <= self.scale.min or self.scale.step < 0:
            problems.append(f"invalid rating scale {self.scale}")
        if self.noise < 0 or self.personal < 0:
            problems.append("noise and personal must not be negative")
        if self.n_users * self.n_items > MAX_TRUTH_CELLS:
            problems.append(
                f"{self.n_users:,} users x {self.n_items:,} items is too large for the ground-truth "
                f"matrix (at most {MAX_TRUTH_CELLS:,} cells, {MAX_TRUTH_CELLS * 4 / 1e9:.1f} GB)"
            )
        if problems:
            raise DatasetError("invalid synthetic settings: " + "; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ratings_per_user"] = list(self.ratings_per_user)
        out["scale"] = self.scale.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SyntheticConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise DatasetError(f"unknown synthetic setting(s): {', '.join(sorted(unknown))}")
        data = dict(data)
        if "ratings_per_user" in data:
            lo, hi = data["ratings_per_user"]
            data["ratings_per_user"] = (int(lo), int(hi))
        if isinstance(data.get("scale"), dict):
            data["scale"] = RatingScale(**data["scale"])
        return cls(**data)


def _titles(rng: np.random.Generator, n: int) -> list[str]:
    adjectives = rng.choice(_ADJECTIVES, n)
    nouns = rng.choice(_NOUNS, n)
    seen: dict[str, int] = {}
    out = []
    for a, b in zip(adjectives, nouns, strict=True):
        base = f"The {a} {b}"
        seen[base] = seen.get(base, 0) + 1
        out.append(base if seen[base] == 1 else f"{base} {seen[base]}")
    return out


def make_synthetic(config: SyntheticConfig | None = None) -> RatingsDataset:
    """Generate a dataset with clustered tastes and its true preference matrix (``truth``)."""
    cfg = config or SyntheticConfig()
    cfg.validate()
    rng = np.random.default_rng(cfg.seed)
    n_users, n_items, n_genres = cfg.n_users, cfg.n_items, cfg.n_genres
    scale = cfg.scale

    # Items: 1-3 genres each, a year, a quality bias.
    n_of = np.minimum(rng.integers(1, 4, n_items), n_genres)
    order = np.argsort(rng.random((n_items, n_genres)), axis=1)
    member = np.zeros((n_items, n_genres), dtype=np.float64)
    rows, cols = np.nonzero(np.arange(n_genres)[None, :] < n_of[:, None])
    member[rows, order[rows, cols]] = 1.0
    year = rng.integers(1950, 2021, n_items)
    item_bias = rng.normal(0.0, 0.3, n_items)

    # Users: a cluster's taste over genres + personal variation + a bias.
    centers = rng.normal(0.0, 1.0, (cfg.n_clusters, n_genres))
    cluster = rng.integers(0, cfg.n_clusters, n_users)
    taste = centers[cluster] + cfg.personal * rng.normal(0.0, 1.0, (n_users, n_genres))
    user_bias = rng.normal(0.0, 0.3, n_users)

    # Which items each user rates: popularity (power law) and a mild pull towards liked items.
    lo, hi = min(cfg.ratings_per_user[0], n_items), min(cfg.ratings_per_user[1], n_items)
    counts = np.floor(np.exp(rng.uniform(np.log(lo), np.log(hi + 1), n_users))).astype(np.int64)
    counts = np.clip(counts, lo, hi)
    popularity = np.log(np.arange(1, n_items + 1, dtype=np.float64) ** -0.8)[
        rng.permutation(n_items)
    ]
    # The true preference on the scale (continuous, before noise and rounding), computed a block
    # of users at a time so that only the float32 result is ever held for all users.
    genre_share = (member / member.sum(axis=1, keepdims=True)).T
    truth = np.empty((n_users, n_items), dtype=np.float32)
    user_parts, item_parts, truth_parts = [], [], []
    chunk = max(1, 4_000_000 // n_items)
    for start in range(0, n_users, chunk):
        stop = min(n_users, start + chunk)
        z = taste[start:stop] @ genre_share + user_bias[start:stop, None] + item_bias[None, :]
        block = scale.min + scale.span / (1.0 + np.exp(-(1.2 * z + 0.4)))
        truth[start:stop] = block
        keys = popularity[None, :] + 0.5 * z + rng.gumbel(size=(stop - start, n_items))
        ranked = np.argsort(-keys, axis=1)
        take = np.arange(n_items)[None, :] < counts[start:stop, None]
        r, c = np.nonzero(take)
        user_parts.append(r + start)
        item_parts.append(ranked[r, c])
        truth_parts.append(block[r, ranked[r, c]])
    users = np.concatenate(user_parts)
    items = np.concatenate(item_parts)

    sd = cfg.noise * scale.span / 4.0
    observed = np.concatenate(truth_parts) + rng.normal(0.0, sd, len(users))
    if scale.step > 0:
        observed = scale.min + np.round((observed - scale.min) / scale.step) * scale.step
    observed = np.clip(observed, scale.min, scale.max)
    start_time = rng.integers(1_420_070_400, 1_577_836_800, n_users)  # 2015..2020
    timestamp = start_time[users] + rng.integers(0, 30_000_000, len(users))

    ratings = pd.DataFrame(
        {
            "user": (users + 1).astype(np.int32),
            "item": (items + 1).astype(np.int32),
            "rating": observed.astype(np.float32),
            "timestamp": timestamp.astype(np.int64),
        }
    )
    genre_names = GENRE_NAMES[:n_genres] + [
        f"Genre {i + 1}" for i in range(len(GENRE_NAMES), n_genres)
    ]
    names = np.array(genre_names, dtype=object)
    item_table = pd.DataFrame(
        {
            "item_id": np.arange(1, n_items + 1),
            "title": _titles(rng, n_items),
            "genres": ["|".join(names[row.astype(bool)]) for row in member],
            "year": year.astype(np.float64),
        }
    )
    user_table = pd.DataFrame({"user_id": np.arange(1, n_users + 1), "cluster": cluster})
    # Dense order: the rated items by raw id (= generation order), then the items nobody rated
    # (kept in the catalogue, as for any item table), so the truth's columns follow that order.
    rated_items = np.unique(items)
    order = np.concatenate([rated_items, np.setdiff1d(np.arange(n_items), rated_items)])
    dataset = build_dataset(
        ratings,
        name=f"Synthetic ({n_users} users, {n_items} items, seed {cfg.seed})",
        source="synthetic",
        items=item_table,
        users=user_table,
        scale=scale,
        header_lines=0,
        truth=truth if len(rated_items) == n_items else truth[:, order],
    )
    if not cfg.cluster_as_feature:
        dataset.user_features = None
    return dataset

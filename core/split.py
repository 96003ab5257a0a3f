"""Cold-start split: users (not ratings) are divided into meta-train / validation / test.

Validation and test users are *cold*: none of their ratings reaches meta-training. For each of
them a seeded permutation of their ratings fixes a query set (the first ``query_size``) and a
nested pool of support ratings (K-shot support = the next K), so K = 5 is a subset of K = 10 and
every algorithm sees exactly the same support and query items.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp

from .data import RatingsDataset


@dataclass(frozen=True)
class SplitConfig:
    """How users are split (PROTOCOL.md defaults)."""

    val_fraction: float = 0.1
    test_fraction: float = 0.1
    query_size: int = 10
    max_support: int = 20
    min_ratings: int | None = None
    max_ratings: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.val_fraction < 1 or not 0 <= self.test_fraction < 1:
            raise ValueError("val_fraction and test_fraction must be in [0, 1)")
        if self.val_fraction + self.test_fraction >= 1:
            raise ValueError("val_fraction + test_fraction must leave some training users")
        if self.query_size < 1 or self.max_support < 1:
            raise ValueError("query_size and max_support must be at least 1")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ColdStartSplit:
    """Dense user ids per role, and for cold users their fixed query and support rows."""

    config: SplitConfig
    train_users: np.ndarray  # int64, sorted
    val_users: np.ndarray
    test_users: np.ndarray
    excluded_users: np.ndarray  # outside min/max ratings
    eval_rows: dict[int, np.ndarray]  # cold user -> rating rows [query..., support pool...]

    def users(self, role: str) -> np.ndarray:
        return {"train": self.train_users, "val": self.val_users, "test": self.test_users}[role]

    def query_rows(self, user: int) -> np.ndarray:
        return self.eval_rows[int(user)][: self.config.query_size]

    def support_rows(self, user: int, k: int) -> np.ndarray:
        q = self.config.query_size
        return self.eval_rows[int(user)][q : q + k]

    def role_of(self, user: int) -> str:
        for role in ("train", "val", "test"):
            arr = self.users(role)
            i = np.searchsorted(arr, user)
            if i < len(arr) and arr[i] == user:
                return role
        return "excluded"

    def counts(self, dataset: RatingsDataset) -> dict[str, dict[str, int]]:
        per_user = dataset.ratings_per_user
        return {
            role: {"users": int(len(u)), "ratings": int(per_user[u].sum())}
            for role, u in (
                ("train", self.train_users),
                ("val", self.val_users),
                ("test", self.test_users),
                ("excluded", self.excluded_users),
            )
        }


def train_rows(dataset: RatingsDataset, split: ColdStartSplit) -> np.ndarray:
    """Rating rows of meta-training users only: what baselines and pretraining may fit on."""
    offsets = dataset.user_offsets
    users = split.train_users
    lengths = offsets[users + 1] - offsets[users]
    starts = np.repeat(offsets[users], lengths)
    within = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return (starts + within).astype(np.int64)


def interaction_matrix(dataset: RatingsDataset, rows: np.ndarray) -> sp.csr_matrix:
    """Binary ``n_users x n_items`` CSR matrix (float32) of the given rating rows (e.g.
    ``train_rows``): 1 where the user rated or interacted with the item, whatever the rating."""
    x = sp.csr_matrix(
        (np.ones(len(rows), np.float32), (dataset.user[rows], dataset.item[rows])),
        shape=(dataset.n_users, dataset.n_items),
    )
    x.data[:] = 1.0  # repeated interactions count once
    return x


def make_split(dataset: RatingsDataset, config: SplitConfig | None = None) -> ColdStartSplit:
    """Split users by seed. Cold users need ``query_size + max_support`` ratings so that every K
    up to ``max_support`` is evaluated on the same users; lighter users always train."""
    config = config or SplitConfig()
    rng = np.random.default_rng(config.seed)
    n = dataset.ratings_per_user
    users = np.arange(dataset.n_users)
    keep = np.ones(len(users), dtype=bool)
    if config.min_ratings is not None:
        keep &= n >= config.min_ratings
    if config.max_ratings is not None:
        keep &= n <= config.max_ratings
    excluded = users[~keep]
    active = users[keep]

    eligible = active[n[active] >= config.query_size + config.max_support]
    eligible = rng.permutation(eligible)
    n_test = int(round(config.test_fraction * len(active)))
    n_val = int(round(config.val_fraction * len(active)))
    if n_test + n_val > len(eligible):
        scale = len(eligible) / max(1, n_test + n_val)
        n_test, n_val = int(n_test * scale), int(n_val * scale)
    test = np.sort(eligible[:n_test])
    val = np.sort(eligible[n_test : n_test + n_val])
    cold = np.zeros(dataset.n_users, dtype=bool)
    cold[test] = cold[val] = True
    train = np.sort(active[~cold[active]])

    width = config.query_size + config.max_support
    offsets = dataset.user_offsets
    eval_rows = {}
    for u in np.concatenate([val, test]):
        lo, hi = offsets[u], offsets[u + 1]
        eval_rows[int(u)] = (lo + rng.permutation(hi - lo)[:width]).astype(np.int64)
    return ColdStartSplit(config, train.astype(np.int64), val.astype(np.int64),
                          test.astype(np.int64), excluded.astype(np.int64), eval_rows)

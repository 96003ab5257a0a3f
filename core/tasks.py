"""Tasks: each user is a task; a TaskBatch is a padded tensor batch of users for vectorized
meta-training (vmap over the batch dimension).

Item side information (genres, year bucket) is not copied into every batch: it lives once per
device in :class:`FeatureTables`, and models look it up by item index. Sampling streams from the
dataset's per-user index arrays, so memory does not grow with the number of tasks.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields

import numpy as np
import torch

from .data import RatingsDataset
from .split import ColdStartSplit


@dataclass
class TaskBatch:
    """A batch of B tasks; padded positions have mask False (and item 0, rating 0)."""

    users: torch.Tensor  # long [B]; dense user id, -1 for a new user
    user_features: torch.Tensor  # long [B, F] categorical codes (0 = unknown); F may be 0
    support_items: torch.Tensor  # long [B, S]
    support_ratings: torch.Tensor  # float [B, S]
    support_mask: torch.Tensor  # bool [B, S]
    query_items: torch.Tensor  # long [B, Q]
    query_ratings: torch.Tensor  # float [B, Q]
    query_mask: torch.Tensor  # bool [B, Q]

    def __len__(self) -> int:
        return int(self.users.shape[0])

    def to(self, device: torch.device | str, dtype: torch.dtype | None = None) -> TaskBatch:
        out = {}
        for f in fields(self):
            t = getattr(self, f.name)
            if dtype is not None and t.is_floating_point():
                t = t.to(dtype)
            out[f.name] = t.to(device)
        return TaskBatch(**out)

    def select(self, index: slice | torch.Tensor) -> TaskBatch:
        """A sub-batch (used to shard a meta-batch across distributed ranks)."""
        return TaskBatch(**{f.name: getattr(self, f.name)[index] for f in fields(self)})


@dataclass
class FeatureTables:
    """Per-item and per-user feature indices, once per device, looked up by the models."""

    genres: torch.Tensor  # long [n_items, G], genre id + 1, 0 = padding
    year_bucket: torch.Tensor  # long [n_items]
    n_genres: int
    n_year_buckets: int
    user_codes: torch.Tensor  # long [n_users, F]
    user_cardinalities: list[int]
    n_items: int
    n_users: int

    @classmethod
    def from_dataset(cls, dataset: RatingsDataset, device: torch.device | str = "cpu") -> FeatureTables:
        feats = dataset.item_features
        uf = dataset.user_features
        codes = (
            torch.as_tensor(uf.codes, dtype=torch.long)
            if uf is not None
            else torch.zeros(dataset.n_users, 0, dtype=torch.long)
        )
        return cls(
            genres=torch.as_tensor(feats.padded_genres(), device=device),
            year_bucket=torch.as_tensor(feats.year_bucket, device=device),
            n_genres=feats.n_genres,
            n_year_buckets=feats.n_year_buckets,
            user_codes=codes.to(device),
            user_cardinalities=uf.cardinalities if uf is not None else [],
            n_items=dataset.n_items,
            n_users=dataset.n_users,
        )


def _pad(rows: Sequence[np.ndarray], width: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    out = np.zeros((len(rows), width), dtype=dtype)
    mask = np.zeros((len(rows), width), dtype=bool)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
        mask[i, : len(r)] = True
    return out, mask


def make_batch(
    dataset: RatingsDataset,
    users: np.ndarray,
    support_rows: Sequence[np.ndarray],
    query_rows: Sequence[np.ndarray],
    support_width: int | None = None,
    query_width: int | None = None,
) -> TaskBatch:
    """Assemble a TaskBatch from per-user rating row indices (CPU tensors)."""
    sw = support_width or max(1, max((len(r) for r in support_rows), default=1))
    qw = query_width or max(1, max((len(r) for r in query_rows), default=1))
    s_rows, s_mask = _pad(support_rows, sw, np.int64)
    q_rows, q_mask = _pad(query_rows, qw, np.int64)
    uf = dataset.user_features
    users = np.asarray(users, dtype=np.int64)
    if uf is not None:
        codes = np.where((users >= 0)[:, None], uf.codes[np.clip(users, 0, None)], 0)
    else:
        codes = np.zeros((len(users), 0), dtype=np.int64)
    return TaskBatch(
        users=torch.as_tensor(users),
        user_features=torch.as_tensor(codes, dtype=torch.long),
        support_items=torch.as_tensor(np.where(s_mask, dataset.item[s_rows], 0).astype(np.int64)),
        support_ratings=torch.as_tensor(np.where(s_mask, dataset.rating[s_rows], 0).astype(np.float32)),
        support_mask=torch.as_tensor(s_mask),
        query_items=torch.as_tensor(np.where(q_mask, dataset.item[q_rows], 0).astype(np.int64)),
        query_ratings=torch.as_tensor(np.where(q_mask, dataset.rating[q_rows], 0).astype(np.float32)),
        query_mask=torch.as_tensor(q_mask),
    )


def new_users_batch(
    items: Sequence[np.ndarray],
    ratings: Sequence[np.ndarray],
    user_features: np.ndarray | None = None,
    query_items: Sequence[np.ndarray] | None = None,
) -> TaskBatch:
    """A batch of new users, one task per list of dense item indices and ratings (support), all
    with the same user-feature codes [F] (none: no feature columns), optional query items per
    task (query ratings are zeros: there is nothing to compare against)."""
    n = len(items)
    s_items, s_mask = _pad([np.asarray(i, np.int64) for i in items], max(1, max(map(len, items), default=1)), np.int64)
    s_r, _ = _pad([np.asarray(r, np.float32) for r in ratings], s_items.shape[1], np.float32)
    queries = [np.asarray(q, np.int64) for q in query_items] if query_items is not None else [np.zeros(0, np.int64)] * n
    q_items, q_mask = _pad(queries, max(1, max(map(len, queries), default=1)), np.int64)
    codes = np.zeros((n, 0), np.int64) if user_features is None else np.tile(np.asarray(user_features), (n, 1))
    return TaskBatch(
        users=torch.full((n,), -1),
        user_features=torch.as_tensor(codes, dtype=torch.long),
        support_items=torch.as_tensor(s_items),
        support_ratings=torch.as_tensor(s_r),
        support_mask=torch.as_tensor(s_mask),
        query_items=torch.as_tensor(q_items),
        query_ratings=torch.zeros(q_items.shape, dtype=torch.float32),
        query_mask=torch.as_tensor(q_mask),
    )


def new_user_batch(
    items: np.ndarray,
    ratings: np.ndarray,
    query_items: np.ndarray | None = None,
    user_features: np.ndarray | None = None,
) -> TaskBatch:
    """A one-task batch for a new user given dense item indices and ratings."""
    queries = None if query_items is None else [query_items]
    return new_users_batch([items], [ratings], user_features, queries)


class TaskSampler:
    """Batches of training tasks (random support/query per visit) and fixed cold-user batches.

    Training support sizes are drawn uniformly from ``[support_min, support_size]`` per task so a
    meta-learner is trained for the range of K it is evaluated on.
    """

    def __init__(
        self,
        dataset: RatingsDataset,
        split: ColdStartSplit,
        *,
        batch_size: int = 32,
        support_size: int = 20,
        support_min: int | None = 5,
        query_size: int = 10,
        seed: int = 0,
        device: torch.device | str = "cpu",
    ) -> None:
        self.dataset = dataset
        self.split = split
        self.batch_size = batch_size
        self.support_size = support_size
        self.support_min = support_min if support_min is not None else support_size
        self.query_size = query_size
        self.device = torch.device(device)
        self.rng = np.random.default_rng(seed)

    @property
    def steps_per_epoch(self) -> int:
        return max(1, -(-len(self.split.train_users) // self.batch_size))

    def sample(self, users: np.ndarray) -> TaskBatch:
        """Random support/query sets for the given training users."""
        offsets = self.dataset.user_offsets
        s_rows, q_rows = [], []
        for u in users:
            lo, hi = offsets[u], offsets[u + 1]
            n = int(hi - lo)
            s_want = int(self.rng.integers(self.support_min, self.support_size + 1))
            q = min(self.query_size, n // 2)
            s = min(s_want, n - q)
            take = lo + self.rng.permutation(n)[: s + q]
            s_rows.append(take[:s])
            q_rows.append(take[s:])
        batch = make_batch(self.dataset, users, s_rows, q_rows, self.support_size, self.query_size)
        return batch.to(self.device)

    def epoch(self) -> Iterator[TaskBatch]:
        """One pass over the training users in shuffled batches: each user is one task."""
        users = self.rng.permutation(self.split.train_users)
        for start in range(0, len(users), self.batch_size):
            yield self.sample(users[start : start + self.batch_size])

    def eval_batch(self, role: str, k: int, users: np.ndarray | None = None) -> TaskBatch:
        """Fixed K-shot support and query sets of validation or test users."""
        users = self.split.users(role) if users is None else np.asarray(users)
        s_rows = [self.split.support_rows(u, k) for u in users]
        q_rows = [self.split.query_rows(u) for u in users]
        batch = make_batch(self.dataset, users, s_rows, q_rows, max(1, k), self.split.config.query_size)
        return batch.to(self.device)

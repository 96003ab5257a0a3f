"""Strong non-meta top-N baselines: popularity, EASE^R and item-kNN.

Each is fitted on the meta-training users' interactions only (sparse ``users x items`` matrix,
never dense) and scores a new user from the support alone. Their rating prediction (for MAE)
is the item-bias predictor, so every table has a number in every column.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..data import RatingsDataset
from ..split import interaction_matrix
from ..tasks import FeatureTables, TaskBatch
from .base import Adapted, AlgorithmConfig, param
from .baselines import ClosedFormBaseline
from .model_algorithm import bias_statistics


def support_vectors(batch: TaskBatch, n_items: int, dtype: torch.dtype) -> torch.Tensor:
    """[B, n_items] 0/1 rows: the support items of each task."""
    out = torch.zeros(len(batch), n_items, dtype=dtype, device=batch.support_items.device)
    out.scatter_(1, batch.support_items, batch.support_mask.to(dtype))
    return out


class TopNBaseline(ClosedFormBaseline):
    """Fitted statistics: ``mu``, ``item_bias`` (rating head) and ``pop`` = log(1 + training
    interactions) per item, the tie-breaker of every baseline's ranking."""

    ITEM_SHRINKAGE = 3.0

    def __init__(
        self, config: AlgorithmConfig, dataset: RatingsDataset, features: FeatureTables, device: torch.device
    ) -> None:
        super().__init__(config, dataset, features, device)
        self._store(pop=np.zeros(dataset.n_items))

    def fit(self, train_rows: np.ndarray, split=None) -> None:
        mu, item_bias = bias_statistics(self.dataset, train_rows, self.ITEM_SHRINKAGE)
        counts = np.bincount(self.dataset.item[train_rows], minlength=self.dataset.n_items)
        self._store(mu=np.asarray(mu), item_bias=item_bias, pop=np.log1p(counts))

    def popularity(self, items: torch.Tensor) -> torch.Tensor:
        return self.stats["pop"][items]


# ------------------------------------------------------------------------------- popularity
@dataclass
class PopularityConfig(AlgorithmConfig):
    pass


class Popularity(TopNBaseline):
    name = "popularity"
    title = "Popularity"
    description = (
        "Recommends the items the most meta-training users interacted with, the same list for "
        "everybody (minus what the user rated). The floor every personalised ranking must beat."
    )
    Config = PopularityConfig

    def score(self, adapted: Adapted | None, batch: TaskBatch, items: torch.Tensor) -> torch.Tensor:
        return self.popularity(items)


# ------------------------------------------------------------------------------- EASE^R
@dataclass
class EASEConfig(AlgorithmConfig):
    l2: float = param(0.0, "L2 penalty lambda; 0 = choose on validation users from "
                      "100..10000 (Recall@20 at K = 10)", low=0.0, high=1e6)
    min_count: int = param(3, "Items need this many training interactions to enter the item "
                           "matrix (rarer items are ranked by popularity below them)", low=1, high=1000)
    max_items: int = param(4000, "At most this many (most interacted) items in the dense item "
                           "matrix: memory is max_items^2 x 4 bytes", low=10, high=20000)


class EASE(TopNBaseline):
    """EASE^R (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019): the
    item-item matrix ``B = I - P diag(1 / diag(P))``, ``P = (X^T X + lambda I)^-1`` on the binary
    training matrix X, zero diagonal; a user with support vector x scores ``x B``."""

    name = "ease"
    title = "EASE^R"
    description = (
        "EASE^R (Steck, 2019): a closed-form item-item linear model on the binarised training "
        "matrix, B = I - P / diag(P) with P = (X'X + lambda I)^-1; a new user's scores are their "
        "support items' rows of B summed. Lambda is chosen on validation users. A strong top-N "
        "baseline that is hard to beat."
    )
    Config = EASEConfig
    LAMBDAS = (100.0, 300.0, 1000.0, 3000.0, 10000.0)

    def __init__(
        self, config: EASEConfig, dataset: RatingsDataset, features: FeatureTables, device: torch.device
    ) -> None:
        super().__init__(config, dataset, features, device)
        self._store(kept=np.zeros(0), B=np.zeros((0, 0)), l2=np.asarray(config.l2))

    def fit(self, train_rows: np.ndarray, split=None) -> None:
        super().fit(train_rows, split)
        x = interaction_matrix(self.dataset, train_rows)
        counts = np.asarray(x.sum(0)).ravel()
        order = np.argsort(-counts, kind="stable")[: self.config.max_items]
        kept = np.sort(order[counts[order] >= self.config.min_count])
        xs = x[:, kept]
        gram = torch.as_tensor((xs.T @ xs).toarray(), dtype=torch.float64)
        self._store(kept=kept.astype(np.int64))
        if self.config.l2 > 0 or split is None or len(split.val_users) == 0:
            l2 = self.config.l2 or 500.0
            self._store(B=_ease_matrix(gram, l2), l2=np.asarray(l2))
            return
        # Choose lambda on validation users: one eigendecomposition serves every lambda.
        evals, evecs = torch.linalg.eigh(gram)
        best = (-1.0, None, 0.0)
        for l2 in self.LAMBDAS:
            p = (evecs / (evals + l2)) @ evecs.T
            self._store(B=_ease_from_inverse(p), l2=np.asarray(l2))
            recall = _validation_recall(self, split)
            if recall > best[0]:
                best = (recall, self.stats["B"], l2)
        self.stats["B"] = best[1]
        self._store(l2=np.asarray(best[2]))

    def score(self, adapted: Adapted | None, batch: TaskBatch, items: torch.Tensor) -> torch.Tensor:
        pop = self.popularity(items)
        if adapted is None:
            return pop
        kept = self.stats["kept"].long()
        x = support_vectors(batch, self.dataset.n_items, self.stats["B"].dtype)[:, kept]
        full = torch.full((len(batch), self.dataset.n_items), -1e9, dtype=x.dtype, device=x.device)
        full[:, kept] = x @ self.stats["B"]
        # Items outside the matrix rank below every kept item, by popularity.
        return full.gather(1, items) + 1e-6 * pop


def _ease_from_inverse(p: torch.Tensor) -> torch.Tensor:
    b = -p / torch.diagonal(p).unsqueeze(0)
    b.fill_diagonal_(0.0)
    return b.to(torch.float32)


def _ease_matrix(gram: torch.Tensor, l2: float) -> torch.Tensor:
    g = gram.clone()
    g.diagonal().add_(l2)
    return _ease_from_inverse(torch.linalg.inv(g))


def _validation_recall(algorithm: TopNBaseline, split, k: int = 10) -> float:
    from ..evaluation import evaluate

    k = min(k, split.config.max_support)
    return evaluate(algorithm, algorithm.dataset, split, "val", [k])[k]["recall20"]


# ------------------------------------------------------------------------------- item-kNN
@dataclass
class ItemKNNConfig(AlgorithmConfig):
    neighbours: int = param(100, "Most similar items kept per item", low=1, high=2000)
    shrink: float = param(10.0, "Shrinkage of the cosine similarity towards 0 for items with "
                          "few co-occurrences: |co| / (norm_i norm_j + shrink)", low=0.0, high=1e4)


class ItemKNN(TopNBaseline):
    """Item-based k-nearest neighbours (Sarwar et al., WWW 2001; Deshpande & Karypis, TOIS
    2004): cosine similarity of items' binary training columns, the ``neighbours`` most similar
    kept per item; a user's score for item i is the sum of its similarities to the support."""

    name = "itemknn"
    title = "Item-kNN (cosine)"
    description = (
        "Item-based nearest neighbours: items are similar when the same training users "
        "interacted with both (cosine of their columns, shrunk for rare pairs). A new user's "
        "score for an item is its summed similarity to the items in their support set."
    )
    Config = ItemKNNConfig

    def __init__(
        self, config: ItemKNNConfig, dataset: RatingsDataset, features: FeatureTables, device: torch.device
    ) -> None:
        super().__init__(config, dataset, features, device)
        k = min(config.neighbours, max(1, dataset.n_items - 1))
        self._store(nbr_index=np.zeros((dataset.n_items, k)), nbr_sim=np.zeros((dataset.n_items, k)))

    def fit(self, train_rows: np.ndarray, split=None, block: int = 1024) -> None:
        super().fit(train_rows, split)
        x = interaction_matrix(self.dataset, train_rows).tocsc()
        norms = np.sqrt(np.asarray(x.sum(0)).ravel())
        n, k = self.dataset.n_items, self.stats["nbr_index"].shape[1]
        index = np.zeros((n, k), np.int64)
        sims = np.zeros((n, k), np.float32)
        xt = x.T.tocsr()
        for start in range(0, n, block):  # co-occurrence one block of items at a time
            stop = min(n, start + block)
            co = (xt[start:stop] @ x).toarray()  # [block, n_items]
            co /= np.outer(norms[start:stop], norms) + self.config.shrink + 1e-12
            co[np.arange(stop - start), np.arange(start, stop)] = 0.0
            top = np.argpartition(-co, k - 1, axis=1)[:, :k] if k < n else np.argsort(-co, axis=1)[:, :k]
            index[start:stop] = top
            sims[start:stop] = np.take_along_axis(co, top, 1)
        self._store(nbr_index=index, nbr_sim=sims)

    def score(self, adapted: Adapted | None, batch: TaskBatch, items: torch.Tensor) -> torch.Tensor:
        pop = self.popularity(items)
        if adapted is None:
            return pop
        index = self.stats["nbr_index"].long()[batch.support_items]  # [B, S, k]
        sims = self.stats["nbr_sim"][batch.support_items] * batch.support_mask.unsqueeze(-1)
        full = torch.zeros(len(batch), self.dataset.n_items, dtype=sims.dtype, device=sims.device)
        full.scatter_add_(1, index.flatten(1), sims.flatten(1))
        return full.gather(1, items) + 1e-3 * pop / (1 + pop.max())

"""Non-meta baselines behind the same interface, so they appear in every comparison table.

The closed-form ones (``trainable = False``) do all their work in ``fit(train_rows)`` on the
meta-training users' ratings and keep the fitted statistics in ``state_dict()``. ``finetune`` is
trainable: plain supervised pretraining of the meta-learners' network, then SGD on the support set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..data import RatingsDataset
from ..ranker import RankingModel
from ..tasks import FeatureTables, TaskBatch
from .base import Adapted, Algorithm, AlgorithmConfig, param
from .functional import gradients, mean_over_tasks, support_and_query
from .model_algorithm import ModelAlgorithm, ModelConfig, bias_statistics


class ClosedFormBaseline(Algorithm):
    """A baseline whose whole state is a dict of fitted statistics (``self.stats``)."""

    family = "baseline"
    trainable = False

    def __init__(
        self, config: AlgorithmConfig, dataset: RatingsDataset, features: FeatureTables, device: torch.device
    ) -> None:
        super().__init__(config, dataset, features, device)
        midpoint = (self.scale.min + self.scale.max) / 2
        self.stats: dict[str, torch.Tensor] = {}
        self._store(mu=np.asarray(midpoint), item_bias=np.zeros(dataset.n_items))

    def _store(self, **arrays: np.ndarray | torch.Tensor) -> None:
        for k, v in arrays.items():
            self.stats[k] = torch.as_tensor(v).to(self.device, torch.get_default_dtype())

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().cpu().clone() for k, v in self.stats.items()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        missing = set(self.stats) - set(state)
        if missing:
            raise KeyError(f"weights lack {sorted(missing)}")
        self.stats = {k: state[k].to(self.device, v.dtype) for k, v in self.stats.items()}

    def base_prediction(self, items: torch.Tensor) -> torch.Tensor:
        """mu + b_i, the un-personalised prediction [B, N]."""
        return self.stats["mu"] + self.stats["item_bias"][items]

    def adapt(self, batch: TaskBatch, steps: int | None = None) -> Adapted:
        return Adapted({})

    def predict(self, adapted: Adapted | None, batch: TaskBatch, items: torch.Tensor) -> torch.Tensor:
        return self.base_prediction(items)


# ------------------------------------------------------------------------------- global mean
@dataclass
class GlobalMeanConfig(AlgorithmConfig):
    pass


class GlobalMean(ClosedFormBaseline):
    name = "global_mean"
    title = "Global mean"
    description = "Predicts the mean rating of the meta-training users for everything: the floor."
    Config = GlobalMeanConfig

    def fit(self, train_rows: np.ndarray, split=None) -> None:
        mu, _ = bias_statistics(self.dataset, train_rows, 0.0)
        self._store(mu=np.asarray(mu))


# ------------------------------------------------------------------------------- item bias
@dataclass
class ItemBiasConfig(AlgorithmConfig):
    item_shrinkage: float = param(3.0, "Pseudo-count pulling a rarely rated item's bias towards "
                                  "0 (prior strength)", low=0.0, high=1000.0)


class ItemBias(ClosedFormBaseline):
    name = "item_bias"
    title = "Item bias"
    description = (
        "Global mean plus each item's regularised mean deviation (popularity-aware, not "
        "personalised): sum(r - mu) / (n_i + shrinkage)."
    )
    Config = ItemBiasConfig

    def fit(self, train_rows: np.ndarray, split=None) -> None:
        mu, item_bias = bias_statistics(self.dataset, train_rows, self.config.item_shrinkage)
        self._store(mu=np.asarray(mu), item_bias=item_bias)


# ------------------------------------------------------------------------------- user + item bias
@dataclass
class UserItemBiasConfig(ItemBiasConfig):
    user_shrinkage: float = param(3.0, "Pseudo-count pulling the new user's bias towards 0; with "
                                  "few support ratings the bias stays small", low=0.0, high=1000.0)


class UserItemBias(ItemBias):
    name = "user_item_bias"
    title = "Item bias + user bias"
    description = (
        "Item biases from training plus the new user's bias from the support set, "
        "sum(r - mu - b_i) / (n + shrinkage): the classic baseline predictor, and the one a "
        "meta-learner must beat to be worth its cost."
    )
    Config = UserItemBiasConfig

    def adapt(self, batch: TaskBatch, steps: int | None = None) -> Adapted:
        m = batch.support_mask.to(self.stats["mu"].dtype)
        resid = (batch.support_ratings - self.base_prediction(batch.support_items)) * m
        user_bias = resid.sum(1) / (m.sum(1) + self.config.user_shrinkage)
        return Adapted({"user_bias": user_bias})

    def predict(self, adapted: Adapted | None, batch: TaskBatch, items: torch.Tensor) -> torch.Tensor:
        pred = self.base_prediction(items)
        if adapted is not None:
            pred = pred + adapted.state["user_bias"].unsqueeze(1)
        return pred


# ------------------------------------------------------------------------------- MF + fold-in
@dataclass
class MFFoldInConfig(AlgorithmConfig):
    factors: int = param(8, "Latent factors", low=1, high=256)
    reg: float = param(3.0, "L2 penalty on biases and factors (training and fold-in)", low=1e-4,
                       high=1e4, log=True)
    iterations: int = param(10, "Alternating least squares sweeps", low=1, high=100)


def ridge_by_group(
    group: torch.Tensor, n_groups: int, feats: torch.Tensor, target: torch.Tensor, reg: float,
    chunk: int = 1 << 16,
) -> torch.Tensor:
    """For each group g, argmin_x sum_{rows in g} (target - feats @ x)^2 + reg |x|^2 [n_groups, k].

    Normal equations are accumulated in chunks so memory is O(n_groups k^2), not O(rows k^2).
    """
    k = feats.shape[1]
    a = torch.zeros(n_groups, k, k, dtype=feats.dtype, device=feats.device)
    b = torch.zeros(n_groups, k, dtype=feats.dtype, device=feats.device)
    for s in range(0, len(group), chunk):
        g, f, t = group[s : s + chunk], feats[s : s + chunk], target[s : s + chunk]
        a.index_add_(0, g, f.unsqueeze(2) * f.unsqueeze(1))
        b.index_add_(0, g, f * t.unsqueeze(1))
    a += reg * torch.eye(k, dtype=feats.dtype, device=feats.device)
    return torch.linalg.solve(a, b)


class MFFoldIn(ClosedFormBaseline):
    """Biased MF ``mu + b_i + b_u + <p_u, q_i>`` fitted by ALS on meta-training users; a new user's
    ``(b_u, p_u)`` is the ridge regression of their support residuals ``r - mu - b_i`` on
    ``(1, q_i)`` with the same penalty: exactly one more ALS user step (fold-in)."""

    name = "mf_foldin"
    title = "Matrix factorisation + fold-in"
    description = (
        "Matrix factorisation with biases trained by alternating least squares on the "
        "meta-training users only; a new user is folded in by ridge regression of their support "
        "ratings on the fixed item factors. The classic non-meta answer to cold start."
    )
    Config = MFFoldInConfig

    def __init__(
        self, config: MFFoldInConfig, dataset: RatingsDataset, features: FeatureTables, device: torch.device
    ) -> None:
        super().__init__(config, dataset, features, device)
        self._store(item_factors=np.zeros((dataset.n_items, config.factors)))

    def fit(self, train_rows: np.ndarray, split=None) -> None:
        cfg, ds = self.config, self.dataset
        users = torch.as_tensor(ds.user[train_rows], dtype=torch.long)
        items = torch.as_tensor(ds.item[train_rows], dtype=torch.long)
        ratings = torch.as_tensor(ds.rating[train_rows], dtype=torch.float64)
        mu = float(ratings.mean()) if len(ratings) else float(self.stats["mu"])
        resid = ratings - mu
        ones = torch.ones(len(ratings), 1, dtype=torch.float64)
        item_side = torch.cat([torch.zeros(ds.n_items, 1), torch.randn(ds.n_items, cfg.factors) * 0.1], 1)
        item_side = item_side.to(torch.float64)
        for _ in range(cfg.iterations):
            feats = torch.cat([ones, item_side[items, 1:]], 1)
            user_side = ridge_by_group(users, ds.n_users, feats, resid - item_side[items, 0], cfg.reg)
            feats = torch.cat([ones, user_side[users, 1:]], 1)
            item_side = ridge_by_group(items, ds.n_items, feats, resid - user_side[users, 0], cfg.reg)
        self._store(mu=np.asarray(mu), item_bias=item_side[:, 0], item_factors=item_side[:, 1:])

    def adapt(self, batch: TaskBatch, steps: int | None = None) -> Adapted:
        m = batch.support_mask.to(self.stats["mu"].dtype)
        q = self.stats["item_factors"][batch.support_items]
        feats = torch.cat([torch.ones_like(q[..., :1]), q], -1) * m.unsqueeze(-1)  # [B, S, 1 + d]
        target = (batch.support_ratings - self.base_prediction(batch.support_items)) * m
        eye = torch.eye(feats.shape[-1], dtype=feats.dtype, device=feats.device)
        x = torch.linalg.solve(feats.mT @ feats + self.config.reg * eye, (feats.mT @ target.unsqueeze(-1)))
        return Adapted({"user_bias": x[:, 0, 0], "user_vec": x[:, 1:, 0]})

    def predict(self, adapted: Adapted | None, batch: TaskBatch, items: torch.Tensor) -> torch.Tensor:
        pred = self.base_prediction(items)
        if adapted is not None:
            q = self.stats["item_factors"][items]
            pred = pred + adapted.state["user_bias"].unsqueeze(1)
            pred = pred + (q @ adapted.state["user_vec"].unsqueeze(-1)).squeeze(-1)
        return pred


# ------------------------------------------------------------------------------- pretrain + fine-tune
@dataclass
class FineTuneConfig(ModelConfig):
    model: str = param("ranker", "Network to pretrain: the ranker (as MAML's; its user vector is "
                       "fine-tuned), the MeLU preference estimator or the factor model",
                       choices=("ranker", "melu", "factor"))
    inner_lr: float = param(0.3, "Fine-tuning learning rate on the support set", low=1e-7,
                            high=100.0, log=True)
    inner_steps: int = param(5, "Fine-tuning SGD steps on the support set", low=0, high=100)
    inner_prior: float = param(3.0, "Pull towards the pretrained values while fine-tuning, in "
                               "pseudo-ratings (as the meta-learners' inner loop)", low=0.0, high=1e3)


class FineTune(ModelAlgorithm):
    """The meta-learners' network pretrained as one population model on every training rating
    (each task's support and query alike, no inner loop), then fine-tuned by SGD on the support
    set: the ranker's user vector and rating bias (what MAML adapts), the MeLU network's decision
    layers, the factor model's user bias and vector. The control that shows whether
    *meta*-learning the initialisation matters."""

    name = "finetune"
    title = "Pretrain + fine-tune"
    family = "baseline"
    description = (
        "Plain supervised training of the same network as one population model on all "
        "meta-training users, then a few SGD steps on the new user's support set (the ranker's "
        "user vector, as MAML adapts it). Same model and same adaptation as the meta-learners, "
        "but the starting point is not meta-learned: the control for meta-learning."
    )
    Config = FineTuneConfig
    train_defaults = {"epochs": 10, "outer_lr": 0.003, "meta_batch_size": 32, "query_size": 50,
                      "support_min": 2}

    @property
    def adapted_names(self) -> tuple[str, ...]:
        return self.model.adapted_names("user" if isinstance(self.model, RankingModel) else "decision")

    def meta_gradients(self, batch: TaskBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        items, ratings, mask = support_and_query(batch)
        with torch.enable_grad():
            loss = mean_over_tasks(self.model.loss(self.params, batch.user_features, items, ratings, mask), mask)
            return loss.detach(), gradients(self.objective(loss, self.params, batch), self.meta_parameters())

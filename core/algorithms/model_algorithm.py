"""The base of model-based algorithms: settings of the functional models (``RankerConfig``,
``ModelConfig``), closed-form warm-start statistics, and ``ModelAlgorithm``, which owns a
functional model's parameters and adapts with the one inner loop of ``functional.py``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from ..data import RatingsDataset
from ..models import Params, build_model
from ..ranker import RankingModel, ease_factors
from ..split import interaction_matrix
from ..tasks import FeatureTables, TaskBatch
from .base import Adapted, Algorithm, AlgorithmConfig, param
from .functional import MODEL_NAMES, LearningRate, inner_loop, support_and_query


# --------------------------------------------------------------------------- statistics
def shrunk_means(group: np.ndarray, values: np.ndarray, n_groups: int, shrinkage: float) -> np.ndarray:
    """Per-group sum / (count + shrinkage): a mean pulled towards 0 for sparsely observed groups
    (the MAP estimate under a zero-mean Gaussian prior)."""
    sums = np.bincount(group, weights=values, minlength=n_groups)
    counts = np.bincount(group, minlength=n_groups) + shrinkage
    return np.divide(sums, counts, out=np.zeros(n_groups), where=counts > 0)


def bias_statistics(
    dataset: RatingsDataset, rows: np.ndarray, item_shrinkage: float
) -> tuple[float, np.ndarray]:
    """Global mean and shrunken item biases of the given rating rows (meta-training users)."""
    ratings = dataset.rating[rows].astype(np.float64)
    mu = float(ratings.mean()) if len(ratings) else (dataset.scale.min + dataset.scale.max) / 2
    item_bias = shrunk_means(dataset.item[rows], ratings - mu, dataset.n_items, item_shrinkage)
    return mu, item_bias


# --------------------------------------------------------------------------- base class
@dataclass
class RankerConfig(AlgorithmConfig):
    """Settings of the ranking model (core/ranker.py) shared by every algorithm built on it."""

    model: str = param("ranker", "Network: 'ranker' (user vector against item embeddings, "
                       "trained to rank the catalogue, with a rating head), 'factor' (meta-learned "
                       "user bias + factors, rating error only) or 'melu' (MeLU preference "
                       "estimator: embeddings -> MLP, rating error only)", choices=MODEL_NAMES)
    dim: int = param(64, "Ranker: size of the user vector and item embeddings", low=2, high=1024)
    init: str = param("ease", "Ranker: start the item embeddings from a rank-dim factorisation "
                      "of the EASE^R item matrix of the training users, or at random",
                      choices=("ease", "random"))
    rating_weight: float = param(1.0, "Ranker: weight of the rating MSE beside the ranking loss "
                                 "(0 = ranking only; ignored on implicit data)", low=0.0, high=100.0)
    warm_start: bool = param(True, "Start the global mean and item biases (ranker: also the "
                             "popularity logits) from the training ratings (fit) instead of the "
                             "scale midpoint and zero")
    item_reg: float = param(0.0, "L2 penalty on the item-id embeddings/factors (and rating "
                            "models' biases) of the items in each batch (per rating, as in SGD "
                            "matrix factorisation)", low=0.0, high=100.0)


@dataclass
class ModelConfig(RankerConfig):
    """Model settings of the algorithms that can also run the rating models (factor, MeLU)."""

    embedding_dim: int = param(32, "MeLU model: size of each embedding", low=2, high=512)
    hidden: int = param(64, "MeLU model: width of each hidden decision layer", low=2, high=1024)
    layers: int = param(2, "MeLU model: number of hidden decision layers", low=1, high=6)
    factors: int = param(32, "Factor model: size of user and item factor vectors", low=1, high=512)
    use_item_id: bool = param(False, "Rating models: learn a vector per item id (MeLU: embedding + "
                              "item bias; factor: item factors). Off, items are described by "
                              "genres and year only (the ranker always has item ids)")
    fast_path: bool = param(True, "MeLU network, first order: hand-written batched backprop for "
                            "the inner steps (about 1.6x the autograd step, benchmarks/"
                            "bench_throughput.py; checked against the same per-task reference)")


class ModelAlgorithm(Algorithm):
    """An algorithm whose state is a functional model's parameter dict (all meta-parameters).

    Subclasses choose which parameters adapt (``scope``) and how: ``adapt()`` runs the inner loop
    from the meta-learned values with ``inner_lr()`` and ``steps`` steps.
    """

    scope: ClassVar[str] = "all"  # which of the model's adaptation scopes this algorithm uses
    ITEM_SHRINKAGE: ClassVar[float] = 3.0  # warm start of item biases (val-tuned, as item_bias)

    def __init__(
        self, config: AlgorithmConfig, dataset: RatingsDataset, features: FeatureTables, device: torch.device
    ) -> None:
        super().__init__(config, dataset, features, device)
        if config.model == "ranker":
            self.model = RankingModel(
                features, getattr(config, "dim", 64), threshold=dataset.scale.relevance_threshold(),
                rating_range=(dataset.scale.min, dataset.scale.max),
                implicit=bool(getattr(dataset, "implicit", False)),
                rating_weight=float(getattr(config, "rating_weight", 1.0)),
            )
        else:
            options = ("embedding_dim", "hidden", "layers", "factors", "use_item_id")
            self.model = build_model(
                config.model, features, **{k: getattr(config, k) for k in options if hasattr(config, k)}
            )
            self.model.explicit_descent &= bool(getattr(config, "fast_path", True))
        self.params = self.model.init_params(device)
        with torch.no_grad():
            self.params["mu"].fill_((self.scale.min + self.scale.max) / 2)

    @property
    def adapted_names(self) -> tuple[str, ...]:
        return self.model.adapted_names(self.scope)

    def inner_lr(self) -> LearningRate:
        return float(self.config.inner_lr)

    @property
    def inner_prior(self) -> float:
        return float(getattr(self.config, "inner_prior", 0.0))

    def inner_steps(self, steps: int | None) -> int:
        return int(self.config.inner_steps if steps is None else steps)

    def fit(self, train_rows: np.ndarray, split=None) -> None:
        """Warm start: global mean and shrunken item biases of the meta-training ratings (the
        ranker also: popularity logits, and item tables from EASE^R with ``init='ease'``)."""
        if not self.config.warm_start:
            return
        mu, item_bias = bias_statistics(self.dataset, train_rows, self.ITEM_SHRINKAGE)
        if isinstance(self.model, RankingModel):
            x = interaction_matrix(self.dataset, train_rows)
            counts = np.asarray(x.sum(0)).ravel()
            factors = None
            if getattr(self.config, "init", "random") == "ease":
                factors = ease_factors(x, self.model.dim, seed=int(torch.initial_seed() % 2**31))
            self.model.start_from(self.params, mu=mu, item_bias=item_bias, counts=counts,
                                  item_factors=factors)
            # The rating head's mean and item biases stay the fitted (shrunken) statistics: trained
            # further by small meta-batches they drift and the rating head loses to item + user bias.
            self.frozen = {"mu", "item_bias"}
            for name in self.frozen:
                self.params[name].requires_grad_(False)
            return
        with torch.no_grad():
            self.params["mu"].fill_(mu)
            if "item_bias" in self.params:
                self.params["item_bias"].copy_(torch.as_tensor(item_bias))

    #: parameters fitted in closed form by ``fit`` and not meta-learned (kept in the weights)
    frozen: set[str] = set()

    def meta_parameters(self) -> dict[str, torch.Tensor]:
        return {k: v for k, v in self.params.items() if k not in self.frozen}

    def all_tensors(self) -> dict[str, torch.Tensor]:
        """Meta-parameters and frozen fitted statistics: everything the weights file holds."""
        return {**self.params, **self.meta_parameters()}

    def detached(self) -> Params:
        return {k: v.detach() for k, v in self.all_tensors().items()}

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().cpu() for k, v in self.all_tensors().items()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        tensors = self.all_tensors()
        missing = set(tensors) - set(state)
        if missing:
            raise KeyError(f"weights lack {sorted(missing)}")
        with torch.no_grad():
            for k, p in tensors.items():
                p.copy_(state[k].to(p.device, p.dtype))

    def objective(self, loss: torch.Tensor, params: Params, batch: TaskBatch) -> torch.Tensor:
        """The meta-training objective: ``loss`` plus the item penalty (``item_reg``), averaged
        over tasks so that shards of a meta-batch average to the whole batch's value. The
        reported loss stays ``loss`` without the penalty (the model's query loss)."""
        reg = float(getattr(self.config, "item_reg", 0.0))
        if reg == 0.0:
            return loss
        items, _, mask = support_and_query(batch)
        return loss + reg * self.model.item_penalty(params, items, mask).mean()

    def adapt(self, batch: TaskBatch, steps: int | None = None) -> Adapted:
        params = self.detached()
        lr = self.inner_lr()
        if isinstance(lr, dict):
            lr = {k: v.detach() for k, v in lr.items()}
        with torch.enable_grad():
            fast, losses = inner_loop(
                self.model, params, self.adapted_names, lr, batch.user_features, batch.support_items,
                batch.support_ratings, batch.support_mask, self.inner_steps(steps), create_graph=False,
                prior=self.inner_prior,
            )
        return Adapted({n: fast[n].detach() for n in self.adapted_names}, losses)

    def _with_state(self, adapted: Adapted | None) -> Params:
        params = self.detached()
        if adapted is not None:
            params.update(adapted.state)
        return params

    def predict(self, adapted: Adapted | None, batch: TaskBatch, items: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.model(self._with_state(adapted), batch.user_features, items)

    def score(self, adapted: Adapted | None, batch: TaskBatch, items: torch.Tensor) -> torch.Tensor:
        """The ranker's catalogue scores (rating models rank by predicted rating)."""
        if not isinstance(self.model, RankingModel):
            return self.predict(adapted, batch, items)
        with torch.no_grad():
            scores = self.model.rank_scores(self._with_state(adapted), batch.user_features)
            return scores.gather(1, items)

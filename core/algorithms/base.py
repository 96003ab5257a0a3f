"""The interface every algorithm implements, and typed config fields the CLI and GUI read.

An algorithm owns its model parameters and answers four questions:

* ``fit(train_rows, split)`` — closed-form or pre-training work before meta-training, on the
  meta-training users' rating rows only (``split`` lets a baseline tune on validation users);
* ``meta_gradients(batch)`` — one outer step's loss and gradients for its meta-parameters
  (the Trainer applies them with its optimizer, so clipping, all-reduce across ranks and
  NaN checks live in one place);
* ``adapt(batch)`` — per-task adapted state from the support sets of a batch of users;
* ``predict(state, items)`` — ratings for ``items`` [B, N] given adapted state (``None`` =
  the un-adapted population prediction);
* ``score(state, items)`` — ranking scores for ``items`` (top-N); the rating prediction unless
  the algorithm ranks by something else (a softmax logit, EASE^R's item-item score).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from ..config import Config, ConfigError, coerce_config, param  # noqa: F401 (re-exported)
from ..data import RatingsDataset
from ..tasks import FeatureTables, TaskBatch


@dataclass
class AlgorithmConfig(Config):
    """Base of every algorithm's config dataclass."""


@dataclass
class Adapted:
    """Per-task state after adaptation, plus the support loss before/after each inner step."""

    state: Any  # algorithm-specific, batched over tasks (e.g. a dict of [B, ...] tensors)
    losses: torch.Tensor | None = None  # [steps + 1, B] support loss, None if not iterative


class Algorithm(ABC):
    """Base class. Subclasses set the class attributes and implement the abstract methods."""

    name: ClassVar[str]  # registry key, e.g. "maml"
    title: ClassVar[str]  # e.g. "MAML (second order)"
    family: ClassVar[str]  # "meta", "metric" or "baseline"
    description: ClassVar[str]  # one paragraph: what adapts, what it costs
    Config: ClassVar[type[AlgorithmConfig]]
    presets: ClassVar[dict[str, dict[str, Any]]] = {}
    train_defaults: ClassVar[dict[str, Any]] = {}  # overrides of TrainConfig fields
    trainable: ClassVar[bool] = True  # False: fit() is all the training there is

    def __init__(
        self,
        config: AlgorithmConfig,
        dataset: RatingsDataset,
        features: FeatureTables,
        device: torch.device,
    ) -> None:
        self.config = config
        self.dataset = dataset
        self.features = features
        self.device = device
        self.scale = dataset.scale

    # ------------------------------------------------------------ training
    def fit(self, train_rows: np.ndarray, split: Any = None) -> None:  # noqa: B027 - optional hook
        """Closed-form fitting or pretraining on meta-training users' rating rows only.

        ``split`` (a core.split.ColdStartSplit, optional): lets a baseline choose a setting on
        validation users (never test users)."""

    def meta_parameters(self) -> dict[str, torch.Tensor]:
        """Tensors the outer optimizer updates (requires_grad=True). Empty for closed-form."""
        return {}

    def meta_gradients(self, batch: TaskBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Outer loss (detached scalar) and a gradient for each meta-parameter."""
        raise NotImplementedError(f"{self.name} has no meta-training step")

    # ------------------------------------------------------------ adaptation
    @abstractmethod
    def adapt(self, batch: TaskBatch, steps: int | None = None) -> Adapted:
        """Adapt to each task's support set (``steps`` overrides inner steps where used)."""

    @abstractmethod
    def predict(self, adapted: Adapted | None, batch: TaskBatch, items: torch.Tensor) -> torch.Tensor:
        """Raw predicted scores [B, N] for ``items`` [B, N]; ``adapted=None`` = un-adapted.

        Not clamped: rankings need the unclamped order (many items above the top of the scale
        would otherwise tie). Rating metrics and displays clamp with :meth:`clamp`.
        """

    def score(self, adapted: Adapted | None, batch: TaskBatch, items: torch.Tensor) -> torch.Tensor:
        """Ranking scores [B, N] for ``items`` [B, N] (higher = recommend first); by default the
        raw rating prediction."""
        return self.predict(adapted, batch, items)

    # ------------------------------------------------------------ persistence
    def state_dict(self) -> dict[str, torch.Tensor]:
        """All tensors needed to predict (meta-parameters and fitted statistics)."""
        return {k: v.detach().cpu() for k, v in self.meta_parameters().items()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        params = self.meta_parameters()
        missing = set(params) - set(state)
        if missing:
            raise KeyError(f"weights lack {sorted(missing)}")
        with torch.no_grad():
            for k, p in params.items():
                p.copy_(state[k].to(p.device, p.dtype))

    def clamp(self, ratings: torch.Tensor) -> torch.Tensor:
        """Clip predictions to the rating scale (by evaluation and display, not in losses)."""
        return ratings.clamp(self.scale.min, self.scale.max)


"""Algorithms by name: the one list the CLI, the GUI, the Trainer and the tables read."""

from __future__ import annotations

from typing import Any

import torch

from ..data import RatingsDataset
from ..tasks import FeatureTables
from .base import Algorithm, ConfigError, coerce_config
from .baselines import FineTune, GlobalMean, ItemBias, MFFoldIn, UserItemBias
from .maml import FOMAML, MAML, MeLU, MetaSGD
from .metric import MatchingNet, ProtoRec
from .reptile import Reptile
from .topn import EASE, ItemKNN, Popularity

ALGORITHMS: dict[str, type[Algorithm]] = {
    cls.name: cls
    for cls in (
        MAML, FOMAML, MeLU, MetaSGD, Reptile, ProtoRec, MatchingNet,
        Popularity, EASE, ItemKNN, MFFoldIn, GlobalMean, ItemBias, UserItemBias, FineTune,
    )
}

#: The app's and the CLI's default: the meta-learner the persona benchmark picks
#: (benchmarks/bench_personas.py, docs/benchmarks.md).
DEFAULT_ALGORITHM = "proto"


def algorithm_class(name: str) -> type[Algorithm]:
    try:
        return ALGORITHMS[name]
    except KeyError:
        raise ConfigError(f"unknown algorithm '{name}'; valid: {', '.join(ALGORITHMS)}") from None


def preset_overrides(name: str, preset: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(algorithm config overrides, TrainConfig overrides) of a named preset.

    A preset is a dict of config values; its optional ``"train"`` entry holds TrainConfig
    overrides (e.g. MeLU's paper learning rate), which are not algorithm settings.
    """
    cls = algorithm_class(name)
    if preset not in cls.presets:
        valid = ", ".join(cls.presets) or "none"
        raise ConfigError(f"algorithm '{name}' has no preset '{preset}'; valid: {valid}")
    values = dict(cls.presets[preset])
    train = dict(values.pop("train", {}))
    return values, train


def create_algorithm(
    name: str,
    overrides: dict[str, Any] | None,
    dataset: RatingsDataset,
    device: torch.device | str = "cpu",
    features: FeatureTables | None = None,
) -> Algorithm:
    """Build an algorithm with its config's defaults updated by ``overrides`` (strings or values,
    validated: raises ConfigError naming the setting). Parameters are drawn from torch's global
    RNG, so seed first (core.devices.seed_everything) for a reproducible run."""
    cls = algorithm_class(name)
    config = coerce_config(cls.Config, dict(overrides or {}))
    device = torch.device(device)
    features = features if features is not None else FeatureTables.from_dataset(dataset, device)
    return cls(config, dataset, features, device)

"""Meta-learning and baseline algorithms behind one interface (see base.py and registry.py)."""

from .base import Adapted, Algorithm, AlgorithmConfig, ConfigError, coerce_config, param
from .registry import (
    ALGORITHMS,
    DEFAULT_ALGORITHM,
    algorithm_class,
    create_algorithm,
    preset_overrides,
)

__all__ = [
    "ALGORITHMS",
    "DEFAULT_ALGORITHM",
    "Adapted",
    "Algorithm",
    "AlgorithmConfig",
    "ConfigError",
    "algorithm_class",
    "coerce_config",
    "create_algorithm",
    "param",
    "preset_overrides",
]

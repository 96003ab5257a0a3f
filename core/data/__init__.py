"""Datasets: one model (:class:`RatingsDataset`) for built-in, MovieLens, generic and synthetic data."""

from .build import build_dataset
from .builtin import BUILTINS, DEFAULT_BUILTIN, load_builtin
from .dataset import IMPLICIT_SCALE, ItemFeatures, RatingScale, RatingsDataset, UserFeatures
from .errors import ColumnError, DatasetError, FormatError, ValueProblem
from .loading import DatasetSpec, describe_source, load_dataset, parse_synthetic
from .movielens import detect_movielens, load_movielens
from .netflix import load_netflix
from .synthetic import SyntheticConfig, make_synthetic
from .table import (
    ColumnMapping,
    ItemTableMapping,
    guess_mapping,
    load_table,
    preview_table,
    validate_mapping,
)

__all__ = [
    "BUILTINS",
    "DEFAULT_BUILTIN",
    "ColumnError",
    "ColumnMapping",
    "DatasetError",
    "DatasetSpec",
    "FormatError",
    "IMPLICIT_SCALE",
    "ItemFeatures",
    "ItemTableMapping",
    "RatingScale",
    "RatingsDataset",
    "SyntheticConfig",
    "UserFeatures",
    "ValueProblem",
    "build_dataset",
    "describe_source",
    "detect_movielens",
    "guess_mapping",
    "load_builtin",
    "load_dataset",
    "load_movielens",
    "load_netflix",
    "load_table",
    "make_synthetic",
    "parse_synthetic",
    "preview_table",
    "validate_mapping",
]

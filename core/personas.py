"""Demo personas: a handful of real films of the built-in MovieLens rated the way a person with
one clear taste would (likes and dislikes), and the measures of how personal a top-10 looks
(docs/PROTOCOL.md, "Demo quality"): the share of the list in the persona's core genres, and the
overlap between personas' lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

from .data import RatingsDataset


@dataclass(frozen=True)
class Persona:
    name: str
    core_genres: tuple[str, ...]  # an item in any of these counts as on-taste
    ratings: tuple[tuple[str, int | None, float], ...]  # (title, year or None, rating)


PERSONAS: tuple[Persona, ...] = (
    Persona("Sci-fi fan", ("Sci-Fi",), (
        ("Star Wars: Episode IV - A New Hope", 1977, 5), ("Alien", 1979, 5), ("Blade Runner", 1982, 5),
        ("Terminator 2: Judgment Day", 1991, 4.5), ("Matrix, The", 1999, 5),
        ("2001: A Space Odyssey", 1968, 4.5), ("Aliens", 1986, 4.5),
        ("Notting Hill", 1999, 1), ("Sleepless in Seattle", 1993, 1.5),
    )),
    Persona("Horror fan", ("Horror",), (
        ("Shining, The", 1980, 5), ("Exorcist, The", 1973, 5), ("Halloween", 1978, 4.5),
        ("Nightmare on Elm Street, A", 1984, 4.5), ("Evil Dead, The", 1981, 4.5),
        ("Scream", 1996, 4), ("Night of the Living Dead", 1968, 5),
        ("Lion King, The", 1994, 1), ("Sleepless in Seattle", 1993, 1),
    )),
    Persona("Animation and family", ("Animation", "Children"), (
        ("Toy Story", 1995, 5), ("Lion King, The", 1994, 5), ("Aladdin", 1992, 4.5),
        ("Beauty and the Beast", 1991, 4.5), ("Finding Nemo", 2003, 5), ("Monsters, Inc.", 2001, 4.5),
        ("Shrek", 2001, 4.5), ("Pulp Fiction", 1994, 1), ("Silence of the Lambs, The", 1991, 1),
    )),
    Persona("Romance", ("Romance",), (
        ("Notting Hill", 1999, 5), ("Sleepless in Seattle", 1993, 5), ("Pretty Woman", 1990, 4.5),
        ("When Harry Met Sally...", 1989, 5), ("Titanic", 1997, 4.5), ("Casablanca", 1942, 4.5),
        ("Four Weddings and a Funeral", 1994, 4.5), ("Terminator 2: Judgment Day", 1991, 1),
        ("Die Hard", 1988, 1.5),
    )),
    Persona("Crime and noir", ("Crime", "Film-Noir"), (
        ("Godfather, The", 1972, 5), ("Godfather: Part II, The", 1974, 5), ("Goodfellas", 1990, 5),
        ("Reservoir Dogs", 1992, 4.5), ("Usual Suspects, The", 1995, 4.5), ("Chinatown", 1974, 4.5),
        ("Heat", 1995, 4.5), ("Toy Story", 1995, 1), ("Notting Hill", 1999, 1),
    )),
    Persona("Comedy", ("Comedy",), (
        ("Groundhog Day", 1993, 5), ("Ace Ventura: Pet Detective", 1994, 4.5),
        ("Dumb & Dumber (Dumb and Dumber)", 1994, 4.5), ("Airplane!", 1980, 5),
        ("Monty Python and the Holy Grail", 1975, 5), ("Big Lebowski, The", 1998, 4.5),
        ("Austin Powers: International Man of Mystery", 1997, 4.5), ("Schindler's List", 1993, 1.5),
        ("Saving Private Ryan", 1998, 1),
    )),
)


def find_item(dataset: RatingsDataset, title: str, year: int | None = None) -> int:
    """Dense index of the item with exactly this title (and year). Raises KeyError if none or
    several match."""
    items = dataset.items
    mask = (items["title"] == title).to_numpy().copy()
    if year is not None:
        mask &= (items["year"].to_numpy(dtype=float) == year)
    hits = np.flatnonzero(mask)
    if len(hits) != 1:
        raise KeyError(f"{len(hits)} items titled {title!r} ({year}) in {dataset.name}")
    return int(hits[0])


def persona_ratings(dataset: RatingsDataset, persona: Persona) -> dict[int, float]:
    """The persona's ratings as {dense item index: rating} (KeyError if a film is missing)."""
    return {find_item(dataset, t, y): float(r) for t, y, r in persona.ratings}


def has_genre(dataset: RatingsDataset, items, genres: tuple[str, ...]) -> np.ndarray:
    """bool per item: its genres include any of ``genres``."""
    lists = dataset.items["genres"].iloc[np.asarray(items, dtype=np.int64)].str.split("|")
    return np.array([bool(set(g) & set(genres)) for g in lists], dtype=bool)


def genre_share(dataset: RatingsDataset, items, genres: tuple[str, ...]) -> float:
    """Share of ``items`` whose genres include any of ``genres`` (0 for an empty list)."""
    items = list(items)
    return float(has_genre(dataset, items, genres).mean()) if items else 0.0


def mean_pairwise_jaccard(lists: list[list[int]]) -> float:
    """Mean |A ∩ B| / |A ∪ B| over all pairs of lists (low = personalised)."""
    pairs = [(set(a), set(b)) for a, b in combinations(lists, 2)]
    values = [len(a & b) / len(a | b) if a | b else 0.0 for a, b in pairs]
    return float(np.mean(values)) if values else 0.0

"""A user's ratings file (``item[,rating][,user]``) and a ``predict`` query file
(``user,item``), read and checked against a dataset: unknown or ambiguous items, ratings off the
scale and repeated items are reported with the file, the line and the value.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..data.errors import ColumnError, DatasetError, FormatError, ValueProblem
from .items import ItemMatcher
from .table import read_user_table

if TYPE_CHECKING:
    from ..data import RatingScale, RatingsDataset


MISSING_TEXT = frozenset({"nan", "NaN"})  # how a missing user reads when written out as text


class UserFileError(DatasetError):
    """A user's file cannot be used; the message names the file, the line and the value."""


@dataclass
class UserRatings:
    """What a ratings file says: per user (in file order), dense item index -> rating."""

    path: str
    has_user_column: bool
    ratings: dict[str, dict[int, float]]  # user ('' without a user column) -> {item: rating}
    notes: list[str] = field(default_factory=list)  # unknown items skipped, duplicates, ...

    @property
    def users(self) -> list[str]:
        return list(self.ratings)


@dataclass
class UserItems:
    """A list of items per user (a ``predict`` query file): raw value, dense index (-1 unknown)."""

    path: str
    items: dict[str, list[tuple[str, int, int]]]  # user -> [(raw, dense or -1, line)]
    notes: list[str] = field(default_factory=list)


def _check_item(raw: str, *, path: str, line: int) -> None:
    if not raw.strip():
        raise ValueProblem("the item is empty", path=path, line=line, column="item")


def _is_implicit(dataset: RatingsDataset) -> bool:
    return bool(getattr(dataset, "implicit", False))


def _matched_items(frame: pd.DataFrame, lines: np.ndarray, shown: str, matcher: ItemMatcher,
                   notes: list[str]) -> Iterator[tuple[int, int, str, int, str | None]]:
    """(row, file line, raw item, dense index or -1, problem) for each row of ``frame``'s item
    column; a title read as a longer one is noted in ``notes`` as its row comes up."""
    raws = frame["item"].fillna("").astype(str).tolist()
    for row, (raw, (idx, problem, matched)) in enumerate(
            zip(raws, matcher.match(raws), strict=True)):
        line = int(lines[row])
        if matched:
            notes.append(f"{shown}, line {line}: {matched}")
        yield row, line, raw, idx, problem


def row_user(value: Any, *, path: str, line: int) -> str:
    """The user of one row of a user's file, as text without surrounding spaces.

    Raises :class:`ValueProblem` (naming ``path``, ``line`` and column 'user') when the user is
    missing: no value (None, NaN, NA), empty or blank text, or the text ``nan`` / ``NaN`` (a
    missing value written out as text, e.g. by ``DataFrame.astype(str)``; ``Nan`` is a name and
    stays). Both :func:`read_user_ratings` and :func:`read_user_items` use it, so they refuse
    the same lines.
    """
    text = "" if _missing(value) else str(value).strip()
    if not text:
        raise ValueProblem("the user is empty", path=path, line=line, column="user")
    if text in MISSING_TEXT:
        raise ValueProblem(f"the user is missing ('{text}')", path=path, line=line,
                           column="user")
    return text


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # an array-like value: not a missing scalar
        return False


def check_rating(value: Any, scale: RatingScale, *, path: str, line: int) -> float:
    """A rating from a user's file as a float on the dataset's scale; raises ValueProblem
    (naming ``path``, ``line`` and the value) when it is empty, not a finite number or off the
    scale."""
    text = "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
    if not text.strip():
        raise ValueProblem("the rating is empty", path=path, line=line, column="rating")
    try:
        rating = float(text)
    except ValueError:
        raise ValueProblem(f"rating '{text}' is not a number", path=path, line=line,
                           column="rating") from None
    if not math.isfinite(rating):
        raise ValueProblem(f"rating '{text}' is not a finite number", path=path, line=line,
                           column="rating")
    eps = 1e-6 * max(1.0, abs(scale.max - scale.min))
    if rating < scale.min - eps or rating > scale.max + eps:
        raise ValueProblem(
            f"rating {text} is outside the dataset's scale {scale.min:g} .. {scale.max:g}",
            path=path, line=line, column="rating",
        )
    return rating


def read_user_ratings(
    path: str | Path, dataset: RatingsDataset, *, skip_unknown: bool = False,
    user_column: bool = True,
) -> UserRatings:
    """A user's ratings file (``item[,rating][,user]``) checked against ``dataset``.

    Without a ``user`` column the whole file is one user (key ``''``). On implicit data the
    rating column is optional (every listed item counts as an interaction)."""
    implicit = _is_implicit(dataset)
    required = ["item"] if implicit else ["item", "rating"]
    optional = (["rating"] if implicit else []) + (["user"] if user_column else [])
    try:
        frame, lines, shown = read_user_table(path, required, optional)
    except ColumnError as exc:
        if not implicit and "rating" in exc.problem.split(";")[0]:
            raise ColumnError(exc.problem, path=exc.path,
                              hint="this dataset has explicit ratings: give each item a "
                                   f"rating on its scale {dataset.scale.min:g} .. "
                                   f"{dataset.scale.max:g}") from None
        raise
    if frame.empty:
        raise FormatError("the file has a header but no ratings", path=shown)
    has_users = "user" in frame.columns
    matcher = ItemMatcher(dataset)
    notes: list[str] = []
    out: dict[str, dict[int, float]] = {}
    first_line: dict[tuple[str, int], int] = {}
    for row, line, raw, idx, problem in _matched_items(frame, lines, shown, matcher, notes):
        user = row_user(frame["user"].iloc[row], path=shown, line=line) if has_users else ""
        _check_item(raw, path=shown, line=line)
        if implicit and "rating" not in frame.columns:
            rating = 1.0
        else:
            rating = check_rating(frame["rating"].iloc[row], dataset.scale, path=shown,
                                  line=line)
            if implicit:
                rating = 1.0
        ratings = out.setdefault(user, {})
        if idx < 0:
            message = DatasetError(problem or "", path=shown, line=line, column="item").message
            if skip_unknown:
                notes.append(message + " (skipped)")
                continue
            raise UserFileError(problem or "", path=shown, line=line, column="item",
                                hint=None if "matches" in (problem or "")
                                else "--skip-unknown ignores such lines")
        if idx in ratings:
            who = f" for user '{user}'" if has_users else ""
            earlier = first_line[(user, idx)]
            notes.append(f"{shown}, line {line}: {matcher.label(idx)} is rated again{who} "
                         f"(first on line {earlier}); the rating on line {line} is used")
        else:
            first_line[(user, idx)] = line
        ratings[idx] = rating
    return UserRatings(shown, has_users, out, notes)


def read_user_items(path: str | Path, dataset: RatingsDataset) -> UserItems:
    """A query file ``user,item``: which items to predict for which user (unknown -> -1,
    with a note). Users are text without surrounding spaces, as in :func:`read_user_ratings`;
    a missing user or item (see :func:`row_user`) raises :class:`ValueProblem` naming the line.
    """
    frame, lines, shown = read_user_table(path, ["user", "item"])
    notes: list[str] = []
    out: dict[str, list[tuple[str, int, int]]] = {}
    matcher = ItemMatcher(dataset)
    for row, line, raw, idx, problem in _matched_items(frame, lines, shown, matcher, notes):
        user = row_user(frame["user"].iloc[row], path=shown, line=line)
        _check_item(raw, path=shown, line=line)
        if idx < 0:
            notes.append(f"{shown}, line {line}: {problem}: no prediction")
        out.setdefault(user, []).append((raw, idx, line))
    return UserItems(shown, out, notes)

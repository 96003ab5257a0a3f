"""A user's own files: the ratings a new user brings (``recommend``, ``predict``, the app).

Qt-free, shared by the CLI and the app. Every CSV is read by the dataset loader's reader
(:func:`core.data.table.open_table`: encoding, BOM, CRLF, delimiter and blank lines handled in
one place), with every column kept as text so ids stay exactly as written.

A ratings file has the columns ``item[,rating][,user]`` (a few common synonyms are accepted,
e.g. ``movieId``, ``stars``, ``user_id``); ``item`` is a raw item id of the dataset *or a title*
(``Toy Story (1995)``, ``toy story``, ``Matrix, The``), matched against the dataset's item table.
Problems name the file, the line and the value:

- a title matching several items, or a value matching no id and no title, is an error (or a
  note, with ``skip_unknown=True``);
- ratings outside the dataset's scale (``10`` or ``-3`` on 0.5-5) and non-numbers are errors;
- the same item twice for one user is reported (the last rating is used).

Modules: :mod:`~core.userfiles.table` (reading the file, column synonyms),
:mod:`~core.userfiles.items` (ids and titles -> items), :mod:`~core.userfiles.ratings`
(ratings and query files), :mod:`~core.userfiles.features` (``--user-feature``, ``KEY=VALUE``).
Everything public is re-exported here: ``from core.userfiles import read_user_ratings``.
"""

from __future__ import annotations

from .features import parse_pairs, parse_user_features, user_feature_codes
from .items import ItemMatcher
from .ratings import (
    UserFileError,
    UserItems,
    UserRatings,
    check_rating,
    read_user_items,
    read_user_ratings,
    row_user,
)
from .table import SYNONYMS, read_user_table

__all__ = [
    "SYNONYMS", "ItemMatcher", "UserFileError", "UserItems", "UserRatings", "check_rating",
    "parse_pairs", "parse_user_features", "read_user_items", "read_user_ratings",
    "read_user_table", "row_user", "user_feature_codes",
]

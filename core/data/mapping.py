"""Column mappings: which columns of a ratings file (and of an item table) hold what, and the
first guess made from the usual column names."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from .dataset import RatingScale


@dataclass
class ItemTableMapping:
    """Where an item table is and which of its columns hold the id, title, genres and year."""

    path: str
    item_id: str
    title: str | None = None
    genres: str | None = None
    year: str | None = None
    genre_separator: str = "|"
    delimiter: str | None = None  # None = sniffed
    has_header: bool | None = None  # None = sniffed
    escape: str | None = None  # '\\' for Book-Crossing's \" inside quotes; None: detected

    def roles(self) -> dict[str, str]:
        out = {"item id": self.item_id}
        out.update(
            {
                k: v
                for k, v in (("title", self.title), ("genres", self.genres), ("year", self.year))
                if v
            }
        )
        return out


@dataclass
class ColumnMapping:
    """Which columns of a ratings file hold the user, item, rating (and timestamp).

    ``rating=None`` (or ``""``) means the file has no rating column: an interaction log (clicks,
    views, purchases) loaded as implicit feedback. ``scale=None`` infers the scale from the
    ratings; ``delimiter`` / ``has_header`` ``None`` sniff them. A file without a header names its
    columns ``col1``, ``col2``, ... ``escape`` is the character that escapes a quote inside a
    quoted field (``\\`` in Book-Crossing's files); ``None`` detects backslash escapes (with a
    note) and otherwise reads quotes as doubled (``""``); ``""`` means doubled, without detecting.
    ``title`` is a column of item titles in the ratings file itself (used without an item table):
    ``None`` takes a column that looks like one (``title``, ``Book-Title``), ``""`` none.
    """

    user: str
    item: str
    rating: str | None = None
    timestamp: str | None = None
    scale: RatingScale | None = None
    delimiter: str | None = None
    has_header: bool | None = None
    item_table: ItemTableMapping | None = None
    escape: str | None = None
    title: str | None = None  # last: the app builds mappings positionally

    @property
    def implicit(self) -> bool:
        """Whether no rating column is mapped (interactions only)."""
        return not self.rating

    def roles(self) -> dict[str, str]:
        """role -> column ('user', 'item', and 'rating' / 'timestamp' / 'title' when mapped)."""
        out = {"user": self.user, "item": self.item}
        if self.rating:
            out["rating"] = self.rating
        if self.timestamp:
            out["timestamp"] = self.timestamp
        if self.title:
            out["title"] = self.title
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form (for run configs and the app's settings)."""
        out = asdict(self)
        out["scale"] = self.scale.to_dict() if self.scale else None
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnMapping:
        data = dict(data)
        if data.get("scale"):
            data["scale"] = RatingScale(**data["scale"])
        if data.get("item_table"):
            data["item_table"] = ItemTableMapping(**data["item_table"])
        return cls(**data)


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


_ALIASES: dict[str, tuple[str, ...]] = {
    "user": ("userid", "user", "uid", "users", "reviewerid", "customerid", "readerid", "visitorid",
             "sessionid", "useridx", "member", "memberid", "accountid", "person"),
    "item": (
        "movieid",
        "itemid",
        "item",
        "iid",
        "asin",
        "productid",
        "movie",
        "bookid",
        "isbn",
        "trackid",
        "songid",
        "product",
        "itemname",
        "businessid",
        "business",
        "artist",
        "artistname",
        "artistid",
        "track",
        "song",
        "book",
        "article",
        "articleid",
        "video",
        "videoid",
        "contentid",
        "goodsid",
        "skuid",
        "sku",
        "restaurantid",
        "jokeid",
    ),
    "rating": ("rating", "score", "stars", "rate", "overall", "ratingvalue", "star", "bookrating",
               "userrating", "reviewscore", "ratings"),
    "timestamp": ("timestamp", "time", "ts", "date", "datetime", "unixreviewtime", "ratingtime",
                  "unixtime", "reviewtime", "eventtime", "createdat"),
}


def guess_mapping(columns: Sequence[str], *, implicit: bool = True) -> ColumnMapping | None:
    """Recognise the usual column names (userId/user_id/uid, movieId/item_id/asin, rating/score,
    timestamp/time/date).

    ``None`` when the user and item columns are not both found. A file with user and item but no
    rating column gives a mapping with ``rating=None`` (implicit feedback) unless ``implicit`` is
    False, in which case it gives ``None``.
    """
    taken: set[str] = set()
    found: dict[str, str] = {}
    normalised = [(_norm(c), str(c)) for c in columns]
    for role, aliases in _ALIASES.items():
        for alias in aliases:  # alias order is preference order
            match = next((c for n, c in normalised if n == alias and c not in taken), None)
            if match is not None:
                found[role] = match
                taken.add(match)
                break
    if not all(r in found for r in ("user", "item")):
        return None
    if "rating" not in found and not implicit:
        return None
    return ColumnMapping(found["user"], found["item"], found.get("rating"), found.get("timestamp"))



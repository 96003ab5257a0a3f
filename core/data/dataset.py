"""The one dataset model every source produces (built and validated by :mod:`.build`).

Ratings are stored as flat numpy arrays sorted by (user, item), with dense integer ids, so that a
user's ratings are one slice (``user_offsets``) and 25M rows stay a few hundred MB. Item and user
features are kept as index arrays (genre ids in CSR form, year buckets, categorical codes), never
as a dense one-hot row per interaction (:mod:`.features`); the rating scale is :mod:`.scale`.

A dataset is not changed after it is built: nothing in the project assigns its arrays again or
writes into them. Values derived from the arrays (offsets, counts, id lookups, the fingerprint)
are computed once and cached; should a field be assigned anyway, the values derived from it are
dropped and computed again from the new value (:data:`DERIVED_FROM`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

# (re-exported: the dataset's parts were defined here, and are still imported from here)
from .features import NO_GENRE, YEAR_EDGES, ItemFeatures, UserFeatures
from .scale import IMPLICIT_SCALE, RatingScale

__all__ = [
    "DERIVED_FROM",
    "IMPLICIT_SCALE",
    "NO_GENRE",
    "YEAR_EDGES",
    "ItemFeatures",
    "RatingScale",
    "RatingsDataset",
    "UserFeatures",
    "canonical_int",
]

# field -> the cached values computed from it, dropped when the field is assigned again
DERIVED_FROM: dict[str, tuple[str, ...]] = {
    "user": ("user_offsets", "ratings_per_user", "fingerprint"),
    "user_ids": ("user_offsets", "ratings_per_user", "_user_lookup"),
    "item": ("ratings_per_item", "fingerprint"),
    "item_ids": ("ratings_per_item", "_item_lookup", "fingerprint"),
    "rating": ("fingerprint",),
}


@dataclass
class RatingsDataset:
    """Ratings with dense ids, an item table, an optional user table, a scale, and features."""

    name: str
    source: str
    user: np.ndarray  # int32 [n_ratings], dense user index, sorted ascending
    item: np.ndarray  # int32 [n_ratings], dense item index
    rating: np.ndarray  # float32 [n_ratings]
    timestamp: np.ndarray | None  # int64 [n_ratings] or None
    user_ids: np.ndarray  # raw user id of each dense user
    item_ids: np.ndarray  # raw item id of each dense item
    items: pd.DataFrame  # one row per dense item: item_id, title, genres, year, ...
    users: pd.DataFrame | None  # one row per dense user, or None
    scale: RatingScale
    item_features: ItemFeatures
    user_features: UserFeatures | None = None
    notes: list[str] = field(default_factory=list)
    truth: np.ndarray | None = None  # synthetic only: true preference [n_users, n_items]
    # Implicit feedback (a click/view/purchase log, or a file whose ratings are all equal): every
    # interaction is stored as rating 1.0 on the scale 0..1 (step 1; 0 never occurs), so "relevant"
    # (>= 0.7) is every interaction; rating metrics (MAE/RMSE/nDCG@3) mean nothing and are hidden.
    implicit: bool = False

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        for cached in DERIVED_FROM.get(name, ()):
            self.__dict__.pop(cached, None)  # (cached_property keeps its value in __dict__)

    # ----------------------------------------------------------------- sizes
    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def n_ratings(self) -> int:
        return len(self.rating)

    @property
    def density(self) -> float:
        return self.n_ratings / max(1, self.n_users * self.n_items)

    @cached_property
    def user_offsets(self) -> np.ndarray:
        """int64 [n_users + 1]: ratings of dense user u are rows offsets[u]:offsets[u+1]."""
        counts = np.bincount(self.user, minlength=self.n_users)
        return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    @cached_property
    def ratings_per_user(self) -> np.ndarray:
        """int64 [n_users]: the number of ratings of each dense user (0 for none).

        Computed once and shared by every caller, so it is read-only: writing into it raises
        ``ValueError`` (take ``.copy()`` to change it). Assigning ``user`` or ``user_ids``
        computes it again.
        """
        counts = np.diff(self.user_offsets)
        counts.flags.writeable = False
        return counts

    @cached_property
    def ratings_per_item(self) -> np.ndarray:
        return np.bincount(self.item, minlength=self.n_items)

    def ratings_of(self, user: int) -> tuple[np.ndarray, np.ndarray]:
        """(items, ratings) of one dense user."""
        lo, hi = self.user_offsets[user], self.user_offsets[user + 1]
        return self.item[lo:hi], self.rating[lo:hi]

    # ------------------------------------------------------------ id lookups
    @cached_property
    def _item_lookup(self) -> pd.Index:
        return pd.Index(self.item_ids)

    @cached_property
    def _user_lookup(self) -> pd.Index:
        return pd.Index(self.user_ids)

    def item_index(self, raw_ids: Any) -> np.ndarray:
        """Dense indices of raw item ids; -1 where unknown. Accepts str or int forms of ids."""
        return _lookup(self._item_lookup, raw_ids)

    def user_index(self, raw_ids: Any) -> np.ndarray:
        return _lookup(self._user_lookup, raw_ids)

    # ------------------------------------------------------ user features (new users)
    @property
    def user_feature_fields(self) -> list[str]:
        """Names of the user feature fields ([] when the dataset has no user table)."""
        return list(self.user_features.fields) if self.user_features else []

    def user_feature_values(self) -> dict[str, list[str]]:
        """Per user feature field, the raw values a new user can choose (for a combo box)."""
        return self.user_features.allowed_values() if self.user_features else {}

    def encode_user_features(self, values: dict[str, str | int | None] | None = None) -> np.ndarray:
        """int64 [n_fields] feature codes of a new user: unknown, missing or unseen -> 0.

        ``values`` maps field name -> raw value (``{"gender": "F", "age": 30}``); fields not
        given are unknown. Unknown field names are ignored. Empty array without user features.
        """
        if self.user_features is None:
            return np.zeros(0, dtype=np.int64)
        return self.user_features.encode(values)

    # --------------------------------------------------------------- summary
    @cached_property
    def fingerprint(self) -> str:
        """A content hash: a run trained on one dataset refuses to load against another."""
        h = hashlib.blake2b(digest_size=8)
        for arr in (self.user, self.item, self.rating):
            h.update(np.ascontiguousarray(arr).tobytes())
        ids = np.asarray(self.item_ids)
        try:  # (the historical form, kept so existing runs still match their data)
            h.update(ids.astype(str).astype(bytes).tobytes())
        except UnicodeEncodeError:  # non-ASCII ids: their UTF-8 bytes, NUL-separated
            h.update("\0".join(str(i) for i in ids).encode("utf-8", "surrogatepass"))
        return h.hexdigest()

    def summary(self) -> dict[str, Any]:
        per_user = self.ratings_per_user
        q = np.quantile(per_user, [0.0, 0.25, 0.5, 0.75, 1.0]) if len(per_user) else [0] * 5
        return {
            "name": self.name,
            "source": self.source,
            "users": self.n_users,
            "items": self.n_items,
            "ratings": self.n_ratings,
            "density": self.density,
            "scale": self.scale.to_dict(),
            "mean_rating": float(self.rating.mean()) if self.n_ratings else float("nan"),
            "ratings_per_user": {
                "min": int(q[0]),
                "q25": float(q[1]),
                "median": float(q[2]),
                "q75": float(q[3]),
                "max": int(q[4]),
            },
            "genres": self.item_features.n_genres,
            "user_features": self.user_features.fields if self.user_features else [],
            "has_timestamps": self.timestamp is not None,
            "has_ground_truth": self.truth is not None,
            "implicit": self.implicit,
            "fingerprint": self.fingerprint,
            "notes": list(self.notes),
        }

    def genre_counts(self) -> pd.Series:
        """Number of ratings per genre, most rated first (for the Data page plot)."""
        feats = self.item_features
        per_item_genre = np.repeat(np.arange(self.n_items), np.diff(feats.genre_offsets))
        weights = self.ratings_per_item[per_item_genre]
        counts = np.bincount(feats.genre_index, weights=weights, minlength=feats.n_genres)
        return pd.Series(counts, index=feats.genre_names).sort_values(ascending=False)


def _lookup(index: pd.Index, raw_ids: Any) -> np.ndarray:
    """Dense indices of raw ids, -1 where unknown. Ids are text kept as written: a string finds a
    number id only when it is that number's canonical text ('7' finds 7; '007' does not), and a
    number finds a text id equal to its canonical text (7 finds '7')."""
    values = np.atleast_1d(np.asarray(raw_ids, dtype=object))
    out = index.get_indexer(values)
    missing = out < 0
    if missing.any():
        rest = values[missing]
        if index.dtype.kind in "iu":
            alt = np.array([canonical_int(v) for v in rest], dtype=object)
            ok = np.array([a is not None for a in alt], dtype=bool)
            retry = np.full(len(rest), -1)
            if ok.any():
                retry[ok] = index.get_indexer(alt[ok].astype(np.int64))
        else:
            retry = index.get_indexer(np.array([_as_text(v) for v in rest], dtype=object))
        out[missing] = retry
    return out.astype(np.int64)


def _as_text(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(value)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


_CANONICAL_INT = re.compile(r"-?(0|[1-9][0-9]{0,18})")


def canonical_int(value: Any) -> int | None:
    """The int64 a value stands for when its text is exactly that number's canonical form."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return int(value) if float(value).is_integer() and abs(value) < 2**63 else None
    text = str(value)
    if _CANONICAL_INT.fullmatch(text) and text != "-0":
        number = int(text)
        return number if -(2**63) <= number < 2**63 else None
    return None

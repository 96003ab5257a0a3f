"""The one dataset model every source produces, and the builder that validates raw columns into it.

Ratings are stored as flat numpy arrays sorted by (user, item), with dense integer ids, so that a
user's ratings are one slice (``user_offsets``) and 25M rows stay a few hundred MB. Item and user
features are kept as index arrays (genre ids in CSR form, year buckets, categorical codes), never
as a dense one-hot row per interaction.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from .errors import DatasetError

NO_GENRE = "(no genres listed)"
YEAR_EDGES = np.arange(1920, 2030, 5)  # 5-year buckets; bucket 0 = unknown year


@dataclass(frozen=True)
class RatingScale:
    """The rating scale: smallest and largest rating and the step between allowed values."""

    min: float
    max: float
    step: float = 1.0

    @classmethod
    def infer(cls, ratings: np.ndarray) -> RatingScale:
        """Infer a scale from observed ratings (used when the source does not state one)."""
        values = np.unique(np.asarray(ratings, dtype=np.float64))
        lo, hi = float(values.min()), float(values.max())
        if len(values) < 2:
            return cls(lo, max(hi, lo + 1.0), 1.0)
        if hi - lo > 1e9:  # no grid to find (and the offsets below would overflow)
            return cls(lo, hi, 0.0)
        # The step is the largest grid every rating lies on: gcd of the offsets from the minimum.
        offsets = np.round((values - lo) * 1e6).astype(np.int64)
        step = float(np.gcd.reduce(offsets)) / 1e6
        if step >= 0.01:
            return cls(lo, hi, round(step, 6))
        return cls(lo, hi, 0.0)

    @classmethod
    def parse(cls, text: str | RatingScale) -> RatingScale:
        """'-10:10:0.05' (min:max:step), '1:5' (step 1), '0.5..5' -> a scale; step 0 = continuous.

        Raises :class:`DatasetError` for text that is not a scale (min must be below max).
        """
        if isinstance(text, RatingScale):
            return text
        raw = str(text).strip()
        parts = re.split(r"\s*(?::|\.\.|,|/)\s*", raw)
        if len(parts) == 1:  # '1-5' (but '-10-10' is ambiguous: use ':')
            m = re.fullmatch(r"(-?[\d.]+)\s*-\s*(-?[\d.]+)", raw)
            parts = [m.group(1), m.group(2)] if m else parts
        try:
            values = [float(p) for p in parts]
        except ValueError:
            values = []
        if len(values) not in (2, 3) or not all(np.isfinite(values)):
            raise DatasetError(
                f"'{raw}' is not a rating scale", hint="write min:max or min:max:step, e.g. -10:10:0.05"
            )
        lo, hi = values[0], values[1]
        step = values[2] if len(values) == 3 else 1.0
        if not lo < hi or step < 0 or step > hi - lo:
            raise DatasetError(
                f"'{raw}' is not a rating scale: need min < max and 0 <= step <= max - min"
            )
        return cls(lo, hi, step)

    def __str__(self) -> str:
        return f"{self.min:g}:{self.max:g}:{self.step:g}"

    def off_step(self, ratings: np.ndarray) -> np.ndarray:
        """Mask of ratings that are not ``min + k * step`` (all False on a continuous scale)."""
        if self.step <= 0:
            return np.zeros(len(ratings), dtype=bool)
        k = (np.asarray(ratings, dtype=np.float64) - self.min) / self.step
        return np.abs(k - np.round(k)) > 1e-6

    @property
    def span(self) -> float:
        return self.max - self.min

    def relevance_threshold(self) -> float:
        """Ratings at or above this are 'relevant': the top 30 % of the scale (>= 4 on 1-5)."""
        return self.min + 0.7 * self.span

    def values(self) -> list[float]:
        """Allowed rating values (for star widgets); a continuous scale gives 11 points."""
        if self.step <= 0:
            return list(np.linspace(self.min, self.max, 11))
        n = int(round(self.span / self.step)) + 1
        return [round(self.min + i * self.step, 6) for i in range(n)]

    def to_dict(self) -> dict[str, float]:
        return {"min": self.min, "max": self.max, "step": self.step}


IMPLICIT_SCALE = RatingScale(0.0, 1.0, 1.0)  # implicit feedback: every interaction is 1.0


@dataclass
class ItemFeatures:
    """Item side information as indices: genres in CSR form and a year bucket per item."""

    genre_names: list[str]
    genre_offsets: np.ndarray  # int64 [n_items + 1]
    genre_index: np.ndarray  # int32 [nnz], ids into genre_names
    year: np.ndarray  # float32 [n_items], NaN where unknown
    year_bucket: np.ndarray  # int64 [n_items], 0 = unknown

    @property
    def n_genres(self) -> int:
        return len(self.genre_names)

    @property
    def n_year_buckets(self) -> int:
        return len(YEAR_EDGES) + 2

    def padded_genres(self) -> np.ndarray:
        """[n_items, max_genres] genre ids shifted by one, 0 = padding (for EmbeddingBag/sums)."""
        counts = np.diff(self.genre_offsets)
        width = max(1, int(counts.max()) if len(counts) else 1)
        out = np.zeros((len(counts), width), dtype=np.int64)
        rows = np.repeat(np.arange(len(counts)), counts)
        cols = np.arange(len(self.genre_index)) - np.repeat(self.genre_offsets[:-1], counts)
        out[rows, cols] = self.genre_index.astype(np.int64) + 1
        return out

    def genres_of(self, item: int) -> list[str]:
        lo, hi = self.genre_offsets[item], self.genre_offsets[item + 1]
        return [self.genre_names[g] for g in self.genre_index[lo:hi]]


@dataclass
class UserFeatures:
    """Categorical user attributes (age bucket, gender, occupation, ...) as integer codes.

    Code 0 of every field means "unknown" (a user missing from the user table, an empty value, a
    new user who gave nothing): models size each field's embedding ``len(vocab) + 1``.
    Numeric fields with many values (ages in ML-100K) are bucketed; ``edges[f]`` holds the bucket
    edges (code ``1 + searchsorted(edges, value, 'right')``), ``None`` for categorical fields.
    """

    fields: list[str]
    codes: np.ndarray  # int64 [n_users, n_fields], 0 = unknown
    vocab: list[list[str]]  # per field, the label of code 1, 2, ...
    edges: list[np.ndarray | None] = field(default_factory=list)

    @property
    def cardinalities(self) -> list[int]:
        return [len(v) + 1 for v in self.vocab]

    def encode(self, values: dict[str, Any] | None) -> np.ndarray:
        """int64 [n_fields] codes of one (new) user's raw values; unknown/missing/unseen -> 0.

        A categorical value matches a label exactly (then case-insensitively, then as a number:
        ``25`` matches ``'25'``); a bucketed numeric field takes a number (or a bucket label).
        """
        out = np.zeros(len(self.fields), dtype=np.int64)
        for f, name in enumerate(self.fields):
            value = (values or {}).get(name)
            if value is None or (isinstance(value, float) and np.isnan(value)):
                continue
            out[f] = self._code(f, value)
        return out

    def _code(self, f: int, value: Any) -> int:
        labels = self.vocab[f]
        text = str(value).strip()
        if text in labels:
            return labels.index(text) + 1
        edges = self.edges[f] if f < len(self.edges) else None
        if edges is not None:
            try:
                number = float(text)
            except ValueError:
                return 0
            if not np.isfinite(number):
                return 0
            return int(np.searchsorted(edges, number, side="right")) + 1
        lower = [label.lower() for label in labels]
        if text.lower() in lower:
            return lower.index(text.lower()) + 1
        try:
            number = float(text)
        except ValueError:
            return 0
        for i, label in enumerate(labels):
            try:
                if float(label) == number:
                    return i + 1
            except ValueError:
                continue
        return 0

    def allowed_values(self) -> dict[str, list[str]]:
        """Per field, the raw values a user can choose (code 1, 2, ... in order; '' = unknown)."""
        return {name: list(labels) for name, labels in zip(self.fields, self.vocab, strict=True)}


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

    @property
    def ratings_per_user(self) -> np.ndarray:
        return np.diff(self.user_offsets)

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

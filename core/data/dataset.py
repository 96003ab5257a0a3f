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
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import ColumnError, DatasetError, FormatError, ValueProblem

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
        # The step is the largest grid every rating lies on: gcd of the offsets from the minimum.
        offsets = np.round((values - lo) * 1e6).astype(np.int64)
        step = float(np.gcd.reduce(offsets)) / 1e6
        if step >= 0.01:
            return cls(lo, hi, round(step, 6))
        return cls(lo, hi, 0.0)

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
    """Categorical user attributes (age bucket, gender, occupation, ...) as integer codes."""

    fields: list[str]
    codes: np.ndarray  # int64 [n_users, n_fields], 0 = unknown
    vocab: list[list[str]]  # per field, the label of code 1, 2, ...

    @property
    def cardinalities(self) -> list[int]:
        return [len(v) + 1 for v in self.vocab]


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

    # --------------------------------------------------------------- summary
    @cached_property
    def fingerprint(self) -> str:
        """A content hash: a run trained on one dataset refuses to load against another."""
        h = hashlib.blake2b(digest_size=8)
        for arr in (self.user, self.item, self.rating):
            h.update(np.ascontiguousarray(arr).tobytes())
        h.update(np.asarray(self.item_ids).astype(str).astype(bytes).tobytes())
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
    values = np.atleast_1d(np.asarray(raw_ids, dtype=object))
    out = index.get_indexer(values)
    missing = out < 0
    if missing.any():
        # Retry with the other representation (ids typed as text vs. numbers).
        if index.dtype.kind in "iu":
            alt = pd.to_numeric(pd.Series(values[missing]), errors="coerce")
            ok = alt.notna().to_numpy() & np.isclose(alt.fillna(0) % 1, 0)
            retry = np.full(missing.sum(), -1)
            retry[ok] = index.get_indexer(alt[ok].astype(np.int64).to_numpy())
        else:
            retry = index.get_indexer(np.array([str(v) for v in values[missing]], dtype=object))
        out[missing] = retry
    return out.astype(np.int64)


# --------------------------------------------------------------------------- the builder
_TITLE_YEAR = re.compile(r"^(.*?)\s*\((\d{4})(?:[-–]\d{0,4})?\)\s*$")


def split_title_year(titles: pd.Series) -> tuple[pd.Series, pd.Series]:
    """'Toy Story (1995)' -> ('Toy Story', 1995); titles without a year keep NaN."""
    titles = titles.fillna("").astype(str)
    parts = titles.str.extract(_TITLE_YEAR)
    clean = parts[0].where(parts[0].notna(), titles).str.strip()
    year = pd.to_numeric(parts[1], errors="coerce")
    return clean, year


def _numeric(values: pd.Series, *, path: str | None, column: str, line_of) -> np.ndarray:
    """Convert a column to float64, naming the first non-numeric or missing value's line."""
    if pd.api.types.is_numeric_dtype(values.dtype):
        arr = values.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = ~np.isfinite(arr)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ValueProblem(
                f"rating is missing or not finite ({arr[row]}); {int(bad.sum())} such row(s)",
                path=path,
                line=line_of(row),
                column=column,
            )
        return arr
    converted = pd.to_numeric(values, errors="coerce")
    bad = converted.isna().to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raw = values.iloc[row]
        what = "is missing" if pd.isna(raw) or str(raw).strip() == "" else f"'{raw}' is not a number"
        raise ValueProblem(
            f"rating {what}; {int(bad.sum())} such row(s)",
            path=path,
            line=line_of(row),
            column=column,
        )
    arr = converted.to_numpy(dtype=np.float64)
    if not np.isfinite(arr).all():
        row = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise ValueProblem(
            f"rating '{values.iloc[row]}' is not finite", path=path, line=line_of(row), column=column
        )
    return arr


def _factorize_sorted(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Dense codes ordered by raw id (numeric ids numerically, others as text)."""
    codes, uniques = pd.factorize(values, sort=False)
    uniques = np.asarray(uniques)
    order = np.argsort(uniques, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[codes].astype(np.int32), uniques[order]


def _ids(values: pd.Series, *, path: str | None, column: str, line_of) -> pd.Series:
    if values.isna().any():
        row = int(np.flatnonzero(values.isna().to_numpy())[0])
        raise ValueProblem("id is missing", path=path, line=line_of(row), column=column)
    if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
        as_num = pd.to_numeric(values, errors="coerce")
        if as_num.notna().all() and (as_num % 1 == 0).all():
            return as_num.astype(np.int64)
        return values.astype(str).str.strip()
    if pd.api.types.is_float_dtype(values.dtype) and (values % 1 == 0).all():
        return values.astype(np.int64)
    return values


def _year_bucket(year: np.ndarray) -> np.ndarray:
    bucket = np.searchsorted(YEAR_EDGES, np.nan_to_num(year, nan=0.0), side="right") + 1
    bucket[~np.isfinite(year)] = 0
    return bucket.astype(np.int64)


def _genre_csr(genres: pd.Series) -> tuple[list[str], np.ndarray, np.ndarray]:
    lists = genres.fillna("").astype(str).str.split("|")
    lists = lists.map(lambda gs: [g.strip() for g in gs if g.strip() and g.strip() != NO_GENRE])
    names = sorted({g for gs in lists for g in gs})
    lookup = {g: i for i, g in enumerate(names)}
    counts = lists.map(len).to_numpy()
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    index = np.fromiter((lookup[g] for gs in lists for g in gs), dtype=np.int32, count=int(offsets[-1]))
    return names, offsets, index


def _user_features(users: pd.DataFrame) -> UserFeatures | None:
    fields, cols, vocab = [], [], []
    for name in users.columns:
        if name == "user_id":
            continue
        col = users[name]
        if pd.api.types.is_numeric_dtype(col.dtype) and col.nunique() > 12:
            edges = np.unique(np.nanquantile(col.to_numpy(dtype=float), [0.2, 0.4, 0.6, 0.8]))
            codes = np.searchsorted(edges, col.to_numpy(dtype=float), side="right") + 1
            codes[col.isna().to_numpy()] = 0
            labels = [f"<{edges[0]:g}"] + [f">={e:g}" for e in edges]
        else:
            cat = pd.Categorical(col.astype("string"))
            codes = cat.codes.astype(np.int64) + 1
            labels = [str(c) for c in cat.categories]
            if len(labels) > 1000:  # free text such as zip codes: not a useful feature
                continue
        fields.append(str(name))
        cols.append(codes.astype(np.int64))
        vocab.append(labels)
    if not fields:
        return None
    return UserFeatures(fields, np.stack(cols, axis=1), vocab)


def build_dataset(
    ratings: pd.DataFrame,
    *,
    name: str,
    source: str | Path,
    items: pd.DataFrame | None = None,
    users: pd.DataFrame | None = None,
    scale: RatingScale | None = None,
    path: str | Path | None = None,
    header_lines: int = 1,
    item_path: str | Path | None = None,
    truth: np.ndarray | None = None,
    item_header_lines: int = 1,
) -> RatingsDataset:
    """Validate raw columns and build a :class:`RatingsDataset`.

    ``ratings`` has columns ``user``, ``item``, ``rating`` and optionally ``timestamp``, in file
    order (row ``i`` is file line ``i + header_lines + 1``, used in error messages).
    ``items`` has ``item_id`` and any of ``title``, ``genres`` ('A|B'), ``year``; ``users`` has
    ``user_id`` and categorical columns. Duplicate (user, item) pairs keep the latest rating (by
    timestamp, else the last in the file) and the count is reported in ``notes``. Items rated
    but absent from a given item table are an error.
    """
    shown = str(path) if path is not None else None

    def line_of(row: int) -> int:
        return int(row) + header_lines + 1

    for col in ("user", "item", "rating"):
        if col not in ratings.columns:
            raise ColumnError(f"missing column '{col}'", path=shown)
    if len(ratings) == 0:
        raise FormatError("no ratings (the file is empty or has only a header)", path=shown)

    user_raw = _ids(ratings["user"], path=shown, column="user", line_of=line_of)
    item_raw = _ids(ratings["item"], path=shown, column="item", line_of=line_of)
    rating = _numeric(ratings["rating"], path=shown, column="rating", line_of=line_of)
    timestamp = None
    if "timestamp" in ratings.columns:
        ts = pd.to_numeric(ratings["timestamp"], errors="coerce")
        if ts.isna().any():
            row = int(np.flatnonzero(ts.isna().to_numpy())[0])
            raise ValueProblem(
                f"timestamp '{ratings['timestamp'].iloc[row]}' is not a number",
                path=shown,
                line=line_of(row),
                column="timestamp",
            )
        timestamp = ts.to_numpy(dtype=np.int64)

    if scale is None:
        scale = RatingScale.infer(rating)
    off = (rating < scale.min - 1e-9) | (rating > scale.max + 1e-9)
    if off.any():
        row = int(np.flatnonzero(off)[0])
        raise ValueProblem(
            f"rating {rating[row]:g} is off the scale {scale.min:g}..{scale.max:g}; "
            f"{int(off.sum())} such row(s)",
            path=shown,
            line=line_of(row),
            column="rating",
        )

    notes: list[str] = []
    user_code, user_ids = _factorize_sorted(user_raw)
    item_code, item_ids = _factorize_sorted(item_raw)
    n_items = len(item_ids)

    # One sort by (user, item) groups each user's ratings and exposes duplicate pairs.
    key = user_code.astype(np.int64) * n_items + item_code
    order = np.argsort(key, kind="stable")
    key_sorted = key[order]
    dup = key_sorted[1:] == key_sorted[:-1]
    if dup.any():
        n_dup = int(dup.sum())
        first_row = int(min(order[1:][dup].min(), order[:-1][dup].min()))
        if timestamp is not None:
            # Among equal keys, order by timestamp then file position; keep the last.
            order = np.lexsort((np.arange(len(key)), timestamp, key))
            key_sorted = key[order]
        keep = np.ones(len(order), dtype=bool)
        keep[:-1] = key_sorted[1:] != key_sorted[:-1]
        order = order[keep]
        notes.append(
            f"{n_dup} duplicate (user, item) rating(s) dropped, the latest kept "
            f"(first duplicate at line {line_of(first_row)})"
        )
    user_sorted = user_code[order]
    item_sorted = item_code[order]
    rating_sorted = rating[order].astype(np.float32)
    ts_sorted = timestamp[order] if timestamp is not None else None

    item_table = _item_table(items, item_ids, path=item_path, header_lines=item_header_lines)
    user_table = None
    user_features = None
    if users is not None:
        user_table = _user_table(users, user_ids, path=path)
        user_features = _user_features(user_table)

    names, offsets, index = _genre_csr(item_table["genres"])
    year = item_table["year"].to_numpy(dtype=np.float32, na_value=np.nan)
    features = ItemFeatures(names, offsets, index, year, _year_bucket(year))
    return RatingsDataset(
        name=name,
        source=str(source),
        user=user_sorted,
        item=item_sorted,
        rating=rating_sorted,
        timestamp=ts_sorted,
        user_ids=user_ids,
        item_ids=item_ids,
        items=item_table,
        users=user_table,
        scale=scale,
        item_features=features,
        user_features=user_features,
        notes=notes,
        truth=truth,
    )


def _item_table(
    items: pd.DataFrame | None, item_ids: np.ndarray, *, path, header_lines: int = 1
) -> pd.DataFrame:
    """One row per dense item, in dense order, with title, genres and year filled in."""
    base = pd.DataFrame({"item_id": item_ids})
    if items is None:
        base["title"] = [f"Item {i}" for i in item_ids]
        base["genres"] = ""
        base["year"] = np.nan
        return base
    if "item_id" not in items.columns:
        raise ColumnError("item table has no item id column", path=path)
    items = items.copy()
    shown = str(path) if path is not None else "item table"
    items["item_id"] = _ids(
        items["item_id"], path=shown, column="item_id", line_of=lambda r: r + header_lines + 1
    )
    items = items.drop_duplicates("item_id", keep="last")
    if items["item_id"].dtype != np.asarray(item_ids).dtype:
        if np.asarray(item_ids).dtype.kind in "iu":
            items["item_id"] = pd.to_numeric(items["item_id"], errors="coerce")
        else:
            items["item_id"] = items["item_id"].astype(str)
    table = base.merge(items, on="item_id", how="left", indicator=True)
    missing = table["_merge"] != "both"
    if missing.any():
        examples = ", ".join(str(v) for v in table.loc[missing, "item_id"].head(5))
        raise DatasetError(
            f"{int(missing.sum())} rated item(s) are missing from the item table, e.g. {examples}",
            path=path,
            column="item_id",
        )
    table = table.drop(columns="_merge")
    if "title" not in table.columns:
        table["title"] = [f"Item {i}" for i in item_ids]
    if "year" not in table.columns or table["year"].isna().all():
        clean, year = split_title_year(table["title"])
        table["title"], table["year"] = clean, year
    table["year"] = pd.to_numeric(table["year"], errors="coerce")
    table["title"] = table["title"].fillna("").astype(str)
    table.loc[table["title"] == "", "title"] = [f"Item {i}" for i in table.loc[table["title"] == "", "item_id"]]
    if "genres" not in table.columns:
        table["genres"] = ""
    table["genres"] = table["genres"].fillna("").astype(str)
    return table.reset_index(drop=True)


def _user_table(users: pd.DataFrame, user_ids: np.ndarray, path=None) -> pd.DataFrame:
    if "user_id" not in users.columns:
        raise ColumnError("user table has no user id column", path=path)
    users = users.drop_duplicates("user_id", keep="last").copy()
    if np.asarray(user_ids).dtype.kind in "iu":
        users["user_id"] = pd.to_numeric(users["user_id"], errors="coerce")
    return pd.DataFrame({"user_id": user_ids}).merge(users, on="user_id", how="left")

"""The builder: validate raw columns (ids, ratings, timestamps) and build a RatingsDataset."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from .dataset import (
    IMPLICIT_SCALE,
    NO_GENRE,
    YEAR_EDGES,
    ItemFeatures,
    RatingScale,
    RatingsDataset,
    UserFeatures,
)
from .errors import ColumnError, FormatError, ValueProblem
from .titles import item_titles
from .values import (
    align_ids,
    check_given_scale,
    dense_ids,
    ratings_column,
    scale_notes,
    timestamps_column,
)

_TITLE_YEAR = re.compile(r"^(.*?)\s*\((\d{4})(?:[-–]\d{0,4})?\)\s*$")


def split_title_year(titles: pd.Series) -> tuple[pd.Series, pd.Series]:
    """'Toy Story (1995)' -> ('Toy Story', 1995); titles without a year keep NaN."""
    titles = titles.fillna("").astype(str)
    parts = titles.str.extract(_TITLE_YEAR)
    clean = parts[0].where(parts[0].notna(), titles).str.strip()
    year = pd.to_numeric(parts[1], errors="coerce")
    return clean, year


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
    fields, cols, vocab, all_edges = [], [], [], []
    for name in users.columns:
        if name == "user_id":
            continue
        col = users[name]
        if pd.api.types.is_numeric_dtype(col.dtype) and col.nunique() > 12:
            edges = np.unique(np.nanquantile(col.to_numpy(dtype=float), [0.2, 0.4, 0.6, 0.8]))
            codes = np.searchsorted(edges, col.to_numpy(dtype=float), side="right") + 1
            codes[col.isna().to_numpy()] = 0
            labels = [f"<{edges[0]:g}"] + [f">={e:g}" for e in edges]
            field_edges: np.ndarray | None = edges
        else:
            field_edges = None
            text = col.astype("string").str.strip()
            cat = pd.Categorical(text.where(text != "", None))
            codes = cat.codes.astype(np.int64) + 1
            labels = [str(c) for c in cat.categories]
            if len(labels) > 1000:  # free text such as zip codes: not a useful feature
                continue
        fields.append(str(name))
        cols.append(codes.astype(np.int64))
        vocab.append(labels)
        all_edges.append(field_edges)
    if not fields:
        return None
    return UserFeatures(fields, np.stack(cols, axis=1), vocab, all_edges)


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
    notes: list[str] | None = None,
    strict_scale: bool = False,
    row_lines: np.ndarray | None = None,
    columns: dict[str, str] | None = None,
    item_columns: dict[str, str] | None = None,
    titles: pd.Series | None = None,
) -> RatingsDataset:
    """Validate raw columns and build a :class:`RatingsDataset`.

    ``ratings`` has columns ``user``, ``item``, optionally ``rating`` and ``timestamp``, in file
    order (row ``i`` is file line ``i + header_lines + 1``, used in error messages).
    ``items`` has ``item_id`` and any of ``title``, ``genres`` ('A|B'), ``year``; ``users`` has
    ``user_id`` and categorical columns. ``notes`` (e.g. how a file was decoded) come first in the
    dataset's notes. ``row_lines`` gives each row's line where rows are not consecutive lines.
    ``columns`` / ``item_columns`` give the files' own names of the columns (role -> name, e.g.
    ``{"item": "ISBN"}``, ``{"item_id": "ISBN"}``), for messages. ``titles`` (one per row, no
    item table) names the items: the first non-empty title of each (see :mod:`.titles`).

    * No ``rating`` column, or (scale not given) every rating equal: implicit feedback, ratings
      1.0 on the scale 0..1 (see :attr:`RatingsDataset.implicit`), with a note.
    * A given ``scale`` refuses ratings outside it; ratings off its step are refused when
      ``strict_scale`` (the format fixes the step, e.g. whole stars) and noted otherwise.
    * Duplicate (user, item) pairs keep the latest rating (by timestamp, else the last in the
      file); the count is noted. Items rated but absent from a given item table are kept
      (without title or features), with a note.
    * Fewer than 2 users or 2 items is refused: nothing can be recommended from it.
    """
    shown = str(path) if path is not None else None
    notes = list(notes or [])
    names = {role: role for role in ("user", "item", "rating", "timestamp")}
    names.update(columns or {})

    def line_of(row: int) -> int:
        if row_lines is not None:
            return int(row_lines[row])
        return int(row) + header_lines + 1

    for col in ("user", "item"):
        if col not in ratings.columns:
            raise ColumnError(f"missing column '{col}'", path=shown)
    if len(ratings) == 0:
        raise FormatError("no ratings (the file is empty or has only a header)", path=shown)

    user_code, user_ids = dense_ids(
        ratings["user"], path=shown, column=names["user"], line_of=line_of
    )
    item_code, item_ids = dense_ids(
        ratings["item"], path=shown, column=names["item"], line_of=line_of
    )
    for what, ids in (("user", user_ids), ("item", item_ids)):
        if len(ids) < 2:
            notes.append(
                f"only 1 {what} ({ids[0]}) in {len(ratings)} row(s): a recommender learns from "
                "several users and items, so nothing can be trained or evaluated on this"
            )
    timestamp = None
    if "timestamp" in ratings.columns:
        timestamp = timestamps_column(
            ratings["timestamp"], path=shown, column=names["timestamp"], line_of=line_of
        )

    implicit = "rating" not in ratings.columns
    if implicit:
        rating = np.ones(len(ratings), dtype=np.float64)
        notes.append("no rating column: loaded as implicit feedback (each interaction counts 1)")
    else:
        rating = ratings_column(
            ratings["rating"], path=shown, column=names["rating"], line_of=line_of
        )
        constant = bool((rating == rating[0]).all())
        if scale is not None:
            check_given_scale(
                rating, scale, strict=strict_scale, path=shown, column=names["rating"],
                line_of=line_of,
                notes=notes,
            )  # fmt: skip
            if constant:
                notes.append(
                    f"every rating is {rating[0]:g}: ratings tell nothing apart, so rating "
                    "metrics mean little (load it without the rating column for implicit feedback)"
                )
            notes.extend(scale_notes(rating, scale, inferred=False, line_of=line_of))
        elif constant:
            implicit = True
            notes.append(
                f"every rating is {rating[0]:g}: loaded as implicit feedback (each interaction "
                "counts 1; no rating scale is invented)"
            )
            rating = np.ones(len(ratings), dtype=np.float64)
        else:
            scale = RatingScale.infer(rating)
            notes.extend(scale_notes(rating, scale, inferred=True, line_of=line_of))
    if implicit:
        scale = IMPLICIT_SCALE
    assert scale is not None

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
        if implicit:
            notes.append(
                f"{n_dup} repeated (user, item) interaction(s) merged: each pair counts once "
                f"(first repeat at line {line_of(first_row)})"
            )
        else:
            notes.append(
                f"{n_dup} duplicate (user, item) rating(s) dropped, the latest kept "
                f"(first duplicate at line {line_of(first_row)})"
            )
        del keep
    del key, key_sorted
    user_sorted = user_code[order]
    item_sorted = item_code[order]
    rating_sorted = rating[order].astype(np.float32)
    ts_sorted = timestamp[order] if timestamp is not None else None

    if titles is not None and items is None:
        items, title_notes = item_titles(
            titles, item_code, item_ids, column=names.get("title", "title"), path=shown
        )
        notes.extend(title_notes)
    id_column = (item_columns or {}).get("item_id", "item_id")
    if items is not None:
        # The catalogue is the item table: items nobody rated get dense ids after the rated ones
        # (scored from their features, never silently dropped).
        item_ids = _with_unrated(
            items, item_ids, path=item_path, header_lines=item_header_lines, column=id_column
        )
        n_unrated = len(item_ids) - n_items
        if n_unrated:
            notes.append(
                f"{n_unrated:,} item(s) of the item table have no rating: kept in the catalogue, "
                "scored from their features (genres, year)"
            )
    item_table = _item_table(
        items, item_ids, path=item_path, header_lines=item_header_lines, column=id_column,
        notes=notes,
    )  # fmt: skip
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
        implicit=implicit,
    )


def _with_unrated(
    items: pd.DataFrame, item_ids: np.ndarray, *, path, header_lines: int = 1, column: str
) -> np.ndarray:
    """``item_ids`` (the rated items, sorted) followed by the item table's other ids, sorted.

    Table ids are read in the ratings' id form (:func:`align_ids`); an id that cannot take that
    form (text such as ``007`` beside integer ids in the ratings) cannot be rated and is skipped.
    """
    if "item_id" not in items.columns:
        raise ColumnError("item table has no item id column", path=path)
    missing_id = items["item_id"].isna().to_numpy()
    if missing_id.any():
        raise ValueProblem(
            "item id is missing", path=str(path) if path is not None else "item table",
            line=int(np.flatnonzero(missing_id)[0]) + header_lines + 1, column=column,
        )  # fmt: skip
    table_ids = align_ids(items["item_id"], item_ids).dropna()
    rated = pd.Index(item_ids)
    extra = pd.unique(table_ids[~table_ids.isin(rated)].to_numpy())
    if len(extra) == 0:
        return item_ids
    if np.asarray(item_ids).dtype.kind in "iu":
        extra = np.sort(np.asarray(extra, dtype=np.int64))
        return np.concatenate([item_ids, extra.astype(np.asarray(item_ids).dtype)])
    extra = np.asarray(sorted(str(v) for v in extra if str(v) != ""), dtype=object)
    return np.concatenate([np.asarray(item_ids, dtype=object), extra])


def _item_table(
    items: pd.DataFrame | None,
    item_ids: np.ndarray,
    *,
    path,
    header_lines: int = 1,
    column: str = "item_id",
    notes: list[str] | None = None,
) -> pd.DataFrame:
    """One row per dense item, in dense order, with title, genres and year filled in.

    A rated item missing from ``items`` keeps its place with no title (``Item <id>``), genres
    or year, and a note (in ``notes``) says how many and which."""
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
    missing_id = items["item_id"].isna().to_numpy()
    if missing_id.any():
        raise ValueProblem(
            "item id is missing", path=shown, line=int(np.flatnonzero(missing_id)[0]) + header_lines + 1,
            column=column,
        )  # fmt: skip
    items["item_id"] = align_ids(items["item_id"], item_ids)
    items = items[items["item_id"].notna()].drop_duplicates("item_id", keep="last")
    if np.asarray(item_ids).dtype.kind in "iu":
        items["item_id"] = items["item_id"].astype(np.int64)
    table = base.merge(items, on="item_id", how="left", indicator=True)
    missing = table["_merge"] != "both"
    if missing.any() and notes is not None:
        n_missing = int(missing.sum())
        where = f" {Path(str(path)).name}" if path is not None else ""
        examples = ", ".join(str(v) for v in table.loc[missing, "item_id"].head(5))
        more = ", ..." if n_missing > 5 else ""
        notes.append(
            f"{n_missing:,} rated item(s) are not in the item table{where}: they have "
            f"no title or features (e.g. {examples}{more})"
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
    users = users.copy()
    users["user_id"] = align_ids(users["user_id"], user_ids)
    users = users[users["user_id"].notna()].drop_duplicates("user_id", keep="last")
    if np.asarray(user_ids).dtype.kind in "iu":
        users["user_id"] = users["user_id"].astype(np.int64)
    return pd.DataFrame({"user_id": user_ids}).merge(users, on="user_id", how="left")

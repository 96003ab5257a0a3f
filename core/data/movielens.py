"""MovieLens in its published layouts: 100K (u.data), 1M/10M (ratings.dat) and the CSV family.

A folder or a .zip is accepted as downloaded from GroupLens, including the usual single sub-folder
(``ml-1m.zip`` holds ``ml-1m/ratings.dat``). Zip members are streamed, never extracted. The big
ratings file is read with pyarrow and explicit column types (int32 ids, float32 ratings, int64
timestamps), which is what keeps the 25M file within seconds and a few GB; everything then goes
through :func:`~core.data.dataset.build_dataset` for validation.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from .build import build_dataset, split_title_year
from .dataset import RatingScale, RatingsDataset
from .errors import DatasetError, FormatError
from .mapping import guess_mapping
from .mllayout import (
    EXPECTED,
    KEY_FILES,
    SIDE_FILES,
    MovieLensLayout,
    _csv_header,
    _listing,
    describe_layout,
    detect_movielens,
    find_layout,
    is_movielens_file,
)
from .reader import ReadSpec, file_lines, read_frame
from .sniff import column_error
from .source import Source, decode_sample, detect_encoding
from .ziptable import deep_tables

__all__ = [
    "EXPECTED",
    "KEY_FILES",
    "SIDE_FILES",
    "MovieLensLayout",
    "describe_layout",
    "detect_movielens",
    "find_layout",
    "is_movielens_file",
    "load_movielens",
]


GENRES_100K = [
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance",
    "Sci-Fi", "Thriller", "War", "Western",
]  # fmt: skip
# ML-1M README: age and occupation are codes.
AGES_1M = {
    1: "Under 18",
    18: "18-24",
    25: "25-34",
    35: "35-44",
    45: "45-49",
    50: "50-55",
    56: "56+",
}
OCCUPATIONS_1M = [
    "other", "academic/educator", "artist", "clerical/admin", "college/grad student",
    "customer service", "doctor/health care", "executive/managerial", "farmer", "homemaker",
    "K-12 student", "lawyer", "programmer", "retired", "sales/marketing", "scientist",
    "self-employed", "technician/engineer", "tradesman/craftsman", "unemployed", "writer",
]  # fmt: skip

_RATING_TYPES = {
    "user": pa.int32(),
    "item": pa.int32(),
    "rating": pa.float32(),
    "timestamp": pa.int64(),
}
_LABELS = {"user": "user id", "item": "item id", "rating": "rating", "timestamp": "timestamp",
           "item_id": "item id", "user_id": "user id", "age": "age"}  # fmt: skip


def load_movielens(path: str | Path, *, scale: RatingScale | None = None) -> RatingsDataset:
    """Load MovieLens 100K, 1M/10M or a CSV-family release from a folder or a .zip.

    ``scale`` replaces the release's own scale (whose step is otherwise enforced: whole stars in
    100K and 1M). Side files (titles, users) are decoded as UTF-8 when they are, else Latin-1.
    """
    layout = find_layout(path)
    if layout is None:
        hint = _listing(Path(path))
        deep = deep_tables(path, movielens=True)
        if deep:
            folder = deep[0].rsplit("/", 1)[0]
            hint += (f"; {deep[0]} is deeper than one folder, where it is not looked for: unzip "
                     f"it and give the folder {folder}")  # fmt: skip
        raise FormatError(
            f"not a recognised MovieLens layout: expected {EXPECTED}", path=path, hint=hint
        )
    if layout.kind == "100k":
        return _load_100k(layout, scale)
    if layout.kind == "1m":
        return _load_dat(layout, scale)
    return _load_csv_family(layout, scale)


# --------------------------------------------------------------------------- shared helpers
def _read(
    src: Source,
    *,
    delimiter: str,
    columns: list[str],
    types: dict[str, pa.DataType],
    encoding: str,
    include: list[str] | None = None,
    has_header: bool = False,
    quoting: bool = False,
    notes: list[str] | None = None,
) -> pd.DataFrame:
    """Read one file of a layout. ``notes`` given: a side file, whose encoding is detected
    (UTF-8 first, then ``encoding``, the format's legacy one) and noted."""
    _, encoding = decode_sample(src, encoding)  # empty / UTF-16 / binary files fail here
    if notes is not None:
        encoding, note = detect_encoding(src, legacy="latin-1")
        if note:
            notes.append(note)
    spec = ReadSpec(
        delimiter,
        has_header,
        columns,
        include=include or list(columns),
        types=types,
        encoding=encoding,
        quoting=quoting,
    )
    with file_lines(src):
        return read_frame(src, spec, _LABELS)


def _build(
    layout: MovieLensLayout,
    ratings: pd.DataFrame,
    *,
    header_lines: int,
    items: pd.DataFrame | None,
    users: pd.DataFrame | None,
    item_file: str,
    notes: list[str],
    scale: RatingScale | None = None,
) -> RatingsDataset:
    key = layout.files[KEY_FILES[layout.kind]]
    csv = layout.kind == "csv"  # with a header: messages use its column names
    item_src = layout.files.get(item_file)
    with file_lines(key):
        return build_dataset(
            ratings,
            name=layout.title,
            source=str(layout.root),
            items=items,
            users=users,
            scale=scale or layout.scale,
            strict_scale=scale is None,  # the format's own scale: whole stars where it says so
            notes=notes,
            path=key.shown,
            header_lines=header_lines,
            item_path=item_src.shown if item_src else None,
            item_header_lines=1 if csv else 0,
            columns={role: name for name, role in _CSV_RATINGS.items()} if csv else None,
            item_columns={"item_id": "movieId"} if csv else None,
        )


# --------------------------------------------------------------------------- 100K
def _genre_names_100k(layout: MovieLensLayout, notes: list[str]) -> list[str]:
    src = layout.files.get("u.genre")
    if src is None:
        return list(GENRES_100K)
    frame = _read(
        src,
        delimiter="|",
        columns=["name", "id"],
        types={"name": pa.string(), "id": pa.int64()},
        encoding="latin-1",
        notes=notes,
    )
    return [str(n) for n in frame.sort_values("id")["name"]]


def _load_100k(layout: MovieLensLayout, scale: RatingScale | None) -> RatingsDataset:
    notes: list[str] = []
    ratings = _read(
        layout.files["u.data"],
        delimiter="\t",
        columns=list(_RATING_TYPES),
        types=_RATING_TYPES,
        encoding="utf-8",
    )
    items = None
    if "u.item" in layout.files:
        genres = _genre_names_100k(layout, notes)
        flags = [f"genre{i}" for i in range(len(genres))]
        base = ["item_id", "title", "release_date", "video_release_date", "url"]
        frame = _read(
            layout.files["u.item"],
            delimiter="|",
            columns=base + flags,
            include=["item_id", "title", "release_date", *flags],
            types={
                "item_id": pa.int64(),
                "title": pa.string(),
                "release_date": pa.string(),
                **{f: pa.int8() for f in flags},
            },
            encoding="latin-1",
            notes=notes,
        )
        matrix = frame[flags].fillna(0).to_numpy(dtype=bool)
        # 'unknown' is the 100K's "no genre" flag, not a genre to learn from.
        names = np.array([g if g != "unknown" else "" for g in genres], dtype=object)
        joined = ["|".join(n for n in names[row] if n) for row in matrix]
        title, year = split_title_year(frame["title"])
        released = frame["release_date"].astype("string").str.extract(r"(\d{4})\s*$")[0]
        year = year.fillna(pd.to_numeric(released, errors="coerce"))
        items = pd.DataFrame(
            {"item_id": frame["item_id"], "title": title, "genres": joined, "year": year}
        )
    users = None
    if "u.user" in layout.files:
        frame = _read(
            layout.files["u.user"],
            delimiter="|",
            columns=["user_id", "age", "gender", "occupation", "zip"],
            include=["user_id", "age", "gender", "occupation"],
            types={
                "user_id": pa.int64(),
                "age": pa.int64(),
                "gender": pa.string(),
                "occupation": pa.string(),
            },
            encoding="latin-1",
            notes=notes,
        )
        users = frame[["user_id", "age", "gender", "occupation"]]
    return _build(
        layout, ratings, header_lines=0, items=items, users=users, item_file="u.item",
        notes=notes, scale=scale,
    )  # fmt: skip


# --------------------------------------------------------------------------- 1M / 10M
def _label(labels: dict[int, str]) -> Callable[[float], str | None]:
    """Code -> label ('56' -> '56+'); unknown codes keep their number, missing stay missing."""

    def label(code: float) -> str | None:
        if pd.isna(code):
            return None
        return labels.get(int(code), f"code {int(code)}")

    return label


def _load_dat(layout: MovieLensLayout, scale: RatingScale | None) -> RatingsDataset:
    notes: list[str] = []
    ratings = _read(
        layout.files["ratings.dat"],
        delimiter="::",
        columns=list(_RATING_TYPES),
        types=_RATING_TYPES,
        encoding="utf-8",
    )
    items = None
    if "movies.dat" in layout.files:
        items = _read(
            layout.files["movies.dat"],
            delimiter="::",
            columns=["item_id", "title", "genres"],
            types={"item_id": pa.int64(), "title": pa.string(), "genres": pa.string()},
            encoding="latin-1",
            notes=notes,
        )
    users = None
    if "users.dat" in layout.files:
        frame = _read(
            layout.files["users.dat"],
            delimiter="::",
            columns=["user_id", "gender", "age", "occupation", "zip"],
            include=["user_id", "gender", "age", "occupation"],
            types={
                "user_id": pa.int64(),
                "gender": pa.string(),
                "age": pa.int64(),
                "occupation": pa.int64(),
            },
            encoding="latin-1",
            notes=notes,
        )
        occupation = frame["occupation"].map(_label(dict(enumerate(OCCUPATIONS_1M))))
        age = frame["age"].map(_label(AGES_1M))
        users = pd.DataFrame(
            {
                "user_id": frame["user_id"],
                "age": age,
                "gender": frame["gender"],
                "occupation": occupation,
            }
        )
    return _build(
        layout, ratings, header_lines=0, items=items, users=users, item_file="movies.dat",
        notes=notes, scale=scale,
    )  # fmt: skip


# --------------------------------------------------------------------------- CSV family
_CSV_RATINGS = {"userId": "user", "movieId": "item", "rating": "rating", "timestamp": "timestamp"}


def _load_csv_family(layout: MovieLensLayout, scale: RatingScale | None) -> RatingsDataset:
    src = layout.files["ratings.csv"]
    columns, encoding = _csv_header(src)
    if not any("movieId" in c for c in columns):  # (a wrong separator still says movieId)
        return _generic_ratings_csv(src, columns, scale)
    for needed in ("userId", "movieId", "rating"):
        if needed not in columns:
            raise column_error(src.shown, needed, _CSV_RATINGS[needed], columns, ",")
    include = [c for c in _CSV_RATINGS if c in columns]
    spec = ReadSpec(
        ",",
        True,
        columns,
        include=include,
        types={c: _RATING_TYPES[_CSV_RATINGS[c]] for c in include},
        encoding=encoding,
    )
    labels = {c: _LABELS[_CSV_RATINGS[c]] for c in include}
    with file_lines(src):
        ratings = read_frame(src, spec, labels).rename(columns=_CSV_RATINGS)
    items = None
    if "movies.csv" in layout.files:
        items = _movies_csv(layout.files["movies.csv"])
    return _build(
        layout, ratings, header_lines=1, items=items, users=None, item_file="movies.csv",
        notes=[], scale=scale,
    )  # fmt: skip


def _generic_ratings_csv(
    src: Source, columns: list[str], scale: RatingScale | None
) -> RatingsDataset:
    """A ratings.csv that is not MovieLens (goodbooks-10k: user_id, book_id, rating)."""
    from .table import load_table  # (table imports nothing from here; avoid a cycle at import)

    mapping = guess_mapping(columns)
    if mapping is None:
        shown = ", ".join(f"'{c}'" for c in columns)
        raise DatasetError(
            f"not MovieLens (no userId/movieId columns) and no user/item columns recognised; "
            f"the file has columns {shown}",
            path=src.shown,
            hint="give a column mapping",
        )
    note = "ratings.csv is not MovieLens (no userId/movieId columns): read as a generic table"
    return load_table(src, mapping, scale=scale, notes=[note])


def _movies_csv(src: Source) -> pd.DataFrame:
    columns, encoding = _csv_header(src)
    for needed in ("movieId", "title"):
        if needed not in columns:
            role = {"movieId": "movie id", "title": "title"}[needed]
            raise column_error(src.shown, needed, role, columns, ",")
    types = {"movieId": pa.int64(), "title": pa.string()}
    if "genres" in columns:
        types["genres"] = pa.string()
    if "year" in columns:
        types["year"] = pa.float64()
    spec = ReadSpec(",", True, columns, include=list(types), types=types, encoding=encoding)
    with file_lines(src):
        frame = read_frame(src, spec, {"movieId": "movie id", "year": "year"})
    return frame.rename(columns={"movieId": "item_id"})

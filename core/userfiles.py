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
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .data.errors import ColumnError, DatasetError, FormatError, ValueProblem

# column role -> accepted header names (compared lower-case, without spaces, '_' and '-')
SYNONYMS: dict[str, tuple[str, ...]] = {
    "user": ("user", "userid", "username", "uid", "customer", "customerid", "reviewerid"),
    "item": ("item", "itemid", "movie", "movieid", "film", "book", "bookid", "isbn", "asin",
             "businessid", "product", "productid", "track", "artist", "id", "title", "name"),
    "rating": ("rating", "ratings", "stars", "star", "score", "value"),
}


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


# --------------------------------------------------------------------------- reading
def _reader():
    """The dataset loader's reader (core.data): Source, open_table, physical_line, read_frame."""
    from .data import table

    try:
        from .data.reader import physical_line, read_frame
    except ImportError:
        physical_line, read_frame = table.physical_line, table.read_frame
    try:
        from .data.source import Source
    except ImportError:
        Source = table.Source
    return Source, table.open_table, physical_line, read_frame


def _norm_header(name: str) -> str:
    return re.sub(r"[\s_\-.]", "", str(name).strip().lower())


def read_user_table(
    path: str | Path, required: Sequence[str], optional: Sequence[str] = ()
) -> tuple[pd.DataFrame, np.ndarray, str]:
    """Columns ``required`` + ``optional`` (roles, see ``SYNONYMS``) of a user's table as text.

    Returns (frame with one column per role found, the file line of each row, the name to show).
    """
    from dataclasses import replace

    import pyarrow as pa

    Source, open_table, physical_line, read_frame = _reader()
    shown = str(path)
    p = Path(path)
    if not p.exists():
        raise FormatError("no such file", path=shown)
    src = Source.file(p)
    table = open_table(src, has_header=True)
    if table.parquet:
        raise FormatError("a user's ratings must be a CSV/TSV text file", path=shown)
    by_norm: dict[str, str] = {}
    for col in table.columns:
        by_norm.setdefault(_norm_header(col), col)
    chosen: dict[str, str] = {}
    for role in (*required, *optional):
        for name in SYNONYMS.get(role, (role,)):
            col = by_norm.get(name)
            if col is not None and col not in chosen.values():
                chosen[role] = col
                break
    missing = [r for r in required if r not in chosen]
    if missing:
        wanted = ", ".join(required) + "".join(f"[,{o}]" for o in optional)
        raise ColumnError(
            f"missing column(s) {', '.join(missing)}; the file has "
            f"{', '.join(table.columns) or 'no columns'} (expected a header line: {wanted})",
            path=shown,
        )
    assert table.spec is not None
    cols = list(chosen.values())
    spec = replace(table.spec, include=cols, types={c: pa.string() for c in cols})
    frame = read_frame(src, spec)
    frame = pd.DataFrame({role: frame[col] for role, col in chosen.items()})
    for role in frame.columns:
        frame[role] = frame[role].map(lambda v: v.strip() if isinstance(v, str) else v)
    first_row_line = spec.header_lines + 1
    lines = np.arange(first_row_line, first_row_line + len(frame))
    if len(frame) and physical_line(src, int(lines[-1])) != int(lines[-1]):  # blank lines
        lines = np.array([physical_line(src, int(n)) for n in lines])
    return frame.reset_index(drop=True), lines, shown


# --------------------------------------------------------------------------- items
_ARTICLE = re.compile(r"^(.*), (the|a|an|la|le|les|l'|el|il|die|der|das)$", re.IGNORECASE)
_YEAR = re.compile(r"^(.*?)\s*\((\d{4})\)\s*$")


def _norm_title(text: str) -> str:
    """Lower-case, single spaces, 'Matrix, The' -> 'the matrix'."""
    t = " ".join(str(text).split()).casefold()
    year = ""
    y = _YEAR.match(t)
    if y:
        t, year = y.group(1), f" ({y.group(2)})"
    m = _ARTICLE.match(t)
    if m:
        t = f"{m.group(2)} {m.group(1)}"
    return t + year


class ItemMatcher:
    """Raw item ids and titles of a dataset -> dense item indices."""

    def __init__(self, dataset) -> None:
        self.dataset = dataset
        self._titles: dict[str, list[int]] | None = None

    def _title_index(self) -> dict[str, list[int]]:
        if self._titles is None:
            index: dict[str, list[int]] = {}
            items = self.dataset.items
            titles = items["title"].fillna("").astype(str).to_numpy() if "title" in items else []
            years = items["year"].to_numpy() if "year" in items else [None] * len(titles)
            for i, (title, year) in enumerate(zip(titles, years, strict=False)):
                if not title:
                    continue
                keys = {_norm_title(title)}
                if year is not None and not pd.isna(year):
                    keys.add(f"{_norm_title(title)} ({int(year)})")
                for key in keys:
                    index.setdefault(key, []).append(i)
            self._titles = index
        return self._titles

    def label(self, item: int) -> str:
        row = self.dataset.items.iloc[item]
        title = str(row.get("title", "") or "")
        year = row.get("year")
        if year is not None and not pd.isna(year):
            title = f"{title} ({int(year)})"
        return f"{title} [id {self.dataset.item_ids[item]}]" if title else f"id {self.dataset.item_ids[item]}"

    def match(self, values: Sequence[str]) -> list[tuple[int, str | None, str | None]]:
        """(dense index or -1, problem or None, note or None) per value: an id first, then a
        title (exact, then the start of a longer title: 'Star Wars (1977)' finds 'Star Wars:
        Episode IV - A New Hope (1977)', said in the note)."""
        ids = self.dataset.item_index(np.asarray(list(values), dtype=object))
        out = []
        for raw, idx in zip(values, ids, strict=True):
            if idx >= 0:
                out.append((int(idx), None, None))
                continue
            out.append(self._by_title(raw))
        return out

    def _plain_titles(self) -> list[tuple[str, int]]:
        if not hasattr(self, "_plain"):
            index = self._title_index()
            self._plain = [(k, i) for k, items in index.items() if not _YEAR.match(k)
                           for i in items]
        return self._plain

    def _by_title(self, raw: str) -> tuple[int, str | None, str | None]:
        index = self._title_index()
        key = _norm_title(raw)
        hits = index.get(key)
        note = None
        m = _YEAR.match(key)
        base, year = (m.group(1), int(m.group(2))) if m else (key, None)
        if hits is None and m and base in index:  # a year the item table does not have
            hits = [i for i in index[base] if self._year(i) in (None, year)] or None
        if hits is None and len(base) >= 3:  # the start of a longer title
            n = len(base)
            starts = sorted({i for t, i in self._plain_titles()
                             if t.startswith(base) and len(t) > n and t[n] in ":-,( ."})
            if year is not None:
                starts = [i for i in starts if self._year(i) == year]
            if starts:
                hits = starts
                if len(hits) == 1:
                    note = f"'{raw}' read as {self.label(hits[0])}"
        if hits is None:
            close = difflib.get_close_matches(key, list(index), n=3, cutoff=0.75)
            hint = ""
            if close:
                names = sorted({self.label(i) for k in close for i in index[k]})[:3]
                hint = "; did you mean " + " or ".join(f"'{n}'" for n in names) + "?"
            return -1, f"'{raw}' is neither an item id nor a title of this dataset{hint}", None
        if len(hits) > 1:
            shown = ", ".join(self.label(i) for i in hits[:6])
            more = f" and {len(hits) - 6} more" if len(hits) > 6 else ""
            example = next((self.label(i).rsplit(" [id", 1)[0] for i in hits
                            if self._year(i) is not None), None)
            how = f"write the year, e.g. '{example}', or use" if example else "use"
            return -1, (f"title '{raw}' matches {len(hits)} items: {shown}{more}; {how} "
                        "the item id"), None
        return hits[0], None, note

    def _year(self, item: int) -> int | None:
        if "year" not in self.dataset.items:
            return None
        year = self.dataset.items["year"].iloc[item]
        return None if pd.isna(year) else int(year)


# --------------------------------------------------------------------------- ratings
def _is_implicit(dataset) -> bool:
    return bool(getattr(dataset, "implicit", False))


def check_rating(value: Any, scale, *, path: str, line: int) -> float:
    """A rating from a user's file as a float on the dataset's scale, or a clear error."""
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
    path: str | Path, dataset, *, skip_unknown: bool = False, user_column: bool = True
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
    items = frame["item"].fillna("").astype(str).tolist()
    matches = matcher.match(items)
    notes: list[str] = []
    out: dict[str, dict[int, float]] = {}
    first_line: dict[tuple[str, int], int] = {}
    for row, (raw, (idx, problem, matched)) in enumerate(zip(items, matches, strict=True)):
        line = int(lines[row])
        if matched:
            notes.append(f"{shown}, line {line}: {matched}")
        user = str(frame["user"].iloc[row]) if has_users else ""
        if has_users and (frame["user"].iloc[row] is None or not user.strip()
                          or user == "nan"):
            raise ValueProblem("the user is empty", path=shown, line=line, column="user")
        if not raw:
            raise ValueProblem("the item is empty", path=shown, line=line, column="item")
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


def read_user_items(path: str | Path, dataset) -> UserItems:
    """A query file ``user,item``: which items to predict for which user (unknown -> -1)."""
    frame, lines, shown = read_user_table(path, ["user", "item"])
    matcher = ItemMatcher(dataset)
    raws = frame["item"].fillna("").astype(str).tolist()
    notes: list[str] = []
    out: dict[str, list[tuple[str, int, int]]] = {}
    for row, (raw, (idx, problem, matched)) in enumerate(
            zip(raws, matcher.match(raws), strict=True)):
        line = int(lines[row])
        if matched:
            notes.append(f"{shown}, line {line}: {matched}")
        user = frame["user"].iloc[row]
        if user is None or not str(user).strip():
            raise ValueProblem("the user is empty", path=shown, line=line, column="user")
        if idx < 0:
            notes.append(f"{shown}, line {line}: {problem}: no prediction")
        out.setdefault(str(user), []).append((raw, idx, line))
    return UserItems(shown, out, notes)


# --------------------------------------------------------------------------- user features
def parse_pairs(pairs: Iterable[str], option: str, key: str = "KEY") -> dict[str, str]:
    """``['a=1', 'b = 2']`` -> {'a': '1', 'b': '2'}; raises ValueError naming ``option`` for an
    item without ``=`` or with an empty key."""
    out: dict[str, str] = {}
    for pair in pairs:
        if "=" not in pair or not pair.split("=", 1)[0].strip():
            raise ValueError(f"{option} expects {key}=VALUE, got '{pair}'")
        name, value = pair.split("=", 1)
        out[name.strip()] = value.strip()
    return out


def parse_user_features(pairs: Iterable[str]) -> dict[str, str]:
    """``['gender=F', 'age=25']`` -> {'gender': 'F', 'age': '25'} (a clear error otherwise)."""
    return parse_pairs(pairs, "--user-feature", "FIELD")


def user_feature_codes(dataset, features: Mapping[str, str] | None) -> np.ndarray | None:
    """Codes of a new user's features for ``new_user_batch`` (0 = unknown), or None when the
    dataset has no user features. Unknown field names are an error naming the valid ones."""
    uf = getattr(dataset, "user_features", None)
    features = dict(features or {})
    if uf is None:
        if features:
            raise ValueError(
                f"this dataset has no user features; --user-feature {next(iter(features))}=... "
                "cannot be used"
            )
        return None
    unknown = [k for k in features if k not in uf.fields]
    if unknown:
        raise ValueError(f"unknown user feature(s) {', '.join(unknown)}; this dataset has "
                         f"{', '.join(uf.fields)}")
    encode = getattr(dataset, "encode_user_features", None)
    if encode is not None:
        codes = np.asarray(encode(features), dtype=np.int64).reshape(-1)
        unseen = [f"{k}={v}" for k, v in features.items() if codes[uf.fields.index(k)] == 0]
        if unseen:
            raise ValueError(
                f"user feature value(s) {', '.join(unseen)} never occur in this dataset; "
                + "; ".join(f"{k}: {', '.join(map(str, uf.vocab[uf.fields.index(k)][:12]))}"
                            for k in (u.split('=', 1)[0] for u in unseen))
                + " (leave a feature out to keep it unknown)")
        return codes
    codes = np.zeros(len(uf.fields), dtype=np.int64)
    for name, value in features.items():
        f = uf.fields.index(name)
        labels = [str(v) for v in uf.vocab[f]]
        if value not in labels:
            raise ValueError(f"user feature {name}='{value}' is not one of "
                             f"{', '.join(labels[:12])}{' ...' if len(labels) > 12 else ''}")
        codes[f] = labels.index(value) + 1
    return codes

"""Matching the items a user names to the dataset's dense item indices: a raw item id, or a
title (``Toy Story (1995)``, ``toy story``, ``Matrix, The``, the start of a longer title).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from ..data import RatingsDataset

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

    def __init__(self, dataset: RatingsDataset) -> None:
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

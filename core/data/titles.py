"""Item titles taken from a column of the ratings (interaction) table itself.

Combined exports carry the item's title on every rating (Book-Crossing's ``Book-Title``, a
``title`` column). Without a separate item table, :func:`title_column` picks such a column (or
the mapping's ``title``) and :func:`item_titles` gives each item its first non-empty title, in
file order. Every title-like column that is *not* used says so in a note: nothing is dropped
silently.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from .mapping import ColumnMapping

# Names (lower case, letters and digits only) of item-title columns besides '...title...'.
_NAME_COLUMNS = frozenset({"itemname", "productname", "moviename", "bookname", "songname",
                           "trackname", "albumname", "gamename", "animename", "showname"})  # fmt: skip
# '...title...' columns that describe something other than the item.
_NOT_ITEM = ("job", "review", "summary", "user", "author", "publisher", "sub")
_EXAMPLES = 3
_MIN_EVIDENCE = 5  # items rated more than once before a column can be judged per-rating text


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def looks_like_title(name: str) -> bool:
    """Whether a column's name says it holds item titles (``title``, ``Book-Title``,
    ``movie_title``, ``product_name``; not ``job_title`` or ``review_title``)."""
    norm = _norm(name)
    if norm in _NAME_COLUMNS:
        return True
    return "title" in norm and not any(word in norm for word in _NOT_ITEM)


def title_column(
    columns: Sequence[str], mapping: ColumnMapping, file: str
) -> tuple[str | None, list[str]]:
    """(the column to take item titles from, or None; notes on title-like columns not used).

    ``mapping.title`` chooses the column (``""``: none); ``None`` takes the first title-like
    column not mapped to another role (``title`` itself first). With an item table, titles
    come from it and no column of ``file`` is used.
    """
    taken = {c for role, c in mapping.roles().items() if role != "title"}
    candidates = [c for c in columns if c not in taken and looks_like_title(c)]
    candidates.sort(key=lambda c: _norm(c) != "title")  # stable: otherwise in file order
    chosen: str | None
    if mapping.title is not None:
        chosen = mapping.title or None
    else:
        chosen = candidates[0] if candidates else None
    notes: list[str] = []
    if mapping.item_table is not None:
        item_file = re.split(r"[/\\!]", str(mapping.item_table.path))[-1]
        unused = ([chosen] if chosen else []) + [c for c in candidates if c != chosen]
        if unused:
            notes.append(
                f"{_columns(unused)} of {file} not used: item titles come from the item table "
                f"{item_file}"
            )
        return None, notes
    unused = [c for c in candidates if c != chosen]
    if unused:
        why = "titles come from column '" + chosen + "'" if chosen else "the mapping names none"
        notes.append(f"{_columns(unused)} of {file} not used for item titles ({why})")
    return chosen, notes


def _columns(names: list[str]) -> str:
    if len(names) == 1:
        return f"column '{names[0]}'"
    return "columns " + ", ".join(f"'{n}'" for n in names)


def item_titles(
    titles: pd.Series, item_code: np.ndarray, item_ids: np.ndarray, *, column: str, path
) -> tuple[pd.DataFrame | None, list[str]]:
    """(``item_id``, ``title``) for every item (``""`` where no row names it) and notes.

    ``titles`` holds one title per rating row, ``item_code`` the row's dense item. Each item
    takes its first non-empty title in file order (surrounding spaces ignored); items given
    several titles are counted in a note. A column whose titles differ between the ratings of
    most items rated more than once is text about each rating (a review's title), not the
    item's: it is not used, with a note, and neither is a column without any title (``None``).
    """
    file = re.split(r"[/\\]", str(path))[-1] if path is not None else "the ratings file"
    where = f"column '{column}' of {file}"
    n_items = len(item_ids)
    cat = titles if isinstance(titles.dtype, pd.CategoricalDtype) else titles.astype("category")
    stripped = pd.Index(cat.cat.categories.astype(str)).str.strip()
    title_of_category, names = pd.factorize(stripped)
    names = np.asarray(names, dtype=object)
    codes = cat.cat.codes.to_numpy()
    row_title = np.where(codes >= 0, title_of_category[np.maximum(codes, 0)], -1)
    empty = np.flatnonzero(names == "")
    if len(empty):
        row_title[row_title == empty[0]] = -1
    rows = np.flatnonzero(row_title >= 0)
    if len(rows) == 0:
        return None, [f"{where} looks like item titles but is empty: items are named by their ids"]
    item_of, title_of = item_code[rows].astype(np.int64), row_title[rows].astype(np.int64)
    titled, first = np.unique(item_of, return_index=True)  # first occurrence: file order
    pairs = np.unique(item_of * len(names) + title_of)
    per_item = np.bincount(pairs // len(names), minlength=n_items)
    rows_per_item = np.bincount(item_of, minlength=n_items)
    conflicting = np.flatnonzero(per_item > 1)
    repeated = int((rows_per_item > 1).sum())
    if repeated >= _MIN_EVIDENCE and len(conflicting) > repeated / 2:
        return None, [
            f"{where} not used for item titles: it differs between the ratings of the same item "
            f"for {len(conflicting):,} of the {repeated:,} items rated more than once (text "
            "about each rating, such as a review's title, not the item's)"
        ]
    out = np.full(n_items, "", dtype=object)
    out[titled] = names[title_of[first]]
    notes = [f"item titles from {where} (no item table)"]
    if len(conflicting):
        shown = []
        for i in conflicting[:_EXAMPLES]:
            kinds = pd.unique(title_of[item_of == i])[:2]
            shown.append(f"{item_ids[i]}: " + " / ".join(f"'{names[k]}'" for k in kinds))
        notes.append(
            f"{len(conflicting):,} item(s) have different titles in {where}; the first of each "
            f"is kept (e.g. {'; '.join(shown)})"
        )
    empty_items = n_items - len(titled)
    if empty_items:
        notes.append(f"{empty_items:,} item(s) have no title in {where}: named by their ids")
    return pd.DataFrame({"item_id": item_ids, "title": out}), notes

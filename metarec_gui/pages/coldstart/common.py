"""Small helpers shared by the Cold-start panels."""

from __future__ import annotations

import numpy as np
import pandas as pd
from PySide6.QtWidgets import QLabel


def heading(text: str, size: int = 11) -> QLabel:
    label = QLabel(text)
    font = label.font()
    font.setPointSize(size)
    font.setBold(True)
    label.setFont(font)
    return label


def muted(text: str = "", wrap: bool = True) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(wrap)
    label.setStyleSheet("color: palette(placeholder-text);")
    return label


def item_frame(dataset, items: list[int]) -> pd.DataFrame:
    """Rows of the dataset's item table for ``items`` (the user's ratings list)."""
    if dataset is None or not items:
        return pd.DataFrame(columns=["item", "title", "year", "genres"])
    table = dataset.items.iloc[items]
    return pd.DataFrame({
        "item": np.asarray(items, dtype=np.int64),
        "title": table["title"].to_numpy(),
        "year": table["year"].to_numpy(),
        "genres": table["genres"].to_numpy(),
    })


def item_title(dataset, item: int) -> str:
    """'Title (year)' of a dense item, for messages and undo texts."""
    if dataset is None or not 0 <= item < len(dataset.items):
        return f"item {item}"
    row = dataset.items.iloc[int(item)]
    year = row.get("year")
    title = str(row["title"])
    if year is None or pd.isna(year) or f"({int(year)})" in title:
        return title
    return f"{title} ({int(year)})"


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"

"""Why this item: the rated items that pull a recommendation up most, and its genres against the
genres the user liked.

The reasons come from ``core.recommend.Recommender.explain(ratings, item)`` (the model's own
attribution: (item, title, rating, contribution) rows) and the adapted list's ``because`` and
``genre_match`` columns; with an older core that has neither, the panel says so.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QLabel,
    QVBoxLayout,
    QWidget,
)

from ...widgets.frame_model import is_missing
from ...widgets.recs_table import DOWN, UP, title_with_year

LIKED_SHARE = 0.7  # a rating in the top 30 % of the scale counts as "liked" (4+ of 0.5-5)


def liked_genres(dataset, ratings: Mapping[int, float]) -> Counter:
    """Genre -> how many of the user's liked items have it."""
    counts: Counter = Counter()
    if dataset is None or not ratings:
        return counts
    threshold = dataset.scale.min + LIKED_SHARE * dataset.scale.span
    for item, value in ratings.items():
        if value >= threshold - 1e-9:
            counts.update(dataset.item_features.genres_of(int(item)))
    return counts


def _genres(value: Any) -> list[str]:
    if is_missing(value) or not str(value):
        return []
    return [g.strip() for g in str(value).replace("|", ",").split(",") if g.strip()]


def reasons_html(reasons: Sequence[Sequence[Any]], n: int = 4) -> str:
    """'pulled up by A 5★ +0.14 · B ...; pushed down by C 1★ −0.05' from ``explain`` rows."""
    up = [r for r in reasons if r[3] > 1e-9][:n]
    down = sorted((r for r in reasons if r[3] < -1e-9), key=lambda r: r[3])[:2]

    def fmt(r: Sequence[Any], color: QColor) -> str:
        return (f"<b>{html.escape(str(r[1]))}</b> {float(r[2]):g}★ "
                f"<span style='color:{color.name()}'>{float(r[3]):+.3f}</span>")
    parts = []
    if up:
        parts.append("Pulled up by your ratings of " + " · ".join(fmt(r, UP) for r in up))
    if down:
        parts.append("pushed down by " + " · ".join(fmt(r, DOWN) for r in down))
    return "; ".join(parts)


class WhyPanel(QWidget):
    """Reasons for one adapted recommendation: a few lines of text, readable in little height."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel()
        self.genres = QLabel()
        self.reasons = QLabel()
        for label in (self.title, self.genres, self.reasons):
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setWordWrap(True)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: palette(placeholder-text);")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(3)
        layout.addWidget(self.title)
        layout.addWidget(self.reasons)
        layout.addWidget(self.genres)
        layout.addWidget(self.note)
        layout.addStretch(1)
        self.show_row(None, Counter())

    def show_row(self, row: Mapping[str, Any] | None, liked: Counter, n_ratings: int = 0) -> None:
        """The item (a row of ``Recommendation.adapted``) and what the adapted list says of it."""
        self.reasons.setText("")
        if row is None:
            self.title.setText("<b>Why this item?</b>")
            self.genres.setText("")
            self.note.setText(
                "Select an adapted recommendation to see which of your ratings pull it up."
                if n_ratings else "Rate a few items: each adapted recommendation then says why it is there.")
            return
        self.title.setText(f"Why <b>{html.escape(title_with_year(row))}</b>?")
        genres = _genres(row.get("genres"))
        liked_names = [g for g, _n in liked.most_common()]
        chips = [f"<b style='color:{UP.name()}'>{html.escape(g)}</b>" if g in liked else html.escape(g)
                 for g in genres]
        parts = [f"Its genres: {' · '.join(chips) or '—'}"]
        if liked_names:
            shared = sum(1 for g in genres if g in liked)
            parts.append(f"{shared} of {len(genres)} among the genres you liked "
                         f"({html.escape(', '.join(liked_names[:6]))})")
        match = row.get("genre_match")
        if not is_missing(match):
            parts.append(f"genre match <b>{float(match):.0%}</b>")
        self.genres.setText(" — ".join(parts))
        self.note.setText("Waiting for the reasons…")

    def show_reasons(self, reasons: Sequence[Sequence[Any]] | None, because: str | None = None) -> None:
        """``Recommender.explain`` rows (item, title, rating, contribution), strongest first;
        ``None``: this core cannot explain (its ``because`` text is shown if there is one)."""
        if reasons is None:
            self.reasons.setText(f"Because you rated {html.escape(because)}." if because else "")
            self.note.setText("" if because else
                              "This version of core.recommend gives no reasons (no Recommender.explain).")
            return
        text = reasons_html(reasons)
        self.reasons.setText(text or "None of your ratings moves this item noticeably: "
                                     "it is high on the population ranking.")
        self.reasons.setToolTip("The number after each rating: how much it moves this item's adapted "
                                "score (the model's leave-one-out attribution)")
        self.note.setText("")

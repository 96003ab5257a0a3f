"""Find items by title, genre and year (core.recommend.search_items) and rate them in place."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from core.recommend import search_items

from .ratable_items import POPULARITY, RatableItems

ANY_GENRE = "Any genre"


class ItemSearch(QWidget):
    """Title text, genre and year range filters over a ratable result table.

    ``ratingChanged(item, value_or_None)`` is re-emitted from the result table; the owner keeps
    the ratings and pushes them back with :meth:`set_ratings`.
    """

    ratingChanged = Signal(int, object)
    searched = Signal(int)  # number of results shown

    def __init__(self, parent: QWidget | None = None, limit: int = 50) -> None:
        super().__init__(parent)
        self._dataset = None
        self._limit = limit
        self.text = QLineEdit()
        self.text.setPlaceholderText("Search titles…  (e.g. “star wars”)")
        self.text.setClearButtonEnabled(True)
        self.genre = QComboBox()
        self.genre.setToolTip("Only items of this genre")
        self.genre.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.genre.setMinimumContentsLength(10)
        self.year_from = QSpinBox()
        self.year_to = QSpinBox()
        for box, tip in ((self.year_from, "Earliest year"), (self.year_to, "Latest year")):
            box.setSpecialValueText("any")
            box.setToolTip(tip + " (‘any’ = no limit)")
            box.setKeyboardTracking(False)
        self.results = RatableItems([1.0], extra_columns=[POPULARITY], empty_text="No item matches.")
        self.results.ratingChanged.connect(self.ratingChanged)
        self.count = QLabel()
        self.count.setStyleSheet("color: palette(placeholder-text);")

        filters = QHBoxLayout()  # a second row: the search text keeps a whole row in a narrow panel
        filters.setContentsMargins(0, 0, 0, 0)
        filters.addWidget(self.genre, 1)
        filters.addWidget(QLabel("Years"))
        filters.addWidget(self.year_from)
        filters.addWidget(QLabel("–"))
        filters.addWidget(self.year_to)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.text)
        layout.addLayout(filters)
        layout.addWidget(self.results, 1)
        layout.addWidget(self.count)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(150)
        self._timer.timeout.connect(self.search)
        self.text.textChanged.connect(self._timer.start)
        self.text.returnPressed.connect(self.search)
        self.genre.currentIndexChanged.connect(self._timer.start)
        self.year_from.valueChanged.connect(self._timer.start)
        self.year_to.valueChanged.connect(self._timer.start)
        self.setEnabled(False)

    # ------------------------------------------------------------------ API
    def set_dataset(self, dataset) -> None:
        """Fill the genre list and year bounds from a dataset and show its most rated items."""
        self._dataset = dataset
        self.setEnabled(dataset is not None)
        if dataset is None:
            self.results.set_frame(None)
            return
        self.results.set_values(dataset.scale.values())
        self.genre.blockSignals(True)
        self.genre.clear()
        self.genre.addItem(ANY_GENRE)
        self.genre.addItems(list(dataset.item_features.genre_names))
        self.genre.blockSignals(False)
        years = dataset.items["year"].to_numpy(dtype=float)
        years = years[np.isfinite(years)]
        lo, hi = (int(years.min()), int(years.max())) if len(years) else (1900, 2030)
        for box in (self.year_from, self.year_to):
            box.blockSignals(True)
            box.setRange(lo - 1, hi)
            box.setValue(lo - 1)
            box.blockSignals(False)
        self.year_from.setEnabled(len(years) > 0)
        self.year_to.setEnabled(len(years) > 0)
        self.search()

    def set_ratings(self, ratings: dict[int, float]) -> None:
        self.results.set_ratings(ratings)

    def set_query(self, text: str = "", genre: str | None = None, years: tuple[int, int] | None = None) -> None:
        """Set the filters programmatically and search now."""
        self.text.blockSignals(True)
        self.text.setText(text)
        self.text.blockSignals(False)
        self.genre.blockSignals(True)
        self.genre.setCurrentIndex(max(0, self.genre.findText(genre)) if genre else 0)
        self.genre.blockSignals(False)
        lo = self.year_from.minimum()
        for box, value in zip((self.year_from, self.year_to), years or (lo, lo), strict=True):
            box.blockSignals(True)
            box.setValue(int(value))
            box.blockSignals(False)
        self.search()

    def search(self) -> None:
        """Run the search with the current filters (core.recommend.search_items)."""
        self._timer.stop()
        if self._dataset is None:
            return
        genre = self.genre.currentText() if self.genre.currentIndex() > 0 else None
        any_year = self.year_from.minimum()
        lo, hi = self.year_from.value(), self.year_to.value()
        years = None
        if lo != any_year or hi != any_year:
            years = (lo if lo != any_year else -math.inf, hi if hi != any_year else math.inf)
        frame = search_items(self._dataset, self.text.text(), genre=genre, years=years, limit=self._limit)
        self.results.set_frame(frame)
        n = len(frame)
        self.count.setText(
            f"{n} item(s), most rated first" if n < self._limit else f"First {n} matches, most rated first"
        )
        self.searched.emit(n)

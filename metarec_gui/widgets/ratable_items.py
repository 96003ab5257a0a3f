"""A table of items the user can rate: stars in a column and a rating bar for the selected row.

Used for search results, the "ask me" suggestions and the user's own ratings. The widget never
stores ratings itself: it emits ``ratingChanged(item, value_or_None)`` and the owner calls
:meth:`RatableItems.set_ratings` with the new truth, so every list stays consistent.

Keyboard: arrow keys move between rows; digits (Shift+digit: the half star below), +/-, Delete
on the table rate the current row (the same keys as the star bar, which can also be focused with
Tab).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractScrollArea,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from .frame_model import (
    NUMERIC,
    RESIZE_ROWS,
    ROW_ROLE,
    Column,
    FrameModel,
    ShareWidth,
    fmt_genres,
    fmt_int,
    fmt_number,
    is_missing,
)
from .recs_table import title_with_year
from .star_rating import SHIFTED_DIGITS, STAR_SIZE, StarDelegate, StarRating

RATING_KEY = "your_rating"
ROW_HEIGHT = STAR_SIZE + 4  # a row fits the delegate's stars
_RATING_KEYS = {
    Qt.Key.Key_Delete, Qt.Key.Key_Backspace, Qt.Key.Key_Plus, Qt.Key.Key_Minus, Qt.Key.Key_Equal,
    *[Qt.Key(Qt.Key.Key_0 + i) for i in range(10)], *SHIFTED_DIGITS,
}


class RatingsModel(FrameModel):
    """Item rows plus a 'Your rating' column read from a ratings dict (dense item -> value)."""

    ratingEdited = Signal(int, object)

    def __init__(self, columns: list[Column], parent: QObject | None = None) -> None:
        super().__init__(columns, parent)
        self._ratings: dict[int, float] = {}
        self._rating_col = [c.key for c in columns].index(RATING_KEY)
        self._title_col = [c.key for c in columns].index("title")

    def set_ratings(self, ratings: dict[int, float]) -> None:
        self._ratings = dict(ratings)
        if self.rowCount():
            self.dataChanged.emit(self.index(0, self._rating_col), self.index(self.rowCount() - 1, self._rating_col))

    def rating_of(self, item: int) -> float | None:
        return self._ratings.get(int(item))

    def item_at(self, row: int) -> int:
        return int(self.row(row)["item"])

    def data(self, index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and index.isValid() and index.column() == self._title_col:
            return title_with_year(self.row(index.row()))
        if index.isValid() and index.column() == self._rating_col:
            value = self._ratings.get(self.item_at(index.row()))
            if role == Qt.ItemDataRole.EditRole:
                return value
            if role == Qt.ItemDataRole.DisplayRole:
                return ""
            if role == Qt.ItemDataRole.ToolTipRole:
                return "Not rated — click a star" if value is None else f"Your rating: {value:g} (click it again to clear)"
            if role == Qt.ItemDataRole.AccessibleTextRole:
                return "not rated" if value is None else f"{value:g}"
            if role == Qt.ItemDataRole.UserRole + 1:  # sort: rated first by value
                return -1.0 if value is None else float(value)
        return super().data(index, role)

    def flags(self, index) -> Qt.ItemFlag:
        flags = super().flags(index)
        if index.isValid() and index.column() == self._rating_col:
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def setData(self, index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or index.column() != self._rating_col or role != Qt.ItemDataRole.EditRole:
            return False
        self.ratingEdited.emit(self.item_at(index.row()), None if value is None else float(value))
        return True


def _title_tip(row: Any) -> str:
    year = row.get("year")
    text = str(row.get("title", "")) + ("" if is_missing(year) else f" ({int(year)})")
    genres = fmt_genres(row.get("genres"))
    return f"{text}\n{genres}" if genres else text


def item_columns(extra: Sequence[Column] = ()) -> list[Column]:
    """Title (with its year), genres, any extra columns, and the editable 'Your rating' column."""
    return [
        Column("title", "Title", tooltip=_title_tip),
        Column("genres", "Genres", fmt_genres, tooltip=lambda r: fmt_genres(r.get("genres")) or None),
        *extra,
        Column(RATING_KEY, "Your rating", header_tip="Click a star; click it again to clear"),
    ]


POPULARITY = Column("ratings", "Ratings", fmt_int, NUMERIC, header_tip="How many users rated it")
SPREAD = Column(
    "spread", "Spread", fmt_number(2), NUMERIC,
    header_tip="Standard deviation of its ratings: how much your answer tells users apart",
)


class RatableItems(QWidget):
    """A table of items with a star column, and a star bar that rates the selected item."""

    ratingChanged = Signal(int, object)  # dense item, value or None (cleared)

    def __init__(
        self,
        values: Sequence[float],
        extra_columns: Sequence[Column] = (),
        parent: QWidget | None = None,
        empty_text: str = "",
        fit_rows: bool = False,
    ) -> None:
        """``fit_rows``: the table is as tall as its rows (a short list), not as tall as the room."""
        super().__init__(parent)
        self.model = RatingsModel(item_columns(extra_columns), self)
        self.model.ratingEdited.connect(self.ratingChanged)
        self.delegate = StarDelegate(values, self)
        self.view = QTableView()
        self.view.setModel(self.model)
        col = [c.key for c in self.model.columns].index(RATING_KEY)
        self._rating_col = col
        self.view.setItemDelegateForColumn(col, self.delegate)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setAlternatingRowColors(True)
        self.view.setWordWrap(False)
        self.view.verticalHeader().setVisible(False)
        self.view.verticalHeader().setDefaultSectionSize(ROW_HEIGHT)
        self.view.setTextElideMode(Qt.TextElideMode.ElideRight)
        header = self.view.horizontalHeader()
        header.setResizeContentsPrecision(RESIZE_ROWS)
        header.setHighlightSections(False)
        for i, c in enumerate(self.model.columns):
            header.setSectionResizeMode(
                i, QHeaderView.ResizeMode.Stretch if c.key == "title" else QHeaderView.ResizeMode.ResizeToContents
            )
        self.genres_width = ShareWidth(self.view, "genres", stretch="title", share=0.36, maximum=160)
        if fit_rows:
            self.view.setSizeAdjustPolicy(QAbstractScrollArea.SizeAdjustPolicy.AdjustToContents)
            self.view.setMinimumHeight(ROW_HEIGHT * 3 + 28)
        self.view.installEventFilter(self)
        self.view.selectionModel().currentRowChanged.connect(self._current_changed)

        self.empty = QLabel(empty_text)
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setVisible(False)
        self.selected = QLabel("Select an item to rate it")
        self.selected.setTextFormat(Qt.TextFormat.PlainText)
        self.selected.setMinimumWidth(60)
        self.stars = StarRating(values)
        self.stars.setEnabled(False)
        self.stars.valueChanged.connect(self._bar_changed)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Remove your rating of the selected item (Delete)")
        self.clear_button.setEnabled(False)
        self.clear_button.clicked.connect(self.stars.clear)
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.selected, 1)
        bar.addWidget(self.stars)
        bar.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.view, 0 if fit_rows else 1)
        layout.addWidget(self.empty)
        layout.addLayout(bar)

    # ------------------------------------------------------------------ API
    NARROW = 420  # px: below this the Genres column is hidden (the title's tooltip has them)
    NARROWER = 360  # and below this the extra columns (ratings count, spread): titles first

    def resizeEvent(self, event: Any) -> None:  # noqa: N802 (Qt naming)
        super().resizeEvent(event)
        keys = [c.key for c in self.model.columns]
        for i, key in enumerate(keys):
            if key == "genres":
                hide = self.width() < self.NARROW
            elif key in ("title", RATING_KEY):
                continue
            else:
                hide = self.width() < self.NARROWER
            if self.view.isColumnHidden(i) != hide:
                self.view.setColumnHidden(i, hide)

    def set_values(self, values: Sequence[float]) -> None:
        """Change the rating scale (a new dataset)."""
        self.delegate.set_values(values)
        self.stars.set_values(values)
        self.view.viewport().update()
        self._current_changed(self.view.currentIndex(), QModelIndex())

    def set_frame(self, frame: pd.DataFrame | None) -> None:
        self.model.set_frame(frame)
        self.view.updateGeometry()
        empty = frame is None or frame.empty
        self.empty.setVisible(empty and bool(self.empty.text()))
        self._current_changed(QModelIndex(), QModelIndex())

    def set_empty_text(self, text: str) -> None:
        self.empty.setText(text)
        self.empty.setVisible(self.model.rowCount() == 0 and bool(text))

    def set_ratings(self, ratings: dict[int, float]) -> None:
        self.model.set_ratings(ratings)
        self._sync_bar()

    def items(self) -> list[int]:
        return [self.model.item_at(r) for r in range(self.model.rowCount())]

    def select_row(self, row: int) -> None:
        self.view.setCurrentIndex(self.model.index(row, 0))

    def current_item(self) -> int | None:
        index = self.view.currentIndex()
        return self.model.item_at(index.row()) if index.isValid() else None

    # ------------------------------------------------------------------ internals
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if (
            obj is self.view
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in _RATING_KEYS
            and self.current_item() is not None
        ):
            self.stars.keyPressEvent(event)
            return True
        return super().eventFilter(obj, event)

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        has = current.isValid()
        self.stars.setEnabled(has)
        self.clear_button.setEnabled(has)
        if has:
            row = current.data(ROW_ROLE)
            year = "" if pd.isna(row.get("year")) else f" ({int(row['year'])})"
            self.selected.setText(f"{row['title']}{year}")
            self.selected.setToolTip(self.selected.text())
        else:
            self.selected.setText("Select an item to rate it")
        self._sync_bar()

    def _sync_bar(self) -> None:
        item = self.current_item()
        self.stars.setValue(None if item is None else self.model.rating_of(item), emit=False)
        self.clear_button.setEnabled(item is not None and self.model.rating_of(item) is not None)

    def _bar_changed(self, value: float | None) -> None:
        item = self.current_item()
        if item is not None:
            self.ratingChanged.emit(item, value)

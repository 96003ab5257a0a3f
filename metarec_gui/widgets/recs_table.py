"""Tables of recommendations (core.recommend's DataFrames), with rank-change arrows and highlights.

``RecsTable`` shows one ranked list: rank, title (with its year), genres, predicted rating and,
for an adapted list, the change of rank against the un-adapted ranking (▲ green = moved up,
▼ red = moved down). Titles and genres wrap onto two lines and are elided at the end only
beyond that; tooltips keep the full text (and, for an adapted list with core's ``because``
column, why the item is there). Rows can be highlighted by item (shared items across lists on
the Compare page).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractScrollArea,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from .frame_model import (
    CENTER,
    NUMERIC,
    RESIZE_ROWS,
    ROW_ROLE,
    Column,
    FrameModel,
    Row,
    ShareWidth,
    fmt_genres,
    fmt_int,
    fmt_number,
    is_missing,
)

UP = QColor("#1e8e3e")
DOWN = QColor("#d93025")
NEW = QColor("#1a73e8")
SAME = QColor("#80868b")


def rank_change_text(row: Row) -> str:
    """'▲ 3', '▼ 2', '=' or '▲ new' (not in the un-adapted top list) for an adapted row."""
    change = row.get("rank_change")
    if is_missing(change):
        return ""
    change = int(change)
    if change > 0:
        return f"▲ {change}"
    if change < 0:
        return f"▼ {-change}"
    return "="


def _change_color(row: Row) -> QColor | None:
    change = row.get("rank_change")
    if is_missing(change):
        return None
    return UP if change > 0 else DOWN if change < 0 else SAME


def _change_tip(row: Row) -> str | None:
    base = row.get("base_rank")
    if is_missing(base):
        return None
    return f"Rank {int(row['rank'])} after adapting; rank {int(base)} before"


def title_with_year(row: Row) -> str:
    """'Title (1981)'; the year is left out when unknown or already in the title."""
    title = str(row.get("title", ""))
    year = row.get("year")
    if is_missing(year) or f"({int(year)})" in title:
        return title
    return f"{title} ({int(year)})"


def _title_tip(row: Row) -> str:
    parts = [title_with_year(row)]
    if row.get("genres"):
        parts.append(fmt_genres(row["genres"]))
    because = row.get("because")
    if isinstance(because, str) and because:
        parts.append(f"Because you rated: {because}")
    match = row.get("genre_match")
    if not is_missing(match):
        parts.append(f"Genre match with your liked genres: {float(match):.0%}")
    return "\n".join(parts)


def recs_columns(kind: str, score_header: str = "Pred.") -> list[Column]:
    """Columns for ``kind`` 'adapted' (with rank change), 'plain' or 'compact' (rank, title, score)."""
    cols = [
        Column("rank", "#", fmt_int, NUMERIC),
        Column("title", "Title", tooltip=_title_tip),
    ]
    if kind != "compact":  # every list shows the year in the title
        cols.append(
            Column("genres", "Genres", fmt_genres, tooltip=lambda r: fmt_genres(r.get("genres")) or None)
        )
    cols.append(Column("score", score_header, fmt_number(2), NUMERIC,
                       header_tip="Predicted rating (the ranking score where there is no rating)"))
    if kind == "adapted":
        cols.append(
            Column(
                "rank_change",
                "Move",
                lambda _v: "",
                CENTER,
                foreground=_change_color,
                tooltip=_change_tip,
                header_tip="Change of rank against the un-adapted ranking",
            )
        )
    return cols


class _RecsModel(FrameModel):
    """FrameModel whose 'Change' and 'Title' texts need the whole row (rank + base rank, year)."""

    def data(self, index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and index.isValid():
            key = self.columns[index.column()].key
            if key == "rank_change":
                return rank_change_text(self.row(index.row()))
            if key == "title":
                return title_with_year(self.row(index.row()))
            if key == "score":  # core's predicted rating when it gives one, else the score
                row = self.row(index.row())
                rating = row.get("rating")
                if not is_missing(rating):
                    return f"{float(rating):.2f}"
        return super().data(index, role)


class RecsTable(QWidget):
    """A titled, ranked list of items. ``itemActivated(item)`` on double-click or Enter,
    ``currentItemChanged(item or -1)`` when the selected row changes.

    The title is one line (never wrapped, so tables side by side start at the same height; a
    longer explanation belongs in its tooltip). The table is as tall as its rows, up to the room
    it is given: a top-10 leaves no empty table area below the last row. Title is the column
    that stretches; Title and Genres wrap onto ``lines`` lines (2; 1 for 'compact') and are
    elided at the end beyond that, with the full text in tooltips.
    """

    itemActivated = Signal(int)
    currentItemChanged = Signal(int)

    def __init__(self, kind: str = "plain", title: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = kind
        self.lines = 1 if kind == "compact" else 2
        self.title = QLabel(title)
        self.title.setWordWrap(False)
        self.title.setTextFormat(Qt.TextFormat.RichText)
        # One line whatever its length: clipped rather than wrapped, and no minimum width.
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.title.setMinimumWidth(0)
        self.model = _RecsModel(recs_columns(kind), self)
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setAlternatingRowColors(True)
        self.view.verticalHeader().setVisible(False)
        self.view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.view.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.set_lines(self.lines)
        row = self.row_height(1)
        self.view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.view.setSizeAdjustPolicy(QAbstractScrollArea.SizeAdjustPolicy.AdjustToContents)
        self.view.setMinimumHeight(row * 4 + 28)  # the header and a few rows
        header = self.view.horizontalHeader()
        header.setResizeContentsPrecision(RESIZE_ROWS)
        header.setHighlightSections(False)
        for i, col in enumerate(self.model.columns):
            mode = QHeaderView.ResizeMode.Stretch if col.key == "title" else QHeaderView.ResizeMode.ResizeToContents
            header.setSectionResizeMode(i, mode)
        self.genres_width = (
            None if kind == "compact" else ShareWidth(self.view, "genres", stretch="title", share=0.34, maximum=170)
        )
        self.view.doubleClicked.connect(self._activated)
        self.view.activated.connect(self._activated)
        self.view.selectionModel().currentRowChanged.connect(self._current_changed)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.title)
        layout.addWidget(self.view)
        layout.addStretch(1)  # room the rows do not need stays below the table

    def set_title(self, text: str, tooltip: str = "") -> None:
        """One line of rich text; ``tooltip`` for what does not fit on it."""
        self.title.setText(text)
        self.title.setToolTip(tooltip)

    def set_frame(self, frame: pd.DataFrame | None) -> None:
        self.model.set_frame(frame)
        self.view.updateGeometry()  # its height follows the number of rows

    def frame(self) -> pd.DataFrame:
        return self.model.frame()

    def row_height(self, lines: int) -> int:
        """Row height for ``lines`` lines of text (22 px for one)."""
        return 22 if lines <= 1 else self.view.fontMetrics().lineSpacing() * lines + 6

    def set_lines(self, lines: int) -> None:
        """Rows of one line (text elided at the end) or of ``lines`` wrapped lines."""
        self.lines = max(1, int(lines))
        height = self.row_height(self.lines)
        self.view.setWordWrap(self.lines > 1)
        if self.view.verticalHeader().defaultSectionSize() != height:
            self.view.verticalHeader().setDefaultSectionSize(height)
            self.view.updateGeometry()

    def rows_height(self, rows: int = 10, lines: int | None = None) -> int:
        """Height the view needs to show ``rows`` rows and its header without scrolling."""
        header = self.view.horizontalHeader().sizeHint().height()
        row = self.row_height(self.lines if lines is None else lines)
        return header + rows * row + 2 * self.view.frameWidth()

    def current_item(self) -> int | None:
        index = self.view.currentIndex()
        row = index.data(ROW_ROLE) if index.isValid() else None
        return None if row is None or "item" not in row else int(row["item"])

    def select_item(self, item: int) -> bool:
        """Make ``item``'s row the current one; False if it is not listed."""
        items = self.items()
        if item not in items:
            return False
        self.view.setCurrentIndex(self.model.index(items.index(item), 1))
        return True

    def items(self) -> list[int]:
        """Dense item indices shown, in rank order."""
        frame = self.model.frame()
        return [] if frame.empty or "item" not in frame else [int(i) for i in frame["item"]]

    def set_highlight(self, colors: dict[int, QColor] | None) -> None:
        """Background colour per dense item (``None`` or {} removes highlighting)."""
        if not colors:
            self.model.set_row_background(None)
            return
        self.model.set_row_background(lambda row: colors.get(int(row["item"])))

    def export_csv(self, path: str | Path) -> None:
        self.model.export_csv(path)

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        row = current.data(ROW_ROLE) if current.isValid() else None
        self.currentItemChanged.emit(-1 if row is None or "item" not in row else int(row["item"]))

    def _activated(self, index: QModelIndex) -> None:
        row = index.data(ROW_ROLE)
        if row is not None and "item" in row:
            self.itemActivated.emit(int(row["item"]))

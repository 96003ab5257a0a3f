"""Tables of recommendations (core.recommend's DataFrames), with rank-change arrows and highlights.

``RecsTable`` shows one ranked list: rank, title, year, genres, predicted rating and, for an
adapted list, the change of rank against the un-adapted ranking (▲ green = moved up, ▼ red =
moved down). Rows can be highlighted by item (shared items across lists on the Compare page).
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
    fmt_year,
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


def _title_tip(row: Row) -> str:
    parts = [str(row.get("title", ""))]
    if not is_missing(row.get("year")):
        parts[0] += f" ({int(row['year'])})"
    if row.get("genres"):
        parts.append(fmt_genres(row["genres"]))
    return "\n".join(parts)


def recs_columns(kind: str, score_header: str = "Predicted") -> list[Column]:
    """Columns for ``kind`` 'adapted' (with rank change), 'plain' or 'compact' (rank, title, score)."""
    cols = [
        Column("rank", "#", fmt_int, NUMERIC),
        Column("title", "Title", tooltip=_title_tip),
    ]
    if kind != "compact":
        cols += [
            Column("year", "Year", fmt_year, CENTER),
            Column("genres", "Genres", fmt_genres, tooltip=lambda r: fmt_genres(r.get("genres")) or None),
        ]
    cols.append(Column("score", score_header, fmt_number(2), NUMERIC, header_tip="Predicted rating"))
    if kind == "adapted":
        cols.append(
            Column(
                "rank_change",
                "Change",
                lambda _v: "",
                CENTER,
                foreground=_change_color,
                tooltip=_change_tip,
                header_tip="Change of rank against the un-adapted ranking",
            )
        )
    return cols


class _RecsModel(FrameModel):
    """FrameModel whose 'Change' column text needs the whole row (rank + base rank)."""

    def data(self, index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (
            role == Qt.ItemDataRole.DisplayRole
            and index.isValid()
            and self.columns[index.column()].key == "rank_change"
        ):
            return rank_change_text(self.row(index.row()))
        return super().data(index, role)


class RecsTable(QWidget):
    """A titled, ranked list of items. ``itemActivated(item)`` on double-click or Enter.

    The title is one line (never wrapped, so tables side by side start at the same height; a
    longer explanation belongs in its tooltip). The table is as tall as its rows, up to the room
    it is given: a top-10 leaves no empty table area below the last row. Title is the column
    that stretches; Genres is elided, with the full text in tooltips.
    """

    itemActivated = Signal(int)

    def __init__(self, kind: str = "plain", title: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = kind
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
        self.view.verticalHeader().setDefaultSectionSize(22)
        self.view.setWordWrap(False)
        self.view.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.view.setSizeAdjustPolicy(QAbstractScrollArea.SizeAdjustPolicy.AdjustToContents)
        self.view.setMinimumHeight(22 * 4 + 28)  # the header and a few rows
        header = self.view.horizontalHeader()
        header.setResizeContentsPrecision(RESIZE_ROWS)
        header.setHighlightSections(False)
        for i, col in enumerate(self.model.columns):
            mode = QHeaderView.ResizeMode.Stretch if col.key == "title" else QHeaderView.ResizeMode.ResizeToContents
            header.setSectionResizeMode(i, mode)
        self.genres_width = (
            None if kind == "compact" else ShareWidth(self.view, "genres", stretch="title", share=0.36, maximum=160)
        )
        self.view.doubleClicked.connect(self._activated)
        self.view.activated.connect(self._activated)
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

    def _activated(self, index: QModelIndex) -> None:
        row = index.data(ROW_ROLE)
        if row is not None and "item" in row:
            self.itemActivated.emit(int(row["item"]))

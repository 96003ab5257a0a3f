"""A read-only Qt table model over a pandas DataFrame, with per-column formatting and colours.

Sorting through a ``QSortFilterProxyModel`` uses the raw values (``SORT_ROLE``), so numbers sort
numerically and missing values sort last, whatever the displayed text.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QBrush, QColor

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
ROW_ROLE = Qt.ItemDataRole.UserRole + 2  # the whole row as a pandas Series

Index = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()


def is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def fmt_number(digits: int = 3) -> Callable[[Any], str]:
    """A formatter for floats with ``digits`` decimals; missing values show as an en dash."""

    def fmt(value: Any) -> str:
        if is_missing(value):
            return "–"
        try:
            return f"{float(value):.{digits}f}"
        except (TypeError, ValueError):
            return str(value)

    return fmt


def fmt_int(value: Any) -> str:
    """Whole numbers (ranks, years); missing values show as an en dash."""
    return "–" if is_missing(value) else str(int(value))


fmt_year = fmt_int


def fmt_text(value: Any) -> str:
    return "" if is_missing(value) else str(value)


def fmt_genres(value: Any) -> str:
    return "" if is_missing(value) else str(value).replace("|", ", ")


@dataclass
class Column:
    """How one DataFrame column is shown: header, text, alignment, tooltip and colours."""

    key: str
    header: str
    fmt: Callable[[Any], str] = fmt_text
    align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
    foreground: Callable[[pd.Series], QColor | None] | None = None
    tooltip: Callable[[pd.Series], str | None] | None = None
    header_tip: str = ""
    decoration: Callable[[pd.Series], Any] | None = None  # a QColor or QIcon swatch


NUMERIC = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
CENTER = Qt.AlignmentFlag.AlignCenter


class FrameModel(QAbstractTableModel):
    """Rows of a DataFrame shown through a list of :class:`Column` specs."""

    def __init__(self, columns: list[Column], parent=None) -> None:
        super().__init__(parent)
        self._columns = columns
        self._frame = pd.DataFrame(columns=[c.key for c in columns])
        self._rows: list[pd.Series] = []
        self._background: Callable[[pd.Series], QColor | None] | None = None
        self._disabled: Callable[[pd.Series], bool] | None = None

    # ------------------------------------------------------------------ data
    @property
    def columns(self) -> list[Column]:
        return list(self._columns)

    def frame(self) -> pd.DataFrame:
        return self._frame

    def set_frame(self, frame: pd.DataFrame | None) -> None:
        self.beginResetModel()
        self._frame = frame.reset_index(drop=True) if frame is not None else pd.DataFrame()
        self._rows = [row for _, row in self._frame.iterrows()]
        self.endResetModel()

    def row(self, r: int) -> pd.Series:
        return self._rows[r]

    def set_row_background(self, fn: Callable[[pd.Series], QColor | None] | None) -> None:
        """Colour whole rows (e.g. items shared between lists); ``None`` removes colouring."""
        self._background = fn
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, len(self._columns) - 1))

    def set_row_disabled(self, fn: Callable[[pd.Series], bool] | None) -> None:
        """Rows for which ``fn`` is true are shown greyed out and cannot be selected."""
        self.beginResetModel()
        self._disabled = fn
        self.endResetModel()

    # ------------------------------------------------------------------ Qt
    def rowCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self._columns):
            col = self._columns[section]
            if role == Qt.ItemDataRole.DisplayRole:
                return col.header
            if role == Qt.ItemDataRole.ToolTipRole and col.header_tip:
                return col.header_tip
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return int(col.align)
        elif orientation == Qt.Orientation.Vertical and role == Qt.ItemDataRole.DisplayRole:
            return section + 1
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        if self._disabled is not None and self._disabled(self._rows[index.row()]):
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        col = self._columns[index.column()]
        value = row.get(col.key)
        if role == Qt.ItemDataRole.DisplayRole:
            return col.fmt(value)
        if role in (Qt.ItemDataRole.EditRole, SORT_ROLE):
            return self._sort_value(value) if role == SORT_ROLE else (None if is_missing(value) else value)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(col.align)
        if role == Qt.ItemDataRole.ForegroundRole and col.foreground is not None:
            color = col.foreground(row)
            return QBrush(color) if color is not None else None
        if role == Qt.ItemDataRole.DecorationRole and col.decoration is not None:
            return col.decoration(row)
        if role == Qt.ItemDataRole.BackgroundRole and self._background is not None:
            color = self._background(row)
            return QBrush(color) if color is not None else None
        if role == Qt.ItemDataRole.ToolTipRole:
            if col.tooltip is not None:
                return col.tooltip(row)
            text = col.fmt(value)
            return text if len(text) > 30 else None
        if role == ROW_ROLE:
            return row
        return None

    @staticmethod
    def _sort_value(value: Any) -> Any:
        if is_missing(value):
            return float("inf")
        if isinstance(value, (int, float)) or hasattr(value, "item"):
            try:
                return float(value)
            except (TypeError, ValueError):
                return str(value)
        return str(value).lower()

    # ------------------------------------------------------------------ export
    def export_csv(self, path: str | Path) -> None:
        """Write the table as shown (headers and formatted text) to a CSV file."""
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            columns = [c for c in self._columns if c.header]
            writer.writerow([c.header for c in columns])
            for row in self._rows:
                writer.writerow([c.fmt(row.get(c.key)) for c in columns])


class FrameSortProxy(QSortFilterProxyModel):
    """Sorts a :class:`FrameModel` by raw values; missing values go last in ascending order."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)

    def lessThan(self, left: Index, right: Index) -> bool:
        a, b = left.data(SORT_ROLE), right.data(SORT_ROLE)
        if type(a) is not type(b):
            return str(a) < str(b)
        return a < b


def export_view_csv(model, path: str | Path) -> None:
    """Write any table model's displayed text (e.g. a sorted proxy) to CSV."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        cols = [c for c in range(model.columnCount()) if model.headerData(c, Qt.Orientation.Horizontal)]
        writer.writerow([model.headerData(c, Qt.Orientation.Horizontal) for c in cols])
        for r in range(model.rowCount()):
            writer.writerow([model.index(r, c).data() for c in cols])

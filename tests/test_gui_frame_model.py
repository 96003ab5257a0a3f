"""FrameModel after the speed-up: same display text, numeric sorting done by the model."""

from __future__ import annotations

import numpy as np
import pandas as pd
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QTableView

from metarec_gui.widgets.frame_model import (
    NUMERIC,
    ROW_ROLE,
    Column,
    FrameModel,
    FrameSortProxy,
    fit_columns_once,
    fmt_int,
    fmt_number,
)


def _model() -> FrameModel:
    return FrameModel([
        Column("title", "Title"),
        Column("year", "Year", fmt_int),
        Column("score", "Score", fmt_number(2), NUMERIC),
        Column("error", "Error", lambda v: "" if pd.isna(v) else f"{v:+.2f}", NUMERIC,
               foreground=lambda r: Qt.GlobalColor.red if r["error"] > 1 else None),
    ])


FRAME = pd.DataFrame({
    "title": ["b movie", "Alpha", "cinema", None],
    "year": [1999, np.nan, 2005, 1980],
    "score": [10.0, 9.5, np.nan, 100.0],
    "error": [0.25, -1.5, 2.0, 0.0],
    "item": [7, 3, 9, 1],  # not shown, but part of each row
})


def _column(view_model, col: int, role=Qt.ItemDataRole.DisplayRole) -> list:  # noqa: ANN001
    return [view_model.index(r, col).data(role) for r in range(view_model.rowCount())]


def test_display_text_and_rows(qtbot) -> None:
    model = _model()
    model.set_frame(FRAME)
    assert _column(model, 0) == ["b movie", "Alpha", "cinema", ""]
    assert _column(model, 1) == ["1999", "–", "2005", "1980"]
    assert _column(model, 2) == ["10.00", "9.50", "–", "100.00"]
    assert _column(model, 3) == ["+0.25", "-1.50", "+2.00", "+0.00"]
    assert model.index(2, 3).data(Qt.ItemDataRole.ForegroundRole) is not None
    assert model.index(0, 3).data(Qt.ItemDataRole.ForegroundRole) is None
    assert model.index(1, 0).data(ROW_ROLE)["item"] == 3 and model.row(2)["item"] == 9
    model.set_frame(None)
    assert model.rowCount() == 0


def test_sorting_is_numeric_keeps_missing_last_and_survives_new_frames(qtbot) -> None:
    model = _model()
    proxy = FrameSortProxy()
    proxy.setSourceModel(model)
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(proxy)
    view.setSortingEnabled(True)
    model.set_frame(FRAME)
    view.sortByColumn(2, Qt.SortOrder.AscendingOrder)
    assert _column(proxy, 2) == ["9.50", "10.00", "100.00", "–"]  # numbers, not text; NaN last
    view.sortByColumn(2, Qt.SortOrder.DescendingOrder)
    assert _column(proxy, 2) == ["–", "100.00", "10.00", "9.50"]
    view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    assert _column(proxy, 0) == ["Alpha", "b movie", "cinema", ""]  # case-insensitive
    # a new frame is shown in the same order; the selection follows its row when re-sorted
    model.set_frame(FRAME.iloc[::-1])
    assert _column(proxy, 0) == ["Alpha", "b movie", "cinema", ""]
    view.selectionModel().select(proxy.index(0, 0), QItemSelectionModel.SelectionFlag.Select
                                 | QItemSelectionModel.SelectionFlag.Rows)
    view.sortByColumn(1, Qt.SortOrder.AscendingOrder)
    assert _column(proxy, 1) == ["1980", "1999", "2005", "–"]
    selected = view.selectionModel().selectedRows()
    assert [i.data() for i in selected] == ["Alpha"]
    view.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # back to the frame's own order
    assert _column(proxy, 0) == ["", "cinema", "Alpha", "b movie"]
    proxy.setFilterKeyColumn(-1)
    proxy.setFilterFixedString("movie")
    assert _column(proxy, 0) == ["b movie"]


def test_fit_columns_once_sizes_on_the_first_rows_only(qtbot) -> None:
    model = _model()
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    fit_columns_once(view, stretch="title")
    model.set_frame(FRAME)
    width = view.columnWidth(1)
    assert width > 0
    view.setColumnWidth(1, width + 40)  # the user widens it: a new frame keeps that
    model.set_frame(FRAME.assign(year=[123456789] * 4))
    assert view.columnWidth(1) == width + 40

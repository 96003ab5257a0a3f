"""Widgets of the Cold-start and Compare pages: stars, item search, ranked tables, K-shot chart,
background calls."""

from __future__ import annotations

import os
import threading

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication

from core.data import RatingScale, build_dataset
from metarec_gui.widgets.background import Background
from metarec_gui.widgets.item_search import ItemSearch
from metarec_gui.widgets.kshot_chart import KShotChart
from metarec_gui.widgets.ratable_items import RatableItems
from metarec_gui.widgets.recs_table import RecsTable, rank_change_text
from metarec_gui.widgets.star_rating import STAR_SIZE, StarGeometry, StarRating

HALF = RatingScale(0.5, 5.0, 0.5).values()


def small_dataset():
    rng = np.random.default_rng(0)
    rows = [(u, i, float(rng.integers(1, 11)) / 2) for u in range(30) for i in rng.choice(20, 12, replace=False)]
    genres = ["Comedy", "Drama", "Sci-Fi"]
    items = pd.DataFrame({
        "item_id": np.arange(20),
        "title": [f"{'Star ' if i % 5 == 0 else ''}Film {i} ({1970 + 2 * i})" for i in range(20)],
        "genres": [genres[i % 3] + ("|Drama" if i % 4 == 0 and i % 3 != 1 else "") for i in range(20)],
    })
    ratings = pd.DataFrame(rows, columns=["user", "item", "rating"])
    return build_dataset(ratings, name="widgets", source="test", items=items, scale=RatingScale(0.5, 5, 0.5))


# ------------------------------------------------------------------------------ stars
def test_star_geometry_of_scales():
    half = StarGeometry(HALF)
    assert (half.half, half.stars) == (True, 5)
    assert half.filled(3.5) == 3.5 and half.filled(None) == 0
    assert half.value_at(2.2 * 20, 20) == 2.5 and half.value_at(1, 20) == 0.5
    whole = StarGeometry([1, 2, 3, 4, 5])
    assert (whole.whole, whole.stars) == (True, 5)
    ten = StarGeometry(RatingScale(-10, 10, 0).values())  # continuous: 11 levels
    assert ten.stars == 11 and ten.filled(-10) == 1


def test_star_set_clear_and_snap(qtbot):
    stars = StarRating(HALF)
    qtbot.addWidget(stars)
    with qtbot.waitSignal(stars.valueChanged) as sig:
        stars.setValue(3.4)
    assert sig.args == [3.5] and stars.value() == 3.5
    with qtbot.waitSignal(stars.valueChanged) as sig:
        stars.clear()
    assert sig.args == [None] and stars.value() is None


def test_star_keyboard(qtbot):
    stars = StarRating(HALF)
    qtbot.addWidget(stars)
    stars.show()
    qtbot.keyClick(stars, Qt.Key.Key_Right)
    assert stars.value() == 0.5
    qtbot.keyClick(stars, Qt.Key.Key_End)
    assert stars.value() == 5.0
    qtbot.keyClick(stars, Qt.Key.Key_Left)
    assert stars.value() == 4.5
    qtbot.keyClick(stars, Qt.Key.Key_3)
    assert stars.value() == 3.0
    qtbot.keyClick(stars, Qt.Key.Key_Delete)
    assert stars.value() is None
    assert stars.focusPolicy() == Qt.FocusPolicy.StrongFocus


def test_star_mouse_half_and_toggle(qtbot):
    stars = StarRating(HALF, star_size=20)
    qtbot.addWidget(stars)
    stars.show()
    left_half_of_third = QPoint(2 + 2 * 20 + 5, 10)
    qtbot.mouseClick(stars, Qt.MouseButton.LeftButton, pos=left_half_of_third)
    assert stars.value() == 2.5
    qtbot.mouseClick(stars, Qt.MouseButton.LeftButton, pos=left_half_of_third)
    assert stars.value() is None  # clicking the current value clears it


# ------------------------------------------------------------------------------ rating tables
def test_ratable_items_keyboard_and_delegate(qtbot):
    ds = small_dataset()
    table = RatableItems(ds.scale.values())
    qtbot.addWidget(table)
    table.show()
    frame = ds.items.assign(item=np.arange(ds.n_items)).head(5)
    table.set_frame(frame)
    table.select_row(2)
    with qtbot.waitSignal(table.ratingChanged) as sig:
        qtbot.keyClick(table.view, Qt.Key.Key_4)
    assert sig.args == [2, 4.0]
    table.set_ratings({2: 4.0})
    assert table.stars.value() == 4.0
    with qtbot.waitSignal(table.ratingChanged) as sig:
        qtbot.keyClick(table.view, Qt.Key.Key_Delete)
    assert sig.args == [2, None]
    # clicking a painted star in the 'Your rating' column rates that row
    col = table._rating_col
    rect = table.view.visualRect(table.model.index(0, col))
    with qtbot.waitSignal(table.ratingChanged) as sig:
        qtbot.mouseClick(table.view.viewport(), Qt.MouseButton.LeftButton,
                         pos=QPoint(rect.left() + 4 + int(STAR_SIZE * 4.6), rect.center().y()))
    assert sig.args == [0, 5.0]


def test_item_search_by_title_genre_year(qtbot):
    ds = small_dataset()
    search = ItemSearch()
    qtbot.addWidget(search)
    search.set_dataset(ds)
    assert len(search.results.items()) == 20
    search.set_query("star")
    titles = search.results.model.frame()["title"].tolist()
    assert titles and all("Star" in t for t in titles)
    search.set_query("", genre="Sci-Fi")
    assert all("Sci-Fi" in g for g in search.results.model.frame()["genres"])
    search.set_query("", years=(1980, 1984))
    years = search.results.model.frame()["year"].tolist()
    assert years and all(1980 <= y <= 1984 for y in years)
    search.set_query("no such film")
    assert search.results.items() == [] and search.results.empty.isVisibleTo(search)


# ------------------------------------------------------------------------------ ranked lists
def test_recs_table_rank_change_and_highlight(qtbot):
    frame = pd.DataFrame({
        "item": [3, 1, 7], "item_id": [3, 1, 7], "title": ["A", "B", "C"], "genres": ["", "", ""],
        "year": [2000, np.nan, 1999], "score": [4.5, 4.2, 4.0], "rank": [1, 2, 3],
        "base_rank": [4, 2, 1], "rank_change": [3, 0, -2],
    })
    assert [rank_change_text(r) for _, r in frame.iterrows()] == ["▲ 3", "=", "▼ 2"]
    table = RecsTable("adapted")
    qtbot.addWidget(table)
    table.set_frame(frame)
    change_col = [c.key for c in table.model.columns].index("rank_change")
    assert table.model.index(0, change_col).data() == "▲ 3"
    assert table.model.index(0, change_col).data(Qt.ItemDataRole.ForegroundRole) is not None
    table.set_highlight({1: Qt.GlobalColor.yellow})
    assert table.model.index(1, 1).data(Qt.ItemDataRole.BackgroundRole) is not None
    assert table.model.index(0, 1).data(Qt.ItemDataRole.BackgroundRole) is None
    assert table.items() == [3, 1, 7]


def test_recs_table_title_stretches_and_rows_fit(qtbot):
    genres = "Action|Adventure|Comedy|Fantasy|Sci-Fi"
    frame = pd.DataFrame({
        "item": range(10), "item_id": range(10), "title": [f"A rather long film title number {i}" for i in range(10)],
        "genres": [genres] * 10, "year": [1980] * 10, "score": np.linspace(4.5, 4.0, 10), "rank": range(1, 11),
        "base_rank": range(2, 12), "rank_change": [1] * 10,
    })
    table = RecsTable("adapted", "<b>Adapted to you</b> " + "and a long explanation " * 8)
    qtbot.addWidget(table)
    table.resize(420, 600)
    table.show()
    table.set_frame(frame)
    QApplication.processEvents()
    cols = [c.key for c in table.model.columns]
    header = table.view.horizontalHeader()
    title, genre = header.sectionSize(cols.index("title")), header.sectionSize(cols.index("genres"))
    assert title > 1.5 * genre >= 1.5 * 70  # Title takes the room, Genres is elided
    assert table.model.index(0, cols.index("genres")).data(Qt.ItemDataRole.ToolTipRole) == genres.replace("|", ", ")
    assert "1980" in table.model.index(0, cols.index("title")).data(Qt.ItemDataRole.ToolTipRole)
    line = table.fontMetrics().height()
    assert table.title.height() < 2 * line  # one line, however long (never wrapped)
    rows = header.height() + 10 * table.view.verticalHeader().defaultSectionSize() + 2 * table.view.frameWidth()
    assert table.view.height() <= rows + 2 < 600 - 100  # as tall as the rows: no empty table below


def test_kshot_chart_legend_is_outside_the_plots(qtbot):
    chart = KShotChart()
    qtbot.addWidget(chart)
    chart.resize(1200, 450)
    chart.show()
    frame = pd.DataFrame({"k": [1, 2, 5, 10, 20], "mae": [0.86] * 5, "ndcg3": [0.79] * 5})
    for n in range(7):
        chart.set_series(f"s{n}", f"Series number {n} · a run folder name", "#4e79a7", frame, dashed=n > 2)
    QApplication.processEvents()
    chart.canvas.ci.layout.activate()
    legend = chart.legend.sceneBoundingRect()
    assert legend.height() > 0 and len(chart.legend_labels()) == 7
    for plot in chart.plots.values():
        assert not legend.intersects(plot.getViewBox().sceneBoundingRect())
    assert chart.legend.columnCount > 1  # a row under both plots, not one tall column
    mae = chart._series["s0"].items["mae"]
    mae.setVisible(False)  # what a click on its legend sample does ...
    chart.legend.sigSampleClicked.emit(mae)  # ... and the other plot follows
    assert not chart._series["s0"].items["ndcg3"].isVisible()


def test_kshot_chart_series_and_export(qtbot, tmp_path):
    chart = KShotChart()
    qtbot.addWidget(chart)
    chart.resize(800, 300)
    frame = pd.DataFrame({"k": [1, 2, 5], "mae": [1.0, 0.9, 0.8], "ndcg3": [0.7, 0.72, 0.75]})
    chart.set_series("a", "Run A", "#4e79a7", frame)
    chart.set_series("b", "Baseline", "#f28e2b", frame.assign(mae=0.95), dashed=True)
    assert chart.series_keys() == ["a", "b"]
    chart.remove_series("a")
    assert chart.series_keys() == ["b"]
    assert len(chart.to_frame()) == 3
    for name in ("k.png", "k.svg"):
        path = chart.export(tmp_path / name)
        assert path.stat().st_size > 1000
    assert (tmp_path / "k.svg").read_text().lstrip().startswith("<?xml")


# ------------------------------------------------------------------------------ background calls
def test_background_latest_request_wins(qtbot):
    bg = Background()
    gate = threading.Event()
    results: list[str] = []

    def slow() -> str:
        gate.wait(5)
        return "first"

    bg.submit("lane", slow, results.append, pytest.fail)
    bg.submit("lane", lambda: "second", results.append, pytest.fail)
    bg.submit("lane", lambda: "third", results.append, pytest.fail)
    assert bg.busy("lane")
    gate.set()
    qtbot.waitUntil(lambda: not bg.busy("lane"), timeout=5000)
    assert results == ["third"]
    errors: list[BaseException] = []
    bg.submit("lane", lambda: 1 / 0, results.append, errors.append)
    qtbot.waitUntil(lambda: bool(errors), timeout=5000)
    assert isinstance(errors[0], ZeroDivisionError)
    assert bg.shutdown(5000)

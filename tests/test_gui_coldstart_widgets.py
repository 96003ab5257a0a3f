"""Cold-start widgets: 24-px stars with half stars by the left part only (defect 5), the
recommendation tables' rows and tooltips, the inner-loop chart's empty state (defect 6)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication

from core.data import RatingScale
from metarec_gui.pages.coldstart.loss_chart import LossChart
from metarec_gui.pages.coldstart.why import WhyPanel, reasons_html
from metarec_gui.widgets.ratable_items import RatableItems
from metarec_gui.widgets.recs_table import RecsTable
from metarec_gui.widgets.star_rating import STAR_SIZE, StarGeometry, StarRating

HALF = RatingScale(0.5, 5.0, 0.5).values()
WHOLE = RatingScale(1, 5, 1).values()


def test_stars_are_large_targets(qtbot):
    assert STAR_SIZE >= 24
    stars = StarRating(HALF)
    qtbot.addWidget(stars)
    assert stars.sizeHint().height() >= 24 and stars.sizeHint().width() >= 5 * 24


@pytest.mark.parametrize(("fraction", "expected"), [
    (0.05, 4.5), (0.3, 4.5),  # the left part of the 5th star: half a star less
    (0.45, 5.0), (0.5, 5.0), (0.55, 5.0), (0.95, 5.0),  # its middle and right: 5
])
def test_star_click_middle_of_fifth_star_gives_five(qtbot, fraction, expected):
    stars = StarRating(HALF)
    qtbot.addWidget(stars)
    stars.show()
    x = 2 + 4 * STAR_SIZE + round(fraction * STAR_SIZE)
    qtbot.mouseClick(stars, Qt.MouseButton.LeftButton, pos=QPoint(x, stars.height() // 2))
    assert stars.value() == expected


def test_star_geometry_whole_scale_ignores_halves():
    whole = StarGeometry(WHOLE)
    assert whole.value_at(4.1 * 24, 24) == 5.0 and whole.value_at(0.1 * 24, 24) == 1.0
    assert whole.key_value(3, shift=True) == 3.0  # no half values on a 1-5 scale


def test_star_keyboard_digits_and_shift_for_halves(qtbot):
    stars = StarRating(HALF)
    qtbot.addWidget(stars)
    stars.show()
    qtbot.keyClick(stars, Qt.Key.Key_4)
    assert stars.value() == 4.0
    qtbot.keyClick(stars, Qt.Key.Key_4, Qt.KeyboardModifier.ShiftModifier)
    assert stars.value() == 3.5
    qtbot.keyClick(stars, Qt.Key.Key_Percent, Qt.KeyboardModifier.ShiftModifier)  # Shift+5, US layout
    assert stars.value() == 4.5
    qtbot.keyClick(stars, Qt.Key.Key_Exclam, Qt.KeyboardModifier.ShiftModifier)  # Shift+1
    assert stars.value() == 0.5
    qtbot.keyClick(stars, Qt.Key.Key_5)
    assert stars.value() == 5.0
    qtbot.keyClick(stars, Qt.Key.Key_Backspace)
    assert stars.value() is None


def test_table_stars_middle_of_fifth_and_shift_digit(qtbot):
    table = RatableItems(HALF)
    qtbot.addWidget(table)
    table.resize(700, 300)
    table.show()
    frame = pd.DataFrame({"item": [10, 11], "title": ["Alpha", "Beta"], "year": [1999, np.nan],
                          "genres": ["Drama", "Comedy|Drama"]})
    table.set_frame(frame)
    assert table.view.verticalHeader().defaultSectionSize() >= STAR_SIZE
    assert table.model.index(0, 0).data() == "Alpha (1999)" and table.model.index(1, 0).data() == "Beta"
    size = table.delegate.star_size
    assert size >= 24
    rect = table.view.visualRect(table.model.index(0, table._rating_col))
    with qtbot.waitSignal(table.ratingChanged) as sig:
        qtbot.mouseClick(table.view.viewport(), Qt.MouseButton.LeftButton,
                         pos=QPoint(rect.left() + 4 + 4 * size + size // 2, rect.center().y()))
    assert sig.args == [10, 5.0]
    table.select_row(1)
    with qtbot.waitSignal(table.ratingChanged) as sig:
        qtbot.keyClick(table.view, Qt.Key.Key_Dollar, Qt.KeyboardModifier.ShiftModifier)  # Shift+4
    assert sig.args == [11, 3.5]


def _recs(n=10, because=True):
    frame = pd.DataFrame({
        "item": range(n), "item_id": range(n),
        "title": [f"A rather long film title that wraps, number {i}" for i in range(n)],
        "genres": ["Action, Adventure, Sci-Fi", "Drama", "Comedy, Romance"] * (n // 3) + ["Drama"] * (n % 3),
        "year": [1980 + i for i in range(n)], "score": np.linspace(9.0, 7.0, n),
        "rating": np.linspace(4.6, 4.0, n), "rank": range(1, n + 1), "base_rank": range(3, n + 3),
        "rank_change": [2] * n,
    })
    if because:
        frame["because"] = ["Alien; Aliens"] + [""] * (n - 1)
        frame["genre_match"] = np.linspace(1, 0, n)
    return frame


def test_recs_table_title_year_rating_and_reasons(qtbot):
    table = RecsTable("adapted")
    qtbot.addWidget(table)
    table.resize(600, 700)
    table.show()
    table.set_frame(_recs())
    cols = [c.key for c in table.model.columns]
    assert "year" not in cols  # the year is in the title
    assert table.model.index(0, cols.index("title")).data() == "A rather long film title that wraps, number 0 (1980)"
    assert table.model.index(0, cols.index("score")).data() == "4.60"  # the predicted rating, not the raw score
    tip = table.model.index(0, cols.index("title")).data(Qt.ItemDataRole.ToolTipRole)
    assert "Because you rated: Alien; Aliens" in tip and "Genre match" in tip
    assert "Because" not in table.model.index(1, cols.index("title")).data(Qt.ItemDataRole.ToolTipRole)
    table.set_lines(2)
    QApplication.processEvents()
    assert table.view.wordWrap() and table.view.verticalHeader().defaultSectionSize() >= 2 * table.fontMetrics().height()
    assert table.view.height() >= table.rows_height(10) - 2 and not table.view.verticalScrollBar().isVisible()
    table.set_lines(1)
    assert not table.view.wordWrap() and table.view.verticalHeader().defaultSectionSize() == 22
    with qtbot.waitSignal(table.currentItemChanged) as sig:
        assert table.select_item(4)
    assert sig.args == [4] and table.current_item() == 4
    assert not table.select_item(99)


def test_loss_chart_empty_states_and_range(qtbot):
    chart = LossChart()
    qtbot.addWidget(chart)
    chart.show_losses([], has_ratings=False)
    assert chart.is_empty() and "No ratings yet" in chart.empty.text()
    chart.show_losses([0.0, 0.0, 0.0], has_ratings=False)  # no ratings: never a flat 0 line
    assert chart.is_empty()
    chart.show_losses([], has_ratings=True)
    assert chart.is_empty() and "closed form" in chart.empty.text()
    chart.show_losses([0.0012, 0.0010, 0.0009], has_ratings=True)
    assert not chart.is_empty()
    lo, hi = chart.plot.getViewBox().viewRange()[1]
    assert lo <= 0.0009 and hi >= 0.0012 and hi - lo < 0.01  # fits the curve, not -400..400


def test_why_panel_texts(qtbot):
    panel = WhyPanel()
    qtbot.addWidget(panel)
    row = _recs().iloc[0].to_dict()
    from collections import Counter
    panel.show_row(row, Counter({"Sci-Fi": 3, "Horror": 1}), 4)
    assert "Why <b>A rather long film title that wraps, number 0 (1980)</b>?" in panel.title.text()
    assert "1 of 3 among the genres you liked" in panel.genres.text() and "100%" in panel.genres.text()
    reasons = [(1, "Alien", 5.0, 0.3), (2, "Aliens", 4.5, 0.1), (3, "Titanic", 1.0, -0.2)]
    panel.show_reasons(reasons)
    assert panel.reasons.text() == reasons_html(reasons)
    assert "Alien" in panel.reasons.text() and "pushed down by <b>Titanic</b>" in panel.reasons.text()
    panel.show_reasons(None, "Alien; Aliens")  # an older core: its 'because' text
    assert "Because you rated Alien; Aliens" in panel.reasons.text()

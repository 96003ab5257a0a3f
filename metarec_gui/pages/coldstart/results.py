"""Adapted top-N beside the un-adapted top-N, how much the ranking moved, and — secondary, in
tabs below — why an item is recommended and the inner loop's loss.

Both lists show all their rows without scroll bars: rows wrap titles and genres onto two lines
when there is the height for it, and use one (elided) line on a small screen.
"""

from __future__ import annotations

import html
from collections import Counter
from typing import Any

import numpy as np
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.recommend import Recommendation

from ...widgets.recs_table import RecsTable, title_with_year
from .common import heading, muted, plural
from .loss_chart import LossChart
from .why import WhyPanel

BOTTOM_MIN = 110  # px the Why / Inner loop tabs keep at least (their text scrolls)


def movement_text(rec: Recommendation) -> str:
    """How much adapting moved the ranking: overlap, new items, the biggest climb."""
    adapted, plain = rec.adapted, rec.unadapted
    top = len(adapted)
    if top == 0:
        return ""
    shared = len(set(adapted["item"]) & set(plain["item"]))
    parts = [f"<b>{top - shared} of {top}</b> new after adapting ({shared} shared with the un-adapted list)"]
    if "rank_change" in adapted and len(adapted):
        change = adapted["rank_change"].to_numpy(dtype=float)
        best = int(np.nanargmax(change))
        if change[best] > 0:
            parts.append(f"biggest climb ▲ {int(change[best]):,}: "
                         f"{html.escape(title_with_year(adapted.iloc[best].to_dict()))}")
        moved = np.abs(change[np.isfinite(change)])
        if len(moved):
            parts.append(f"median move {int(np.median(moved)):,} ranks")
    return " · ".join(parts)


class RecsView(QWidget):
    """The right side of the New-user tab."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.heading = heading("Recommendations")
        self.heading.setWordWrap(True)
        self.summary = muted()
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.top_n = QSpinBox()
        self.top_n.setRange(5, 100)
        self.top_n.setValue(10)
        self.top_n.setPrefix("Top ")
        self.top_n.setToolTip("How many recommendations to list")
        head = QHBoxLayout()
        head.addWidget(self.heading, 1)
        head.addWidget(self.top_n, 0, Qt.AlignmentFlag.AlignTop)
        self.adapted_table = RecsTable("adapted")
        self.unadapted_table = RecsTable("plain")
        tables = QSplitter(Qt.Orientation.Horizontal)
        tables.addWidget(self.adapted_table)
        tables.addWidget(self.unadapted_table)
        tables.setChildrenCollapsible(False)
        tables.setSizes([520, 480])
        self.tables = tables
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.setSpacing(3)
        top_layout.addLayout(head)
        top_layout.addWidget(self.summary)
        top_layout.addWidget(tables, 1)
        self.why = WhyPanel()
        self.loss_chart = LossChart()
        self.adapt_info = muted()
        self.adapt_info.setMinimumWidth(170)
        loss_tab = QWidget()
        loss_layout = QHBoxLayout(loss_tab)
        loss_layout.setContentsMargins(4, 4, 4, 4)
        loss_layout.addWidget(self.loss_chart, 3)
        loss_layout.addWidget(self.adapt_info, 1)
        self.details = QTabWidget()
        self.details.setDocumentMode(True)
        why_scroll = QScrollArea()  # a small screen: the reasons scroll, never overlap
        why_scroll.setWidget(self.why)
        why_scroll.setWidgetResizable(True)
        why_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.details.addTab(why_scroll, "Why this item")
        self.details.addTab(loss_tab, "Inner loop")
        self.details.setTabToolTip(0, "The ratings that pull the selected adapted item up, and its genres")
        self.details.setTabToolTip(1, "The support loss at each step of the run's inner loop")
        self.details.setMinimumHeight(BOTTOM_MIN)
        self.details.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Ignored)
        self.split = QSplitter(Qt.Orientation.Vertical)
        self.split.addWidget(top)
        self.split.addWidget(self.details)
        self.split.setStretchFactor(0, 1)
        self.split.setStretchFactor(1, 0)
        self.split.setCollapsible(0, False)
        self._user_sized = False  # the person dragged the splitter: their sizes stay
        self._fit_timer = QTimer(self)  # fit after the layouts took in new texts and rows
        self._fit_timer.setSingleShot(True)
        self._fit_timer.setInterval(0)
        self._fit_timer.timeout.connect(self.fit_rows)
        self.split.splitterMoved.connect(self._splitter_moved)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.split)
        self._top = top
        self.clear("Choose a trained run above.")

    # ------------------------------------------------------------------ showing
    def clear(self, message: str = "") -> None:
        self.adapted_table.set_frame(None)
        self.unadapted_table.set_frame(None)
        self.heading.setText("Recommendations")
        self.summary.setText(message)
        self.adapt_info.setText("")
        self.loss_chart.show_losses([], False)
        self.why.show_row(None, Counter())

    def set_busy(self) -> None:
        self.adapt_info.setText("Adapting…")

    def show_recommendation(self, rec: Recommendation, n: int, seconds: float) -> None:
        self.adapted_table.set_frame(rec.adapted)
        self.unadapted_table.set_frame(rec.unadapted)
        if n == 0:
            self.heading.setText("No ratings yet: both lists are the population ranking")
            self.summary.setText("Rate a few items on the left; the left list then adapts to you.")
        else:
            self.heading.setText(f"Adapted to your {plural(n, 'rating')}  vs.  un-adapted")
            self.summary.setText(movement_text(rec))
        self.adapted_table.set_title(
            f"<b>Adapted to you</b> ({plural(n, 'rating')})" if n else "<b>Adapted</b> (no ratings yet)",
            "The run after adapting to your ratings (its inner loop or closed-form fit); "
            "▲/▼ = rank gained/lost against the un-adapted ranking. Items you rated are never listed.",
        )
        self.unadapted_table.set_title(
            "<b>Un-adapted</b> (population ranking)",
            "The run before adapting: the ranking every new user gets, whatever they rated",
        )
        self.loss_chart.show_losses(rec.losses, n > 0)
        steps = max(0, len(rec.losses) - 1)
        info = [f"Adapted in {seconds * 1000:.0f} ms"]
        if rec.losses and n:
            info.append(f"{plural(steps, 'inner step')}")
            info.append(f"support loss {rec.losses[0]:.3f} → {rec.losses[-1]:.3f}")
        self.adapt_info.setText("\n".join(info))
        self._fit_timer.start()

    def adapted_row(self, item: int) -> dict[str, Any] | None:
        frame = self.adapted_table.frame()
        if frame.empty or "item" not in frame:
            return None
        match = frame[frame["item"] == item]
        return None if match.empty else match.iloc[0].to_dict()

    # ------------------------------------------------------------------ sizing
    def fit_rows(self) -> None:
        """Give the lists the height of their rows (two lines each when that fits, else one
        elided line) and the Why / Inner loop tabs the rest: no scroll bar for a top-10."""
        table = self.adapted_table
        rows = min(max(table.model.rowCount(), self.unadapted_table.model.rowCount(), 1), 10)
        total = self.split.height() - self.split.handleWidth()
        if total <= 0 or not self.isVisible():
            return
        above = table.view.mapTo(self._top, QPoint(0, 0)).y()  # heading, summary, list title
        room = total - BOTTOM_MIN if not self._user_sized else self.split.sizes()[0]
        lines = 2 if above + table.rows_height(rows, lines=2) + 2 <= room else 1
        for t in (table, self.unadapted_table):
            t.set_lines(lines)
        if not self._user_sized:
            need = min(above + table.rows_height(rows, lines=lines) + 2, total - BOTTOM_MIN)
            if self.split.sizes()[0] != need:
                self.split.setSizes([need, total - need])

    def _splitter_moved(self, *_args: object) -> None:
        self._user_sized = True
        self.fit_rows()

    def resizeEvent(self, event: Any) -> None:  # noqa: N802 (Qt naming)
        super().resizeEvent(event)
        self._fit_timer.start()

    def showEvent(self, event: Any) -> None:  # noqa: N802 (Qt naming)
        super().showEvent(event)
        self._fit_timer.start()

"""The inner loop's support loss per adaptation step: small, secondary, with an empty state.

No ratings -> a sentence, not a flat 0 line on a -400..400 axis; a closed-form algorithm -> a
sentence saying it has no inner loop; otherwise the curve on a y-range that fits it (no SI
prefix games such as "(x0.001)").
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QLabel, QStackedWidget, QWidget

from ...theme import style_plot_item, style_view, theme

NO_RATINGS = "No ratings yet: nothing to adapt to.\nRate an item and its inner-loop loss shows here."
CLOSED_FORM = "This algorithm adapts in closed form:\nthere is no inner loop to show."


class _Plot(pg.PlotWidget):
    def sizeHint(self) -> QSize:  # noqa: N802 (Qt naming)
        return QSize(320, 140)


class LossChart(QStackedWidget):
    """Page 0: the empty state's text; page 1: the curve."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.empty = QLabel(NO_RATINGS)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.setStyleSheet("color: palette(placeholder-text);")
        self.plot = _Plot()
        self.plot.setMinimumHeight(110)
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setLabel("bottom", "inner step")
        self.plot.setLabel("left", "support loss")
        for axis in ("left", "bottom"):
            self.plot.getAxis(axis).enableAutoSIPrefix(False)
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.curve = self.plot.plot([], [], symbol="o", symbolSize=5)
        self.addWidget(self.empty)
        self.addWidget(self.plot)
        theme().changed.connect(self.restyle)
        self.restyle()

    def is_empty(self) -> bool:
        return self.currentIndex() == 0

    def show_losses(self, losses: list[float], has_ratings: bool) -> None:
        values = [float(x) for x in losses]
        if not has_ratings or not values or not all(math.isfinite(x) for x in values):
            self.curve.setData([], [])
            self.empty.setText(NO_RATINGS if not has_ratings else CLOSED_FORM if not values
                               else "The inner loop's loss is not finite.")
            self.setCurrentIndex(0)
            return
        x = np.arange(len(values))
        self.curve.setData(x, np.asarray(values))
        lo, hi = min(values), max(values)
        pad = max((hi - lo) * 0.12, abs(hi) * 0.02, 1e-3)
        self.plot.setYRange(lo - pad, hi + pad, padding=0)
        self.plot.setXRange(0, max(1, len(values) - 1), padding=0.04)
        step = max(1, len(values) // 8)
        self.plot.getAxis("bottom").setTicks([[(i, str(i)) for i in range(0, len(values), step)]])
        self.setCurrentIndex(1)

    def restyle(self) -> None:
        style_view(self.plot)
        style_plot_item(self.plot.getPlotItem())
        color = theme().accent()
        self.curve.setPen(pg.mkPen(color, width=2))
        self.curve.setSymbolBrush(pg.mkBrush(color))
        self.curve.setSymbolPen(pg.mkPen(color))

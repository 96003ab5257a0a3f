"""The Data page's right side: what the loaded dataset holds (numbers, notes, three plots).

``show(summary, stats)`` takes what the loader computed off the GUI thread:
``dataset.summary()`` and :func:`plot_stats` (histograms and genre counts; it lives in the
Qt-free ``metarec_gui.data_load``, which the loading process imports).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QVBoxLayout, QWidget

from ...data_load import plot_stats  # noqa: F401  (re-exported)
from ...theme import style_plot_item, style_view, theme


class StatCard(QFrame):
    """A big number with a caption."""

    def __init__(self, caption: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("StatCard")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.setSpacing(0)
        self.value = QLabel("–")
        font = self.value.font()
        font.setPointSizeF(font.pointSizeF() * 1.45)
        font.setBold(True)
        self.value.setFont(font)
        self.caption = QLabel(caption)
        self.caption.setObjectName("muted")
        layout.addWidget(self.value)
        layout.addWidget(self.caption)

    def set(self, text: str, tooltip: str = "") -> None:
        self.value.setText(text)
        self.setToolTip(tooltip)


class SummaryPanel(QWidget):
    """Title, stat cards, notes and the rating / per-user / genre plots."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("No dataset loaded")
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        self.title.setFont(font)
        self.subtitle = QLabel()
        self.subtitle.setObjectName("muted")
        self.subtitle.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.cards: dict[str, StatCard] = {}
        cards = QGridLayout()
        cards.setSpacing(8)
        for i, (key, caption) in enumerate((
            ("users", "users"), ("items", "items"), ("ratings", "ratings"),
            ("density", "density"), ("scale", "rating scale"), ("mean", "mean rating"),
            ("per_user", "ratings per user (median)"), ("genres", "genres"),
        )):
            card = StatCard(caption)
            self.cards[key] = card
            cards.addWidget(card, i // 4, i % 4)
        self.notes = QLabel()
        self.notes.setWordWrap(True)
        self.notes.setVisible(False)

        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setMinimumHeight(260)
        self.rating_plot = self.plots.addPlot(row=0, col=0, title="Rating distribution")
        self.rating_plot.setLabel("bottom", "rating")
        self.rating_plot.setLabel("left", "ratings")
        self.user_plot = self.plots.addPlot(row=0, col=1, title="Ratings per user")
        self.user_plot.setLabel("bottom", "ratings per user (log scale)")
        self.user_plot.setLabel("left", "users")
        self.genre_plot = self.plots.addPlot(row=1, col=0, colspan=2, title="Most rated genres")
        self.genre_plot.setLabel("bottom", "ratings")
        self.plots.ci.layout.setRowStretchFactor(0, 1)
        self.plots.ci.layout.setRowStretchFactor(1, 1)
        for p in (self.rating_plot, self.user_plot, self.genre_plot):
            p.showGrid(x=False, y=True, alpha=theme().grid_alpha())
            p.setMenuEnabled(False)
            p.hideButtons()
        self.genre_plot.showGrid(x=True, y=False, alpha=theme().grid_alpha())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.subtitle)
        layout.addLayout(cards)
        layout.addWidget(self.notes)
        layout.addWidget(self.plots, 1)
        self._shown: tuple[dict, dict] | None = None

    def restyle(self) -> None:
        style_view(self.plots)
        if self._shown is not None:
            self.show_summary(*self._shown)

    def show_summary(self, s: dict[str, Any], stats: dict[str, Any]) -> None:
        self._shown = (s, stats)
        self.title.setText(s["name"])
        self.subtitle.setText(f"{s['source']}  ·  fingerprint {s['fingerprint']}")
        scale = s["scale"]
        step = f", step {scale['step']:g}" if scale["step"] else ", continuous"
        rpu = s["ratings_per_user"]
        self.cards["users"].set(f"{s['users']:,}")
        self.cards["items"].set(f"{s['items']:,}")
        self.cards["ratings"].set(f"{s['ratings']:,}")
        self.cards["density"].set(f"{100 * s['density']:.2f} %", "ratings / (users × items)")
        self.cards["scale"].set(f"{scale['min']:g}–{scale['max']:g}", f"min–max{step}")
        self.cards["mean"].set(f"{s['mean_rating']:.2f}")
        self.cards["per_user"].set(f"{rpu['median']:g}",
                                   f"min {rpu['min']}, quartiles {rpu['q25']:g} / {rpu['q75']:g}, "
                                   f"max {rpu['max']}")
        self.cards["genres"].set(f"{s['genres']}")
        extra = []
        if s.get("has_ground_truth"):
            extra.append("synthetic: true preferences are known")
        if s.get("user_features"):
            extra.append("user features: " + ", ".join(s["user_features"]))
        if s.get("implicit"):
            extra.append("implicit feedback: every interaction counts as 1 (no rating metrics)")
        notes = [*s["notes"], *extra]
        self.notes.setVisible(bool(notes))
        color = theme().level_color("warning")
        self.notes.setText("<br>".join(
            f"<span style='color:{color}'>⚠ {_html(n)}</span>" if n in s["notes"] else _html(n)
            for n in notes))
        self._plot(stats)

    def _plot(self, st: dict[str, Any]) -> None:
        accent = theme().accent()
        for p in (self.rating_plot, self.user_plot, self.genre_plot):
            p.clear()
        width = st["width"]
        self.rating_plot.addItem(pg.BarGraphItem(x=st["rating_values"], height=st["rating_counts"],
                                                 width=width, brush=accent, pen=None))
        self.rating_plot.setXRange(st["scale"][0] - width, st["scale"][1] + width, padding=0)
        # ratings per user: log-spaced bins, drawn as a step histogram on a log axis;
        # x is drawn as log10 with ticks at 1-2-5 values (pyqtgraph's log axis labels crowd).
        hist, edges = st["user_hist"], st["user_edges"]
        self.user_plot.addItem(pg.PlotDataItem(np.log10(edges), hist, stepMode="center",
                                               fillLevel=0, brush=_alpha(accent, 120),
                                               pen=pg.mkPen(accent)))
        ticks = [v * 10**e for e in range(0, 9) for v in (1, 2, 5)]
        ticks = [t for t in ticks if edges[0] <= t <= edges[-1]]
        self.user_plot.getAxis("bottom").setTicks(
            [[(np.log10(t), f"{t:,}") for t in ticks], []])
        self.user_plot.enableAutoRange()
        genres = st["genres"]
        axis = self.genre_plot.getAxis("left")
        if len(genres):
            y = np.arange(len(genres))[::-1]
            self.genre_plot.addItem(pg.BarGraphItem(x0=0, y=y, height=0.7, width=genres.to_numpy(),
                                                    brush=accent, pen=None))
            axis.setTicks([list(zip(y, genres.index, strict=True))])
            self.genre_plot.setYRange(-0.6, len(genres) - 0.4, padding=0)
            self.genre_plot.setXRange(0, float(genres.max()) * 1.05, padding=0)
            self.genre_plot.setTitle("Most rated genres")
        else:
            axis.setTicks([[]])
            self.genre_plot.setTitle("Most rated genres (this dataset has no genre information)")
        style_plot_item(self.genre_plot)


def _alpha(color: str, alpha: int) -> QColor:
    c = QColor(color)
    c.setAlpha(alpha)
    return c


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

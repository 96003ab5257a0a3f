"""The Data page's right side: what the loaded dataset holds (numbers, notes, three plots).

``show(summary, stats)`` takes what the loader computed off the GUI thread:
``dataset.summary()`` and :func:`plot_stats` (histograms and genre counts; it lives in the
Qt-free ``metarec_gui.data_load``, which the loading process imports).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

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
        self.notes.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        # A fixed band (scrolls past 4 lines): new notes never resize the plots below, whose
        # repaint after a resize costs the GUI thread 20-60 ms.
        self.notes_area = QScrollArea()
        self.notes_area.setWidget(self.notes)
        self.notes_area.setWidgetResizable(True)
        self.notes_area.setFrameShape(QFrame.Shape.NoFrame)
        self.notes_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.notes_area.setFixedHeight(4 * self.notes.fontMetrics().lineSpacing() + 4)

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
        layout.addWidget(self.notes_area)
        layout.addWidget(self.plots, 1)
        self._shown: tuple[dict, dict | None] | None = None

    def restyle(self) -> None:
        style_view(self.plots)
        if self._shown is not None:
            summary, stats = self._shown
            self.show_numbers(summary)
            if stats is not None:
                self.show_plots(stats)

    def show_summary(self, s: dict[str, Any], stats: dict[str, Any]) -> None:
        """Numbers, notes and plots (:meth:`show_numbers` then :meth:`show_plots`)."""
        self.show_numbers(s)
        self.show_plots(stats)

    def show_numbers(self, s: dict[str, Any]) -> None:
        """Title, stat cards and notes of ``dataset.summary()`` (cheap: labels only)."""
        self._shown = (s, None)
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
        color = theme().level_color("warning")
        self.notes.setText("<br>".join(
            f"<span style='color:{color}'>⚠ {_html(n)}</span>" if n in s["notes"] else _html(n)
            for n in notes))

    def show_plots(self, stats: dict[str, Any]) -> None:
        """The three plots of :func:`plot_stats` at once."""
        for step in self.plot_steps(stats):
            step()

    def plot_steps(self, stats: dict[str, Any]) -> list[Callable[[], None]]:
        """One callable per plot: each repaints only its own plot (10-20 ms of the GUI thread;
        all three in one go cost 20-40 ms), so a caller can run them in separate turns."""
        if self._shown is not None:
            self._shown = (self._shown[0], stats)
        return [lambda: self._plot_ratings(stats), lambda: self._plot_users(stats),
                lambda: self._plot_genres(stats)]

    # Every range is set here, none left to auto-range: each auto-range step would be one more
    # full repaint of the plot.
    def _plot_ratings(self, st: dict[str, Any]) -> None:
        self.rating_plot.clear()
        width = st["width"]
        self.rating_plot.addItem(pg.BarGraphItem(x=st["rating_values"], height=st["rating_counts"],
                                                 width=width, brush=theme().accent(), pen=None))
        top = float(np.max(st["rating_counts"])) if len(st["rating_counts"]) else 1.0
        self.rating_plot.setRange(xRange=(st["scale"][0] - width, st["scale"][1] + width),
                                  yRange=(0, top * 1.05), padding=0)

    def _plot_users(self, st: dict[str, Any]) -> None:
        # ratings per user: log-spaced bins, drawn as a step histogram on a log axis;
        # x is drawn as log10 with ticks at 1-2-5 values (pyqtgraph's log axis labels crowd).
        self.user_plot.clear()
        accent = theme().accent()
        hist, edges = st["user_hist"], st["user_edges"]
        x = np.log10(edges)
        self.user_plot.addItem(pg.PlotDataItem(x, hist, stepMode="center", fillLevel=0,
                                               brush=_alpha(accent, 120), pen=pg.mkPen(accent)))
        ticks = [v * 10**e for e in range(0, 9) for v in (1, 2, 5)]
        ticks = [t for t in ticks if edges[0] <= t <= edges[-1]]
        self.user_plot.getAxis("bottom").setTicks(
            [[(np.log10(t), f"{t:,}") for t in ticks], []])
        self.user_plot.setRange(xRange=(x[0], x[-1]), yRange=(0, max(1.0, float(hist.max())) * 1.05),
                                padding=0.02)

    def _plot_genres(self, st: dict[str, Any]) -> None:
        self.genre_plot.clear()
        genres = st["genres"]
        axis = self.genre_plot.getAxis("left")
        if len(genres):
            y = np.arange(len(genres))[::-1]
            self.genre_plot.addItem(pg.BarGraphItem(x0=0, y=y, height=0.7, width=genres.to_numpy(),
                                                    brush=theme().accent(), pen=None))
            axis.setTicks([list(zip(y, genres.index, strict=True))])
            self.genre_plot.setRange(xRange=(0, float(genres.max()) * 1.05),
                                     yRange=(-0.6, len(genres) - 0.4), padding=0)
            title = "Most rated genres"
        else:
            axis.setTicks([[]])
            title = "Most rated genres (this dataset has no genre information)"
        if self.genre_plot.titleLabel.text != title:
            self.genre_plot.setTitle(title)
        style_plot_item(self.genre_plot)


def _alpha(color: str, alpha: int) -> QColor:
    c = QColor(color)
    c.setAlpha(alpha)
    return c


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

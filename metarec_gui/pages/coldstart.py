"""Cold-start page: what a trained run recommends to a new user, and how it does on a held-out one.

*New user*: search items by title, genre and year, or pick from the "ask me" list, and rate them
with stars. Each change re-adapts the run to the ratings (debounced, off the GUI thread) and shows
the adapted top-N beside the un-adapted ranking, with rank changes and the inner-loop loss.
Ratings are kept as named profiles in the workspace.

*Held-out user*: a test user's real ratings; a slider reveals K of them as the support set and
the rest are predicted and compared with the truth (table, scatter with y = x, MAE).

Every number comes from ``core.recommend``; this module only arranges it.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QKeySequence, QShortcut, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QSplitter,
    QTableView,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.profiles import Profile, ProfileError, list_profiles, load_profile, save_profile
from core.recommend import HeldoutResult, Recommendation, Recommender
from core.runs import Run, RunError, load_algorithm

from ..state import AppState
from ..theme import style_plot_item, style_view, theme
from ..widgets.background import Background
from ..widgets.frame_model import (
    CENTER,
    NUMERIC,
    Column,
    FrameModel,
    FrameSortProxy,
    Row,
    fit_columns_once,
    fmt_genres,
    fmt_number,
)
from ..widgets.item_search import ItemSearch
from ..widgets.ratable_items import POPULARITY, SPREAD, RatableItems
from ..widgets.recs_table import RecsTable
from ..widgets.run_picker import RunPicker
from ..widgets.star_rating import StarDelegate

ADAPT_DELAY_MS = 250
HELDOUT_DELAY_MS = 120
LAST_PROFILE_KEY = "coldstart/last_profile"
LAST_RUN_KEY = "coldstart/last_run"
PROFILE_PATH_ROLE = Qt.ItemDataRole.UserRole + 20


def _heading(text: str, size: int = 11) -> QLabel:
    label = QLabel(text)
    font = label.font()
    font.setPointSize(size)
    font.setBold(True)
    label.setFont(font)
    return label


def _muted(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet("color: palette(placeholder-text);")
    return label


def _item_frame(dataset, items: list[int]) -> pd.DataFrame:
    """Rows of the dataset's item table for ``items`` (the user's ratings list)."""
    if not items:
        return pd.DataFrame(columns=["item", "title", "year", "genres"])
    table = dataset.items.iloc[items]
    return pd.DataFrame({
        "item": np.asarray(items, dtype=np.int64),
        "title": table["title"].to_numpy(),
        "year": table["year"].to_numpy(),
        "genres": table["genres"].to_numpy(),
    })


class _MiniPlot(pg.PlotWidget):
    """A plot that asks for little height (a PlotWidget's hint is 480 px) and takes the room
    that the layout has left over."""

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt naming)
        return QSize(360, 170)


class ColdStartPage(QWidget):
    """Recommendations for a new user, and a held-out user's predicted vs. actual ratings."""

    recommendationsShown = Signal()  # a new adapted/un-adapted pair is on screen
    heldoutShown = Signal()  # held-out predictions for the current user and K are on screen
    runLoaded = Signal(object)  # the Run whose algorithm is now loaded (None = unloaded)

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.background = Background(self, threads=1)  # one model, one call at a time
        self.run: Run | None = None
        self.recommender: Recommender | None = None
        self.ratings: dict[int, float] = {}
        self.profile_name: str | None = None
        self.profile_path: Path | None = None
        self.unsaved = False
        self.last_recommendation: Recommendation | None = None
        self.last_heldout: HeldoutResult | None = None
        self._adapt_started = 0.0

        self._build_header()
        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_new_user(), "New user")
        self.tabs.addTab(self._build_heldout(), "Held-out user")
        self.tabs.setTabToolTip(0, "Rate a few items yourself and see what the run recommends")
        self.tabs.setTabToolTip(1, "Reveal K ratings of a real test user and compare predictions with the truth")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addLayout(self.header)
        layout.addWidget(self.banner)
        layout.addWidget(self.tabs, 1)

        self._adapt_timer = QTimer(self)
        self._adapt_timer.setSingleShot(True)
        self._adapt_timer.setInterval(ADAPT_DELAY_MS)
        self._adapt_timer.timeout.connect(self._adapt_now)
        self._heldout_timer = QTimer(self)
        self._heldout_timer.setSingleShot(True)
        self._heldout_timer.setInterval(HELDOUT_DELAY_MS)
        self._heldout_timer.timeout.connect(self._heldout_now)

        state.datasetChanged.connect(self._on_dataset)
        state.splitChanged.connect(self._on_split)
        state.runFinished.connect(self._on_run_finished)
        state.runWeightsChanged.connect(self._on_run_weights)
        theme().changed.connect(self._restyle)
        self._restyle()
        self._on_dataset(state.dataset)
        self._restore_last_run()

    # ================================================================== building
    def _build_header(self) -> None:
        self.picker = RunPicker(self.state)
        self.picker.runSelected.connect(self._on_run_selected)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.RichText)
        self.header = QHBoxLayout()
        self.header.addWidget(QLabel("Run:"))
        self.header.addWidget(self.picker, 2)
        self.header.addWidget(self.status, 3)
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setVisible(False)
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner.setFrameShape(QFrame.Shape.StyledPanel)

    def _build_new_user(self) -> QWidget:
        page = QWidget()
        # ---- left: profile + ways to find items
        self.profile_combo = QComboBox()
        self.profile_combo.setMinimumContentsLength(16)
        self.profile_combo.setToolTip("Saved profiles (a new user's ratings) in the workspace")
        self.profile_model = QStandardItemModel(self)
        self.profile_combo.setModel(self.profile_model)
        self.profile_combo.activated.connect(self._on_profile_activated)
        self.new_button = QPushButton("New")
        self.new_button.setToolTip("Start an empty profile")
        self.new_button.clicked.connect(self.new_profile)
        self.save_button = QPushButton("Save")
        self.save_button.setToolTip("Save the ratings under the profile's name (Ctrl+S)")
        self.save_button.clicked.connect(self._save_clicked)
        self.save_as_button = QPushButton("Save as…")
        self.save_as_button.clicked.connect(self._save_as_clicked)
        QShortcut(QKeySequence.StandardKey.Save, page, activated=self._save_clicked)
        profile_row = QHBoxLayout()
        profile_row.addWidget(QLabel("Profile:"))
        profile_row.addWidget(self.profile_combo, 1)
        profile_row.addWidget(self.new_button)
        profile_row.addWidget(self.save_button)
        profile_row.addWidget(self.save_as_button)

        values = [1.0]
        self.search = ItemSearch()
        self.search.ratingChanged.connect(self.set_rating)
        self.suggestions = RatableItems(
            values, extra_columns=[POPULARITY, SPREAD],
            empty_text="Load a run to get suggestions.",
        )
        self.suggestions.ratingChanged.connect(self.set_rating)
        suggest_box = QWidget()
        suggest_layout = QVBoxLayout(suggest_box)
        suggest_layout.setContentsMargins(4, 4, 4, 4)
        suggest_layout.addWidget(_muted(
            "Items worth rating first: widely seen and divisive, so your answer says the most "
            "about your taste (log popularity × spread, Rashid et al. 2002). Rated items drop off."
        ))
        suggest_layout.addWidget(self.suggestions, 1)
        self.rated = RatableItems(
            values, empty_text="No ratings yet. Find items under Search or Ask me.", fit_rows=True,
        )
        self.rated.ratingChanged.connect(self.set_rating)
        self.clear_all = QPushButton("Clear all ratings")
        self.clear_all.clicked.connect(self._clear_all_clicked)
        rated_box = QWidget()
        rated_layout = QVBoxLayout(rated_box)
        rated_layout.setContentsMargins(4, 4, 4, 4)
        rated_layout.addWidget(self.rated)
        rated_layout.addWidget(self.clear_all, 0, Qt.AlignmentFlag.AlignRight)
        rated_layout.addStretch(1)  # a few ratings: the list ends at its last row
        search_box = QWidget()
        search_layout = QVBoxLayout(search_box)
        search_layout.setContentsMargins(4, 4, 4, 4)
        search_layout.addWidget(self.search)
        self.finder = QTabWidget()
        self.finder.addTab(search_box, "Search")
        self.finder.addTab(suggest_box, "Ask me")
        self.finder.addTab(rated_box, "My ratings (0)")
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(profile_row)
        left_layout.addWidget(self.finder, 1)

        # ---- right: adapted vs un-adapted
        self.recs_heading = _heading("Recommendations")
        self.recs_heading.setWordWrap(True)
        self.recs_sub = _muted()
        self.top_n = QSpinBox()
        self.top_n.setRange(5, 100)
        self.top_n.setValue(10)
        self.top_n.setPrefix("Top ")
        self.top_n.setToolTip("How many recommendations to list")
        self.top_n.valueChanged.connect(self._schedule_adapt)
        head_row = QHBoxLayout()
        head_row.addWidget(self.recs_heading, 1)
        head_row.addWidget(self.top_n)
        self.adapted_table = RecsTable("adapted")
        self.unadapted_table = RecsTable("plain")
        for table in (self.adapted_table, self.unadapted_table):
            table.itemActivated.connect(self._reveal_item)
        tables = QSplitter(Qt.Orientation.Horizontal)
        tables.addWidget(self.adapted_table)
        tables.addWidget(self.unadapted_table)
        tables.setChildrenCollapsible(False)
        tables.setSizes([560, 480])
        # The tables are as tall as their rows (RecsTable); the loss plot takes the rest.
        tables.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.loss_plot = _MiniPlot()
        self.loss_plot.setMinimumHeight(150)
        self.loss_plot.setMenuEnabled(False)
        self.loss_plot.setMouseEnabled(x=False, y=False)
        self.loss_plot.hideButtons()
        self.loss_plot.setTitle("Inner-loop support loss per adaptation step", size="9pt")
        self.loss_plot.setLabel("bottom", "inner step")
        self.loss_plot.setLabel("left", "support MSE")
        self.loss_plot.showGrid(x=True, y=True)
        self.loss_curve = self.loss_plot.plot([], [], symbol="o", symbolSize=6)
        self.loss_note = pg.TextItem("", anchor=(0.5, 0.5))
        self.loss_plot.addItem(self.loss_note, ignoreBounds=True)
        self.adapt_info = _muted()
        self.adapt_info.setMinimumWidth(220)
        bottom = QHBoxLayout()
        bottom.addWidget(self.loss_plot, 3)
        bottom.addWidget(self.adapt_info, 1)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addLayout(head_row)
        right_layout.addWidget(self.recs_sub)
        right_layout.addWidget(tables)
        right_layout.addSpacing(6)
        right_layout.addLayout(bottom, 1)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setChildrenCollapsible(False)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        split.setSizes([470, 930])
        layout = QVBoxLayout(page)
        layout.setContentsMargins(4, 6, 4, 4)
        layout.addWidget(split)
        return page

    def _build_heldout(self) -> QWidget:
        page = QWidget()
        self.user_combo = QComboBox()
        self.user_combo.setMinimumContentsLength(22)
        self.user_combo.setToolTip("A cold test user: none of their ratings was used in training")
        self.user_combo.currentIndexChanged.connect(self._schedule_heldout)
        self.prev_user = QToolButton()
        self.prev_user.setArrowType(Qt.ArrowType.LeftArrow)
        self.prev_user.setToolTip("Previous test user")
        self.prev_user.clicked.connect(lambda: self._step_user(-1))
        self.next_user = QToolButton()
        self.next_user.setArrowType(Qt.ArrowType.RightArrow)
        self.next_user.setToolTip("Next test user")
        self.next_user.clicked.connect(lambda: self._step_user(1))
        self.k_slider = QSlider(Qt.Orientation.Horizontal)
        self.k_slider.setRange(1, 20)
        self.k_slider.setValue(5)
        self.k_slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.k_slider.setTickInterval(1)
        self.k_slider.setPageStep(5)
        self.k_slider.setMinimumWidth(220)
        self.k_slider.setToolTip("How many of the user's ratings are revealed (the support set)")
        self.k_slider.valueChanged.connect(self._k_changed)
        self.k_label = QLabel()
        self.k_label.setMinimumWidth(150)
        top = QHBoxLayout()
        top.addWidget(QLabel("Test user:"))
        top.addWidget(self.prev_user)
        top.addWidget(self.user_combo, 1)
        top.addWidget(self.next_user)
        top.addSpacing(16)
        top.addWidget(QLabel("Revealed K:"))
        top.addWidget(self.k_slider, 2)
        top.addWidget(self.k_label)

        self.metrics_label = QLabel()
        self.metrics_label.setTextFormat(Qt.TextFormat.RichText)
        self.metrics_label.setWordWrap(True)

        self.support_model = FrameModel([
            Column("title", "Title"),
            Column("year", "Year", lambda v: "" if pd.isna(v) else str(int(v)), CENTER),
            Column("rating", "Their rating"),
        ], self)
        self.support_view = self._table(self.support_model, stretch="title")
        self._support_delegate = StarDelegate([1.0], self.support_view, star_size=14)
        self.support_view.setItemDelegateForColumn(2, self._support_delegate)

        self.pred_model = FrameModel([
            Column("title", "Title", tooltip=lambda r: f"{r['title']}\n{fmt_genres(r.get('genres'))}"),
            Column("actual", "Actual", fmt_number(1), NUMERIC),
            Column("predicted", "Predicted", fmt_number(2), NUMERIC, header_tip="After adapting to the K revealed ratings"),
            Column("base", "Un-adapted", fmt_number(2), NUMERIC, header_tip="Before adapting (population prediction)"),
            Column("error", "Error", lambda v: "" if pd.isna(v) else f"{v:+.2f}", NUMERIC,
                   foreground=self._error_color, header_tip="Predicted − actual"),
        ], self)
        self.pred_proxy = FrameSortProxy(self)
        self.pred_proxy.setSourceModel(self.pred_model)
        self.pred_view = self._table(self.pred_proxy, stretch="title", sortable=True)
        self.pred_view.sortByColumn(1, Qt.SortOrder.DescendingOrder)

        self.scatter = pg.PlotWidget()
        self.scatter.setMenuEnabled(False)
        self.scatter.setTitle("Predicted vs. actual rating of the hidden ratings (jittered sideways)", size="10pt")
        self.scatter.setLabel("bottom", "actual rating")
        self.scatter.setLabel("left", "predicted rating")
        self.scatter.showGrid(x=True, y=True)
        self.scatter.setAspectLocked(True)
        self.scatter_legend = self.scatter.addLegend(offset=(10, 10), labelTextColor=theme().plot_foreground())
        self.identity = pg.PlotDataItem([], [], pen=pg.mkPen("#9aa0a6", width=1.5, style=Qt.PenStyle.DashLine), name="y = x (perfect)")
        self.scatter.addItem(self.identity)
        self.base_points = pg.ScatterPlotItem(size=7, pen=pg.mkPen("#9aa0a6"), brush=pg.mkBrush(0, 0, 0, 0), name="un-adapted")
        self.pred_points = pg.ScatterPlotItem(size=9, pen=pg.mkPen(None), name="adapted")
        self.scatter.addItem(self.base_points)
        self.scatter.addItem(self.pred_points)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        self.support_heading = _heading("Revealed ratings (support set)", 10)
        left_layout.addWidget(self.support_heading)
        left_layout.addWidget(self.support_view, 2)
        self.pred_heading = _heading("Hidden ratings (query set): predicted vs. actual", 10)
        left_layout.addWidget(self.pred_heading)
        left_layout.addWidget(self.pred_view, 3)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.metrics_label)
        right_layout.addWidget(self.scatter, 1)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setChildrenCollapsible(False)
        split.setSizes([700, 700])
        layout = QVBoxLayout(page)
        layout.setContentsMargins(4, 6, 4, 4)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        return page

    @staticmethod
    def _table(model, stretch: str, sortable: bool = False) -> QTableView:
        view = QTableView()
        view.setModel(model)
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        view.setAlternatingRowColors(True)
        view.setWordWrap(False)
        view.verticalHeader().setVisible(False)
        view.verticalHeader().setDefaultSectionSize(22)
        view.setSortingEnabled(sortable)
        fit_columns_once(view, stretch)  # thousands of rows: don't re-measure on each update
        return view

    # ================================================================== state changes
    def _on_dataset(self, dataset) -> None:
        self._unload("")
        self.ratings = {}
        self.unsaved = False
        self.profile_name, self.profile_path = None, None
        values = dataset.scale.values() if dataset is not None else [1.0]
        for widget in (self.suggestions, self.rated):
            widget.set_values(values)
        self._support_delegate.set_values(values)
        self.search.set_dataset(dataset)
        self._refresh_profiles()
        self._on_split(self.state.split)
        self._ratings_changed(adapt=False)
        if dataset is not None:
            self._restore_last_profile()
        self._set_banner("")

    def _on_split(self, split) -> None:
        self.user_combo.blockSignals(True)
        self.user_combo.clear()
        if split is not None and self.state.dataset is not None:
            counts = self.state.dataset.ratings_per_user
            ids = self.state.dataset.user_ids
            for u in split.test_users:
                self.user_combo.addItem(f"User {ids[u]}  ·  {counts[u]} ratings", int(u))
            self.k_slider.setMaximum(int(split.config.max_support))
        self.user_combo.blockSignals(False)
        if self.recommender is not None and split is not None:
            self.recommender = Recommender(self.recommender.algorithm, self.state.dataset, split)
            self._refresh_suggestions()
        self._k_changed(self.k_slider.value())

    def _on_run_finished(self, path: str) -> None:
        if self.run is None:
            self.picker.select_path(path)

    def _on_run_weights(self, path: str) -> None:
        """A watched run saved new weights: reload it if it is the run in use."""
        if self.run is not None and str(self.run.path.resolve()) == path:
            self.load_run(self.run)

    def _on_run_selected(self, run: Run | None) -> None:
        if run is None:
            self._unload("Choose a trained run to see its recommendations.")
            return
        if self.run is not None and run.path == self.run.path and self.recommender is not None:
            return
        self.load_run(run)

    def _restore_last_run(self) -> None:
        last = self.state.settings.value(LAST_RUN_KEY)
        if last and self.state.dataset is not None:
            self.picker.select_path(str(last))
        if self.run is None:
            self._set_status("Choose a trained run to see its recommendations.")

    # ================================================================== the run
    def load_run(self, run: Run) -> None:
        """Load a run's algorithm (in the background) and adapt to the current ratings."""
        dataset, device = self.state.dataset, self.state.device
        if dataset is None:
            self._set_status("Load a dataset first (Data page).", "warning")
            return
        self.run = run
        self.recommender = None
        self._set_status(f"Loading <b>{run.name}</b>…")
        self.background.submit(
            "model",
            lambda: load_algorithm(run, dataset, device=device),
            lambda algorithm: self._loaded(run, dataset, algorithm),
            lambda exc: self._load_failed(run, exc),
        )

    def _loaded(self, run: Run, dataset, algorithm) -> None:
        if dataset is not self.state.dataset or self.run is None or run.path != self.run.path:
            return  # superseded
        self.recommender = Recommender(algorithm, dataset, self.state.split)
        self.state.settings.setValue(LAST_RUN_KEY, str(run.path))
        title = run.config.get("title") or run.config.get("algorithm", "")
        self._set_status(f"<b>{title}</b> · {run.name} · on {algorithm.device}")
        self._refresh_suggestions()
        self.runLoaded.emit(run)
        self._adapt_now()
        self._heldout_now()

    def _load_failed(self, run: Run, exc: BaseException) -> None:
        self.run = None
        self.recommender = None
        message = str(exc) if isinstance(exc, RunError) else f"{type(exc).__name__}: {exc}"
        self._set_status(f"Cannot load {run.name}: {message}", "error")
        self.state.log(f"Cold-start: cannot load run {run.name}: {message}", "error")
        self.runLoaded.emit(None)

    def _unload(self, message: str) -> None:
        self.run = None
        self.recommender = None
        self.last_recommendation = None
        self.last_heldout = None
        self.adapted_table.set_frame(None)
        self.unadapted_table.set_frame(None)
        self.suggestions.set_frame(None)
        self.support_model.set_frame(None)
        self.pred_model.set_frame(None)
        self.pred_points.setData([], [])
        self.base_points.setData([], [])
        self.loss_curve.setData([], [])
        self.metrics_label.setText("")
        self.adapt_info.setText("")
        self.recs_heading.setText("Recommendations")
        self.recs_sub.setText("Choose a trained run above.")
        if message:
            self._set_status(message)

    # ================================================================== ratings
    def set_rating(self, item: int, value: float | None) -> None:
        """Rate a dense item (``None`` removes the rating) and re-adapt after a short pause."""
        item = int(item)
        if value is None:
            if self.ratings.pop(item, None) is None:
                return
        else:
            if self.ratings.get(item) == float(value):
                return
            self.ratings[item] = float(value)
        self.unsaved = True
        self._ratings_changed()

    def set_ratings(self, ratings: dict[int, float], *, adapt: bool = True) -> None:
        self.ratings = {int(k): float(v) for k, v in ratings.items()}
        self._ratings_changed(adapt=adapt)

    def _clear_all_clicked(self) -> None:
        if not self.ratings:
            return
        answer = QMessageBox.question(self, "Clear ratings", f"Remove all {len(self.ratings)} ratings of this profile?")
        if answer == QMessageBox.StandardButton.Yes:
            self.ratings = {}
            self.unsaved = True
            self._ratings_changed()

    def _ratings_changed(self, adapt: bool = True) -> None:
        for widget in (self.search, self.suggestions, self.rated):
            widget.set_ratings(self.ratings)
        dataset = self.state.dataset
        items = sorted(self.ratings, key=lambda i: (-self.ratings[i], i))
        self.rated.set_frame(_item_frame(dataset, items) if dataset is not None else None)
        self.finder.setTabText(2, f"My ratings ({len(self.ratings)})")
        self.clear_all.setEnabled(bool(self.ratings))
        self._update_profile_label()
        if adapt:
            self._refresh_suggestions()
            self._schedule_adapt()

    def _refresh_suggestions(self) -> None:
        if self.recommender is None:
            self.suggestions.set_frame(None)
            return
        self.suggestions.set_frame(self.recommender.suggest_items_to_rate(self.ratings, n=30))

    # ================================================================== adaptation
    def _schedule_adapt(self) -> None:
        if self.recommender is not None:
            self._adapt_timer.start()

    def _adapt_now(self) -> None:
        """Adapt to the current ratings off the GUI thread; only the latest request is shown."""
        self._adapt_timer.stop()
        recommender = self.recommender
        if recommender is None:
            return
        ratings, top = dict(self.ratings), self.top_n.value()
        self._adapt_started = time.perf_counter()
        self.adapt_info.setText("Adapting…")
        self.background.submit(
            "adapt",
            lambda: (ratings, recommender.recommend(ratings, top=top)),
            lambda result: self._show_recommendation(recommender, *result),
            self._background_failed,
        )

    def _show_recommendation(self, recommender: Recommender, ratings: dict[int, float], rec: Recommendation) -> None:
        if recommender is not self.recommender:
            return
        seconds = time.perf_counter() - self._adapt_started
        self.last_recommendation = rec
        self.adapted_table.set_frame(rec.adapted)
        self.unadapted_table.set_frame(rec.unadapted)
        n = len(ratings)
        shared = len(set(self.adapted_table.items()) & set(self.unadapted_table.items()))
        top = len(rec.adapted)
        if n == 0:
            self.recs_heading.setText("No ratings yet: both lists are the population ranking")
            self.recs_sub.setText("Rate a few items on the left; the left list then adapts to you.")
        else:
            self.recs_heading.setText(f"Adapted to your {n} rating{'s' if n != 1 else ''}  vs.  un-adapted")
            self.recs_sub.setText(
                f"{top - shared} of the top {top} are new after adapting; "
                "▲/▼ = rank gained/lost against the un-adapted ranking. Items you rated are never listed."
            )
        self.adapted_table.set_title(
            f"<b>Adapted to you</b> ({n} rating{'s' if n != 1 else ''})" if n else "<b>Adapted</b> (no ratings yet)",
            "The run after adapting to your ratings (its inner loop or closed-form fit)",
        )
        self.unadapted_table.set_title(
            "<b>Un-adapted</b> (population ranking)",
            "The run before adapting: the ranking every new user gets, whatever they rated",
        )
        self._show_losses(rec.losses)
        steps = max(0, len(rec.losses) - 1)
        info = [f"Adapted in {seconds * 1000:.0f} ms"]
        if rec.losses:
            info.append(f"{steps} inner step{'s' if steps != 1 else ''}")
            info.append(f"support loss {rec.losses[0]:.3f} → {rec.losses[-1]:.3f}")
        self.adapt_info.setText("\n".join(info))
        self.recommendationsShown.emit()

    def _show_losses(self, losses: list[float]) -> None:
        if len(losses) >= 1 and all(math.isfinite(x) for x in losses):
            self.loss_curve.setData(np.arange(len(losses)), np.asarray(losses, dtype=float))
            step = max(1, len(losses) // 10)
            self.loss_plot.getAxis("bottom").setTicks([[(i, str(i)) for i in range(0, len(losses), step)]])
            self.loss_note.setText("")
            self.loss_plot.enableAutoRange()
        else:
            self.loss_curve.setData([], [])
            self.loss_plot.setXRange(0, 1)
            self.loss_plot.setYRange(0, 1)
            self.loss_note.setPos(0.5, 0.5)
            self.loss_note.setText("No inner loop: this algorithm adapts in closed form" if self.ratings else "Rate items to adapt")

    def _reveal_item(self, item: int) -> None:
        """Double-clicking a recommendation shows it in the search list, ready to rate."""
        title = str(self.state.dataset.items["title"].iloc[item])
        self.finder.setCurrentIndex(0)
        self.search.set_query(title)
        items = self.search.results.items()
        if item in items:
            self.search.results.select_row(items.index(item))
            self.search.results.stars.setFocus()

    # ================================================================== held-out
    def current_user(self) -> int | None:
        data = self.user_combo.currentData()
        return None if data is None else int(data)

    def set_user(self, user: int) -> None:
        index = self.user_combo.findData(int(user))
        if index >= 0:
            self.user_combo.setCurrentIndex(index)

    def _step_user(self, delta: int) -> None:
        n = self.user_combo.count()
        if n:
            self.user_combo.setCurrentIndex((self.user_combo.currentIndex() + delta) % n)

    def _k_changed(self, k: int) -> None:
        self.k_label.setText(f"{k} revealed · the rest hidden")
        self._schedule_heldout()

    def _schedule_heldout(self) -> None:
        if self.recommender is not None:
            self._heldout_timer.start()

    def _heldout_now(self) -> None:
        self._heldout_timer.stop()
        recommender, user, k = self.recommender, self.current_user(), self.k_slider.value()
        if recommender is None or user is None or recommender.split is None:
            return
        self.background.submit(
            "heldout",
            lambda: recommender.heldout(user, k),
            lambda result: self._show_heldout(recommender, user, k, result),
            self._background_failed,
        )

    def _show_heldout(self, recommender: Recommender, user: int, k: int, result: HeldoutResult) -> None:
        if recommender is not self.recommender or user != self.current_user() or k != self.k_slider.value():
            return
        self.last_heldout = result
        self.support_model.set_frame(result.support)
        frame = result.predictions.assign(error=result.predictions["predicted"] - result.predictions["actual"])
        self.pred_model.set_frame(frame)
        self.support_heading.setText(f"Revealed ratings (support set, K = {len(result.support)})")
        self.pred_heading.setText(f"Hidden ratings (query set, {len(frame)}): predicted vs. actual")
        actual = frame["actual"].to_numpy(float)
        # Ratings are discrete: spread the points a little sideways so that they do not hide each other.
        step = self.state.dataset.scale.step or 0.1 * self.state.dataset.scale.span
        offset = np.random.default_rng(user).uniform(-0.18, 0.18, len(actual)) * step
        brush = QColor(theme().accent())
        brush.setAlpha(170)
        self.pred_points.setData(actual + offset, frame["predicted"].to_numpy(float), brush=pg.mkBrush(brush))
        self.base_points.setData(actual + offset, frame["base"].to_numpy(float))
        scale = self.state.dataset.scale
        self.identity.setData([scale.min, scale.max], [scale.min, scale.max])
        pad = 0.05 * scale.span
        self.scatter.setRange(xRange=(scale.min - pad, scale.max + pad), yRange=(scale.min - pad, scale.max + pad), padding=0)
        better = result.mae < result.base_mae
        parts = [
            f"<span style='font-size:15pt'><b>MAE {result.mae:.3f}</b></span> after adapting to K = {len(result.support)}",
            f"un-adapted MAE {result.base_mae:.3f} "
            f"(<span style='color:{'#1e8e3e' if better else '#d93025'}'>"
            f"{'better' if better else 'worse'} by {abs(result.base_mae - result.mae):.3f}</span>)",
        ]
        if result.truth_corr is not None:
            parts.append(f"correlation with the true preference (synthetic ground truth): <b>{result.truth_corr:.3f}</b>")
        self.metrics_label.setText("<br>".join(parts))
        self.heldoutShown.emit()

    @staticmethod
    def _error_color(row: Row) -> QColor | None:
        err = row.get("error")
        if err is None or pd.isna(err):
            return None
        return QColor("#1e8e3e") if abs(err) <= 0.5 else QColor("#d93025") if abs(err) >= 1.5 else None

    # ================================================================== profiles
    def _refresh_profiles(self) -> None:
        """List saved profiles; those made on another dataset are shown disabled."""
        self.profile_model.clear()
        dataset = self.state.dataset
        first = QStandardItem("Unsaved profile")
        first.setData(None, PROFILE_PATH_ROLE)
        self.profile_model.appendRow(first)
        for path in list_profiles(self.state.profiles_dir()):
            try:
                profile = load_profile(path)
            except ProfileError as exc:
                item = QStandardItem(f"{path.stem} (unreadable)")
                item.setToolTip(str(exc))
                item.setEnabled(False)
                self.profile_model.appendRow(item)
                continue
            other = dataset is None or profile.dataset_fingerprint != dataset.fingerprint
            label = f"{profile.name} ({len(profile.ratings)})"
            item = QStandardItem(label + (f" — {profile.dataset_name or 'other dataset'}" if other else ""))
            item.setData(str(path), PROFILE_PATH_ROLE)
            item.setToolTip(
                f"Made on '{profile.dataset_name}', not on the loaded dataset" if other
                else f"{len(profile.ratings)} ratings, saved {profile.updated}"
            )
            self.profile_model.appendRow(item)
        self._update_profile_label()

    def profile_names(self) -> list[str]:
        return [self.profile_model.item(r).text() for r in range(1, self.profile_model.rowCount())]

    def _update_profile_label(self) -> None:
        row = 0
        if self.profile_path is not None:
            for r in range(1, self.profile_model.rowCount()):
                if self.profile_model.item(r).data(PROFILE_PATH_ROLE) == str(self.profile_path):
                    row = r
                    break
        self.profile_combo.blockSignals(True)
        self.profile_combo.setCurrentIndex(row)
        self.profile_combo.blockSignals(False)
        name = self.profile_name or "Unsaved profile"
        self.save_button.setText("Save •" if self.unsaved and self.ratings else "Save")
        self.save_button.setToolTip(
            f"Save '{name}' (Ctrl+S)" + (" — unsaved changes" if self.unsaved else "")
        )

    def _on_profile_activated(self, row: int) -> None:
        path = self.profile_model.item(row).data(PROFILE_PATH_ROLE)
        if path is None:
            return
        if not self._confirm_discard():
            self._update_profile_label()
            return
        self.load_profile_file(Path(path))

    def _confirm_discard(self) -> bool:
        if not (self.unsaved and self.ratings):
            return True
        answer = QMessageBox.question(
            self, "Unsaved ratings",
            f"Discard the unsaved changes to '{self.profile_name or 'Unsaved profile'}'?",
        )
        return answer == QMessageBox.StandardButton.Yes

    def load_profile_file(self, path: Path) -> bool:
        """Load a saved profile; a profile of another dataset is refused with a clear message."""
        dataset = self.state.dataset
        try:
            profile = load_profile(path)
            if dataset is None:
                raise ProfileError("load a dataset first")
            ratings = profile.dense_ratings(dataset)
        except ProfileError as exc:
            self._set_banner(f"Cannot load the profile: {exc}. Load that dataset on the Data page to use it.", "warning")
            self.state.log(f"Cold-start: {exc}", "warning")
            self._update_profile_label()
            return False
        dropped = len(profile.ratings) - len(ratings)
        self.profile_name, self.profile_path = profile.name, Path(path)
        self.unsaved = False
        self.state.settings.setValue(LAST_PROFILE_KEY, str(path))
        self.set_ratings(ratings)
        self._set_banner(f"{dropped} rated item(s) of this profile are not in the dataset and were skipped." if dropped else "")
        self.state.log(f"Cold-start: loaded profile '{profile.name}' ({len(ratings)} ratings)")
        return True

    def save_profile_as(self, name: str) -> Path | None:
        """Save the current ratings as profile ``name`` in the workspace."""
        dataset = self.state.dataset
        if dataset is None or not name.strip():
            return None
        profile = Profile.from_dense(name.strip(), dataset, self.ratings)
        path = save_profile(profile, self.state.profiles_dir())
        self.profile_name, self.profile_path = profile.name, Path(path)
        self.unsaved = False
        self.state.settings.setValue(LAST_PROFILE_KEY, str(path))
        self._refresh_profiles()
        self._set_banner(f"Saved profile '{profile.name}' ({len(self.ratings)} ratings) to {path}")
        QTimer.singleShot(5000, self, self._clear_saved_banner)
        self.state.log(f"Cold-start: saved profile '{profile.name}' to {path}")
        return path

    def _clear_saved_banner(self) -> None:
        if self.banner.text().startswith("Saved profile"):
            self._set_banner("")

    def new_profile(self) -> None:
        if not self._confirm_discard():
            return
        self.profile_name, self.profile_path = None, None
        self.unsaved = False
        self.state.settings.remove(LAST_PROFILE_KEY)
        self.set_ratings({})

    def _save_clicked(self) -> None:
        if self.profile_name:
            self.save_profile_as(self.profile_name)
        else:
            self._save_as_clicked()

    def _save_as_clicked(self) -> None:
        name, ok = QInputDialog.getText(self, "Save profile", "Profile name:", text=self.profile_name or "")
        if ok and name.strip():
            self.save_profile_as(name)

    def _restore_last_profile(self) -> None:
        last = self.state.settings.value(LAST_PROFILE_KEY)
        if last and Path(str(last)).is_file():
            try:
                profile = load_profile(Path(str(last)))
            except ProfileError:
                return  # listed as unreadable in the profile box
            if profile.dataset_fingerprint == self.state.dataset.fingerprint:
                self.load_profile_file(Path(str(last)))

    # ================================================================== messages
    def _background_failed(self, exc: BaseException) -> None:
        message = f"{type(exc).__name__}: {exc}"
        self._set_status(message, "error")
        self.state.log(f"Cold-start: {message}", "error")

    def _set_status(self, html: str, level: str = "info") -> None:
        color = theme().level_color(level) if level != "info" else theme().muted()
        self.status.setText(f"<span style='color:{color}'>{html}</span>")

    def _set_banner(self, text: str, level: str = "info") -> None:
        self.banner.setVisible(bool(text))
        self.banner.setText(text)
        color = theme().level_color(level)
        self.banner.setStyleSheet(f"QLabel {{ color: {color}; padding: 6px; }}")

    def _restyle(self) -> None:
        for plot in (self.loss_plot, self.scatter):
            style_view(plot)
        style_plot_item(self.loss_plot.getPlotItem())
        color = theme().accent()
        self.loss_curve.setPen(pg.mkPen(color, width=2))
        self.loss_curve.setSymbolBrush(pg.mkBrush(color))
        self.loss_curve.setSymbolPen(pg.mkPen(color))
        self.loss_note.setColor(theme().muted())
        if self.last_heldout is not None:
            brush = QColor(color)
            brush.setAlpha(170)
            self.pred_points.setBrush(pg.mkBrush(brush))

    # ================================================================== lifetime
    def shutdown(self, timeout_ms: int = 10000) -> bool:
        """Stop background calls (window close); True if they ended in time."""
        self._adapt_timer.stop()
        self._heldout_timer.stop()
        return self.background.shutdown(timeout_ms)

    def closeEvent(self, event: Any) -> None:
        self.shutdown()
        super().closeEvent(event)


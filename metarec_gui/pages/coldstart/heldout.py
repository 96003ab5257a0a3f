"""The Held-out-user tab: a real test user's ratings; a slider reveals K of them as the support
set, and the protocol's fixed query set is predicted and compared with the truth (table, scatter
with y = x, MAE; on synthetic data, the correlation with the true preference).

It opens on a typical test user (the median number of ratings), not on the most active one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractScrollArea,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QSplitter,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.recommend import HeldoutResult

from ...theme import style_plot_item, style_view, theme
from ...widgets.frame_model import (
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
from ...widgets.star_rating import StarDelegate
from .common import heading
from .user_list import TestUserModel

DELAY_MS = 120


def typical_user(split, counts: np.ndarray) -> int | None:
    """The test user whose number of ratings is closest to the test users' median."""
    users = np.asarray(split.test_users)
    if not len(users):
        return None
    n = counts[users]
    return int(users[int(np.argmin(np.abs(n - np.median(n))))])


def _error_color(row: Row) -> QColor | None:
    err = row.get("error")
    if err is None or pd.isna(err):
        return None
    return QColor("#1e8e3e") if abs(err) <= 0.5 else QColor("#d93025") if abs(err) >= 1.5 else None


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
    fit_columns_once(view, stretch)
    return view


class HeldoutPanel(QWidget):
    """``requested`` (debounced) when the user or K changed; the page then calls core."""

    requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.user_combo = QComboBox()
        self.user_model = TestUserModel(self)
        self.user_combo.setModel(self.user_model)
        self.user_combo.setMinimumContentsLength(22)
        # sized by that length, not by asking every row (25,000 test users in a 25M-row file)
        self.user_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.user_combo.view().setUniformItemSizes(True)
        self.user_combo.setToolTip("A cold test user: none of their ratings was used in training")
        self.prev_user, self.next_user = QToolButton(), QToolButton()
        self.prev_user.setArrowType(Qt.ArrowType.LeftArrow)
        self.prev_user.setToolTip("Previous test user")
        self.prev_user.clicked.connect(lambda: self.step_user(-1))
        self.next_user.setArrowType(Qt.ArrowType.RightArrow)
        self.next_user.setToolTip("Next test user")
        self.next_user.clicked.connect(lambda: self.step_user(1))
        self.k_slider = QSlider(Qt.Orientation.Horizontal)
        self.k_slider.setRange(1, 20)
        self.k_slider.setValue(5)
        self.k_slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.k_slider.setTickInterval(1)
        self.k_slider.setPageStep(5)
        self.k_slider.setMinimumWidth(200)
        self.k_slider.setToolTip("How many of the user's ratings are revealed (the support set)")
        self.k_label = QLabel()
        self.k_label.setMinimumWidth(120)
        top = QHBoxLayout()
        top.addWidget(QLabel("Test user:"))
        top.addWidget(self.prev_user)
        top.addWidget(self.user_combo, 1)
        top.addWidget(self.next_user)
        top.addSpacing(12)
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
        self.support_view = _table(self.support_model, stretch="title")
        self.support_delegate = StarDelegate([1.0], self.support_view, star_size=16)
        self.support_view.setItemDelegateForColumn(2, self.support_delegate)
        self.pred_model = FrameModel([
            Column("title", "Title", tooltip=lambda r: f"{r['title']}\n{fmt_genres(r.get('genres'))}"),
            Column("actual", "Actual", fmt_number(1), NUMERIC),
            Column("predicted", "Predicted", fmt_number(2), NUMERIC, header_tip="After adapting to the K revealed ratings"),
            Column("base", "Un-adapted", fmt_number(2), NUMERIC, header_tip="Before adapting (population prediction)"),
            Column("error", "Error", lambda v: "" if pd.isna(v) else f"{v:+.2f}", NUMERIC,
                   foreground=_error_color, header_tip="Predicted − actual"),
        ], self)
        self.pred_proxy = FrameSortProxy(self)
        self.pred_proxy.setSourceModel(self.pred_model)
        self.pred_view = _table(self.pred_proxy, stretch="title", sortable=True)
        self.pred_view.sortByColumn(1, Qt.SortOrder.DescendingOrder)

        self.scatter = pg.PlotWidget()
        self.scatter.setMenuEnabled(False)
        self.scatter.setTitle("Predicted vs. actual (hidden ratings, jittered sideways)", size="10pt")
        self.scatter.setLabel("bottom", "actual rating")
        self.scatter.setLabel("left", "predicted rating")
        self.scatter.showGrid(x=True, y=True)
        self.scatter.setAspectLocked(True)
        self.scatter.addLegend(offset=(10, 10), labelTextColor=theme().plot_foreground())
        self.identity = pg.PlotDataItem([], [], pen=pg.mkPen("#9aa0a6", width=1.5, style=Qt.PenStyle.DashLine),
                                        name="y = x (perfect)")
        self.scatter.addItem(self.identity)
        self.base_points = pg.ScatterPlotItem(size=7, pen=pg.mkPen("#9aa0a6"), brush=pg.mkBrush(0, 0, 0, 0),
                                              name="un-adapted")
        self.pred_points = pg.ScatterPlotItem(size=9, pen=pg.mkPen(None), name="adapted")
        self.scatter.addItem(self.base_points)
        self.scatter.addItem(self.pred_points)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        self.support_heading = heading("Revealed ratings (support set)", 10)
        self.pred_heading = heading("Hidden ratings: predicted vs. actual", 10)
        # K <= 20 revealed ratings: that table is as tall as its rows; the query set takes the rest
        self.support_view.setSizeAdjustPolicy(QAbstractScrollArea.SizeAdjustPolicy.AdjustToContents)
        self.support_view.setMinimumHeight(22 * 3 + 26)
        left_layout.addWidget(self.support_heading)
        left_layout.addWidget(self.support_view)
        left_layout.addWidget(self.pred_heading)
        left_layout.addWidget(self.pred_view, 1)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.metrics_label)
        right_layout.addWidget(self.scatter, 1)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setChildrenCollapsible(False)
        split.setSizes([700, 600])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 6, 4, 4)
        layout.addLayout(top)
        layout.addWidget(split, 1)

        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(DELAY_MS)
        self.timer.timeout.connect(self.requested)
        self.user_combo.currentIndexChanged.connect(self.timer.start)
        self.k_slider.valueChanged.connect(self._k_changed)
        theme().changed.connect(self.restyle)
        self.restyle()
        self._k_changed(self.k_slider.value())

    # ------------------------------------------------------------------ users
    def current_user(self) -> int | None:
        return self.user_model.user_at(self.user_combo.currentIndex())

    def set_user(self, user: int) -> None:
        row = self.user_model.row_of(user)
        if row >= 0:
            self.user_combo.setCurrentIndex(row)

    def step_user(self, delta: int) -> None:
        n = self.user_combo.count()
        if n:
            self.user_combo.setCurrentIndex((self.user_combo.currentIndex() + delta) % n)

    def set_split(self, dataset, split) -> None:
        """List the split's test users (a lazy model) and select a typical one."""
        self.user_combo.blockSignals(True)
        if split is not None and dataset is not None:
            counts = dataset.ratings_per_user
            typical = typical_user(split, counts)
            self.user_model.set_users(split.test_users, dataset.user_ids, counts, typical)
            self.k_slider.setMaximum(int(split.config.max_support))
            if typical is not None:
                self.user_combo.setCurrentIndex(self.user_model.row_of(typical))
        else:
            self.user_model.set_users(None)
        self.user_combo.blockSignals(False)
        self._k_changed(self.k_slider.value())

    def _k_changed(self, k: int) -> None:
        self.k_label.setText(f"{k} revealed")
        self.timer.start()

    # ------------------------------------------------------------------ showing
    def clear(self) -> None:
        self.support_model.set_frame(None)
        self.pred_model.set_frame(None)
        self.pred_points.setData([], [])
        self.base_points.setData([], [])
        self.metrics_label.setText("")

    def show_result(self, result: HeldoutResult, dataset, user: int) -> None:
        """Core's held-out result: K revealed ratings, the protocol's fixed query set predicted."""
        frame = result.predictions
        frame = frame.assign(error=frame["predicted"] - frame["actual"])
        self.support_model.set_frame(result.support)
        self.pred_model.set_frame(frame)
        self.support_heading.setText(f"Revealed ratings (support set, K = {len(result.support)})")
        self.pred_heading.setText(
            f"Hidden ratings: the protocol's fixed query set ({len(frame)}), predicted vs. actual")
        actual = frame["actual"].to_numpy(float)
        step = dataset.scale.step or 0.1 * dataset.scale.span
        offset = np.random.default_rng(user).uniform(-0.18, 0.18, len(actual)) * step
        brush = QColor(theme().accent())
        brush.setAlpha(170)
        self.pred_points.setData(actual + offset, frame["predicted"].to_numpy(float), brush=pg.mkBrush(brush))
        self.base_points.setData(actual + offset, frame["base"].to_numpy(float))
        scale = dataset.scale
        self.identity.setData([scale.min, scale.max], [scale.min, scale.max])
        pad = 0.05 * scale.span
        self.scatter.setRange(xRange=(scale.min - pad, scale.max + pad),
                              yRange=(scale.min - pad, scale.max + pad), padding=0)
        better = result.mae < result.base_mae
        parts = [
            f"<span style='font-size:15pt'><b>MAE {result.mae:.3f}</b></span> on the query set after "
            f"adapting to K = {len(result.support)}",
            f"un-adapted MAE {result.base_mae:.3f} "
            f"(<span style='color:{'#1e8e3e' if better else '#d93025'}'>"
            f"{'better' if better else 'worse'} by {abs(result.base_mae - result.mae):.3f}</span>)",
        ]
        if result.truth_corr is not None:
            base_corr = getattr(result, "base_truth_corr", None)
            parts.append(
                "true preference recovered (synthetic ground truth: correlation of the predictions "
                f"with it): <b>{result.truth_corr:.3f}</b>"
                + (f" adapted vs. {base_corr:.3f} un-adapted" if base_corr is not None else ""))
        self.metrics_label.setText("<br>".join(parts))

    def restyle(self) -> None:
        style_view(self.scatter)
        style_plot_item(self.scatter.getPlotItem())

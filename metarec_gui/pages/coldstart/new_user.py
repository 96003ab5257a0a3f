"""The New-user tab: profile bar, optional user attributes, ways to find items to rate (search,
"ask me", my ratings) on the left; the adapted vs. un-adapted lists on the right."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QMessageBox,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ...state import AppState
from ...widgets.item_search import ItemSearch
from ...widgets.ratable_items import POPULARITY, SPREAD, RatableItems
from .common import item_frame, muted
from .profiles import ProfileBar
from .ratings import RatingsStore
from .results import RecsView
from .user_features import UserFeaturesBox

RATED_TAB = 2
SEARCH_DELAY_MS = 15  # the search list follows a new dataset one event-loop turn later


class NewUserPanel(QWidget):
    """Widgets of the New-user tab; ``ratingChanged(item, value or None)`` from any list."""

    ratingChanged = Signal(int, object)

    def __init__(self, state: AppState, store: RatingsStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state, self.store = state, store
        self.profiles = ProfileBar(state, store)
        self.user_features = UserFeaturesBox()
        values = [1.0]
        self.search = ItemSearch()
        self.suggestions = RatableItems(values, extra_columns=[POPULARITY, SPREAD],
                                        empty_text="Load a run to get suggestions.")
        self.rated = RatableItems(values, empty_text="No ratings yet. Find items under Search or Ask me.",
                                  fit_rows=True)
        for widget in (self.search, self.suggestions, self.rated):
            widget.ratingChanged.connect(self.ratingChanged)
        suggest_box = QWidget()
        suggest_layout = QVBoxLayout(suggest_box)
        suggest_layout.setContentsMargins(4, 4, 4, 4)
        suggest_layout.addWidget(muted(
            "Items worth rating first: widely seen and divisive, so your answer says the most "
            "about your taste (log popularity × spread, Rashid et al. 2002). Rated items drop off."
        ))
        suggest_layout.addWidget(self.suggestions, 1)
        self.clear_all = QPushButton("Clear all ratings")
        self.clear_all.setToolTip("Remove every rating of this profile (Ctrl+Z brings them back)")
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
        left_layout.addWidget(self.profiles)
        left_layout.addWidget(self.user_features)
        left_layout.addWidget(self.finder, 1)
        left.setMinimumWidth(300)

        self.results = RecsView()
        self.results.adapted_table.itemActivated.connect(self.reveal_item)
        self.results.unadapted_table.itemActivated.connect(self.reveal_item)
        self.split = QSplitter(Qt.Orientation.Horizontal)
        self.split.addWidget(left)
        self.split.addWidget(self.results)
        self.split.setChildrenCollapsible(False)
        self.split.setStretchFactor(0, 1)
        self.split.setStretchFactor(1, 2)
        self.split.setSizes([340, 800])  # the lists are the story: they get the width
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 6, 4, 4)
        layout.addWidget(self.split)

    # ------------------------------------------------------------------ updates from the page
    def set_dataset(self, dataset) -> None:
        values = dataset.scale.values() if dataset is not None else [1.0]
        for widget in (self.suggestions, self.rated):
            widget.set_values(values)
        # The search's first listing (core.recommend.search_items + the list) costs 10-15 ms of
        # the GUI thread: it follows in its own turn, so loading a dataset never waits for it.
        self._search_dataset = dataset
        self.search.setEnabled(False)
        QTimer.singleShot(SEARCH_DELAY_MS, self._sync_search)
        self.user_features.set_dataset(dataset)

    def _sync_search(self) -> None:
        dataset, self._search_dataset = getattr(self, "_search_dataset", None), None
        if dataset is not None and dataset is self.state.dataset:
            self.search.set_dataset(dataset)
        elif self.state.dataset is None:
            self.search.set_dataset(None)

    def show_ratings(self, ratings: dict[int, float]) -> None:
        """Push the current ratings to every list (the store is the one truth)."""
        for widget in (self.search, self.suggestions, self.rated):
            widget.set_ratings(ratings)
        items = sorted(ratings, key=lambda i: (-ratings[i], i))
        self.rated.set_frame(item_frame(self.state.dataset, items) if self.state.dataset is not None else None)
        self.finder.setTabText(RATED_TAB, f"My ratings ({len(ratings)})")
        self.clear_all.setEnabled(bool(ratings))
        self.profiles.update_label()

    def reveal_item(self, item: int) -> None:
        """Double-clicking a recommendation shows it in the search list, ready to rate."""
        dataset = self.state.dataset
        if dataset is None:
            return
        self._sync_search()
        self.finder.setCurrentIndex(0)
        self.search.set_query(str(dataset.items["title"].iloc[item]))
        items = self.search.results.items()
        if item in items:
            self.search.results.select_row(items.index(item))
            self.search.results.stars.setFocus()

    def _clear_all_clicked(self) -> None:
        if len(self.store) == 0:
            return
        answer = QMessageBox.question(
            self, "Clear ratings",
            f"Remove all {len(self.store)} ratings of this profile? (Ctrl+Z undoes it.)")
        if answer == QMessageBox.StandardButton.Yes:
            self.store.clear()

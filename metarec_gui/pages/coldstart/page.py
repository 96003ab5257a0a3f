"""The Cold-start page: a run, a New-user tab and a Held-out-user tab, and the page's public API.

*New user*: rate items (search, "ask me", my ratings; undo with Ctrl+Z), optionally say age /
gender / occupation; each change re-adapts the run to the ratings (debounced, off the GUI
thread) and shows the adapted top-N beside the un-adapted one, how the ranking moved, why each
item is there, and the inner loop's loss. *Held-out user*: a real test user's hidden ratings.

Other pages use: ``current_profile()``, ``profileChanged``, ``profileSaved(path)``; the main
window's close asks ``has_unsaved_changes()`` / ``confirm_discard(parent)``.
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QTabWidget, QVBoxLayout, QWidget

from core.profiles import Profile
from core.recommend import HeldoutResult, Recommendation, Recommender
from core.runs import Run, RunError, load_algorithm

from ...state import AppState
from ...widgets.run_picker import RunPicker
from .common import item_title
from .heldout import HeldoutPanel
from .messages import MessagesMixin
from .new_user import NewUserPanel
from .ratings import RatingsStore
from .why import liked_genres

try:  # the one background mechanism (GUI-SHELL); older trees keep it in widgets/background.py
    from ...workers import Background
except ImportError:  # pragma: no cover
    from ...widgets.background import Background

ADAPT_DELAY_MS = 250


class ColdStartPage(MessagesMixin, QWidget):
    """Recommendations for a new user, and a held-out user's predicted vs. actual ratings."""

    recommendationsShown = Signal()  # a new adapted/un-adapted pair is on screen
    heldoutShown = Signal()  # held-out predictions for the current user and K are on screen
    runLoaded = Signal(object)  # the Run whose algorithm is now loaded (None = unloaded)
    profileChanged = Signal()  # the new user's ratings or profile changed
    profileSaved = Signal(str)  # path of the profile file just written
    reasonsShown = Signal(int)  # the Why panel shows the reasons for this item
    suggestionsShown = Signal()  # the "ask me" list is up to date

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.background = Background(self, threads=1)
        self._model_lock = threading.Lock()  # one call on the model at a time, whatever the lane
        self.run: Run | None = None
        self.recommender: Recommender | None = None
        self.last_recommendation: Recommendation | None = None
        self.last_heldout: HeldoutResult | None = None
        self.last_adapt_ms: float | None = None
        self._adapt = True
        self.store = RatingsStore(self, describe=lambda item: item_title(self.state.dataset, item))
        self.undo_stack = self.store.undo_stack

        self.picker = RunPicker(state)
        self.picker.runSelected.connect(self._on_run_selected)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.RichText)
        header = QHBoxLayout()
        header.addWidget(QLabel("Run:"))
        header.addWidget(self.picker, 2)
        header.addWidget(self.status, 3)
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setVisible(False)
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner.setFrameShape(QFrame.Shape.StyledPanel)
        self.new_user = NewUserPanel(state, self.store)
        self.heldout = HeldoutPanel()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.new_user, "New user")
        self.tabs.addTab(self.heldout, "Held-out user")
        self.tabs.setTabToolTip(0, "Rate a few items yourself and see what the run recommends")
        self.tabs.setTabToolTip(1, "Reveal K ratings of a real test user and compare predictions with the truth")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addLayout(header)
        layout.addWidget(self.banner)
        layout.addWidget(self.tabs, 1)
        self._alias_widgets()

        bar = self.profile_bar
        for action in (bar.undo_action, bar.redo_action):
            self.addAction(action)
        QShortcut(QKeySequence.StandardKey.Save, self, activated=bar.save,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        bar.message.connect(self._profile_message)
        bar.saved.connect(self.profileSaved)
        bar.saved.connect(lambda _path: self.profileChanged.emit())
        self.store.changed.connect(self._ratings_changed)
        self.new_user.ratingChanged.connect(self.set_rating)
        self.new_user.user_features.changed.connect(self._schedule_adapt)
        self.top_n.valueChanged.connect(self._schedule_adapt)
        self.adapted_table.currentItemChanged.connect(self._explain)
        self.heldout.requested.connect(self._heldout_now)

        self._adapt_timer = QTimer(self)
        self._adapt_timer.setSingleShot(True)
        self._adapt_timer.setInterval(ADAPT_DELAY_MS)
        self._adapt_timer.timeout.connect(self._adapt_now)
        state.datasetChanged.connect(self._on_dataset)
        state.splitChanged.connect(self._on_split)
        state.runFinished.connect(self._on_run_finished)
        state.runWeightsChanged.connect(self._on_run_weights)
        self._on_dataset(state.dataset)
        self._restore_last_run()

    def _alias_widgets(self) -> None:
        """Short names for the panels' widgets (tests, screenshots and the older API use them)."""
        nu, res, ho = self.new_user, self.new_user.results, self.heldout
        self.profile_bar, self.finder, self.search = nu.profiles, nu.finder, nu.search
        self.suggestions, self.rated, self.clear_all = nu.suggestions, nu.rated, nu.clear_all
        self.user_features = nu.user_features
        self.results, self.top_n, self.why = res, res.top_n, res.why
        self.adapted_table, self.unadapted_table = res.adapted_table, res.unadapted_table
        self.recs_heading, self.recs_sub, self.adapt_info = res.heading, res.summary, res.adapt_info
        self.loss_chart, self.loss_curve = res.loss_chart, res.loss_chart.curve
        self.user_combo, self.k_slider = ho.user_combo, ho.k_slider
        self.support_model, self.pred_model = ho.support_model, ho.pred_model
        self.metrics_label, self.pred_points = ho.metrics_label, ho.pred_points

    # ================================================================== public API
    @property
    def ratings(self) -> dict[int, float]:
        return self.store.ratings()

    @property
    def profile_name(self) -> str | None:
        return self.profile_bar.name

    @property
    def profile_path(self) -> Path | None:
        return self.profile_bar.path

    def current_profile(self) -> Profile | None:
        """The new user being rated, as a profile (named 'Unsaved profile' until saved)."""
        return self.profile_bar.current_profile()

    def has_unsaved_changes(self) -> bool:
        return self.profile_bar.has_unsaved_changes()

    def confirm_discard(self, parent: QWidget | None = None) -> bool:
        """Ask Save / Discard / Cancel if ratings are unsaved; True = the caller may go on."""
        return self.profile_bar.confirm_discard(parent or self, "quit")

    def set_rating(self, item: int, value: float | None) -> None:
        """Rate a dense item (``None`` removes the rating): undoable; re-adapts after a pause."""
        self.store.set(item, value)

    def set_ratings(self, ratings: dict[int, float], *, adapt: bool = True) -> None:
        """Replace all ratings (one undoable step)."""
        self._adapt = adapt
        try:
            self.store.set_many(ratings)
        finally:
            self._adapt = True

    def new_profile(self) -> bool:
        return self.profile_bar.new()

    def save_profile_as(self, name: str) -> Path | None:
        return self.profile_bar.save_as(name)

    def load_profile_file(self, path: Path) -> bool:
        return self.profile_bar.load_file(Path(path))

    def profile_names(self) -> list[str]:
        return self.profile_bar.names()

    def current_user(self) -> int | None:
        return self.heldout.current_user()

    def set_user(self, user: int) -> None:
        self.heldout.set_user(user)

    # ================================================================== state changes
    def _on_dataset(self, dataset) -> None:
        previous, self._dataset = getattr(self, "_dataset", None), dataset
        self._unload("")
        self.new_user.set_dataset(dataset)
        self.heldout.support_delegate.set_values(dataset.scale.values() if dataset is not None else [1.0])
        self.profile_bar.reset(previous)
        self.profile_bar.set_personas(dataset)
        self._on_split(self.state.split)
        if dataset is not None:
            self.profile_bar.restore_last()
        self._set_banner("")

    def _on_split(self, split) -> None:
        self.heldout.set_split(self.state.dataset, split)
        if self.recommender is not None and split is not None:
            self.recommender = Recommender(self.recommender.algorithm, self.state.dataset, split)
            self._refresh_suggestions()

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
        last = self.state.prefs.coldstart_run
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
        self.run, self.recommender = run, None
        self._set_status(f"Loading <b>{run.name}</b>…")
        self._submit("model", lambda: load_algorithm(run, dataset, device=device),
                     lambda algorithm: self._loaded(run, dataset, algorithm),
                     lambda exc: self._load_failed(run, exc))

    def _loaded(self, run: Run, dataset, algorithm) -> None:
        if dataset is not self.state.dataset or self.run is None or run.path != self.run.path:
            return  # superseded
        self.recommender = Recommender(algorithm, dataset, self.state.split)
        self.state.prefs.coldstart_run = str(run.path)
        title = run.config.get("title") or run.config.get("algorithm", "")
        self._set_status(f"<b>{title}</b> · {run.name} · on {algorithm.device}")
        self._refresh_suggestions()
        self.runLoaded.emit(run)
        self._adapt_now()
        self._heldout_now()

    def _load_failed(self, run: Run, exc: BaseException) -> None:
        self.run = self.recommender = None
        message = str(exc) if isinstance(exc, RunError) else f"{type(exc).__name__}: {exc}"
        self._set_status(f"Cannot load {run.name}: {message}", "error")
        self.state.log(f"Cold-start: cannot load run {run.name}: {message}", "error")
        self.runLoaded.emit(None)

    def _unload(self, message: str) -> None:
        self.run = self.recommender = None
        self.last_recommendation = self.last_heldout = None
        self.results.clear("Choose a trained run above.")
        self.suggestions.set_frame(None)
        self.heldout.clear()
        if message:
            self._set_status(message)

    def _submit(self, lane: str, fn: Callable[[], Any], on_done: Callable[[Any], None],
                on_error: Callable[[BaseException], None] | None = None) -> None:
        """``fn`` off the GUI thread; calls on the model never overlap (one lock)."""
        lock = self._model_lock

        def call() -> Any:
            with lock:
                return fn()
        self.background.submit(lane, call, on_done, on_error or self._background_failed)

    # ================================================================== ratings
    def _ratings_changed(self) -> None:
        self.new_user.show_ratings(self.store.ratings())
        self.profileChanged.emit()
        if self._adapt:
            self._refresh_suggestions()
            self._schedule_adapt()

    def _refresh_suggestions(self) -> None:
        """The "ask me" list, computed off the GUI thread (item statistics of a large file)."""
        recommender = self.recommender
        if recommender is None:
            self.suggestions.set_frame(None)
            return
        ratings = self.store.ratings()

        def shown(frame: Any) -> None:
            if recommender is self.recommender:
                self.suggestions.set_frame(frame)
                self.suggestionsShown.emit()
        self._submit("suggest", lambda: recommender.suggest_items_to_rate(ratings, n=30), shown)

    # ================================================================== adaptation
    def _schedule_adapt(self) -> None:
        if self.recommender is not None:
            self._adapt_timer.start()

    def _recommend_kwargs(self, recommender: Recommender) -> dict[str, Any]:
        features = self.user_features.values()
        if not features:
            return {}
        if "user_features" not in inspect.signature(type(recommender).recommend).parameters:
            self._set_banner("This version of core.recommend does not take user attributes yet: "
                             "they are ignored.", "warning")
            return {}
        return {"user_features": features}

    def _adapt_now(self) -> None:
        """Adapt to the current ratings off the GUI thread; only the latest request is shown."""
        self._adapt_timer.stop()
        recommender = self.recommender
        if recommender is None:
            return
        ratings, top = self.store.ratings(), self.top_n.value()
        kwargs = self._recommend_kwargs(recommender)
        self.results.set_busy()

        def adapt() -> tuple[dict[int, float], Recommendation, float]:
            t0 = time.perf_counter()
            rec = recommender.recommend(ratings, top=top, **kwargs)
            return ratings, rec, time.perf_counter() - t0
        self._submit("adapt", adapt, lambda result: self._show_recommendation(recommender, *result))

    def _show_recommendation(self, recommender: Recommender, ratings: dict[int, float],
                             rec: Recommendation, seconds: float) -> None:
        if recommender is not self.recommender:
            return
        selected = self.adapted_table.current_item()
        self.last_recommendation = rec
        self.last_adapt_ms = seconds * 1000
        self.results.show_recommendation(rec, len(ratings), seconds)
        if len(ratings) and len(rec.adapted):
            if selected is None or not self.adapted_table.select_item(selected):
                self.adapted_table.select_item(int(rec.adapted["item"].iloc[0]))
        else:
            self.why.show_row(None, liked_genres(self.state.dataset, ratings), len(ratings))
        self.recommendationsShown.emit()

    def _explain(self, item: int) -> None:
        """Reasons for the selected adapted item (``Recommender.explain``, off the GUI thread)."""
        ratings = self.store.ratings()
        row = self.results.adapted_row(item) if item >= 0 else None
        self.why.show_row(row if ratings else None, liked_genres(self.state.dataset, ratings), len(ratings))
        recommender = self.recommender
        if row is None or not ratings or recommender is None:
            return
        because = row.get("because") if isinstance(row.get("because"), str) else None
        explain = getattr(recommender, "explain", None)
        if explain is None:
            self.why.show_reasons(None, because)
            self.reasonsShown.emit(item)
            return

        def shown(reasons: Any) -> None:
            if recommender is self.recommender and self.adapted_table.current_item() == item:
                self.why.show_reasons(reasons, because)
                self.reasonsShown.emit(item)
        self._submit("explain", lambda: explain(ratings, item), shown)

    # ================================================================== held-out
    def _heldout_now(self) -> None:
        self.heldout.timer.stop()
        recommender, user, k = self.recommender, self.current_user(), self.k_slider.value()
        if recommender is None or user is None or recommender.split is None:
            return
        self._submit("heldout", lambda: recommender.heldout(user, k),
                     lambda result: self._show_heldout(recommender, user, k, result))

    def _show_heldout(self, recommender: Recommender, user: int, k: int, result: HeldoutResult) -> None:
        if recommender is not self.recommender or user != self.current_user() or k != self.k_slider.value():
            return
        self.last_heldout = result
        self.heldout.show_result(result, self.state.dataset, user)
        self.heldoutShown.emit()

    # ================================================================== lifetime
    def shutdown(self, timeout_ms: int = 10000) -> bool:
        """Stop background calls (window close); True if they ended in time."""
        self._adapt_timer.stop()
        self.heldout.timer.stop()
        return self.background.shutdown(timeout_ms)

    def closeEvent(self, event: Any) -> None:  # noqa: N802 (Qt naming)
        self.shutdown()
        super().closeEvent(event)

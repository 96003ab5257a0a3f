"""Cold-start page: new-user adaptation, held-out users, profiles, run availability."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import QPoint, QSettings
from PySide6.QtWidgets import QApplication

from core.data import RatingScale, build_dataset
from core.profiles import Profile, save_profile
from core.split import SplitConfig, make_split
from core.training import Trainer
from metarec_gui.pages.coldstart import ColdStartPage
from metarec_gui.state import AppState

SPLIT = SplitConfig(query_size=5, max_support=10, val_fraction=0.15, test_fraction=0.15)


def synthetic(n_users: int = 60, n_items: int = 40, seed: int = 0, name: str = "tiny"):
    """A small dataset with titles, genres, years and a synthetic ground truth."""
    rng = np.random.default_rng(seed)
    taste = rng.normal(size=(n_users, 3))
    kind = rng.normal(size=(n_items, 3))
    truth = np.clip(3 + taste @ kind.T * 0.6, 0.5, 5)
    rows = []
    for u in range(n_users):
        for i in rng.choice(n_items, size=int(rng.integers(32, 38)), replace=False):
            rows.append((u + 1, i + 100, float(np.clip(np.round(truth[u, i] * 2) / 2, 0.5, 5))))
    genres = ["Comedy", "Drama", "Action", "Sci-Fi"]
    items = pd.DataFrame({
        "item_id": np.arange(n_items) + 100,
        "title": [f"Movie {i} ({1980 + i % 30})" for i in range(n_items)],
        "genres": ["|".join(g for j, g in enumerate(genres) if (i >> j) & 1) or "Drama" for i in range(n_items)],
    })
    ratings = pd.DataFrame(rows, columns=["user", "item", "rating"])
    return build_dataset(ratings, name=name, source="test", items=items,
                         scale=RatingScale(0.5, 5, 0.5), truth=truth.astype(np.float32))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A dataset, its split, and a workspace with one quickly trained meta-learner run."""
    ws = tmp_path_factory.mktemp("workspace")
    dataset = synthetic()
    split = make_split(dataset, SPLIT)
    Trainer("fomaml", dataset, split, run_dir=ws / "runs" / "fomaml",
            train={"epochs": 1, "meta_batch_size": 16}).run()
    other = synthetic(seed=1, name="other")
    Trainer("user_item_bias", other, make_split(other, SPLIT), run_dir=ws / "runs" / "other-dataset").run()
    return ws, dataset, split


def make_state(world, settings_file: Path) -> AppState:
    ws, dataset, split = world
    state = AppState(QSettings(str(settings_file), QSettings.Format.IniFormat))
    state.set_workspace(ws)
    state.split_config = split.config
    state.set_dataset(dataset)
    return state


def open_page(qtbot, state: AppState, run: str | None = "fomaml") -> ColdStartPage:
    page = ColdStartPage(state)
    qtbot.addWidget(page)
    page.resize(1300, 800)
    if run is not None:
        with qtbot.waitSignal(page.recommendationsShown, timeout=10000):
            assert page.picker.select_path(state.runs_dir() / run)
    return page


@pytest.fixture
def settings_file(tmp_path):
    return tmp_path / "settings.ini"


def test_runs_of_another_dataset_are_disabled_with_reason(qtbot, world, settings_file):
    page = open_page(qtbot, make_state(world, settings_file), run=None)
    items = [page.picker.model.item(r) for r in range(1, page.picker.model.rowCount())]
    by_name = {i.text().split(" — ")[-1].split()[0]: i for i in items}
    assert by_name["fomaml"].isEnabled()
    other = by_name["other-dataset"]
    assert not other.isEnabled() and "trained on 'other'" in other.toolTip()
    assert not page.picker.select_path(world[0] / "runs" / "other-dataset")


def test_new_user_recommendations_adapt_and_skip_rated(qtbot, world, settings_file):
    page = open_page(qtbot, make_state(world, settings_file))
    before = page.last_recommendation
    assert before is not None and len(before.adapted) == 10
    rated = {0: 5.0, 1: 4.5, 2: 1.0, 3: 2.0, 4: 3.5}
    with qtbot.waitSignal(page.recommendationsShown, timeout=10000):
        for item, value in rated.items():
            page.set_rating(item, value)  # five quick changes: one debounced adaptation
    rec = page.last_recommendation
    adapted, unadapted = page.adapted_table.items(), page.unadapted_table.items()
    assert len(adapted) == 10 and len(unadapted) == 10
    assert adapted != unadapted or not np.allclose(rec.adapted["score"], rec.unadapted["score"])
    assert not set(rated) & (set(adapted) | set(unadapted))
    assert "5 ratings" in page.recs_heading.text()
    assert page.finder.tabText(2) == "My ratings (5)"
    assert sorted(page.rated.items()) == sorted(rated)
    assert len(rec.losses) > 1  # the inner loop is plotted
    assert page.loss_curve.getData()[0] is not None
    suggestions = page.suggestions.items()
    assert suggestions and not set(rated) & set(suggestions)


def test_recommendation_tables_line_up_and_fit_their_rows(qtbot, world, settings_file):
    page = open_page(qtbot, make_state(world, settings_file))
    page.show()
    with qtbot.waitSignal(page.recommendationsShown, timeout=10000):
        page.set_rating(0, 5.0)
    QApplication.processEvents()
    tables = (page.adapted_table, page.unadapted_table)
    line = page.fontMetrics().height()
    for table in tables:
        assert table.title.height() < 2 * line  # one-line headings, the details in a tooltip
        assert table.title.toolTip()
        assert table.model.rowCount() == 10
        assert not table.view.verticalScrollBar().isVisible()  # all ten rows, no scrolling
        empty = table.view.viewport().height() - 10 * table.view.verticalHeader().defaultSectionSize()
        assert 0 <= empty <= 4  # and no empty table area below them
    tops = [t.view.mapTo(page, QPoint(0, 0)).y() for t in tables]
    assert tops[0] == tops[1]  # the two lists start at the same height
    assert page.loss_plot.height() > 200  # the room the rows leave goes to the loss plot
    page.finder.setCurrentIndex(2)  # "My ratings": a short list, as tall as its rows
    QApplication.processEvents()
    view = page.rated.view
    assert view.height() <= max(view.sizeHint().height(), view.minimumHeight()) + 4
    assert page.clear_all.geometry().top() - page.rated.geometry().bottom() < 3 * line


def test_heldout_slider_changes_support_and_shows_mae(qtbot, world, settings_file):
    page = open_page(qtbot, make_state(world, settings_file))
    page.tabs.setCurrentIndex(1)
    assert page.k_slider.maximum() == SPLIT.max_support
    user = int(world[2].test_users[0])
    page.set_user(user)
    sizes = {}
    for k in (2, 7):
        with qtbot.waitSignal(page.heldoutShown, timeout=10000):
            page.k_slider.setValue(k)
        sizes[k] = page.support_model.rowCount()
        n_user = len(world[1].ratings_of(user)[0])
        assert page.pred_model.rowCount() == n_user - k
        assert "MAE" in page.metrics_label.text()
        assert "correlation with the true preference" in page.metrics_label.text()
    assert sizes == {2: 2, 7: 7}
    assert len(page.pred_points.getData()[0]) == n_user - 7


def test_profile_roundtrip_and_restore(qtbot, world, settings_file):
    state = make_state(world, settings_file)
    page = open_page(qtbot, state)
    ratings = {5: 4.0, 6: 2.5, 7: 5.0}
    page.set_ratings(ratings)
    path = page.save_profile_as("Test user A")
    assert path is not None and path.is_file()
    page.shutdown()

    # a new page (as after a restart) restores the last profile from the settings
    again = open_page(qtbot, make_state(world, settings_file))
    assert again.ratings == ratings
    assert again.profile_name == "Test user A"
    again.new_profile()
    assert again.ratings == {}
    assert again.load_profile_file(path)
    assert again.ratings == ratings
    assert any(name.startswith("Test user A") for name in again.profile_names())


def test_profile_of_another_dataset_is_refused_clearly(qtbot, world, settings_file):
    state = make_state(world, settings_file)
    page = open_page(qtbot, state, run=None)
    other = Profile("Elsewhere", "0123456789abcdef", {100: 4.0}, dataset_name="MovieLens 1M")
    path = save_profile(other, state.profiles_dir())
    page.set_ratings({1: 3.0}, adapt=False)
    assert not page.load_profile_file(path)
    assert page.banner.isVisibleTo(page)
    assert "MovieLens 1M" in page.banner.text() and "not on the loaded" in page.banner.text()
    assert page.ratings == {1: 3.0}
    path.unlink()

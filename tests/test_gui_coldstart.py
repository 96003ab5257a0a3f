"""Cold-start page: new-user adaptation, held-out users, profiles, run availability."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtWidgets import QApplication

from core.data import RatingScale, build_dataset
from core.profiles import Profile, load_profile, save_profile
from core.split import SplitConfig, make_split
from core.training import Trainer
from metarec_gui.pages.coldstart import ColdStartPage
from metarec_gui.state import AppState

SPLIT = SplitConfig(query_size=5, max_support=10, val_fraction=0.15, test_fraction=0.15)


def synthetic(n_users: int = 60, n_items: int = 40, seed: int = 0, name: str = "tiny", with_users: bool = True):
    """A small dataset with titles, genres, years, a user table and a synthetic ground truth."""
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
    users = None
    if with_users:
        users = pd.DataFrame({
            "user_id": np.arange(n_users) + 1,
            "gender": ["F" if u % 2 else "M" for u in range(n_users)],
            "occupation": [("student", "writer", "engineer")[u % 3] for u in range(n_users)],
        })
    return build_dataset(ratings, name=name, source="test", items=items, users=users,
                         scale=RatingScale(0.5, 5, 0.5), truth=truth.astype(np.float32))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A dataset, its split, and a workspace with one quickly trained meta-learner run."""
    ws = tmp_path_factory.mktemp("workspace")
    dataset = synthetic()
    split = make_split(dataset, SPLIT)
    Trainer("fomaml", dataset, split, run_dir=ws / "runs" / "fomaml",
            train={"epochs": 1, "meta_batch_size": 16}).run()
    other = synthetic(seed=1, name="other", with_users=False)
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
    assert not page.loss_chart.is_empty() and len(page.loss_curve.getData()[0]) == len(rec.losses)
    qtbot.waitUntil(lambda: page.suggestions.items() and not set(rated) & set(page.suggestions.items()))


@pytest.mark.parametrize("size", [(1130, 540), (1130, 670), (1770, 900)])  # the page at 1280x720 (log
def test_both_top10s_readable_whole(qtbot, world, settings_file, size):  # shown / hidden), 1920x1080
    page = open_page(qtbot, make_state(world, settings_file))
    page.resize(*size)
    page.show()
    with qtbot.waitSignal(page.recommendationsShown, timeout=10000):
        page.set_rating(0, 5.0)
    qtbot.waitUntil(lambda: page.results.split.sizes()[0] > 0 and not page.results._fit_timer.isActive())
    QApplication.processEvents()
    tables = (page.adapted_table, page.unadapted_table)
    line = page.fontMetrics().height()
    for table in tables:
        view = table.view
        assert table.title.height() < 2 * line  # one-line headings, the details in a tooltip
        assert table.title.toolTip()
        assert table.model.rowCount() == 10
        assert not view.verticalScrollBar().isVisible() and not view.horizontalScrollBar().isVisible()
        row = view.verticalHeader().defaultSectionSize()
        assert view.viewport().height() >= 10 * row  # all ten rows, no scrolling
        assert view.viewport().height() - 10 * row <= 4  # and no empty table area below them
        cols = [c.key for c in table.model.columns]
        title_w = view.horizontalHeader().sectionSize(cols.index("title"))
        genre_w = view.horizontalHeader().sectionSize(cols.index("genres"))
        assert title_w >= (150 if size[0] < 1500 else 260) and genre_w >= 70
        assert title_w > 1.4 * genre_w
        frame = table.frame()
        assert frame["genres"].nunique() > 1  # the genres, not one placeholder
        for r in range(10):  # full text in the tooltip, and in the cell when it fits
            tip = table.model.index(r, cols.index("title")).data(Qt.ItemDataRole.ToolTipRole)
            assert str(frame["title"].iloc[r]) in tip
    if size[1] >= 670:  # room for two lines: a whole title, wrapped
        for table in tables:
            assert table.lines == 2 and table.view.wordWrap()
    tops = [t.view.mapTo(page, QPoint(0, 0)).y() for t in tables]
    assert tops[0] == tops[1]  # the two lists start at the same height
    details = page.results.details  # the Why / Inner loop tabs: secondary, below
    assert details.height() >= 100 and details.height() < page.height() / 2
    page.finder.setCurrentIndex(2)  # "My ratings": a short list, as tall as its rows
    QApplication.processEvents()
    view = page.rated.view
    assert view.height() <= max(view.sizeHint().height(), view.minimumHeight()) + 4
    assert page.clear_all.geometry().top() - page.rated.geometry().bottom() < 3 * line


def test_inner_loop_chart_empty_state_then_a_fitting_range(qtbot, world, settings_file):
    """Defect 6: no ratings -> a sentence, not a flat 0 line on a -400..400 axis."""
    page = open_page(qtbot, make_state(world, settings_file))
    chart = page.loss_chart
    assert chart.is_empty() and "No ratings yet" in chart.empty.text()
    assert len(chart.curve.getData()[0] or []) == 0
    with qtbot.waitSignal(page.recommendationsShown, timeout=10000):
        page.set_ratings({0: 5.0, 1: 1.0, 2: 4.0})
    assert not chart.is_empty()
    losses = page.last_recommendation.losses
    (y0, y1) = chart.plot.getViewBox().viewRange()[1]
    assert y0 <= min(losses) and y1 >= max(losses)
    assert y1 - y0 <= max(0.5 * max(abs(x) for x in losses), (max(losses) - min(losses)) * 1.5 + 0.01)
    assert not chart.plot.getAxis("left").autoSIPrefix  # no "(x0.001)" axis label
    with qtbot.waitSignal(page.recommendationsShown, timeout=10000):
        page.store.clear()
    assert chart.is_empty()


def test_why_this_item_and_how_the_ranking_moved(qtbot, world, settings_file):
    page = open_page(qtbot, make_state(world, settings_file))
    assert "Rate a few items" in page.why.note.text()
    with qtbot.waitSignal(page.reasonsShown, timeout=10000) as shown:
        page.set_ratings({0: 5.0, 1: 4.5, 2: 1.0, 3: 5.0})
    rec = page.last_recommendation
    first = int(rec.adapted["item"].iloc[0])
    assert shown.args == [first] and page.adapted_table.current_item() == first
    titles = {str(world[1].items["title"].iloc[i]) for i in (0, 1, 2, 3)}
    reasons = page.why.reasons.text()
    assert "Pulled up by your ratings of" in reasons or "pushed down by" in reasons
    assert any(t in reasons for t in titles)
    assert "genre" in page.why.genres.text()
    if "because" in rec.adapted:  # core's reason column reaches the tooltip
        tip = page.adapted_table.model.index(0, 1).data(Qt.ItemDataRole.ToolTipRole)
        assert ("Because you rated" in tip) == bool(rec.adapted["because"].iloc[0])
    other = int(rec.adapted["item"].iloc[3])
    with qtbot.waitSignal(page.reasonsShown, timeout=10000) as shown:
        page.adapted_table.select_item(other)
    assert shown.args == [other]
    assert f"of {len(rec.adapted)}</b> new after adapting" in page.recs_sub.text()
    assert "shared with the un-adapted list" in page.recs_sub.text()


def test_adaptation_runs_off_the_gui_thread(qtbot, world, settings_file, monkeypatch):
    page = open_page(qtbot, make_state(world, settings_file))
    threads = []
    original = page.recommender.recommend

    def spy(*args, **kwargs):
        threads.append(threading.current_thread() is threading.main_thread())
        return original(*args, **kwargs)
    monkeypatch.setattr(page.recommender, "recommend", spy)
    with qtbot.waitSignal(page.recommendationsShown, timeout=10000):
        page.set_rating(0, 4.0)
    assert threads == [False]
    assert page.last_adapt_ms is not None and "Adapted in" in page.adapt_info.text()


def test_user_features_only_for_datasets_that_have_them(qtbot, world, settings_file, monkeypatch):
    state = make_state(world, settings_file)
    page = open_page(qtbot, state)
    box = page.user_features
    assert box.isVisibleTo(page) and set(box.combos) == {"gender", "occupation"}
    gender = box.combos["gender"]
    assert gender.currentData() is None and "unknown" in gender.currentText()  # unknown by default
    assert box.values() == {}
    seen = []
    original = page.recommender.recommend
    monkeypatch.setattr(page.recommender, "recommend",
                        lambda *a, **k: (seen.append(k.get("user_features")), original(*a, **k))[1])
    with qtbot.waitSignal(page.recommendationsShown, timeout=10000):
        gender.setCurrentIndex(gender.findData("F"))
    assert seen[-1] == {"gender": "F"}
    assert not page.banner.isVisibleTo(page)  # core takes them: no "ignored" note
    other = synthetic(seed=1, name="other", with_users=False)
    state.set_dataset(other)
    assert not box.isVisibleTo(page) and box.combos == {}


def test_heldout_defaults_to_a_typical_user_and_the_fixed_query_set(qtbot, world, settings_file):
    page = open_page(qtbot, make_state(world, settings_file))
    page.tabs.setCurrentIndex(1)
    dataset, split = world[1], world[2]
    assert page.k_slider.maximum() == SPLIT.max_support
    counts = dataset.ratings_per_user[split.test_users]
    user = page.current_user()
    assert abs(dataset.ratings_per_user[user] - np.median(counts)) == np.min(np.abs(counts - np.median(counts)))
    assert "(typical)" in page.user_combo.currentText()
    sizes = {}
    for k in (2, 7):
        with qtbot.waitSignal(page.heldoutShown, timeout=10000):
            page.k_slider.setValue(k)
        sizes[k] = page.support_model.rowCount()
        # the protocol's fixed query set, not every hidden rating
        assert page.pred_model.rowCount() == SPLIT.query_size
        query_items = set(dataset.item[split.query_rows(user)].tolist())
        assert set(page.pred_model.frame()["item"]) == query_items
        assert "MAE" in page.metrics_label.text() and "query set" in page.metrics_label.text()
        assert "true preference recovered" in page.metrics_label.text()
    assert sizes == {2: 2, 7: 7}
    assert len(page.pred_points.getData()[0]) == SPLIT.query_size


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


def test_unsaved_ratings_survive_loading_another_dataset(qtbot, world, settings_file):
    state = make_state(world, settings_file)
    page = open_page(qtbot, state, run=None)
    page.set_ratings({1: 4.0, 2: 2.0}, adapt=False)
    with qtbot.waitSignal(page.profileSaved) as saved:
        state.set_dataset(synthetic(seed=1, name="other", with_users=False))
    assert page.ratings == {} and not page.has_unsaved_changes()
    kept = load_profile(saved.args[0])
    assert "auto-saved" in kept.name and kept.dense_ratings(world[1]) == {1: 4.0, 2: 2.0}
    Path(saved.args[0]).unlink()


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


def test_demo_personas_where_their_films_exist(qtbot, world, settings_file):
    from core.data import load_dataset
    from core.personas import PERSONAS, persona_ratings

    state = make_state(world, settings_file)
    page = open_page(qtbot, state, run=None)
    assert not page.profile_bar.demo_button.isVisibleTo(page)  # synthetic titles: no persona fits
    movielens = load_dataset("movielens-small")
    state.set_dataset(movielens)
    bar = page.profile_bar
    assert bar.demo_button.isVisibleTo(page) and bar.persona_names()[0] == PERSONAS[0].name
    page.set_rating(0, 3.0)
    page.undo_stack.undo()
    assert bar.load_persona(PERSONAS[0].name)
    assert page.ratings == persona_ratings(movielens, PERSONAS[0])
    assert page.profile_name == PERSONAS[0].name and not page.has_unsaved_changes()
    assert page.undo_stack.undoText() == f"Demo persona '{PERSONAS[0].name}'"
    page.undo_stack.undo()  # one step back to the ratings before
    assert page.ratings == {}

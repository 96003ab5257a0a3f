"""Data page: large files load in a child process (core.data.isolated) — the same dataset as the
direct loader, the same clear error, Cancel; the held-out user list as a lazy model."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from core.data import ColumnMapping, DatasetSpec, load_dataset
from core.data.isolated import PREFIX, handoff_roots
from metarec_gui.pages.data import DataPage
from metarec_gui.workers import running_jobs


@pytest.fixture
def page(qtbot, app_state):  # noqa: ANN001, ANN201
    page = DataPage(app_state)
    page.isolate_min_bytes = 1  # every file loads in a child process
    qtbot.addWidget(page)
    yield page
    qtbot.waitUntil(lambda: not running_jobs(), timeout=20000)


def ratings_csv(path: Path, users: int = 60, items: int = 40) -> DatasetSpec:
    rng = np.random.default_rng(1)
    lines = ["user,item,rating"] + [f"u{u},{i},{int(rng.integers(1, 6))}"
                                    for u in range(users) for i in range(items)
                                    if rng.random() < 0.7]
    path.write_text("\n".join(lines) + "\n")
    return DatasetSpec("table", path=str(path), mapping=ColumnMapping("user", "item", "rating"))


def leftovers() -> set[Path]:
    return {p for root in handoff_roots() for p in root.glob(f"{PREFIX}{os.getpid()}-*")}


def test_a_large_file_loads_in_a_child_with_the_same_result(qtbot, page, app_state,
                                                             tmp_path: Path) -> None:
    spec = ratings_csv(tmp_path / "ratings.csv")
    before = leftovers()
    with qtbot.waitSignal(app_state.splitChanged, timeout=30000):
        assert page.load(spec)
        assert page.cancel_button.isVisibleTo(page)
    qtbot.waitUntil(lambda: not page.is_loading(), timeout=10000)
    dataset, direct = app_state.dataset, load_dataset(spec)
    assert dataset.fingerprint == direct.fingerprint
    assert np.array_equal(dataset.user, direct.user) and np.array_equal(dataset.rating, direct.rating)
    assert dataset.user_ids.tolist() == direct.user_ids.tolist()
    assert page.cards["ratings"].value.text() == f"{direct.n_ratings:,}"
    assert app_state.split is not None and app_state.split.counts(dataset)["train"]["users"] > 0
    assert not page.cancel_button.isVisibleTo(page) and page.load_button.isEnabled()
    assert leftovers() == before  # the handoff folder is gone once mapped


def test_a_bad_file_in_the_child_shows_the_clear_message(qtbot, page, app_state, small_dataset,
                                                         dialogs, tmp_path: Path) -> None:
    app_state.set_dataset(small_dataset, "synthetic")
    bad = tmp_path / "broken.csv"
    bad.write_text("user,item,rating\n1,10,4\n2,11,five\n3,12,3\n")
    spec = DatasetSpec("table", path=str(bad), mapping=ColumnMapping("user", "item", "rating"))
    with qtbot.waitSignal(page.loadFinished, timeout=30000) as blocker:
        page.load(spec)
    assert blocker.args == [False]
    assert len(dialogs) == 1
    title, text = dialogs[0]
    assert title == "Could not load the dataset"
    assert "broken.csv" in text and "line 3" in text and "five" in text
    assert "Traceback" not in text
    assert app_state.dataset is small_dataset


def test_cancel_stops_the_load_and_keeps_the_dataset(qtbot, page, app_state, small_dataset,
                                                     dialogs, tmp_path: Path) -> None:
    app_state.set_dataset(small_dataset, "synthetic")
    spec = ratings_csv(tmp_path / "ratings.csv")
    before = leftovers()
    with qtbot.waitSignal(page.loadFinished, timeout=30000) as blocker:
        page.load(spec)
        # the child process has started once its first progress text is shown
        qtbot.waitUntil(lambda: "(starting)" in page.load_status.text(), timeout=20000)
        page.cancel_load()
    assert blocker.args == [False]
    assert app_state.dataset is small_dataset and not dialogs
    assert "cancelled" in page.load_status.text()
    assert not page.cancel_button.isVisibleTo(page) and page.load_button.isEnabled()
    assert leftovers() == before  # the child was stopped and its folder removed
    with qtbot.waitSignal(page.loadFinished, timeout=30000) as blocker:  # loading still works
        page.load(spec)
    assert blocker.args == [True]


def test_listeners_of_a_new_dataset_never_see_the_old_split(qtbot, app_state, small_dataset) -> None:
    from core.data import SyntheticConfig, make_synthetic

    app_state.set_dataset(small_dataset, "synthetic")
    assert app_state.split is not None
    seen = []
    app_state.datasetChanged.connect(lambda _d: seen.append(app_state.split))
    app_state.set_dataset(make_synthetic(SyntheticConfig(n_users=90, n_items=50, seed=8)), "other")
    assert seen == [None] and app_state.split is not None


def test_held_out_users_are_a_lazy_list(qtbot, small_dataset) -> None:
    from core.split import SplitConfig, make_split
    from metarec_gui.pages.coldstart.heldout import HeldoutPanel, typical_user

    panel = HeldoutPanel()
    qtbot.addWidget(panel)
    split = make_split(small_dataset, SplitConfig(query_size=3, max_support=5))
    panel.set_split(small_dataset, split)
    counts = small_dataset.ratings_per_user
    assert panel.user_combo.count() == len(split.test_users)
    typical = typical_user(split, counts)
    assert panel.current_user() == typical and "(typical)" in panel.user_combo.currentText()
    other = int(split.test_users[0]) if split.test_users[0] != typical else int(split.test_users[1])
    panel.set_user(other)
    assert panel.current_user() == other
    assert panel.user_combo.currentText() == (
        f"User {small_dataset.user_ids[other]}  ·  {counts[other]} ratings")
    panel.step_user(1)
    assert panel.current_user() == int(split.test_users[panel.user_combo.currentIndex()])
    panel.set_split(small_dataset, None)
    assert panel.user_combo.count() == 0 and panel.current_user() is None


def test_without_a_child_process_the_load_runs_in_the_thread(monkeypatch, tmp_path: Path) -> None:
    import subprocess

    from metarec_gui.data_load import load_isolated_for_display

    def refuse(*_a, **_k):  # noqa: ANN002, ANN003, ANN202
        raise OSError("no processes here")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    spec = ratings_csv(tmp_path / "ratings.csv", users=30, items=20)
    before = leftovers()
    steps = load_isolated_for_display(spec, None)
    with pytest.raises(StopIteration) as done:
        next(steps)
    result = done.value.value
    assert result["dataset"].fingerprint == load_dataset(spec).fingerprint
    assert result["summary"]["ratings"] == result["dataset"].n_ratings and "split" in result
    assert leftovers() == before  # the unused handoff folder is removed too

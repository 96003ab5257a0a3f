"""Compare page: runs table, curve overlay, cached K-shot curves, top-10 side by side, exports."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import QSettings, Qt

import core.evaluation
from core.data import RatingScale, build_dataset
from core.profiles import Profile, save_profile
from core.recommend import jaccard
from core.split import SplitConfig, make_split
from core.training import Trainer
from metarec_gui.pages.compare import ComparePage
from metarec_gui.state import AppState
from metarec_gui.widgets.frame_model import ROW_ROLE

SPLIT = SplitConfig(query_size=5, max_support=10, val_fraction=0.15, test_fraction=0.15)


def tiny_dataset():
    rng = np.random.default_rng(3)
    rows = [(u, i, float(rng.integers(1, 11)) / 2)
            for u in range(60) for i in rng.choice(40, int(rng.integers(32, 38)), replace=False)]
    items = pd.DataFrame({
        "item_id": np.arange(40),
        "title": [f"Movie {i} ({1980 + i})" for i in range(40)],
        "genres": ["Comedy|Drama" if i % 2 else "Action" for i in range(40)],
    })
    ratings = pd.DataFrame(rows, columns=["user", "item", "rating"])
    return build_dataset(ratings, name="tiny", source="test", items=items, scale=RatingScale(0.5, 5, 0.5))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    ws = tmp_path_factory.mktemp("workspace")
    dataset = tiny_dataset()
    split = make_split(dataset, SPLIT)
    for name in ("fomaml", "melu"):
        Trainer(name, dataset, split, run_dir=ws / "runs" / name,
                train={"epochs": 2, "meta_batch_size": 16}).run()
    save_profile(Profile.from_dense("Alice", dataset, {0: 5.0, 1: 4.5, 2: 1.0, 3: 2.0, 4: 3.5}),
                 ws / "profiles")
    return ws, dataset, split


def compare_page(qtbot, world, tmp_path) -> ComparePage:
    """A Compare page on the ``world`` workspace (fresh settings); call ``shutdown()`` after."""
    ws, dataset, split = world
    state = AppState(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    state.set_workspace(ws)
    state.split_config = split.config
    state.set_dataset(dataset)
    page = ComparePage(state)
    qtbot.addWidget(page)
    return page


@pytest.fixture
def page(qtbot, world, tmp_path):
    page = compare_page(qtbot, world, tmp_path)
    page.resize(1300, 800)
    yield page
    page.shutdown()


def table_column(page: ComparePage, key: str) -> list:
    col = [c.key for c in page.model.columns].index(key)
    return [page.proxy.index(r, col).data(Qt.ItemDataRole.EditRole) for r in range(page.proxy.rowCount())]


def test_runs_table_lists_and_sorts(page, world):
    names = table_column(page, "name")
    assert {"fomaml", "melu"} <= set(names)
    mae_col = [c.key for c in page.model.columns].index("mae")
    page.table.sortByColumn(mae_col, Qt.SortOrder.AscendingOrder)
    maes = [m for m in table_column(page, "mae") if m is not None]
    assert maes == sorted(maes) and len(maes) >= 2
    page.table.sortByColumn(mae_col, Qt.SortOrder.DescendingOrder)
    assert [m for m in table_column(page, "mae") if m is not None] == sorted(maes, reverse=True)
    page.filter.setText("melu")
    assert table_column(page, "name") == ["melu"]
    page.filter.setText("")


def test_runs_table_refreshes_on_runs_changed(page, world, tmp_path):
    ws, dataset, split = world
    before = page.proxy.rowCount()
    folder = ws / "runs" / "late-run"
    Trainer("global_mean", dataset, split, run_dir=folder).run()
    page.state.add_session_run(folder)  # emits runsChanged
    assert page.proxy.rowCount() == before + 1
    assert "late-run" in table_column(page, "name")


def test_selecting_two_runs_overlays_two_curves(page, world):
    ws = world[0]
    page.select_paths([ws / "runs" / "fomaml", ws / "runs" / "melu"])
    assert sorted(page.curves.runs()) == sorted(str((ws / "runs" / n).resolve()) for n in ("fomaml", "melu"))
    assert all(page.curves.point_count(k) > 0 for k in page.curves.runs())
    colors = {page.curves.run_color(k).name() for k in page.curves.runs()}
    assert len(colors) == 2
    page.select_paths([ws / "runs" / "melu"])
    assert len(page.curves.runs()) == 1


def swatch_colors(page: ComparePage) -> dict[str, str]:
    """Run path -> colour of the dot painted in the table's swatch column (rows that have one)."""
    col = [c.key for c in page.model.columns].index("swatch")
    out = {}
    for r in range(page.proxy.rowCount()):
        icon = page.proxy.index(r, col).data(Qt.ItemDataRole.DecorationRole)
        if icon is not None:
            path = page.proxy.index(r, 0).data(ROW_ROLE)["path"]
            out[path] = icon.pixmap(14, 14).toImage().pixelColor(7, 7).name()
    return out


def test_run_colours_stay_the_same_when_reselected(qtbot, page, world):
    ws = world[0]
    runs = [ws / "runs" / "fomaml", ws / "runs" / "melu"]
    keys = [str(p.resolve()) for p in runs]
    page.baselines_check.setChecked(False)
    page.select_paths(runs)
    with qtbot.waitSignal(page.kshotShown, timeout=30000):
        page.compute_kshot()
    first = {k: page.curves.run_color(k).name() for k in keys}
    assert len(set(first.values())) == 2
    assert {k: page.kshot._series[k].color.name() for k in keys} == first
    assert {k: c for k, c in swatch_colors(page).items() if k in keys} == first

    page.table.clearSelection()  # everything off, then on again in the other order
    assert page.curves.runs() == []
    page.select_paths(runs[1:])
    page.select_paths(runs)
    again = {k: page.curves.run_color(k).name() for k in keys}
    assert again == first  # the curve overlay
    assert {k: c for k, c in swatch_colors(page).items() if k in keys} == first  # the table dots
    assert {k: page.kshot._series[k].color.name() for k in keys} == first  # lines already drawn
    with qtbot.waitSignal(page.kshotShown, timeout=10000):
        page.compute_kshot()  # from the memory cache, drawn again
    assert {k: page.kshot._series[k].color.name() for k in keys} == first
    symbols = {k: page.kshot._series[k].items[page.kshot.shown_metrics()[0]].opts["symbol"] for k in keys}
    assert len(set(symbols.values())) == 2
    with qtbot.waitSignal(page.topListsShown, timeout=20000):
        page.compute_top_lists()
    for table in page.top_tables[:2]:
        run = next(k for k in keys if table.title.text().endswith(Path(k).name))
        assert f"color:{first[run]}" in table.title.text()  # the dot before each list's title


def test_kshot_computes_in_background_and_is_cached(qtbot, page, world, monkeypatch):
    ws = world[0]
    runs = [ws / "runs" / "fomaml", ws / "runs" / "melu"]
    page.select_paths(runs)
    page.baselines_check.setChecked(True)
    with qtbot.waitSignal(page.kshotShown, timeout=30000):
        page.compute_kshot()
    keys = page.kshot.series_keys()
    assert {str(p.resolve()) for p in runs} <= set(keys)
    assert len(keys) >= 2 + 4  # the closed-form baselines, fitted into the workspace
    frame = page.kshot.series_frame(str(runs[0].resolve()))
    assert list(frame["k"]) == [1, 2, 5, 10]  # K <= max_support
    assert frame["mae"].notna().all() and frame["ndcg3"].notna().all()
    for run in runs:
        assert (run / "evaluation.json").is_file()
    # the colour of a run is the same in the curve overlay and the K-shot chart
    key = str(runs[0].resolve())
    assert page.kshot._series[key].color.name() == page.curves.run_color(key).name()

    def no_evaluation(*_args, **_kwargs):
        raise AssertionError("K-shot curves were recomputed instead of read from the cache")

    monkeypatch.setattr(core.evaluation, "evaluate", no_evaluation)
    with qtbot.waitSignal(page.kshotShown, timeout=10000):
        page.compute_kshot()
    assert set(page.kshot.series_keys()) == set(keys)
    page.baselines_check.setChecked(False)
    with qtbot.waitSignal(page.kshotShown, timeout=1000):
        page.compute_kshot()  # everything in memory: no background call at all
    assert not page.background.busy("kshot")
    assert set(page.kshot.series_keys()) == {str(p.resolve()) for p in runs}


def test_top10_side_by_side_shows_overlap(qtbot, page, world, tmp_path):
    ws = world[0]
    page.select_paths([ws / "runs" / "fomaml", ws / "runs" / "melu"])
    assert page.profile_combo.currentText().startswith("Alice")
    with qtbot.waitSignal(page.topListsShown, timeout=20000):
        page.compute_top_lists()
    a, b = (t.items() for t in page.top_tables[:2])
    assert len(a) == 10 and len(b) == 10
    assert not {0, 1, 2, 3, 4} & (set(a) | set(b))  # rated items are never recommended
    assert f"Jaccard overlap {jaccard(a, b):.2f}" in page.overlap_label.text()
    shared = set(a) & set(b)
    table = page.top_tables[0]
    for row, item in enumerate(a):
        background = table.model.index(row, 1).data(Qt.ItemDataRole.BackgroundRole)
        assert (background is not None) == (item in shared)
    page.export_top_lists(tmp_path / "top.csv")
    assert len(pd.read_csv(tmp_path / "top.csv")) == 20


def test_exports(page, world, tmp_path):
    page.export_table(tmp_path / "runs.csv")
    with open(tmp_path / "runs.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][:2] == ["Run", "Algorithm"] and len(rows) == page.proxy.rowCount() + 1
    frame = pd.DataFrame({"k": [1, 2, 5], "mae": [1.0, 0.9, 0.8], "ndcg3": [0.6, 0.7, 0.8]})
    page.kshot.set_series("x", "X", "#4e79a7", frame)
    for name in ("chart.png", "chart.svg"):
        assert page.kshot.export(tmp_path / name).stat().st_size > 1000


def test_jaccard():
    assert jaccard([1, 2, 3], [2, 3, 4]) == 0.5
    assert jaccard([], []) == 0.0

"""Compare page: runs of one algorithm with other settings read apart in the runs table, the
curve legend, the K-shot chart and the top-10 titles (the settings that differ from the
algorithm's defaults, shortened with an ellipsis, the full text in a tooltip)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import Qt
from test_gui_compare import compare_page

from core.data import RatingScale, build_dataset
from core.profiles import Profile, save_profile
from core.runs import run_label
from core.runs.labels import LABEL_LIMIT
from core.split import SplitConfig, make_split
from core.training import Trainer
from metarec_gui.pages.compare import ComparePage
from metarec_gui.pages.compare.runs_table import labelled

SPLIT = SplitConfig(query_size=5, max_support=10, val_fraction=0.15, test_fraction=0.15)
TRAIN = {"epochs": 1, "meta_batch_size": 16, "max_steps": 3}
MANY = {"dim": 32, "init": "random", "negatives": 50, "shrinkage": 1.5, "ranking_loss": "bpr",
        "rating_weight": 0.1}


def tiny_dataset():
    rng = np.random.default_rng(5)
    rows = [(u, i, float(rng.integers(1, 11)) / 2)
            for u in range(60) for i in rng.choice(40, int(rng.integers(32, 38)), replace=False)]
    items = pd.DataFrame({"item_id": np.arange(40), "title": [f"Film {i}" for i in range(40)],
                          "genres": ["Comedy" if i % 2 else "Drama" for i in range(40)]})
    ratings = pd.DataFrame(rows, columns=["user", "item", "rating"])
    return build_dataset(ratings, name="tiny", source="test", items=items,
                         scale=RatingScale(0.5, 5, 0.5))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    ws = tmp_path_factory.mktemp("workspace")
    dataset = tiny_dataset()
    split = make_split(dataset, SPLIT)
    for name, overrides in (("plain", {}), ("bpr", {"ranking_loss": "bpr", "rating_weight": 0.1}),
                            ("many", MANY)):
        Trainer("proto", dataset, split, algo_overrides=overrides, run_dir=ws / "runs" / name,
                train=TRAIN).run()
    save_profile(Profile.from_dense("Bo", dataset, {0: 5.0, 1: 4.0, 2: 1.0}), ws / "profiles")
    return ws, dataset, split


@pytest.fixture
def page(qtbot, world, tmp_path):
    page = compare_page(qtbot, world, tmp_path)
    page.runs.baselines_check.setChecked(False)
    page.baselines_check.setChecked(False)  # the K-shot chart's: only the selected runs
    yield page
    page.shutdown()


def cells(page: ComparePage, key: str, role=Qt.ItemDataRole.DisplayRole) -> dict[str, object]:
    """Run name -> the data of column ``key`` in the shown table."""
    keys = [c.key for c in page.model.columns]
    name, col = keys.index("name"), keys.index(key)
    return {page.proxy.index(r, name).data(): page.proxy.index(r, col).data(role)
            for r in range(page.proxy.rowCount())}


def test_runs_table_labels_runs_by_their_changed_settings(page):
    shown = cells(page, "algorithm")
    assert shown["plain"] == "Prototype network"
    assert shown["bpr"] == "Prototype network (ranking_loss=bpr, rating_weight=0.1)"
    assert len(shown["many"]) <= LABEL_LIMIT and shown["many"].endswith(", …)")
    tips = cells(page, "algorithm", Qt.ItemDataRole.ToolTipRole)
    assert tips["many"].splitlines()[0] == ("Prototype network (dim=32, init=random, "
                                            "negatives=50, ranking_loss=bpr, rating_weight=0.1, "
                                            "shrinkage=1.5)")
    assert "metric" in tips["plain"]  # the family, as before
    page.filter.setText("bpr")  # the filter finds runs by their settings too
    assert set(cells(page, "algorithm")) == {"bpr", "many"}
    page.filter.setText("")


def test_labelled_leaves_rows_it_cannot_read(tmp_path):
    frame = pd.DataFrame([{"path": str(tmp_path / "gone"), "name": "gone", "kind": "run",
                           "algorithm": "proto"},
                          {"path": str(tmp_path / "x"), "name": "x", "kind": "broken",
                           "algorithm": "(broken)"}])
    assert list(labelled(frame)["algorithm"]) == ["proto", "(broken)"]


def test_curves_kshot_and_top_lists_use_the_labels(qtbot, page, world):
    ws = world[0]
    runs = {name: ws / "runs" / name for name in ("plain", "bpr")}
    page.select_paths(list(runs.values()))
    legend = {page.curves.label(str(p.resolve())) for p in runs.values()}
    assert legend == {"Prototype network · plain",
                      "Prototype network (ranking_loss=bpr, rating_weight=0.1) · bpr"}
    with qtbot.waitSignal(page.kshotShown, timeout=60000):
        page.compute_kshot()
    assert set(page.kshot.legend_labels()) == legend
    with qtbot.waitSignal(page.topListsShown, timeout=60000):
        page.compute_top_lists()
    titles = {t.title.text(): t.title.toolTip() for t in page.top_tables[:2]}
    bpr = next(text for text in titles if text.endswith("· bpr"))
    assert "<b>Prototype network (ranking_loss=bpr, rating_weight=0.1)</b>" in bpr
    assert titles[bpr].splitlines()[0] == run_label(
        {"algorithm": "proto", "title": "Prototype network",
         "hyperparameters": {"ranking_loss": "bpr", "rating_weight": 0.1}}, title=True)
    assert any(text.endswith("<b>Prototype network</b> · plain") for text in titles)

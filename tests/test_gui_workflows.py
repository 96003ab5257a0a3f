"""core.workflows: the Qt-free pipelines behind the Compare page (and the CLI)."""

from __future__ import annotations

import pytest

from core import workflows
from core.runs import list_runs
from core.split import SplitConfig, make_split


@pytest.fixture
def split(small_dataset):  # noqa: ANN001, ANN201
    return make_split(small_dataset, SplitConfig())


def test_ensure_baselines_fits_once_in_the_baselines_area(tmp_path, small_dataset, split) -> None:
    seen = []
    runs = workflows.ensure_baselines(tmp_path, small_dataset, split, names=["global_mean", "item_bias"],
                                      progress=lambda d, t, s: seen.append((d, t, s)))
    assert set(runs) == {"global_mean", "item_bias"}
    for run in runs.values():
        assert workflows.is_baseline_run(run)
        assert run.path.parent.parent == tmp_path / workflows.BASELINES_DIR
        assert run.status == "finished"
    assert not list_runs(tmp_path / "runs")  # never mixed into the user's runs
    assert seen[-1][0] == seen[-1][1]
    again = workflows.ensure_baselines(tmp_path, small_dataset, split, names=["global_mean", "item_bias"])
    assert {n: r.path for n, r in again.items()} == {n: r.path for n, r in runs.items()}
    other = make_split(small_dataset, SplitConfig(seed=1))
    assert workflows.find_baselines(tmp_path, small_dataset, other) == {}


def test_kshot_tables_progress_cancel_and_cache(tmp_path, small_dataset, split) -> None:
    runs = workflows.ensure_baselines(tmp_path, small_dataset, split, names=["global_mean", "item_bias"])
    token = workflows.CancelToken()
    calls = []

    def progress(done: int, total: int, text: str) -> None:
        calls.append((done, total))
        if done >= 1:
            token.cancel()

    with pytest.raises(workflows.Cancelled):
        workflows.kshot_tables(list(runs.values()), small_dataset, split=split, ks=(1, 2, 5),
                               progress=progress, cancel=token)
    assert calls and all(t == 6 for _d, t in calls)
    tables = workflows.kshot_tables(list(runs.values()), small_dataset, split=split, ks=(1, 2, 5))
    assert set(tables) == {str(r.path) for r in runs.values()}
    for frame in tables.values():
        assert list(frame["k"]) == [1, 2, 5]
        assert "mae" in frame


def test_batch_recommend_many_users(tmp_path, small_dataset, split) -> None:
    run = workflows.ensure_baselines(tmp_path, small_dataset, split, names=["item_bias"])["item_bias"]
    users = {"a": {0: 5.0, 1: 4.0}, "b": {2: 1.0, 3: 2.0, 4: 5.0}}
    out = workflows.batch_recommend(run, small_dataset, users, top=5, split=split)
    assert set(out) == {"a", "b"}
    assert all(len(f) == 5 for f in out.values())
    assert not set(out["a"]["item"]) & {0, 1}


def test_default_algorithm_is_registered() -> None:
    from core.algorithms import ALGORITHMS

    assert workflows.default_algorithm() in ALGORITHMS

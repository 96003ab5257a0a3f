"""Loading in a child process (core.data.isolated) and the folder handoff (core.data.handoff):
the same dataset as the direct loader, the same errors, cancel, a dead child, no leftovers."""

from __future__ import annotations

import functools
import hashlib
import operator
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.data import (
    ColumnMapping,
    DatasetError,
    DatasetSpec,
    RatingsDataset,
    SyntheticConfig,
    ValueProblem,
    handoff,
    load_dataset,
    make_synthetic,
)
from core.data.isolated import (
    PREFIX,
    SHM,
    ChildLoad,
    LoadCancelled,
    LoaderCrashed,
    handoff_root,
    handoff_roots,
    load_in_child,
    remove_stale_folders,
    should_isolate,
    source_bytes,
)
from core.split import SplitConfig, make_split


def assert_same_dataset(a: RatingsDataset, b: RatingsDataset) -> None:
    for name in ("user", "item", "rating", "timestamp", "user_ids", "item_ids", "truth"):
        x, y = getattr(a, name), getattr(b, name)
        if x is None or y is None:
            assert x is None and y is None, name
            continue
        assert x.dtype == y.dtype and x.shape == y.shape, name
        assert np.array_equal(x, y), name
    pd.testing.assert_frame_equal(a.items, b.items)
    if a.users is None:
        assert b.users is None
    else:
        pd.testing.assert_frame_equal(a.users, b.users)
    assert (a.name, a.source, a.scale, a.notes, a.implicit) == (b.name, b.source, b.scale, b.notes,
                                                                 b.implicit)
    fa, fb = a.item_features, b.item_features
    assert fa.genre_names == fb.genre_names
    for name in ("genre_offsets", "genre_index", "year_bucket"):
        assert np.array_equal(getattr(fa, name), getattr(fb, name))
    assert np.array_equal(fa.year, fb.year, equal_nan=True)
    assert (a.user_features is None) == (b.user_features is None)
    if a.user_features is not None:
        assert a.user_features.fields == b.user_features.fields
        assert a.user_features.vocab == b.user_features.vocab
        assert np.array_equal(a.user_features.codes, b.user_features.codes)
    assert a.fingerprint == b.fingerprint
    assert a.summary() == b.summary()


@pytest.fixture
def tiny_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every numeric array mapped, object arrays in 7-element chunks, every dict packed."""
    monkeypatch.setattr(handoff, "BIG_BYTES", 1)
    monkeypatch.setattr(handoff, "CHUNK", 7)
    monkeypatch.setattr(handoff, "PACK_MIN", 2)


@pytest.fixture
def text_ids_csv(tmp_path: Path) -> Path:
    """Text ids (one with a leading zero), a timestamp column, 40 users x 30 items."""
    rng = np.random.default_rng(4)
    rows = [(f"u{u:03d}", f"0{i}" if i % 5 == 0 else f"item-{i}", int(rng.integers(1, 6)), 1000 + n)
            for n, (u, i) in enumerate((u, i) for u in range(40) for i in range(30)
                                       if rng.random() < 0.6)]
    path = tmp_path / "ratings.csv"
    pd.DataFrame(rows, columns=["user", "item", "rating", "time"]).to_csv(path, index=False)
    return path


def table_spec(path: Path) -> DatasetSpec:
    return DatasetSpec("table", path=str(path),
                       mapping=ColumnMapping("user", "item", "rating", timestamp="time"))


# --------------------------------------------------------------------------- handoff
def test_handoff_round_trip_maps_arrays_and_keeps_everything(tmp_path: Path, tiny_limits) -> None:
    dataset = make_synthetic(SyntheticConfig(n_users=60, n_items=40, seed=2))
    dataset.summary()  # cached properties travel too
    split = make_split(dataset, SplitConfig(query_size=3, max_support=4))
    ids = np.array([f"id{i}" for i in range(30)], dtype=object)
    handoff.dump_handoff({"dataset": dataset, "split": split, "ids": ids}, tmp_path / "h")
    files = sorted(p.name for p in (tmp_path / "h").iterdir())
    assert "payload.pkl" in files and any(f.endswith(".npy") for f in files)

    back = handoff.load_handoff(tmp_path / "h")
    assert_same_dataset(dataset, back["dataset"])
    assert type(back["dataset"].user) is np.ndarray  # a plain array over the mapping
    back["dataset"].rating[0] = 99.0  # copy-on-write: writable, and the file stays as written
    again = handoff.load_handoff(tmp_path / "h")
    assert again["dataset"].rating[0] == dataset.rating[0]
    assert back["split"].config == split.config
    assert set(back["split"].eval_rows) == set(split.eval_rows)
    for user, rows in split.eval_rows.items():
        assert np.array_equal(back["split"].eval_rows[user], rows)
    assert np.array_equal(back["split"].test_users, split.test_users)
    assert back["ids"].dtype == object and back["ids"].tolist() == ids.tolist()
    assert split.eval_rows and isinstance(next(iter(split.eval_rows.values())), np.ndarray)


# --------------------------------------------------------------------------- the child process
def test_child_load_gives_the_same_dataset_as_the_direct_loader(text_ids_csv: Path) -> None:
    before = hashlib.sha256(text_ids_csv.read_bytes()).hexdigest()
    spec = table_spec(text_ids_csv)
    heard: list[str] = []
    dataset, extras = load_in_child(
        spec, {"summary": RatingsDataset.summary,
               "split": functools.partial(make_split, config=SplitConfig(query_size=3, max_support=4))},
        progress=heard.append)
    direct = load_dataset(spec)
    assert_same_dataset(direct, dataset)
    assert dataset.user_ids.dtype == object and "u000" in dataset.user_ids.tolist()
    assert "05" in dataset.item_ids.tolist()  # text ids kept as written, leading zero included
    assert extras["summary"] == direct.summary()
    split = make_split(direct, SplitConfig(query_size=3, max_support=4))
    assert np.array_equal(extras["split"].test_users, split.test_users)
    assert heard and heard[0] == "starting"  # (later phases are sampled: fast ones may pass unseen)
    assert hashlib.sha256(text_ids_csv.read_bytes()).hexdigest() == before  # never changed


def test_a_bad_file_raises_the_same_error_as_the_direct_loader(tmp_path: Path) -> None:
    bad = tmp_path / "broken.csv"
    bad.write_text("user,item,rating\n1,10,4\n2,11,five\n3,12,3\n")
    spec = DatasetSpec("table", path=str(bad), mapping=ColumnMapping("user", "item", "rating"))
    with pytest.raises(DatasetError) as direct:
        load_dataset(spec)
    with pytest.raises(DatasetError) as child:
        load_in_child(spec)
    assert type(child.value) is type(direct.value) is ValueProblem
    assert child.value.message == direct.value.message
    assert (child.value.path, child.value.line, child.value.column) == (str(bad), 3, "rating")
    assert "five" in str(child.value)


def test_cancel_stops_the_child_and_leaves_nothing(text_ids_csv: Path) -> None:
    class Cancelled:
        cancelled = True

    before = {p for root in handoff_roots() for p in root.glob(f"{PREFIX}{os.getpid()}-*")}
    with pytest.raises(LoadCancelled):
        load_in_child(table_spec(text_ids_csv), cancel=Cancelled())
    assert {p for root in handoff_roots() for p in root.glob(f"{PREFIX}{os.getpid()}-*")} == before


def test_close_stops_a_running_child(text_ids_csv: Path) -> None:
    load = ChildLoad(table_spec(text_ids_csv)).start()
    process, folder = load.process, load.folder
    load.close()
    assert process.returncode is not None  # ended (terminated, or done already)
    assert not folder.exists()
    load.close()  # twice is fine


def test_a_killed_child_is_a_readable_error(text_ids_csv: Path) -> None:
    if not hasattr(signal, "SIGKILL"):
        pytest.skip("POSIX signals")
    with ChildLoad(table_spec(text_ids_csv)) as load:
        os.kill(load.process.pid, signal.SIGKILL)
        while not load.poll(0.1):
            pass
        with pytest.raises(DatasetError, match="stopped by the system .*SIGKILL"):
            load.result()


def test_a_bug_in_the_child_arrives_with_its_traceback(text_ids_csv: Path) -> None:
    broken = functools.partial(operator.truediv, 1)  # 1 / dataset: a TypeError in the child
    with pytest.raises(LoaderCrashed, match="TypeError") as info:
        load_in_child(table_spec(text_ids_csv), {"broken": broken})
    assert "Traceback" in info.value.traceback_text
    assert info.value.__traceback_text__ == info.value.traceback_text


def test_which_sources_go_to_a_child(tmp_path: Path, text_ids_csv: Path) -> None:
    spec = table_spec(text_ids_csv)
    size = text_ids_csv.stat().st_size
    assert source_bytes(spec) == size
    assert should_isolate(spec, size) and not should_isolate(spec, size + 1)
    assert not should_isolate(DatasetSpec("builtin", name="movielens-small"), 0)
    folder = tmp_path / "ml"
    folder.mkdir()
    (folder / "ratings.csv").write_bytes(b"x" * 100)
    (folder / "movies.csv").write_bytes(b"y" * 50)
    assert source_bytes(DatasetSpec("movielens", path=str(folder))) == 150


@pytest.mark.skipif(os.name != "posix", reason="stale folders are found by pid on POSIX")
def test_folders_of_dead_loads_are_removed(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead = tmp_path / f"{PREFIX}{int(done.stdout)}-abc"
    alive = tmp_path / f"{PREFIX}{os.getpid()}-abc"
    dead.mkdir()
    alive.mkdir()
    remove_stale_folders(tmp_path)
    assert not dead.exists() and alive.exists()


def test_the_child_leaves_a_core_to_the_caller(text_ids_csv: Path) -> None:
    read_env = functools.partial(os.getenv, "OMP_NUM_THREADS")  # (called with the dataset)
    _dataset, extras = load_in_child(table_spec(text_ids_csv), {"threads": read_env})
    assert extras["threads"] == str(max(1, (os.cpu_count() or 2) - 1))


def test_the_handoff_goes_to_shared_memory_when_it_has_room() -> None:
    assert handoff_root(10**15) is None  # no room: the temporary folder
    if SHM.is_dir() and os.access(SHM, os.W_OK):
        assert handoff_root(1) == SHM

"""Issue 11 items 5-9: tampered, damaged and foreign run folders are refused clearly.

A corpus of tampered copies of one real (tiny) run: every reader either works or raises a
RunError naming the file and the field — never a KeyError/TypeError/AttributeError — and
``list_runs`` lists every folder, the broken ones with why. Also: weights checksums, non-finite
weights, pickle payloads, file permissions (umask), a read-only run folder, relative dataset
paths, ``Run.create`` into a non-empty folder, garbage in metrics.csv, NaN settings.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
from pathlib import Path

import pytest
import torch

from core.config import ConfigError, coerce_config
from core.data.loading import load_dataset
from core.evaluation import evaluate_run
from core.run_schema import validate_config, validate_summary
from core.runs import (
    METRIC_COLUMNS,
    MetricsTail,
    Run,
    RunError,
    list_runs,
    load_algorithm,
)
from core.split import make_split
from core.training import TrainConfig, Trainer

SYNTH = "synthetic:n_users=120,n_items=90,seed=7"


@pytest.fixture(scope="module")
def data():
    dataset = load_dataset(SYNTH)
    return dataset, make_split(dataset)


@pytest.fixture(scope="module")
def template(data, tmp_path_factory):
    dataset, split = data
    folder = tmp_path_factory.mktemp("template") / "run"
    summary = Trainer("fomaml", dataset, split, run_dir=folder,
                      train={"epochs": 1, "meta_batch_size": 16, "final_test": False},
                      dataset_spec={"kind": "synthetic", "path": None, "name": None,
                                    "mapping": None, "synthetic": None}).run()
    assert summary["status"] == "finished"
    return folder


def _config(folder: Path) -> dict:
    return json.loads((folder / "config.json").read_text())


def _set(path: str, value):
    """A mutation that sets a (dotted) config.json field; '-' deletes it."""
    def mutate(folder: Path) -> None:
        config = _config(folder)
        *parents, last = path.split(".")
        node = config
        for key in parents:
            node = node[key]
        if value == "-":
            del node[last]
        else:
            node[last] = value
        (folder / "config.json").write_text(json.dumps(config))
    return mutate


def _write(name: str, text: str | bytes):
    def mutate(folder: Path) -> None:
        target = folder / name
        target.write_bytes(text if isinstance(text, bytes) else text.encode())
    return mutate


def _summary(key: str, value):
    def mutate(folder: Path) -> None:
        summary = json.loads((folder / "summary.json").read_text())
        if value == "-":
            del summary[key]
        else:
            summary[key] = value
        (folder / "summary.json").write_text(json.dumps(summary))
    return mutate


def _weights(state):
    def mutate(folder: Path) -> None:
        Run(folder).save_weights(state)  # checksum recorded: the content itself must be refused
    return mutate


def _flip_byte(folder: Path) -> None:
    data = bytearray((folder / "weights.pt").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / "weights.pt").write_bytes(bytes(data))


def _truncate_weights(folder: Path) -> None:
    data = (folder / "weights.pt").read_bytes()
    (folder / "weights.pt").write_bytes(data[: len(data) // 3])


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def _pickle_payload(folder: Path) -> None:
    torch.save({"w": _Evil()}, folder / "weights.pt")
    config = _config(folder)
    config.pop("weights")  # as if from a version without checksums
    (folder / "config.json").write_text(json.dumps(config))


# name, mutation, where it is refused ("list": listed as broken; "load": when loading the
# algorithm; None: tolerated), a fragment the message must contain (file and field)
CASES = [
    ("config-null", _write("config.json", "null"), "list", "config.json: the file must be a JSON object, got null"),
    ("config-list", _write("config.json", "[1, 2]"), "list", "config.json: the file must be a JSON object, got a list"),
    ("config-string", _write("config.json", '"maml"'), "list", "config.json: the file must be a JSON object"),
    ("config-binary", _write("config.json", bytes(range(256))), "list", "config.json: not valid JSON"),
    ("config-truncated", _write("config.json", '{"algorithm": "fom'), "list", "config.json: not valid JSON"),
    ("config-empty", _write("config.json", ""), "list", "config.json: not valid JSON"),
    ("no-algorithm", _set("algorithm", "-"), "list", "field 'algorithm' is missing"),
    ("algorithm-number", _set("algorithm", 3), "list", "field 'algorithm' must be a non-empty text"),
    ("algorithm-unknown", _set("algorithm", "nope"), "load", "field 'algorithm': unknown algorithm 'nope'"),
    ("hyper-list", _set("hyperparameters", [1, 2]), "list", "field 'hyperparameters' must be a JSON object"),
    ("hyper-string", _set("hyperparameters", "lr=1"), "list", "field 'hyperparameters' must be a JSON object"),
    ("hyper-nan", _set("hyperparameters.inner_lr", float("nan")), "list", "field 'hyperparameters.inner_lr' must be a finite number"),
    ("hyper-inf", _set("hyperparameters.inner_lr", float("inf")), "list", "field 'hyperparameters.inner_lr' must be a finite number"),
    ("hyper-object", _set("hyperparameters.inner_lr", {"a": 1}), "load", "field 'hyperparameters.inner_lr'"),
    ("hyper-nested-nan", _set("hyperparameters.inner_lr", [1, {"a": float("nan")}]), "list", "field 'hyperparameters.inner_lr[1].a' must be a finite number"),
    ("hyper-text", _set("hyperparameters.inner_lr", "fast"), "load", "field 'hyperparameters.inner_lr'"),
    ("hyper-out-of-range", _set("hyperparameters.inner_lr", 1e9), "load", "field 'hyperparameters.inner_lr'"),
    ("hyper-unknown", _set("hyperparameters.warp", 9), "load", "field 'hyperparameters.warp'"),
    ("train-list", _set("train", []), "list", "field 'train' must be a JSON object"),
    ("dataset-null", _set("dataset", None), "list", "field 'dataset' must be an object"),
    ("dataset-list", _set("dataset", ["x"]), "list", "field 'dataset' must be a JSON object"),
    ("dataset-missing", _set("dataset", "-"), "source", "field 'dataset' is missing"),
    ("dataset-fingerprint-number", _set("dataset.fingerprint", 12), "list", "field 'dataset.fingerprint' must be a text"),
    ("dataset-spec-number", _set("dataset.spec", 5), "list", "field 'dataset.spec' must be a JSON object"),
    ("dataset-spec-no-kind", _set("dataset.spec.kind", "-"), "list", "field 'dataset.spec.kind' is missing"),
    ("split-list", _set("split", [0.1]), "list", "field 'split' must be a JSON object"),
    ("split-query-negative", _set("split.query_size", -1), "list", "field 'split.query_size' must be at least 1, got -1"),
    ("split-query-float", _set("split.query_size", 2.5), "list", "field 'split.query_size' must be a whole number"),
    ("split-val-2", _set("split.val_fraction", 2), "list", "field 'split.val_fraction' must be in [0, 1), got 2"),
    ("split-val-nan", _set("split.val_fraction", float("nan")), "list", "field 'split.val_fraction' must be a finite number"),
    ("split-sum", _set("split.test_fraction", 0.95), "list", "field 'split.test_fraction' plus split.val_fraction"),
    ("split-unknown", _set("split.shuffle", True), "list", "field 'split.shuffle' is not a split setting"),
    ("split-seed-text", _set("split.seed", "zero"), "list", "field 'split.seed' must be a whole number"),
    ("status-bogus", _set("status", "exploded"), "list", "field 'status' must be one of"),
    ("world-size-0", _set("world_size", 0), "list", "field 'world_size' must be at least 1"),
    ("writer-pid-text", _set("writer.pid", "me"), "list", "field 'writer.pid' must be a whole number"),
    ("weights-sha-bad", _set("weights.sha256", "xyz"), "list", "field 'weights.sha256' must be 64 hex digits"),
    ("unknown-top-key", _set("colour", "blue"), None, None),
    ("summary-null", _write("summary.json", "null"), "list", "summary.json: the file must be a JSON object, got null"),
    ("summary-list", _write("summary.json", "[]"), "list", "summary.json: the file must be a JSON object"),
    ("summary-binary", _write("summary.json", b"\x00\xff\xfe"), "list", "summary.json: not valid JSON"),
    ("summary-no-status", _summary("status", "-"), "list", "summary.json: field 'status' is missing"),
    ("summary-test-list", _summary("test", [1]), "list", "summary.json: field 'test' must be a JSON object"),
    ("summary-test-text", _summary("test", {"10": {"mae": "low"}}), "list", "field 'test.10.mae' must be a number"),
    ("summary-test-k", _summary("test", {"ten": {}}), "list", "field 'test.ten' must be keyed by a support size"),
    ("summary-steps-negative", _summary("steps", -3), "list", "field 'steps' must be at least 0"),
    ("summary-wall-text", _summary("wall_time", "1s"), "list", "field 'wall_time' must be a number"),
    ("summary-unknown-key", _summary("mood", "good"), None, None),
    ("weights-flipped-byte", _flip_byte, "load", "weights.pt: checksum mismatch"),
    ("weights-truncated", _truncate_weights, "load", "weights.pt: checksum mismatch"),
    ("weights-all-nan", "nan-weights", "load", "is not finite (all values are NaN or infinite)"),
    ("weights-one-inf", "inf-weights", "load", "is not finite (1 of"),
    ("weights-strings", _weights({"w": "abc"}), "load", "weights.pt: field 'w' must be a tensor, got str"),
    ("weights-empty", _weights({}), "load", "weights.pt: holds no tensors"),
    ("weights-list", _weights([torch.ones(2)]), "load", "weights.pt: must hold a mapping"),
    ("weights-pickle", _pickle_payload, "load", "weights.pt: refused: it holds Python objects"),
    ("weights-foreign", _weights({"unrelated": torch.ones(3)}), "load", "weights.pt: weights do not fit this algorithm"),
    ("evaluation-garbage", _write("evaluation.json", "[1, 2"), None, None),
    ("metrics-garbage", _write("metrics.csv", ",".join(METRIC_COLUMNS) + "\nhello world\nstep,1,1,0.1,0.5\n"), None, None),
]


def _apply(case, template: Path, root: Path, data) -> Path:
    name, mutate, _where, _fragment = case
    folder = root / name
    shutil.copytree(template, folder)
    if mutate in ("nan-weights", "inf-weights"):
        state = Run(folder).load_weights()
        key = max(state, key=lambda k: state[k].numel())
        if mutate == "nan-weights":
            state[key] = torch.full_like(state[key], float("nan"))
        else:
            state[key] = state[key].clone()
            state[key].view(-1)[0] = float("inf")
        Run(folder).save_weights(state)
    else:
        mutate(folder)
    return folder


def test_tampered_run_folders_are_refused_clearly_and_listed_as_broken(template, data, tmp_path, caplog):
    dataset, _split = data
    root = tmp_path / "runs"
    folders = {case[0]: _apply(case, template, root, data) for case in CASES}
    listed = {run.name: run for run in list_runs(root)}  # never raises
    assert set(listed) == set(folders)
    good = {run.name for run in list_runs(root, include_broken=False)}
    outcomes = {}
    for name, _mutate, where, fragment in CASES:
        run = listed[name]
        if where == "list":
            assert run.broken is not None and fragment in run.broken, (name, run.broken)
            assert str(run.path) in run.broken  # names the file ...
            assert run.status == "broken" and name not in good
            if name.startswith("summary"):  # the algorithm needs only config and weights
                assert load_algorithm(run, dataset) is not None
            else:
                with pytest.raises(RunError):
                    load_algorithm(run, dataset)
            outcomes[name] = "broken"
            continue
        assert run.broken is None, (name, run.broken)
        assert run.status == "finished" and name in good
        if where == "load":
            with pytest.raises(RunError) as caught:
                load_algorithm(run, dataset)
            message = str(caught.value)
            assert fragment in message, (name, message)
            assert "weights_only" not in message
            with pytest.raises(RunError):
                evaluate_run(run, dataset, ks=[5])
            outcomes[name] = "refused at load"
        elif where == "source":  # usable, but cannot say how to reload its dataset
            with pytest.raises(RunError, match=fragment):
                run.dataset_source()
            outcomes[name] = "no dataset source"
        else:  # tolerated
            algorithm = load_algorithm(run, dataset)
            table = evaluate_run(run, dataset, ks=[5], algorithm=algorithm)
            assert table[5]["users"] > 0
            outcomes[name] = "works"
    assert listed["unknown-top-key"].notes == ["config.json: unknown field 'colour' ignored"]
    assert listed["summary-unknown-key"].notes == ["summary.json: unknown field 'mood' ignored"]
    assert listed["metrics-garbage"].read_metrics().attrs["skipped_lines"] == 1
    assert len(CASES) >= 55 and list(outcomes.values()).count("works") == 4


def test_no_pickle_code_runs(template, tmp_path, data):
    folder = _apply(next(c for c in CASES if c[0] == "weights-pickle"), template, tmp_path, data)
    marker = tmp_path / "pwned"

    class Marker:
        def __reduce__(self):
            return (Path.touch, (marker,))

    torch.save({"w": Marker()}, folder / "weights.pt")
    with pytest.raises(RunError, match="never runs code"):
        Run(folder).load_weights()
    assert not marker.exists()


def test_checksum_is_recorded_at_each_save_and_readers_between_writes_are_fine(tmp_path):
    run = Run.create(tmp_path / "r", {"algorithm": "maml"})
    first = run.save_weights({"w": torch.ones(3)})
    assert run.weights_sha256() == first and len(first) == 64
    second = run.save_weights({"w": torch.zeros(3)})
    record = _config(run.path)["weights"]
    assert record["sha256"] == second and record["previous_sha256"] == first
    # a crash between the two writes of a save (checksum written, weights not yet): the old
    # file is still accepted, since its checksum is the recorded previous one
    old_bytes = (run.path / "weights.pt").read_bytes()
    run.save_weights({"w": torch.full((3,), 2.0)})
    (run.path / "weights.pt").write_bytes(old_bytes)
    assert torch.equal(run.load_weights()["w"], torch.zeros(3))


def test_files_follow_the_umask(data, tmp_path):
    dataset, split = data
    old = os.umask(0o022)
    try:
        Trainer("user_item_bias", dataset, split, run_dir=tmp_path / "a").run()
        os.umask(0o077)
        Trainer("user_item_bias", dataset, split, run_dir=tmp_path / "b").run()
    finally:
        os.umask(old)
    for name in ("config.json", "summary.json", "weights.pt", "metrics.csv"):
        assert (tmp_path / "a" / name).stat().st_mode & 0o777 == 0o644, name
        assert (tmp_path / "b" / name).stat().st_mode & 0o777 == 0o600, name


def test_evaluation_cache_is_best_effort_on_a_read_only_folder(template, data, tmp_path, monkeypatch, caplog):
    dataset, _split = data
    folder = tmp_path / "ro"
    shutil.copytree(template, folder)
    run = Run(folder)

    def refuse(path, data):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("core.runs.files.atomic_write_bytes", refuse)
    with caplog.at_level(logging.WARNING, logger="core.runs"):
        table = evaluate_run(run, dataset, ks=[5])
    assert table[5]["users"] > 0 and not (folder / "evaluation.json").exists()
    assert "could not cache the evaluation" in caplog.text
    assert run.write_evaluation({"x": {}}) is False


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permissions")
def test_really_read_only_folder(template, data, tmp_path):
    dataset, _split = data
    folder = tmp_path / "ro"
    shutil.copytree(template, folder)
    folder.chmod(0o555)
    try:
        assert evaluate_run(Run(folder), dataset, ks=[5])[5]["users"] > 0
        assert list_runs(tmp_path)[0].status == "finished"
    finally:
        folder.chmod(0o755)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permissions")
def test_unreadable_config_is_a_clear_refusal(template, tmp_path):
    folder = tmp_path / "private"
    shutil.copytree(template, folder)
    (folder / "config.json").chmod(0o000)
    try:
        assert "permission denied" in Run(folder).broken
    finally:
        (folder / "config.json").chmod(0o644)


def test_relative_dataset_paths_are_stored_resolved(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "ratings.csv").write_text("user,item,rating\n1,2,3\n")
    monkeypatch.chdir(tmp_path)
    spec = {"kind": "table", "path": "data/ratings.csv", "name": None, "mapping": None, "synthetic": None}
    run = Run.create(tmp_path / "r", {"algorithm": "maml",
                                      "dataset": {"name": "ratings", "source": "data/ratings.csv",
                                                  "spec": spec}})
    recorded = run.config["dataset"]
    assert recorded["spec"]["path"] == str(tmp_path / "data" / "ratings.csv")
    assert recorded["source"] == str(tmp_path / "data" / "ratings.csv")
    assert run.dataset_source()["path"] == str(tmp_path / "data" / "ratings.csv")
    synthetic = Run.create(tmp_path / "s", {"algorithm": "maml", "dataset": {"source": "synthetic"}})
    assert synthetic.config["dataset"]["source"] == "synthetic"


def test_create_refuses_a_non_empty_folder_that_is_not_a_run(tmp_path):
    folder = tmp_path / "thesis"
    folder.mkdir()
    (folder / "chapter1.tex").write_text("precious")
    with pytest.raises(RunError, match="not empty and is not a MetaRec run.*chapter1.tex"):
        Run.create(folder, {"algorithm": "maml"})
    run = Run.create(folder, {"algorithm": "maml"}, overwrite=True)
    assert run.status == "running" and (folder / "chapter1.tex").read_text() == "precious"
    with pytest.raises(RunError, match="is a file"):
        Run.create(folder / "chapter1.tex", {"algorithm": "maml"})
    empty = tmp_path / "empty"
    empty.mkdir()
    Run.create(empty, {"algorithm": "maml"})  # an empty folder is fine


def test_overwrite_replaces_an_ended_run(tmp_path):
    run = Run.create(tmp_path / "r", {"algorithm": "maml"})
    run.save_weights({"w": torch.ones(2)})
    run.write_summary({"status": "finished"})
    (run.path / "evaluation.json").write_text("{}")
    with pytest.raises(RunError, match="already holds a run"):
        Run.create(run.path, {"algorithm": "reptile"})
    again = Run.create(run.path, {"algorithm": "reptile"}, overwrite=True)
    assert again.config["algorithm"] == "reptile" and again.summary is None
    assert not again.has_weights and not (run.path / "evaluation.json").exists()


GARBAGE = [
    "hello world",
    "step,abc,1,0.1,0.5",
    "step,,1,0.1,0.5",
    "step,nan,1,0.1,0.5",
    "step,-3,1,0.1,0.5",
    "epoch,2,x,0.1",
    "jump,3,1,0.1,0.5",
    '"step,4,1,0.1,0.5',
    "step,5,1,0.1,0.5" + ",0" * 20,
    "step,6,1,0.1,\x00\x00",
    "kind,step,epoch",
]


def test_garbage_metrics_lines_are_skipped_and_counted(tmp_path):
    run = Run.create(tmp_path / "r", {"algorithm": "maml"})
    tail = MetricsTail(run)
    run.append_metrics([{"kind": "step", "step": 1, "epoch": 1, "loss": 0.5}])
    with open(run.path / "metrics.csv", "a") as f:
        f.write("\n".join(GARBAGE) + "\n")
    run.append_metrics([{"kind": "step", "step": 2, "epoch": 1, "loss": float("nan")},
                        {"kind": "epoch", "step": 2, "epoch": 1, "val_mae": 0.8, "val_recall20": 0.3}])
    frame = tail.poll()
    assert frame["step"].tolist() == [1, 2, 2] and frame["kind"].tolist() == ["step", "step", "epoch"]
    assert tail.skipped_lines == len(GARBAGE) == frame.attrs["skipped_lines"]
    assert math.isnan(frame["loss"].iloc[1])  # "nan" written by the writer is a value, not garbage
    assert frame["val_recall20"].iloc[2] == 0.3
    assert frame["step"].notna().all()  # int(step) works for every row (the Watch crash)
    again = run.read_metrics()
    assert len(again) == 3 and again.attrs["skipped_lines"] == len(GARBAGE)
    # a later poll counts only the new bad lines in attrs, the total on the tail
    with open(run.path / "metrics.csv", "a") as f:
        f.write("garbage\n")
    assert tail.poll().attrs["skipped_lines"] == 1 and tail.skipped_lines == len(GARBAGE) + 1


def test_old_nine_column_metrics_and_a_damaged_header(tmp_path):
    run = Run.create(tmp_path / "r", {"algorithm": "maml"})
    old = "kind,step,epoch,wall_time,loss,tasks_per_s,val_mae,val_rmse,val_ndcg3\n"
    (run.path / "metrics.csv").write_text(old + "step,1,1,0.1,0.5,10,,,\nepoch,1,1,0.2,,,0.8,1.0,0.4\n")
    frame = run.read_metrics()
    assert list(frame.columns) == METRIC_COLUMNS and frame["val_ndcg3"].iloc[1] == 0.4
    (run.path / "metrics.csv").write_bytes(b"\xff\xfe garbage\nstep,1,1,0.1,0.5\n")
    frame = run.read_metrics()
    assert frame["loss"].tolist() == [0.5] and frame.attrs["skipped_lines"] == 1


@pytest.mark.parametrize("raw", ["nan", "NaN", float("nan"), "inf", float("-inf")])
def test_nan_settings_fail_range_checks(raw):
    from core.algorithms import algorithm_class

    with pytest.raises(ConfigError, match="finite"):
        coerce_config(algorithm_class("maml").Config, {"inner_lr": raw})
    with pytest.raises(ConfigError, match="finite"):
        coerce_config(TrainConfig, {"outer_lr": raw})


def test_schema_accepts_what_the_trainer_writes(template):
    validate_config(_config(template), "config.json")
    validate_summary(json.loads((template / "summary.json").read_text()), "summary.json")
    assert Run(template).notes == []


def test_trainer_overwrite_passes_through(data, tmp_path):
    dataset, split = data
    first = Trainer("user_item_bias", dataset, split, run_dir=tmp_path / "r").run()
    refused = Trainer("user_item_bias", dataset, split, run_dir=tmp_path / "r").run()
    assert first["status"] == "finished" and refused["status"] == "failed"
    assert "already holds a run" in refused["error"]
    again = Trainer("global_mean", dataset, split, run_dir=tmp_path / "r", overwrite=True).run()
    assert again["status"] == "finished" and Run(tmp_path / "r").config["algorithm"] == "global_mean"

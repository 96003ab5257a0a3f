"""Run folders: atomic files, live metrics, safe weight loading, dataset checks."""

from __future__ import annotations

import json

import pytest
import torch

from core.data import load_builtin
from core.runs import METRIC_COLUMNS, Run, RunError, atomic_write_json, check_dataset, list_runs


def test_create_append_and_read_metrics(tmp_path):
    run = Run.create(tmp_path / "r1", {"algorithm": "maml", "dataset": {"fingerprint": "x"}})
    assert run.status == "running"
    run.append_metrics([{"kind": "step", "step": 1, "epoch": 1, "loss": 0.5},
                        {"kind": "epoch", "step": 1, "epoch": 1, "val_mae": 0.8}])
    frame = run.read_metrics()
    assert list(frame.columns) == METRIC_COLUMNS
    assert frame["loss"].iloc[0] == 0.5 and frame["val_mae"].iloc[1] == 0.8


def test_half_written_line_is_ignored(tmp_path):
    run = Run.create(tmp_path / "r", {"algorithm": "maml"})
    run.append_metrics([{"kind": "step", "step": 1, "epoch": 1, "loss": 0.5}])
    with open(run.path / "metrics.csv", "a") as f:
        f.write("step,2,1,0.1,0.4")  # no newline: the writer is mid-line
    assert len(run.read_metrics()) == 1


def test_create_refuses_existing_run(tmp_path):
    Run.create(tmp_path / "r", {"algorithm": "maml"})
    with pytest.raises(RunError, match="already holds a run"):
        Run.create(tmp_path / "r", {"algorithm": "maml"})


def test_weights_round_trip_and_refuse_pickled_objects(tmp_path):
    run = Run.create(tmp_path / "r", {"algorithm": "maml"})
    state = {"w": torch.arange(6.0).reshape(2, 3)}
    run.save_weights(state)
    assert torch.equal(run.load_weights()["w"], state["w"])
    assert not list(run.path.glob(".*.tmp"))  # atomic write left no temp file

    class Evil:
        def __reduce__(self):
            return (print, ("executed",))

    torch.save({"w": Evil()}, run.weights_path)
    with pytest.raises(RunError, match="checksum mismatch"):  # replaced after saving
        run.load_weights()
    config = json.loads((run.path / "config.json").read_text())
    del config["weights"]  # a run saved before checksums: the payload itself is refused
    atomic_write_json(run.path / "config.json", config)
    with pytest.raises(RunError, match="refused: it holds Python objects") as caught:
        run.load_weights()
    assert "weights_only" not in str(caught.value) and "print" in str(caught.value)


def test_summary_sets_status_and_list_runs(tmp_path):
    a = Run.create(tmp_path / "a", {"algorithm": "maml"})
    Run.create(tmp_path / "b", {"algorithm": "reptile"})
    (tmp_path / "not-a-run").mkdir()
    a.write_summary({"status": "finished", "wall_time": 1.0})
    assert a.status == "finished" and Run.open(a.path).config["status"] == "finished"
    assert {r.name for r in list_runs(tmp_path)} == {"a", "b"}
    with pytest.raises(RunError, match="not a MetaRec run"):
        Run.open(tmp_path / "not-a-run")


def test_run_for_another_dataset_is_refused(tmp_path):
    dataset = load_builtin()
    run = Run.create(tmp_path / "r", {"algorithm": "maml",
                                      "dataset": {"name": "Other", "fingerprint": "0123"}})
    with pytest.raises(RunError, match="trained on 'Other'"):
        check_dataset(run, dataset)


def test_atomic_write_keeps_old_file_when_serialisation_fails(tmp_path):
    target = tmp_path / "x.json"
    atomic_write_json(target, {"a": 1})
    with pytest.raises(TypeError):
        atomic_write_json(target, {"a": object()})
    assert target.read_text().strip().startswith("{") and '"a": 1' in target.read_text()


def test_metrics_tail_follows_a_growing_file(tmp_path):
    from core.runs import MetricsTail

    run = Run.create(tmp_path / "r", {"algorithm": "maml"})
    tail = MetricsTail(run)
    assert tail.poll().empty
    run.append_metrics([{"kind": "step", "step": 1, "epoch": 1, "loss": 0.5}])
    with open(run.path / "metrics.csv", "a") as f:
        f.write("step,2,1,0.2,0.4")  # half a line
    assert tail.poll()["step"].tolist() == [1]
    with open(run.path / "metrics.csv", "a") as f:
        f.write(",,,,\n")  # the writer finishes the line
    new = tail.poll()
    assert new["step"].tolist() == [2] and new["loss"].tolist() == [0.4]
    assert tail.poll().empty
    # The folder is reused by a new run: the file shrinks and is read from the top.
    (run.path / "metrics.csv").write_text(",".join(METRIC_COLUMNS) + "\nstep,1,1,0.1,0.9\n")
    assert tail.poll()["loss"].tolist() == [0.9]

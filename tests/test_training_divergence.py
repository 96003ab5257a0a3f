"""Issue 10 item 10: an exploding loss stops training as failed 'diverged' (last good weights
kept, advice on learning rates); the early-stopping metric is configurable (TrainConfig.monitor)."""

from __future__ import annotations

import pytest
import torch

from core.data.loading import load_dataset
from core.runs import Run, list_runs
from core.split import make_split
from core.training import FailedEvent, StepEvent, TrainConfig, Trainer

FAST = {"epochs": 2, "meta_batch_size": 16, "final_test": False}


@pytest.fixture(scope="module")
def data():
    dataset = load_dataset("synthetic:n_users=160,n_items=150,seed=3")
    return dataset, make_split(dataset)


def test_huge_loss_from_step_one_is_diverged(data, tmp_path):
    """`--set inner_lr=50` (inside the allowed range): loss ~3e19 from the first step."""
    dataset, split = data
    events = []
    trainer = Trainer("maml", dataset, split, algo_overrides={"inner_lr": 50}, train=FAST,
                      run_dir=tmp_path / "r", callback=events.append)
    summary = trainer.run()
    assert summary["status"] == "failed" and summary["failure"] == "diverged"
    assert "diverged at step 1" in summary["error"] and "exploded" in summary["error"]
    assert "Lower inner_lr (now 50)" in summary["error"] and "outer_lr" in summary["error"]
    assert isinstance(events[-1], FailedEvent) and not any(isinstance(e, StepEvent) for e in events)
    run = Run.open(tmp_path / "r")
    assert run.status == "failed" and list_runs(tmp_path)[0].status == "failed"
    saved = run.load_weights()  # the weights before the exploding step, finite
    for name, value in trainer.algorithm.state_dict().items():
        assert torch.equal(saved[name], value) and torch.isfinite(value).all(), name


def test_loss_exploding_relative_to_its_start_is_diverged(data, tmp_path):
    dataset, split = data
    trainer = Trainer("fomaml", dataset, split, train=FAST, run_dir=tmp_path / "r")
    good = {}

    def on_event(event):
        if isinstance(event, StepEvent) and event.step == 6:
            good.update({k: v.detach().clone() for k, v in trainer.algorithm.meta_parameters().items()})
            real = trainer.algorithm.meta_gradients
            start = sum(trainer.losses[:5]) / 5
            assert start < 10  # so 1500 x start stays below the absolute ceiling (1000 x 4^2)

            def exploding(batch):
                loss, grads = real(batch)
                return torch.full_like(loss, 1500 * start), grads  # finite, relative blow-up

            trainer.algorithm.meta_gradients = exploding

    trainer.callback = on_event
    summary = trainer.run()
    assert summary["status"] == "failed" and summary["failure"] == "diverged"
    assert "diverged at step 7" in summary["error"] and "its starting level" in summary["error"]
    assert summary["steps"] == 6
    saved = Run.open(tmp_path / "r").load_weights()
    for name, value in good.items():
        assert torch.equal(saved[name], value), name


def test_divergence_check_can_be_switched_off(data):
    dataset, split = data
    summary = Trainer("maml", dataset, split, algo_overrides={"inner_lr": 50},
                      train={**FAST, "epochs": 1, "max_steps": 2, "diverge_factor": 0}).run()
    assert summary["status"] == "finished"  # the user asked for it: only non-finite stops


def test_normal_training_is_not_flagged(data):
    dataset, split = data
    summary = Trainer("fomaml", dataset, split, train=FAST).run()
    assert summary["status"] == "finished"


def test_monitor_defaults_to_recall20_higher_is_better(data, monkeypatch):
    dataset, split = data
    assert TrainConfig().monitor == "recall20"
    trainer = Trainer("fomaml", dataset, split, train={**FAST, "epochs": 20, "patience": 2})
    values = iter([0.10, 0.20, 0.15, 0.12, 0.5])
    monkeypatch.setattr(trainer, "_validate",
                        lambda: {"val_recall20": next(values), "val_mae": 0.9})
    summary = trainer.run()
    assert summary["epochs"] == 4 and summary["best_epoch"] == 2
    assert summary["monitor"] == "recall20" and summary["best_validation"]["val_recall20"] == 0.20


def test_monitor_falls_back_to_mae_when_recall20_is_absent(data, monkeypatch):
    dataset, split = data
    events = []
    trainer = Trainer("fomaml", dataset, split, train={**FAST, "epochs": 20, "patience": 2},
                      callback=events.append)
    maes = iter([0.9, 0.8, 0.85, 0.86, 0.7])
    monkeypatch.setattr(trainer, "_validate", lambda: {"val_mae": next(maes)})
    summary = trainer.run()
    assert summary["epochs"] == 4 and summary["best_epoch"] == 2 and summary["monitor"] == "mae"
    assert any("monitors mae instead" in getattr(e, "message", "") for e in events)


def test_monitor_mae_is_lower_is_better(data, monkeypatch):
    dataset, split = data
    trainer = Trainer("fomaml", dataset, split,
                      train={**FAST, "epochs": 20, "patience": 2, "monitor": "mae"})
    values = iter([(0.9, 0.3), (0.8, 0.1), (0.85, 0.5), (0.86, 0.6)])

    def validate():
        mae, recall = next(values)
        return {"val_mae": mae, "val_recall20": recall}

    monkeypatch.setattr(trainer, "_validate", validate)
    summary = trainer.run()
    assert summary["best_epoch"] == 2 and summary["best_validation"]["val_mae"] == 0.8


def test_real_validation_records_every_metric(data, tmp_path):
    dataset, split = data
    summary = Trainer("fomaml", dataset, split, train={**FAST, "epochs": 1},
                      run_dir=tmp_path / "r").run()
    frame = Run.open(tmp_path / "r").read_metrics()
    epoch = frame[frame["kind"] == "epoch"].iloc[0]
    assert epoch["val_mae"] > 0
    if "val_recall20" in summary["validation"]:  # the evaluation computes top-N metrics
        assert 0 <= epoch["val_recall20"] <= 1 and summary["monitor"] == "recall20"

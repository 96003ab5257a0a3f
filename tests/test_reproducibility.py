"""Same seed, same data, same numbers on CPU: bit for bit, in one process and across processes.

The cause these guard against: autograd's backward of ``table[index]`` (every embedding lookup)
is ``index_put_(accumulate=True)``, whose parallel CPU kernel adds with atomic float adds in
thread-timing order (core.devices.reproducible_numerics). The Trainer runs in a fixed order.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from core.data.loading import load_dataset
from core.devices import reproducible_numerics
from core.runs import Run
from core.split import make_split
from core.training import StepEvent, Trainer

ROOT = Path(__file__).resolve().parent.parent
SYNTHETIC = "synthetic:n_users=160,n_items=150,seed=3"
# meta_batch_size 16 x query_size 50 x 64 dims = 51200 gradient rows added into the item table:
# above the 32768 at which the CPU kernel goes parallel (with more than one thread).
SMALL = {"epochs": 1, "meta_batch_size": 16, "seed": 7}


@pytest.fixture(scope="module")
def data():
    dataset = load_dataset(SYNTHETIC)
    return dataset, make_split(dataset)


@pytest.fixture
def two_threads():
    """At least two torch threads (the parallel kernels run), restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(max(2, before))
    yield
    torch.set_num_threads(before)


def _index_gradient() -> bytes:
    g = torch.Generator().manual_seed(0)
    table = torch.randn(8, 64, generator=g, requires_grad=True)
    index = torch.randint(0, 8, (4096,), generator=g)  # many repeats of each row
    weights = torch.randn(4096, 64, generator=g)
    (grad,) = torch.autograd.grad((table[index] * weights).sum(), table)
    return grad.numpy().tobytes()


def test_embedding_gradient_is_bit_identical_under_the_trainers_numerics(two_threads):
    # Without the fixed order, 20 repeats gave about 13 different gradients on two cores.
    with reproducible_numerics("cpu") as threads:
        assert threads == torch.get_num_threads() >= 2
        results = {_index_gradient() for _ in range(20)}
    assert len(results) == 1


def test_numerics_setting_is_scoped_and_nests():
    before = torch.are_deterministic_algorithms_enabled()
    with reproducible_numerics("cpu"):
        assert torch.are_deterministic_algorithms_enabled()
        with reproducible_numerics("cpu"):
            pass
        assert torch.are_deterministic_algorithms_enabled()  # the outer block still holds it
    assert torch.are_deterministic_algorithms_enabled() == before


@pytest.mark.parametrize("algorithm", ["fomaml", "proto"])
def test_second_trainer_in_the_same_process_gives_the_same_bits(data, tmp_path, two_threads,
                                                                algorithm):
    dataset, split = data
    trainers, summaries, flags = [], [], []
    for i in range(2):
        def on_step(event, i=i):
            if isinstance(event, StepEvent):
                flags.append((i, torch.are_deterministic_algorithms_enabled()))

        trainer = Trainer(algorithm, dataset, split, train=SMALL, run_dir=tmp_path / f"r{i}",
                          callback=on_step)
        summaries.append(trainer.run())
        trainers.append(trainer)
    first, second = (t.algorithm.state_dict() for t in trainers)
    assert first.keys() == second.keys()
    for name in first:
        assert torch.equal(first[name], second[name]), name
    assert trainers[0].losses == trainers[1].losses
    assert trainers[0].history == trainers[1].history  # validation metrics, every digit
    assert summaries[0]["test"] == summaries[1]["test"]
    assert summaries[0]["weights_sha256"] == summaries[1]["weights_sha256"]
    assert all(on for _, on in flags)
    assert Run.open(tmp_path / "r0").config["versions"]["torch_threads"] == str(trainers[0].threads)


def test_two_processes_training_at_once_give_the_same_weights(tmp_path):
    # Run side by side, so each one's threads compete with the other's (a busy machine).
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "2"}
    args = [sys.executable, "-m", "core.cli", "train", "--dataset", SYNTHETIC,
            "--algorithm", "fomaml", "--epochs", "1", "--set", "meta_batch_size=16",
            "--seed", "7", "-q"]
    procs = [subprocess.Popen([*args, "--out", str(tmp_path / f"p{i}")], env=env, cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for i in range(2)]
    for proc in procs:
        out, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, out
    summaries = [json.loads((tmp_path / f"p{i}" / "summary.json").read_text()) for i in range(2)]
    assert summaries[0]["weights_sha256"] == summaries[1]["weights_sha256"]
    assert summaries[0]["validation"] == summaries[1]["validation"]
    assert summaries[0]["test"] == summaries[1]["test"]

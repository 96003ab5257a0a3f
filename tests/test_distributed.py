"""`metarec train` under torchrun (2 CPU processes, gloo) reproduces a single-process run."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

from core.distributed import shard_bounds
from core.runs import Run

SYNTH = "synthetic:n_users=160,n_items=120,seed=4"
ARGS = ["train", "--dataset", SYNTH, "--algorithm", "maml", "--epochs", "2",
        "--set", "meta_batch_size=16", "--set", "final_test=false", "-q"]


def _run(cmd, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr[-8000:]


def test_two_gloo_ranks_match_one_process(tmp_path):
    single, ddp = tmp_path / "single", tmp_path / "ddp"
    _run([sys.executable, "-m", "core.cli", *ARGS, "--out", str(single)], tmp_path)
    _run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
          "-m", "core.cli", *ARGS, "--out", str(ddp)], tmp_path)
    a, b = Run.open(single).read_metrics(), Run.open(ddp).read_metrics()
    la, lb = a[a.kind == "step"].loss.to_numpy(), b[b.kind == "step"].loss.to_numpy()
    assert len(la) == len(lb) > 0
    np.testing.assert_allclose(la, lb, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(a[a.kind == "epoch"].val_mae, b[b.kind == "epoch"].val_mae, rtol=1e-5)
    assert Run.open(ddp).config["world_size"] == 2 and Run.open(ddp).status == "finished"


def test_shards_cover_the_batch_once():
    for n in (1, 5, 16, 33):
        for ranks in (1, 2, 3, 4):
            bounds = [shard_bounds(n, ranks, r) for r in range(ranks)]
            assert bounds[0][0] == 0 and bounds[-1][1] == n
            assert all(bounds[i][1] == bounds[i + 1][0] for i in range(ranks - 1))

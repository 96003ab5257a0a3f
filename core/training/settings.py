"""The settings of the outer (meta-training) loop; algorithm hyperparameters live in each
algorithm's own config.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Config, param
from .monitor import MONITOR_CHOICES


@dataclass
class TrainConfig(Config):
    """Settings of the outer loop (algorithm hyperparameters live in the algorithm's config)."""

    epochs: int = param(20, "Meta-epochs: passes over the meta-training users", low=1, high=10000)
    meta_batch_size: int = param(32, "Tasks (users) per meta-step", low=1, high=4096)
    support_size: int = param(20, "Largest training support set per task", low=1, high=500)
    support_min: int = param(5, "Smallest training support set (sizes drawn uniformly)", low=1, high=500)
    query_size: int = param(10, "Query ratings per training task", low=1, high=500)
    outer_lr: float = param(1e-3, "Outer (meta) learning rate, Adam", low=1e-6, high=1.0, log=True)
    weight_decay: float = param(0.0, "Adam weight decay on meta-parameters", low=0.0, high=1.0)
    grad_clip: float = param(10.0, "Clip the meta-gradient norm to this (0 = off)", low=0.0, high=1e6)
    eval_k: int = param(10, "Support size K for validation during training", low=1, high=500)
    patience: int = param(5, "Early stopping: epochs without validation gain (0 = off)", low=0, high=1000)
    seed: int = param(0, "Seed for initialisation and task sampling", low=0, high=2**31 - 1)
    device: str = param("cpu", "cpu, cuda:N, mps or auto")
    final_test: bool = param(True, "Evaluate on test users (K = 5, 10, 20) when training ends")
    max_steps: int = param(0, "Stop after this many meta-steps (0 = no limit)", low=0, high=10**9)
    monitor: str = param("recall20", "Validation metric for early stopping and the best epoch "
                         "(recall/ndcg: higher is better, mae/rmse: lower; falls back to mae when "
                         "the evaluation has no such metric)", choices=MONITOR_CHOICES)
    diverge_factor: float = param(1e3, "Stop as diverged when the loss exceeds this many times its "
                                  "starting level (0 = off; non-finite losses always stop)",
                                  low=0.0, high=1e12, log=False)

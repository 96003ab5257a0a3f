"""torch.distributed glue so that ``metarec train`` runs unchanged under ``torchrun``.

Every rank draws the same meta-batch (same seed), takes a contiguous shard of its tasks,
computes the mean meta-gradient over its shard, and the shards are combined by an all-reduce
weighted by shard size, so N processes reproduce one process with the same meta-batch.
Only rank 0 writes the run folder. Without torchrun (no WORLD_SIZE) all of this is a no-op.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as tdist

from .tasks import TaskBatch


def init_from_env(device: str = "cpu") -> bool:
    """Join the process group torchrun describes in the environment; False when not launched so."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or tdist.is_initialized():
        return tdist.is_initialized()
    backend = "nccl" if device.startswith("cuda") and torch.cuda.is_available() else "gloo"
    tdist.init_process_group(backend=backend)
    return True


def active() -> bool:
    return tdist.is_available() and tdist.is_initialized() and tdist.get_world_size() > 1


def world_size() -> int:
    return tdist.get_world_size() if active() else 1


def rank() -> int:
    return tdist.get_rank() if active() else 0


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


def is_main() -> bool:
    return rank() == 0


def shard_bounds(n: int, ranks: int, r: int) -> tuple[int, int]:
    """Contiguous [lo, hi) slice of n tasks for rank r (sizes differ by at most one)."""
    base, extra = divmod(n, ranks)
    lo = r * base + min(r, extra)
    return lo, lo + base + (1 if r < extra else 0)


def shard(batch: TaskBatch) -> TaskBatch:
    """This rank's share of a meta-batch."""
    if not active():
        return batch
    lo, hi = shard_bounds(len(batch), world_size(), rank())
    return batch.select(slice(lo, hi))


def average(
    loss: torch.Tensor, grads: dict[str, torch.Tensor], n_tasks: int | None = None
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """All-reduce per-shard mean loss and gradients into the mean over the whole meta-batch."""
    if not active():
        return loss, grads
    weight = float(n_tasks) if n_tasks is not None else 1.0
    names = sorted(grads)
    flat = torch.cat([grads[k].reshape(-1) * weight for k in names]
                     + [loss.detach().reshape(1).to(grads[names[0]].dtype) * weight,
                        torch.tensor([weight], dtype=grads[names[0]].dtype, device=loss.device)])
    tdist.all_reduce(flat)
    total = flat[-1]
    flat = flat / total
    out, offset = {}, 0
    for k in names:
        size = grads[k].numel()
        out[k] = flat[offset : offset + size].view_as(grads[k])
        offset += size
    return flat[offset], out


def cleanup() -> None:
    """Leave the process group together: a rank that tears down its connections while a peer
    is still finishing (rank 0 writes the run folder) can make the peer's gloo abort."""
    if tdist.is_available() and tdist.is_initialized():
        if tdist.get_world_size() > 1:
            tdist.barrier()
        tdist.destroy_process_group()

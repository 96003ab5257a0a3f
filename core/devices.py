"""The one place that decides devices and seeds.

``torch`` is imported inside the functions, so that ``DeviceError`` (and the CLI's ``--help``)
cost nothing to import.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


class DeviceError(RuntimeError):
    """The requested device does not exist on this machine."""


@dataclass(frozen=True)
class DeviceInfo:
    name: str  # 'cpu', 'cuda:0', 'mps'
    label: str  # human-readable, e.g. 'NVIDIA H100 (80 GB)'
    available: bool = True


def available_devices() -> list[DeviceInfo]:
    """cpu, every CUDA GPU by name, and Apple's mps where present."""
    import torch

    out = [DeviceInfo("cpu", f"CPU ({torch.get_num_threads()} threads)")]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            out.append(DeviceInfo(f"cuda:{i}", f"{props.name} ({props.total_memory / 2**30:.0f} GB)"))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        out.append(DeviceInfo("mps", "Apple Metal (mps)"))
    return out


def _why_missing(name: str) -> str:
    """Why a device is not there, in words (no PyTorch internals)."""
    import torch

    if name.startswith("cuda"):
        if torch.version.cuda is None:
            return f"this PyTorch ({torch.__version__}) is a CPU-only build without CUDA support"
        if not torch.cuda.is_available():
            return "no CUDA GPU is visible to this process (driver missing, or CUDA_VISIBLE_DEVICES)"
        return f"this machine has {torch.cuda.device_count()} CUDA GPU(s)"
    if name == "mps":
        return "Apple Metal (mps) is only available on Apple silicon with a PyTorch built for it"
    return "unknown device name (use cpu, cuda, cuda:N, mps or auto)"


def resolve_device(name: str | torch.device | None) -> torch.device:
    """'auto' picks the first GPU, else cpu; anything missing raises DeviceError with the list."""
    import torch

    if isinstance(name, torch.device):
        name = str(name)
    name = (name or "cpu").strip().lower()
    names = [d.name for d in available_devices()]
    if name == "auto":
        return torch.device(names[1] if len(names) > 1 else "cpu")
    if name == "cuda":
        name = "cuda:0"
    if name not in names:
        raise DeviceError(
            f"device '{name}' is not available on this machine: {_why_missing(name)}; "
            f"available: {', '.join(names)}"
        )
    return torch.device(name)


def check_device(name: str | None) -> str:
    """The device check every CLI verb and the app run before any work: the resolved name
    (e.g. 'cuda' -> 'cuda:0'), or one clear DeviceError."""
    return str(resolve_device(name))


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, numpy and torch; returns a CPU generator for explicit use."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


_numerics_lock = threading.Lock()
_numerics_users = 0
_numerics_saved: tuple[bool, bool, bool] | None = None


@contextmanager
def reproducible_numerics(device: str | torch.device) -> Iterator[int]:
    """Same seed, same data, same threads -> bit-identical numbers on CPU, for the block.

    Yields the number of torch CPU threads (the one setting the numbers still depend on: a
    different count splits parallel sums differently, so record it with the results).

    Why: autograd's backward of advanced indexing (``table[index]``, used for every embedding
    lookup here) is ``index_put_(accumulate=True)``, which on CPU with more than one thread and
    at least 32768 values lets the threads add into the gradient with atomic float adds: the
    order of the additions, hence the last bits, depend on thread timing, so two same-seed runs
    differed after the first meta-step (more often on a busy machine). Deterministic
    algorithms make that kernel (and any other with a deterministic variant) run in a fixed
    order. ``warn_only``: an operation without a deterministic CPU variant warns instead of
    failing the run; uninitialised memory is not filled (a cost, and nothing reads it).
    Nothing changes on GPUs (deterministic CUDA kernels cost speed and need
    CUBLAS_WORKSPACE_CONFIG; the project rule is for CPU). The process-wide setting is
    reference-counted, so overlapping blocks in several threads restore it once, at the end.
    """
    import torch
    import torch.utils.deterministic as det

    global _numerics_users, _numerics_saved
    if torch.device(device).type != "cpu":
        yield torch.get_num_threads()
        return
    with _numerics_lock:
        if _numerics_users == 0:
            _numerics_saved = (torch.are_deterministic_algorithms_enabled(),
                               torch.is_deterministic_algorithms_warn_only_enabled(),
                               det.fill_uninitialized_memory)
            if not _numerics_saved[0]:
                torch.use_deterministic_algorithms(True, warn_only=True)
                det.fill_uninitialized_memory = False
        _numerics_users += 1
    try:
        yield torch.get_num_threads()
    finally:
        with _numerics_lock:
            _numerics_users -= 1
            if _numerics_users == 0 and _numerics_saved is not None:
                enabled, warn_only, fill = _numerics_saved
                torch.use_deterministic_algorithms(enabled, warn_only=warn_only)
                det.fill_uninitialized_memory = fill
                _numerics_saved = None

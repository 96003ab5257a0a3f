"""The one place that decides devices and seeds.

``torch`` is imported inside the functions, so that ``DeviceError`` (and the CLI's ``--help``)
cost nothing to import.
"""

from __future__ import annotations

import random
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

"""The one place that decides devices and seeds."""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
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
    out = [DeviceInfo("cpu", f"CPU ({torch.get_num_threads()} threads)")]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            out.append(DeviceInfo(f"cuda:{i}", f"{props.name} ({props.total_memory / 2**30:.0f} GB)"))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        out.append(DeviceInfo("mps", "Apple Metal (mps)"))
    return out


def resolve_device(name: str | torch.device | None) -> torch.device:
    """'auto' picks the first GPU, else cpu; anything missing raises DeviceError with the list."""
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
            f"device '{name}' is not available on this machine; available: {', '.join(names)}"
        )
    return torch.device(name)


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, numpy and torch; returns a CPU generator for explicit use."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)

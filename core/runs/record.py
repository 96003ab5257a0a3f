"""Parts of a run's config.json that describe where it was made: software versions, and the
dataset record with its file paths made absolute (a run must be usable from any folder).
"""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Any

import pandas as pd


def versions() -> dict[str, str]:
    """Versions of MetaRec, Python, torch, numpy, pandas and the platform, as text."""
    import numpy
    import torch

    from .. import __version__

    return {
        "metarec": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "pandas": pd.__version__,
        "platform": platform.platform(),
    }


def resolve_dataset_paths(dataset: Any, base: Path | None = None) -> Any:
    """A dataset record with its file paths made absolute (a run must be usable from any folder)."""
    if not isinstance(dataset, dict):
        return dataset
    base = Path(base) if base is not None else Path.cwd()
    out = dict(dataset)
    spec = out.get("spec")
    file_kinds = ("movielens", "table", "file")
    if isinstance(spec, dict) and isinstance(spec.get("path"), str) and spec.get("kind") != "synthetic":
        spec = dict(spec)
        spec["path"] = _absolute(spec["path"], base)
        out["spec"] = spec
    source = out.get("source")
    if isinstance(source, str) and source and not (isinstance(spec, dict) and spec.get("kind") not in file_kinds):
        candidate = Path(source).expanduser()
        if not candidate.is_absolute() and (base / candidate).exists():
            out["source"] = _absolute(source, base)
    return out


def _absolute(path: str, base: Path) -> str:
    p = Path(path).expanduser()
    return str(p if p.is_absolute() else (base / p).resolve())

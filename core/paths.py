"""Where MetaRec finds its bundled resources and keeps per-user files."""

from __future__ import annotations

import os
from pathlib import Path


def resources_dir() -> Path:
    """The repository's ``resources/`` folder (override with ``METAREC_RESOURCES``)."""
    env = os.environ.get("METAREC_RESOURCES")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "resources"


def default_workspace() -> Path:
    """Per-user folder for runs and saved profiles (``METAREC_WORKSPACE`` overrides)."""
    env = os.environ.get("METAREC_WORKSPACE")
    if env:
        return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir("MetaRec", "MetaRec")) / "workspace"

"""Where MetaRec finds its bundled resources and keeps per-user files."""

from __future__ import annotations

import os
from pathlib import Path


def resources_dir() -> Path:
    """The bundled resources: the repository's ``resources/`` folder, which ``core/resources``
    links to so that it ships as package data (found with importlib.resources, so it works from a
    source checkout, an editable install and an installed wheel alike; where a checkout has no
    symlinks, the repository folder itself). ``METAREC_RESOURCES`` overrides it."""
    env = os.environ.get("METAREC_RESOURCES")
    if env:
        return Path(env)
    from importlib.resources import files

    bundled = files(__package__ or "core").joinpath("resources")
    path = Path(str(bundled))
    if path.is_dir():
        return path
    repo = Path(__file__).resolve().parent.parent / "resources"  # a checkout without symlinks
    return repo if repo.is_dir() else path


def default_workspace() -> Path:
    """Per-user folder for runs and saved profiles (``METAREC_WORKSPACE`` overrides)."""
    env = os.environ.get("METAREC_WORKSPACE")
    if env:
        return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir("MetaRec", "MetaRec")) / "workspace"

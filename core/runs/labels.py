"""Short labels for runs: the algorithm plus the settings that differ from its defaults, so two
runs of one algorithm trained with other settings can be told apart (the CLI's ``compare`` and
the app's Compare page)::

    proto (ranking_loss=bpr, rating_weight=0.1)

A run records every algorithm setting in ``config.json["hyperparameters"]``; a setting is shown
when its recorded value differs from the default of ``algorithm_class(name).Config`` (settings
missing from the record count as defaults; recorded names this version does not know are shown,
they are not defaults either). Labels longer than :data:`LABEL_LIMIT` characters end in an
ellipsis; :func:`run_label` with ``limit=None`` gives the full text (for a tooltip).
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Mapping
from typing import Any

LABEL_LIMIT = 60
ELLIPSIS = "…"


def format_value(value: Any) -> str:
    """A setting's value as typed after ``--set NAME=``: 0.1, 1.0, 1e-05, bpr, True ('' if
    empty)."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        short = f"{value:g}"
        if float(short) != value:
            return repr(value)
        return short + ".0" if short.lstrip("-").isdigit() else short
    if isinstance(value, str):
        return value if value else "''"
    return str(value)


def _same(value: Any, default: Any, kind: Any) -> bool:
    """Whether a recorded value is the default (1 and 1.0 alike for a float setting)."""
    if isinstance(value, bool) or isinstance(default, bool):
        return type(value) is type(default) and value == default
    if kind is float and isinstance(value, (int, float)) and isinstance(default, (int, float)):
        return float(value) == float(default)
    return type(value) is type(default) and value == default


def changed_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """The algorithm settings of a run's config.json that differ from the algorithm's defaults,
    sorted by name. Empty for an unknown algorithm (no defaults to compare with) or a record
    without settings."""
    hyper = config.get("hyperparameters") if isinstance(config, Mapping) else None
    if not isinstance(hyper, Mapping) or not hyper:
        return {}
    from ..algorithms import ALGORITHMS  # torch: only when a label is asked for

    cls = ALGORITHMS.get(str(config.get("algorithm", "")))
    if cls is None:
        return {}
    fields = {f.name: f for f in dataclasses.fields(cls.Config)}
    hints = typing.get_type_hints(cls.Config)
    out: dict[str, Any] = {}
    for name in sorted(hyper, key=str):
        value = hyper[name]
        f = fields.get(str(name))
        if f is None or not _same(value, f.default, hints.get(f.name)):
            out[str(name)] = value
    return out


def settings_text(changed: Mapping[str, Any]) -> str:
    """``{'ranking_loss': 'bpr', 'rating_weight': 0.1}`` -> 'ranking_loss=bpr, rating_weight=0.1'."""
    return ", ".join(f"{name}={format_value(value)}" for name, value in changed.items())


def shorten(text: str, limit: int | None = LABEL_LIMIT, ellipsis: str = ELLIPSIS) -> str:
    """``text`` cut to ``limit`` characters, the last being ``ellipsis`` when cut."""
    if limit is None or len(text) <= limit:
        return text
    return text[:max(0, limit - len(ellipsis))] + ellipsis


def run_label(config: Mapping[str, Any], *, title: bool = False,
              limit: int | None = LABEL_LIMIT, ellipsis: str = ELLIPSIS) -> str:
    """A run's label: its algorithm (``title``: the algorithm's display title, e.g. 'Prototype
    network', instead of its name) and, in parentheses, the settings that differ from that
    algorithm's defaults. Past ``limit`` characters whole settings are left off for
    ``ellipsis`` ('proto (dim=64, init=random, …)'); ``limit=None``: never shortened."""
    config = config if isinstance(config, Mapping) else {}
    name = str(config.get("algorithm") or "?")
    head = str(config.get("title") or name) if title else name
    parts = [f"{k}={format_value(v)}" for k, v in changed_settings(config).items()]
    full = f"{head} ({', '.join(parts)})" if parts else head
    if limit is None or len(full) <= limit:
        return full
    shown: list[str] = []
    for part in parts:
        if len(f"{head} ({', '.join([*shown, part])}, {ellipsis})") > limit:
            break
        shown.append(part)
    if shown:
        return f"{head} ({', '.join(shown)}, {ellipsis})"
    return shorten(full, limit, ellipsis)

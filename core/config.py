"""Typed settings with the metadata the CLI and the GUI form are generated from."""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass, field
from typing import Any


def param(
    default: Any,
    help: str,
    *,
    low: float | None = None,
    high: float | None = None,
    choices: tuple | None = None,
    log: bool = False,
) -> Any:
    """A config field with the metadata the CLI and the GUI form need (help, range, choices)."""
    meta = {"help": help, "low": low, "high": high, "choices": choices, "log": log}
    return field(default=default, metadata=meta)


@dataclass
class Config:
    """Base of every settings dataclass (algorithm hyperparameters, training settings)."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def field_specs(cls) -> list[dict[str, Any]]:
        """Name, type, default and metadata of each field (for forms and ``--help``)."""
        hints = typing.get_type_hints(cls)
        return [
            {"name": f.name, "type": hints[f.name], "default": f.default, **f.metadata}
            for f in dataclasses.fields(cls)
        ]

    def replace(self, **changes: Any) -> Config:
        return coerce_config(type(self), {**self.to_dict(), **changes})


class ConfigError(ValueError):
    """A hyperparameter name or value is not valid; the message says which and why."""


def coerce_config(cls: type[Config], values: dict[str, Any]) -> Config:
    """Build a config from strings or values, checking names, types, ranges and choices."""
    known = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, raw in values.items():
        if name not in known:
            raise ConfigError(f"unknown setting '{name}'; valid: {', '.join(known)}")
        f = known[name]
        kind = hints[name]
        try:
            if kind is bool and isinstance(raw, str):
                if raw.lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                    raise ValueError(raw)
                value = raw.lower() in ("1", "true", "yes", "on")
            elif kind is int and isinstance(raw, float) and not raw.is_integer():
                raise ValueError(raw)
            else:
                value = kind(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"setting '{name}' must be {kind.__name__}, got '{raw}'") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"setting '{name}' must be a finite number, got {raw!r}")
        lo, hi, choices = f.metadata.get("low"), f.metadata.get("high"), f.metadata.get("choices")
        if choices and value not in choices:
            raise ConfigError(f"setting '{name}' must be one of {', '.join(map(str, choices))}, "
                              f"got {raw!r}")
        if lo is not None and value < lo or hi is not None and value > hi:
            raise ConfigError(f"setting '{name}' = {value} is outside [{lo}, {hi}]")
        kwargs[name] = value
    return cls(**kwargs)



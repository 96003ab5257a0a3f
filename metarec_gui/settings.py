"""Every persisted setting of the app, typed, in one place.

``Settings(qsettings)`` wraps a ``QSettings`` (the per-user store, or an INI file named by
``METAREC_SETTINGS`` for tests and portable installs). Pages read and write attributes
(``prefs.device``, ``prefs.train_hparams("maml")``) — never raw keys — so a key is spelled once
and a value of the wrong type (INI files hold text) is turned back or replaced by the default.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QByteArray, QSettings

T = TypeVar("T")


def open_qsettings() -> QSettings:
    """Per-user settings (``METAREC_SETTINGS`` = an INI file, for tests and portable installs)."""
    path = os.environ.get("METAREC_SETTINGS")
    if path:
        return QSettings(path, QSettings.Format.IniFormat)
    return QSettings("MetaRec", "MetaRec")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return None if text.lower() in ("", "none", "@invalid()") else text


def plain_value(value: Any) -> Any:
    """QSettings returns numbers saved in INI files as text; turn them back."""
    if isinstance(value, str):
        if value.lower() in ("none", "@invalid()", ""):
            return None
        if value.lower() in ("true", "false"):
            return value.lower() == "true"
        for kind in (int, float):
            try:
                return kind(value)
            except ValueError:
                continue
    return value


class _Key(Generic[T]):
    """A typed setting: ``kind`` is 'str', 'json' (dict) or 'bytes' (QByteArray)."""

    def __init__(self, key: str, default: T, kind: str = "str") -> None:
        self.key, self.default, self.kind = key, default, kind

    def __get__(self, obj: Settings | None, owner: type) -> T:
        if obj is None:
            return self  # type: ignore[return-value]
        raw = obj.qsettings.value(self.key)
        if self.kind == "bytes":
            return raw if isinstance(raw, QByteArray) and not raw.isEmpty() else self.default
        if self.kind == "json":
            if isinstance(raw, dict):  # written by an older version as a QVariant map
                return {k: plain_value(v) for k, v in raw.items()}  # type: ignore[return-value]
            text = _text(raw)
            if text is None:
                return self.default
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                return self.default
            return value if isinstance(value, dict) else self.default
        text = _text(raw)
        return self.default if text is None else text  # type: ignore[return-value]

    def __set__(self, obj: Settings, value: T | None) -> None:
        if value is None:
            obj.qsettings.remove(self.key)
        elif self.kind == "json":
            obj.qsettings.setValue(self.key, json.dumps(value))
        elif self.kind == "bytes":
            obj.qsettings.setValue(self.key, value)
        else:
            obj.qsettings.setValue(self.key, str(value))


class Settings:
    """The app's persisted settings (see the module docstring)."""

    theme = _Key("theme", "system")
    workspace = _Key[str | None]("workspace", None)
    device = _Key("device", "cpu")
    window_geometry = _Key[QByteArray | None]("window/geometry", None, "bytes")
    window_state = _Key[QByteArray | None]("window/state", None, "bytes")
    page = _Key("window/page", "data")
    last_dir = _Key[str | None]("data/last_dir", None)  # where file dialogs open
    dataset_spec = _Key[dict | None]("data/last_spec", None, "json")  # DatasetSpec.to_dict()
    split = _Key[dict | None]("data/split", None, "json")  # SplitConfig.to_dict()
    watch_dir = _Key[str | None]("watch/last_dir", None)
    train_algorithm = _Key[str | None]("train/algorithm", None)
    coldstart_run = _Key[str | None]("coldstart/last_run", None)
    coldstart_profile = _Key[str | None]("coldstart/last_profile", None)

    def __init__(self, qsettings: QSettings | None = None) -> None:
        self.qsettings = qsettings if qsettings is not None else open_qsettings()

    # per-algorithm form values
    def train_hparams(self, algorithm: str) -> dict[str, Any]:
        return self._json(f"train/hparams/{algorithm}")

    def set_train_hparams(self, algorithm: str, values: dict[str, Any]) -> None:
        self.qsettings.setValue(f"train/hparams/{algorithm}", json.dumps(values))

    def train_outer(self, algorithm: str) -> dict[str, Any]:
        return self._json(f"train/outer/{algorithm}")

    def set_train_outer(self, algorithm: str, values: dict[str, Any]) -> None:
        self.qsettings.setValue(f"train/outer/{algorithm}", json.dumps(values))

    def start_dir(self) -> Path:
        """Where an open-file dialog starts: the last folder used, else home."""
        folder = self.last_dir
        return Path(folder) if folder and Path(folder).is_dir() else Path.home()

    def sync(self) -> None:
        self.qsettings.sync()

    def _json(self, key: str) -> dict[str, Any]:
        text = _text(self.qsettings.value(key))
        if text is None:
            return {}
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            return {}
        return value if isinstance(value, dict) else {}


__all__ = ["Settings", "open_qsettings", "plain_value"]

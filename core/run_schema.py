"""The one place that decides what a run folder's metadata may contain.

Every reader of ``config.json`` / ``summary.json`` / ``weights.pt`` goes through these checks
(via :class:`core.runs.Run`), so a tampered, truncated or foreign file is refused with a
:class:`RunError` that names the file and the field, instead of a ``KeyError`` or a
``TypeError`` somewhere in the evaluation code.

Policy for keys this version does not know:

* top-level keys of ``config.json`` and ``summary.json``: **tolerated** (a newer MetaRec may
  add some); :func:`unknown_keys` lists them so a front end can show a note;
* keys of ``config.json["split"]``: **refused** (they would change which users are test users,
  so the run could not be reproduced or evaluated honestly);
* ``hyperparameters``: names are checked when the algorithm is rebuilt
  (:func:`core.runs.load_algorithm`: a :class:`RunError` naming ``hyperparameters.<name>``).

Numbers in ``hyperparameters``, ``train`` and ``split`` must be finite; metric values in
``summary.json`` may be NaN (a metric can be undefined, e.g. no relevant item).
"""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path
from typing import Any

STATUSES = ("running", "finished", "cancelled", "failed")

CONFIG_KEYS = frozenset({
    "algorithm", "title", "family", "hyperparameters", "train", "dataset", "split", "device",
    "world_size", "versions", "created", "status", "writer", "weights",
})
SUMMARY_KEYS = frozenset({
    "status", "algorithm", "title", "steps", "epochs", "wall_time", "tasks_per_s", "best_epoch",
    "final_loss", "validation", "best_validation", "test", "error", "run_dir", "failure",
    "monitor", "weights_sha256", "interrupted_by",
})
SHA256 = re.compile(r"^[0-9a-f]{64}$")


class RunError(RuntimeError):
    """A run folder is missing, incomplete, malformed, or belongs to a different dataset."""


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the text {value[:40]!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


class _Checker:
    def __init__(self, file: Path | str) -> None:
        self.file = file

    def fail(self, field: str, why: str) -> RunError:
        where = f"field '{field}'" if field else "the file"
        return RunError(f"{self.file}: {where} {why}")

    def obj(self, value: Any, field: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(field, f"must be a JSON object, got {_type_name(value)}")
        return value

    def text(self, value: Any, field: str, *, empty: bool = True) -> str:
        if not isinstance(value, str) or (not empty and not value.strip()):
            raise self.fail(field, f"must be {'a' if empty else 'a non-empty'} text, got {_type_name(value)}")
        return value

    def integer(self, value: Any, field: str, low: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise self.fail(field, f"must be a whole number, got {_type_name(value)}")
        if low is not None and value < low:
            raise self.fail(field, f"must be at least {low}, got {value}")
        return value

    def number(self, value: Any, field: str, *, finite: bool = True, low: float | None = None) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(field, f"must be a number, got {_type_name(value)}")
        if finite and not math.isfinite(value):
            raise self.fail(field, f"must be a finite number, got {value}")
        if low is not None and value < low:
            raise self.fail(field, f"must be at least {low:g}, got {value}")
        return float(value)

    def scalars(self, value: Any, field: str) -> dict[str, Any]:
        """An object of settings: JSON values with finite numbers (types are checked by the
        config dataclass when the algorithm is rebuilt)."""
        self.obj(value, field)
        for key, item in value.items():
            self._scalar(item, f"{field}.{key}")
        return value

    def _scalar(self, item: Any, field: str, depth: int = 0) -> None:
        if item is None or isinstance(item, (bool, str)):
            return
        if isinstance(item, (int, float)):
            self.number(item, field)
            return
        if depth >= 4:
            raise self.fail(field, "is nested too deeply for a setting")
        if isinstance(item, list):
            for i, sub in enumerate(item):
                self._scalar(sub, f"{field}[{i}]", depth + 1)
            return
        if isinstance(item, dict):
            for key, sub in item.items():
                self._scalar(sub, f"{field}.{key}", depth + 1)
            return
        raise self.fail(field, f"must be a number, text or boolean, got {_type_name(item)}")

    def optional(self, data: dict, key: str, check, *args, prefix: str = "", **kwargs) -> None:
        if key in data and data[key] is not None:
            check(data[key], prefix + key, *args, **kwargs)


def validate_config(data: Any, file: Path | str = "config.json") -> dict[str, Any]:
    """Check a parsed ``config.json``; return it unchanged or raise :class:`RunError`."""
    c = _Checker(file)
    c.obj(data, "")
    if "algorithm" not in data:
        raise c.fail("algorithm", "is missing (which algorithm trained this run?)")
    c.text(data["algorithm"], "algorithm", empty=False)
    for key in ("title", "family", "device", "created"):
        c.optional(data, key, c.text)
    if "status" in data and data["status"] not in STATUSES:
        raise c.fail("status", f"must be one of {', '.join(STATUSES)}, got {_type_name(data['status'])}")
    for key in ("hyperparameters", "train"):
        if key in data:
            c.scalars(data[key], key)
    if "dataset" in data:
        _check_dataset(c, data["dataset"])
    if "split" in data and data["split"] is not None:
        _check_split(c, data["split"])
    c.optional(data, "world_size", c.integer, 1)
    c.optional(data, "versions", c.obj)
    if "writer" in data:
        w = c.obj(data["writer"], "writer")
        c.optional(w, "pid", c.integer, 1, prefix="writer.")
        c.optional(w, "host", c.text, prefix="writer.")
        c.optional(w, "proc_start", c.integer, 0, prefix="writer.")
        c.optional(w, "heartbeat_s", c.number, low=0.0, prefix="writer.")
    if "weights" in data:
        w = c.obj(data["weights"], "weights")
        for key in ("sha256", "previous_sha256"):
            value = w.get(key)
            if value is not None and not (isinstance(value, str) and SHA256.match(value)):
                raise c.fail(f"weights.{key}", f"must be 64 hex digits (SHA-256), got {_type_name(value)}")
    return data


def _check_dataset(c: _Checker, value: Any) -> None:
    if value is None:
        raise c.fail("dataset", "must be an object (name, fingerprint, spec), got null: "
                     "this run does not say which dataset it was trained on")
    d = c.obj(value, "dataset")
    for key in ("name", "source", "fingerprint"):
        c.optional(d, key, c.text, prefix="dataset.")
    for key in ("users", "items", "ratings"):
        c.optional(d, key, c.integer, 0, prefix="dataset.")
    spec = d.get("spec")
    if spec is None or isinstance(spec, str):
        return
    c.obj(spec, "dataset.spec")
    if "kind" not in spec:
        raise c.fail("dataset.spec.kind", "is missing")
    c.text(spec["kind"], "dataset.spec.kind", empty=False)
    for key in ("path", "name"):
        c.optional(spec, key, c.text, prefix="dataset.spec.")
    for key in ("mapping", "synthetic"):
        c.optional(spec, key, c.obj, prefix="dataset.spec.")


def _split_fields() -> dict[str, Any]:
    from .split import SplitConfig

    return {f.name: f for f in dataclasses.fields(SplitConfig)}


def _check_split(c: _Checker, value: Any) -> None:
    s = c.obj(value, "split")
    fields = _split_fields()
    unknown = sorted(set(s) - set(fields))
    if unknown:
        raise c.fail(f"split.{unknown[0]}", f"is not a split setting (valid: {', '.join(fields)})")
    for key in ("val_fraction", "test_fraction"):
        if key in s:
            v = c.number(s[key], f"split.{key}")
            if not 0 <= v < 1:
                raise c.fail(f"split.{key}", f"must be in [0, 1), got {v:g}")
    if s.get("val_fraction", 0) + s.get("test_fraction", 0) >= 1:
        raise c.fail("split.test_fraction", "plus split.val_fraction must be below 1")
    for key in ("query_size", "max_support"):
        if key in s:
            c.integer(s[key], f"split.{key}", 1)
    for key in ("min_ratings", "max_ratings"):
        c.optional(s, key, c.integer, 1, prefix="split.")
    c.optional(s, "seed", c.integer, 0, prefix="split.")
    for key, value in s.items():  # fields added later (by core.split): at least finite scalars
        c._scalar(value, f"split.{key}")
    try:
        from .split import SplitConfig

        SplitConfig(**s)
    except (TypeError, ValueError) as exc:
        raise c.fail("split", f"is not a valid split ({exc})") from None


def validate_summary(data: Any, file: Path | str = "summary.json") -> dict[str, Any]:
    """Check a parsed ``summary.json``; return it unchanged or raise :class:`RunError`."""
    c = _Checker(file)
    c.obj(data, "")
    if "status" not in data:
        raise c.fail("status", "is missing")
    if data["status"] not in STATUSES:
        raise c.fail("status", f"must be one of {', '.join(STATUSES)}, got {_type_name(data['status'])}")
    for key in ("algorithm", "title", "error", "run_dir", "failure", "monitor", "interrupted_by"):
        c.optional(data, key, c.text)
    for key in ("steps", "epochs"):
        c.optional(data, key, c.integer, 0)
    c.optional(data, "best_epoch", c.integer, 0)
    for key in ("wall_time", "tasks_per_s"):
        c.optional(data, key, c.number, low=0.0)
    c.optional(data, "final_loss", c.number, finite=False)
    for key in ("validation", "best_validation"):
        if data.get(key) is not None:
            _metrics(c, data[key], key)
    if data.get("test") is not None:
        test = c.obj(data["test"], "test")
        for k, table in test.items():
            if not str(k).isdigit():
                raise c.fail(f"test.{k}", "must be keyed by a support size K (a whole number)")
            _metrics(c, table, f"test.{k}")
    sha = data.get("weights_sha256")
    if sha is not None and not (isinstance(sha, str) and SHA256.match(sha)):
        raise c.fail("weights_sha256", f"must be 64 hex digits (SHA-256), got {_type_name(sha)}")
    return data


def _metrics(c: _Checker, value: Any, field: str) -> None:
    c.obj(value, field)
    for name, v in value.items():
        if v is not None:
            c.number(v, f"{field}.{name}", finite=False)


def unknown_keys(data: dict[str, Any], kind: str = "config") -> list[str]:
    """Top-level keys this version does not know (tolerated; shown as a note)."""
    known = CONFIG_KEYS if kind == "config" else SUMMARY_KEYS
    return sorted(k for k in data if k not in known)


def validate_weights(state: Any, file: Path | str = "weights.pt") -> dict[str, Any]:
    """A weights file holds a flat mapping of names to finite tensors, nothing else."""
    import torch

    c = _Checker(file)
    if not isinstance(state, dict):
        raise RunError(f"{file}: must hold a mapping of tensor names to tensors, got {type(state).__name__}")
    if not state:
        raise RunError(f"{file}: holds no tensors")
    for name, value in state.items():
        if not isinstance(name, str):
            raise RunError(f"{file}: tensor names must be text, got {name!r}")
        if not isinstance(value, torch.Tensor):
            raise c.fail(name, f"must be a tensor, got {type(value).__name__}"
                         + (f" {value[:40]!r}" if isinstance(value, str) else ""))
        if (value.is_floating_point() or value.is_complex()) and value.numel():
            finite = torch.isfinite(value)
            if not bool(finite.all()):
                bad = int((~finite).sum())
                what = "all values are" if bad == value.numel() else f"{bad} of {value.numel()} values are"
                raise RunError(f"{file}: tensor '{name}' is not finite ({what} NaN or infinite); "
                               "these weights cannot be used (retrain the run)")
    return state


__all__ = [
    "RunError",
    "STATUSES",
    "unknown_keys",
    "validate_config",
    "validate_summary",
    "validate_weights",
]

"""The run folder itself (:class:`Run`): creating it, reading its metadata and status, and
writing its summary and evaluation cache. Weights, metrics.csv, liveness and atomic files
have modules of their own in this package; :class:`Run` is the one object over them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..run_schema import STATUSES, RunError, unknown_keys, validate_config, validate_summary
from .files import (
    TEMP_NAME,
    atomic_write_bytes,
    atomic_write_json,
    json_default,
    read_json,
    remove_stale_temp_files,
)
from .liveness import Liveness, heartbeat_age, writer_liveness, writer_record
from .metrics import METRIC_COLUMNS, MetricsTail, append_metric_rows
from .record import resolve_dataset_paths
from .weights import WEIGHTS_FILE, load_weights, save_weights

# Statuses a reader can see: the recorded ones, 'interrupted' (recorded 'running' but the
# writer is gone) and 'broken' (metadata that fails core.run_schema).
STATES = (*STATUSES, "interrupted", "broken")
RUN_FILES = ("config.json", "metrics.csv", "summary.json", "weights.pt", "evaluation.json")

log = logging.getLogger("core.runs")  # the package's one logger, named as before the split

_MISSING = object()


@dataclass
class Run:
    """A run folder. Cheap to construct: files are read when asked for."""

    path: Path

    def __post_init__(self) -> None:
        self.path = Path(self.path)

    # ------------------------------------------------------------ creation
    @classmethod
    def create(cls, folder: Path, config: dict[str, Any], *, overwrite: bool = False) -> Run:
        """Create a run folder and write its config with status 'running'.

        ``folder`` must be new or empty. A folder that already holds a run is refused unless
        ``overwrite`` (its run files are removed first; a run still being written is always
        refused). A non-empty folder that is not a run is refused unless ``overwrite``, and then
        only the run's own files are written beside what is there: nothing else is deleted."""
        folder = Path(folder)
        if folder.exists() and not folder.is_dir():
            raise RunError(f"{folder} is a file, not a folder; choose a folder for the run")
        if (folder / "config.json").exists():
            if not overwrite:
                raise RunError(f"{folder} already holds a run; choose another folder "
                               "(or overwrite it: --overwrite)")
            old = cls(folder)
            live = old.liveness()
            if live.state == "running":
                raise RunError(f"{folder} holds a run that is still being written ({live.reason}); "
                               "stop it before overwriting")
            for name in RUN_FILES:
                (folder / name).unlink(missing_ok=True)
            old.clean_stale_temp_files()
        elif folder.is_dir():
            others = sorted(p.name for p in folder.iterdir() if not TEMP_NAME.match(p.name))
            if others and not overwrite:
                more = f" and {len(others) - 1} more" if len(others) > 1 else ""
                raise RunError(
                    f"{folder} is not empty and is not a MetaRec run (it holds '{others[0]}'{more}); "
                    "choose a new or empty folder, or overwrite (--overwrite) to write the run "
                    "beside those files"
                )
        folder.mkdir(parents=True, exist_ok=True)
        run = cls(folder)
        record = {**config, "status": "running", "writer": writer_record()}
        record.pop("weights", None)
        if "dataset" in record:
            record["dataset"] = resolve_dataset_paths(record["dataset"])
        validate_config(json.loads(json.dumps(record, default=json_default)), folder / "config.json")
        atomic_write_json(folder / "config.json", record)
        atomic_write_bytes(folder / "metrics.csv", (",".join(METRIC_COLUMNS) + "\n").encode())
        run.clean_stale_temp_files()
        return run

    @classmethod
    def open(cls, path: str | Path) -> Run:
        path = Path(path)
        if not (path / "config.json").is_file():
            raise RunError(f"{path} is not a MetaRec run folder (no config.json)")
        return cls(path)

    # ------------------------------------------------------------ reading
    @property
    def name(self) -> str:
        return self.path.name

    @property
    def config(self) -> dict[str, Any]:
        """config.json, checked by core.run_schema (RunError naming the file and field)."""
        file = self.path / "config.json"
        data = self._read_json("config.json", _MISSING)
        if data is _MISSING:
            raise RunError(f"{file}: missing (this folder is not a complete MetaRec run)")
        return validate_config(data, file)

    @property
    def summary(self) -> dict[str, Any] | None:
        """summary.json (checked), or None while the run has not ended."""
        data = self._read_json("summary.json", _MISSING)
        return None if data is _MISSING else validate_summary(data, self.path / "summary.json")

    @property
    def broken(self) -> str | None:
        """Why this run's metadata cannot be used (None when config and summary are fine)."""
        try:
            _ = self.config, self.summary
        except RunError as exc:
            return str(exc)
        except OSError as exc:
            return f"{self.path}: cannot be read ({exc.strerror or exc})"
        return None

    @property
    def notes(self) -> list[str]:
        """Things a reader may want to show: unknown (ignored) keys of config and summary."""
        out = []
        try:
            for kind, data in (("config", self.config), ("summary", self.summary or {})):
                for key in unknown_keys(data, kind):
                    out.append(f"{kind}.json: unknown field '{key}' ignored")
        except RunError:
            pass
        return out

    @property
    def recorded_status(self) -> str:
        """The status the files say (a killed run stays 'running' here; see :attr:`status`)."""
        summary = self.summary
        if summary is not None:
            return summary["status"]
        return self.config.get("status", "running")

    @property
    def status(self) -> str:
        """What to show: finished / cancelled / failed / running (writer alive) / interrupted
        (writer gone) / broken (metadata refused by core.run_schema; see :attr:`broken`)."""
        if self.broken is not None:
            return "broken"
        try:
            recorded = self.recorded_status
        except (RunError, OSError):
            return "broken"
        if recorded != "running":
            return recorded
        return self.liveness().state

    @property
    def state(self) -> str:
        """Alias of :attr:`status`."""
        return self.status

    def heartbeat_age(self) -> float | None:
        """Seconds since the writer last wrote or touched metrics.csv / config.json / weights."""
        return heartbeat_age(self.path)

    def liveness(self) -> Liveness:
        """Whether a run recorded as running still has a live writer (see
        :func:`core.runs.liveness.writer_liveness`)."""
        try:
            recorded = self.recorded_status
            writer = self.config.get("writer") or {}
        except (RunError, OSError) as exc:
            return Liveness("broken", str(exc))
        if recorded != "running":
            return Liveness(recorded, f"the run ended: {recorded}")
        return writer_liveness(writer, self.heartbeat_age())

    @property
    def weights_path(self) -> Path:
        return self.path / WEIGHTS_FILE

    @property
    def has_weights(self) -> bool:
        return self.weights_path.is_file()

    def _read_json(self, name: str, missing: Any = None) -> Any:
        return read_json(self.path / name, missing)

    def read_metrics(self) -> pd.DataFrame:
        """metrics.csv as a DataFrame; a half-written last line (a live run) is ignored, and
        lines that are not metrics rows are skipped and counted in
        ``frame.attrs["skipped_lines"]``."""
        return MetricsTail(self).poll()

    # ------------------------------------------------------------ writing
    def append_metrics(self, rows: list[dict[str, Any]]) -> None:
        """Append whole lines (one write each batch) so a watcher never sees a split row."""
        append_metric_rows(self.path / "metrics.csv", rows)

    def touch(self) -> None:
        """The writer's heartbeat: bump metrics.csv's modification time (best effort)."""
        with contextlib.suppress(OSError):
            os.utime(self.path / "metrics.csv")

    def save_weights(self, state: dict[str, Any]) -> str:
        """Write weights atomically and record their SHA-256 in config.json; returns it
        (:func:`core.runs.weights.save_weights`)."""
        return save_weights(self.path, state)

    def weights_sha256(self) -> str | None:
        """The checksum recorded for weights.pt (None for runs saved before checksums)."""
        return (self.config.get("weights") or {}).get("sha256")

    def load_weights(self) -> dict[str, Any]:
        """The saved tensors, after checking the recorded SHA-256 and that every value is a
        finite tensor. Never executes pickled code."""
        if not self.has_weights:
            raise RunError(f"{self.path} has no weights yet (training has not saved any)")
        return load_weights(self.weights_path, lambda: self.config.get("weights") or {},
                            lambda: self.status == "running")

    def write_summary(self, summary: dict[str, Any]) -> None:
        atomic_write_json(self.path / "summary.json", summary)
        config = self._read_json("config.json") or {}
        config["status"] = summary.get("status", "finished")
        atomic_write_json(self.path / "config.json", config)

    def read_evaluation(self) -> dict[str, Any]:
        """The evaluation cache ({} when missing, unreadable or malformed: it is only a cache)."""
        try:
            data = self._read_json("evaluation.json")
        except RunError as exc:
            log.warning("ignoring the evaluation cache: %s", exc)
            return {}
        if data is not None and not isinstance(data, dict):
            log.warning("ignoring the evaluation cache %s: not a JSON object", self.path / "evaluation.json")
            return {}
        return data or {}

    def write_evaluation(self, evaluation: dict[str, Any]) -> bool:
        """Cache evaluation tables; best effort: a read-only run folder logs a warning and
        returns False instead of failing the evaluation that was just computed."""
        try:
            atomic_write_json(self.path / "evaluation.json", evaluation)
        except OSError as exc:
            log.warning("could not cache the evaluation in %s (%s); results are not saved",
                        self.path, exc.strerror or exc)
            return False
        return True

    def clean_stale_temp_files(self) -> list[Path]:
        """Remove temporary files of atomic writes whose writer died mid-write
        (:func:`core.runs.files.remove_stale_temp_files`); untagged ones only when this run
        has no live writer."""
        return remove_stale_temp_files(self.path, lambda: self.liveness().state == "running")

    def dataset_source(self) -> dict[str, Any] | str:
        """How to reload this run's dataset: the recorded spec (dict) or source string."""
        file = self.path / "config.json"
        data = self.config.get("dataset")
        if data is None:
            raise RunError(f"{file}: field 'dataset' is missing: this run does not say which "
                           "dataset it was trained on")
        source = data.get("spec") or data.get("source")
        if not source:
            raise RunError(f"{file}: field 'dataset.spec' (or 'dataset.source') is missing: "
                           "this run does not say how to reload its dataset")
        return source

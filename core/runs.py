"""Run directories: everything one training produced, readable by another process while it grows.

::

    RUN/config.json     algorithm, hyperparameters, train settings, dataset fingerprint, split,
                        versions, device, status, writer (pid, host), weights checksum
    RUN/metrics.csv     appended row by row during training (kind=step|epoch); its modification
                        time is the writer's heartbeat
    RUN/weights.pt      tensors only; written atomically, SHA-256 recorded in config.json,
                        loaded with weights_only=True
    RUN/summary.json    final metrics, wall time, tasks per second, status
    RUN/evaluation.json cached K-shot tables (core.evaluation; best effort)

What a file may contain is decided in one place, :mod:`core.run_schema`; every refusal is a
:class:`RunError` naming the file and the field. A run whose writer died (kill -9, power loss)
is recorded as ``running`` but read as ``interrupted`` (:meth:`Run.liveness`).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import logging
import os
import pickle
import platform
import re
import socket
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .run_schema import (
    STATUSES,
    RunError,
    unknown_keys,
    validate_config,
    validate_summary,
    validate_weights,
)

log = logging.getLogger(__name__)

METRIC_COLUMNS = [
    "kind", "step", "epoch", "wall_time", "loss", "tasks_per_s",
    "val_mae", "val_rmse", "val_ndcg3",
    "val_recall10", "val_recall20", "val_ndcg10", "val_ndcg20",
    "val_base_recall20", "val_base_ndcg20",
]
# Statuses a reader can see: the recorded ones, 'interrupted' (recorded 'running' but the
# writer is gone) and 'broken' (metadata that fails core.run_schema).
STATES = (*STATUSES, "interrupted", "broken")
RUN_FILES = ("config.json", "metrics.csv", "summary.json", "weights.pt", "evaluation.json")

HEARTBEAT_S = 30.0  # a live Trainer touches metrics.csv at least this often
STALE_AFTER_S = 300.0  # a writer silent this long (or longer than 5 heartbeats) is taken as dead

__all__ = [
    "HEARTBEAT_S", "METRIC_COLUMNS", "STALE_AFTER_S", "STATES", "STATUSES", "Heartbeat",
    "Liveness", "MetricsTail", "Run", "RunError", "atomic_write_bytes", "atomic_write_json",
    "check_dataset", "list_runs", "load_algorithm", "run_split", "versions",
]


# ------------------------------------------------------------------ processes and hosts
def _host() -> str:
    return socket.gethostname()


def _host_tag(host: str | None = None) -> str:
    return hashlib.sha1((host or _host()).encode("utf-8", "replace")).hexdigest()[:8]


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state letter, start time in clock ticks) from /proc on Linux; None elsewhere/unknown."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    try:
        fields = text[text.rindex(")") + 2:].split()
        return fields[0], int(fields[19])
    except (ValueError, IndexError):
        return None


def _pid_alive(pid: int, proc_start: int | None = None) -> bool | None:
    """Whether process ``pid`` on this host is alive (None: cannot tell on this platform)."""
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process on Windows
        return None
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, another account's
    except OSError:
        return False
    stat = _proc_stat(pid)
    if stat is not None:
        state, start = stat
        if state in ("Z", "X"):  # killed, not yet reaped by its parent
            return False
        if proc_start is not None and start != proc_start:
            return False  # the pid was reused by another process
    return True


def writer_record() -> dict[str, Any]:
    """Who writes a run: recorded in config.json so readers can tell a live run from a dead one."""
    stat = _proc_stat(os.getpid())
    return {
        "pid": os.getpid(),
        "host": _host(),
        "proc_start": stat[1] if stat else None,
        "heartbeat_s": HEARTBEAT_S,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


# ------------------------------------------------------------------ atomic files
def _umask() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    old = os.umask(0o022)  # no /proc: read it the classic way (restored at once)
    os.umask(old)
    return old


_MISSING = object()
_TEMP = re.compile(r"^\..+\.tmp$")
_TEMP_TAG = re.compile(r"\.p(\d+)h([0-9a-f]{8})\.")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, then rename: readers never see half a file.

    The file gets the permissions of any new file (0666 minus the umask), not mkstemp's 0600;
    the temporary name carries the writer's pid and host so a later reader can remove it
    when that writer died mid-write."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tag = f"p{os.getpid()}h{_host_tag()}"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{tag}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            if hasattr(os, "fchmod"):
                os.fchmod(f.fileno(), 0o666 & ~_umask())
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, default=_json_default) + "\n").encode())


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def versions() -> dict[str, str]:
    import numpy
    import torch

    from . import __version__

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


# ------------------------------------------------------------------ liveness
@dataclass(frozen=True)
class Liveness:
    """What a reader can tell about a run's writer.

    ``state`` is the status to show: a recorded final status, ``running`` (the writer is alive)
    or ``interrupted`` (recorded as running, but the writer died or went silent)."""

    state: str
    reason: str
    pid: int | None = None
    host: str | None = None
    heartbeat_age: float | None = None  # seconds since the writer last wrote or touched the run


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
            others = sorted(p.name for p in folder.iterdir() if not _TEMP.match(p.name))
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
        validate_config(json.loads(json.dumps(record, default=_json_default)), folder / "config.json")
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
        times = []
        for name in ("metrics.csv", "config.json", "weights.pt"):
            with contextlib.suppress(OSError):
                times.append((self.path / name).stat().st_mtime)
        return max(0.0, time.time() - max(times)) if times else None

    def liveness(self) -> Liveness:
        """Whether a run recorded as running still has a live writer.

        Same host: the recorded pid must be alive (and the same process: its start time is
        checked on Linux) and the heartbeat recent. Another host: the heartbeat must be recent
        (``STALE_AFTER_S``, or 5 heartbeat intervals if longer)."""
        try:
            recorded = self.recorded_status
            writer = self.config.get("writer") or {}
        except (RunError, OSError) as exc:
            return Liveness("broken", str(exc))
        if recorded != "running":
            return Liveness(recorded, f"the run ended: {recorded}")
        age = self.heartbeat_age()
        stale_after = max(STALE_AFTER_S, 5 * float(writer.get("heartbeat_s") or 0))
        pid, host = writer.get("pid"), writer.get("host")
        silent = age is None or age > stale_after
        age_text = "never" if age is None else f"{age:.0f} s ago"
        if pid is not None and host == _host():
            alive = _pid_alive(pid, writer.get("proc_start"))
            if alive is False:
                return Liveness("interrupted", f"its writer (pid {pid}) is gone: killed or "
                                f"crashed before writing a summary", pid, host, age)
            if silent:
                return Liveness("interrupted", f"its writer (pid {pid}) last wrote {age_text}",
                                pid, host, age)
            return Liveness("running", f"written by pid {pid}, last write {age_text}", pid, host, age)
        where = f"pid {pid} on {host}" if pid is not None else "an unknown writer"
        if silent:
            return Liveness("interrupted", f"no sign of life from {where} since {age_text}",
                            pid, host, age)
        return Liveness("running", f"written by {where}, last write {age_text}", pid, host, age)

    @property
    def weights_path(self) -> Path:
        return self.path / "weights.pt"

    @property
    def has_weights(self) -> bool:
        return self.weights_path.is_file()

    def _read_json(self, name: str, missing: Any = None) -> Any:
        file = self.path / name
        try:
            raw = file.read_bytes()
        except FileNotFoundError:
            return missing
        except PermissionError:
            raise RunError(f"{file}: cannot be read (permission denied); ask its owner to make "
                           "it readable (chmod a+r)") from None
        except IsADirectoryError:
            raise RunError(f"{file}: is a folder, not a file") from None
        except OSError as exc:
            raise RunError(f"{file}: cannot be read ({exc.strerror or exc})") from None
        try:
            return json.loads(raw)
        except UnicodeDecodeError:
            raise RunError(f"{file}: not valid JSON (binary or not UTF-8 text)") from None
        except (ValueError, RecursionError) as exc:
            raise RunError(f"{file}: not valid JSON ({exc})") from None

    def read_metrics(self) -> pd.DataFrame:
        """metrics.csv as a DataFrame; a half-written last line (a live run) is ignored, and
        lines that are not metrics rows are skipped and counted in
        ``frame.attrs["skipped_lines"]``."""
        return MetricsTail(self).poll()

    # ------------------------------------------------------------ writing
    def append_metrics(self, rows: list[dict[str, Any]]) -> None:
        """Append whole lines (one write each batch) so a watcher never sees a split row."""
        buf = io.StringIO()
        writer = csv.writer(buf)
        for row in rows:
            writer.writerow(["" if row.get(c) is None else row.get(c) for c in METRIC_COLUMNS])
        with open(self.path / "metrics.csv", "a", newline="") as f:
            f.write(buf.getvalue())
            f.flush()

    def touch(self) -> None:
        """The writer's heartbeat: bump metrics.csv's modification time (best effort)."""
        with contextlib.suppress(OSError):
            os.utime(self.path / "metrics.csv")

    def save_weights(self, state: dict[str, Any]) -> str:
        """Write weights atomically and record their SHA-256 in config.json; returns it.

        The checksum is recorded first (keeping the previous one), so a reader between the two
        writes, or after a crash between them, still finds the file it reads accepted."""
        import torch

        buf = io.BytesIO()
        torch.save(state, buf)
        data = buf.getvalue()
        digest = hashlib.sha256(data).hexdigest()
        config = self._read_json("config.json") or {}
        previous = (config.get("weights") or {}).get("sha256") if self.has_weights else None
        config["weights"] = {"file": self.weights_path.name, "sha256": digest,
                             "previous_sha256": previous, "bytes": len(data)}
        atomic_write_json(self.path / "config.json", config)
        atomic_write_bytes(self.weights_path, data)
        return digest

    def weights_sha256(self) -> str | None:
        """The checksum recorded for weights.pt (None for runs saved before checksums)."""
        return (self.config.get("weights") or {}).get("sha256")

    def load_weights(self) -> dict[str, Any]:
        """The saved tensors, after checking the recorded SHA-256 and that every value is a
        finite tensor. Never executes pickled code."""
        import torch

        file = self.weights_path
        if not self.has_weights:
            raise RunError(f"{self.path} has no weights yet (training has not saved any)")
        for _attempt in range(3):
            try:
                data = file.read_bytes()
            except PermissionError:
                raise RunError(f"{file}: cannot be read (permission denied)") from None
            except OSError as exc:
                raise RunError(f"{file}: cannot be read ({exc.strerror or exc})") from None
            digest = hashlib.sha256(data).hexdigest()
            record = self.config.get("weights") or {}
            expected = {record.get("sha256"), record.get("previous_sha256")} - {None}
            if not expected or digest in expected:
                break
            if self.status != "running":  # a live writer may be between its two writes: retry
                break
        if expected and digest not in expected:
            raise RunError(
                f"{file}: checksum mismatch: its SHA-256 is {digest[:12]}…, but config.json "
                f"(field 'weights.sha256') records {record.get('sha256', '?')[:12]}… — the file "
                "was changed or damaged after training saved it; retrain the run or restore the file"
            )
        try:
            state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as exc:
            found = re.search(r"GLOBAL ([\w.]+)", str(exc))
            what = f" (it refers to {found.group(1)})" if found else ""
            raise RunError(
                f"{file}: refused: it holds Python objects, not just tensors{what}. MetaRec "
                "loads weights as plain tensors and never runs code stored in a weights file"
            ) from None
        except Exception as exc:  # noqa: BLE001 - corrupt or foreign file: say so
            detail = "" if "weights_only" in str(exc) else f" ({str(exc).splitlines()[0][:200]})"
            raise RunError(f"{file}: cannot be read as weights: damaged or not a MetaRec "
                           f"weights file{detail}") from None
        return validate_weights(state, file)

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
        """Remove temporary files of atomic writes whose writer died mid-write.

        A temporary file is removed when its writer (pid and host in its name) is a process of
        this host that no longer runs, or when it is older than ``STALE_AFTER_S``; untagged ones
        (older versions) when the run has no live writer. Errors (read-only folder) are ignored."""
        removed: list[Path] = []
        try:
            temps = [p for p in self.path.iterdir() if _TEMP.match(p.name) and p.is_file()]
        except OSError:
            return removed
        if not temps:
            return removed
        here = _host_tag()
        run_live: bool | None = None
        for tmp in temps:
            try:
                age = time.time() - tmp.stat().st_mtime
            except OSError:
                continue
            tag = _TEMP_TAG.search(tmp.name)
            stale = age > STALE_AFTER_S
            if not stale and tag and tag.group(2) == here:
                stale = _pid_alive(int(tag.group(1))) is False
            elif not stale and not tag:
                if run_live is None:
                    run_live = self.liveness().state == "running"
                stale = not run_live
            if stale:
                try:
                    tmp.unlink()
                    removed.append(tmp)
                except OSError:
                    pass
        return removed

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


class Heartbeat:
    """While a writer lives, touch the run's metrics.csv every ``interval`` seconds from a daemon
    thread, so readers on another host can tell it is alive even in long silent phases
    (fitting, validation, pause). Use as a context manager."""

    def __init__(self, run: Run, interval: float = HEARTBEAT_S) -> None:
        self.run = run
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Heartbeat:
        if self._thread is None:
            self._thread = threading.Thread(target=self._beat, name="run-heartbeat", daemon=True)
            self._thread.start()
        return self

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            self.run.touch()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Heartbeat:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def list_runs(root: str | Path, include_broken: bool = True) -> list[Run]:
    """Run folders directly under ``root`` (newest first). Never raises for a bad folder.

    A folder counts as a run when it holds a config.json; runs whose metadata is refused are
    included (``run.broken`` says why, ``run.status == "broken"``) unless ``include_broken`` is
    False. Stale temporary files of interrupted writes are removed on the way."""
    root = Path(root)
    try:
        entries = list(root.iterdir())
    except OSError:
        return []
    runs: list[tuple[float, Run]] = []
    for folder in entries:
        try:
            if not (folder / "config.json").is_file():
                continue
            mtime = (folder / "config.json").stat().st_mtime
        except OSError:
            continue
        run = Run(folder)
        try:
            run.clean_stale_temp_files()
        except Exception as exc:  # noqa: BLE001 - listing must not fail on cleaning
            log.warning("could not clean %s: %s", folder, exc)
        if not include_broken and run.broken is not None:
            continue
        runs.append((mtime, run))
    runs.sort(key=lambda pair: pair[0], reverse=True)
    return [run for _, run in runs]


def check_dataset(run: Run, dataset) -> None:
    """Refuse a run trained on another dataset, saying which one it expects."""
    data = run.config.get("dataset") or {}  # no record (hand-made runs): nothing to compare
    expected = data.get("fingerprint")
    if expected and expected != dataset.fingerprint:
        raise RunError(
            f"run '{run.name}' was trained on '{data.get('name')}' "
            f"(fingerprint {expected}), but the loaded dataset is '{dataset.name}' "
            f"(fingerprint {dataset.fingerprint}); load the same dataset to use this run"
        )


def run_split(run: Run, dataset):
    """The cold-start split a run was trained with (its test users never reached training)."""
    from .split import SplitConfig, make_split

    return make_split(dataset, SplitConfig(**(run.config.get("split") or {})))


def load_algorithm(run: Run | str | Path, dataset, device: str = "cpu"):
    """Rebuild a run's algorithm with its weights, on ``dataset`` (which must match)."""
    from .algorithms import ALGORITHMS, create_algorithm
    from .config import ConfigError

    run = run if isinstance(run, Run) else Run.open(run)
    check_dataset(run, dataset)
    cfg = run.config
    file = run.path / "config.json"
    if cfg["algorithm"] not in ALGORITHMS:
        raise RunError(f"{file}: field 'algorithm': unknown algorithm '{cfg['algorithm']}' "
                       f"(this version knows {', '.join(ALGORITHMS)})")
    try:
        algorithm = create_algorithm(
            cfg["algorithm"], overrides=cfg.get("hyperparameters", {}), dataset=dataset, device=device
        )
    except ConfigError as exc:
        found = re.search(r"setting '(\w+)'", str(exc))
        field = f"hyperparameters.{found.group(1)}" if found else "hyperparameters"
        raise RunError(f"{file}: field '{field}': {exc}") from None
    state = run.load_weights()
    try:
        algorithm.load_state_dict(state)
    except (KeyError, RuntimeError, ValueError, TypeError, IndexError) as exc:
        raise RunError(f"{run.weights_path}: weights do not fit this algorithm ({exc})") from None
    return algorithm


# ------------------------------------------------------------------ metrics
_NAN_WORDS = {"nan", "-nan", "+nan", "inf", "-inf", "+inf", "infinity", "-infinity", "+infinity"}


def _parse_metric_lines(lines: list[str], columns: list[str]) -> tuple[pd.DataFrame, int]:
    """Complete lines -> (frame with METRIC_COLUMNS (+ extra header columns), bad line count)."""
    out_cols = list(METRIC_COLUMNS) + [c for c in columns if c not in METRIC_COLUMNS]
    n = len(columns)
    good, bad = [], 0
    for ln in lines:
        if not ln.strip():
            continue
        if "\x00" in ln or '"' in ln or "\ufffd" in ln or ln.count(",") >= n:
            bad += 1
            continue
        good.append(ln)
    if not good:
        return pd.DataFrame({c: pd.Series(dtype=object if c == "kind" else float) for c in out_cols}), bad
    raw = pd.read_csv(io.StringIO("\n".join(good) + "\n"), header=None, names=columns, dtype=str,
                      keep_default_na=False, quoting=csv.QUOTE_NONE, skip_blank_lines=True)
    raw = raw.fillna("")
    frame = pd.DataFrame(index=raw.index)
    kind = raw["kind"].str.strip() if "kind" in raw else pd.Series("", index=raw.index)
    ok = kind.isin(["step", "epoch"]).to_numpy().copy()
    frame["kind"] = kind
    for col in out_cols[1:]:
        if col not in raw:
            frame[col] = np.nan
            continue
        text = raw[col].str.strip()
        num = pd.to_numeric(text, errors="coerce")
        ok &= ((text == "") | num.notna() | text.str.lower().isin(_NAN_WORDS)).to_numpy()
        frame[col] = num.astype(float)
    step = frame["step"].to_numpy(float)
    with np.errstate(invalid="ignore"):
        ok &= np.isfinite(step) & (step >= 0)
    epoch = frame["epoch"].to_numpy(float)
    ok &= np.isnan(epoch) | (np.isfinite(epoch) & (epoch >= 0))
    bad += int((~ok).sum())
    frame = frame[ok].reset_index(drop=True)
    return frame[out_cols], bad


class MetricsTail:
    """Follow a run's metrics.csv as another process appends to it (``tail -f`` for runs).

    ``poll()`` returns only the complete rows written since the last call; a half-written last
    line waits for its newline, and a file that shrank (a run restarted in the same folder) is
    read again from the top. Lines that are not metrics rows (garbage, a wrong kind, a
    non-numeric value, a missing step) are skipped and counted: ``skipped_lines`` (total so
    far) and ``frame.attrs["skipped_lines"]`` (in this poll).
    """

    def __init__(self, run: Run) -> None:
        self.run = run
        self._offset = 0
        self._rest = ""
        self._header_seen = False
        self._columns: list[str] = list(METRIC_COLUMNS)
        self.skipped_lines = 0

    def poll(self) -> pd.DataFrame:
        file = self.run.path / "metrics.csv"
        try:
            size = file.stat().st_size
            if size < self._offset:
                self._offset, self._rest, self._header_seen = 0, "", False
                self.skipped_lines = 0
            with open(file, encoding="utf-8", errors="replace", newline="") as f:
                f.seek(self._offset)
                chunk = f.read()
                self._offset = f.tell()
        except OSError:
            frame = pd.DataFrame(columns=METRIC_COLUMNS)
            frame.attrs["skipped_lines"] = 0
            return frame
        text = self._rest + chunk
        cut = max(text.rfind("\n"), text.rfind("\r")) + 1
        self._rest = text[cut:]
        lines = text[:cut].splitlines()
        bad = 0
        if not self._header_seen and lines:
            head = lines[0].lstrip("\ufeff").strip().split(",")
            if head and head[0] == "kind" and all(re.fullmatch(r"\w+", c) for c in head):
                self._columns = head
            else:
                self._columns = list(METRIC_COLUMNS)
                bad += 1  # a damaged header: rows are read with the current columns
            lines = lines[1:]
            self._header_seen = True
        frame, skipped = _parse_metric_lines(lines, self._columns)
        bad += skipped
        if bad:
            self.skipped_lines += bad
            log.debug("%s: skipped %d line(s) that are not metrics rows", file, bad)
        frame.attrs["skipped_lines"] = bad
        return frame


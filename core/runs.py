"""Run directories: everything one training produced, readable by another process while it grows.

::

    RUN/config.json     algorithm, hyperparameters, train settings, dataset fingerprint, split,
                        versions, device, status
    RUN/metrics.csv     appended row by row during training (kind=step|epoch)
    RUN/weights.pt      tensors only; written atomically, loaded with weights_only=True
    RUN/summary.json    final metrics, wall time, tasks per second, status
    RUN/evaluation.json cached K-shot tables (core.evaluation)
"""

from __future__ import annotations

import csv
import io
import json
import os
import platform
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

METRIC_COLUMNS = [
    "kind", "step", "epoch", "wall_time", "loss", "tasks_per_s",
    "val_mae", "val_rmse", "val_ndcg3",
]
STATUSES = ("running", "finished", "cancelled", "failed")


class RunError(RuntimeError):
    """A run folder is missing, incomplete, or belongs to a different dataset."""


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, then rename: readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
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


@dataclass
class Run:
    """A run folder. Cheap to construct: files are read when asked for."""

    path: Path

    # ------------------------------------------------------------ creation
    @classmethod
    def create(cls, folder: Path, config: dict[str, Any]) -> Run:
        """Create (or reuse an empty) run folder and write its config with status 'running'."""
        folder = Path(folder)
        if (folder / "config.json").exists():
            raise RunError(f"{folder} already holds a run; choose another folder")
        folder.mkdir(parents=True, exist_ok=True)
        run = cls(folder)
        atomic_write_json(folder / "config.json", {**config, "status": "running"})
        with open(folder / "metrics.csv", "w", newline="") as f:
            csv.writer(f).writerow(METRIC_COLUMNS)
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
        return self._read_json("config.json") or {}

    @property
    def summary(self) -> dict[str, Any] | None:
        return self._read_json("summary.json")

    @property
    def status(self) -> str:
        summary = self.summary
        if summary and summary.get("status") in STATUSES:
            return summary["status"]
        return self.config.get("status", "running")

    @property
    def weights_path(self) -> Path:
        return self.path / "weights.pt"

    @property
    def has_weights(self) -> bool:
        return self.weights_path.is_file()

    def _read_json(self, name: str) -> dict[str, Any] | None:
        file = self.path / name
        try:
            return json.loads(file.read_text())
        except FileNotFoundError:
            return None
        except json.JSONDecodeError as exc:
            raise RunError(f"{file}: not valid JSON ({exc})") from None

    def read_metrics(self) -> pd.DataFrame:
        """metrics.csv as a DataFrame; a half-written last line (a live run) is ignored."""
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

    def save_weights(self, state: dict[str, Any]) -> None:
        import torch

        buf = io.BytesIO()
        torch.save(state, buf)
        atomic_write_bytes(self.weights_path, buf.getvalue())

    def load_weights(self) -> dict[str, Any]:
        import torch

        if not self.has_weights:
            raise RunError(f"{self.path} has no weights yet (training has not saved any)")
        try:
            return torch.load(self.weights_path, map_location="cpu", weights_only=True)
        except Exception as exc:  # corrupt or foreign file: say so, never execute pickles
            raise RunError(f"{self.weights_path}: cannot be read as weights ({exc})") from None

    def write_summary(self, summary: dict[str, Any]) -> None:
        atomic_write_json(self.path / "summary.json", summary)
        config = self.config
        config["status"] = summary.get("status", "finished")
        atomic_write_json(self.path / "config.json", config)

    def read_evaluation(self) -> dict[str, Any]:
        return self._read_json("evaluation.json") or {}

    def write_evaluation(self, evaluation: dict[str, Any]) -> None:
        atomic_write_json(self.path / "evaluation.json", evaluation)


def list_runs(root: str | Path) -> list[Run]:
    """Run folders directly under ``root`` (newest first)."""
    root = Path(root)
    if not root.is_dir():
        return []
    runs = [Run(p) for p in root.iterdir() if (p / "config.json").is_file()]
    return sorted(runs, key=lambda r: (r.path / "config.json").stat().st_mtime, reverse=True)


def check_dataset(run: Run, dataset) -> None:
    """Refuse a run trained on another dataset, saying which one it expects."""
    cfg = run.config
    expected = cfg.get("dataset", {}).get("fingerprint")
    if expected and expected != dataset.fingerprint:
        raise RunError(
            f"run '{run.name}' was trained on '{cfg['dataset'].get('name')}' "
            f"(fingerprint {expected}), but the loaded dataset is '{dataset.name}' "
            f"(fingerprint {dataset.fingerprint}); load the same dataset to use this run"
        )


def run_split(run: Run, dataset):
    """The cold-start split a run was trained with (its test users never reached training)."""
    from .split import SplitConfig, make_split

    return make_split(dataset, SplitConfig(**(run.config.get("split") or {})))


def load_algorithm(run: Run | str | Path, dataset, device: str = "cpu"):
    """Rebuild a run's algorithm with its weights, on ``dataset`` (which must match)."""
    from .algorithms import create_algorithm

    run = run if isinstance(run, Run) else Run.open(run)
    check_dataset(run, dataset)
    cfg = run.config
    algorithm = create_algorithm(
        cfg["algorithm"], overrides=cfg.get("hyperparameters", {}), dataset=dataset, device=device
    )
    state = run.load_weights()
    try:
        algorithm.load_state_dict(state)
    except (KeyError, RuntimeError) as exc:
        raise RunError(f"{run.weights_path}: weights do not fit this algorithm ({exc})") from None
    return algorithm


class MetricsTail:
    """Follow a run's metrics.csv as another process appends to it (``tail -f`` for runs).

    ``poll()`` returns only the complete rows written since the last call; a half-written last
    line waits for its newline, and a file that shrank (a run restarted in the same folder) is
    read again from the top.
    """

    def __init__(self, run: Run) -> None:
        self.run = run
        self._offset = 0
        self._rest = ""
        self._header_seen = False

    def poll(self) -> pd.DataFrame:
        file = self.run.path / "metrics.csv"
        try:
            size = file.stat().st_size
            if size < self._offset:
                self._offset, self._rest, self._header_seen = 0, "", False
            with open(file, encoding="utf-8", errors="replace") as f:
                f.seek(self._offset)
                chunk = f.read()
                self._offset = f.tell()
        except FileNotFoundError:
            return pd.DataFrame(columns=METRIC_COLUMNS)
        text = self._rest + chunk
        cut = text.rfind("\n") + 1
        self._rest = text[cut:]
        lines = text[:cut].splitlines()
        if not self._header_seen and lines:
            lines = lines[1:]
            self._header_seen = True
        good = [ln for ln in lines if ln.count(",") == len(METRIC_COLUMNS) - 1]
        frame = pd.read_csv(io.StringIO("\n".join([",".join(METRIC_COLUMNS), *good]) + "\n"))
        for col in METRIC_COLUMNS[1:]:
            frame[col] = pd.to_numeric(frame[col], errors="coerce")
        return frame

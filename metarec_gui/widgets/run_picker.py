"""Choosing a trained run: this session's runs first, then every run of the workspace.

Runs that cannot be used with the loaded dataset (trained on another dataset, no weights yet,
failed) stay listed but disabled, with the reason as tooltip and in the info line. A broken run
folder (config.json null, a list, binary; a malformed summary) is listed as broken, with why.

Run metadata is read through :func:`run_info`, which keeps what it read until the files'
modification times change: a refresh of the runs list costs a few ``stat`` calls, not a JSON
parse of every run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from core.algorithms import ALGORITHMS
from core.runs import Run, RunError, list_runs

PATH_ROLE = Qt.ItemDataRole.UserRole + 10
REASON_ROLE = Qt.ItemDataRole.UserRole + 11


@dataclass
class RunInfo:
    """What the app shows about a run folder; ``broken`` says why it cannot be read at all."""

    path: Path
    config: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    status: str = "unreadable"
    has_weights: bool = False
    broken: str = ""

    @property
    def name(self) -> str:
        return self.path.name


def _stamp(path: Path) -> tuple:
    out = []
    for name in ("config.json", "summary.json", "weights.pt"):
        try:
            st = os.stat(path / name)
            out.append((st.st_mtime_ns, st.st_size))
        except OSError:
            out.append(None)
    return tuple(out)


_INFO: dict[str, tuple[tuple, RunInfo]] = {}


def read_run_info(run: Run) -> RunInfo:
    """Read a run's config and summary; never raises (a bad folder comes back ``broken``)."""
    info = RunInfo(Path(run.path))
    try:
        config = run.config
        if not isinstance(config, dict):
            raise RunError(f"{run.path / 'config.json'}: holds {type(config).__name__}, "
                           "not an object")
        summary = run.summary
        if summary is not None and not isinstance(summary, dict):
            raise RunError(f"{run.path / 'summary.json'}: holds {type(summary).__name__}, "
                           "not an object")
        for key in ("dataset", "split", "hyperparameters", "train"):
            if config.get(key) is not None and not isinstance(config[key], dict):
                raise RunError(f"{run.path / 'config.json'}: field '{key}' is "
                               f"{type(config[key]).__name__}, not an object")
        if summary and summary.get("test") is not None and not isinstance(summary["test"], dict):
            raise RunError(f"{run.path / 'summary.json'}: field 'test' is not an object")
        info.config, info.summary = config, summary or {}
        info.status = str(run.status)
        info.has_weights = run.has_weights
    except Exception as exc:  # noqa: BLE001 - tampered, binary or foreign files: listed as broken
        info.config, info.summary, info.status = {}, {}, "broken"
        info.broken = str(exc) if isinstance(exc, RunError) else f"{type(exc).__name__}: {exc}"
    return info


def run_info(run: Run | str | Path) -> RunInfo:
    """:func:`read_run_info`, cached until the run's files change."""
    path = run.path if isinstance(run, Run) else Path(run)
    stamp = _stamp(path)
    hit = _INFO.get(str(path))
    if hit is not None and hit[0] == stamp:
        return hit[1]
    info = read_run_info(run if isinstance(run, Run) else Run(path))
    if info.status not in ("running",):  # a live run's status also depends on its heartbeat
        _INFO[str(path)] = (stamp, info)
    return info


def usable_reason(run: Run | RunInfo, dataset) -> str | None:  # noqa: ANN001
    """Why a run cannot be loaded with ``dataset`` (``None`` if it can)."""
    info = run if isinstance(run, RunInfo) else run_info(run)
    if info.broken:
        return f"broken run folder: {info.broken}"
    if dataset is None:
        return "no dataset is loaded"
    data = info.config.get("dataset") or {}
    expected = data.get("fingerprint")
    if expected and expected != dataset.fingerprint:
        return (f"run '{info.name}' was trained on '{data.get('name')}' (fingerprint {expected}), "
                f"but the loaded dataset is '{dataset.name}' (fingerprint {dataset.fingerprint}); "
                "load the same dataset to use this run")
    if not info.has_weights:
        return "still running: no weights saved yet" if info.status == "running" else "no weights saved"
    return None


def hyper_text(config: dict[str, Any], limit: int = 4) -> tuple[str, str]:
    """A short 'name=value' summary of hyperparameters and the full list for a tooltip."""
    hp = config.get("hyperparameters", {}) or {}
    train = config.get("train", {}) or {}
    pairs = [f"{k}={_short(v)}" for k, v in hp.items()]
    cls = ALGORITHMS.get(config.get("algorithm", ""))
    if cls is None or cls.trainable:  # closed-form baselines ignore the outer-loop settings
        for key in ("epochs", "meta_batch_size", "outer_lr"):
            if key in train:
                pairs.append(f"{key}={_short(train[key])}")
    short = ", ".join(pairs[:limit]) + (" …" if len(pairs) > limit else "")
    return short, "\n".join(pairs)


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def test_metrics(run: Run | RunInfo, k: int) -> dict[str, float]:
    """Test metrics at support size ``k`` recorded in the run's summary (empty if none)."""
    info = run if isinstance(run, RunInfo) else run_info(run)
    test = info.summary.get("test") or {}
    value = test.get(str(k), {}) if isinstance(test, dict) else {}
    return dict(value) if isinstance(value, dict) else {}


def run_label(run: Run | RunInfo) -> str:
    info = run if isinstance(run, RunInfo) else run_info(run)
    if info.broken:
        return f"{info.name} (broken)"
    cfg = info.config
    title = cfg.get("title") or cfg.get("algorithm", "?")
    return f"{title} — {info.name}"


def runs_frame(runs: list[Run], dataset, k: int = 10, session: set[Path] | None = None,
               baselines: frozenset[str] = frozenset()) -> pd.DataFrame:
    """One row per run with what the Compare table shows (read from config and summary);
    ``baselines``: paths of runs to mark as baselines (kind 'baseline')."""
    rows = []
    for run in runs:
        info = run_info(run)
        if info.broken:
            rows.append({"path": str(run.path), "name": run.name, "status": "broken",
                         "algorithm": "(broken)", "kind": "broken",
                         "reason": f"broken run folder: {info.broken}"})
            continue
        cfg = info.config
        short, full = hyper_text(cfg)
        metrics = test_metrics(info, k)
        data = cfg.get("dataset", {}) or {}
        baseline = str(run.path) in baselines
        title = str(cfg.get("title") or cfg.get("algorithm", ""))
        rows.append({
            "path": str(run.path),
            "name": run.name,
            "algorithm": f"{title} (baseline)" if baseline else title,
            "family": cfg.get("family", ""),
            "kind": "baseline" if baseline else "run",
            "hyper": short,
            "hyper_full": full,
            "dataset": data.get("name", ""),
            "device": cfg.get("device", ""),
            "wall_time": info.summary.get("wall_time"),
            "status": info.status,
            **{m: _number(metrics.get(m)) for m in METRIC_COLUMNS},
            "created": cfg.get("created", ""),
            "session": bool(session and run.path.resolve() in session),
            "reason": usable_reason(info, dataset) or "",
        })
    return pd.DataFrame(rows)


METRIC_COLUMNS = ("recall20", "ndcg20", "mae", "rmse", "ndcg3")


def _number(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def workspace_runs(state) -> list[Run]:
    """This session's runs (newest first), then the other runs of the workspace."""
    seen: set[Path] = set()
    out: list[Run] = []
    for path in reversed(state.session_runs):
        resolved = Path(path).resolve()
        if resolved not in seen and (resolved / "config.json").is_file():
            seen.add(resolved)
            out.append(Run(resolved))
    for run in list_runs(state.runs_dir()):
        resolved = run.path.resolve()
        if resolved not in seen:
            seen.add(resolved)
            out.append(Run(resolved))
    return out


class RunPicker(QWidget):
    """A combo box of runs; ``runSelected`` carries the chosen usable :class:`Run` or ``None``."""

    runSelected = Signal(object)

    def __init__(self, state, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.combo = QComboBox()
        self.combo.setMinimumContentsLength(28)
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setToolTip("A trained run: this session's runs first, then the workspace")
        self.model = QStandardItemModel(self)
        self.combo.setModel(self.model)
        self.refresh_button = QToolButton()
        self.refresh_button.setText("⟳")
        self.refresh_button.setToolTip("Re-read the workspace's runs")
        self.refresh_button.clicked.connect(self.refresh)
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.info.setStyleSheet("color: palette(placeholder-text);")
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.combo, 1)
        row.addWidget(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(row)
        layout.addWidget(self.info)
        self.combo.currentIndexChanged.connect(self._changed)
        state.runsChanged.connect(self.refresh)
        state.datasetChanged.connect(self.refresh)
        self.refresh()

    # ------------------------------------------------------------------ API
    def current_run(self) -> Run | None:
        index = self.combo.currentIndex()
        if index < 0:
            return None
        item = self.model.item(index)
        if item is None or item.data(PATH_ROLE) is None or not item.isEnabled():
            return None
        return Run(Path(item.data(PATH_ROLE)))

    def select_path(self, path: str | Path) -> bool:
        """Select the run at ``path`` if it is listed and usable."""
        target = str(Path(path).resolve())
        for row in range(self.model.rowCount()):
            item = self.model.item(row)
            if item.data(PATH_ROLE) == target and item.isEnabled():
                self.combo.setCurrentIndex(row)
                return True
        return False

    def refresh(self) -> None:
        """Re-list the runs, keeping the current choice when it is still there."""
        current = self.current_run()
        self.combo.blockSignals(True)
        self.model.clear()
        session = {Path(p).resolve() for p in self.state.session_runs}
        runs = workspace_runs(self.state)
        placeholder = QStandardItem("Choose a trained run…" if runs else "No trained runs yet — train one on the Train page")
        placeholder.setEnabled(False)
        self.model.appendRow(placeholder)
        for run in runs:
            info = run_info(run)
            label = run_label(info)
            reason = usable_reason(info, self.state.dataset)
            tip = str(run.path)
            if run.path.resolve() in session:
                label, tip = "● " + label, tip + "\n● = trained in this session"
            item = QStandardItem(label if reason is None else f"{label}  (unavailable)")
            item.setData(str(run.path.resolve()), PATH_ROLE)
            item.setData(reason or "", REASON_ROLE)
            item.setToolTip(f"Unavailable: {reason}" if reason else tip)
            item.setEnabled(reason is None)
            self.model.appendRow(item)
        self.combo.setCurrentIndex(0)
        self.combo.blockSignals(False)
        kept = current is not None and self.select_path(current.path)
        self._update_info()
        if current is not None and not kept:
            self.runSelected.emit(None)

    # ------------------------------------------------------------------ internals
    def _changed(self, _index: int) -> None:
        self._update_info()
        self.runSelected.emit(self.current_run())

    def _update_info(self) -> None:
        run = self.current_run()
        total = self.model.rowCount() - 1
        disabled = sum(1 for r in range(1, self.model.rowCount()) if not self.model.item(r).isEnabled())
        if run is None:
            text = f"{total} run(s)"
            if disabled:
                text += f", {disabled} unavailable for the loaded dataset (hover for the reason)"
            self.info.setText(text)
            return
        info = run_info(run)
        metrics = test_metrics(info, 10)
        text = f"{info.config.get('algorithm', '')} · {info.status}"
        if metrics.get("recall20") is not None:
            text += f" · test Recall@20 (K=10) {metrics['recall20']:.3f}"
        elif metrics.get("mae") is not None:
            text += f" · test MAE@10 {metrics['mae']:.3f}"
        self.info.setText(text)

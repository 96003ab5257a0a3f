"""Choosing a trained run: this session's runs first, then every run of the workspace.

Runs that cannot be used with the loaded dataset (trained on another dataset, no weights yet,
failed) stay listed but disabled, with the reason as tooltip and in the info line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from core.algorithms import ALGORITHMS
from core.runs import Run, RunError, check_dataset, list_runs

PATH_ROLE = Qt.ItemDataRole.UserRole + 10
REASON_ROLE = Qt.ItemDataRole.UserRole + 11


def usable_reason(run: Run, dataset) -> str | None:
    """Why a run cannot be loaded with ``dataset`` (``None`` if it can)."""
    if dataset is None:
        return "no dataset is loaded"
    try:
        check_dataset(run, dataset)
    except RunError as exc:
        return str(exc)
    if not run.has_weights:
        return "still running: no weights saved yet" if run.status == "running" else "no weights saved"
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


def test_metrics(run: Run, k: int) -> dict[str, float]:
    """Test metrics at support size ``k`` recorded in the run's summary (empty if none)."""
    summary = run.summary or {}
    return dict((summary.get("test") or {}).get(str(k), {}))


def run_label(run: Run) -> str:
    cfg = run.config
    title = cfg.get("title") or cfg.get("algorithm", "?")
    return f"{title} — {run.name}"


def runs_frame(runs: list[Run], dataset, k: int = 10, session: set[Path] | None = None) -> pd.DataFrame:
    """One row per run with what the Compare table shows (read from config and summary)."""
    rows = []
    for run in runs:
        try:
            cfg = run.config
            summary = run.summary or {}
            status = run.status
        except RunError as exc:
            rows.append({"path": str(run.path), "name": run.name, "status": "unreadable", "reason": str(exc)})
            continue
        short, full = hyper_text(cfg)
        metrics = test_metrics(run, k)
        data = cfg.get("dataset", {}) or {}
        rows.append({
            "path": str(run.path),
            "name": run.name,
            "algorithm": cfg.get("title") or cfg.get("algorithm", ""),
            "family": cfg.get("family", ""),
            "hyper": short,
            "hyper_full": full,
            "dataset": data.get("name", ""),
            "device": cfg.get("device", ""),
            "wall_time": summary.get("wall_time"),
            "status": status,
            "mae": metrics.get("mae"),
            "rmse": metrics.get("rmse"),
            "ndcg3": metrics.get("ndcg3"),
            "created": cfg.get("created", ""),
            "session": bool(session and run.path.resolve() in session),
            "reason": usable_reason(run, dataset) or "",
        })
    return pd.DataFrame(rows)


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
            try:
                label = run_label(run)
                reason = usable_reason(run, self.state.dataset)
            except RunError as exc:
                label, reason = run.name, str(exc)
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
        metrics = test_metrics(run, 10)
        text = f"{run.config.get('algorithm', '')} · {run.status}"
        if metrics.get("mae") is not None:
            text += f" · test MAE@10 {metrics['mae']:.3f}"
        self.info.setText(text)

"""The Compare page's K-shot tab: metrics against the support size K for the selected runs and
the closed-form baselines, computed by ``core.workflows`` in the background (progress, cancel)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core import workflows
from core.evaluation import CURVE_KS
from core.runs import Run, run_label

from ...theme import run_color, run_color_index
from ...widgets.kshot_chart import MARKERS, KShotChart
from ...workers import Background


class KShotPanel(QWidget):
    """Compute button, baselines tick, progress, cancel, export; the chart below."""

    shown = Signal()  # the curves of the latest request are on the chart
    baselinesFitted = Signal()  # new baseline runs were written (the runs table re-reads)

    def __init__(self, state: Any, background: Background, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.background = background
        self.splits = workflows.SplitCache()
        self.cache: dict[tuple, pd.DataFrame] = {}  # (run path, dataset fingerprint) -> table
        self.button = QPushButton("Compute K-shot curves")
        self.button.setToolTip("Evaluate the selected runs on the test users for K = 1, 2, 5, 10, 20 "
                               "(cached in each run folder: a second request is instant)")
        self.baselines_check = QCheckBox("With closed-form baselines")
        self.baselines_check.setChecked(True)
        self.baselines_check.setToolTip(
            "Add " + ", ".join(workflows.closed_form_baselines()) + " (dashed, '(baseline)'). "
            "Missing ones are fitted once (seconds) into the workspace's baselines folder.")
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.progress.setMaximumWidth(260)
        self.status = QLabel()
        self.status.setObjectName("muted")
        self.status.setWordWrap(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.export_button = QPushButton("Export chart…")
        self.export_csv_button = QPushButton("Export data…")
        row = QHBoxLayout()
        for w in (self.button, self.baselines_check, self.progress, self.cancel_button):
            row.addWidget(w)
        row.addWidget(self.status, 1)
        row.addWidget(self.export_button)
        row.addWidget(self.export_csv_button)
        self.chart = KShotChart()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 6, 4, 4)
        layout.addLayout(row)
        layout.addWidget(self.chart, 1)
        self._update_exports()

    # ------------------------------------------------------------------ API
    def busy(self) -> bool:
        return self.background.busy("kshot")

    def compute(self, usable: list[str], skipped: list[str]) -> None:
        """K-shot curves of the runs at ``usable`` (+ baselines): memory cache, then each run's
        own cache, then a background evaluation with progress."""
        dataset, split = self.state.dataset, self.state.split
        if dataset is None or split is None:
            self.status.setText("Load a dataset first.")
            return
        with_baselines = self.baselines_check.isChecked()
        if not usable and not with_baselines:
            self.status.setText("Select at least one run trained on the loaded dataset.")
            return
        runs = [Run(Path(p)) for p in usable]
        ks = [k for k in CURVE_KS if k <= split.config.max_support]
        device, workspace, spec = self.state.device, self.state.workspace, self.state.dataset_spec_dict
        splits = self.splits
        splits.put(dataset, split)

        def work(report, token) -> tuple[dict[str, pd.DataFrame], list[Run]]:  # noqa: ANN001
            baselines: list[Run] = []
            if with_baselines:
                fitted = workflows.ensure_baselines(
                    workspace, dataset, split, device=device, dataset_spec=spec, cancel=token,
                    progress=lambda d, t, s: report((d, t, s)))
                baselines = list(fitted.values())
            tables = workflows.kshot_tables(
                runs + baselines, dataset, split=split, ks=ks, device=device, splits=splits,
                cancel=token, progress=lambda d, t, s: report((d, t, s)))
            return tables, baselines

        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.button.setEnabled(False)
        self.chart.set_hint_visible(False)
        self.status.setText("Evaluating…")
        self.state.begin_job("compare-kshot", "K-shot evaluation")
        self.background.submit("kshot", work, lambda result: self._done(runs, skipped, *result),
                               self._failed, on_progress=self._on_progress, with_token=True)

    def cancel(self) -> None:
        """Stop after the K value in progress; K values already computed stay cached."""
        self.background.cancel("kshot")
        self._end_busy()
        self.status.setText("Cancelled; finished evaluations are kept in the run folders.")

    def clear(self) -> None:
        self.cache.clear()
        self.splits.clear()
        self.chart.clear()
        self._update_exports()

    def drop_series_except(self, keep: set[str]) -> None:
        for key in self.chart.series_keys():
            if key not in keep and not workflows.is_baseline_run(key):
                self.chart.remove_series(key)
        self._update_exports()

    def recolor(self) -> None:
        for key in self.chart.series_keys():
            series = self.chart._series[key]
            self._set_series(key, series.label, series.frame, series.dashed)

    # ------------------------------------------------------------------ internals
    def _on_progress(self, value: tuple[int, int, str]) -> None:
        done, total, text = value
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        self.status.setText(text)
        self.state.update_job("compare-kshot", f"K-shot: {text}", done, total)

    def _done(self, runs: list[Run], skipped: list[str], tables: dict[str, pd.DataFrame],
              baselines: list[Run]) -> None:
        self._end_busy()
        keep = set(tables)
        for key in self.chart.series_keys():
            if key not in keep:
                self.chart.remove_series(key)
        for run in runs + baselines:
            frame = tables.get(str(run.path))
            if frame is None or frame.empty:
                continue
            cfg = run.config if isinstance(run.config, dict) else {}
            title = run_label(cfg, title=True) if cfg.get("algorithm") else run.name
            dashed = workflows.is_baseline_run(run)
            label = f"{title} (baseline)" if dashed else f"{title} · {run.name}"
            self._set_series(str(run.path), label, frame, dashed)
        self.baselinesFitted.emit()
        n = len(self.chart.series_keys())
        base = sum(1 for k in self.chart.series_keys() if workflows.is_baseline_run(k))
        note = (f" ({len(skipped)} selected run(s) skipped: trained on another dataset or "
                "without weights)") if skipped else ""
        self.status.setText(f"{n} curve(s) on the test users ({base} baseline(s), dashed); "
                            f"cached in each run folder{note}")
        self._update_exports()
        self.shown.emit()

    def _set_series(self, key: str, label: str, frame: pd.DataFrame, dashed: bool) -> None:
        slot = run_color_index(key)
        # a baseline gets a hollow marker of its own besides the dashes, so that e.g. a trained
        # bias run and the bias baseline never look alike
        marker = "x" if dashed else MARKERS[slot % len(MARKERS)]
        self.chart.set_series(key, label, run_color(key), frame, dashed=dashed, marker=marker)

    def _failed(self, exc: BaseException) -> None:
        self._end_busy()
        message = f"K-shot evaluation failed: {type(exc).__name__}: {exc}"
        self.status.setText(message)
        self.state.log(message, "error")

    def _end_busy(self) -> None:
        self.state.end_job("compare-kshot")
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        self.button.setEnabled(True)
        self.chart.set_hint_visible(True)

    def _update_exports(self) -> None:
        has = bool(self.chart.series_keys())
        self.export_button.setEnabled(has)
        self.export_csv_button.setEnabled(has)

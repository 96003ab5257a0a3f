"""Compare page: every run of the workspace in one sortable table, their training curves overlaid,
K-shot curves (MAE and nDCG@3 versus K) against the baselines, and the same profile's top-10
from up to three runs side by side.

Numbers come from ``core``: run summaries and metrics (core.runs), K-shot evaluation cached in
each run folder (core.evaluation.evaluate_run), recommendations (core.recommend).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from itertools import combinations
from pathlib import Path
from typing import Any

import pandas as pd
from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.algorithms import ALGORITHMS
from core.evaluation import CURVE_KS, evaluate_run
from core.profiles import ProfileError, list_profiles, load_profile
from core.recommend import Recommender, jaccard
from core.runs import Run, RunError, load_algorithm
from core.split import SplitConfig, make_split
from core.training import Trainer

from ..state import AppState
from ..theme import theme
from ..widgets.background import Background
from ..widgets.export import CHART_FILTER
from ..widgets.frame_model import (
    CENTER,
    NUMERIC,
    RESIZE_ROWS,
    ROW_ROLE,
    Column,
    FrameModel,
    FrameSortProxy,
    Row,
    export_view_csv,
    fmt_number,
)
from ..widgets.kshot_chart import MARKERS, KShotChart
from ..widgets.loss_plot import LossPlot
from ..widgets.recs_table import RecsTable
from ..widgets.run_picker import runs_frame, workspace_runs

SUMMARY_KS = (5, 10, 20)
MAX_SIDE_BY_SIDE = 3
LAST_PROFILE_KEY = "coldstart/last_profile"
CLOSED_FORM_BASELINES = tuple(name for name, cls in ALGORITHMS.items() if not cls.trainable)
SHARED_LIGHT = ("#fde2b3", "#c9e7f5", "#d7f0c8", "#f6d0e3", "#e2dcf7", "#f9f1b5", "#cfeee9", "#f7d6c8")
SHARED_DARK = ("#5c4a1e", "#1f4a5c", "#2f5226", "#5a2c42", "#3d355e", "#57521f", "#22524c", "#5a3627")


def _fmt_seconds(value: Any) -> str:
    if value is None or pd.isna(value):
        return "–"
    value = float(value)
    if value < 60:
        return f"{value:.1f} s"
    if value < 3600:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:.1f} h"


def split_key(config: dict[str, Any]) -> tuple:
    return tuple(sorted(config.items()))


class ComparePage(QWidget):
    """All runs side by side: table, curves, K-shot chart, and top-10 lists of a profile."""

    kshotShown = Signal()  # K-shot curves for the current request are on the chart
    topListsShown = Signal()  # the side-by-side top-10 lists are filled

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.background = Background(self, threads=1)
        self.kshot_cache: dict[tuple, pd.DataFrame] = {}  # (run path, split key) -> curve
        self.top_lists: list[tuple[Run, pd.DataFrame]] = []
        self._splits: dict[tuple, Any] = {}
        self._color_slots: dict[str, int] = {}  # run path -> palette index, fixed for the session
        self._colors: dict[str, QColor] = {}  # run path -> colour of its table swatch

        # ---- runs table
        self.k_combo = QComboBox()
        for k in SUMMARY_KS:
            self.k_combo.addItem(f"K = {k}", k)
        self.k_combo.setCurrentIndex(1)
        self.k_combo.setToolTip("Support size of the test metrics shown in the table")
        self.k_combo.currentIndexChanged.connect(self.refresh)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter runs…")
        self.filter.setClearButtonEnabled(True)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.export_table_button = QPushButton("Export table…")
        self.export_table_button.clicked.connect(self._export_table_clicked)
        self.count_label = QLabel()
        self.count_label.setStyleSheet("color: palette(placeholder-text);")
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Test metrics at"))
        bar.addWidget(self.k_combo)
        bar.addWidget(self.filter, 1)
        bar.addWidget(self.count_label)
        bar.addWidget(self.refresh_button)
        bar.addWidget(self.export_table_button)

        self.model = FrameModel(self._columns(), self)
        self.model.set_row_background(None)
        self.proxy = FrameSortProxy(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        header = self.table.horizontalHeader()
        header.setResizeContentsPrecision(RESIZE_ROWS)
        for i, col in enumerate(self.model.columns):
            header.setSectionResizeMode(
                i, QHeaderView.ResizeMode.Stretch if col.key == "hyper" else QHeaderView.ResizeMode.ResizeToContents
            )
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # workspace order: newest first
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.hint = QLabel("Select runs (Ctrl/Shift-click) to overlay their curves and compare them below.")
        self.hint.setStyleSheet("color: palette(placeholder-text);")

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addLayout(bar)
        top_layout.addWidget(self.table, 1)
        top_layout.addWidget(self.hint)

        # ---- tabs
        self.curves = LossPlot(title="Meta-training loss of the selected runs", color_index_of=self.color_slot)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.curves, "Training curves")
        self.tabs.addTab(self._build_kshot(), "K-shot curves")
        self.tabs.addTab(self._build_top_lists(), "Top-10 side by side")

        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(self.tabs)
        split.setChildrenCollapsible(False)
        split.setSizes([300, 560])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(split)

        state.runsChanged.connect(self.refresh)
        state.watcher.rowsArrived.connect(self._on_watch_rows)
        state.watcher.rowsReset.connect(self._on_watch_reset)
        state.watcher.labelChanged.connect(self._on_watch_label)
        state.datasetChanged.connect(self._on_dataset)
        state.splitChanged.connect(lambda _s: self._splits.clear())
        theme().changed.connect(self._recolor)
        self.refresh()
        self._refresh_profiles()

    # ================================================================== building
    def _columns(self) -> list[Column]:
        return [
            Column("swatch", "", lambda _v: "", CENTER, decoration=self._swatch_color,
                   header_tip="Colour of the run in the charts (selected runs and K-shot curves); kept for the session"),
            Column("name", "Run", tooltip=lambda r: r.get("path")),
            Column("algorithm", "Algorithm", tooltip=lambda r: r.get("family")),
            Column("hyper", "Key hyperparameters", tooltip=lambda r: r.get("hyper_full")),
            Column("dataset", "Dataset", tooltip=self._reason_tip, foreground=self._reason_color),
            Column("device", "Device"),
            Column("wall_time", "Wall time", _fmt_seconds, NUMERIC),
            Column("status", "Status", foreground=self._status_color),
            Column("mae", "MAE", fmt_number(3), NUMERIC, header_tip="Test MAE at the chosen K (lower is better)"),
            Column("rmse", "RMSE", fmt_number(3), NUMERIC, header_tip="Test RMSE at the chosen K"),
            Column("ndcg3", "nDCG@3", fmt_number(3), NUMERIC, header_tip="Test nDCG@3 at the chosen K (higher is better)"),
        ]

    def _build_kshot(self) -> QWidget:
        page = QWidget()
        self.kshot_button = QPushButton("Compute K-shot curves")
        self.kshot_button.setToolTip(
            "Evaluate the selected runs on the test users for K = 1, 2, 5, 10, 20 "
            "(cached in each run folder: a second request is instant)"
        )
        self.kshot_button.clicked.connect(self.compute_kshot)
        self.baselines_check = QCheckBox("With closed-form baselines")
        self.baselines_check.setChecked(True)
        self.baselines_check.setToolTip(
            "Add " + ", ".join(CLOSED_FORM_BASELINES) + " (dashed). Missing ones are fitted once "
            "(seconds) and saved as runs in the workspace."
        )
        self.kshot_progress = QProgressBar()
        self.kshot_progress.setVisible(False)
        self.kshot_progress.setMaximumWidth(260)
        self.kshot_status = QLabel()
        self.kshot_status.setStyleSheet("color: palette(placeholder-text);")
        self.kshot_cancel = QPushButton("Cancel")
        self.kshot_cancel.setVisible(False)
        self.kshot_cancel.clicked.connect(self.cancel_kshot)
        self.kshot_export = QPushButton("Export chart…")
        self.kshot_export.clicked.connect(self._export_kshot_clicked)
        self.kshot_export_csv = QPushButton("Export data…")
        self.kshot_export_csv.clicked.connect(self._export_kshot_csv_clicked)
        row = QHBoxLayout()
        row.addWidget(self.kshot_button)
        row.addWidget(self.baselines_check)
        row.addWidget(self.kshot_progress)
        row.addWidget(self.kshot_cancel)
        row.addWidget(self.kshot_status, 1)
        row.addWidget(self.kshot_export)
        row.addWidget(self.kshot_export_csv)
        self.kshot = KShotChart()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(4, 6, 4, 4)
        layout.addLayout(row)
        layout.addWidget(self.kshot, 1)
        return page

    def _build_top_lists(self) -> QWidget:
        page = QWidget()
        self.profile_combo = QComboBox()
        self.profile_combo.setMinimumContentsLength(18)
        self.profile_combo.setToolTip("A saved cold-start profile (Cold-start page) of the loaded dataset")
        self.top_button = QPushButton("Show top-10")
        self.top_button.setToolTip(f"Adapt up to {MAX_SIDE_BY_SIDE} selected runs to the profile's ratings")
        self.top_button.clicked.connect(self.compute_top_lists)
        self.top_export = QPushButton("Export lists…")
        self.top_export.clicked.connect(self._export_top_clicked)
        self.overlap_label = QLabel()
        self.overlap_label.setTextFormat(Qt.TextFormat.RichText)
        self.overlap_label.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(QLabel("Profile:"))
        row.addWidget(self.profile_combo)
        row.addWidget(self.top_button)
        row.addWidget(self.overlap_label, 1)
        row.addWidget(self.top_export)
        self.top_tables = [RecsTable("compact") for _ in range(MAX_SIDE_BY_SIDE)]
        tables = QHBoxLayout()
        for table in self.top_tables:
            tables.addWidget(table)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(4, 6, 4, 4)
        layout.addLayout(row)
        layout.addLayout(tables, 1)
        self._clear_top_lists("Select up to three runs and a profile, then press “Show top-10”.")
        return page

    # ================================================================== runs table
    def refresh(self) -> None:
        """Re-read the workspace's runs, keeping the selection."""
        selected = set(self.selected_paths())
        session = {Path(p).resolve() for p in self.state.session_runs}
        runs = workspace_runs(self.state)
        frame = runs_frame(runs, self.state.dataset, int(self.k_combo.currentData()), session)
        self.model.set_frame(frame)
        self.count_label.setText(f"{len(frame)} run(s)")
        selection = self.table.selectionModel()
        for row in range(self.proxy.rowCount()):
            if self.proxy.index(row, 0).data(ROW_ROLE)["path"] in selected:
                selection.select(
                    self.proxy.index(row, 0),
                    QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows,
                )
        self._sync_curves()
        self._refresh_profiles()

    def selected_paths(self) -> list[str]:
        """Paths of the selected runs, in table order."""
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self.proxy.index(r, 0).data(ROW_ROLE)["path"] for r in rows]

    def select_paths(self, paths: list[str | Path]) -> None:
        wanted = {str(Path(p).resolve()) for p in paths}
        selection = self.table.selectionModel()
        selection.clearSelection()
        for row in range(self.proxy.rowCount()):
            if self.proxy.index(row, 0).data(ROW_ROLE)["path"] in wanted:
                selection.select(
                    self.proxy.index(row, 0),
                    QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows,
                )

    def _row_of(self, path: str) -> pd.Series | None:
        frame = self.model.frame()
        if frame.empty:
            return None
        match = frame[frame["path"] == path]
        return None if match.empty else match.iloc[0]

    def _usable(self, path: str) -> bool:
        """Whether a listed run can be loaded with the current dataset."""
        row = self._row_of(path)
        return row is not None and not row.get("reason")

    def _selection_changed(self, *_args: Any) -> None:
        self._sync_curves()

    def _sync_curves(self) -> None:
        """Overlay the selected runs' loss and validation curves (one colour per run)."""
        selected = self.selected_paths()
        for key in self.curves.runs():
            if key not in selected:
                self.curves.remove_run(key)
        for path in selected:
            watch = self.state.watcher.get(path)
            if watch is not None:  # followed live: its rows so far, then rowsArrived
                watch.data().show(self.curves, path, self._curve_label(path))
                continue
            try:
                metrics = Run(Path(path)).read_metrics()
            except (OSError, RunError, ValueError) as exc:
                self.state.log(f"Compare: cannot read the metrics of {path}: {exc}", "warning")
                continue
            self.curves.set_metrics_frame(path, metrics, label=self._curve_label(path))
        self._update_swatches()
        n = len(selected)
        self.hint.setText(
            f"{n} run(s) selected: curves overlaid below; K-shot and top-10 use the selection."
            if n else "Select runs (Ctrl/Shift-click) to overlay their curves and compare them below."
        )

    def _curve_label(self, path: str) -> str:
        row = self._row_of(path)
        label = f"{row['algorithm']} · {row['name']}" if row is not None else Path(path).name
        watch = self.state.watcher.get(path)
        return f"{label} (watching)" if watch is not None and watch.polling else label

    def _on_watch_rows(self, path: str, chunk: Any) -> None:
        if self.curves.has_run(path):
            chunk.feed(self.curves, path)

    def _on_watch_label(self, path: str, _label: str) -> None:
        if self.curves.has_run(path):
            self.curves.set_label(path, self._curve_label(path))

    def _on_watch_reset(self, path: str) -> None:
        if self.curves.has_run(path):
            self._sync_curves()

    # ================================================================== colours
    def color_slot(self, path: str) -> int:
        """The palette index of a run: given on first use and kept for the session, so a run has
        one colour in the table swatch, the curve overlay, the K-shot chart and the top-10 titles,
        however often it is deselected and selected again."""
        if path not in self._color_slots:
            self._color_slots[path] = len(self._color_slots)
        return self._color_slots[path]

    def run_color(self, path: str) -> QColor:
        return theme().run_color(self.color_slot(path))

    def _update_swatches(self) -> None:
        """Swatches for the runs drawn in a chart: the selected runs and the K-shot series."""
        shown = [p for p in self.selected_paths() if self.curves.has_run(p)] + self.kshot.series_keys()
        self._colors = {path: self.run_color(path) for path in shown}
        self.model.set_row_background(None)  # repaint the colour swatches

    def _recolor(self) -> None:
        for key in self.kshot.series_keys():
            series = self.kshot._series[key]
            self._set_kshot_series(key, series.label, series.frame, series.dashed)
        self._update_swatches()

    def _set_kshot_series(self, key: str, label: str, frame: pd.DataFrame, dashed: bool) -> None:
        slot = self.color_slot(key)
        self.kshot.set_series(key, label, self.run_color(key), frame, dashed=dashed,
                              marker=MARKERS[slot % len(MARKERS)])

    def _swatch_color(self, row: Row) -> QIcon | None:
        color = self._colors.get(row.get("path"))
        return None if color is None else _swatch_icon(color.name())

    @staticmethod
    def _reason_tip(row: Row) -> str | None:
        return row.get("reason") or None

    @staticmethod
    def _reason_color(row: Row) -> QColor | None:
        return QColor(theme().muted()) if row.get("reason") else None

    @staticmethod
    def _status_color(row: Row) -> QColor | None:
        status = row.get("status")
        if status == "failed" or status == "unreadable":
            return QColor(theme().level_color("error"))
        if status in ("running", "cancelled"):
            return QColor(theme().level_color("warning"))
        return None

    def _on_dataset(self, _dataset) -> None:
        self._splits.clear()
        self.kshot.clear()
        self._clear_top_lists("Select up to three runs and a profile, then press “Show top-10”.")
        self.refresh()

    # ================================================================== K-shot
    def _split_for(self, run: Run):
        """The split a run was trained with (its test users never reached its training)."""
        config = run.config.get("split") or {}
        current = self.state.split
        if current is not None and (not config or config == current.config.to_dict()):
            return current
        key = split_key(config)
        if key not in self._splits:
            self._splits[key] = make_split(self.state.dataset, SplitConfig(**config))
        return self._splits[key]

    def compute_kshot(self) -> None:
        """K-shot curves of the selected runs (+ baselines): memory cache, then the run's cache,
        then a background evaluation with progress."""
        dataset = self.state.dataset
        if dataset is None or self.state.split is None:
            self.kshot_status.setText("Load a dataset first.")
            return
        usable, skipped = [], []
        for path in self.selected_paths():
            (usable if self._usable(path) else skipped).append(path)
        with_baselines = self.baselines_check.isChecked()
        if not usable and not with_baselines:
            self.kshot_status.setText("Select at least one run trained on the loaded dataset.")
            return
        ks = [k for k in CURVE_KS if k <= self.state.split.config.max_support]
        for key in self.kshot.series_keys():
            if key not in usable:
                self.kshot.remove_series(key)
        self._update_swatches()
        jobs = [(Run(Path(p)), False) for p in usable]
        todo = [(run, dashed) for run, dashed in jobs if self._cache_key(run) not in self.kshot_cache]
        if not todo and not with_baselines:
            self._show_kshot(jobs, skipped)
            return
        baseline_runs = self._baseline_runs() if with_baselines else {}
        missing = [name for name in CLOSED_FORM_BASELINES if with_baselines and name not in baseline_runs]
        device, runs_dir, split = self.state.device, self.state.runs_dir(), self.state.split

        def work() -> Iterator[tuple[int, int, str]]:
            fitted = dict(baseline_runs)
            total = len(missing) + len(jobs) + len(baseline_runs) + len(missing)
            done = 0
            for name in missing:
                yield done, total, f"fitting baseline {name}…"
                folder = _unique_folder(runs_dir, f"baseline-{name}")
                Trainer(name, dataset, split, run_dir=folder, train={"device": device, "final_test": True}).run()
                fitted[name] = Run(folder)
                done += 1
            curves: dict[str, pd.DataFrame] = {}
            for run in [r for r, _ in jobs] + list(fitted.values()):
                key = self._cache_key(run)
                if key in self.kshot_cache:
                    curves[str(run.path)] = self.kshot_cache[key]
                else:
                    yield done, total, f"evaluating {run.name}…"
                    table = evaluate_run(run, dataset, self._split_for(run), ks=ks, device=device)
                    curves[str(run.path)] = pd.DataFrame([{"k": k, **m} for k, m in table.items()])
                done += 1
            return curves, fitted

        self.kshot_progress.setRange(0, 0)
        self.kshot_progress.setVisible(True)
        self.kshot_cancel.setVisible(True)
        self.kshot_button.setEnabled(False)
        self.kshot_status.setText("Evaluating…")
        self.state.begin_job("compare-kshot", "K-shot evaluation")
        self.background.submit(
            "kshot",
            work,
            lambda result: self._kshot_done(jobs, skipped, *result),
            self._kshot_failed,
            on_progress=self._kshot_progress_step,
        )

    def cancel_kshot(self) -> None:
        """Stop after the evaluation in progress; K values already computed stay cached."""
        self.background.cancel("kshot")
        self._end_kshot_busy()
        self.kshot_status.setText("Cancelled; finished evaluations are kept in the run folders.")

    def _cache_key(self, run: Run) -> tuple:
        return (str(run.path), split_key(run.config.get("split") or {}), self.state.dataset.fingerprint)

    def _baseline_runs(self) -> dict[str, Run]:
        """Finished closed-form baseline runs of the workspace on this dataset and split."""
        found: dict[str, Run] = {}
        split_cfg = self.state.split.config.to_dict()
        for run in workspace_runs(self.state):
            try:
                cfg = run.config
                ok = (
                    cfg.get("algorithm") in CLOSED_FORM_BASELINES
                    and cfg.get("algorithm") not in found
                    and run.status == "finished"
                    and run.has_weights
                    and (cfg.get("dataset") or {}).get("fingerprint") == self.state.dataset.fingerprint
                    and (cfg.get("split") or {}) == split_cfg
                )
            except RunError:
                continue
            if ok:
                found[cfg["algorithm"]] = run
        return found

    def _kshot_progress_step(self, value: tuple[int, int, str]) -> None:
        done, total, text = value
        self.kshot_progress.setRange(0, max(1, total))
        self.kshot_progress.setValue(done)
        self.kshot_status.setText(text)
        self.state.update_job("compare-kshot", f"K-shot: {text}", done, total)

    def _kshot_done(self, jobs, skipped, curves: dict[str, pd.DataFrame], fitted: dict[str, Run]) -> None:
        for path, frame in curves.items():
            self.kshot_cache[self._cache_key(Run(Path(path)))] = frame
        self._end_kshot_busy()
        baselines = [(run, True) for run in fitted.values()]
        if any(str(r.path) not in self.model.frame().get("path", pd.Series(dtype=str)).tolist() for r, _ in baselines):
            self.refresh()
        self._show_kshot(jobs + baselines, skipped)

    def _show_kshot(self, jobs: list[tuple[Run, bool]], skipped: list[str]) -> None:
        keep = {str(run.path) for run, _ in jobs}
        for key in self.kshot.series_keys():
            if key not in keep:
                self.kshot.remove_series(key)
        for run, dashed in jobs:
            key = str(run.path)
            frame = self.kshot_cache.get(self._cache_key(run))
            if frame is None:
                continue
            cfg = run.config
            label = cfg.get("title") or cfg.get("algorithm", run.name)
            if not dashed:
                label = f"{label} · {run.name}"
            self._set_kshot_series(key, label, frame, dashed)
        self._update_swatches()
        note = f" ({len(skipped)} selected run(s) skipped: trained on another dataset or without weights)" if skipped else ""
        self.kshot_status.setText(
            f"{len(jobs)} curve(s) on the test users; dashed = baselines; cached in each run folder{note}"
        )
        self.kshotShown.emit()

    def _kshot_failed(self, exc: BaseException) -> None:
        self._end_kshot_busy()
        message = f"K-shot evaluation failed: {type(exc).__name__}: {exc}"
        self.kshot_status.setText(message)
        self.state.log(message, "error")

    def _end_kshot_busy(self) -> None:
        self.state.end_job("compare-kshot")
        self.kshot_progress.setVisible(False)
        self.kshot_cancel.setVisible(False)
        self.kshot_button.setEnabled(True)

    # ================================================================== top-10 side by side
    def _refresh_profiles(self) -> None:
        current = self.profile_combo.currentData()
        self.profile_combo.clear()
        dataset = self.state.dataset
        if dataset is None:
            return
        for path in list_profiles(self.state.profiles_dir()):
            try:
                profile = load_profile(path)
            except ProfileError as exc:
                self.state.log(f"Compare: skipping profile {path.name}: {exc}", "warning")
                continue
            if profile.dataset_fingerprint == dataset.fingerprint:
                self.profile_combo.addItem(f"{profile.name} ({len(profile.ratings)} ratings)", str(path))
        last = current or self.state.settings.value(LAST_PROFILE_KEY)
        index = self.profile_combo.findData(str(last)) if last else -1
        self.profile_combo.setCurrentIndex(max(0, index))
        self.top_button.setEnabled(self.profile_combo.count() > 0)
        if self.profile_combo.count() == 0:
            self.profile_combo.addItem("No saved profile for this dataset")
            self.profile_combo.setEnabled(False)
        else:
            self.profile_combo.setEnabled(True)

    def compute_top_lists(self) -> None:
        """Adapt up to three selected runs to the chosen profile and show their top-10."""
        dataset, path = self.state.dataset, self.profile_combo.currentData()
        if dataset is None or not path:
            self._clear_top_lists("Save a profile on the Cold-start page first.")
            return
        paths = [p for p in self.selected_paths() if self._usable(p)][:MAX_SIDE_BY_SIDE]
        if not paths:
            self._clear_top_lists("Select one to three runs trained on the loaded dataset.")
            return
        try:
            profile = load_profile(Path(path))
            ratings = profile.dense_ratings(dataset)
        except ProfileError as exc:
            self._clear_top_lists(str(exc))
            return
        device = self.state.device
        runs = [Run(Path(p)) for p in paths]
        splits = [self._split_for(run) for run in runs]

        def work() -> list[tuple[Run, pd.DataFrame]]:
            out = []
            for run, split in zip(runs, splits, strict=True):
                algorithm = load_algorithm(run, dataset, device=device)
                out.append((run, Recommender(algorithm, dataset, split).recommend(ratings, top=10).adapted))
            return out

        self.top_button.setEnabled(False)
        self.overlap_label.setText(f"Adapting {len(runs)} run(s) to '{profile.name}' ({len(ratings)} ratings)…")
        self.background.submit("top", work, lambda lists: self._show_top_lists(profile.name, lists), self._top_failed)

    def _show_top_lists(self, profile_name: str, lists: list[tuple[Run, pd.DataFrame]]) -> None:
        self.top_button.setEnabled(True)
        self.top_lists = list(lists)
        items = [[int(i) for i in frame["item"]] for _, frame in lists]
        counts: dict[int, int] = {}
        for its in items:
            for i in set(its):
                counts[i] = counts.get(i, 0) + 1
        shared = sorted((i for i, c in counts.items() if c > 1), key=lambda i: min(its.index(i) for its in items if i in its))
        palette = SHARED_DARK if theme().is_dark else SHARED_LIGHT
        colors = {item: QColor(palette[n % len(palette)]) for n, item in enumerate(shared)}
        for n, table in enumerate(self.top_tables):
            if n < len(lists):
                run, frame = lists[n]
                color = self.run_color(str(run.path))
                title = run.config.get("title") or run.config.get("algorithm", "")
                table.set_title(f"<span style='color:{color.name()}'>●</span> <b>{title}</b> · {run.name}", str(run.path))
                table.set_frame(frame)
                table.set_highlight(colors)
                table.setVisible(True)
            else:
                table.setVisible(n == 0)
                table.set_frame(None)
        pairs = list(combinations(range(len(lists)), 2))
        if pairs:
            parts = [
                f"{chr(65 + a)}–{chr(65 + b)} {jaccard(items[a], items[b]):.2f}" for a, b in pairs
            ]
            names = ", ".join(f"{chr(65 + n)} = {lists[n][0].name}" for n in range(len(lists)))
            mean = sum(jaccard(items[a], items[b]) for a, b in pairs) / len(pairs)
            self.overlap_label.setText(
                f"Profile <b>{profile_name}</b>: <b>Jaccard overlap {mean:.2f}</b> "
                f"({'; '.join(parts)}) · {len(shared)} item(s) in more than one list, shaded alike "
                f"<span style='color:{theme().muted()}'>({names})</span>"
            )
        else:
            self.overlap_label.setText(f"Profile <b>{profile_name}</b>: select two or three runs to compare their lists.")
        self.topListsShown.emit()

    def _top_failed(self, exc: BaseException) -> None:
        self.top_button.setEnabled(self.profile_combo.isEnabled())
        message = f"Top-10 failed: {type(exc).__name__}: {exc}"
        self.overlap_label.setText(message)
        self.state.log(message, "error")

    def _clear_top_lists(self, message: str) -> None:
        self.top_lists = []
        for n, table in enumerate(self.top_tables):
            table.set_frame(None)
            table.set_title("")
            table.setVisible(n == 0)
        self.overlap_label.setText(message)

    # ================================================================== export
    def _ask_path(self, title: str, name: str, filters: str) -> str:
        path, _ = QFileDialog.getSaveFileName(self, title, str(Path.home() / name), filters)
        return path

    def _export_table_clicked(self) -> None:
        path = self._ask_path("Export runs table", "runs.csv", "CSV (*.csv)")
        if path:
            self.export_table(path)

    def export_table(self, path: str | Path) -> None:
        """The runs table as shown (sorted and filtered) as CSV."""
        export_view_csv(self.proxy, path)

    def _export_kshot_clicked(self) -> None:
        path = self._ask_path("Export K-shot chart", "kshot.png", CHART_FILTER)
        if path:
            self.kshot.export(path)

    def _export_kshot_csv_clicked(self) -> None:
        path = self._ask_path("Export K-shot data", "kshot.csv", "CSV (*.csv)")
        if path:
            self.kshot.to_frame().to_csv(path, index=False)

    def _export_top_clicked(self) -> None:
        path = self._ask_path("Export top-10 lists", "top10.csv", "CSV (*.csv)")
        if path:
            self.export_top_lists(path)

    def export_top_lists(self, path: str | Path) -> None:
        """The side-by-side lists in long form (run, algorithm, rank, item, title, …) as CSV."""
        parts = [
            frame.assign(run=run.name, algorithm=run.config.get("algorithm", ""))
            for run, frame in self.top_lists
        ]
        frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["run", "rank", "title"])
        frame.to_csv(path, index=False)

    # ================================================================== lifetime
    def shutdown(self, timeout_ms: int = 10000) -> bool:
        """Stop background evaluation (window close); True if it ended in time."""
        return self.background.shutdown(timeout_ms)

    def closeEvent(self, event: Any) -> None:
        self.shutdown()
        super().closeEvent(event)


@lru_cache(maxsize=64)
def _swatch_icon(color: str) -> QIcon:
    """A filled circle with a white ring: visible on plain and on selected (highlighted) rows."""
    pixmap = QPixmap(14, 14)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QColor("white"))
    painter.setBrush(QColor(color))
    painter.drawEllipse(1, 1, 12, 12)
    painter.end()
    return QIcon(pixmap)


def _unique_folder(root: Path, stem: str) -> Path:
    """A new folder name under ``root`` (stem, stem-2, stem-3, …)."""
    folder, n = root / stem, 1
    while folder.exists():
        n += 1
        folder = root / f"{stem}-{n}"
    return folder


"""Compare page: every run of the workspace in one table (with the baselines of the loaded dataset
and split, marked as baselines), their training curves overlaid, K-shot curves, and the same
user's top-10 from up to three runs side by side.

The page only displays: K-shot tables, baselines and top-N lists come from ``core.workflows``,
run metadata from ``widgets.run_picker.run_info`` (re-read only when a run's files change).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFileDialog, QSplitter, QTabWidget, QVBoxLayout, QWidget

from core import workflows
from core.runs import Run, RunError

from ...state import AppState
from ...theme import run_color, run_color_index, theme
from ...widgets.export import CHART_FILTER
from ...widgets.frame_model import export_view_csv
from ...widgets.loss_plot import LossPlot
from ...widgets.run_picker import runs_frame, workspace_runs
from ...workers import Background
from .kshot import KShotPanel
from .runs_table import HINT, RunsTable
from .toplists import EMPTY, TopListsPanel


class ComparePage(QWidget):
    """All runs side by side: table, curves, K-shot chart, and top-10 lists of a user."""

    kshotShown = Signal()  # K-shot curves for the current request are on the chart
    topListsShown = Signal()  # the side-by-side top-10 lists are filled

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.background = Background(self)
        self.runs = RunsTable()
        self.runs.selectionChanged.connect(self._sync_curves)
        self.runs.refreshRequested.connect(self.refresh)
        self.runs.exportRequested.connect(self._export_table_clicked)

        self.curves = LossPlot(title="Meta-training loss of the selected runs",
                               color_index_of=run_color_index)
        self.kshot_panel = KShotPanel(state, self.background)
        self.kshot_panel.button.clicked.connect(self.compute_kshot)
        self.kshot_panel.export_button.clicked.connect(self._export_kshot_clicked)
        self.kshot_panel.export_csv_button.clicked.connect(self._export_kshot_csv_clicked)
        self.kshot_panel.shown.connect(self._on_kshot_shown)
        self.kshot_panel.baselinesFitted.connect(self.refresh)
        self.top = TopListsPanel(state, self.background)
        self.top.button.clicked.connect(self.compute_top_lists)
        self.top.export_button.clicked.connect(self._export_top_clicked)
        self.top.shown.connect(self.topListsShown)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.curves, "Training curves")
        self.tabs.addTab(self.kshot_panel, "K-shot curves")
        self.tabs.addTab(self.top, "Top-10 side by side")

        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.runs)
        split.addWidget(self.tabs)
        split.setChildrenCollapsible(False)
        split.setSizes([300, 560])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(split)

        # widgets by their former names (tests, scripts)
        self.table, self.model, self.proxy, self.filter = (
            self.runs.table, self.runs.model, self.runs.proxy, self.runs.filter)
        self.k_combo, self.hint = self.runs.k_combo, self.runs.hint
        self.kshot, self.kshot_button = self.kshot_panel.chart, self.kshot_panel.button
        self.baselines_check, self.kshot_status = self.kshot_panel.baselines_check, self.kshot_panel.status
        self.kshot_export = self.kshot_panel.export_button
        self.profile_combo, self.top_button = self.top.profile_combo, self.top.button
        self.top_tables, self.overlap_label = self.top.tables, self.top.overlap_label

        state.runsChanged.connect(self.refresh)
        state.splitChanged.connect(lambda _s: self.refresh())
        state.watcher.rowsArrived.connect(self._on_watch_rows)
        state.watcher.rowsReset.connect(self._on_watch_reset)
        state.watcher.labelChanged.connect(self._on_watch_label)
        state.datasetChanged.connect(self._on_dataset)
        state.profileChanged.connect(self.top.refresh_profiles)
        theme().changed.connect(self._recolor)
        self.refresh()
        self.top.refresh_profiles()

    @property
    def top_lists(self) -> list:
        return self.top.lists

    # ================================================================== runs table
    def refresh(self) -> None:
        """Re-list the workspace's runs (and the baselines), keeping the selection."""
        session = {Path(p).resolve() for p in self.state.session_runs}
        runs = workspace_runs(self.state)
        baselines: list[Run] = []
        if self.runs.show_baselines() and self.state.dataset is not None and self.state.split is not None:
            baselines = list(workflows.find_baselines(self.state.workspace, self.state.dataset,
                                                      self.state.split).values())
        frame = runs_frame(runs + baselines, self.state.dataset, self.runs.k(), session,
                           frozenset(str(r.path) for r in baselines))
        self.runs.set_frame(frame)
        self._sync_curves()
        self.top.refresh_profiles()

    def selected_paths(self) -> list[str]:
        return self.runs.selected_paths()

    def select_paths(self, paths: list[str | Path]) -> None:
        self.runs.select_paths(paths)

    def _usable(self, path: str) -> bool:
        return self.runs.usable(path)

    def _sync_curves(self) -> None:
        """Overlay the selected runs' loss and validation curves (one colour per run)."""
        selected = self.selected_paths()
        for key in self.curves.runs():
            if key not in selected:
                self.curves.remove_run(key)
        for path in selected:
            if path in self.curves.runs():
                continue
            watch = self.state.watcher.get(path)
            if watch is not None:  # followed live: its rows so far, then rowsArrived
                watch.data().show(self.curves, path, self._curve_label(path))
                continue
            if self.runs.row_of(path) is not None and self.runs.row_of(path).get("kind") == "broken":
                continue
            try:
                metrics = Run(Path(path)).read_metrics()
                self.curves.set_metrics_frame(path, metrics, label=self._curve_label(path))
            except (OSError, RunError, ValueError, KeyError) as exc:
                self.state.log(f"Compare: cannot read the metrics of {path}: {exc}", "warning")
        self._update_swatches()
        n = len(selected)
        self.runs.hint.setText(
            f"{n} run(s) selected: curves overlaid below; K-shot and top-10 use the selection."
            if n else HINT)

    def _curve_label(self, path: str) -> str:
        row = self.runs.row_of(path)
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
            self.curves.remove_run(path)
            self._sync_curves()

    def run_color(self, path: str):  # noqa: ANN201 - QColor
        return run_color(path)

    def _update_swatches(self) -> None:
        shown = [p for p in self.selected_paths() if self.curves.has_run(p)] + self.kshot.series_keys()
        self.runs.set_colors(shown)

    def _recolor(self) -> None:
        self.kshot_panel.recolor()
        self._update_swatches()

    def _on_dataset(self, _dataset: Any) -> None:
        self.kshot_panel.clear()
        self.top.clear(EMPTY)
        self.refresh()

    # ================================================================== K-shot / top-10
    def compute_kshot(self) -> None:
        usable, skipped = [], []
        for path in self.selected_paths():
            if self.runs.is_baseline(path):
                continue  # the baselines come with the tick box
            (usable if self._usable(path) else skipped).append(path)
        self.kshot_panel.drop_series_except(set(usable))
        self._update_swatches()
        self.kshot_panel.compute(usable, skipped)

    def cancel_kshot(self) -> None:
        self.kshot_panel.cancel()

    def _on_kshot_shown(self) -> None:
        self._update_swatches()
        self.kshotShown.emit()

    def compute_top_lists(self) -> None:
        self.top.compute([p for p in self.selected_paths() if self._usable(p)])

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
        self.top.export(path)

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        """Coming back to the page: the users list follows profiles saved meanwhile."""
        super().showEvent(event)
        self.top.refresh_profiles()

    # ================================================================== lifetime
    def shutdown(self, timeout_ms: int = 10000) -> bool:
        """Stop background evaluation (window close); True if it ended in time."""
        return self.background.shutdown(timeout_ms)

    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        self.shutdown()
        super().closeEvent(event)

"""The Compare page's runs table: every run of the workspace (and the baselines of the loaded
dataset + split, marked as such), sortable and filterable, one colour swatch per charted run.
A run's algorithm reads with the settings that differ from its defaults (core.runs.labels), so
two runs of one algorithm are told apart."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from core.runs.labels import run_label

from ...theme import run_color, theme
from ...widgets.frame_model import (
    CENTER,
    NUMERIC,
    RESIZE_ROWS,
    ROW_ROLE,
    Column,
    FrameModel,
    FrameSortProxy,
    Row,
    fmt_number,
)
from ...widgets.run_picker import run_info

SUMMARY_KS = (5, 10, 20)
HINT = "Select runs (Ctrl/Shift-click) to overlay their curves and compare them below."


def labelled(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with each run's algorithm as its label: the algorithm's title plus the settings
    that differ from its defaults (core.runs.labels), shortened with an ellipsis; the full label
    in ``algorithm_full`` (the tooltip). Rows whose config cannot be read keep their text."""
    if frame.empty or "path" not in frame.columns:
        return frame
    frame = frame.copy()
    shown = list(frame["algorithm"]) if "algorithm" in frame.columns else [""] * len(frame)
    full = list(shown)
    kinds = frame["kind"] if "kind" in frame.columns else pd.Series(["run"] * len(frame))
    for i, (path, kind) in enumerate(zip(frame["path"], kinds, strict=True)):
        if kind not in ("run", "baseline"):
            continue
        config = run_info(path).config
        if not config.get("algorithm"):
            continue
        mark = " (baseline)" if kind == "baseline" else ""
        shown[i] = run_label(config, title=True) + mark
        full[i] = run_label(config, title=True, limit=None) + mark
    frame["algorithm"] = shown
    frame["algorithm_full"] = full
    return frame


def algorithm_tooltip(row: Row) -> str | None:
    """The run's full label (when shortened in the cell) and the algorithm's family."""
    lines = [str(row.get(k)) for k in ("algorithm_full", "family") if row.get(k)]
    return "\n".join(lines) or None


class RunsProxy(FrameSortProxy):
    """The table's filter also matches a run's full label (the cell may show it shortened)."""

    def filterAcceptsRow(self, source_row: int, source_parent: Any) -> bool:  # noqa: N802 - Qt
        if super().filterAcceptsRow(source_row, source_parent):
            return True
        row = self.sourceModel().index(source_row, 0, source_parent).data(ROW_ROLE) or {}
        full = row.get("algorithm_full")
        return bool(full) and self.filterRegularExpression().match(str(full)).hasMatch()


def fmt_seconds(value: Any) -> str:
    if value is None or pd.isna(value):
        return "–"
    value = float(value)
    if value < 60:
        return f"{value:.1f} s"
    if value < 3600:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:.1f} h"


class RunsTable(QWidget):
    """Toolbar (K, filter, baselines, refresh, export) over the table of runs."""

    selectionChanged = Signal()
    refreshRequested = Signal()
    exportRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.colors: dict[str, QColor] = {}  # run path -> swatch colour (runs drawn in a chart)
        self.k_combo = QComboBox()
        for k in SUMMARY_KS:
            self.k_combo.addItem(f"K = {k}", k)
        self.k_combo.setCurrentIndex(1)
        self.k_combo.setToolTip("Support size of the test metrics shown in the table")
        self.k_combo.currentIndexChanged.connect(lambda _i: self.refreshRequested.emit())
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter runs…")
        self.filter.setClearButtonEnabled(True)
        self.baselines_check = QCheckBox("Baselines")
        self.baselines_check.setChecked(True)
        self.baselines_check.setToolTip(
            "List the closed-form baselines of the loaded dataset and split (fitted once, kept "
            "in the workspace's baselines folder, apart from your runs)")
        self.baselines_check.toggled.connect(lambda _on: self.refreshRequested.emit())
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("Re-read the workspace (runs also appear on their own)")
        self.refresh_button.clicked.connect(self.refreshRequested)
        self.export_button = QPushButton("Export table…")
        self.export_button.clicked.connect(self.exportRequested)
        self.count_label = QLabel()
        self.count_label.setObjectName("muted")
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Test metrics at"))
        bar.addWidget(self.k_combo)
        bar.addWidget(self.filter, 1)
        bar.addWidget(self.baselines_check)
        bar.addWidget(self.count_label)
        bar.addWidget(self.refresh_button)
        bar.addWidget(self.export_button)

        self.model = FrameModel(self._columns(), self)
        self.model.set_row_background(None)
        self.proxy = RunsProxy(self)
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
            header.setSectionResizeMode(i, QHeaderView.ResizeMode.Stretch if col.key == "hyper"
                                        else QHeaderView.ResizeMode.ResizeToContents)
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # workspace order: newest first
        self.table.selectionModel().selectionChanged.connect(lambda *_: self.selectionChanged.emit())
        self.hint = QLabel(HINT)
        self.hint.setObjectName("muted")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.hint)

    def k(self) -> int:
        return int(self.k_combo.currentData())

    def show_baselines(self) -> bool:
        return self.baselines_check.isChecked()

    # ------------------------------------------------------------------ rows
    def set_frame(self, frame: pd.DataFrame) -> None:
        """Show ``frame`` (widgets.run_picker.runs_frame), keeping the selection."""
        selected = set(self.selected_paths())
        frame = labelled(frame)
        self.model.set_frame(frame)
        runs = int((frame.get("kind", pd.Series(dtype=str)) == "run").sum()) if len(frame) else 0
        broken = int((frame.get("kind", pd.Series(dtype=str)) == "broken").sum()) if len(frame) else 0
        baselines = len(frame) - runs - broken
        text = f"{runs} run(s)"
        if baselines:
            text += f" + {baselines} baseline(s)"
        if broken:
            text += f", {broken} broken (hover for why)"
        self.count_label.setText(text)
        self.select_paths(selected, clear=False)

    def frame(self) -> pd.DataFrame:
        return self.model.frame()

    def row_of(self, path: str) -> pd.Series | None:
        frame = self.model.frame()
        if frame.empty:
            return None
        match = frame[frame["path"] == path]
        return None if match.empty else match.iloc[0]

    def usable(self, path: str) -> bool:
        row = self.row_of(path)
        return row is not None and not row.get("reason")

    def is_baseline(self, path: str) -> bool:
        row = self.row_of(path)
        return row is not None and row.get("kind") == "baseline"

    def selected_paths(self) -> list[str]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self.proxy.index(r, 0).data(ROW_ROLE)["path"] for r in rows]

    def select_paths(self, paths, clear: bool = True) -> None:  # noqa: ANN001
        wanted = {str(Path(p).resolve()) for p in paths} | {str(p) for p in paths}
        selection = self.table.selectionModel()
        if clear:
            selection.clearSelection()
        for row in range(self.proxy.rowCount()):
            if self.proxy.index(row, 0).data(ROW_ROLE)["path"] in wanted:
                selection.select(self.proxy.index(row, 0),
                                 QItemSelectionModel.SelectionFlag.Select
                                 | QItemSelectionModel.SelectionFlag.Rows)

    def set_colors(self, paths: list[str]) -> None:
        self.colors = {path: run_color(path) for path in paths}
        self.model.set_row_background(None)  # repaint the swatches

    # ------------------------------------------------------------------ columns
    def _columns(self) -> list[Column]:
        return [
            Column("swatch", "", lambda _v: "", CENTER, decoration=self._swatch,
                   header_tip="Colour of the run in every chart of the app"),
            Column("name", "Run", tooltip=lambda r: r.get("reason") or r.get("path"),
                   foreground=self._muted_if_baseline),
            Column("algorithm", "Algorithm", tooltip=algorithm_tooltip,
                   foreground=self._muted_if_baseline,
                   header_tip="The algorithm and its settings that differ from the defaults"),
            Column("hyper", "Key hyperparameters", tooltip=lambda r: r.get("hyper_full")),
            Column("dataset", "Dataset", tooltip=lambda r: r.get("reason") or None,
                   foreground=lambda r: QColor(theme().muted()) if r.get("reason") else None),
            Column("wall_time", "Wall time", fmt_seconds, NUMERIC),
            Column("status", "Status", foreground=self._status_color,
                   tooltip=lambda r: r.get("reason") or None),
            Column("recall20", "Recall@20", fmt_number(3), NUMERIC,
                   header_tip="Test Recall@20 at the chosen K (higher is better)"),
            Column("ndcg20", "nDCG@20", fmt_number(3), NUMERIC,
                   header_tip="Test nDCG@20 at the chosen K (higher is better)"),
            Column("mae", "MAE", fmt_number(3), NUMERIC,
                   header_tip="Test MAE at the chosen K (lower is better)"),
            Column("ndcg3", "nDCG@3", fmt_number(3), NUMERIC,
                   header_tip="Test nDCG@3 at the chosen K (higher is better)"),
        ]

    def _swatch(self, row: Row) -> QIcon | None:
        color = self.colors.get(row.get("path"))
        return None if color is None else swatch_icon(color.name())

    @staticmethod
    def _muted_if_baseline(row: Row) -> QColor | None:
        return QColor(theme().muted()) if row.get("kind") == "baseline" else None

    @staticmethod
    def _status_color(row: Row) -> QColor | None:
        status = row.get("status")
        if status in ("failed", "unreadable", "broken"):
            return QColor(theme().level_color("error"))
        if status in ("running", "cancelled", "interrupted"):
            return QColor(theme().level_color("warning"))
        return None


@lru_cache(maxsize=64)
def swatch_icon(color: str) -> QIcon:
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

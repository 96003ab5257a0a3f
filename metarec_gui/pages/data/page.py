"""Data page: choose a dataset source, load it off the GUI thread, see what it holds, set the split.

Loading runs ``core.data.load_dataset(spec)`` off the GUI thread together with what the page
shows (fingerprint, ``summary()``, plot statistics) and the cold-start split, so the GUI thread
only draws (``metarec_gui.data_load``). Files of ``isolate_min_bytes`` or more load in a child
process and are memory-mapped here: in a thread, the loader's long C calls hold the GIL and stall
the GUI. Cancel stops either kind of load. A failure shows the core's message (file, line,
column) and the previous dataset stays loaded.
"""

from __future__ import annotations

import time
import traceback
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from core.data import DEFAULT_BUILTIN, DatasetError, DatasetSpec
from core.data.isolated import ISOLATE_MIN_BYTES, should_isolate

from ...data_load import describe_for_display, load_for_display, load_isolated_for_display
from ...state import AppState
from ...theme import theme
from ...workers import Background, FunctionJob
from .sources import SourcePanel, describe_spec
from .split_panel import SplitPanel
from .summary import SummaryPanel

__all__ = ["DataPage", "describe_for_display", "load_for_display"]

# Between the stages of showing a loaded dataset: a real timer (not a posted call), long enough
# that input, other timers and the last stage's paint are handled in between.
STAGE_MS = 15


class DataPage(QWidget):
    """Choose, load and inspect a dataset; set the cold-start split."""

    loadFinished = Signal(bool)  # a load ended (its thread too): True = loaded, False = failed
    summaryShown = Signal()  # the summary of the current dataset is on screen

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.job: FunctionJob | None = None
        self.background = Background(self)
        self._pending_spec: DatasetSpec | None = None
        self._fallback_on_error = False
        self._fallback_pending = False
        self._outcome = False
        self._described: dict[int, dict[str, Any]] = {}  # id(dataset) -> summary + plot stats
        self.isolate_min_bytes = ISOLATE_MIN_BYTES  # files this large load in a child process
        self._label = ""
        self._plots_pending: dict[str, Any] | None = None  # plots of this still to show
        self._plot_steps: list = []
        self._install_pending: tuple | None = None  # a loaded dataset for the state, next turn
        self._ended_outcome: bool | None = None  # loadFinished's value, once all is shown

        self.sources = SourcePanel(state.prefs.start_dir)
        self.sources.errorMessage.connect(self._error)
        # the source widgets, for tests and scripts
        self.synthetic_form = self.sources.synthetic_form
        self.movielens_path = self.sources.movielens_path
        self.movielens_info = self.sources.movielens_info
        self.table_path = self.sources.table_path
        self.builtin_combo = self.sources.builtin_combo

        self.load_button = QPushButton("Load")
        self.load_button.setDefault(True)
        self.load_button.setToolTip("Load the chosen source (in the background)")
        self.load_button.clicked.connect(self.load_selected)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop loading; the current dataset stays loaded")
        self.cancel_button.clicked.connect(self.cancel_load)
        self.cancel_button.setVisible(False)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setMaximumHeight(12)
        self.busy.setTextVisible(False)
        self.busy.setVisible(False)
        self.load_status = QLabel()
        self.load_status.setObjectName("muted")
        self.load_status.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.load_button)
        row.addWidget(self.busy, 1)
        row.addWidget(self.cancel_button)
        self.sources.layout().addLayout(row)
        self.sources.layout().addWidget(self.load_status)

        self.split_panel = SplitPanel(state)
        self.split_form = self.split_panel.split_form
        self.split_message = self.split_panel.split_message
        self.counts_table = self.split_panel.counts_table

        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 6, 0)
        ll.addWidget(self.sources)
        ll.addWidget(self.split_panel)
        ll.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(340)
        scroll.setMaximumWidth(400)

        self.summary = SummaryPanel()
        self.title, self.cards, self.plots = self.summary.title, self.summary.cards, self.summary.plots
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.addWidget(scroll)
        layout.addWidget(self.summary, 1)

        state.datasetChanged.connect(self._on_dataset)
        theme().changed.connect(self.summary.restyle)
        self.summary.restyle()
        if state.dataset is not None:
            self._on_dataset(state.dataset)

    # ------------------------------------------------------------------ sources (public)
    def source(self) -> str:
        return self.sources.source()

    def set_source(self, key: str) -> None:
        self.sources.set_source(key)

    def show_spec(self, spec: DatasetSpec) -> None:
        self.sources.show_spec(spec)

    def open_path(self, path: str) -> bool:
        """File > Open dataset: choose ``path`` (MovieLens or a table) and load it."""
        self.sources.open_path(path)
        return self.load_selected()

    def current_spec(self) -> DatasetSpec | None:
        return self.sources.current_spec()

    # ------------------------------------------------------------------ loading
    @Slot()
    def load_selected(self) -> bool:
        spec = self.current_spec()
        return spec is not None and self.load(spec)

    def load(self, spec: DatasetSpec | str) -> bool:
        """Load in a worker thread; the previous dataset stays until this one succeeds.

        Returns False (and shows why) when ``spec`` is not a valid source or a load is running.
        """
        if self.job is not None:
            self.state.log("a dataset is already loading; wait for it to finish", "warning")
            return False
        self._install()  # (the last load's dataset, if it is still on its way)
        if not isinstance(spec, DatasetSpec):
            try:
                spec = DatasetSpec.parse(spec)
            except DatasetError as exc:
                self._on_load_failed(exc)
                return False
        label = self._label = describe_spec(spec)
        self._pending_spec = spec
        self._t0 = time.perf_counter()
        isolated = should_isolate(spec, self.isolate_min_bytes)
        self.job = FunctionJob(load_isolated_for_display if isolated else load_for_display, spec,
                               self.state.split_config, name="load-dataset", parent=self)
        self.job.progress.connect(self._on_progress)
        self.job.succeeded.connect(self._on_loaded)
        self.job.failed.connect(self._on_load_failed)
        self.job.ended.connect(self._on_job_ended)
        self.load_button.setEnabled(False)
        self.busy.setVisible(True)
        self.cancel_button.setVisible(True)
        self.cancel_button.setEnabled(True)
        self.load_status.setText(f"Loading {label}…")
        self.state.begin_job("load", f"Loading {label}")
        self.state.log(f"loading {label}")
        self.job.start()
        return True

    def load_last(self) -> bool:
        """Load the dataset of the last session (the built-in one on first launch)."""
        raw = self.state.prefs.dataset_spec
        spec: DatasetSpec | None = None
        if raw:
            try:
                spec = DatasetSpec.from_dict(raw)
            except (ValueError, KeyError, TypeError, DatasetError) as exc:
                self.state.log(f"last session's dataset cannot be restored ({exc}); "
                               "loading the built-in dataset", "warning")
        if spec is None:
            spec = DatasetSpec("builtin", name=DEFAULT_BUILTIN)
        self.show_spec(spec)
        self._fallback_on_error = spec.kind != "builtin"
        return self.load(spec)

    def is_loading(self) -> bool:
        """A load runs, or its dataset is not yet fully shown (``loadFinished`` still to come)."""
        return self.job is not None or self._install_pending is not None or (
            self._ended_outcome is not None)

    @Slot()
    def cancel_load(self) -> None:
        """Stop the running load (a child process is stopped at once); ``loadFinished(False)``
        follows, and the previous dataset stays."""
        if self.job is None or self.job.cancelled or self._install_pending is not None:
            return  # (nothing runs, or the dataset has arrived and is being shown)
        self.job.stop()
        self.cancel_button.setEnabled(False)
        self.load_status.setText("Cancelling…")
        self.state.log(f"loading {self._label} cancelled")

    @Slot(object)
    def _on_progress(self, text: object) -> None:
        if text and self.job is not None and not self.job.cancelled:
            self.load_status.setText(f"Loading {self._label}… ({text})")

    @Slot(object)
    def _on_loaded(self, result: dict[str, Any]) -> None:
        """Shown in three event-loop turns, so the GUI thread never does all at once (each
        costs 10-30 ms): the numbers; the state's new dataset (every page's handlers); the
        plots. ``loadFinished`` follows the last."""
        dataset = result["dataset"]
        seconds = time.perf_counter() - self._t0
        spec = self._pending_spec
        self._fallback_on_error = False
        prefs = self.state.prefs
        prefs.dataset_spec = spec.to_dict()
        if spec.path:
            from pathlib import Path

            prefs.last_dir = str(Path(spec.path).parent)
        self._described = {id(dataset): result}
        self.summary.show_numbers(result["summary"])
        self.load_status.setText(f"Loaded in {seconds:.1f} s.")
        self.cancel_button.setEnabled(False)
        self._install_pending = (dataset, spec, result.get("split"), seconds)
        QTimer.singleShot(STAGE_MS, self._install)
        self._outcome = True

    def _install(self) -> None:
        args, self._install_pending = self._install_pending, None
        if args is None:
            return
        dataset, spec, split, seconds = args
        self.state.set_dataset(dataset, spec.to_string(), spec.to_dict(), split=split)
        self.state.log(f"loaded {dataset.name}: {dataset.n_users:,} users, {dataset.n_items:,} "
                       f"items, {dataset.n_ratings:,} ratings in {seconds:.2f} s")
        for note in dataset.notes:
            self.state.log(note, "warning")
        self._announce()

    @Slot(object)
    def _on_load_failed(self, exc: Exception) -> None:
        self.load_status.setText("Loading failed; the previous dataset is still loaded."
                                 if self.state.dataset is not None else "Loading failed.")
        if isinstance(exc, DatasetError):
            message, details = exc.message, None
        else:
            message = f"Unexpected error while loading: {type(exc).__name__}: {exc}"
            details = getattr(exc, "__traceback_text__", None) or "".join(
                traceback.format_exception(exc))
        self.state.log(message, "error")
        self._error(message, details, title="Could not load the dataset")
        if self._fallback_on_error and self.state.dataset is None:
            # The last session's file is gone or broken: start with the built-in data instead.
            self._fallback_on_error = False
            self._fallback_pending = True

    @Slot()
    def _on_job_ended(self) -> None:
        job, self.job = self.job, None
        if job is not None:
            job.deleteLater()
        self.load_button.setEnabled(True)
        self.busy.setVisible(False)
        self.cancel_button.setVisible(False)
        self.state.end_job("load")
        outcome, self._outcome = self._outcome, False
        if job is not None and job.cancelled:
            outcome = self._fallback_pending = self._fallback_on_error = False
            self.load_status.setText("Loading cancelled; the previous dataset is still loaded."
                                     if self.state.dataset is not None else "Loading cancelled.")
        self._ended_outcome = outcome
        self._announce()

    def _announce(self) -> None:
        """``loadFinished`` once the job has ended and the dataset is fully on screen."""
        if self._ended_outcome is None or self._install_pending or self._plots_pending:
            return
        outcome, self._ended_outcome = self._ended_outcome, None
        self.loadFinished.emit(outcome)
        if self._fallback_pending:
            self._fallback_pending = False
            spec = DatasetSpec("builtin", name=DEFAULT_BUILTIN)
            self.show_spec(spec)
            self.load(spec)

    def _error(self, message: str, details: str | None = None, title: str = "MetaRec") -> None:
        box = QMessageBox(QMessageBox.Icon.Critical, title, message, QMessageBox.StandardButton.Ok,
                          self)
        if details:
            box.setDetailedText(details)
        box.exec()

    # ------------------------------------------------------------------ split
    def apply_split(self) -> None:
        self.split_panel.apply_split()

    def restore_split(self) -> None:
        self.split_panel.restore_split()

    # ------------------------------------------------------------------ summary
    @Slot(object)
    def _on_dataset(self, dataset: Any) -> None:
        described = self._described.get(id(dataset))
        if described is not None and described["dataset"] is dataset:
            self._show(described)
            return
        self.summary.title.setText(dataset.name)  # the numbers follow from a worker
        self.background.submit("describe", lambda: describe_for_display(dataset),
                               self._show, lambda exc: self.state.log(
                                   f"cannot summarise the dataset: {exc}", "warning"))

    def _show(self, described: dict[str, Any]) -> None:
        """Numbers now, then one plot per event-loop turn: each plot's first paint costs
        10-20 ms of the GUI thread, and the loop handles input and paints in between."""
        if described["dataset"] is not self.state.dataset:
            return
        self._described = {id(described["dataset"]): described}
        self.summary.show_numbers(described["summary"])
        self._plots_pending = described
        self._plot_steps = self.summary.plot_steps(described["stats"])
        QTimer.singleShot(STAGE_MS, self._show_plots)

    def _show_plots(self) -> None:
        described = self._plots_pending
        if described is None:
            return
        if described["dataset"] is not self.state.dataset:
            self._plots_pending, self._plot_steps = None, []
        elif self._plot_steps:
            self._plot_steps.pop(0)()
            if self._plot_steps:
                QTimer.singleShot(STAGE_MS, self._show_plots)
                return
            self._plots_pending = None
            self.summaryShown.emit()
        self._announce()

    def shutdown(self, timeout_ms: int = 10000) -> bool:
        return self.background.shutdown(timeout_ms)

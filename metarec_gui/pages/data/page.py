"""Data page: choose a dataset source, load it off the GUI thread, see what it holds, set the split.

Loading runs ``core.data.load_dataset(spec)`` off the GUI thread together with what the page
shows (fingerprint, ``summary()``, plot statistics) and the cold-start split, so the GUI thread
only draws (``metarec_gui.data_load``). Files of ``isolate_min_bytes`` or more load in a child
process and are memory-mapped here: in a thread, the loader's long C calls hold the GIL and stall
the GUI. Cancel stops either kind of load. A failure shows the core's message (file, line,
column) and the previous dataset stays loaded.
"""

from __future__ import annotations

import dataclasses
import time
import traceback
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.data import DEFAULT_BUILTIN, DatasetError, DatasetSpec
from core.data.isolated import ISOLATE_MIN_BYTES, should_isolate
from core.split import SplitConfig

from ...data_load import describe_for_display, load_for_display, load_isolated_for_display
from ...settings import plain_value
from ...state import AppState
from ...theme import theme
from ...widgets.config_form import ConfigForm
from ...workers import Background, FunctionJob
from .sources import SourcePanel, _html, describe_spec, split_specs
from .summary import SummaryPanel

__all__ = ["DataPage", "describe_for_display", "load_for_display"]


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

        # ------------------------------------------------------------- split panel
        split_box = QGroupBox("Cold-start split")
        spl = QVBoxLayout(split_box)
        self.split_form = ConfigForm(split_specs())
        self.split_form.changed.connect(self._split_timer_start)
        reset = QToolButton(text="Defaults")
        reset.setToolTip("Back to the protocol's defaults (80/10/10, query 10, K ≤ 20)")
        reset.clicked.connect(self.split_form.reset)
        self.split_message = QLabel()
        self.split_message.setWordWrap(True)
        self.counts_table = QTableWidget(4, 3)
        self.counts_table.setHorizontalHeaderLabels(["Role", "Users", "Ratings"])
        self.counts_table.verticalHeader().setVisible(False)
        self.counts_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.counts_table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.counts_table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.counts_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.counts_table.verticalHeader().setDefaultSectionSize(22)
        self.counts_table.setFixedHeight(22 * 4 + self.counts_table.horizontalHeader().sizeHint().height() + 4)
        for r, role in enumerate(("Meta-train", "Validation", "Test (cold)", "Excluded")):
            self.counts_table.setItem(r, 0, QTableWidgetItem(role))
        spl.addWidget(self.split_form)
        head = QHBoxLayout()
        head.addWidget(self.split_message, 1)
        head.addWidget(reset, 0, Qt.AlignmentFlag.AlignTop)
        spl.addLayout(head)
        spl.addWidget(self.counts_table)
        self._split_timer = QTimer(self)
        self._split_timer.setSingleShot(True)
        self._split_timer.setInterval(200)
        self._split_timer.timeout.connect(self.apply_split)

        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 6, 0)
        ll.addWidget(self.sources)
        ll.addWidget(split_box)
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
        state.splitChanged.connect(self._on_split)
        state.splitFailed.connect(self._show_split_error)
        theme().changed.connect(self.summary.restyle)
        self.summary.restyle()
        if state.dataset is not None:
            self._on_dataset(state.dataset)
        if state.split is not None:
            self._on_split(state.split)

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
        return self.job is not None

    @Slot()
    def cancel_load(self) -> None:
        """Stop the running load (a child process is stopped at once); ``loadFinished(False)``
        follows, and the previous dataset stays."""
        if self.job is None or self.job.cancelled:
            return
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
        self.state.set_dataset(dataset, spec.to_string(), spec.to_dict(), split=result.get("split"))
        self.load_status.setText(f"Loaded in {seconds:.1f} s.")
        self.state.log(f"loaded {dataset.name}: {dataset.n_users:,} users, {dataset.n_items:,} "
                       f"items, {dataset.n_ratings:,} ratings in {seconds:.2f} s")
        for note in dataset.notes:
            self.state.log(note, "warning")
        self._outcome = True

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
    def _split_timer_start(self) -> None:
        self._split_timer.start()

    @Slot()
    def apply_split(self) -> None:
        """Send the form's split settings to the state (which recomputes it in a worker)."""
        self._split_timer.stop()
        try:
            config = SplitConfig(**self.split_form.values())
        except (TypeError, ValueError) as exc:
            self._show_split_error(str(exc))
            return
        self._split_error = ""
        self.split_message.setText("Splitting…")
        self.state.set_split_config(config, background=True)
        self.state.prefs.split = config.to_dict()

    @Slot(str)
    def _show_split_error(self, text: str) -> None:
        self._split_error = text
        self.split_message.setText(f"<span style='color:{theme().level_color('error')}'>"
                                   f"{_html(text)}</span>")

    def restore_split(self) -> None:
        """Apply the split settings saved by the last session (without recomputing twice)."""
        saved = self.state.prefs.split
        if isinstance(saved, dict):
            self.split_form.set_values({k: plain_value(v) for k, v in saved.items()})
            self._split_timer.stop()
            try:
                self.state.split_config = SplitConfig(**self.split_form.values())
            except (TypeError, ValueError) as exc:
                self.state.log(f"saved split settings ignored: {exc}", "warning")

    @Slot(object)
    def _on_split(self, split: Any) -> None:
        dataset = self.state.dataset
        if dataset is None:
            return
        counts = split.counts(dataset)
        for r, role in enumerate(("train", "val", "test", "excluded")):
            for c, key in ((1, "users"), (2, "ratings")):
                item = QTableWidgetItem(f"{counts[role][key]:,}")
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.counts_table.setItem(r, c, item)
        if self.split_form.values() != dataclasses.asdict(split.config):
            self.split_form.blockSignals(True)
            self.split_form.set_values(dataclasses.asdict(split.config))
            self.split_form.blockSignals(False)
        need = split.config.query_size + split.config.max_support
        self.split_message.setText(f"Cold users need ≥ {need} ratings (query + K).")

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
        if described["dataset"] is not self.state.dataset:
            return
        self._described = {id(described["dataset"]): described}
        self.summary.show_summary(described["summary"], described["stats"])
        self.summaryShown.emit()

    def shutdown(self, timeout_ms: int = 10000) -> bool:
        return self.background.shutdown(timeout_ms)

"""Data page: choose a dataset source, load it off the GUI thread, see what it holds, set the split.

Sources: the built-in MovieLens subset, a synthetic set, a MovieLens folder/zip (its layout is
detected and shown), or any ratings table through the column-mapping dialog. Loading goes through
``core.data.load_dataset(spec)`` in a worker; a failure shows the core's message (file, line,
column) and the previous dataset stays loaded.
"""

from __future__ import annotations

import dataclasses
import json
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFileDialog,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.data import (
    BUILTINS,
    DEFAULT_BUILTIN,
    DatasetError,
    DatasetSpec,
    SyntheticConfig,
    describe_source,
    load_dataset,
)
from core.split import SplitConfig

from ..state import AppState
from ..theme import style_plot_item, style_view, theme
from ..widgets.config_form import ConfigForm
from ..workers import FunctionJob

# UI metadata (labels, ranges, help) for settings dataclasses without their own; names, types
# and defaults always come from the dataclass itself.
_SPLIT_UI: dict[str, dict[str, Any]] = {
    "val_fraction": {"label": "Validation users", "low": 0.0, "high": 0.9,
                     "help": "Fraction of users held out for validation (cold users)"},
    "test_fraction": {"label": "Test users", "low": 0.0, "high": 0.9,
                      "help": "Fraction of users held out for testing: never seen in training"},
    "query_size": {"label": "Query size", "low": 1, "high": 1000,
                   "help": "Ratings per cold user used to score predictions"},
    "max_support": {"label": "Max support K", "low": 1, "high": 1000,
                    "help": "Largest support set evaluated; cold users need query + K ratings"},
    "min_ratings": {"label": "Min ratings / user", "low": 1, "high": 100000,
                    "help": "Users with fewer ratings are excluded (auto: keep all)"},
    "max_ratings": {"label": "Max ratings / user", "low": 1, "high": 10000000,
                    "help": "Users with more ratings are excluded (auto: keep all)"},
    "seed": {"label": "Seed", "low": 0, "high": 2**31 - 1, "help": "Seed of the user split"},
}
_SYNTHETIC_UI: dict[str, dict[str, Any]] = {
    "n_users": {"label": "Users", "low": 10, "high": 1_000_000},
    "n_items": {"label": "Items", "low": 10, "high": 1_000_000},
    "n_clusters": {"label": "Taste clusters", "low": 1, "high": 1000,
                   "help": "Groups of users sharing a preference over genres"},
    "n_genres": {"label": "Genres", "low": 1, "high": 100},
    "noise": {"label": "Rating noise", "low": 0.0, "high": 5.0,
              "help": "Standard deviation of rating noise, in stars of a 1-5 scale"},
    "personal": {"label": "Personal taste", "low": 0.0, "high": 5.0,
                 "help": "How far a user's taste strays from their cluster's"},
    "seed": {"label": "Seed", "low": 0, "high": 2**31 - 1, "help": "Same seed, same data"},
}


def dataclass_specs(cls: type, ui: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Form specs for the fields of ``cls`` named in ``ui`` (type/default from the dataclass)."""
    import typing

    hints = typing.get_type_hints(cls)
    return [{"name": f.name, "type": hints[f.name], "default": f.default, **ui[f.name]}
            for f in dataclasses.fields(cls) if f.name in ui]


def split_specs() -> list[dict[str, Any]]:
    """Form specs of :class:`core.split.SplitConfig`."""
    return dataclass_specs(SplitConfig, _SPLIT_UI)


class StatCard(QFrame):
    """A big number with a caption."""

    def __init__(self, caption: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("StatCard")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.setSpacing(0)
        self.value = QLabel("–")
        font = self.value.font()
        font.setPointSizeF(font.pointSizeF() * 1.45)
        font.setBold(True)
        self.value.setFont(font)
        self.caption = QLabel(caption)
        self.caption.setObjectName("muted")
        layout.addWidget(self.value)
        layout.addWidget(self.caption)

    def set(self, text: str, tooltip: str = "") -> None:
        self.value.setText(text)
        self.setToolTip(tooltip)


class DataPage(QWidget):
    """Choose, load and inspect a dataset; set the cold-start split."""

    loadFinished = Signal(bool)  # a load ended (its thread too): True = loaded, False = failed

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.job: FunctionJob | None = None
        self._pending_spec: DatasetSpec | None = None
        self._fallback_on_error = False
        self._fallback_pending = False
        self._outcome = False

        # ------------------------------------------------------------- source panel
        self.source_buttons = QButtonGroup(self)
        self.source_stack = QStackedWidget()
        source_box = QGroupBox("Source")
        sl = QVBoxLayout(source_box)
        sl.setSpacing(6)
        self._sources: list[str] = []
        for key, text in (("builtin", "Built-in dataset"), ("synthetic", "Synthetic data"),
                          ("movielens", "MovieLens folder or zip"),
                          ("table", "Ratings file (CSV, TSV, Parquet)")):
            button = QRadioButton(text)
            self.source_buttons.addButton(button, len(self._sources))
            self._sources.append(key)
            sl.addWidget(button)
        self.source_buttons.idToggled.connect(self._on_source_toggled)

        # built-in
        self.builtin_combo = QComboBox()
        for name, info in BUILTINS.items():
            self.builtin_combo.addItem(info.title, name)
        self.builtin_info = QLabel()
        self.builtin_info.setWordWrap(True)
        self.builtin_info.setObjectName("muted")
        self.builtin_combo.currentIndexChanged.connect(self._show_builtin_info)
        w = QWidget()
        lay = QVBoxLayout(w)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.builtin_combo)
        lay.addWidget(self.builtin_info)
        self.source_stack.addWidget(w)

        # synthetic
        self.synthetic_form = ConfigForm()
        self.synthetic_form.setToolTip("Users in latent-taste clusters; ground truth is known")
        w = QWidget()
        lay = QVBoxLayout(w)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.synthetic_form)
        self.source_stack.addWidget(w)

        # MovieLens folder / zip
        self.movielens_path = QLineEdit()
        self.movielens_path.setPlaceholderText("ml-1m.zip, ml-latest-small/, …")
        self.movielens_path.editingFinished.connect(self._detect_movielens)
        folder_btn = QToolButton(text="Folder…")
        folder_btn.clicked.connect(self._browse_movielens_folder)
        zip_btn = QToolButton(text="Zip…")
        zip_btn.clicked.connect(self._browse_movielens_zip)
        self.movielens_info = QLabel("MovieLens 100K, 1M, 10M, 20M, 25M or latest, as downloaded "
                                     "from GroupLens (folder or .zip).")
        self.movielens_info.setWordWrap(True)
        self.movielens_info.setObjectName("muted")
        w = QWidget()
        lay = QVBoxLayout(w)
        lay.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(self.movielens_path, 1)
        row.addWidget(folder_btn)
        row.addWidget(zip_btn)
        lay.addLayout(row)
        lay.addWidget(self.movielens_info)
        self.source_stack.addWidget(w)

        # generic table
        self.table_path = QLineEdit()
        self.table_path.setPlaceholderText("ratings.csv")
        table_btn = QToolButton(text="Browse…")
        table_btn.clicked.connect(self._browse_table)
        info = QLabel("Load opens a dialog to map the file's columns to user, item and rating.")
        info.setWordWrap(True)
        info.setObjectName("muted")
        w = QWidget()
        lay = QVBoxLayout(w)
        lay.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(self.table_path, 1)
        row.addWidget(table_btn)
        lay.addLayout(row)
        lay.addWidget(info)
        self.source_stack.addWidget(w)
        sl.addWidget(self.source_stack)

        self.load_button = QPushButton("Load")
        self.load_button.setDefault(True)
        self.load_button.clicked.connect(self.load_selected)
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
        sl.addLayout(row)
        sl.addWidget(self.load_status)

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
        ll.addWidget(source_box)
        ll.addWidget(split_box)
        ll.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(340)
        scroll.setMaximumWidth(400)

        # ------------------------------------------------------------- summary + plots
        self.title = QLabel("No dataset loaded")
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        self.title.setFont(font)
        self.subtitle = QLabel()
        self.subtitle.setObjectName("muted")
        self.subtitle.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.cards: dict[str, StatCard] = {}
        cards = QGridLayout()
        cards.setSpacing(8)
        for i, (key, caption) in enumerate((
            ("users", "users"), ("items", "items"), ("ratings", "ratings"),
            ("density", "density"), ("scale", "rating scale"), ("mean", "mean rating"),
            ("per_user", "ratings per user (median)"), ("genres", "genres"),
        )):
            card = StatCard(caption)
            self.cards[key] = card
            cards.addWidget(card, i // 4, i % 4)
        self.notes = QLabel()
        self.notes.setWordWrap(True)
        self.notes.setVisible(False)

        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setMinimumHeight(260)
        self.rating_plot = self.plots.addPlot(row=0, col=0, title="Rating distribution")
        self.rating_plot.setLabel("bottom", "rating")
        self.rating_plot.setLabel("left", "ratings")
        self.user_plot = self.plots.addPlot(row=0, col=1, title="Ratings per user")
        self.user_plot.setLabel("bottom", "ratings per user (log scale)")
        self.user_plot.setLabel("left", "users")
        self.genre_plot = self.plots.addPlot(row=1, col=0, colspan=2, title="Most rated genres")
        self.genre_plot.setLabel("bottom", "ratings")
        self.plots.ci.layout.setRowStretchFactor(0, 1)
        self.plots.ci.layout.setRowStretchFactor(1, 1)
        for p in (self.rating_plot, self.user_plot, self.genre_plot):
            p.showGrid(x=False, y=True, alpha=theme().grid_alpha())
            p.setMenuEnabled(False)
            p.hideButtons()
        self.genre_plot.showGrid(x=True, y=False, alpha=theme().grid_alpha())

        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(6, 0, 0, 0)
        rl.addWidget(self.title)
        rl.addWidget(self.subtitle)
        rl.addLayout(cards)
        rl.addWidget(self.notes)
        rl.addWidget(self.plots, 1)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.addWidget(scroll)
        layout.addWidget(right, 1)

        self._load_synthetic_specs()
        self.source_buttons.button(0).setChecked(True)
        self._show_builtin_info()
        state.datasetChanged.connect(self._on_dataset)
        state.splitChanged.connect(self._on_split)
        theme().changed.connect(self._on_theme)
        self._on_theme()
        if state.dataset is not None:
            self._on_dataset(state.dataset)
        if state.split is not None:
            self._on_split(state.split)

    # ------------------------------------------------------------------ sources
    def _load_synthetic_specs(self) -> None:
        self.synthetic_form.set_specs(dataclass_specs(SyntheticConfig, _SYNTHETIC_UI))

    @Slot(int, bool)
    def _on_source_toggled(self, index: int, checked: bool) -> None:
        if checked:
            # Only the visible page counts for the stack's size (no empty space, no clipping).
            for i in range(self.source_stack.count()):
                policy = QSizePolicy.Policy.Preferred if i == index else QSizePolicy.Policy.Ignored
                self.source_stack.widget(i).setSizePolicy(policy, policy)
            self.source_stack.setCurrentIndex(index)
            self.source_stack.adjustSize()

    def source(self) -> str:
        return self._sources[self.source_buttons.checkedId()]

    def set_source(self, key: str) -> None:
        self.source_buttons.button(self._sources.index(key)).setChecked(True)

    @Slot()
    def _show_builtin_info(self) -> None:
        info = BUILTINS.get(self.builtin_combo.currentData())
        self.builtin_info.setText(info.description if info else "")

    def _browse_movielens_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "MovieLens folder", self._start_dir())
        if path:
            self.movielens_path.setText(path)
            self._detect_movielens()

    def _browse_movielens_zip(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "MovieLens zip", self._start_dir(),
                                              "Zip archives (*.zip);;All files (*)")
        if path:
            self.movielens_path.setText(path)
            self._detect_movielens()

    def _browse_table(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Ratings file", self._start_dir(),
            "Tables (*.csv *.tsv *.txt *.dat *.data *.parquet *.pq *.gz);;All files (*)")
        if path:
            self.table_path.setText(path)

    def _start_dir(self) -> str:
        return str(self.state.settings.value("data/last_dir", str(Path.home())))

    @Slot()
    def _detect_movielens(self) -> None:
        """Show what ``core.data.describe_source`` finds at the chosen path."""
        text = self.movielens_path.text().strip()
        if not text:
            return
        self.movielens_info.setText(f"Detected: <b>{_html(describe_source(text))}</b>")

    # ------------------------------------------------------------------ loading
    def current_spec(self) -> DatasetSpec | None:
        """The spec of the selected source, or None (nothing chosen, mapping cancelled)."""
        source = self.source()
        if source == "builtin":
            return DatasetSpec("builtin", name=self.builtin_combo.currentData())
        if source == "synthetic":
            values = self.synthetic_form.values()
            config = SyntheticConfig(**values)
            return DatasetSpec("synthetic", synthetic=config)
        if source == "movielens":
            path = self.movielens_path.text().strip()
            if not path:
                self._error("Choose a MovieLens folder or zip first.")
                return None
            return DatasetSpec("movielens", path=path)
        path = self.table_path.text().strip()
        if not path:
            self._browse_table()
            path = self.table_path.text().strip()
            if not path:
                return None
        from ..dialogs.column_mapping import ColumnMappingDialog

        dialog = ColumnMappingDialog(path, self)
        if dialog.exec() != ColumnMappingDialog.DialogCode.Accepted:
            return None
        return DatasetSpec("table", path=path, name=dialog.dataset_name(), mapping=dialog.mapping())

    @Slot()
    def load_selected(self) -> None:
        spec = self.current_spec()
        if spec is not None:
            self.load(spec)

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
        label = _describe(spec)
        self._pending_spec = spec
        self._t0 = time.perf_counter()
        self.job = FunctionJob(load_dataset, spec, name="load-dataset", parent=self)
        self.job.succeeded.connect(self._on_loaded)
        self.job.failed.connect(self._on_load_failed)
        self.job.ended.connect(self._on_job_ended)
        self.load_button.setEnabled(False)
        self.busy.setVisible(True)
        self.load_status.setText(f"Loading {label}…")
        self.state.begin_job("load", f"Loading {label}")
        self.state.log(f"loading {label}")
        self.job.start()
        return True

    def load_last(self) -> bool:
        """Load the dataset of the last session (the built-in one on first launch)."""
        raw = self.state.settings.value("data/last_spec")
        spec: DatasetSpec | None = None
        if raw:
            try:
                spec = DatasetSpec.from_dict(json.loads(str(raw)))
            except (ValueError, KeyError, TypeError, DatasetError) as exc:
                self.state.log(f"last session's dataset cannot be restored ({exc}); "
                               "loading the built-in dataset", "warning")
        if spec is None:
            spec = DatasetSpec("builtin", name=DEFAULT_BUILTIN)
        self.show_spec(spec)
        self._fallback_on_error = spec.kind != "builtin"
        return self.load(spec)

    def show_spec(self, spec: DatasetSpec) -> None:
        """Reflect a spec in the source widgets."""
        self.set_source(spec.kind)
        if spec.kind == "builtin":
            self.builtin_combo.setCurrentIndex(max(0, self.builtin_combo.findData(spec.name)))
        elif spec.kind == "synthetic" and spec.synthetic is not None:
            self.synthetic_form.set_values(dataclasses.asdict(spec.synthetic))
        elif spec.kind == "movielens":
            self.movielens_path.setText(spec.path or "")
            self._detect_movielens()
        elif spec.kind == "table":
            self.table_path.setText(spec.path or "")

    def is_loading(self) -> bool:
        return self.job is not None

    @Slot(object)
    def _on_loaded(self, dataset: Any) -> None:
        seconds = time.perf_counter() - self._t0
        spec = self._pending_spec
        self._fallback_on_error = False
        self.state.settings.setValue("data/last_spec", json.dumps(spec.to_dict()))
        if spec.path:
            self.state.settings.setValue("data/last_dir", str(Path(spec.path).parent))
        self.state.set_dataset(dataset, spec.to_string(), spec.to_dict())
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
        self.state.end_job("load")
        outcome, self._outcome = self._outcome, False
        self.loadFinished.emit(outcome)
        if self._fallback_pending:
            self._fallback_pending = False
            spec = DatasetSpec("builtin", name=DEFAULT_BUILTIN)
            self.show_spec(spec)
            self.load(spec)

    def _error(self, message: str, details: str | None = None,
               title: str = "MetaRec") -> None:
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
        """Send the form's split settings to the state (which recomputes the split)."""
        self._split_timer.stop()
        try:
            config = SplitConfig(**self.split_form.values())
        except (TypeError, ValueError) as exc:
            self._split_error = str(exc)
            self.split_message.setText(f"<span style='color:{theme().level_color('error')}'>"
                                       f"{_html(str(exc))}</span>")
            return
        self._split_error = ""
        self.split_message.setText("")
        self.state.set_split_config(config)
        self.state.settings.setValue("data/split", config.to_dict())

    def restore_split(self) -> None:
        """Apply the split settings saved by the last session (without recomputing twice)."""
        saved = self.state.settings.value("data/split")
        if isinstance(saved, dict):
            self.split_form.set_values({k: _settings_value(v) for k, v in saved.items()})
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
        s = dataset.summary()
        self.title.setText(s["name"])
        self.subtitle.setText(f"{s['source']}  ·  fingerprint {s['fingerprint']}")
        scale = s["scale"]
        step = f", step {scale['step']:g}" if scale["step"] else ", continuous"
        rpu = s["ratings_per_user"]
        self.cards["users"].set(f"{s['users']:,}")
        self.cards["items"].set(f"{s['items']:,}")
        self.cards["ratings"].set(f"{s['ratings']:,}")
        self.cards["density"].set(f"{100 * s['density']:.2f} %", "ratings / (users × items)")
        self.cards["scale"].set(f"{scale['min']:g}–{scale['max']:g}", f"min–max{step}")
        self.cards["mean"].set(f"{s['mean_rating']:.2f}")
        self.cards["per_user"].set(f"{rpu['median']:g}",
                                   f"min {rpu['min']}, quartiles {rpu['q25']:g} / {rpu['q75']:g}, "
                                   f"max {rpu['max']}")
        self.cards["genres"].set(f"{s['genres']}")
        extra = []
        if s["has_ground_truth"]:
            extra.append("synthetic: true preferences are known")
        if s["user_features"]:
            extra.append("user features: " + ", ".join(s["user_features"]))
        notes = [*s["notes"], *extra]
        self.notes.setVisible(bool(notes))
        color = theme().level_color("warning")
        self.notes.setText("<br>".join(
            f"<span style='color:{color}'>⚠ {_html(n)}</span>" if n in s["notes"] else _html(n)
            for n in notes))
        self._plot(dataset)

    def _plot(self, dataset: Any) -> None:
        accent = theme().accent()
        for p in (self.rating_plot, self.user_plot, self.genre_plot):
            p.clear()
        # rating histogram: one bar per rating value
        values, counts = np.unique(dataset.rating, return_counts=True)
        width = (dataset.scale.step or (dataset.scale.span / 20)) * 0.8
        self.rating_plot.addItem(pg.BarGraphItem(x=values, height=counts, width=width,
                                                 brush=accent, pen=None))
        self.rating_plot.setXRange(dataset.scale.min - width, dataset.scale.max + width, padding=0)
        # ratings per user: log-spaced bins, drawn as a step histogram on a log axis
        per_user = dataset.ratings_per_user
        lo, hi = max(1, int(per_user.min())), max(2, int(per_user.max()))
        edges = np.unique(np.round(np.geomspace(lo, hi + 1, 30)))
        hist, edges = np.histogram(per_user, bins=edges)
        # x is drawn as log10 with ticks at 1-2-5 values (pyqtgraph's log axis labels crowd).
        self.user_plot.addItem(pg.PlotDataItem(np.log10(edges), hist, stepMode="center",
                                               fillLevel=0, brush=_alpha(accent, 120),
                                               pen=pg.mkPen(accent)))
        ticks = [v * 10**e for e in range(0, 9) for v in (1, 2, 5)]
        ticks = [t for t in ticks if edges[0] <= t <= edges[-1]]
        self.user_plot.getAxis("bottom").setTicks(
            [[(np.log10(t), f"{t:,}") for t in ticks], []])
        self.user_plot.enableAutoRange()
        # genres
        genres = dataset.genre_counts().head(12)
        axis = self.genre_plot.getAxis("left")
        if len(genres):
            y = np.arange(len(genres))[::-1]
            self.genre_plot.addItem(pg.BarGraphItem(x0=0, y=y, height=0.7, width=genres.to_numpy(),
                                                    brush=accent, pen=None))
            axis.setTicks([list(zip(y, genres.index, strict=True))])
            self.genre_plot.setYRange(-0.6, len(genres) - 0.4, padding=0)
            self.genre_plot.setXRange(0, float(genres.max()) * 1.05, padding=0)
            self.genre_plot.setTitle("Most rated genres")
        else:
            axis.setTicks([[]])
            self.genre_plot.setTitle("Most rated genres (this dataset has no genre information)")
        style_plot_item(self.genre_plot)

    @Slot()
    def _on_theme(self) -> None:
        style_view(self.plots)
        if self.state.dataset is not None:
            self._on_dataset(self.state.dataset)


def _describe(spec: DatasetSpec) -> str:
    if spec.kind == "builtin":
        info = BUILTINS.get(spec.name or "")
        return info.title if info else str(spec.name)
    if spec.kind == "synthetic":
        return "synthetic data"
    return Path(spec.path or "").name or str(spec.path)


def _settings_value(value: Any) -> Any:
    """QSettings returns numbers saved in INI files as text; turn them back."""
    if isinstance(value, str):
        if value.lower() in ("none", "@invalid()", ""):
            return None
        for kind in (int, float):
            try:
                return kind(value)
            except ValueError:
                continue
    return value


def _alpha(color: str, alpha: int) -> Any:
    from PySide6.QtGui import QColor

    c = QColor(color)
    c.setAlpha(alpha)
    return c


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


__all__ = ["DataPage", "split_specs"]

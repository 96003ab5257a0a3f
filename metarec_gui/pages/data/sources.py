"""The Data page's source panel: built-in, synthetic, MovieLens folder/zip, or any ratings table.

``current_spec()`` turns the chosen source into a ``core.data.DatasetSpec`` (asking for the
column mapping of a table); ``show_spec()`` reflects a spec; ``open_path()`` is File > Open.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QSizePolicy,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.data import BUILTINS, DatasetSpec, SyntheticConfig, describe_source, detect_movielens
from core.split import SplitConfig

from ...widgets.config_form import ConfigForm

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


def _page(*widgets: QWidget | QHBoxLayout) -> QWidget:
    w = QWidget()
    lay = QVBoxLayout(w)
    lay.setContentsMargins(0, 0, 0, 0)
    for item in widgets:
        lay.addLayout(item) if isinstance(item, QHBoxLayout) else lay.addWidget(item)
    return w


class SourcePanel(QGroupBox):
    """Where the data comes from; ``errorMessage(text)`` when a spec cannot be made."""

    errorMessage = Signal(str)

    def __init__(self, start_dir, parent: QWidget | None = None) -> None:  # noqa: ANN001
        """``start_dir()``: the folder file dialogs open in."""
        super().__init__("Source", parent)
        self._start_dir = start_dir
        self.source_buttons = QButtonGroup(self)
        self.source_stack = QStackedWidget()
        sl = QVBoxLayout(self)
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

        self.builtin_combo = QComboBox()
        for name, info in BUILTINS.items():
            self.builtin_combo.addItem(info.title, name)
        self.builtin_info = QLabel()
        self.builtin_info.setWordWrap(True)
        self.builtin_info.setObjectName("muted")
        self.builtin_combo.currentIndexChanged.connect(self._show_builtin_info)
        self.source_stack.addWidget(_page(self.builtin_combo, self.builtin_info))

        self.synthetic_form = ConfigForm(dataclass_specs(SyntheticConfig, _SYNTHETIC_UI))
        self.synthetic_form.setToolTip("Users in latent-taste clusters; ground truth is known")
        self.source_stack.addWidget(_page(self.synthetic_form))

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
        row = QHBoxLayout()
        row.addWidget(self.movielens_path, 1)
        row.addWidget(folder_btn)
        row.addWidget(zip_btn)
        self.source_stack.addWidget(_page(row, self.movielens_info))

        self.table_path = QLineEdit()
        self.table_path.setPlaceholderText("ratings.csv")
        table_btn = QToolButton(text="Browse…")
        table_btn.clicked.connect(self._browse_table)
        info = QLabel("Load opens a dialog to map the file's columns to user, item and rating.")
        info.setWordWrap(True)
        info.setObjectName("muted")
        row = QHBoxLayout()
        row.addWidget(self.table_path, 1)
        row.addWidget(table_btn)
        self.source_stack.addWidget(_page(row, info))
        sl.addWidget(self.source_stack)
        self.source_buttons.button(0).setChecked(True)
        self._show_builtin_info()

    # ------------------------------------------------------------------ API
    def source(self) -> str:
        return self._sources[self.source_buttons.checkedId()]

    def set_source(self, key: str) -> None:
        self.source_buttons.button(self._sources.index(key)).setChecked(True)

    def open_path(self, path: str) -> None:
        """Choose a file or folder: MovieLens when its layout is recognised, else a table."""
        if detect_movielens(path):
            self.set_source("movielens")
            self.movielens_path.setText(path)
            self._detect_movielens()
        else:
            self.set_source("table")
            self.table_path.setText(path)

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

    def current_spec(self) -> DatasetSpec | None:
        """The spec of the selected source, or None (nothing chosen, mapping cancelled)."""
        source = self.source()
        if source == "builtin":
            return DatasetSpec("builtin", name=self.builtin_combo.currentData())
        if source == "synthetic":
            return DatasetSpec("synthetic", synthetic=SyntheticConfig(**self.synthetic_form.values()))
        if source == "movielens":
            path = self.movielens_path.text().strip()
            if not path:
                self.errorMessage.emit("Choose a MovieLens folder or zip first.")
                return None
            return DatasetSpec("movielens", path=path)
        path = self.table_path.text().strip()
        if not path:
            self._browse_table()
            path = self.table_path.text().strip()
            if not path:
                return None
        from ...dialogs.column_mapping import ColumnMappingDialog

        dialog = ColumnMappingDialog(path, self)
        if dialog.exec() != ColumnMappingDialog.DialogCode.Accepted:
            return None
        return DatasetSpec("table", path=path, name=dialog.dataset_name(), mapping=dialog.mapping())

    # ------------------------------------------------------------------ internals
    @Slot(int, bool)
    def _on_source_toggled(self, index: int, checked: bool) -> None:
        if checked:
            # Only the visible page counts for the stack's size (no empty space, no clipping).
            for i in range(self.source_stack.count()):
                policy = QSizePolicy.Policy.Preferred if i == index else QSizePolicy.Policy.Ignored
                self.source_stack.widget(i).setSizePolicy(policy, policy)
            self.source_stack.setCurrentIndex(index)
            self.source_stack.adjustSize()

    @Slot()
    def _show_builtin_info(self) -> None:
        info = BUILTINS.get(self.builtin_combo.currentData())
        self.builtin_info.setText(info.description if info else "")

    def _browse_movielens_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "MovieLens folder", str(self._start_dir()))
        if path:
            self.movielens_path.setText(path)
            self._detect_movielens()

    def _browse_movielens_zip(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "MovieLens zip", str(self._start_dir()),
                                              "Zip archives (*.zip);;All files (*)")
        if path:
            self.movielens_path.setText(path)
            self._detect_movielens()

    def _browse_table(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Ratings file", str(self._start_dir()),
            "Tables (*.csv *.tsv *.txt *.dat *.data *.parquet *.pq *.gz);;All files (*)")
        if path:
            self.table_path.setText(path)

    @Slot()
    def _detect_movielens(self) -> None:
        """Show what ``core.data.describe_source`` finds at the chosen path."""
        text = self.movielens_path.text().strip()
        if text:
            self.movielens_info.setText(f"Detected: <b>{_html(describe_source(text))}</b>")


def describe_spec(spec: DatasetSpec) -> str:
    if spec.kind == "builtin":
        info = BUILTINS.get(spec.name or "")
        return info.title if info else str(spec.name)
    if spec.kind == "synthetic":
        return "synthetic data"
    return Path(spec.path or "").name or str(spec.path)


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

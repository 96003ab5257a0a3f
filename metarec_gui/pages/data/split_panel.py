"""The Data page's cold-start split box: the split settings (debounced, applied through the
state, which recomputes the split in a worker), the counts per role, and why a split is refused.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
)

from core.split import SplitConfig

from ...settings import plain_value
from ...state import AppState
from ...theme import theme
from ...widgets.config_form import ConfigForm
from .sources import _html, split_specs

ROLES = ("train", "val", "test", "excluded")


class SplitPanel(QGroupBox):
    """Split settings and counts; listens to the state's split signals."""

    def __init__(self, state: AppState) -> None:
        super().__init__("Cold-start split")
        self.state = state
        spl = QVBoxLayout(self)
        self.split_form = ConfigForm(split_specs())
        self.split_form.changed.connect(self._timer_start)
        reset = QToolButton(text="Defaults")
        reset.setToolTip("Back to the protocol's defaults (80/10/10, query 10, K ≤ 20)")
        reset.clicked.connect(self.split_form.reset)
        self.split_message = QLabel()
        self.split_message.setWordWrap(True)
        self.counts_table = table = QTableWidget(4, 3)
        table.setHorizontalHeaderLabels(["Role", "Users", "Ratings"])
        table.verticalHeader().setVisible(False)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        table.verticalHeader().setDefaultSectionSize(22)
        table.setFixedHeight(22 * 4 + table.horizontalHeader().sizeHint().height() + 4)
        for r, role in enumerate(("Meta-train", "Validation", "Test (cold)", "Excluded")):
            table.setItem(r, 0, QTableWidgetItem(role))
        spl.addWidget(self.split_form)
        head = QHBoxLayout()
        head.addWidget(self.split_message, 1)
        head.addWidget(reset, 0, Qt.AlignmentFlag.AlignTop)
        spl.addLayout(head)
        spl.addWidget(table)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(200)
        self._timer.timeout.connect(self.apply_split)
        state.splitChanged.connect(self.show_split)
        state.splitFailed.connect(self.show_error)
        if state.split is not None:
            self.show_split(state.split)

    def _timer_start(self) -> None:
        self._timer.start()

    @Slot()
    def apply_split(self) -> None:
        """Send the form's split settings to the state (which recomputes it in a worker)."""
        self._timer.stop()
        try:
            config = SplitConfig(**self.split_form.values())
        except (TypeError, ValueError) as exc:
            self.show_error(str(exc))
            return
        self.split_message.setText("Splitting…")
        self.state.set_split_config(config, background=True)
        self.state.prefs.split = config.to_dict()

    @Slot(str)
    def show_error(self, text: str) -> None:
        self.split_message.setText(f"<span style='color:{theme().level_color('error')}'>"
                                   f"{_html(text)}</span>")

    def restore_split(self) -> None:
        """Apply the split settings saved by the last session (without recomputing twice)."""
        saved = self.state.prefs.split
        if isinstance(saved, dict):
            self.split_form.set_values({k: plain_value(v) for k, v in saved.items()})
            self._timer.stop()
            try:
                self.state.split_config = SplitConfig(**self.split_form.values())
            except (TypeError, ValueError) as exc:
                self.state.log(f"saved split settings ignored: {exc}", "warning")

    @Slot(object)
    def show_split(self, split: Any) -> None:
        dataset = self.state.dataset
        if dataset is None:
            return
        counts = split.counts(dataset)
        for r, role in enumerate(ROLES):
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

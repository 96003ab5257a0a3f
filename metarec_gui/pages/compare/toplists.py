"""The Compare page's side-by-side tab: the same user's top-10 from up to three runs.

The user is the Cold-start page's current one (unsaved ratings included: ``state.current_profile()``)
or a saved profile; the list follows saves and rating changes without a Refresh.
"""

from __future__ import annotations

import html
from itertools import combinations
from pathlib import Path

import pandas as pd
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from core import workflows
from core.profiles import ProfileError, list_profiles, load_profile
from core.recommend import jaccard
from core.runs import Run, run_label

from ...theme import run_color, theme
from ...widgets.recs_table import RecsTable
from ...workers import Background

MAX_SIDE_BY_SIDE = 3
CURRENT = "current"  # combo data of the Cold-start page's current user
SHARED_LIGHT = ("#fde2b3", "#c9e7f5", "#d7f0c8", "#f6d0e3", "#e2dcf7", "#f9f1b5", "#cfeee9", "#f7d6c8")
SHARED_DARK = ("#5c4a1e", "#1f4a5c", "#2f5226", "#5a2c42", "#3d355e", "#57521f", "#22524c", "#5a3627")
EMPTY = "Select up to three runs and a user, then press “Show top-10”."


class TopListsPanel(QWidget):
    """User chooser, Show button, overlap summary; up to three lists side by side."""

    shown = Signal()

    def __init__(self, state, background: Background, parent: QWidget | None = None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.state = state
        self.background = background
        self.lists: list[tuple[Run, pd.DataFrame]] = []
        self.profile_combo = QComboBox()
        self.profile_combo.setMinimumContentsLength(22)
        self.profile_combo.setToolTip("The Cold-start page's current user, or a saved profile "
                                      "of the loaded dataset")
        self.button = QPushButton("Show top-10")
        self.button.setToolTip(f"Adapt up to {MAX_SIDE_BY_SIDE} selected runs to the user's ratings")
        self.export_button = QPushButton("Export lists…")
        self.export_button.setEnabled(False)
        self.overlap_label = QLabel()
        self.overlap_label.setTextFormat(Qt.TextFormat.RichText)
        self.overlap_label.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(QLabel("User:"))
        row.addWidget(self.profile_combo)
        row.addWidget(self.button)
        row.addWidget(self.overlap_label, 1)
        row.addWidget(self.export_button)
        self.tables = [RecsTable("compact") for _ in range(MAX_SIDE_BY_SIDE)]
        tables = QHBoxLayout()
        for table in self.tables:
            tables.addWidget(table)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 6, 4, 4)
        layout.addLayout(row)
        layout.addLayout(tables, 1)
        self.clear(EMPTY)

    # ------------------------------------------------------------------ users
    def refresh_profiles(self) -> None:
        """Re-list the users: the current Cold-start user first, then saved profiles."""
        current = self.profile_combo.currentData()
        self.profile_combo.blockSignals(True)
        self.profile_combo.clear()
        dataset = self.state.dataset
        if dataset is not None:
            live = self.state.current_profile()
            if live is not None and getattr(live, "ratings", None):
                self.profile_combo.addItem(
                    f"Current Cold-start user ({len(live.ratings)} ratings)", CURRENT)
            for path in list_profiles(self.state.profiles_dir()):
                try:
                    profile = load_profile(path)
                except ProfileError as exc:
                    self.state.log(f"Compare: skipping profile {path.name}: {exc}", "warning")
                    continue
                if profile.dataset_fingerprint == dataset.fingerprint:
                    self.profile_combo.addItem(f"{profile.name} ({len(profile.ratings)} ratings)",
                                               str(path))
        last = current or self.state.prefs.coldstart_profile
        index = self.profile_combo.findData(str(last)) if last else -1
        self.profile_combo.setCurrentIndex(max(0, index))
        has = self.profile_combo.count() > 0
        if not has:
            self.profile_combo.addItem("Rate items on the Cold-start page first")
        self.profile_combo.setEnabled(has)
        self.button.setEnabled(has)
        self.profile_combo.blockSignals(False)

    def _chosen(self):  # noqa: ANN202 - (name, dense ratings) or an error text
        data = self.profile_combo.currentData()
        dataset = self.state.dataset
        if data == CURRENT:
            profile = self.state.current_profile()
            if profile is None:
                return "The Cold-start page has no current user."
        elif data:
            try:
                profile = load_profile(Path(data))
            except ProfileError as exc:
                return str(exc)
        else:
            return "Rate a few items on the Cold-start page first."
        try:
            return profile.name, profile.dense_ratings(dataset)
        except ProfileError as exc:
            return str(exc)

    # ------------------------------------------------------------------ lists
    def compute(self, paths: list[str]) -> None:
        """Adapt up to three runs to the chosen user and show their top-10."""
        dataset = self.state.dataset
        if dataset is None:
            self.clear("Load a dataset first.")
            return
        paths = paths[:MAX_SIDE_BY_SIDE]
        if not paths:
            self.clear("Select one to three runs trained on the loaded dataset.")
            return
        chosen = self._chosen()
        if isinstance(chosen, str):
            self.clear(chosen)
            return
        name, ratings = chosen
        runs = [Run(Path(p)) for p in paths]
        device, split = self.state.device, self.state.split

        def work(_report, token) -> list[tuple[Run, pd.DataFrame]]:  # noqa: ANN001
            return workflows.compare_top_lists(runs, dataset, ratings, top=10, device=device,
                                               split=split, cancel=token)

        self.button.setEnabled(False)
        self.overlap_label.setText(f"Adapting {len(runs)} run(s) to '{name}' ({len(ratings)} ratings)…")
        self.background.submit("top", work, lambda lists: self._show(name, lists), self._failed,
                               with_token=True)

    def _show(self, profile_name: str, lists: list[tuple[Run, pd.DataFrame]]) -> None:
        self.button.setEnabled(True)
        self.lists = list(lists)
        self.export_button.setEnabled(bool(lists))
        items = [[int(i) for i in frame["item"]] for _, frame in lists]
        counts: dict[int, int] = {}
        for its in items:
            for i in set(its):
                counts[i] = counts.get(i, 0) + 1
        shared = sorted((i for i, c in counts.items() if c > 1),
                        key=lambda i: min(its.index(i) for its in items if i in its))
        palette = SHARED_DARK if theme().is_dark else SHARED_LIGHT
        colors = {item: QColor(palette[n % len(palette)]) for n, item in enumerate(shared)}
        for n, table in enumerate(self.tables):
            if n < len(lists):
                run, frame = lists[n]
                cfg = run.config if isinstance(run.config, dict) else {}
                title = html.escape(run_label(cfg, title=True)) if cfg.get("algorithm") else ""
                full = run_label(cfg, title=True, limit=None) if cfg.get("algorithm") else ""
                color = run_color(str(run.path)).name()
                table.set_title(f"<span style='color:{color}'>●</span> <b>{title}</b> · "
                                f"{html.escape(run.name)}",
                                "\n".join(t for t in (full, str(run.path)) if t))
                table.set_frame(frame)
                table.set_highlight(colors)
                table.setVisible(True)
            else:
                table.setVisible(n == 0)
                table.set_frame(None)
        pairs = list(combinations(range(len(lists)), 2))
        if pairs:
            parts = [f"{chr(65 + a)}–{chr(65 + b)} {jaccard(items[a], items[b]):.2f}" for a, b in pairs]
            names = ", ".join(f"{chr(65 + n)} = {lists[n][0].name}" for n in range(len(lists)))
            mean = sum(jaccard(items[a], items[b]) for a, b in pairs) / len(pairs)
            self.overlap_label.setText(
                f"User <b>{profile_name}</b>: <b>Jaccard overlap {mean:.2f}</b> "
                f"({'; '.join(parts)}) · {len(shared)} item(s) in more than one list, shaded alike "
                f"<span style='color:{theme().muted()}'>({names})</span>")
        else:
            self.overlap_label.setText(f"User <b>{profile_name}</b>: select two or three runs to "
                                       "compare their lists.")
        self.shown.emit()

    def _failed(self, exc: BaseException) -> None:
        self.button.setEnabled(self.profile_combo.isEnabled())
        message = f"Top-10 failed: {type(exc).__name__}: {exc}"
        self.overlap_label.setText(message)
        self.state.log(message, "error")

    def clear(self, message: str) -> None:
        self.lists = []
        self.export_button.setEnabled(False)
        for n, table in enumerate(self.tables):
            table.set_frame(None)
            table.set_title("")
            table.setVisible(n == 0)
        self.overlap_label.setText(message)

    def export(self, path: str | Path) -> None:
        """The side-by-side lists in long form (run, algorithm, rank, item, title, …) as CSV."""
        parts = [frame.assign(run=run.name, algorithm=(run.config or {}).get("algorithm", ""))
                 for run, frame in self.lists]
        frame = (pd.concat(parts, ignore_index=True) if parts
                 else pd.DataFrame(columns=["run", "rank", "title"]))
        frame.to_csv(path, index=False)

"""The profile bar: saved profiles (a new user's ratings) in the workspace, undo / redo, and the
question a person gets before unsaved ratings would be lost (new profile, another profile, quit).
"""

from __future__ import annotations

import time
from pathlib import Path

import shiboken6
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QInputDialog,
    QMenu,
    QMessageBox,
    QToolButton,
    QWidget,
)

from core.personas import PERSONAS, Persona, persona_ratings
from core.profiles import Profile, ProfileError, list_profiles, load_profile, save_profile

from ...state import AppState
from .ratings import RatingsStore

PROFILE_PATH_ROLE = Qt.ItemDataRole.UserRole + 20
UNSAVED = "Unsaved profile"


class ProfileBar(QWidget):
    """Profile box, New / Save / Save as…, Undo / Redo; owns the profile's name and file.

    ``message(text, level)`` asks the page to show a banner ('' hides it); ``saved(path)`` after
    a save; ``loaded()`` after a profile (or a new, empty one) replaced the ratings.
    """

    message = Signal(str, str)
    saved = Signal(str)
    loaded = Signal()

    def __init__(self, state: AppState, store: RatingsStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state, self.store = state, store
        self.name: str | None = None
        self.path: Path | None = None
        self.combo = QComboBox()
        self.combo.setMinimumContentsLength(14)
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setToolTip("Profile: the new user's ratings; saved ones are kept in the workspace")
        self.model = QStandardItemModel(self)
        self.combo.setModel(self.model)
        self.combo.activated.connect(self._activated)
        self.new_button = QToolButton()
        self.new_button.setText("New")
        self.new_button.setToolTip("Start an empty profile")
        self.new_button.clicked.connect(self.new)
        self.save_button = QToolButton()
        self.save_button.setText("Save")
        self.save_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.save_button.clicked.connect(self.save)
        menu = QMenu(self.save_button)
        self.save_as_action = menu.addAction("Save as…", self.save_as_dialog)
        self.save_button.setMenu(menu)
        self.demo_button = QToolButton()  # the demo personas (core.personas), where their films exist
        self.demo_button.setText("Demo")
        self.demo_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.demo_button.setToolTip("Load a demo persona: a few real films rated the way a person with "
                                    "one clear taste would")
        self.demo_menu = QMenu(self.demo_button)
        self.demo_button.setMenu(self.demo_menu)
        self.demo_button.setVisible(False)
        stack = store.undo_stack
        self.undo_action = QAction("Undo", self)
        self.undo_action.setShortcuts([QKeySequence.StandardKey.Undo])
        self.undo_action.triggered.connect(stack.undo)
        self.redo_action = QAction("Redo", self)
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.redo_action.triggered.connect(stack.redo)
        self.undo_button, self.redo_button = QToolButton(), QToolButton()
        for button, action, glyph in ((self.undo_button, self.undo_action, "↶"),
                                      (self.redo_button, self.redo_action, "↷")):
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            button.setText(glyph)
            button.setAutoRaise(True)
            button.clicked.connect(action.trigger)
            font = button.font()
            font.setPointSizeF(font.pointSizeF() * 1.3)
            button.setFont(font)
        stack.indexChanged.connect(self._update_undo_tips)
        stack.cleanChanged.connect(lambda _clean: self.update_label())
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        row.addWidget(self.combo, 1)
        row.addWidget(self.new_button)
        row.addWidget(self.save_button)
        row.addWidget(self.demo_button)
        row.addWidget(self.undo_button)
        row.addWidget(self.redo_button)
        self._update_undo_tips()
        self.update_label()

    # ------------------------------------------------------------------ state
    def has_unsaved_changes(self) -> bool:
        """Ratings changed since the last load or save, and there is something to keep."""
        return self.store.is_modified() and (len(self.store) > 0 or self.path is not None)

    def current_profile(self) -> Profile | None:
        dataset = self.state.dataset
        ratings = self.store.ratings()
        if dataset is None or not ratings:
            return None
        return Profile.from_dense(self.name or UNSAVED, dataset, ratings)

    def reset(self, previous_dataset=None) -> None:  # noqa: ANN001
        """Forget the profile (another dataset was loaded): no name, no ratings, clean. Unsaved
        ratings of ``previous_dataset`` are kept first, as an auto-saved profile of it."""
        if previous_dataset is not None and self.has_unsaved_changes() and len(self.store):
            name = f"{self.name or 'Unsaved'} (auto-saved {time.strftime('%Y-%m-%d %H.%M.%S')})"
            try:
                path = save_profile(Profile.from_dense(name, previous_dataset, self.store.ratings()),
                                    self.state.profiles_dir())
            except OSError as exc:
                self.state.log(f"Cold-start: could not keep the unsaved ratings: {exc}", "error")
            else:
                self.state.log(f"Cold-start: unsaved ratings kept as profile '{name}' ({path})", "warning")
                self.saved.emit(str(path))
        self.name, self.path = None, None
        self.store.replace({})
        self.refresh()

    # ------------------------------------------------------------------ demo personas
    def set_personas(self, dataset) -> None:  # noqa: ANN001
        """Offer the personas whose films are all in ``dataset`` (titles checked as a set)."""
        self.demo_menu.clear()
        personas = []
        if dataset is not None and "title" in dataset.items:
            # only the personas' titles are looked up (one vectorised isin), not a set of every
            # title: 10-15 ms of the GUI thread for 20,000 items, more for larger catalogues
            wanted = {t for p in PERSONAS for t, _y, _r in p.ratings}
            column = dataset.items["title"]
            titles = set(column[column.isin(wanted)].astype(str))
            personas = [p for p in PERSONAS if all(t in titles for t, _y, _r in p.ratings)]
        for persona in personas:
            genres = ", ".join(persona.core_genres)
            action = self.demo_menu.addAction(f"{persona.name}  ({len(persona.ratings)} films, {genres})")
            action.triggered.connect(lambda _checked=False, p=persona: self.load_persona(p))
        self.demo_button.setVisible(bool(personas))

    def persona_names(self) -> list[str]:
        return [a.text().split("  (")[0] for a in self.demo_menu.actions()]

    def load_persona(self, persona: Persona | str) -> bool:
        """Rate as a demo persona: a new, unsaved profile of that name (undoable as one step)."""
        if isinstance(persona, str):
            persona = next(p for p in PERSONAS if p.name == persona)
        dataset = self.state.dataset
        try:
            ratings = persona_ratings(dataset, persona)
        except KeyError as exc:
            self.message.emit(f"The persona '{persona.name}' does not fit this dataset: {exc}", "warning")
            return False
        if not self.confirm_discard(self, f"load the persona '{persona.name}'"):
            return False
        self.name, self.path = persona.name, None
        self.store.set_many(ratings, f"Demo persona '{persona.name}'")
        self.store.mark_saved()  # nothing of the user's to lose yet: quitting does not ask
        self.update_label()
        self.loaded.emit()
        return True

    # ------------------------------------------------------------------ listing
    def refresh(self) -> None:
        """List saved profiles; those made on another dataset are shown disabled-looking."""
        self.model.clear()
        dataset = self.state.dataset
        first = QStandardItem(UNSAVED)
        first.setData(None, PROFILE_PATH_ROLE)
        self.model.appendRow(first)
        for path in list_profiles(self.state.profiles_dir()):
            try:
                profile = load_profile(path)
            except ProfileError as exc:
                item = QStandardItem(f"{path.stem} (unreadable)")
                item.setToolTip(str(exc))
                item.setEnabled(False)
                self.model.appendRow(item)
                continue
            other = dataset is None or profile.dataset_fingerprint != dataset.fingerprint
            label = f"{profile.name} ({len(profile.ratings)})"
            item = QStandardItem(label + (f" — {profile.dataset_name or 'other dataset'}" if other else ""))
            item.setData(str(path), PROFILE_PATH_ROLE)
            item.setToolTip(
                f"Made on '{profile.dataset_name}', not on the loaded dataset" if other
                else f"{len(profile.ratings)} ratings, saved {profile.updated}"
            )
            self.model.appendRow(item)
        self.update_label()

    def names(self) -> list[str]:
        return [self.model.item(r).text() for r in range(1, self.model.rowCount())]

    def update_label(self) -> None:
        if not (self.store.alive() and shiboken6.isValid(self)):
            return
        row = 0
        if self.path is not None:
            for r in range(1, self.model.rowCount()):
                if self.model.item(r).data(PROFILE_PATH_ROLE) == str(self.path):
                    row = r
                    break
        self.combo.blockSignals(True)
        self.combo.setCurrentIndex(row)
        self.combo.blockSignals(False)
        unsaved = self.has_unsaved_changes()
        self.save_button.setText("Save •" if unsaved else "Save")
        self.save_button.setToolTip(
            f"Save '{self.name or UNSAVED}' (Ctrl+S); the arrow: Save as…"
            + (" — unsaved changes" if unsaved else "")
        )

    def _update_undo_tips(self, *_args: object) -> None:
        if not (self.store.alive() and shiboken6.isValid(self)):
            return
        stack = self.store.undo_stack
        for action, button, can, text, keys in (
            (self.undo_action, self.undo_button, stack.canUndo(), stack.undoText(), "Ctrl+Z"),
            (self.redo_action, self.redo_button, stack.canRedo(), stack.redoText(), "Ctrl+Shift+Z"),
        ):
            action.setEnabled(can)
            button.setEnabled(can)
            verb = action.text()
            button.setToolTip(f"{verb}: {text} ({keys})" if can else f"Nothing to {verb.lower()} ({keys})")
        self.update_label()

    # ------------------------------------------------------------------ asking
    def confirm_discard(self, parent: QWidget | None = None, action: str = "continue") -> bool:
        """Unsaved ratings: ask Save / Discard / Cancel. True = go on (saved or discarded)."""
        if not self.has_unsaved_changes():
            return True
        n = len(self.store)
        answer = QMessageBox.question(
            parent or self, "Unsaved ratings",
            f"'{self.name or UNSAVED}' has unsaved changes ({n} rating{'s' if n != 1 else ''}).\n"
            f"Save them before you {action}?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    # ------------------------------------------------------------------ actions
    def _activated(self, row: int) -> None:
        path = self.model.item(row).data(PROFILE_PATH_ROLE)
        if path is None or (self.path is not None and str(self.path) == path):
            self.update_label()
            return
        if not self.confirm_discard(self, "switch profiles"):
            self.update_label()
            return
        self.load_file(Path(path))

    def load_file(self, path: Path) -> bool:
        """Load a saved profile; a profile of another dataset is refused with a clear message."""
        dataset = self.state.dataset
        try:
            profile = load_profile(path)
            if dataset is None:
                raise ProfileError("load a dataset first")
            ratings = profile.dense_ratings(dataset)
        except ProfileError as exc:
            self.message.emit(f"Cannot load the profile: {exc}. Load that dataset on the Data page to use it.",
                              "warning")
            self.state.log(f"Cold-start: {exc}", "warning")
            self.update_label()
            return False
        dropped = len(profile.ratings) - len(ratings)
        self.name, self.path = profile.name, Path(path)
        self.state.prefs.coldstart_profile = str(path)
        self.store.replace(ratings)
        self.update_label()
        self.message.emit(
            f"{dropped} rated item(s) of this profile are not in the dataset and were skipped." if dropped else "",
            "info")
        self.state.log(f"Cold-start: loaded profile '{profile.name}' ({len(ratings)} ratings)")
        self.loaded.emit()
        return True

    def save_as(self, name: str) -> Path | None:
        """Save the current ratings as profile ``name`` in the workspace."""
        dataset = self.state.dataset
        if dataset is None or not name.strip():
            return None
        profile = Profile.from_dense(name.strip(), dataset, self.store.ratings())
        path = save_profile(profile, self.state.profiles_dir())
        self.name, self.path = profile.name, Path(path)
        self.store.mark_saved()
        self.state.prefs.coldstart_profile = str(path)
        self.refresh()
        text = f"Saved profile '{profile.name}' ({len(profile.ratings)} ratings) to {path}"
        self.message.emit(text, "info")
        QTimer.singleShot(5000, self, lambda: self.message.emit("", "saved"))
        self.state.log(f"Cold-start: saved profile '{profile.name}' to {path}")
        self.saved.emit(str(path))
        return path

    def save(self) -> bool:
        """Save under the profile's name (asking one for a new profile); True if saved."""
        if self.name:
            return self.save_as(self.name) is not None
        return self.save_as_dialog()

    def save_as_dialog(self) -> bool:
        name, ok = QInputDialog.getText(self, "Save profile", "Profile name:", text=self.name or "")
        return bool(ok and name.strip()) and self.save_as(name) is not None

    def new(self) -> bool:
        """An empty profile (asks first if there are unsaved ratings)."""
        if not self.confirm_discard(self, "start a new profile"):
            return False
        self.name, self.path = None, None
        self.state.prefs.coldstart_profile = None
        self.store.replace({})
        self.update_label()
        self.loaded.emit()
        return True

    def restore_last(self) -> None:
        last = self.state.prefs.coldstart_profile
        if not last or not Path(str(last)).is_file() or self.state.dataset is None:
            return
        try:
            profile = load_profile(Path(str(last)))
        except ProfileError:
            return  # listed as unreadable in the profile box
        if profile.dataset_fingerprint == self.state.dataset.fingerprint:
            self.load_file(Path(str(last)))

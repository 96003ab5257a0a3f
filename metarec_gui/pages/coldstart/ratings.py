"""The new user's ratings, with an undo stack (Ctrl+Z / Ctrl+Shift+Z).

Every change a person makes — rate, change a rating, remove one, clear all — is a command on a
``QUndoStack``, so nothing is lost to a slip of the Delete key. Loading a profile (or another
dataset) replaces the ratings outright and starts a fresh, *clean* stack; saving marks the stack
clean, so "unsaved changes" is simply "the stack is not at its clean index".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import shiboken6
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack


class _Change(QUndoCommand):
    """Set items to values (``None`` = not rated); undo restores what they were."""

    def __init__(self, store: RatingsStore, before: dict[int, float | None],
                 after: dict[int, float | None], text: str) -> None:
        super().__init__(text)
        self._store, self._before, self._after = store, before, after

    def redo(self) -> None:
        self._store._apply(self._after)

    def undo(self) -> None:
        self._store._apply(self._before)


def _fmt(value: float) -> str:
    return f"{value:g}★"


class RatingsStore(QObject):
    """Dense item -> rating of the user being rated; ``changed`` after every change."""

    changed = Signal()

    def __init__(self, parent: QObject | None = None,
                 describe: Callable[[int], str] | None = None) -> None:
        super().__init__(parent)
        self._ratings: dict[int, float] = {}
        self._describe = describe or (lambda item: f"item {item}")
        self.undo_stack = QUndoStack(self)

    # ------------------------------------------------------------------ reading
    def ratings(self) -> dict[int, float]:
        """A copy of the ratings (dense item -> value)."""
        return dict(self._ratings)

    def __len__(self) -> int:
        return len(self._ratings)

    def get(self, item: int) -> float | None:
        return self._ratings.get(int(item))

    def alive(self) -> bool:
        """False while Qt tears the page down (the stack may already be gone)."""
        return shiboken6.isValid(self) and shiboken6.isValid(self.undo_stack)

    def is_modified(self) -> bool:
        """Changed since the last load, replace or save."""
        return self.alive() and not self.undo_stack.isClean()

    # ------------------------------------------------------------------ undoable changes
    def set(self, item: int, value: float | None) -> bool:
        """Rate ``item`` (``None`` removes its rating); False if nothing changed."""
        item = int(item)
        value = None if value is None else float(value)
        old = self._ratings.get(item)
        if old == value:
            return False
        title = self._describe(item)
        if old is None:
            text = f"Rate '{title}' {_fmt(value)}"
        elif value is None:
            text = f"Remove the rating of '{title}'"
        else:
            text = f"Change '{title}' {_fmt(old)} → {_fmt(value)}"
        self.undo_stack.push(_Change(self, {item: old}, {item: value}, text))
        return True

    def set_many(self, ratings: Mapping[int, float], text: str = "Set ratings") -> bool:
        """Replace all ratings by ``ratings`` as one undoable step."""
        new = {int(k): float(v) for k, v in ratings.items()}
        if new == self._ratings:
            return False
        before: dict[int, float | None] = {i: self._ratings.get(i) for i in set(self._ratings) | set(new)}
        after: dict[int, float | None] = {i: new.get(i) for i in before}
        self.undo_stack.push(_Change(self, before, after, text))
        return True

    def clear(self) -> bool:
        """Remove every rating (one undoable step)."""
        if not self._ratings:
            return False
        n = len(self._ratings)
        return self.set_many({}, f"Clear all {n} rating{'s' if n != 1 else ''}")

    # ------------------------------------------------------------------ not undoable
    def replace(self, ratings: Mapping[int, float]) -> None:
        """Start over with ``ratings`` (a loaded profile, a new dataset): a fresh, clean stack."""
        self._ratings = {int(k): float(v) for k, v in ratings.items()}
        self.undo_stack.clear()
        self.undo_stack.setClean()
        self.changed.emit()

    def mark_saved(self) -> None:
        self.undo_stack.setClean()

    def _apply(self, values: Mapping[int, float | None]) -> None:
        for item, value in values.items():
            if value is None:
                self._ratings.pop(item, None)
            else:
                self._ratings[item] = value
        self.changed.emit()

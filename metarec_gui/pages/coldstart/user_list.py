"""The held-out tab's list of test users as a lazy model: a row's text is made only when the
combo box shows it. Filling a ``QComboBox`` item by item cost 50 ms of the GUI thread for the
25,000 test users of a 25M-rating file (``addItem`` plus formatting each label); this model is
filled in O(1) Python calls, and :meth:`row_of` finds a user without asking every row.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

Index = QModelIndex | QPersistentModelIndex


class TestUserModel(QAbstractListModel):
    """Rows = test users (dense ids): display text ``User <raw id>  ·  <n> ratings`` (the typical
    user marked), ``Qt.UserRole`` = the dense user id as an int."""

    __test__ = False  # (not a pytest class, whatever its name)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._users = np.zeros(0, dtype=np.int64)
        self._ids: Any = np.zeros(0)
        self._counts = np.zeros(0, dtype=np.int64)
        self._typical: int | None = None

    def set_users(self, users: np.ndarray | None, ids: Any = None, counts: Any = None,
                  typical: int | None = None) -> None:
        """Show ``users`` (dense ids) with their raw ``ids[u]`` and ``counts[u]``; None = empty."""
        self.beginResetModel()
        self._users = np.asarray(users if users is not None else [], dtype=np.int64)
        self._ids, self._counts = ids, counts
        self._typical = typical
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802 (Qt API)
        return 0 if parent.isValid() else len(self._users)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._users):
            return None
        user = int(self._users[index.row()])
        if role == Qt.ItemDataRole.UserRole:
            return user
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            text = f"User {self._ids[user]}  ·  {int(self._counts[user])} ratings"
            return text + "  (typical)" if user == self._typical else text
        return None

    def row_of(self, user: int) -> int:
        """The row of dense ``user``, -1 if it is not listed."""
        rows = np.flatnonzero(self._users == int(user))
        return int(rows[0]) if len(rows) else -1

    def user_at(self, row: int) -> int | None:
        return int(self._users[row]) if 0 <= row < len(self._users) else None

"""Age / gender / occupation (whatever the dataset's user table has) for the new user.

Shown only when the dataset has user features (MovieLens 100K ``u.user``, 1M ``users.dat``).
Every field starts as "unknown", which is what the model assumes for a new user unless told.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

UNKNOWN = "unknown"


def feature_choices(dataset) -> list[tuple[str, list[str]]]:
    """(field, allowed values) of the dataset's user features; [] if it has none.

    Uses core's ``RatingsDataset.user_feature_values()`` when present, else the encoded
    features' vocabulary (the labels core itself gives each code)."""
    if dataset is None:
        return []
    values = getattr(dataset, "user_feature_values", None)
    if callable(values):
        try:
            return [(str(f), [str(v) for v in vs]) for f, vs in dict(values()).items()]
        except (TypeError, ValueError):
            pass
    features = getattr(dataset, "user_features", None)
    if features is None:
        return []
    return [(str(f), [str(v) for v in vocab]) for f, vocab in zip(features.fields, features.vocab, strict=True)]


class UserFeaturesBox(QWidget):
    """One combo box per user field, each with "unknown"; ``changed`` when one changes."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.combos: dict[str, QComboBox] = {}
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._title = QLabel("About you:")
        self._title.setToolTip(
            "Optional: the run's model also uses these user attributes. Unknown = what the model "
            "assumes for a new user who did not say.")
        self._layout.addWidget(self._title)
        self._layout.addStretch(1)
        self.setVisible(False)

    def set_dataset(self, dataset: Any) -> None:
        for combo in self.combos.values():
            self._layout.removeWidget(combo)
            combo.deleteLater()
        self.combos = {}
        choices = feature_choices(dataset)
        for name, values in choices:
            combo = QComboBox()
            combo.addItem(f"{name}: {UNKNOWN}", None)
            for value in values:
                combo.addItem(f"{name}: {value}", value)
            combo.setToolTip(f"The new user's {name} (unknown unless you choose)")
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            combo.setMaxVisibleItems(20)
            combo.currentIndexChanged.connect(self.changed)
            self._layout.insertWidget(self._layout.count() - 1, combo)
            self.combos[name] = combo
        self.setVisible(bool(choices))

    def values(self) -> dict[str, str]:
        """Field -> chosen value, for the fields that are not unknown."""
        return {name: combo.currentData() for name, combo in self.combos.items()
                if combo.currentData() is not None}

    def set_values(self, values: dict[str, Any]) -> None:
        for name, combo in self.combos.items():
            index = combo.findData(None if values.get(name) is None else str(values[name]))
            combo.blockSignals(True)
            combo.setCurrentIndex(max(0, index))
            combo.blockSignals(False)
        self.changed.emit()

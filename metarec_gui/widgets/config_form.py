"""A form generated from field specs (``Config.field_specs()``): one editor per setting.

A spec is a dict with ``name``, ``type``, ``default`` and optionally ``help``, ``low``, ``high``,
``choices``, ``log`` and ``label``. Integers get a spin box, floats a spin box (log-scaled
settings step 1-2-5 and show ``1e-3`` style text), booleans a check box, choices a combo box,
``X | None`` an editor with an "auto" tick box. Values are checked by the core when used; the form
only keeps them inside the declared ranges.
"""

from __future__ import annotations

import math
import types
import typing
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

INT_MAX = 2**31 - 1


class _WheelNeedsFocus:
    """The mouse wheel changes the value only when the editor has keyboard focus; otherwise the
    wheel event goes to the parent (the form's scroll area scrolls), so scrolling down a long
    form never changes a hyperparameter it passes over."""

    def _setup_wheel(self) -> None:
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # no focus from the wheel itself

    def wheelEvent(self, event) -> None:  # noqa: ANN001, N802 - Qt override
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()


class NoWheelSpinBox(_WheelNeedsFocus, QSpinBox):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._setup_wheel()


class NoWheelComboBox(_WheelNeedsFocus, QComboBox):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._setup_wheel()
        # as wide as the form allows, not as wide as the longest entry (long entries elide)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(12)
_WORDS = {"lr": "LR", "mae": "MAE", "ndcg": "nDCG", "mf": "MF", "id": "ID", "k": "K",
          "mlp": "MLP", "ema": "EMA", "l2": "L2", "kl": "KL", "sgd": "SGD"}


def label_for(name: str) -> str:
    """'inner_lr' -> 'Inner LR'."""
    words = [_WORDS.get(w, w) for w in name.split("_")]
    first = words[0]
    words[0] = first if first in _WORDS.values() else first[:1].upper() + first[1:]
    return " ".join(words)


def _unwrap(kind: Any) -> tuple[Any, bool]:
    """(base type, optional) of ``int``, ``int | None``, ``Optional[float]``, 'int' ..."""
    if isinstance(kind, str):
        parts = [p.strip() for p in kind.split("|")]
        optional = "None" in parts
        names = [p for p in parts if p != "None"]
        base = {"int": int, "float": float, "bool": bool, "str": str}.get(names[0], str)
        return base, optional
    args = typing.get_args(kind)
    if typing.get_origin(kind) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return (rest[0] if rest else str), True
    return kind, False


class LogSpinBox(_WheelNeedsFocus, QDoubleSpinBox):
    """A positive float spin box stepping through 1-2-5 values, shown as '1e-3' or '0.05'."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._setup_wheel()
        self.setDecimals(12)

    def textFromValue(self, value: float) -> str:  # noqa: N802 - Qt override
        if self.specialValueText() and value == self.minimum():
            return self.specialValueText()
        return f"{value:.4g}"

    def valueFromText(self, text: str) -> float:  # noqa: N802 - Qt override
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):  # noqa: ANN201 - Qt override
        from PySide6.QtGui import QValidator

        stripped = text.strip()
        if not stripped:
            return QValidator.State.Intermediate, text, pos
        try:
            value = float(stripped)
        except ValueError:
            ok = all(c in "0123456789.eE+-" for c in stripped)
            return (QValidator.State.Intermediate if ok else QValidator.State.Invalid), text, pos
        if self.minimum() <= value <= self.maximum():
            return QValidator.State.Acceptable, text, pos
        return QValidator.State.Intermediate, text, pos

    def stepBy(self, steps: int) -> None:  # noqa: N802 - Qt override
        value = self.value()
        for _ in range(abs(steps)):
            value = _next_125(value, up=steps > 0)
        self.setValue(min(max(value, self.minimum()), self.maximum()))


class FloatSpinBox(_WheelNeedsFocus, QDoubleSpinBox):
    """A float spin box that shows no trailing zeros (0.1, not 0.1000)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._setup_wheel()

    def textFromValue(self, value: float) -> str:  # noqa: N802 - Qt override
        text = f"{value:.{self.decimals()}f}"
        if "." in text:
            text = text.rstrip("0")
            text = text + "0" if text.endswith(".") else text
        return text


def _next_125(value: float, up: bool) -> float:
    """The next value of the 1-2-5 sequence above (or below) ``value``."""
    if value <= 0:
        return 1e-6 if up else value
    exp = math.floor(math.log10(value))
    candidates = [m * 10.0**e for e in (exp - 1, exp, exp + 1) for m in (1, 2, 5)]
    if up:
        bigger = [c for c in candidates if c > value * (1 + 1e-9)]
        return float(f"{min(bigger):.6g}")
    smaller = [c for c in candidates if c < value * (1 - 1e-9)]
    return float(f"{max(smaller):.6g}")


class _Field:
    """One setting: its editor widget, and how to read and write its value."""

    def __init__(self, spec: dict[str, Any], on_change) -> None:  # noqa: ANN001
        self.spec = spec
        self.name = spec["name"]
        self.default = spec.get("default")
        base, self.optional = _unwrap(spec.get("type", type(self.default)))
        self.base = base
        choices = spec.get("choices")
        low, high = spec.get("low"), spec.get("high")
        self.editor: QWidget
        if choices:
            box = NoWheelComboBox()
            for c in choices:
                box.addItem(str(c), c)
            box.currentIndexChanged.connect(on_change)
            self.editor = box
        elif base is bool:
            box = QCheckBox()
            box.toggled.connect(on_change)
            self.editor = box
        elif base is int:
            spin = NoWheelSpinBox()
            spin.setRange(int(low) if low is not None else -INT_MAX,
                          int(high) if high is not None else INT_MAX)
            spin.setAccelerated(True)
            spin.valueChanged.connect(on_change)
            self.editor = spin
        elif base is float:
            if spec.get("log"):
                spin = LogSpinBox()
                spin.setRange(low if low is not None else 1e-12, high if high is not None else 1e12)
            else:
                spin = FloatSpinBox()
                lo = low if low is not None else -1e9
                hi = high if high is not None else 1e9
                spin.setRange(lo, hi)
                span = (hi - lo) if (low is not None and high is not None) else 10.0
                spin.setDecimals(4 if span <= 1 else 3 if span <= 10 else 2)
                step = _nice_step(span / 50)
                if isinstance(self.default, (int, float)) and self.default:
                    step = min(step, _nice_step(abs(float(self.default))))
                spin.setSingleStep(step)
            spin.setAccelerated(True)
            spin.valueChanged.connect(on_change)
            self.editor = spin
        else:
            line = QLineEdit()
            line.textChanged.connect(on_change)
            self.editor = line
        if isinstance(self.editor, QAbstractSpinBox):
            self.editor.setKeyboardTracking(False)
            self.editor.setMinimumWidth(90)

        self.auto: QCheckBox | None = None
        if self.optional:
            self.auto = QCheckBox("auto")
            self.auto.setToolTip("Leave unset: the algorithm or the data decides")
            self.auto.toggled.connect(self._show_auto)
            self.auto.toggled.connect(on_change)
            self.widget = QWidget()
            row = QHBoxLayout(self.widget)
            row.setContentsMargins(0, 0, 0, 0)
            row.addWidget(self.editor, 1)
            row.addWidget(self.auto)
        else:
            self.widget = self.editor
        self.label = QLabel(spec.get("label") or label_for(self.name))
        tip = self._tooltip()
        self.label.setToolTip(tip)
        self.editor.setToolTip(tip)
        self.set(self.default)

    def _show_auto(self, on: bool) -> None:
        """'auto' in the box while unset (not a greyed number that looks like a setting);
        unticking brings back the last number (or the low end of the range)."""
        e = self.editor
        e.setEnabled(not on)
        if not isinstance(e, QAbstractSpinBox):
            return
        e.blockSignals(True)
        if on:
            if not e.specialValueText():
                self._kept = e.value()
            e.setSpecialValueText("auto")
            e.setValue(e.minimum())
        else:
            e.setSpecialValueText("")
            kept = getattr(self, "_kept", None)
            if kept is not None:
                e.setValue(kept)
        e.blockSignals(False)

    def _tooltip(self) -> str:
        spec = self.spec
        lines = [f"<b>{self.name}</b>"]
        if spec.get("help"):
            lines.append(str(spec["help"]))
        low, high = spec.get("low"), spec.get("high")
        if low is not None or high is not None:
            lo = "−∞" if low is None else f"{low:g}"
            hi = "∞" if high is None else f"{high:g}"
            lines.append(f"Range: {lo} … {hi}" + (" (log scale)" if spec.get("log") else ""))
        lines.append(f"Default: {self.default!r}")
        return "<br>".join(lines)

    def get(self) -> Any:
        if self.auto is not None and self.auto.isChecked():
            return None
        e = self.editor
        if isinstance(e, QComboBox):
            return e.currentData()
        if isinstance(e, QCheckBox):
            return e.isChecked()
        if isinstance(e, QSpinBox):
            return int(e.value())
        if isinstance(e, QDoubleSpinBox):
            return float(f"{e.value():.10g}")
        return e.text()

    def set(self, value: Any) -> None:
        if self.auto is not None:
            if value is not None and self.auto.isChecked():
                self.auto.setChecked(False)
            self.auto.setChecked(value is None)
            self._show_auto(value is None)
            if value is None:
                return
        e = self.editor
        if isinstance(e, QComboBox):
            index = e.findData(value)
            if index < 0:
                index = e.findText(str(value))
            e.setCurrentIndex(max(index, 0))
        elif isinstance(e, QCheckBox):
            e.setChecked(bool(value))
        elif isinstance(e, QSpinBox):
            e.setValue(int(value))
        elif isinstance(e, QDoubleSpinBox):
            e.setValue(float(value))
        else:
            e.setText("" if value is None else str(value))


def _nice_step(value: float) -> float:
    """The power of ten at or below ``value`` (1 for non-positive values)."""
    return 10.0 ** math.floor(math.log10(value)) if value > 0 else 1.0


class ConfigForm(QWidget):
    """Editors for a list of field specs; ``values()`` returns ``{name: value}``."""

    changed = Signal()

    def __init__(self, specs: list[dict[str, Any]] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._fields: dict[str, _Field] = {}
        self._defaults: dict[str, Any] = {}
        self._building = False
        self._layout = QFormLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setHorizontalSpacing(10)
        self._layout.setVerticalSpacing(5)
        self._layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._layout.setLabelAlignment(self._layout.labelAlignment())
        if specs:
            self.set_specs(specs)

    def set_specs(self, specs: list[dict[str, Any]]) -> None:
        """Rebuild the form for new specs (defaults come from the specs)."""
        self._building = True
        while self._layout.rowCount():
            self._layout.removeRow(0)
        self._fields = {}
        for spec in specs:
            f = _Field(spec, self._on_change)
            self._fields[f.name] = f
            self._layout.addRow(f.label, f.widget)
        self._defaults = {name: f.default for name, f in self._fields.items()}
        self._building = False
        self._mark_changed()

    def names(self) -> list[str]:
        return list(self._fields)

    def editor(self, name: str) -> QWidget:
        """The editor widget of one setting (for tests and focus)."""
        return self._fields[name].editor

    def values(self) -> dict[str, Any]:
        return {name: f.get() for name, f in self._fields.items()}

    def set_values(self, values: dict[str, Any]) -> list[str]:
        """Set known settings; returns the names that are not in this form."""
        self._building = True
        unknown = []
        for name, value in values.items():
            if name in self._fields:
                self._fields[name].set(value)
            else:
                unknown.append(name)
        self._building = False
        self._on_change()
        return unknown

    def defaults(self) -> dict[str, Any]:
        return dict(self._defaults)

    def set_defaults(self, values: dict[str, Any]) -> None:
        """Change what ``reset()`` returns to and what counts as changed (e.g. an algorithm's
        ``train_defaults``)."""
        self._defaults.update({k: v for k, v in values.items() if k in self._fields})
        self._mark_changed()

    def reset(self) -> None:
        self.set_values(self._defaults)

    def overrides(self) -> dict[str, Any]:
        """Settings that differ from the defaults."""
        return {k: v for k, v in self.values().items() if v != self._defaults.get(k)}

    def _on_change(self, *_: Any) -> None:
        if self._building:
            return
        self._mark_changed()
        self.changed.emit()

    def _mark_changed(self) -> None:
        """Bold labels show settings that differ from their defaults."""
        values = self.values()
        for name, f in self._fields.items():
            font = QFont(f.label.font())
            font.setBold(values[name] != self._defaults.get(name))
            f.label.setFont(font)

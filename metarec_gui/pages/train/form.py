"""The Train page's left side: algorithm, preset, hyperparameters, outer loop, device.

Forms are generated from ``Algorithm.Config.field_specs()`` and ``TrainConfig.field_specs()``;
each algorithm's values are remembered (``metarec_gui.settings``).
"""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.algorithms import ALGORITHMS, preset_overrides
from core.training import TrainConfig
from core.workflows import default_algorithm

from ...widgets.config_form import ConfigForm, NoWheelComboBox
from ...workers import FunctionJob, training_threads

FAMILIES = (("meta", "Meta-learning"), ("metric", "Metric-based"), ("baseline", "Baselines"))
NO_PRESET = "(defaults)"


class TrainForm(QScrollArea):
    """Everything that defines a training run; ``algorithmChanged(name)`` on a new choice."""

    algorithmChanged = Signal(str)

    def __init__(self, state, parent: QWidget | None = None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.state = state
        self._loading = False
        self.algo_combo = NoWheelComboBox()
        model = QStandardItemModel(self.algo_combo)
        self.algo_combo.setModel(model)
        for family, heading in FAMILIES:
            members = [c for c in ALGORITHMS.values() if c.family == family]
            if not members:
                continue
            self.algo_combo.addItem(heading)
            model.item(self.algo_combo.count() - 1).setEnabled(False)
            for cls in members:
                self.algo_combo.addItem(f"   {cls.title}", cls.name)
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.description.setObjectName("muted")
        self.preset_combo = NoWheelComboBox()
        self.preset_combo.setToolTip("Published or suggested settings for this algorithm")
        self.preset_combo.activated.connect(self._on_preset)
        reset = QToolButton(text="Reset")
        reset.setToolTip("All settings back to this algorithm's defaults")
        reset.clicked.connect(self.reset_settings)
        algo_box = QGroupBox("Algorithm")
        al = QVBoxLayout(algo_box)
        al.addWidget(self.algo_combo)
        al.addWidget(self.description)
        row = QHBoxLayout()
        row.addWidget(QLabel("Preset"))
        row.addWidget(self.preset_combo, 1)
        row.addWidget(reset)
        al.addLayout(row)

        self.algo_form = ConfigForm()
        hyper_box = QGroupBox("Hyperparameters")
        QVBoxLayout(hyper_box).addWidget(self.algo_form)

        self.train_specs = [s for s in TrainConfig.field_specs() if s["name"] != "device"]
        self.train_form = ConfigForm(self.train_specs)
        self.device_combo = NoWheelComboBox()
        self.device_combo.setToolTip("Where tensors live; devices this machine lacks are disabled")
        self.device_combo.addItem(state.device, state.device)
        self.device_combo.currentIndexChanged.connect(self._on_device)
        train_box = QGroupBox("Outer loop")
        tl = QVBoxLayout(train_box)
        tl.addWidget(self.train_form)
        dev_row = QHBoxLayout()
        dev_row.addWidget(QLabel("Device"))
        dev_row.addWidget(self.device_combo, 1)
        tl.addLayout(dev_row)

        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 6, 0)
        ll.addWidget(algo_box)
        ll.addWidget(hyper_box)
        ll.addWidget(train_box)
        ll.addStretch(1)
        self.setWidget(left)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # wrap, no clip
        self.setMinimumWidth(360)
        self.setMaximumWidth(420)

        self.algo_combo.currentIndexChanged.connect(self._on_algorithm)
        self.algo_form.changed.connect(self._save_settings)
        self.train_form.changed.connect(self._save_settings)
        self._select_algorithm(state.prefs.train_algorithm or default_algorithm())
        self._devices_job = FunctionJob(_list_devices, name="devices", parent=self)
        self._devices_job.succeeded.connect(self._on_devices)
        self._devices_job.failed.connect(
            lambda exc: state.log(f"could not list devices: {exc}", "warning"))
        self._devices_job.start()

    # ------------------------------------------------------------------ algorithm
    def algorithm(self) -> str:
        return str(self.algo_combo.currentData())

    def algorithm_class(self) -> type:
        return ALGORITHMS[self.algorithm()]

    def set_algorithm(self, name: str) -> None:
        if name not in ALGORITHMS:
            raise KeyError(f"unknown algorithm '{name}'")
        self._select_algorithm(name)

    def _select_algorithm(self, name: str) -> None:
        index = self.algo_combo.findData(name if name in ALGORITHMS else default_algorithm())
        if index < 0:
            index = next(i for i in range(self.algo_combo.count()) if self.algo_combo.itemData(i))
        if index == self.algo_combo.currentIndex():
            self._on_algorithm(index)
        else:
            self.algo_combo.setCurrentIndex(index)

    @Slot(int)
    def _on_algorithm(self, _index: int) -> None:
        cls = self.algorithm_class()
        self._loading = True
        self.description.setText(cls.description + ("" if cls.trainable else
                                 " Closed-form: fitting is all the training there is."))
        self.preset_combo.clear()
        self.preset_combo.addItem(NO_PRESET)
        self.preset_combo.addItems(list(cls.presets))
        self.preset_combo.setEnabled(bool(cls.presets))
        self.algo_form.set_specs(cls.Config.field_specs())
        self.train_form.set_defaults(self._train_defaults(cls))
        self.train_form.reset()
        prefs = self.state.prefs
        self._apply_saved(self.algo_form, prefs.train_hparams(cls.name))
        self._apply_saved(self.train_form, prefs.train_outer(cls.name))
        for spec in self.train_specs:
            if spec["name"] not in ("final_test", "seed"):
                self.train_form.editor(spec["name"]).setEnabled(cls.trainable)
        self._loading = False
        prefs.train_algorithm = cls.name
        self.algorithmChanged.emit(cls.name)

    def _train_defaults(self, cls: type) -> dict[str, Any]:
        base = {s["name"]: s["default"] for s in self.train_specs}
        return {**base, **{k: v for k, v in cls.train_defaults.items() if k in base}}

    def _apply_saved(self, form: ConfigForm, values: dict[str, Any]) -> None:
        if not values:
            return
        unknown = form.set_values(values)
        if unknown:
            self.state.log("ignored saved settings that no longer exist: " + ", ".join(unknown),
                           "warning")

    @Slot()
    def _save_settings(self) -> None:
        if self._loading:
            return
        name = self.algorithm()
        self.state.prefs.set_train_hparams(name, self.algo_form.values())
        self.state.prefs.set_train_outer(name, self.train_form.values())

    @Slot()
    def reset_settings(self) -> None:
        self.preset_combo.setCurrentIndex(0)
        self.algo_form.reset()
        self.train_form.reset()

    @Slot(int)
    def _on_preset(self, index: int) -> None:
        name = self.preset_combo.itemText(index)
        self.algo_form.reset()
        self.train_form.reset()
        if name == NO_PRESET:
            return
        algo, train = preset_overrides(self.algorithm(), name)
        self.algo_form.set_values(algo)
        self.train_form.set_values(train)
        self.state.log(f"{self.algorithm_class().title}: preset '{name}' applied")

    def set_locked(self, locked: bool) -> None:
        """While training: nothing that defines the run can change."""
        for w in (self.algo_combo, self.preset_combo, self.algo_form, self.train_form,
                  self.device_combo):
            w.setEnabled(not locked)
        if not locked:
            self.preset_combo.setEnabled(bool(self.algorithm_class().presets))

    # ------------------------------------------------------------------ devices
    @Slot(object)
    def _on_devices(self, devices: list) -> None:
        """Fill the device list: available devices, plus absent kinds shown disabled. The CPU
        entry says how many threads the training process really uses."""
        current = self.state.device
        self.device_combo.blockSignals(True)
        self.device_combo.clear()
        model = self.device_combo.model()
        names = [d.name for d in devices]
        for d in devices:
            label = d.label
            if d.name == "cpu":
                n = training_threads()
                label = (f"CPU (training uses {n} of {os.cpu_count() or n} cores; the rest stay "
                         "with the app)" if n < (os.cpu_count() or n) else f"CPU ({n} threads)")
            self.device_combo.addItem(f"{d.name} — {label}", d.name)
            model.item(self.device_combo.count() - 1).setEnabled(bool(d.available))
        for name, label in (("cuda", "CUDA GPU: none found"), ("mps", "Apple GPU (mps): none found")):
            if not any(n.startswith(name) for n in names):
                self.device_combo.addItem(f"{name} — {label}", name)
                model.item(self.device_combo.count() - 1).setEnabled(False)
        index = self.device_combo.findData(current)
        if index < 0 or not model.item(index).isEnabled():
            if current != "cpu":
                self.state.log(f"device '{current}' is not available here; using cpu", "warning")
            index = self.device_combo.findData("cpu")
        self.device_combo.setCurrentIndex(index)
        self.device_combo.blockSignals(False)
        if self.device_combo.currentData() != current:
            self.state.set_device(self.device_combo.currentData())

    @Slot(int)
    def _on_device(self, _index: int) -> None:
        device = self.device_combo.currentData()
        if device and device != self.state.device:
            self.state.set_device(device)


def _list_devices() -> list:
    from core.devices import available_devices

    return available_devices()


__all__ = ["TrainForm", "NoWheelComboBox"]

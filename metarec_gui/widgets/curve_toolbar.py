"""The controls row above :class:`~.loss_plot.LossPlot`: smoothing slider, log loss axis, x axis
(step or wall time) and the Export menu. It only holds widgets and says what the user asked;
the plot applies it."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QSlider,
    QToolButton,
    QWidget,
)

EXPORT_KINDS = (("Image (PNG)…", "png"), ("Vector image (SVG)…", "svg"), ("Data (CSV)…", "csv"))


class CurveToolbar(QWidget):
    """Smoothing (an EMA weight in [0, 0.999], slider in thousandths), log loss axis, x axis
    ('step' / 'time') and Export (png / svg / csv; disabled until the plot has data)."""

    smoothingChanged = Signal(float)
    logToggled = Signal(bool)
    xModeChanged = Signal(str)
    exportRequested = Signal(str)  # "png", "svg" or "csv"

    def __init__(self, smoothing: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        bar = QHBoxLayout(self)
        bar.setContentsMargins(0, 0, 0, 0)
        bar.setSpacing(8)
        bar.addWidget(QLabel("Smoothing"))
        self.smoothing_slider = QSlider(Qt.Orientation.Horizontal)
        self.smoothing_slider.setRange(0, 999)
        self.smoothing_slider.setValue(int(smoothing * 1000))
        self.smoothing_slider.setFixedWidth(140)
        self.smoothing_slider.setToolTip("Exponential moving average of the loss (TensorBoard-style)")
        self.smoothing_label = QLabel(f"{smoothing:.3f}")
        self.smoothing_label.setMinimumWidth(38)
        self.smoothing_slider.valueChanged.connect(self._on_slider)
        bar.addWidget(self.smoothing_slider)
        bar.addWidget(self.smoothing_label)
        bar.addSpacing(8)
        self.log_check = QCheckBox("Log loss axis")
        self.log_check.toggled.connect(self.logToggled)
        bar.addWidget(self.log_check)
        bar.addSpacing(8)
        bar.addWidget(QLabel("x axis"))
        self.x_combo = QComboBox()
        self.x_combo.addItem("Step", "step")
        self.x_combo.addItem("Wall time (s)", "time")
        self.x_combo.currentIndexChanged.connect(self._on_x_combo)
        bar.addWidget(self.x_combo)
        bar.addStretch(1)
        self.export_button = QToolButton(text="Export")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.export_button)
        for text, kind in EXPORT_KINDS:
            action = QAction(text, menu)
            action.setData(kind)
            action.triggered.connect(self._on_export_action)
            menu.addAction(action)
        self.export_button.setMenu(menu)
        self.export_button.setEnabled(False)
        self.export_button.setToolTip("Save the curves as an image or their data as CSV "
                                      "(once there are curves)")
        bar.addWidget(self.export_button)

    def show_smoothing(self, weight: float) -> None:
        """Show ``weight`` without emitting ``smoothingChanged``."""
        self.smoothing_label.setText(f"{weight:.3f}")
        if self.smoothing_slider.value() != round(weight * 1000):
            self.smoothing_slider.blockSignals(True)
            self.smoothing_slider.setValue(round(weight * 1000))
            self.smoothing_slider.blockSignals(False)

    def show_x_mode(self, mode: str) -> None:
        """Select ``mode`` in the x-axis box (emits ``xModeChanged`` only if it changed)."""
        index = self.x_combo.findData(mode)
        if self.x_combo.currentIndex() != index:
            self.x_combo.setCurrentIndex(index)

    @Slot(int)
    def _on_slider(self, value: int) -> None:
        self.smoothingChanged.emit(value / 1000)

    @Slot(int)
    def _on_x_combo(self, _index: int) -> None:
        self.xModeChanged.emit(self.x_combo.currentData())

    @Slot()
    def _on_export_action(self) -> None:
        self.exportRequested.emit(self.sender().data())

"""Light and dark palettes that follow the system, and plot colours that follow the palette.

``theme()`` is the one :class:`Theme` of the application. Widgets that draw with pyqtgraph call
``style_plot_item`` when built and connect ``theme().changed`` to restyle themselves, because
pyqtgraph's global config only affects plots created afterwards.
"""

from __future__ import annotations

import os

import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

MODES = ("system", "light", "dark")

# Tableau 10: distinguishable, readable on white and on near-black.
RUN_COLORS = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
)
RUN_COLORS_DARK = (
    "#6b9bd1", "#ffa24d", "#ff6f72", "#8fd6d0", "#74c567",
    "#f5d55b", "#cc94bf", "#ffb3bb", "#c1977a", "#d0c8c3",
)


def _dark_palette() -> QPalette:
    p = QPalette()
    window, base, text = QColor("#26282b"), QColor("#1d1f21"), QColor("#e2e2e2")
    disabled = QColor("#7a7d80")
    roles = {
        QPalette.ColorRole.Window: window,
        QPalette.ColorRole.WindowText: text,
        QPalette.ColorRole.Base: base,
        QPalette.ColorRole.AlternateBase: QColor("#2b2d30"),
        QPalette.ColorRole.ToolTipBase: QColor("#33363a"),
        QPalette.ColorRole.ToolTipText: text,
        QPalette.ColorRole.PlaceholderText: QColor("#8a8d90"),
        QPalette.ColorRole.Text: text,
        QPalette.ColorRole.Button: QColor("#303236"),
        QPalette.ColorRole.ButtonText: text,
        QPalette.ColorRole.BrightText: QColor("#ff6f72"),
        QPalette.ColorRole.Light: QColor("#3a3d41"),
        QPalette.ColorRole.Midlight: QColor("#34373a"),
        QPalette.ColorRole.Mid: QColor("#2a2c2f"),
        QPalette.ColorRole.Dark: QColor("#17181a"),
        QPalette.ColorRole.Shadow: QColor("#0c0c0d"),
        QPalette.ColorRole.Highlight: QColor("#3d7bd9"),
        QPalette.ColorRole.HighlightedText: QColor("#ffffff"),
        QPalette.ColorRole.Link: QColor("#6ea8ff"),
        QPalette.ColorRole.LinkVisited: QColor("#b89cff"),
    }
    for role, color in roles.items():
        p.setColor(role, color)
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText,
                 QPalette.ColorRole.ButtonText, QPalette.ColorRole.HighlightedText):
        p.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Highlight, QColor("#4a4d50"))
    return p


def _light_palette() -> QPalette:
    p = QApplication.style().standardPalette() if QApplication.instance() else QPalette()
    p.setColor(QPalette.ColorRole.Window, QColor("#f3f3f3"))
    p.setColor(QPalette.ColorRole.Base, QColor("#ffffff"))
    p.setColor(QPalette.ColorRole.AlternateBase, QColor("#f6f7f9"))
    p.setColor(QPalette.ColorRole.Highlight, QColor("#2f6fcf"))
    p.setColor(QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
    return p


class Theme(QObject):
    """The application's colour scheme: 'system' (default), 'light' or 'dark'."""

    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._mode = os.environ.get("METAREC_THEME", "system")
        if self._mode not in MODES:
            self._mode = "system"
        self._connected = False

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def is_dark(self) -> bool:
        if self._mode != "system":
            return self._mode == "dark"
        app = QGuiApplication.instance()
        if app is None:
            return False
        return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"theme must be one of {', '.join(MODES)}")
        self._mode = mode
        self.apply()

    def apply(self) -> None:
        """Set the Fusion style, the palette and pyqtgraph's defaults, then emit ``changed``."""
        app = QApplication.instance()
        if app is None:
            return
        if not self._connected:
            QGuiApplication.styleHints().colorSchemeChanged.connect(self._on_system_changed)
            self._connected = True
        app.setStyle("Fusion")
        app.setPalette(_dark_palette() if self.is_dark else _light_palette())
        pg.setConfigOptions(background=self.plot_background(), foreground=self.plot_foreground(),
                            antialias=True)
        self.changed.emit()

    def _on_system_changed(self, _scheme: Qt.ColorScheme) -> None:
        if self._mode == "system":
            self.apply()

    # ------------------------------------------------------------ colours
    def plot_background(self) -> str:
        return "#1d1f21" if self.is_dark else "#ffffff"

    def plot_foreground(self) -> str:
        return "#c8c8c8" if self.is_dark else "#3a3a3a"

    def grid_alpha(self) -> float:
        return 0.18 if self.is_dark else 0.25

    def accent(self) -> str:
        return RUN_COLORS_DARK[0] if self.is_dark else RUN_COLORS[0]

    def muted(self) -> str:
        return "#8a8d90" if self.is_dark else "#6b6e72"

    def run_color(self, index: int) -> QColor:
        colors = RUN_COLORS_DARK if self.is_dark else RUN_COLORS
        return QColor(colors[index % len(colors)])

    def level_color(self, level: str) -> str:
        """Text colour of a log level."""
        if level == "error":
            return "#ff7b72" if self.is_dark else "#c62828"
        if level == "warning":
            return "#e3b341" if self.is_dark else "#9a6700"
        return self.plot_foreground()


_THEME: Theme | None = None
_RUN_SLOTS: dict[str, int] = {}


def run_key(key: str) -> str:
    """The identity of a run for colouring: its folder name (a Train-page key, a Compare path,
    a 'watch:' key and a K-shot series of the same run all map to it)."""
    from pathlib import PurePath

    text = str(key).removeprefix("watch:").rstrip("/\\")
    return PurePath(text).name or text


def run_color_index(key: str) -> int:
    """The one colour assignment of the app: a run gets the next palette slot the first time
    any page draws it, and keeps it for the session on every page (Train, Compare, K-shot)."""
    name = run_key(key)
    if name not in _RUN_SLOTS:
        _RUN_SLOTS[name] = len(_RUN_SLOTS)
    return _RUN_SLOTS[name]


def run_color(key: str) -> QColor:
    """The colour of a run (see :func:`run_color_index`), in the current theme."""
    return theme().run_color(run_color_index(key))


def theme() -> Theme:
    """The application's theme (created on first use)."""
    global _THEME
    if _THEME is None:
        _THEME = Theme()
    return _THEME


def style_plot_item(plot: pg.PlotItem) -> None:
    """Colour a PlotItem's axes, labels, title and grid with the current theme."""
    t = theme()
    fg = t.plot_foreground()
    for name in ("left", "bottom", "right", "top"):
        axis = plot.getAxis(name)
        axis.setPen(pg.mkPen(fg))
        axis.setTextPen(pg.mkPen(fg))
        if axis.label is not None and axis.labelText:
            axis.setLabel(axis.labelText, units=axis.labelUnits, color=fg)
    if plot.titleLabel.text:
        plot.setTitle(plot.titleLabel.text, color=fg)
    if plot.ctrl.xGridCheck.isChecked() or plot.ctrl.yGridCheck.isChecked():
        plot.showGrid(x=plot.ctrl.xGridCheck.isChecked(), y=plot.ctrl.yGridCheck.isChecked(),
                      alpha=t.grid_alpha())
    if plot.legend is not None:
        plot.legend.setLabelTextColor(fg)
        plot.legend.setBrush(pg.mkBrush(QColor(t.plot_background()).darker(105 if not t.is_dark else 90)))
        plot.legend.setPen(pg.mkPen(QColor(fg).lighter(100), width=0.5))


def style_view(view: pg.GraphicsView) -> None:
    """Colour a PlotWidget / GraphicsLayoutWidget background and every PlotItem it shows."""
    view.setBackground(theme().plot_background())
    for item in view.scene().items():
        if isinstance(item, pg.PlotItem):
            style_plot_item(item)

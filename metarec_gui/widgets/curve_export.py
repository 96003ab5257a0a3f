"""The hover readout and the exports (PNG, SVG, CSV) of :class:`~.loss_plot.LossPlot`
(a mixin: it reads the plot's runs, plots and theme)."""

from __future__ import annotations

import csv
from pathlib import Path

from PySide6.QtCore import Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QFileDialog

from ..theme import theme
from .curve_data import fmt_x as _fmt_x
from .curve_data import nearest as _nearest
from .curve_data import num as _num


class CurveReadoutAndExport:
    """Values under the mouse; exports of the plots and their data."""

    # ------------------------------------------------------------------ hover
    def _on_mouse_moved(self, args: tuple) -> None:
        pos = args[0]
        plot = next((p for p in self._all_plots() if p.sceneBoundingRect().contains(pos)), None)
        if plot is None or not self._runs:
            for line in self._cursor_lines:
                line.setVisible(False)
            return
        x = plot.vb.mapSceneToView(pos).x()
        if plot.ctrl.logXCheck.isChecked():
            x = 10**x
        for line in self._cursor_lines:
            line.setPos(x)
            line.setVisible(True)
        self.readout.setText(self.describe_at(x, metrics=plot is not self.loss_plot))

    def describe_at(self, x: float, metrics: bool = False) -> str:
        """Rich text with each visible run's values nearest to ``x`` (the hover readout)."""
        parts = []
        xname = "step" if self._x_mode == "step" else "t"
        for run in self._runs.values():
            if not run.visible:
                continue
            color = theme().run_color(run.color_index).name()
            swatch = f'<span style="color:{color}">■</span>'
            if metrics:
                xs = run.epoch_steps.view() if self._x_mode == "step" else run.epoch_times.view()
                i = _nearest(xs, x)
                if i is None:
                    continue
                vals = " ".join(f"{n.removeprefix('val_')} {run.metrics[n].view()[i]:.4f}"
                                for n in self._shown if n in run.metrics
                                and run.metrics[n].n > i)
                parts.append(f"{swatch} {run.label}: {xname} {_fmt_x(xs[i])} · {vals}")
            else:
                xs = run.steps.view() if self._x_mode == "step" else run.times.view()
                i = _nearest(xs, x)
                if i is None:
                    continue
                parts.append(f"{swatch} {run.label}: {xname} {_fmt_x(xs[i])} · loss "
                             f"{run.losses.view()[i]:.4f} (smoothed {run.smoothed.view()[i]:.4f})")
        return "&nbsp;&nbsp;&nbsp;".join(parts) or " "

    # ------------------------------------------------------------------ export
    @Slot(str)
    def export_dialog(self, kind: str) -> None:
        """Ask for a file name and export (``kind``: "png", "svg" or "csv")."""
        filters = {"png": "PNG image (*.png)", "svg": "SVG image (*.svg)", "csv": "CSV (*.csv)"}
        path, _ = QFileDialog.getSaveFileName(self, "Export curves", f"curves.{kind}", filters[kind])
        if not path:
            return
        if not path.lower().endswith(f".{kind}"):
            path += f".{kind}"
        {"png": self.export_png, "svg": self.export_svg, "csv": self.export_csv}[kind](path)

    def export_png(self, path: str | Path, width: int | None = None) -> None:
        """The plots as a PNG (``width`` in pixels; default twice the on-screen width)."""
        from pyqtgraph.exporters import ImageExporter

        self.flush()
        exporter = ImageExporter(self.graphics.ci)
        exporter.parameters()["width"] = int(width or max(800, 2 * self.graphics.width()))
        exporter.parameters()["antialias"] = True
        exporter.export(str(path))

    def export_svg(self, path: str | Path) -> None:
        """The plots as an SVG vector image (rendered by QtSvg: pyqtgraph 0.14's SVG exporter
        cannot parse the path data Qt 6 writes)."""
        from PySide6.QtCore import QRectF, QSize
        from PySide6.QtGui import QPainter
        from PySide6.QtSvg import QSvgGenerator

        self.flush()
        scene = self.graphics.scene()
        rect = self.graphics.ci.sceneBoundingRect()
        generator = QSvgGenerator()
        generator.setFileName(str(path))
        generator.setSize(QSize(int(rect.width()), int(rect.height())))
        generator.setViewBox(QRectF(0, 0, rect.width(), rect.height()))
        generator.setTitle("MetaRec training curves")
        painter = QPainter(generator)
        try:
            painter.fillRect(QRectF(0, 0, rect.width(), rect.height()),
                             QColor(theme().plot_background()))
            scene.render(painter, QRectF(0, 0, rect.width(), rect.height()), rect)
        finally:
            painter.end()

    def export_csv(self, path: str | Path) -> None:
        """Tidy CSV: run, label, series (loss, loss_smoothed, metric names), step, wall_time, value."""
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["run", "label", "series", "step", "wall_time", "value"])
            for run in self._runs.values():
                steps, times = run.steps.view(), run.times.view()
                for series, values in (("loss", run.losses.view()),
                                       ("loss_smoothed", run.smoothed.view())):
                    for s, t, v in zip(steps, times, values, strict=True):
                        w.writerow([run.key, run.label, series, _num(s), _num(t), _num(v)])
                es, et = run.epoch_steps.view(), run.epoch_times.view()
                for name, buf in run.metrics.items():
                    for s, t, v in zip(es, et, buf.view(), strict=False):
                        w.writerow([run.key, run.label, name, _num(s), _num(t), _num(v)])


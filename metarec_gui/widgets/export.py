"""Saving pyqtgraph charts as PNG or SVG.

PNG goes through pyqtgraph's ``ImageExporter``. SVG is rendered with Qt's ``QSvgGenerator``:
pyqtgraph 0.14's ``SVGExporter`` fails on every plot with PySide6 6.11
(``correctCoordinates``: "not enough values to unpack", pyqtgraph issue #3485), because Qt's
SVG paths no longer use 'x,y' pairs.
"""

from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
from pyqtgraph.exporters import ImageExporter
from PySide6.QtCore import QRectF, QSize
from PySide6.QtGui import QColor, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QGraphicsItem

CHART_FILTER = "PNG image (*.png);;SVG vector image (*.svg)"


def export_chart(item: QGraphicsItem, path: str | Path, background: str | QColor, width: int = 1600) -> Path:
    """Write ``item`` (a PlotItem or a GraphicsLayout) to ``path``; the suffix picks the format."""
    path = Path(path)
    if path.suffix.lower() not in (".png", ".svg"):
        path = path.with_suffix(".png")
    if path.suffix.lower() == ".svg":
        _export_svg(item, path, QColor(background))
    else:
        exporter = ImageExporter(item)
        exporter.parameters()["width"] = width
        exporter.parameters()["background"] = QColor(background)
        exporter.export(str(path))
    return path


def _export_svg(item: QGraphicsItem, path: Path, background: QColor) -> None:
    scene = item.scene()
    source = item.sceneBoundingRect()
    target = QRectF(0, 0, source.width(), source.height())
    generator = QSvgGenerator()
    generator.setFileName(str(path))
    generator.setSize(QSize(int(source.width()), int(source.height())))
    generator.setViewBox(target)
    generator.setTitle(path.stem)
    generator.setDescription("MetaRec chart")
    painter = QPainter(generator)
    try:
        painter.fillRect(target, background)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, pg.getConfigOption("antialias"))
        scene.render(painter, target, source)
    finally:
        painter.end()

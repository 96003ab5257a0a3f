"""A star rating control for any rating scale, and a delegate that paints stars in tables.

A scale whose values are half-steps from 0.5 (MovieLens: 0.5..5) shows ``max`` stars with half
stars; any other scale shows one star per allowed value (1..5 -> 5 stars, 1..10 -> 10 stars,
a continuous scale -> its 11 points). No star filled means "not rated".

Mouse: click a star for its whole value; click the left part of a star (its first
``HALF_ZONE`` = 40 % of the width) for the half value below it, so that a click on the middle of
the 5th star gives 5, not 4.5. Click the current value again to clear. Stars are ``STAR_SIZE``
(24) px: a comfortable target. Keyboard: Left/Right or -/+ step, Home/End, digits 1-9 jump,
Shift+digit the half star below it (Shift+4 = 3.5), Delete/Backspace/0 clear.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from PySide6.QtCore import (
    QAbstractItemModel,
    QEvent,
    QModelIndex,
    QPointF,
    QRect,
    QRectF,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPalette,
    QPolygonF,
)
from PySide6.QtWidgets import (
    QSizePolicy,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionFocusRect,
    QStyleOptionViewItem,
    QWidget,
)

STAR_GOLD = QColor("#f5b301")
STAR_HOVER = QColor("#f7c948")
STAR_EMPTY = QColor("#9aa0a6")
STAR_SIZE = 24  # px per star: the click target (the painted star is a little smaller)
HALF_ZONE = 0.4  # the left 40 % of a star gives its half value (the middle gives the whole)
# Shift+digit on a US layout arrives as the shifted symbol: map it back to the digit.
SHIFTED_DIGITS = {
    Qt.Key.Key_Exclam: 1, Qt.Key.Key_At: 2, Qt.Key.Key_NumberSign: 3, Qt.Key.Key_Dollar: 4,
    Qt.Key.Key_Percent: 5, Qt.Key.Key_AsciiCircum: 6, Qt.Key.Key_Ampersand: 7,
    Qt.Key.Key_Asterisk: 8, Qt.Key.Key_ParenLeft: 9,
}


class StarGeometry:
    """Maps rating values to filled stars and positions back to values for one scale."""

    def __init__(self, values: Sequence[float]) -> None:
        vals = [float(v) for v in values]
        if not vals:
            raise ValueError("a rating scale needs at least one value")
        self.values = vals
        lo, hi = vals[0], vals[-1]
        steps = {round(b - a, 6) for a, b in zip(vals, vals[1:], strict=False)}
        # Half-star mode: 0.5, 1.0, ..., max (e.g. MovieLens 0.5-5); whole-star mode: 1..max.
        self.half = steps == {0.5} and lo == 0.5 and hi <= 10
        self.whole = steps == {1.0} and lo == 1.0 and hi <= 10
        if self.half or self.whole:
            self.stars = int(math.ceil(hi))
        else:
            self.stars = len(vals)

    def filled(self, value: float | None) -> float:
        """Number of filled stars (may end in .5) for a value; 0 for no rating."""
        if value is None:
            return 0.0
        if self.half or self.whole:
            return float(value)
        return float(self.index_of(value) + 1)

    def index_of(self, value: float) -> int:
        return min(range(len(self.values)), key=lambda i: abs(self.values[i] - value))

    def value_at(self, x: float, star_w: float) -> float:
        """The value under horizontal position ``x`` (pixels from the first star's left edge)."""
        pos = max(0.0, x) / star_w  # in stars
        if self.half:
            star = min(int(pos), self.stars - 1)  # 0-based star under x
            frac = pos - star
            amount = star + (0.5 if frac < HALF_ZONE else 1.0)
            amount = min(max(amount, 0.5), float(self.stars))
            return self.values[self.index_of(amount)]
        idx = min(int(pos), self.stars - 1)
        if self.whole:
            return self.values[self.index_of(idx + 1)]
        return self.values[idx]

    def label(self, value: float | None) -> str:
        return "not rated" if value is None else f"{value:g}"

    def key_value(self, digit: int, shift: bool = False) -> float | None:
        """The value for digit key ``digit`` (Shift: the half star below it), or None."""
        if not 1 <= digit <= self.stars:
            return None
        if self.half or self.whole:
            target = digit - 0.5 if (shift and self.half) else float(digit)
            return self.values[self.index_of(target)]
        return self.values[digit - 1]


def _star_polygon(rect: QRectF) -> QPolygonF:
    cx, cy = rect.center().x(), rect.center().y() + rect.height() * 0.04
    outer, inner = rect.width() * 0.5, rect.width() * 0.2
    points = []
    for i in range(10):
        r = outer if i % 2 == 0 else inner
        angle = math.pi / 2 + i * math.pi / 5
        points.append(QPointF(cx + r * math.cos(angle), cy - r * math.sin(angle)))
    return QPolygonF(points)


def paint_stars(
    painter: QPainter,
    rect: QRect | QRectF,
    geometry: StarGeometry,
    filled: float,
    *,
    star_size: float,
    color: QColor = STAR_GOLD,
    empty: QColor = STAR_EMPTY,
) -> None:
    """Paint ``geometry.stars`` stars left-aligned and vertically centred in ``rect``."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    top = rect.top() + (rect.height() - star_size) / 2
    for i in range(geometry.stars):
        cell = QRectF(rect.left() + i * star_size, top, star_size, star_size)
        star = QPainterPath()
        star.addPolygon(_star_polygon(cell.adjusted(1.5, 1.5, -1.5, -1.5)))
        star.closeSubpath()
        amount = min(max(filled - i, 0.0), 1.0)
        if amount > 0:
            painter.save()
            painter.setClipRect(QRectF(cell.left(), cell.top(), cell.width() * amount, cell.height()))
            painter.fillPath(star, color)
            painter.restore()
        painter.setPen(color.darker(130) if amount > 0 else empty)
        painter.drawPath(star)
    painter.restore()


class StarRating(QWidget):
    """An editable star rating; ``valueChanged`` carries the new value or ``None`` (cleared)."""

    valueChanged = Signal(object)

    def __init__(self, values: Sequence[float], parent: QWidget | None = None, star_size: int = STAR_SIZE) -> None:
        super().__init__(parent)
        self._geo = StarGeometry(values)
        self._value: float | None = None
        self._hover: float | None = None
        self._star = star_size
        self._read_only = False
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setAccessibleName("Star rating")
        self._update_tooltip()

    # ------------------------------------------------------------------ API
    @property
    def geometry_model(self) -> StarGeometry:
        return self._geo

    def values(self) -> list[float]:
        return list(self._geo.values)

    def set_values(self, values: Sequence[float]) -> None:
        """Switch to another rating scale; the current value is cleared without a signal."""
        self._geo = StarGeometry(values)
        self._value = None
        self._hover = None
        self._update_tooltip()
        self.updateGeometry()
        self.update()

    def value(self) -> float | None:
        return self._value

    def setValue(self, value: float | None, *, emit: bool = True) -> None:
        """Set a value (snapped to the nearest allowed one) or ``None`` to clear."""
        if value is not None:
            value = self._geo.values[self._geo.index_of(float(value))]
        if value == self._value:
            return
        self._value = value
        self._update_tooltip()
        self.update()
        if emit:
            self.valueChanged.emit(value)

    def clear(self) -> None:
        self.setValue(None)

    def setReadOnly(self, read_only: bool) -> None:
        self._read_only = read_only
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus if read_only else Qt.FocusPolicy.StrongFocus)

    # ------------------------------------------------------------------ Qt
    def sizeHint(self) -> QSize:
        return QSize(self._geo.stars * self._star + 4, self._star + 4)

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        area = QRectF(2, 0, self._geo.stars * self._star, self.height())
        if self._hover is not None and not self._read_only:
            paint_stars(painter, area, self._geo, self._geo.filled(self._hover), star_size=self._star, color=STAR_HOVER)
        else:
            paint_stars(painter, area, self._geo, self._geo.filled(self._value), star_size=self._star)
        if self.hasFocus():
            option = QStyleOptionFocusRect()
            option.initFrom(self)
            option.backgroundColor = self.palette().color(QPalette.ColorRole.Window)
            self.style().drawPrimitive(QStyle.PrimitiveElement.PE_FrameFocusRect, option, painter, self)
        painter.end()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if not self._read_only:
            self._hover = self._value_at(event.position().x())
            self.setToolTip(self._geo.label(self._hover))
            self.update()

    def leaveEvent(self, event: QEvent) -> None:
        self._hover = None
        self._update_tooltip()
        self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._read_only or event.button() != Qt.MouseButton.LeftButton:
            return
        value = self._value_at(event.position().x())
        self.setValue(None if value == self._value else value)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self._read_only:
            super().keyPressEvent(event)
            return
        key = event.key()
        vals = self._geo.values
        idx = None if self._value is None else self._geo.index_of(self._value)
        if key in (Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.setValue(vals[0] if idx is None else vals[min(idx + 1, len(vals) - 1)])
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Down, Qt.Key.Key_Minus):
            self.setValue(None if idx in (None, 0) else vals[idx - 1])
        elif key == Qt.Key.Key_Home:
            self.setValue(vals[0])
        elif key == Qt.Key.Key_End:
            self.setValue(vals[-1])
        elif key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace, Qt.Key.Key_0):
            self.clear()
        elif Qt.Key.Key_1 <= key <= Qt.Key.Key_9 or key in SHIFTED_DIGITS:
            digit = SHIFTED_DIGITS.get(key, key - Qt.Key.Key_0)
            shift = key in SHIFTED_DIGITS or bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            target = self._geo.key_value(digit, shift)
            if target is not None:
                self.setValue(target)
        else:
            super().keyPressEvent(event)

    # ------------------------------------------------------------------ helpers
    def _value_at(self, x: float) -> float:
        return self._geo.value_at(x - 2, self._star)

    def _update_tooltip(self) -> None:
        self.setToolTip(
            f"Rating: {self._geo.label(self._value)} — click a star (its left part: half a star), "
            "click again to clear; keys 1-5, Shift+digit for a half, arrows, Delete"
        )
        self.setAccessibleDescription(self._geo.label(self._value))


class StarDelegate(QStyledItemDelegate):
    """Paints the numeric value of ``Qt.EditRole`` as stars; a click sets the value via
    ``model.setData`` (clicking the current value clears it to ``None``)."""

    def __init__(self, values: Sequence[float], parent: QWidget | None = None, star_size: int = STAR_SIZE) -> None:
        super().__init__(parent)
        self._geo = StarGeometry(values)
        self._star = star_size

    @property
    def star_size(self) -> int:
        return self._star

    def set_values(self, values: Sequence[float]) -> None:
        self._geo = StarGeometry(values)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        self.initStyleOption(option, index)
        option.text = ""
        widget = option.widget
        style = widget.style() if widget is not None else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter, widget)
        value = index.data(Qt.ItemDataRole.EditRole)
        filled = self._geo.filled(None if value is None else float(value))
        rect = option.rect.adjusted(4, 0, 0, 0)
        paint_stars(painter, rect, self._geo, filled, star_size=self._star)

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        return QSize(self._geo.stars * self._star + 8, self._star + 4)

    def editorEvent(
        self, event: QEvent, model: QAbstractItemModel, option: QStyleOptionViewItem, index: QModelIndex
    ) -> bool:
        if not (index.flags() & Qt.ItemFlag.ItemIsEditable):
            return False
        if event.type() == QEvent.Type.MouseButtonRelease and isinstance(event, QMouseEvent):
            x = event.position().x() - option.rect.left() - 4
            if x < 0 or x > self._geo.stars * self._star:
                return False
            value = self._geo.value_at(x, self._star)
            current = index.data(Qt.ItemDataRole.EditRole)
            new = None if current is not None and float(current) == value else value
            model.setData(index, new, Qt.ItemDataRole.EditRole)
            return True
        return event.type() in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick)

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: QModelIndex) -> QWidget:
        editor = StarRating(self._geo.values, parent, star_size=self._star)
        editor.setAutoFillBackground(True)
        editor.valueChanged.connect(lambda _v, e=editor: self.commitData.emit(e))
        return editor

    def setEditorData(self, editor: QWidget, index: QModelIndex) -> None:
        value = index.data(Qt.ItemDataRole.EditRole)
        assert isinstance(editor, StarRating)
        editor.setValue(None if value is None else float(value), emit=False)

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: QModelIndex) -> None:
        assert isinstance(editor, StarRating)
        model.setData(index, editor.value(), Qt.ItemDataRole.EditRole)

"""A dockable log of what the application did: AppState.logMessage lines, coloured by level."""

from __future__ import annotations

import html
import time

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QGuiApplication, QTextCursor
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QPlainTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..theme import theme

LEVELS = ("info", "warning", "error")


class LogPanel(QDockWidget):
    """Timestamped, level-filtered messages; keeps the last ``max_lines`` lines."""

    def __init__(self, parent: QWidget | None = None, max_lines: int = 5000) -> None:
        super().__init__("Log", parent)
        self.setObjectName("LogDock")
        self.setAllowedAreas(Qt.DockWidgetArea.BottomDockWidgetArea
                             | Qt.DockWidgetArea.RightDockWidgetArea)
        self._entries: list[tuple[str, str, str]] = []  # (time, level, text)
        self._max = max_lines

        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(6, 2, 6, 6)
        layout.setSpacing(4)
        bar = QHBoxLayout()
        bar.setSpacing(4)
        self.level_box = QComboBox()
        self.level_box.addItems(["All messages", "Warnings and errors", "Errors only"])
        self.level_box.setToolTip("Show messages at or above this level")
        self.level_box.currentIndexChanged.connect(self._refill)
        copy = QToolButton(text="Copy")
        copy.setToolTip("Copy the visible log to the clipboard")
        copy.clicked.connect(self._copy)
        clear = QToolButton(text="Clear")
        clear.clicked.connect(self.clear)
        bar.addWidget(self.level_box)
        bar.addStretch(1)
        bar.addWidget(copy)
        bar.addWidget(clear)
        layout.addLayout(bar)

        self.view = QPlainTextEdit()
        self.view.setReadOnly(True)
        self.view.setMaximumBlockCount(max_lines)
        self.view.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.view.setPlaceholderText("Messages from loading, training and evaluation appear here.")
        layout.addWidget(self.view)
        self.setWidget(body)
        theme().changed.connect(self._refill)

    @Slot(str, str)
    def append(self, level: str, text: str) -> None:
        """Add one message (slot for ``AppState.logMessage``)."""
        level = level if level in LEVELS else "info"
        entry = (time.strftime("%H:%M:%S"), level, text)
        self._entries.append(entry)
        if len(self._entries) > self._max:
            del self._entries[: len(self._entries) - self._max]
        if self._shown(level):
            self._write(entry)

    def messages(self) -> list[tuple[str, str]]:
        """(level, text) of every message kept."""
        return [(level, text) for _, level, text in self._entries]

    @Slot()
    def clear(self) -> None:
        self._entries.clear()
        self.view.clear()

    def _shown(self, level: str) -> bool:
        return LEVELS.index(level) >= self.level_box.currentIndex()

    def _write(self, entry: tuple[str, str, str]) -> None:
        stamp, level, text = entry
        color = theme().level_color(level)
        muted = theme().muted()
        tag = "" if level == "info" else f"<b>{level.upper()}</b> "
        self.view.appendHtml(
            f'<span style="color:{muted}">{stamp}</span> '
            f'<span style="color:{color}">{tag}{html.escape(text)}</span>'
        )
        self.view.moveCursor(QTextCursor.MoveOperation.End)

    @Slot()
    def _refill(self) -> None:
        self.view.clear()
        for entry in self._entries:
            if self._shown(entry[1]):
                self._write(entry)

    @Slot()
    def _copy(self) -> None:
        QGuiApplication.clipboard().setText(self.view.toPlainText())

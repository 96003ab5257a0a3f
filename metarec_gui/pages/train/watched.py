"""Runs followed live (File > Watch run…) drawn on the Train page beside its own runs."""

from __future__ import annotations

from PySide6.QtCore import QObject, Slot


def watch_key(path: str) -> str:
    """The loss-plot key of a watched run (apart from this page's own runs, keyed by folder)."""
    return f"watch:{path}"


class WatchedRuns(QObject):
    """Feeds the watcher's rows into the page's plot and its status line."""

    def __init__(self, state, plot, label, parent: QObject | None = None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.state, self.plot, self.label = state, plot, label
        watcher = state.watcher
        watcher.watchStarted.connect(self._on_started)
        watcher.rowsArrived.connect(self._on_rows)
        watcher.rowsReset.connect(self._on_started)
        watcher.labelChanged.connect(self._on_label)
        watcher.changed.connect(self._on_changed)
        for watch in watcher.watches():
            self._on_started(watch.key)
        self._on_changed()

    @Slot(str)
    def _on_started(self, path: str) -> None:
        watch = self.state.watcher.get(path)
        if watch is not None:
            watch.data().show(self.plot, watch_key(path), watch.label)

    @Slot(str, object)
    def _on_rows(self, path: str, chunk) -> None:  # noqa: ANN001
        key = watch_key(path)
        if self.plot.has_run(key):
            chunk.feed(self.plot, key)

    @Slot()
    def _on_changed(self) -> None:
        watches = self.state.watcher.watches()
        self.label.setVisible(bool(watches))
        self.label.setText("   ·   ".join(w.describe() for w in watches))

    @Slot(str, str)
    def _on_label(self, path: str, label: str) -> None:
        key = watch_key(path)
        if self.plot.has_run(key):
            self.plot.set_label(key, label)

"""Opening and closing the real main window in GUI tests (one place for the ritual)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

from metarec_gui.app import MainWindow
from metarec_gui.state import AppState
from metarec_gui.workers import running_jobs


def open_window(qtbot, settings_path: Path, dataset=None, start: bool = True) -> MainWindow:  # noqa: ANN001
    """A shown MainWindow with isolated settings; ``start`` builds every page and waits."""
    state = AppState(QSettings(str(settings_path), QSettings.Format.IniFormat))
    window = MainWindow(state, autoload=False)
    qtbot.addWidget(window)
    if dataset is not None:
        state.set_dataset(dataset, "synthetic")
    window.show()
    if start:
        with qtbot.waitSignal(window.pagesReady, timeout=30000):
            window.start()
        qtbot.waitUntil(lambda: not running_jobs(), timeout=10000)
    return window


def close_window(qtbot, window: MainWindow) -> None:  # noqa: ANN001
    """Close and wait until the window is hidden and no worker thread is left. Unsaved
    Cold-start ratings are discarded without the Save / Discard / Cancel question (that question
    has its own test in test_gui_app.py)."""
    cold = getattr(window, "_pages", {}).get("coldstart")
    if cold is not None and cold.has_unsaved_changes():
        cold.confirm_discard = lambda parent: True
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible() and not running_jobs(), timeout=10000)

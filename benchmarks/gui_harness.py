"""The app's main window on the built-in data for GUI benchmarks (bench_gui, bench_soak): a
throw-away workspace and settings file, the window shown at 1360x860, started, data loaded."""

from __future__ import annotations

import os
from pathlib import Path


def wait_for(signal, timeout_ms: int = 60_000) -> None:  # noqa: ANN001
    """Run the event loop until ``signal`` fires or ``timeout_ms`` passes."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    signal.connect(loop.quit)
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()


def open_main_window(tmp: str | Path, timeout_ms: int = 60_000):  # noqa: ANN201
    """(QApplication, MainWindow) with its pages built and the dataset loaded; workspace and
    settings live under ``tmp``."""
    from PySide6.QtCore import QSettings, QTimer

    from metarec_gui.app import STYLE_SHEET, MainWindow, create_app
    from metarec_gui.state import AppState
    from metarec_gui.theme import theme

    os.environ["METAREC_WORKSPACE"] = str(Path(tmp) / "ws")
    app = create_app([])
    theme().apply()
    app.setStyleSheet(STYLE_SHEET)
    window = MainWindow(AppState(QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat)))
    window.resize(1360, 860)
    window.show()
    QTimer.singleShot(0, window.start)
    wait_for(window.pagesReady, timeout_ms)
    if window.state.dataset is None:
        wait_for(window.data_page.loadFinished, timeout_ms)
    return app, window

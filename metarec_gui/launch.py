"""Starting the app: the platform check, the QApplication, the window, and signal handling."""

from __future__ import annotations

import os
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from .app import STYLE_SHEET, MainWindow, _settings
from .settings import Settings
from .state import AppState
from .theme import MODES, theme


def create_app(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName("MetaRec")
    app.setOrganizationName("MetaRec")
    app.setApplicationDisplayName("MetaRec")
    return app


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``metarec-gui`` script."""
    from .platform_check import platform_problem

    problem = platform_problem()
    if problem:
        sys.stderr.write(problem + "\n")
        return 1
    app = create_app(argv)
    settings = _settings()
    mode = Settings(settings).theme
    if mode in MODES and "METAREC_THEME" not in os.environ:
        theme().set_mode(mode)  # applies it
    else:
        theme().apply()
    app.setStyleSheet(STYLE_SHEET)
    window = MainWindow(AppState(settings))
    window.show()
    QTimer.singleShot(0, window.start)
    install_terminate_handler(window)
    return app.exec()


def install_terminate_handler(window: MainWindow) -> None:
    """SIGTERM (and SIGINT/SIGHUP) close the app like Quit, without asking: a training run is
    stopped and written as cancelled first. Python runs signal handlers only when it holds the
    interpreter, so a timer hands it control a few times a second."""
    import signal

    def handler(signum: int, _frame) -> None:  # noqa: ANN001
        QTimer.singleShot(0, lambda: window.terminate(signum))

    for name in ("SIGTERM", "SIGINT", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), handler)
    timer = QTimer(window)
    timer.setInterval(200)
    timer.timeout.connect(lambda: None)
    timer.start()


if __name__ == "__main__":
    raise SystemExit(main())

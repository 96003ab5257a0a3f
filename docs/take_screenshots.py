"""Reproduce the screenshots in docs/ from the real app (a real window, e.g. under Xvfb).

    xvfb-run -s "-screen 0 1440x900x24" .venv/bin/python docs/take_screenshots.py
    xvfb-run -s "-screen 0 1440x900x24" .venv/bin/python docs/take_screenshots.py train --dark

Each page is a *scene*: a function that brings the window into a realistic state and returns
when it is ready to grab. Add a page by writing ``scene_<name>(shot)`` and listing it in
``SCENES``; ``shot.wait_for(signal)`` / ``shot.wait_until(predicate)`` keep the event loop
running while the app works. Settings and the workspace live in a temporary folder, so the
shots never depend on (or change) the user's own.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


class Shot:
    """The running app and helpers for scenes."""

    def __init__(self, dark: bool, size: tuple[int, int]) -> None:
        tmp = Path(tempfile.mkdtemp(prefix="metarec-shots-"))
        os.environ["METAREC_SETTINGS"] = str(tmp / "settings.ini")
        os.environ["METAREC_WORKSPACE"] = str(tmp / "workspace")
        os.environ["METAREC_THEME"] = "dark" if dark else "light"
        from metarec_gui.app import STYLE_SHEET, MainWindow, _settings, create_app
        from metarec_gui.state import AppState
        from metarec_gui.theme import theme

        self.app = create_app([])
        theme().apply()
        self.app.setStyleSheet(STYLE_SHEET)
        self.window = MainWindow(AppState(_settings()))
        self.window.resize(*size)
        self.window.show()
        self.window.start()
        self.wait_for(self.window.pagesReady, 60)
        self.wait_until(lambda: self.window.state.dataset is not None, 60)

    def wait_for(self, signal, timeout_s: float = 60) -> None:  # noqa: ANN001
        from PySide6.QtCore import QEventLoop, QTimer

        loop = QEventLoop()
        signal.connect(loop.quit)
        QTimer.singleShot(int(timeout_s * 1000), loop.quit)
        loop.exec()

    def wait_until(self, predicate: Callable[[], bool], timeout_s: float = 60) -> None:
        end = time.monotonic() + timeout_s
        while not predicate():
            if time.monotonic() > end:
                raise TimeoutError("the app did not reach the expected state")
            self.app.processEvents()
            time.sleep(0.02)

    def settle(self, seconds: float = 0.5) -> None:
        """Let pending redraws and layouts happen."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.app.processEvents()
            time.sleep(0.02)

    def save(self, path: Path) -> None:
        self.settle()
        screen = self.window.screen()
        pixmap = screen.grabWindow(self.window.winId()) if screen else self.window.grab()
        if pixmap.isNull() or pixmap.width() < 10:
            pixmap = self.window.grab()
        pixmap.save(str(path))
        print(f"saved {path} ({pixmap.width()}x{pixmap.height()})")


# ------------------------------------------------------------------------------- scenes
def scene_data(shot: Shot) -> None:
    """The built-in MovieLens subset, loaded on start-up, with its summary and plots."""
    shot.window.show_page("data")
    shot.window.log_panel.hide()


def scene_train(shot: Shot) -> None:
    """Two MAML runs of the session: one finished, one in progress with live curves."""
    w = shot.window
    w.show_page("train")
    page = w.train_page
    page.set_algorithm("maml")
    page.train_form.set_values({"epochs": 3, "final_test": False})
    page.start()
    shot.wait_for(page.runEnded, 300)
    page.algo_form.set_values({"inner_steps": 2})
    page.train_form.set_values({"epochs": 30})
    page.start()
    shot.wait_until(lambda: page.plot.epoch_count(page.run_key) >= 3, 600)
    w.log_panel.show()


SCENES: dict[str, Callable[[Shot], None]] = {"data": scene_data, "train": scene_train}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenes", nargs="*", default=list(SCENES), help="pages to shoot")
    parser.add_argument("--dark", action="store_true", help="dark palette")
    parser.add_argument("--out", default=str(ROOT / "docs"))
    parser.add_argument("--size", default="1360x860", help="window size WxH")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    shot = Shot(args.dark, size)  # type: ignore[arg-type]
    suffix = "-dark" if args.dark else ""
    for name in args.scenes:
        SCENES[name](shot)
        shot.save(Path(args.out) / f"screenshot-{name}{suffix}.png")
    page = shot.window.page("train")
    if getattr(page, "is_training", lambda: False)():
        page.stop()
        shot.wait_for(page.runEnded, 30)
    shot.window.close()


if __name__ == "__main__":
    main()

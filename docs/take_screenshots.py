"""Reproduce the screenshots in docs/ from the real app (a real window, e.g. under Xvfb).

    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python docs/take_screenshots.py
    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python docs/take_screenshots.py compare --dark

Every page is saved at each of ``--sizes`` (default 1280x720, a laptop, and 1920x1080) as
``docs/screenshot-<page>-<W>x<H>.png``; the first size is also saved as
``docs/screenshot-<page>.png`` (the README's). Needs ``xvfb libxcb-icccm4 libxcb-keysyms1
libxcb-cursor0`` on Debian/Ubuntu for a real X window.

Each page is a *scene*: a function that brings the window into a realistic state and returns
when it is ready to grab. Add a page by writing ``scene_<name>(shot)`` and listing it in
``SCENES``; ``shot.wait_for(signal)`` / ``shot.wait_until(predicate)`` keep the event loop
running while the app works; ``shot.trained_run(name)`` meta-trains an algorithm with its
default settings (seconds each) into the workspace, as the Train page would. Settings and the
workspace live in a temporary folder, so the shots never depend on (or change) the user's own.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
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
        self.runs: dict[str, Path] = {}

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

    def idle_training(self) -> None:
        """Wait for a run of the Train page to end (it would compete for the CPU)."""
        page = self.window.page("train")
        if getattr(page, "is_training", lambda: False)():
            self.wait_for(page.runEnded, 300)

    def trained_run(self, algorithm: str) -> Path:
        """A finished run of ``algorithm`` with its default settings on the loaded dataset and
        split, trained once per session into the workspace (as the Train page names it)."""
        if algorithm in self.runs:
            return self.runs[algorithm]
        from core.training import Trainer
        from metarec_gui.pages.train import run_folder

        self.idle_training()
        state = self.window.state
        folder = run_folder(state.runs_dir(), algorithm)
        result: dict = {}
        trainer = Trainer(algorithm, state.dataset, state.split, run_dir=folder, train={"device": state.device})
        thread = threading.Thread(target=lambda: result.update(trainer.run()), daemon=True)
        thread.start()
        self.wait_until(lambda: not thread.is_alive(), 600)
        if result.get("status") != "finished":
            raise RuntimeError(f"training {algorithm} ended {result.get('status')}: {result.get('error')}")
        print(f"trained {algorithm} → {folder.name}")
        state.add_session_run(folder)
        self.runs[algorithm] = folder
        return folder

    def save(self, path: Path) -> None:
        self.settle()
        screen = self.window.screen()
        pixmap = screen.grabWindow(self.window.winId()) if screen else self.window.grab()
        if pixmap.isNull() or pixmap.width() < 10:
            pixmap = self.window.grab()
        path.parent.mkdir(parents=True, exist_ok=True)
        if not pixmap.save(str(path)):
            raise OSError(f"could not write {path}")
        print(f"saved {path} ({pixmap.width()}x{pixmap.height()})")


# ------------------------------------------------------------------------------- scenes
def scene_data(shot: Shot) -> None:
    """The built-in MovieLens subset, loaded on start-up, with its summary and plots."""
    shot.window.show_page("data")
    shot.window.log_panel.hide()


def scene_train(shot: Shot) -> None:
    """Two MAML runs of the session with the default hyperparameters: one finished (all defaults),
    and one in progress (another seed, more epochs, no early stopping), its live curves over the
    first's."""
    w = shot.window
    w.show_page("train")
    page = w.train_page
    page.set_algorithm("maml")
    ended: list[tuple[str, str]] = []
    page.runEnded.connect(lambda status, folder: ended.append((status, folder)))
    page.start()
    shot.wait_until(lambda: bool(ended), 300)
    if ended[0][0] == "finished" and ended[0][1]:
        shot.runs.setdefault("maml", Path(ended[0][1]))  # the Cold-start and Compare scenes use it
    page.train_form.set_values({"seed": 1, "epochs": 40, "patience": 0})
    page.start()
    shot.wait_until(lambda: page.plot.epoch_count(page.run_key) >= 12, 600)
    w.log_panel.show()


def scene_coldstart(shot: Shot) -> None:
    """A run of the default algorithm adapted to the "Sci-fi fan" demo persona (core.personas),
    beside the un-adapted list, with the reasons for the first recommendation."""
    from core.algorithms import DEFAULT_ALGORITHM

    run = shot.trained_run(DEFAULT_ALGORITHM)
    w = shot.window
    w.show_page("coldstart")
    w.log_panel.hide()
    page = w.page("coldstart")
    page.new_profile()
    if page.run is None or page.run.path.resolve() != run.resolve():
        page.last_recommendation = None
        if not page.picker.select_path(run):
            raise RuntimeError(f"the run picker does not list {run}")
        shot.wait_until(lambda: page.last_recommendation is not None, 120)
    page.last_recommendation = None
    shown: list[int] = []
    page.reasonsShown.connect(shown.append)
    if not page.profile_bar.load_persona("Sci-fi fan"):
        raise RuntimeError("the Sci-fi fan persona is not available on this dataset")
    shot.wait_until(lambda: page.last_recommendation is not None and bool(shown), 120)
    adapted, plain = page.adapted_table.items(), page.unadapted_table.items()
    print(f"cold-start: {len(set(adapted) - set(plain))} of the top {len(adapted)} are new after adapting")


def scene_compare(shot: Shot) -> None:
    """Default runs of four meta-learners; three selected with their K-shot curves beside the
    closed-form baselines (dashed, fitted by the page)."""
    runs = [shot.trained_run(name) for name in ("maml", "melu", "proto", "reptile")]
    shot.idle_training()
    w = shot.window
    w.show_page("compare")
    w.log_panel.hide()
    page = w.page("compare")
    page.refresh()
    page.select_paths(runs[:3])
    page.baselines_check.setChecked(True)
    page.tabs.setCurrentIndex(1)
    shown = []
    page.kshotShown.connect(lambda: shown.append(True))
    page.compute_kshot()
    shot.wait_until(lambda: bool(shown), 600)


SCENES: dict[str, Callable[[Shot], None]] = {
    "data": scene_data,
    "train": scene_train,
    "coldstart": scene_coldstart,
    "compare": scene_compare,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenes", nargs="*", default=list(SCENES), help="pages to shoot")
    parser.add_argument("--dark", action="store_true", help="dark palette")
    parser.add_argument("--out", default=str(ROOT / "docs"))
    parser.add_argument("--sizes", default="1280x720,1920x1080", help="window sizes WxH,WxH")
    args = parser.parse_args()
    sizes = [tuple(int(v) for v in size.split("x")) for size in args.sizes.split(",")]
    shot = Shot(args.dark, sizes[0])  # type: ignore[arg-type]
    suffix = "-dark" if args.dark else ""
    for name in args.scenes:
        shot.window.resize(*sizes[0])
        shot.settle()
        SCENES[name](shot)
        for n, (w, h) in enumerate(sizes):
            shot.window.resize(w, h)
            shot.settle(1.0)
            shot.save(Path(args.out) / f"screenshot-{name}-{w}x{h}{suffix}.png")
            if n == 0:
                shot.save(Path(args.out) / f"screenshot-{name}{suffix}.png")
    page = shot.window.page("train")
    if getattr(page, "is_training", lambda: False)():
        page.stop()
        shot.wait_for(page.runEnded, 30)
    shot.window.close()


if __name__ == "__main__":
    main()

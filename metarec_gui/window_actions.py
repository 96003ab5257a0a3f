"""The main window's menus and File / View / Help actions (a mixin of ``MainWindow``).

Training's Start / Pause / Stop live on the Train page as ``QAction``s with shortcuts; the
window lists them in its Training menu once the page is built.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Slot
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMessageBox

from . import __version__
from .theme import MODES, theme

MOVIELENS_CITATION = (
    "F. Maxwell Harper and Joseph A. Konstan. 2015. The MovieLens Datasets: History and Context. "
    "ACM Transactions on Interactive Intelligent Systems (TiiS) 5, 4, Article 19 (December 2015), "
    "19 pages. https://doi.org/10.1145/2827872"
)


class WindowActions:
    """Menus and the actions behind them (mixed into ``MainWindow``)."""

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._add(file_menu, "&Open dataset…", self.open_dataset, QKeySequence.StandardKey.Open)
        self._add(file_menu, "Open &run…", self.open_run, "Ctrl+Shift+O")
        self._add(file_menu, "&Watch run…", self.watch_run, "Ctrl+Shift+W")
        file_menu.addSeparator()
        self._add(file_menu, "Change &workspace…", self.change_workspace)
        self._add(file_menu, "Show workspace folder", self.show_workspace)
        file_menu.addSeparator()
        self._add(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit,
                  role=QAction.MenuRole.QuitRole)

        view = self.menuBar().addMenu("&View")
        self.page_actions: list[QAction] = []
        from .window_pages import PAGES

        for i, (_key, title, *_rest) in enumerate(PAGES):
            action = self._add(view, title, lambda _c=False, i=i: self.show_page(i), f"Ctrl+{i + 1}")
            self.page_actions.append(action)
        view.addSeparator()
        self.log_action = self.log_panel.toggleViewAction()
        self.log_action.setText("&Log panel")
        self.log_action.setShortcut("Ctrl+L")
        view.addAction(self.log_action)
        theme_menu = view.addMenu("&Theme")
        group = QActionGroup(self)
        for mode in MODES:
            action = QAction(mode.capitalize() if mode != "system" else "Follow the system", self,
                             checkable=True)
            action.setChecked(theme().mode == mode)
            action.triggered.connect(lambda _c=False, m=mode: self.set_theme(m))
            group.addAction(action)
            theme_menu.addAction(action)

        self.training_menu = self.menuBar().addMenu("&Training")
        self.training_menu.setToolTipsVisible(True)
        placeholder = self.training_menu.addAction("Start, Pause and Stop appear once the Train "
                                                   "page is ready")
        placeholder.setEnabled(False)
        self._training_placeholder = placeholder

        help_menu = self.menuBar().addMenu("&Help")
        self._add(help_menu, "&About MetaRec", self.about, role=QAction.MenuRole.AboutRole)

    def _add(self, menu, text: str, slot: Callable, shortcut=None,  # noqa: ANN001
             role: QAction.MenuRole | None = None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)
        if role is not None:
            action.setMenuRole(role)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def add_training_actions(self, actions: list[QAction]) -> None:
        """The Train page's Start / Pause / Stop actions, in the Training menu."""
        self.training_menu.removeAction(self._training_placeholder)
        self.training_menu.addActions(actions)

    @Slot()
    def open_dataset(self) -> None:
        """File > Open dataset: a MovieLens zip/folder or any ratings file."""
        start = str(self.state.prefs.start_dir())
        path, _ = QFileDialog.getOpenFileName(
            self, "Open dataset", start,
            "Datasets (*.zip *.csv *.tsv *.dat *.data *.txt *.parquet *.pq);;All files (*)")
        if not path:
            return
        self.show_page("data")
        self.data_page.open_path(path)

    @Slot()
    def open_run(self) -> None:
        """File > Open run: add a run folder to this session and show it on the Compare page."""
        path = QFileDialog.getExistingDirectory(self, "Open run folder", str(self.state.runs_dir()))
        if path:
            self.open_run_folder(Path(path))

    def open_run_folder(self, path: Path) -> bool:
        """Add a run to the session and show it on Compare; a run still running is watched."""
        from core.runs import Run, RunError

        try:
            run = Run.open(Path(path).resolve())
            status = run.status
            train = self._pages.get("train")
            own = (train is not None and getattr(train, "is_training", lambda: False)()
                   and Path(str(train.run_key)).resolve() == run.path)
            if status == "running" and not own:  # written by another process: follow it
                self._connect_watcher()
                self.state.watcher.watch(run.path)
        except RunError as exc:
            QMessageBox.warning(self, "Not a run", str(exc))
            return False
        self.state.add_session_run(run.path)
        self.state.log(f"opened run {run.name} ({status})")
        self.show_page("compare")
        page = self.page("compare")
        if hasattr(page, "select_paths"):
            page.select_paths([run.path])
        return True

    @Slot()
    def watch_run(self) -> None:
        """File > Watch run: follow a run folder that another process is writing."""
        start = self.state.prefs.watch_dir or str(self.state.runs_dir())
        path = QFileDialog.getExistingDirectory(self, "Watch run folder", start)
        if path:
            self.state.prefs.watch_dir = str(Path(path).parent)
            self.watch_run_folder(Path(path))

    def watch_run_folder(self, path: Path) -> bool:
        """Follow the run at ``path`` live: its curves on the Train page (and on Compare when
        selected there), its status in the status bar."""
        from core.runs import RunError

        self._connect_watcher()
        try:
            self.state.watcher.watch(path)
        except RunError as exc:
            QMessageBox.warning(self, "Not a run", f"{exc}\n\nChoose the folder that holds "
                                "config.json and metrics.csv (the --out folder of metarec train).")
            return False
        self.show_page("train")
        return True

    def _connect_watcher(self) -> None:
        if self._watcher_connected:
            return
        self._watcher_connected = True
        self.state.watcher.changed.connect(self._on_watch_changed)
        self._on_watch_changed()

    @Slot()
    def _on_watch_changed(self) -> None:
        watcher = self.state.watcher
        text = watcher.describe()
        self.watch_button.setVisible(bool(text))
        self.watch_button.setText(text)
        self.watch_button.setToolTip("\n".join(w.describe() for w in watcher.watches())
                                     + "\n\nClick to stop watching a run.")

    @Slot()
    def _fill_watch_menu(self) -> None:
        self.watch_menu.clear()
        watcher = self.state.watcher
        for watch in watcher.watches():
            info = self.watch_menu.addAction(watch.describe())
            info.setEnabled(False)
            compare = self.watch_menu.addAction(f"Show {watch.name} on Compare")
            compare.triggered.connect(lambda _c=False, p=watch.run.path: self._show_on_compare(p))
            stop = self.watch_menu.addAction(f"Stop watching {watch.name}")
            stop.triggered.connect(lambda _c=False, k=watch.key: watcher.stop(k))
            self.watch_menu.addSeparator()
        if len(watcher.watches()) > 1:
            self.watch_menu.addAction("Stop watching all", watcher.stop_all)

    def _show_on_compare(self, path: Path) -> None:
        self.show_page("compare")
        page = self.page("compare")
        if hasattr(page, "select_paths"):
            page.select_paths([path])

    @Slot()
    def change_workspace(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Workspace folder (runs and profiles)",
                                                str(self.state.workspace))
        if path:
            self.state.set_workspace(Path(path))
            self.state.log(f"workspace: {path}")

    @Slot()
    def show_workspace(self) -> None:
        from PySide6.QtCore import QUrl
        from PySide6.QtGui import QDesktopServices

        self.state.workspace.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.state.workspace)))

    def set_theme(self, mode: str) -> None:
        theme().set_mode(mode)
        self.state.prefs.theme = mode

    @Slot()
    def about(self) -> None:
        import pyqtgraph
        import PySide6

        torch = sys.modules.get("torch")
        versions = (f"PySide6 {PySide6.__version__} · pyqtgraph {pyqtgraph.__version__}"
                    + (f" · torch {torch.__version__}" if torch else ""))
        QMessageBox.about(
            self, "About MetaRec",
            f"<h3>MetaRec {__version__}</h3>"
            "<p>Explore meta-learning for cold-start recommendation: meta-train MAML, MeLU, "
            "Meta-SGD, Reptile and metric-based learners beside non-meta baselines, then watch "
            "a new user's recommendations adapt to a few ratings.</p>"
            f"<p><small>{versions}</small></p>"
            "<p><b>Data.</b> The built-in dataset is MovieLens latest-small (GroupLens Research). "
            f"Please cite:<br><small>{MOVIELENS_CITATION}</small></p>"
            f"<p><small>Workspace: {self.state.workspace}</small></p>")

"""The MetaRec main window: four pages, status bar, log dock, menus, theme and settings.

Start-up is kept light so the window shows within a second or two: only the Data page is built
before ``show()``; torch, the algorithms and the other pages are imported by a worker right after
the window is on screen, while the built-in dataset loads in another.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QStackedWidget,
    QToolButton,
    QWidget,
)

from . import __version__
from .pages.data import DataPage
from .state import AppState
from .theme import MODES, theme
from .widgets.log_panel import LogPanel
from .workers import FunctionJob, shutdown_jobs

# key, title, module, class, tooltip
PAGES: tuple[tuple[str, str, str, str, str], ...] = (
    ("data", "Data", "metarec_gui.pages.data", "DataPage", "Load a dataset and set the split"),
    ("train", "Train", "metarec_gui.pages.train", "TrainPage", "Meta-train an algorithm"),
    ("coldstart", "Cold-start", "metarec_gui.pages.coldstart", "ColdStartPage",
     "Rate a few items as a new user and watch recommendations adapt"),
    ("compare", "Compare", "metarec_gui.pages.compare", "ComparePage",
     "Compare runs: curves, K-shot accuracy, top-10 lists"),
)
MOVIELENS_CITATION = (
    "F. Maxwell Harper and Joseph A. Konstan. 2015. The MovieLens Datasets: History and Context. "
    "ACM Transactions on Interactive Intelligent Systems (TiiS) 5, 4, Article 19 (December 2015), "
    "19 pages. https://doi.org/10.1145/2827872"
)
STYLE_SHEET = """
QListWidget#Sidebar { border: none; border-right: 1px solid palette(mid); padding-top: 8px;
                      font-size: 11pt; background: palette(window); }
QListWidget#Sidebar::item { padding: 9px 14px; border-radius: 4px; margin: 1px 6px;
                            color: palette(window-text); }
QListWidget#Sidebar::item:hover { background: palette(alternate-base); }
QListWidget#Sidebar::item:selected { background: palette(highlight);
                                     color: palette(highlighted-text); }
QLabel#muted { color: palette(placeholder-text); }
QFrame#StatCard { border: 1px solid palette(mid); border-radius: 6px; background: palette(base); }
QGroupBox { font-weight: bold; margin-top: 10px; }
QGroupBox::title { subcontrol-origin: margin; left: 6px; padding: 0 3px; }
QGroupBox > QWidget { font-weight: normal; }
"""


def _settings() -> QSettings:
    """Per-user settings (``METAREC_SETTINGS`` = an INI file, for tests and portable installs)."""
    path = os.environ.get("METAREC_SETTINGS")
    if path:
        return QSettings(path, QSettings.Format.IniFormat)
    return QSettings("MetaRec", "MetaRec")


class MainWindow(QMainWindow):
    """Sidebar of pages, status bar (dataset, device, job), log dock and menus."""

    pagesReady = Signal()  # every page is built (after the background warm-up)

    def __init__(self, state: AppState | None = None, autoload: bool = True) -> None:
        super().__init__()
        self.state = state or AppState(_settings())
        self.setWindowTitle("MetaRec — meta-learning for cold-start recommendation")
        self._pages: dict[str, QWidget] = {}
        self._page_errors: dict[str, str] = {}
        self._warm = False
        self._closing = False
        self._stopping_to_close = False
        self._autoload = autoload

        # ---- pages (built on first visit, after the warm-up import)
        self.sidebar = QListWidget()
        self.sidebar.setObjectName("Sidebar")
        self.sidebar.setFixedWidth(150)
        self.sidebar.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.stack = QStackedWidget()
        for key, title, _mod, _cls, tip in PAGES:
            item = QListWidgetItem(title)
            item.setToolTip(tip)
            item.setData(Qt.ItemDataRole.UserRole, key)
            self.sidebar.addItem(item)
            placeholder = QLabel(f"Loading the {title} page…")
            placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
            placeholder.setObjectName("muted")
            self.stack.addWidget(placeholder)
        self._install_page("data", DataPage(self.state))
        self.sidebar.currentRowChanged.connect(self._on_page_changed)
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.sidebar)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        # ---- log dock
        self.log_panel = LogPanel(self)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.log_panel)
        self.state.logMessage.connect(self.log_panel.append)

        # ---- status bar
        self.dataset_label = QLabel("No dataset")
        self.device_label = QLabel()
        self.job_label = QLabel()
        self.job_bar = QProgressBar()
        self.job_bar.setMaximumWidth(140)
        self.job_bar.setMaximumHeight(14)
        self.job_bar.setTextVisible(False)
        self.job_bar.setVisible(False)
        self.watch_button = QToolButton()  # runs followed live (File > Watch run…)
        self.watch_button.setAutoRaise(True)
        self.watch_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.watch_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.watch_menu = QMenu(self)
        self.watch_menu.aboutToShow.connect(self._fill_watch_menu)
        self.watch_button.setMenu(self.watch_menu)
        self.watch_button.setVisible(False)
        self._watcher_connected = False
        bar = self.statusBar()
        bar.addWidget(self.dataset_label, 1)
        bar.addWidget(self.watch_button)
        bar.addPermanentWidget(self.job_label)
        bar.addPermanentWidget(self.job_bar)
        bar.addPermanentWidget(self.device_label)
        self.state.datasetChanged.connect(self._on_dataset)
        self.state.deviceChanged.connect(self._on_device)
        self.state.jobChanged.connect(self._on_job)
        self.state.jobProgress.connect(self._on_job_progress)
        self._on_device(self.state.device)

        self._build_menus()
        self._restore_settings()

    # ------------------------------------------------------------------ menus
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

    # ------------------------------------------------------------------ pages
    def page_keys(self) -> list[str]:
        return [p[0] for p in PAGES]

    def page(self, key: str) -> QWidget:
        """The page widget, building it now if needed."""
        if key not in self._pages:
            self._build_page(key)
        return self._pages[key]

    def built_pages(self) -> list[str]:
        return list(self._pages)

    def _install_page(self, key: str, widget: QWidget) -> None:
        index = self.page_keys().index(key)
        old = self.stack.widget(index)
        self.stack.insertWidget(index, widget)
        self.stack.removeWidget(old)
        old.deleteLater()
        self._pages[key] = widget

    def _build_page(self, key: str) -> None:
        _key, title, module, cls_name, _tip = PAGES[self.page_keys().index(key)]
        try:
            cls = getattr(importlib.import_module(module), cls_name)
            widget = cls(self.state)
        except Exception as exc:  # noqa: BLE001 - a broken page must not take the app down
            import traceback

            self._page_errors[key] = f"{type(exc).__name__}: {exc}"
            self.state.log(f"the {title} page is not available: {type(exc).__name__}: {exc}",
                           "error")
            sys.stderr.write(traceback.format_exc())
            widget = QLabel(f"The {title} page is not available in this installation.\n\n"
                            f"{type(exc).__name__}: {exc}")
            widget.setAlignment(Qt.AlignmentFlag.AlignCenter)
            widget.setWordWrap(True)
        self._install_page(key, widget)

    def page_error(self, key: str) -> str | None:
        return self._page_errors.get(key)

    def show_page(self, index_or_key: int | str) -> None:
        index = index_or_key if isinstance(index_or_key, int) else self.page_keys().index(index_or_key)
        self.sidebar.setCurrentRow(index)

    def current_page_key(self) -> str:
        return self.page_keys()[max(0, self.sidebar.currentRow())]

    @Slot(int)
    def _on_page_changed(self, index: int) -> None:
        key = self.page_keys()[index]
        if key not in self._pages and self._warm:
            self._build_page(key)
        self.stack.setCurrentIndex(index)
        self.state.settings.setValue("window/page", key)

    @property
    def data_page(self) -> DataPage:
        return self._pages["data"]  # type: ignore[return-value]

    @property
    def train_page(self):  # noqa: ANN201 - TrainPage, imported lazily
        return self.page("train")

    # ------------------------------------------------------------------ start-up
    def start(self) -> None:
        """After ``show()``: load the last dataset and warm up torch and the other pages."""
        if self._autoload:
            self.data_page.load_last()
        self._warmup = FunctionJob(_warm_up, name="warm-up", parent=self)
        self._warmup.succeeded.connect(self._on_warm)
        self._warmup.failed.connect(self._on_warm_failed)
        self._warmup.start()

    @Slot(object)
    def _on_warm(self, seconds: float) -> None:
        self._warm = True
        self.state.log(f"algorithms ready (torch imported in {seconds:.1f} s)")
        self._build_remaining()

    @Slot(object)
    def _on_warm_failed(self, exc: Exception) -> None:
        self._warm = True
        self.state.log(f"could not import the training core: {type(exc).__name__}: {exc}", "error")
        self._build_remaining()

    def _build_remaining(self) -> None:
        """Build the current page first, then one more page per event-loop turn."""
        if self._closing:
            return
        current = self.current_page_key()
        if current not in self._pages:
            self._build_page(current)
            self.stack.setCurrentIndex(self.page_keys().index(current))
        missing = [k for k in self.page_keys() if k not in self._pages]
        if not missing:
            # Everything long-lived now exists (Qt, pyqtgraph, pandas, torch, the pages): keep it
            # out of the cyclic collector's full passes, which otherwise stall the GUI thread for
            # 0.3-0.6 s now and then while training events stream in.
            gc.collect()
            gc.freeze()
            self._connect_watcher()
            self.pagesReady.emit()
            return
        self._build_page(missing[0])
        QTimer.singleShot(0, self._build_remaining)

    # ------------------------------------------------------------------ status bar
    @Slot(object)
    def _on_dataset(self, dataset) -> None:  # noqa: ANN001
        self.dataset_label.setText(f"{dataset.name}  ·  {dataset.n_users:,} users  ·  "
                                   f"{dataset.n_items:,} items  ·  {dataset.n_ratings:,} ratings")

    @Slot(str)
    def _on_device(self, device: str) -> None:
        self.device_label.setText(f"Device: {device}")

    @Slot(str)
    def _on_job(self, text: str) -> None:
        self.job_label.setText(text)
        self.job_bar.setVisible(bool(text))

    @Slot(int, int)
    def _on_job_progress(self, done: int, total: int) -> None:
        if total <= 0:
            self.job_bar.setRange(0, 0)
        else:
            self.job_bar.setRange(0, total)
            self.job_bar.setValue(done)

    # ------------------------------------------------------------------ actions
    @Slot()
    def open_dataset(self) -> None:
        """File > Open dataset: a MovieLens zip/folder or any ratings file."""
        start = str(self.state.settings.value("data/last_dir", str(Path.home())))
        path, _ = QFileDialog.getOpenFileName(
            self, "Open dataset", start,
            "Datasets (*.zip *.csv *.tsv *.dat *.data *.txt *.parquet *.pq);;All files (*)")
        if not path:
            return
        self.show_page("data")
        page = self.data_page
        from core.data import detect_movielens

        if detect_movielens(path):
            page.set_source("movielens")
            page.movielens_path.setText(path)
            page._detect_movielens()
        else:
            page.set_source("table")
            page.table_path.setText(path)
        page.load_selected()

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
        start = str(self.state.settings.value("watch/last_dir", str(self.state.runs_dir())))
        path = QFileDialog.getExistingDirectory(self, "Watch run folder", start)
        if path:
            self.state.settings.setValue("watch/last_dir", str(Path(path).parent))
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
        self.state.settings.setValue("theme", mode)

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

    # ------------------------------------------------------------------ settings
    def _restore_settings(self) -> None:
        s = self.state.settings
        geometry = s.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1360, 860)
        window_state = s.value("window/state")
        if isinstance(window_state, QByteArray) and not window_state.isEmpty():
            self.restoreState(window_state)
        else:
            self.resizeDocks([self.log_panel], [130], Qt.Orientation.Vertical)
        self.data_page.restore_split()
        key = str(s.value("window/page", "data"))
        self.sidebar.blockSignals(True)
        index = self.page_keys().index(key) if key in self.page_keys() else 0
        self.sidebar.setCurrentRow(index)
        self.stack.setCurrentIndex(index)
        self.sidebar.blockSignals(False)

    def _save_settings(self) -> None:
        s = self.state.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("window/page", self.current_page_key())
        s.sync()

    # ------------------------------------------------------------------ closing
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        train = self._pages.get("train")
        if train is not None and getattr(train, "is_training", lambda: False)():
            if self._stopping_to_close:
                event.ignore()
                return
            answer = QMessageBox.question(
                self, "Training is running",
                "A training run is in progress. Stop it and close MetaRec?\n\n"
                "The run folder keeps everything up to the last step (status 'cancelled').",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.No)
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
            # Let the worker finish its step and write the run; close when its thread ended.
            self._stopping_to_close = True
            train.runEnded.connect(lambda *_: QTimer.singleShot(0, self.close))
            train.stop()
            self.statusBar().showMessage("Stopping training…")
            event.ignore()
            return
        self._closing = True
        self._save_settings()
        if self._watcher_connected:
            self.state.watcher.shutdown()
        for page in self._pages.values():
            shutdown = getattr(page, "shutdown", None)
            if callable(shutdown):
                shutdown()
        if not shutdown_jobs(10000):
            self.state.log("a background job did not stop within 10 s", "warning")
        event.accept()


def _warm_up() -> float:
    """Import torch and the training core in the background (worker thread)."""
    t0 = time.perf_counter()
    importlib.import_module("core.training")
    importlib.import_module("core.algorithms")
    return time.perf_counter() - t0


def create_app(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName("MetaRec")
    app.setOrganizationName("MetaRec")
    app.setApplicationDisplayName("MetaRec")
    return app


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``metarec-gui`` script."""
    app = create_app(argv)
    settings = _settings()
    mode = str(settings.value("theme", theme().mode))
    if mode in MODES and "METAREC_THEME" not in os.environ:
        theme().set_mode(mode)  # applies it
    else:
        theme().apply()
    app.setStyleSheet(STYLE_SHEET)
    window = MainWindow(AppState(settings))
    window.show()
    QTimer.singleShot(0, window.start)
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())

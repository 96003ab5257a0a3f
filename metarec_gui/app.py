"""The MetaRec main window: four pages, status bar, log dock, menus, theme and settings.

Start-up is kept light so the window shows within a second or two: only the Data page is built
before ``show()``; torch, the algorithms and the other pages are imported by a worker right after
the window is on screen, while the built-in dataset loads in another.
"""

from __future__ import annotations

import gc
import importlib
import sys
import time

from PySide6.QtCore import QSettings, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QApplication,
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

from .pages.data import DataPage
from .settings import open_qsettings
from .state import AppState
from .widgets.log_panel import LogPanel
from .window_actions import WindowActions
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
    return open_qsettings()


class MainWindow(WindowActions, QMainWindow):
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
        self._terminating = False  # SIGTERM: stop training and close without asking
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
        self._wire_page(key, widget)

    def _wire_page(self, key: str, widget: QWidget) -> None:
        """Connect a page's public hooks to the window and the other pages."""
        actions = getattr(widget, "training_actions", None)
        if key == "train" and callable(actions):
            self.add_training_actions(actions())
        if key == "coldstart":
            if callable(getattr(widget, "current_profile", None)):
                self.state.set_profile_source(widget.current_profile)
            signal = getattr(widget, "profileChanged", None)
            if signal is not None:
                signal.connect(self.state.profileChanged)
                self.state.profileChanged.emit()

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
        self.state.prefs.page = key

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

    # ------------------------------------------------------------------ settings
    def _restore_settings(self) -> None:
        prefs = self.state.prefs
        geometry = prefs.window_geometry
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1360, 860)
        window_state = prefs.window_state
        if window_state is not None:
            self.restoreState(window_state)
        else:
            self.resizeDocks([self.log_panel], [130], Qt.Orientation.Vertical)
        self.data_page.restore_split()
        key = prefs.page
        self.sidebar.blockSignals(True)
        index = self.page_keys().index(key) if key in self.page_keys() else 0
        self.sidebar.setCurrentRow(index)
        self.stack.setCurrentIndex(index)
        self.sidebar.blockSignals(False)

    def _save_settings(self) -> None:
        prefs = self.state.prefs
        prefs.window_geometry = self.saveGeometry()
        prefs.window_state = self.saveState()
        prefs.page = self.current_page_key()
        prefs.sync()

    # ------------------------------------------------------------------ closing
    def terminate(self, signum: int = 15) -> None:
        """Stop training cleanly and quit (SIGTERM); forced after 20 s."""
        if self._terminating:
            return
        self._terminating = True
        self.state.log(f"signal {signum}: stopping training and quitting", "warning")
        QTimer.singleShot(20000, lambda: QApplication.instance().exit(143))
        self.close()
        if not self.isVisible():
            QApplication.instance().quit()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        cold = self._pages.get("coldstart")
        if (cold is not None and not self._terminating and not self._stopping_to_close
                and cold.has_unsaved_changes() and not cold.confirm_discard(self)):
            event.ignore()  # Cancel in the Save / Discard / Cancel question
            return
        train = self._pages.get("train")
        if train is not None and getattr(train, "is_training", lambda: False)():
            if self._stopping_to_close:
                event.ignore()
                return
            answer = QMessageBox.StandardButton.Yes if self._terminating else QMessageBox.question(
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
            train.runEnded.connect(lambda *_: QTimer.singleShot(0, self._close_after_stop))
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


    def _close_after_stop(self) -> None:
        self.close()
        if self._terminating and not self.isVisible():
            QApplication.instance().quit()


def _warm_up() -> float:
    """Import torch and the training core in the background (worker thread)."""
    t0 = time.perf_counter()
    importlib.import_module("core.training")
    importlib.import_module("core.algorithms")
    return time.perf_counter() - t0


def create_app(argv: list[str] | None = None) -> QApplication:
    from .launch import create_app as _create

    return _create(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``metarec-gui`` script (see ``metarec_gui.launch``)."""
    from .launch import main as _main

    return _main(argv)


def install_terminate_handler(window: MainWindow) -> None:
    from .launch import install_terminate_handler as _install

    _install(window)

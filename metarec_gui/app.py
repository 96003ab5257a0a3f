"""The MetaRec main window: four pages, status bar, log dock, menus, theme and settings.

Start-up is kept light so the window shows within a second or two: only the Data page is built
before ``show()``; torch, the algorithms and the other pages are imported by a worker right after
the window is on screen, while the built-in dataset loads in another.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMenu,
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
from .window_close import WindowClosing
from .window_pages import PAGES, WindowPages

LOG_LINES = 1000  # lines the log dock keeps (the run folder's metrics.csv keeps every epoch)
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


class MainWindow(WindowActions, WindowPages, WindowClosing, QMainWindow):
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
        # A line of the log costs ~7.5 KB in QPlainTextEdit (its layout); a long training logs a
        # validation line per epoch (fomaml on the built-in data: ~1.2 a second), so the cap is
        # what bounds the app's memory in a long run: 1000 lines ~ 7.5 MB (5000 were ~37 MB).
        self.log_panel = LogPanel(self, max_lines=LOG_LINES)
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

"""The main window's pages (a mixin of ``MainWindow``): the page list, building a page on first
visit or after the warm-up, wiring pages to the window, and the start-up sequence.

Start-up: only the Data page is built before ``show()``; ``start()`` then imports torch and the
training core in a worker (``_warm_up``) and builds the other pages one per event-loop turn.
"""

from __future__ import annotations

import gc
import importlib
import sys
import time
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtWidgets import QLabel, QWidget

from .workers import FunctionJob

if TYPE_CHECKING:
    from .pages.data import DataPage

# key, title, module, class, tooltip
PAGES: tuple[tuple[str, str, str, str, str], ...] = (
    ("data", "Data", "metarec_gui.pages.data", "DataPage", "Load a dataset and set the split"),
    ("train", "Train", "metarec_gui.pages.train", "TrainPage", "Meta-train an algorithm"),
    ("coldstart", "Cold-start", "metarec_gui.pages.coldstart", "ColdStartPage",
     "Rate a few items as a new user and watch recommendations adapt"),
    ("compare", "Compare", "metarec_gui.pages.compare", "ComparePage",
     "Compare runs: curves, K-shot accuracy, top-10 lists"),
)


class WindowPages:
    """Pages of ``MainWindow`` (reads ``state``, ``sidebar``, ``stack``, ``_pages``,
    ``_page_errors``, ``_warm``, ``_closing``, ``_autoload``)."""

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



def _warm_up() -> float:
    """Import torch and the training core in the background (worker thread)."""
    t0 = time.perf_counter()
    importlib.import_module("core.training")
    importlib.import_module("core.algorithms")
    return time.perf_counter() - t0

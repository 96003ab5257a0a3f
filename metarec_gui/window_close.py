"""Closing the main window (a mixin of ``MainWindow``): Quit asks about unsaved Cold-start
ratings and a running training (stopped and written as cancelled before the window closes);
SIGTERM does the same without asking."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from .workers import shutdown_jobs


class WindowClosing:
    """``terminate()`` and ``closeEvent`` of ``MainWindow``."""

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

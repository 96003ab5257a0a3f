"""The registry of running background jobs and the QThread-owning :class:`Job` base class
(``metarec_gui.workers`` and ``metarec_gui.training_job`` build on it)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

_JOBS: set[Any] = set()  # Job | FunctionJob


def running_jobs() -> list[Any]:
    """Jobs whose thread is still running."""
    return [job for job in _JOBS if job.is_running()]


def shutdown_jobs(timeout_ms: int = 10000) -> bool:
    """Ask every running job to stop, then wait for each thread; True if all ended."""
    jobs = running_jobs()
    for job in jobs:
        job.stop()
    return all(job.wait(timeout_ms) for job in jobs)


class Job(QObject):
    """GUI-thread owner of one worker thread. ``ended`` fires once the thread has finished."""

    ended = Signal()

    def __init__(self, worker: QObject, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.worker = worker
        self.thread = QThread(self)
        self.thread.setObjectName(name)
        worker.moveToThread(self.thread)
        self.thread.started.connect(worker.run)
        self.thread.finished.connect(worker.deleteLater)
        self.thread.finished.connect(self._on_thread_finished)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self._on_about_to_quit)
        self._started = False

    def start(self) -> None:
        if self._started:
            raise RuntimeError(f"job '{self.name}' was already started")
        self._started = True
        _JOBS.add(self)
        self.thread.start()

    def is_running(self) -> bool:
        return self._started and self.thread.isRunning()

    def stop(self) -> None:
        """Request the end: subclasses also cancel the work; the thread quits when it returns."""
        self.thread.requestInterruption()
        self.thread.quit()

    def wait(self, timeout_ms: int = 10000) -> bool:
        """Block until the thread ended (only for shutdown, after ``stop()``)."""
        if not self._started:
            return True
        return self.thread.wait(timeout_ms)

    @Slot()
    def _on_thread_finished(self) -> None:
        # QThread.finished is emitted from the thread *before* it has fully returned (it still
        # deletes the worker after); wait for that moment so the job (and its QThread) can be
        # deleted safely by whoever handles ``ended``. This wait lasts microseconds.
        self.thread.wait(5000)
        _JOBS.discard(self)
        self.ended.emit()

    @Slot()
    def _on_about_to_quit(self) -> None:
        if self.is_running():
            self.stop()
            self.wait()



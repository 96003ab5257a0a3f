"""Long work off the GUI thread: QObject workers moved to QThreads, relayed by GUI-thread jobs.

A *worker* lives in its QThread and emits signals from there. A *job* lives on the GUI thread,
owns the QThread, and receives the worker's signals in ``@Slot`` methods (queued connections), then
re-emits them as its own signals — so pages may connect anything, lambdas included, to a job's
signals and ``qtbot.waitSignal`` can wait on them. (A lambda connected to a worker's signal would
run in the worker thread.)

Stopping follows the one safe order: ``requestInterruption()``, ``quit()``, then ``wait()`` — and
only ``shutdown_jobs()`` (window close / application exit) ever waits.

Training events arrive at any rate; ``TrainWorker`` batches step events so the GUI thread gets at
most ``STEP_BATCH_HZ`` step deliveries a second.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, Signal, Slot

STEP_BATCH_HZ = 30

_JOBS: set[Job] = set()


def running_jobs() -> list[Job]:
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
        _JOBS.discard(self)
        self.ended.emit()

    @Slot()
    def _on_about_to_quit(self) -> None:
        if self.is_running():
            self.stop()
            self.wait()


# ------------------------------------------------------------------------ one function call
class FunctionWorker(QObject):
    """Runs ``fn(*args, **kwargs)`` once in its thread; the result or exception is emitted."""

    succeeded = Signal(object)
    failed = Signal(object)  # the exception (with __traceback_text__ set)
    done = Signal()

    def __init__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self._call = (fn, args, kwargs)

    @Slot()
    def run(self) -> None:
        fn, args, kwargs = self._call
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - forwarded to the GUI, which shows it
            exc.__traceback_text__ = traceback.format_exc()
            self.failed.emit(exc)
        else:
            self.succeeded.emit(result)
        finally:
            self.done.emit()


class FunctionJob(Job):
    """``FunctionJob(fn, *args)``: ``succeeded(result)`` or ``failed(exception)``, then ``ended``."""

    succeeded = Signal(object)
    failed = Signal(object)

    def __init__(self, fn: Callable[..., Any], *args: Any, name: str = "job",
                 parent: QObject | None = None, **kwargs: Any) -> None:
        worker = FunctionWorker(fn, *args, **kwargs)
        super().__init__(worker, name, parent)
        worker.succeeded.connect(self._on_succeeded)
        worker.failed.connect(self._on_failed)
        worker.done.connect(self.thread.quit, Qt.ConnectionType.DirectConnection)

    @Slot(object)
    def _on_succeeded(self, result: Any) -> None:
        self.succeeded.emit(result)

    @Slot(object)
    def _on_failed(self, exc: Exception) -> None:
        self.failed.emit(exc)


# ------------------------------------------------------------------------ training
class TrainWorker(QObject):
    """Calls ``core.training.Trainer(...).run()`` and turns its events into signals."""

    steps = Signal(object)  # list[StepEvent], batched
    epoch = Signal(object)  # EpochEvent
    log = Signal(str, str)  # level, text
    finished = Signal(object)  # FinishedEvent (status 'finished' or 'cancelled')
    failed = Signal(object)  # FailedEvent
    done = Signal()

    def __init__(self, algorithm: str, dataset: Any, split: Any, *,
                 algo_overrides: dict[str, Any], train: dict[str, Any],
                 run_dir: Path | None, stop: Any) -> None:
        super().__init__()
        self._kwargs = dict(algo_overrides=algo_overrides, train=train, run_dir=run_dir, stop=stop)
        self._args = (algorithm, dataset, split)
        self._pending: list[Any] = []
        self._last_emit = 0.0

    @Slot()
    def run(self) -> None:
        from core.training import FailedEvent, Trainer

        try:
            trainer = Trainer(*self._args, callback=self._on_event, **self._kwargs)
            trainer.run()  # never raises for training problems: they arrive as FailedEvent
        except Exception as exc:  # noqa: BLE001 - bad settings before training: shown, app lives
            self._flush()
            message = str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
            self.failed.emit(FailedEvent(message, 0, None))
        finally:
            self._flush()
            self.done.emit()

    def _on_event(self, event: Any) -> None:
        """Trainer callback (worker thread)."""
        from core.training import EpochEvent, FailedEvent, FinishedEvent, LogEvent, StepEvent

        if isinstance(event, StepEvent):
            self._pending.append(event)
            now = time.perf_counter()
            if now - self._last_emit >= 1.0 / STEP_BATCH_HZ:
                self._flush()
                self._last_emit = now
            return
        self._flush()
        if isinstance(event, EpochEvent):
            self.epoch.emit(event)
        elif isinstance(event, LogEvent):
            self.log.emit(event.level, event.message)
        elif isinstance(event, FinishedEvent):
            self.finished.emit(event)
        elif isinstance(event, FailedEvent):
            self.failed.emit(event)

    def _flush(self) -> None:
        if self._pending:
            batch, self._pending = self._pending, []
            self.steps.emit(batch)


class TrainJob(Job):
    """A training run on its own thread, with pause / resume / stop through a StopToken."""

    steps = Signal(object)
    epoch = Signal(object)
    log = Signal(str, str)
    finished = Signal(object)
    failed = Signal(object)

    def __init__(self, algorithm: str, dataset: Any, split: Any, *,
                 algo_overrides: dict[str, Any] | None = None, train: dict[str, Any] | None = None,
                 run_dir: Path | None = None, parent: QObject | None = None) -> None:
        from core.training import StopToken

        self.token = StopToken()
        worker = TrainWorker(algorithm, dataset, split, algo_overrides=dict(algo_overrides or {}),
                             train=dict(train or {}), run_dir=run_dir, stop=self.token)
        super().__init__(worker, f"train-{algorithm}", parent)
        self.run_dir = run_dir
        worker.steps.connect(self._on_steps)
        worker.epoch.connect(self._on_epoch)
        worker.log.connect(self._on_log)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        worker.done.connect(self.thread.quit, Qt.ConnectionType.DirectConnection)

    def stop(self) -> None:
        self.token.cancel()
        super().stop()

    def pause(self) -> None:
        self.token.pause()

    def resume(self) -> None:
        self.token.resume()

    @property
    def paused(self) -> bool:
        return self.token.paused

    @Slot(object)
    def _on_steps(self, events: list) -> None:
        self.steps.emit(events)

    @Slot(object)
    def _on_epoch(self, event: Any) -> None:
        self.epoch.emit(event)

    @Slot(str, str)
    def _on_log(self, level: str, text: str) -> None:
        self.log.emit(level, text)

    @Slot(object)
    def _on_finished(self, event: Any) -> None:
        self.finished.emit(event)

    @Slot(object)
    def _on_failed(self, event: Any) -> None:
        self.failed.emit(event)

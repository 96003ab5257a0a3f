"""Long work off the GUI thread: QObject workers moved to QThreads, relayed by GUI-thread jobs.

A *worker* lives in its QThread and emits signals from there. A *job* lives on the GUI thread,
owns the QThread, and receives the worker's signals in ``@Slot`` methods (queued connections), then
re-emits them as its own signals — so pages may connect anything, lambdas included, to a job's
signals and ``qtbot.waitSignal`` can wait on them. (A lambda connected to a worker's signal would
run in the worker thread.)

Stopping follows the one safe order: ``requestInterruption()``, ``quit()``, then ``wait()`` — and
only ``shutdown_jobs()`` (window close / application exit) ever waits.

Training runs in a child process (``TrainJob``): its Python work would otherwise hold the GIL the
GUI thread needs to draw. Step events arrive at any rate and are batched so the GUI thread gets at
most ``STEP_BATCH_HZ`` step deliveries a second.
"""

from __future__ import annotations

import inspect
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QThread, QThreadPool, Signal
from superqt.utils import WorkerBase, create_worker  # public API (not _qthreading)

from .job_base import _JOBS, Job, running_jobs, shutdown_jobs  # noqa: E402, F401


# ------------------------------------------------------------------------ function calls
def _pool() -> QThreadPool:
    global _POOL
    if _POOL is None:
        _POOL = QThreadPool()
        _POOL.setMaxThreadCount(max(4, QThread.idealThreadCount()))
    return _POOL


_POOL: QThreadPool | None = None


def _wrap(fn: Callable[..., Any], done: threading.Event, token: CancelFlag,
          report: Callable[[Any], None]) -> Callable[..., Any]:
    """``fn`` as a plain call that keeps its traceback text on the exception and sets ``done``
    when it returns; a generator function is driven here: each yielded value goes to ``report``
    and a cancelled ``token`` closes it at its next ``yield``."""
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            if not inspect.isgeneratorfunction(fn):
                return fn(*args, **kwargs)
            gen = fn(*args, **kwargs)
            try:
                while not token.cancelled:
                    try:
                        value = next(gen)
                    except StopIteration as stop:
                        return stop.value
                    report(value)
            finally:
                gen.close()
            return None
        except Exception as exc:
            exc.__traceback_text__ = traceback.format_exc()
            raise
        finally:
            done.set()
    return call


class FunctionJob(QObject):
    """``FunctionJob(fn, *args)``: ``fn`` on a pool thread through superqt's public
    ``create_worker``; ``succeeded(result)`` or ``failed(exception)``, then ``ended``.

    A generator function reports each yielded value as ``progress``; ``stop()`` asks it to end at
    its next ``yield`` and sets :attr:`token` (a ``core.workflows.CancelToken``-like flag that a
    plain function may be handed to check). The worker's signal object lives on the GUI thread,
    so every signal here is delivered there.
    """

    succeeded = Signal(object)
    failed = Signal(object)
    progress = Signal(object)
    ended = Signal()
    _report = Signal(object)  # emitted on the worker thread, delivered here on the GUI thread

    def __init__(self, fn: Callable[..., Any], *args: Any, name: str = "job",
                 parent: QObject | None = None, **kwargs: Any) -> None:
        # No Qt parent: a job must outlive its owner while its call runs (the worker thread
        # emits through it); the registry holds it until the call has returned.
        super().__init__(None)
        self._owner = parent
        self.name = name
        self.token = CancelFlag()
        self._done = threading.Event()
        self._report.connect(self._on_yielded)
        self._call = (_wrap(fn, self._done, self.token, self._report.emit), args, kwargs)
        self._worker: WorkerBase | None = None
        self._started = False
        self._delivered = False
        self._cancelled = False

    def start(self) -> None:
        if self._started:
            raise RuntimeError(f"job '{self.name}' was already started")
        self._started = True
        fn, args, kwargs = self._call
        worker = create_worker(fn, *args, _start_thread=False, _ignore_errors=True, **kwargs)
        worker.setAutoDelete(False)
        worker.returned.connect(self._on_returned)
        worker.errored.connect(self._on_errored)
        worker.finished.connect(self._on_finished)
        self._worker = worker
        _JOBS.add(self)
        _pool().start(worker)

    def is_running(self) -> bool:
        """Started and not over: its thread still runs, or (not cancelled) its result is still
        on the way to the GUI thread."""
        if not self._started:
            return False
        return not self._done.is_set() or (not self._delivered and not self._cancelled)

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def stop(self) -> None:
        """Ask the call to end (generators at their next ``yield``); its result is dropped."""
        self._cancelled = True
        self.token.cancel()

    def wait(self, timeout_ms: int = 10000) -> bool:
        """Block until the call returned (shutdown only, after ``stop()``)."""
        if not self._started:
            return True
        return self._done.wait(timeout_ms / 1000)

    def _alive(self) -> bool:
        return shiboken6.isValid(self)

    def _on_returned(self, result: Any) -> None:
        if self._alive() and not self._cancelled:
            self.succeeded.emit(result)

    def _on_errored(self, exc: BaseException) -> None:
        if self._alive() and not self._cancelled:
            self.failed.emit(exc)

    def _on_yielded(self, value: Any) -> None:
        if self._alive() and not self._cancelled:
            self.progress.emit(value)

    def _on_finished(self) -> None:
        _JOBS.discard(self)
        self._worker = None
        if not self._alive():
            return
        self._delivered = True
        self.ended.emit()


class CancelFlag:
    """A thread-safe cancel flag (the same shape as ``core.workflows.CancelToken``, which is not
    imported here: core.workflows imports torch, and this module loads before the window shows)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


# ------------------------------------------------------------------------ lanes of calls
@dataclass
class _Call:
    fn: Callable[..., Any]
    on_done: Callable[[Any], None]
    on_error: Callable[[BaseException], None]
    on_progress: Callable[[Any], None] | None
    with_token: bool


class Background(QObject):
    """Calls off the GUI thread for one owner, at most one per *lane* at a time.

    A call submitted while its lane is busy waits, and a newer one replaces it (only the latest
    request matters: a user dragging a slider or rating quickly). ``on_done`` / ``on_error`` /
    ``on_progress`` run on the GUI thread. Progress comes from a generator function's yields, or,
    with ``with_token=True``, ``fn(report, token)`` is called: ``report(value)`` from the worker
    reaches ``on_progress``, and ``token.cancelled`` turns true on :meth:`cancel`.
    """

    busyChanged = Signal(str, bool)  # lane, busy

    def __init__(self, parent: QObject | None = None, threads: int = 2) -> None:
        super().__init__(parent)
        self._running: dict[str, FunctionJob] = {}
        self._pending: dict[str, _Call] = {}
        self._closed = False

    def busy(self, lane: str) -> bool:
        return lane in self._running

    def any_busy(self) -> bool:
        return bool(self._running)

    def submit(self, lane: str, fn: Callable[..., Any], on_done: Callable[[Any], None],
               on_error: Callable[[BaseException], None],
               on_progress: Callable[[Any], None] | None = None, *,
               with_token: bool = False) -> None:
        if self._closed:
            return
        call = _Call(fn, on_done, on_error, on_progress, with_token)
        if lane in self._running:
            self._pending[lane] = call
            return
        self._start(lane, call)

    def cancel(self, lane: str) -> None:
        """Drop a waiting call and ask a running one to stop (its result is dropped)."""
        self._pending.pop(lane, None)
        job = self._running.get(lane)
        if job is not None:
            job.stop()

    def shutdown(self, timeout_ms: int = 10000) -> bool:
        """Stop accepting calls, ask running ones to stop, wait for them."""
        self._closed = True
        self._pending.clear()
        jobs = list(self._running.values())
        for job in jobs:
            job.stop()
        return all(job.wait(timeout_ms) for job in jobs)

    def wait(self, timeout_ms: int = 10000) -> bool:
        """Block until running calls are done (tests, shutdown)."""
        return all(job.wait(timeout_ms) for job in list(self._running.values()))

    def _start(self, lane: str, call: _Call) -> None:
        if call.with_token:
            holder: list[FunctionJob] = []

            def run() -> Any:
                job = holder[0]
                return call.fn(job._report.emit, job.token)
            job = FunctionJob(run, name=f"bg-{lane}", parent=self)
            holder.append(job)
        else:
            job = FunctionJob(call.fn, name=f"bg-{lane}", parent=self)
        if call.on_progress is not None:
            job.progress.connect(lambda value: self._progress_of(lane, job, call, value))
        state: dict[str, Any] = {}
        job.succeeded.connect(lambda value: state.update(result=value, ok=True))
        job.failed.connect(lambda exc: state.update(error=exc))
        job.ended.connect(lambda: self._finished(lane, job, call, state))
        self._running[lane] = job
        self.busyChanged.emit(lane, True)
        job.start()

    def _progress_of(self, lane: str, job: FunctionJob, call: _Call, value: Any) -> None:
        if shiboken6.isValid(self) and self._running.get(lane) is job and not job.cancelled:
            call.on_progress(value)

    def _finished(self, lane: str, job: FunctionJob, call: _Call, state: dict[str, Any]) -> None:
        if not shiboken6.isValid(self):
            return
        if self._running.get(lane) is job:
            del self._running[lane]
        job.deleteLater()
        pending = self._pending.pop(lane, None)
        if not job.cancelled and pending is None:
            if state.get("error") is not None:
                call.on_error(state["error"])
            elif state.get("ok"):
                call.on_done(state.get("result"))
        if pending is not None and not self._closed:
            self._start(lane, pending)
        else:
            self.busyChanged.emit(lane, False)


# ------------------------------------------------------------------------ training
from .training_job import STEP_BATCH_HZ, TrainJob, TrainWorker, training_threads  # noqa: E402

__all__ = ["Background", "CancelFlag", "FunctionJob", "Job", "STEP_BATCH_HZ", "TrainJob",
           "TrainWorker", "running_jobs", "shutdown_jobs", "training_threads"]

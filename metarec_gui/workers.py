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
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, QThreadPool, Signal, Slot
from superqt.utils import WorkerBase, create_worker  # public API (not _qthreading)

STEP_BATCH_HZ = 30

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
        super().__init__(parent)
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
    """A thread-safe cancel flag (the same shape as ``core.workflows.CancelToken``)."""

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
    _relay = Signal(object, object)  # (lane, job id), value: worker-thread report -> GUI thread

    def __init__(self, parent: QObject | None = None, threads: int = 2) -> None:
        super().__init__(parent)
        self._running: dict[str, FunctionJob] = {}
        self._pending: dict[str, _Call] = {}
        self._progress: dict[int, Callable[[Any], None]] = {}
        self._closed = False
        self._relay.connect(self._on_relay)

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
            relay = self._relay
            holder: list[FunctionJob] = []

            def run() -> Any:
                job = holder[0]
                return call.fn(lambda value: relay.emit((lane, id(job)), value), job.token)
            job = FunctionJob(run, name=f"bg-{lane}", parent=self)
            holder.append(job)
            if call.on_progress is not None:
                self._progress[id(job)] = call.on_progress
        else:
            job = FunctionJob(call.fn, name=f"bg-{lane}", parent=self)
            if call.on_progress is not None:
                job.progress.connect(call.on_progress)
        state: dict[str, Any] = {}
        job.succeeded.connect(lambda value: state.update(result=value, ok=True))
        job.failed.connect(lambda exc: state.update(error=exc))
        job.ended.connect(lambda: self._finished(lane, job, call, state))
        self._running[lane] = job
        self.busyChanged.emit(lane, True)
        job.start()

    def _on_relay(self, key: tuple, value: Any) -> None:
        lane, job_id = key
        job = self._running.get(lane)
        callback = self._progress.get(job_id)
        if job is not None and id(job) == job_id and not job.cancelled and callback is not None:
            callback(value)

    def _finished(self, lane: str, job: FunctionJob, call: _Call, state: dict[str, Any]) -> None:
        if not shiboken6.isValid(self):
            return
        if self._running.get(lane) is job:
            del self._running[lane]
        self._progress.pop(id(job), None)
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
def training_threads() -> int:
    """Torch threads of the training process: torch's default but at most all cores but one
    (left to the GUI), at least 1. The Device box shows this number."""
    import os
    import sys

    torch = sys.modules.get("torch")
    default = torch.get_num_threads() if torch is not None else (os.cpu_count() or 2)
    return max(1, min(default, (os.cpu_count() or 2) - 1))


PR_SET_PDEATHSIG = 1


def _stop_with_parent(parent_pid: int | None, token: Any) -> None:
    """Never outlive the app: the child stops (writing its run as cancelled) when the app dies.

    Linux: ``prctl(PR_SET_PDEATHSIG, SIGTERM)`` — the kernel sends SIGTERM when the parent dies,
    even by SIGKILL — and SIGTERM cancels the trainer. Everywhere: a thread checks once a second
    that the parent is still the one that started us (``os.getppid()`` changes when it dies).
    """
    import os
    import signal
    import sys
    import threading

    signal.signal(signal.SIGTERM, lambda *_: token.cancel())
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if parent_pid is None:
        return
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        token.cancel()
        return

    def watch_parent() -> None:
        import time as _time

        while not token.cancelled:
            if os.getppid() != parent_pid:
                token.cancel()
                return
            _time.sleep(1.0)

    threading.Thread(target=watch_parent, name="watch-parent", daemon=True).start()


def _train_process(args: dict[str, Any], events: Any, control: Any) -> None:
    """Body of the training process: run the Trainer, send its events back through a queue.

    Training runs in its own process so that its Python work never holds the GUI's GIL (in a
    thread, every redraw of the plots waited for it: 100-1000 ms stalls on two cores). Step events
    are sent in batches (at most ``STEP_BATCH_HZ`` a second); ``control`` carries 'cancel',
    'pause' and 'resume' to the StopToken.
    """
    import os
    import threading

    import torch

    # Leave a core and the scheduler's preference to the GUI: on two cores, two torch threads
    # beside a drawing GUI ran MAML 10-30x slower and made redraws stutter.
    if hasattr(os, "nice"):
        os.nice(10)
    torch.set_num_threads(training_threads())

    from core.training import FailedEvent, StepEvent, StopToken, Trainer

    token = StopToken()
    _stop_with_parent(args.get("parent_pid"), token)

    def watch() -> None:
        while True:
            command = control.get()
            if command == "cancel":
                token.cancel()
                return
            if command == "pause":
                token.pause()
            elif command == "resume":
                token.resume()

    threading.Thread(target=watch, name="train-control", daemon=True).start()
    pending: list[Any] = []
    last = [0.0]

    def flush() -> None:
        if pending:
            events.put(("steps", list(pending)))
            pending.clear()

    def callback(event: Any) -> None:
        if isinstance(event, StepEvent):
            pending.append(event)
            now = time.perf_counter()
            if now - last[0] >= 1.0 / STEP_BATCH_HZ:
                flush()
                last[0] = now
            return
        flush()
        events.put(("event", event))

    try:
        trainer = Trainer(args["algorithm"], args["dataset"], args["split"],
                          algo_overrides=args["algo_overrides"], train=args["train"],
                          run_dir=args["run_dir"], callback=callback, stop=token,
                          dataset_spec=args.get("dataset_spec"))
        trainer.run()  # never raises for training problems: they arrive as FailedEvent
    except Exception as exc:  # noqa: BLE001 - bad settings before training: shown, app lives
        flush()
        message = str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
        events.put(("event", FailedEvent(message, 0, None)))
    finally:
        flush()
        events.put(("done", None))


class TrainWorker(QObject):
    """Runs ``core.training.Trainer(...).run()`` in a child process and turns its events into
    signals (this worker's thread only waits on the event queue)."""

    steps = Signal(object)  # list[StepEvent], batched
    epoch = Signal(object)  # EpochEvent
    log = Signal(str, str)  # level, text
    finished = Signal(object)  # FinishedEvent (status 'finished' or 'cancelled')
    failed = Signal(object)  # FailedEvent
    done = Signal()

    def __init__(self, algorithm: str, dataset: Any, split: Any, *,
                 algo_overrides: dict[str, Any], train: dict[str, Any],
                 run_dir: Path | None, dataset_spec: dict[str, Any] | None = None) -> None:
        super().__init__()
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")  # never fork a process that runs Qt threads
        self.events = ctx.Queue()
        self.control = ctx.Queue()
        import os

        args = dict(algorithm=algorithm, dataset=dataset, split=split,
                    algo_overrides=algo_overrides, train=train, run_dir=run_dir,
                    dataset_spec=dataset_spec, parent_pid=os.getpid())
        self.process = ctx.Process(target=_train_process, args=(args, self.events, self.control),
                                   name=f"metarec-train-{algorithm}", daemon=True)
        self.run_dir = run_dir

    @Slot()
    def run(self) -> None:
        import queue

        from core.training import EpochEvent, FailedEvent, FinishedEvent, LogEvent

        ended = done = False
        try:
            self.process.start()
            while True:
                try:
                    kind, payload = self.events.get(timeout=0.2)
                except queue.Empty:
                    if self.process.is_alive():
                        continue
                    try:  # it may have exited right after its last message
                        kind, payload = self.events.get(timeout=0.5)
                    except queue.Empty:
                        break
                if kind == "done":
                    done = True
                    break
                if kind == "steps":
                    self.steps.emit(payload)
                elif isinstance(payload, EpochEvent):
                    self.epoch.emit(payload)
                elif isinstance(payload, LogEvent):
                    self.log.emit(payload.level, payload.message)
                elif isinstance(payload, FinishedEvent):
                    ended = True
                    self.finished.emit(payload)
                elif isinstance(payload, FailedEvent):
                    ended = True
                    self.failed.emit(payload)
            if not ended:
                code = self.process.exitcode
                self.failed.emit(FailedEvent(
                    f"the training process ended unexpectedly (exit code {code}); the run "
                    "folder keeps what was written before", 0,
                    str(self.run_dir) if self.run_dir and (self.run_dir / "config.json").exists()
                    else None))
        except Exception as exc:  # noqa: BLE001 - e.g. the process could not start: shown
            self.failed.emit(FailedEvent(f"cannot start training: {type(exc).__name__}: {exc}",
                                         0, None))
        finally:
            if self.process.pid is not None:  # it started
                # After 'done' the run folder is complete: don't wait for the interpreter to
                # shut down (0.3-0.8 s with torch loaded); multiprocessing reaps it later.
                self.process.join(0.2 if done else 10)
                if self.process.is_alive() and not done:
                    self.process.terminate()
                    self.process.join(5)
            # Release the queues here, in this thread: left to the garbage collector, their
            # finalizers join feeder threads on whatever thread collects them (the GUI's).
            self.control.cancel_join_thread()
            for q in (self.control, self.events):
                q.close()
                q.join_thread()
            self.done.emit()


class TrainJob(Job):
    """A training run in its own process, watched by a thread; pause / resume / stop."""

    steps = Signal(object)
    epoch = Signal(object)
    log = Signal(str, str)
    finished = Signal(object)
    failed = Signal(object)

    def __init__(self, algorithm: str, dataset: Any, split: Any, *,
                 algo_overrides: dict[str, Any] | None = None, train: dict[str, Any] | None = None,
                 run_dir: Path | None = None, dataset_spec: dict[str, Any] | None = None,
                 parent: QObject | None = None) -> None:
        worker = TrainWorker(algorithm, dataset, split, algo_overrides=dict(algo_overrides or {}),
                             train=dict(train or {}), run_dir=run_dir, dataset_spec=dataset_spec)
        super().__init__(worker, f"train-{algorithm}", parent)
        self._control = worker.control
        self._paused = False
        self.run_dir = run_dir
        worker.steps.connect(self._on_steps)
        worker.epoch.connect(self._on_epoch)
        worker.log.connect(self._on_log)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        worker.done.connect(self.thread.quit, Qt.ConnectionType.DirectConnection)

    def stop(self) -> None:
        """Cancel: the trainer ends within one meta-step and writes its run folder."""
        self._control.put("cancel")
        self._paused = False
        super().stop()

    def pause(self) -> None:
        self._control.put("pause")
        self._paused = True

    def resume(self) -> None:
        self._control.put("resume")
        self._paused = False

    @property
    def paused(self) -> bool:
        return self._paused

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

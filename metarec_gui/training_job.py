"""Training in a child process, watched by a QThread (``TrainJob``).

Training runs in its own process so that its Python work never holds the GIL the GUI thread
needs to draw (in a thread, every redraw waited for it: 100-1000 ms stalls on two cores). The
child never outlives the app (``_stop_with_parent``). Step events arrive at any rate and are
batched so the GUI thread gets at most ``STEP_BATCH_HZ`` step deliveries a second.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

from .job_base import Job

STEP_BATCH_HZ = 30


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

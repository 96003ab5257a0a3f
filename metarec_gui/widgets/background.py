"""Background calls for pages: superqt workers on a private thread pool, one call per lane.

A lane runs one call at a time; a call submitted while its lane is busy waits, and a newer one
replaces it (only the latest request matters: a user dragging a slider or rating quickly). The
worker's signal object lives on the GUI thread, so results arrive in GUI-thread callbacks.
Destroying the owner waits for running calls (``QThreadPool``'s destructor), and
:meth:`Background.shutdown` asks generator calls to stop and waits for them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QThreadPool, Signal
from superqt.utils import create_worker
from superqt.utils._qthreading import WorkerBase


@dataclass
class _Call:
    fn: Callable[..., Any]
    on_done: Callable[[Any], None]
    on_error: Callable[[BaseException], None]
    on_progress: Callable[[Any], None] | None


class Background(QObject):
    """Runs callables off the GUI thread, at most one per lane at a time."""

    busyChanged = Signal(str, bool)  # lane, busy

    def __init__(self, parent: QObject | None = None, threads: int = 2) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(threads)
        self._running: dict[str, WorkerBase] = {}
        self._pending: dict[str, _Call] = {}
        self._closed = False

    def busy(self, lane: str) -> bool:
        return lane in self._running

    def any_busy(self) -> bool:
        return bool(self._running)

    def submit(
        self,
        lane: str,
        fn: Callable[..., Any],
        on_done: Callable[[Any], None],
        on_error: Callable[[BaseException], None],
        on_progress: Callable[[Any], None] | None = None,
    ) -> None:
        """Run ``fn()`` (a generator function if ``on_progress`` is given: each yielded value
        goes to ``on_progress``, its return value to ``on_done``)."""
        if self._closed:
            return
        call = _Call(fn, on_done, on_error, on_progress)
        if lane in self._running:
            self._pending[lane] = call
            return
        self._start(lane, call)

    def cancel(self, lane: str) -> None:
        """Drop a waiting call and ask a running generator call to stop (its result is dropped)."""
        self._pending.pop(lane, None)
        worker = self._running.get(lane)
        if worker is not None:
            worker.quit()

    def shutdown(self, timeout_ms: int = 10000) -> bool:
        """Stop accepting calls, ask running generators to stop, wait for the pool."""
        self._closed = True
        self._pending.clear()
        for worker in self._running.values():
            worker.quit()
        return self._pool.waitForDone(timeout_ms)

    def wait(self, timeout_ms: int = 10000) -> bool:
        """Block until running calls are done (tests, shutdown)."""
        return self._pool.waitForDone(timeout_ms)

    # ------------------------------------------------------------------ internals
    def _start(self, lane: str, call: _Call) -> None:
        worker = create_worker(call.fn, _start_thread=False, _ignore_errors=True)
        worker.setAutoDelete(False)
        state = {"error": None, "result": None, "ok": False}

        def returned(value: Any) -> None:
            state["result"], state["ok"] = value, True

        def errored(exc: BaseException) -> None:
            state["error"] = exc

        worker.returned.connect(returned)
        worker.errored.connect(errored)
        if call.on_progress is not None and hasattr(worker.signals, "yielded"):
            worker.signals.yielded.connect(call.on_progress)
        worker.finished.connect(lambda: self._finished(lane, worker, call, state))
        self._running[lane] = worker
        self.busyChanged.emit(lane, True)
        self._pool.start(worker)

    def _finished(self, lane: str, worker: WorkerBase, call: _Call, state: dict[str, Any]) -> None:
        if not shiboken6.isValid(self):  # the owner was destroyed while the call ran
            return
        if self._running.get(lane) is worker:
            del self._running[lane]
        aborted = worker.abort_requested
        pending = self._pending.pop(lane, None)
        if not aborted and pending is None:
            if state["error"] is not None:
                call.on_error(state["error"])
            elif state["ok"]:
                call.on_done(state["result"])
        if pending is not None and not self._closed:
            self._start(lane, pending)
        else:
            self.busyChanged.emit(lane, False)

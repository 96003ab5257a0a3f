"""Stopping a training run from outside: :class:`StopToken` (cancel, pause, resume from another
thread, honoured between meta-steps) and SIGTERM turned into :class:`Terminated` so the run is
closed as cancelled instead of dying mid-write.
"""

from __future__ import annotations

import signal
import threading


class StopToken:
    """Cancel and pause requests from another thread, honoured between meta-steps."""

    def __init__(self) -> None:
        self._cancel = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def cancel(self) -> None:
        self._cancel.set()
        self._running.set()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_if_paused(self) -> None:
        while not self._running.wait(0.05):
            pass


class Terminated(BaseException):
    """SIGTERM arrived while Trainer.run held the default handler (raised in the main thread)."""


class SigtermRaises:
    """Within Trainer.run on the main thread, turn SIGTERM (when nobody else handles it) into
    :class:`Terminated`, so the run is closed as cancelled instead of dying mid-write."""

    def __enter__(self) -> SigtermRaises:
        self.previous = None
        if threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGTERM"):
            try:
                if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
                    self.previous = signal.signal(signal.SIGTERM, self._raise)
            except (ValueError, OSError):
                self.previous = None
        return self

    @staticmethod
    def _raise(signum, frame) -> None:
        raise Terminated()

    def __exit__(self, *exc) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)

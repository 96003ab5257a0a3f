"""Whether a run's writer is alive: who writes it (pid, host, process start), its heartbeat,
and what a reader concludes from them (:class:`Liveness`).

A writer that died (kill -9, power loss) leaves its run recorded as ``running``; readers tell
it apart by the recorded pid on this host and by how long the run's files have been silent.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .folder import Run

HEARTBEAT_S = 30.0  # a live Trainer touches metrics.csv at least this often
STALE_AFTER_S = 300.0  # a writer silent this long (or longer than 5 heartbeats) is taken as dead

# The files whose modification time says the writer is still at work.
_HEARTBEAT_FILES = ("metrics.csv", "config.json", "weights.pt")


# ------------------------------------------------------------------ processes and hosts
def this_host() -> str:
    """This machine's host name, as recorded in ``config.json``'s ``writer.host``."""
    return socket.gethostname()


def host_tag(host: str | None = None) -> str:
    """8 hex digits naming ``host`` (default: this one) in temporary file names."""
    return hashlib.sha1((host or this_host()).encode("utf-8", "replace")).hexdigest()[:8]


def proc_stat(pid: int) -> tuple[str, int] | None:
    """(state letter, start time in clock ticks) from /proc on Linux; None elsewhere/unknown."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    try:
        fields = text[text.rindex(")") + 2:].split()
        return fields[0], int(fields[19])
    except (ValueError, IndexError):
        return None


def pid_alive(pid: int, proc_start: int | None = None) -> bool | None:
    """Whether process ``pid`` on this host is alive (None: cannot tell on this platform)."""
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process on Windows
        return None
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, another account's
    except OSError:
        return False
    stat = proc_stat(pid)
    if stat is not None:
        state, start = stat
        if state in ("Z", "X"):  # killed, not yet reaped by its parent
            return False
        if proc_start is not None and start != proc_start:
            return False  # the pid was reused by another process
    return True


def writer_record() -> dict[str, Any]:
    """Who writes a run: recorded in config.json so readers can tell a live run from a dead one."""
    stat = proc_stat(os.getpid())
    return {
        "pid": os.getpid(),
        "host": this_host(),
        "proc_start": stat[1] if stat else None,
        "heartbeat_s": HEARTBEAT_S,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


# ------------------------------------------------------------------ the reader's verdict
@dataclass(frozen=True)
class Liveness:
    """What a reader can tell about a run's writer.

    ``state`` is the status to show: a recorded final status, ``running`` (the writer is alive)
    or ``interrupted`` (recorded as running, but the writer died or went silent)."""

    state: str
    reason: str
    pid: int | None = None
    host: str | None = None
    heartbeat_age: float | None = None  # seconds since the writer last wrote or touched the run


def heartbeat_age(folder: Path) -> float | None:
    """Seconds since the writer last wrote or touched metrics.csv / config.json / weights.pt in
    ``folder`` (None when none of them exists)."""
    times = []
    for name in _HEARTBEAT_FILES:
        with contextlib.suppress(OSError):
            times.append((folder / name).stat().st_mtime)
    return max(0.0, time.time() - max(times)) if times else None


def writer_liveness(writer: dict[str, Any], age: float | None) -> Liveness:
    """Whether the writer of a run recorded as running is still alive.

    ``writer`` is config.json's ``writer`` record, ``age`` the :func:`heartbeat_age` in seconds.
    Same host: the recorded pid must be alive (and the same process: its start time is checked
    on Linux) and the heartbeat recent. Another host: the heartbeat must be recent
    (``STALE_AFTER_S``, or 5 heartbeat intervals if longer)."""
    stale_after = max(STALE_AFTER_S, 5 * float(writer.get("heartbeat_s") or 0))
    pid, host = writer.get("pid"), writer.get("host")
    silent = age is None or age > stale_after
    age_text = "never" if age is None else f"{age:.0f} s ago"
    if pid is not None and host == this_host():
        alive = pid_alive(pid, writer.get("proc_start"))
        if alive is False:
            return Liveness("interrupted", f"its writer (pid {pid}) is gone: killed or "
                            f"crashed before writing a summary", pid, host, age)
        if silent:
            return Liveness("interrupted", f"its writer (pid {pid}) last wrote {age_text}",
                            pid, host, age)
        return Liveness("running", f"written by pid {pid}, last write {age_text}", pid, host, age)
    where = f"pid {pid} on {host}" if pid is not None else "an unknown writer"
    if silent:
        return Liveness("interrupted", f"no sign of life from {where} since {age_text}",
                        pid, host, age)
    return Liveness("running", f"written by {where}, last write {age_text}", pid, host, age)


# ------------------------------------------------------------------ the writer's heartbeat
class Heartbeat:
    """While a writer lives, touch the run's metrics.csv every ``interval`` seconds from a daemon
    thread, so readers on another host can tell it is alive even in long silent phases
    (fitting, validation, pause). Use as a context manager."""

    def __init__(self, run: Run, interval: float = HEARTBEAT_S) -> None:
        self.run = run
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Heartbeat:
        if self._thread is None:
            self._thread = threading.Thread(target=self._beat, name="run-heartbeat", daemon=True)
            self._thread.start()
        return self

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            self.run.touch()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Heartbeat:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

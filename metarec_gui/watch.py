"""Follow run folders that another process writes: a ``metarec train --out DIR`` in a terminal,
a ``torchrun`` job whose folder is synced or mounted, or this app's own runs opened from disk.

A GUI-thread ``QTimer`` asks every ``POLL_MS`` for each watched run; the reading itself
(``core.runs.MetricsTail.poll()``: only the bytes added since the last call, half-written lines
held back, a shrunken file re-read from the top; the status from summary.json / config.json;
the weights' modification time) runs on a private thread pool, so a 100k-line metrics.csv read
for the first time never stalls the GUI. A timer is used rather than file-system notifications
alone because synced and network folders do not always send them.

Results arrive as :class:`RunWatcher` signals on the GUI thread: new metric rows
(:class:`MetricsChunk`, ready for ``LossPlot.append_steps`` / ``append_epochs``), status changes,
and new weights (``AppState.runsChanged`` and ``AppState.runWeightsChanged``, so run pickers and
a loaded model follow).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from PySide6.QtCore import QObject, QTimer, Signal, Slot

from core.runs import MetricsTail, Run, RunError

from .widgets.background import Background

if TYPE_CHECKING:
    from .state import AppState

POLL_MS = 500
LINGER_S = 5.0  # keep polling this long after a terminal status (late rows, last weights)
TERMINAL = ("finished", "cancelled", "failed", "interrupted", "broken")


@dataclass
class MetricsChunk:
    """Rows of a metrics.csv split into loss points and per-epoch validation points."""

    steps: np.ndarray
    losses: np.ndarray
    times: np.ndarray
    epoch_steps: np.ndarray
    epoch_times: np.ndarray
    epoch_metrics: dict[str, np.ndarray]
    bad: int = 0  # garbage lines skipped (unknown kind, no step number)

    @classmethod
    def empty(cls) -> MetricsChunk:
        e = np.empty(0)
        return cls(e, e, e, e, e, {})

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> MetricsChunk:
        """From ``MetricsTail.poll()`` / ``Run.read_metrics()`` (columns of METRIC_COLUMNS);
        a garbage line (unknown kind, a step that is not a number) is skipped and counted."""
        if frame.empty or "kind" not in frame or "step" not in frame:
            chunk = cls.empty()
            chunk.bad = int(frame.attrs.get("skipped_lines", 0) or 0)
            return chunk
        kind = frame["kind"].astype(str).to_numpy()
        step = pd.to_numeric(frame["step"], errors="coerce").to_numpy(float)
        good = np.isin(kind, ("step", "epoch")) & np.isfinite(step)
        bad = int((~good).sum()) + int(frame.attrs.get("skipped_lines", 0) or 0)
        frame = frame[good]
        kind = kind[good]
        for col in ("loss", "wall_time"):
            if col not in frame:
                frame = frame.assign(**{col: np.nan})
        steps, epochs = frame[kind == "step"], frame[kind == "epoch"]
        names = [c for c in frame.columns if str(c).startswith("val_")]
        return cls(
            pd.to_numeric(steps["step"], errors="coerce").to_numpy(float),
            pd.to_numeric(steps["loss"], errors="coerce").to_numpy(float),
            pd.to_numeric(steps["wall_time"], errors="coerce").to_numpy(float),
            pd.to_numeric(epochs["step"], errors="coerce").to_numpy(float),
            pd.to_numeric(epochs["wall_time"], errors="coerce").to_numpy(float),
            {n: pd.to_numeric(epochs[n], errors="coerce").to_numpy(float) for n in names},
            bad,
        )

    @classmethod
    def concat(cls, chunks: list[MetricsChunk]) -> MetricsChunk:
        if not chunks:
            return cls.empty()
        if len(chunks) == 1:
            return chunks[0]
        names = sorted({n for c in chunks for n in c.epoch_metrics})
        return cls(
            *(np.concatenate([getattr(c, a) for c in chunks])
              for a in ("steps", "losses", "times", "epoch_steps", "epoch_times")),
            {n: np.concatenate([c.epoch_metrics.get(n, np.full(len(c.epoch_steps), np.nan))
                                for c in chunks]) for n in names},
            sum(c.bad for c in chunks),
        )

    @property
    def rows(self) -> int:
        return len(self.steps) + len(self.epoch_steps)

    @property
    def last_step(self) -> int | None:
        ends = [float(np.nanmax(a)) for a in (self.steps, self.epoch_steps)
                if len(a) and np.isfinite(a).any()]
        return int(max(ends)) if ends else None

    def feed(self, plot: Any, key: str) -> None:
        """Append these rows to ``LossPlot`` run ``key``."""
        if len(self.steps):
            plot.append_steps(key, self.steps, self.losses, self.times)
        if len(self.epoch_steps):
            plot.append_epochs(key, self.epoch_steps, self.epoch_metrics, self.epoch_times)

    def show(self, plot: Any, key: str, label: str) -> None:
        """Replace LossPlot run ``key``'s curves with these rows (adds the run if new)."""
        plot.set_series(key, self.steps, self.losses, self.times, self.epoch_steps,
                        self.epoch_metrics, self.epoch_times, label=label)


@dataclass
class Poll:
    """What one read of a run folder found (made on a worker thread)."""

    chunk: MetricsChunk
    status: str
    weights: int | None  # weights.pt modification time (ns), None = none yet
    size: int  # metrics.csv size before the read
    error: str = ""  # the folder cannot be read (unmounted, deleted, bad JSON)


def read_run(tail: MetricsTail) -> Poll:
    """Read what is new in a run folder (worker thread; one call per run at a time)."""
    run = tail.run
    if not (run.path / "config.json").is_file():
        return Poll(MetricsChunk.empty(), "", None, 0, f"{run.path} is not reachable "
                    "(no config.json): unmounted, moved or deleted?")
    try:
        size = (run.path / "metrics.csv").stat().st_size
    except FileNotFoundError:
        size = 0
    try:
        chunk = MetricsChunk.from_frame(tail.poll())
    except (ValueError, TypeError, KeyError, UnicodeDecodeError) as exc:  # a malformed file
        return Poll(MetricsChunk.empty(), "", None, size, f"metrics.csv: {exc}")
    try:
        status = str(run.status)
    except (RunError, AttributeError, TypeError, ValueError, UnicodeDecodeError) as exc:  # a JSON file written non-atomically by a foreign tool
        return Poll(chunk, "", None, size, str(exc))
    try:
        weights: int | None = run.weights_path.stat().st_mtime_ns
    except FileNotFoundError:
        weights = None
    return Poll(chunk, status, weights, size)


@dataclass
class Watch:
    """One watched run and what is known about it on the GUI thread."""

    run: Run
    title: str
    tail: MetricsTail
    status: str = "running"
    step: int | None = None
    rows: int = 0
    chunks: list[MetricsChunk] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    last_rows: float | None = None  # monotonic time new rows last arrived
    terminal_since: float | None = None
    polling: bool = True
    weights: int | None = None
    size: int = 0
    error: str = ""
    polls: int = 0
    bad_lines: int = 0  # garbage lines of metrics.csv skipped

    @property
    def key(self) -> str:
        return str(self.run.path)

    @property
    def name(self) -> str:
        return self.run.name

    @property
    def label(self) -> str:
        """Curve label: '<title> · <run> (watching)', or the final status once polling ended."""
        state = "watching" if self.polling else self.status if self.status in TERMINAL \
            else "not watched"
        return f"{self.title} · {self.name} ({state})"

    def data(self) -> MetricsChunk:
        """Every row received so far."""
        if len(self.chunks) > 1:
            self.chunks[:] = [MetricsChunk.concat(self.chunks)]
        return self.chunks[0] if self.chunks else MetricsChunk.empty()

    def describe(self, now: float | None = None) -> str:
        """'Watching RUN — running, step 1,234, last update 3 s ago'."""
        now = time.monotonic() if now is None else now
        verb = "Watching" if self.polling else "Watched"
        if self.error:
            return f"{verb} {self.name} — cannot read it: {self.error}"
        if self.polls == 0:
            return f"{verb} {self.name} — reading…"
        parts = [self.status]
        parts.append(f"step {self.step:,}" if self.step is not None else "no metrics yet")
        if self.bad_lines:
            parts.append(f"{self.bad_lines} unreadable line(s) of metrics.csv skipped")
        if self.status not in TERMINAL:
            since = self.last_rows if self.last_rows is not None else self.started
            words = "last update" if self.last_rows is not None else "watching for"
            parts.append(f"{words} {_ago(now - since)}" + (" ago" if self.last_rows else ""))
        return f"{verb} {self.name} — " + ", ".join(parts)


def _ago(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 5400:
        return f"{seconds // 60} min"
    return f"{seconds / 3600:.1f} h"


class RunWatcher(QObject):
    """The runs this session follows. Lives on the GUI thread; see the module docstring."""

    watchStarted = Signal(str)  # run path
    watchStopped = Signal(str)  # run path (the user stopped following it)
    rowsArrived = Signal(str, object)  # run path, MetricsChunk of the new rows only
    rowsReset = Signal(str)  # metrics.csv was rewritten from the top: drop the rows shown
    statusChanged = Signal(str, str)  # run path, status
    labelChanged = Signal(str, str)  # run path, curve label (Watch.label)
    changed = Signal()  # something a status line shows changed

    def __init__(self, state: AppState, parent: QObject | None = None,
                 interval_ms: int | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self._watches: dict[str, Watch] = {}
        self._background = Background(self, threads=2)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms or POLL_MS)
        self._timer.timeout.connect(self._tick)

    # ------------------------------------------------------------------ API
    def watch(self, path: str | Path) -> Watch:
        """Follow the run at ``path`` (raises RunError for a folder that is not a run)."""
        run = Run.open(Path(path).resolve())
        existing = self._watches.get(str(run.path))
        if existing is not None:
            return existing
        config = run.config  # RunError for unreadable JSON
        title = config.get("title") or config.get("algorithm") or run.name
        watch = Watch(run, str(title), MetricsTail(run))
        self._watches[watch.key] = watch
        self.state.log(f"watching run {run.name} ({run.path})")
        self.watchStarted.emit(watch.key)
        self.state.add_session_run(run.path)
        self._poll(watch)
        if not self._timer.isActive():
            self._timer.start()
        self.changed.emit()
        return watch

    def stop(self, key: str) -> None:
        """Stop following a run (its curves stay where they are shown)."""
        watch = self._watches.pop(str(key), None)
        if watch is None:
            return
        watch.polling = False
        self._background.cancel(watch.key)
        self.state.log(f"stopped watching run {watch.name}")
        self.labelChanged.emit(watch.key, watch.label)
        self.watchStopped.emit(watch.key)
        self.changed.emit()
        if not any(w.polling for w in self._watches.values()):
            self._timer.stop()

    def stop_all(self) -> None:
        for key in list(self._watches):
            self.stop(key)

    def watches(self) -> list[Watch]:
        return list(self._watches.values())

    def get(self, key: str | Path) -> Watch | None:
        return self._watches.get(str(key)) or self._watches.get(str(Path(key).resolve()))

    def is_watched(self, key: str | Path) -> bool:
        return self.get(key) is not None

    def describe(self) -> str:
        """One line for the status bar ('' when nothing is watched)."""
        watches = self.watches()
        if not watches:
            return ""
        active = [w for w in watches if w.polling] or watches
        latest = max(active, key=lambda w: w.last_rows or w.started)
        more = len(watches) - 1
        return latest.describe() + (f"  (+{more} more)" if more else "")

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Stop polling and wait for reads in flight (window close)."""
        self._timer.stop()
        for watch in self._watches.values():
            watch.polling = False
        return self._background.shutdown(timeout_ms)

    # ------------------------------------------------------------------ polling
    @Slot()
    def _tick(self) -> None:
        now = time.monotonic()
        for watch in list(self._watches.values()):
            if not watch.polling:
                continue
            if watch.terminal_since is not None and now - watch.terminal_since >= LINGER_S:
                watch.polling = False
                self.labelChanged.emit(watch.key, watch.label)
                continue
            self._poll(watch)
        if not any(w.polling for w in self._watches.values()):
            self._timer.stop()
        self.changed.emit()  # "last update N s ago" moves on

    def _poll(self, watch: Watch) -> None:
        if self._background.busy(watch.key):
            return
        self._background.submit(
            watch.key, lambda tail=watch.tail: read_run(tail),
            lambda poll, w=watch: self._on_poll(w, poll),
            lambda exc, w=watch: self._on_error(w, exc))

    def _on_poll(self, watch: Watch, poll: Poll) -> None:
        if self._watches.get(watch.key) is not watch:
            return  # stopped (or watched again) meanwhile
        watch.polls += 1
        watch.error = poll.error
        if poll.error:
            self.changed.emit()
            return
        if poll.size < watch.size:  # rewritten from the top (a run restarted in the folder)
            watch.chunks.clear()
            watch.step, watch.rows = None, 0
            self.rowsReset.emit(watch.key)
        watch.size = poll.size
        if poll.chunk.bad:
            watch.bad_lines += poll.chunk.bad
            self.state.log(f"watched run {watch.name}: skipped {poll.chunk.bad} unreadable "
                           "line(s) of metrics.csv", "warning")
        if poll.chunk.rows:
            watch.chunks.append(poll.chunk)
            watch.rows += poll.chunk.rows
            watch.step = max(watch.step or 0, poll.chunk.last_step or 0)
            watch.last_rows = time.monotonic()
            self.rowsArrived.emit(watch.key, poll.chunk)
        runs_changed = False
        if poll.weights != watch.weights:
            first = watch.polls == 1
            watch.weights = poll.weights
            if poll.weights is not None:
                runs_changed = True
                if not first:
                    self.state.log(f"watched run {watch.name}: new weights")
                self.state.runWeightsChanged.emit(watch.key)
        if poll.status and poll.status != watch.status:
            watch.status = poll.status
            runs_changed = True
            self.state.log(f"watched run {watch.name} is {poll.status}",
                           "warning" if poll.status == "failed" else "info")
            if poll.status in ("finished", "cancelled") and watch.polls > 1:  # seen ending
                self.state.runFinished.emit(watch.key)
            self.statusChanged.emit(watch.key, watch.status)
            self.labelChanged.emit(watch.key, watch.label)
        if watch.status in TERMINAL:
            if watch.terminal_since is None:
                watch.terminal_since = time.monotonic()
        else:
            watch.terminal_since = None
        if runs_changed:
            self.state.runsChanged.emit()
        self.changed.emit()

    def _on_error(self, watch: Watch, exc: BaseException) -> None:
        if self._watches.get(watch.key) is not watch:
            return
        watch.polls += 1
        watch.error = f"{type(exc).__name__}: {exc}"
        self.state.log(f"watched run {watch.name}: {watch.error}", "warning")
        self.changed.emit()

"""The GUI-thread probe and the large-file load scenario of ``bench_gui.py`` (imported by it).

``Probe``: a 10 ms ``QTimer`` on the GUI thread; the gaps between its ticks are the GUI's stalls
(a gap of 50 ms = 40 ms during which the GUI could not react). ``bench_load``: the Data page
loads a generated (or given) user,item,rating CSV until its summary and split are on screen.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np


# ----------------------------------------------------------------------------- probe
class Probe:
    """A 10 ms timer on the GUI thread; the gaps between its ticks are the GUI's stalls."""

    def __init__(self) -> None:
        from PySide6.QtCore import QElapsedTimer, Qt, QTimer

        self.gaps: list[float] = []
        self.clock = QElapsedTimer()
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(10)
        self.last = 0.0
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = self.clock.nsecsElapsed() / 1e6
        self.gaps.append(now - self.last)
        self.last = now

    def start(self) -> None:
        self.clock.start()
        self.last = 0.0
        self.timer.start()

    def stop(self) -> dict:
        self.timer.stop()
        gaps = self.gaps[1:] or [0.0]
        at = np.cumsum(gaps) / 1000
        return {"long_gaps_at_s": [(round(float(t), 2), round(g)) for t, g in zip(at, gaps, strict=True)
                                   if g > 50][:20],
                "probe_ticks": len(gaps), "max_gap_ms": round(max(gaps), 1),
                "p99_gap_ms": round(sorted(gaps)[int(0.99 * (len(gaps) - 1))], 1),
                "gaps_over_50ms": sum(g > 50 for g in gaps)}


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# ----------------------------------------------------------------------------- load
def make_ratings_file(path: Path, rows: int, seed: int = 0) -> None:
    """A ratings CSV (user,item,rating) of ``rows`` rows: ~rows/100 users, 20k items."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    chunk = 1_000_000
    with open(path, "w") as f:
        f.write("user,item,rating\n")
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            frame = pd.DataFrame({"user": rng.integers(0, max(1, rows // 100), n),
                                  "item": rng.integers(0, 20_000, n),
                                  "rating": rng.integers(1, 6, n)})
            frame.to_csv(f, header=False, index=False)


def bench_load(rows: int, file: str | None = None, idle_seconds: float = 5.0) -> dict:
    """GUI-thread stall while the Data page loads a large file and shows it (``file``: an existing
    user,item,rating CSV to load instead of generating ``rows`` rows), after ``idle_seconds`` of
    the same probe with the app idle (the machine's noise floor)."""
    from PySide6.QtCore import QEventLoop, QSettings, QTimer

    from core.data import ColumnMapping, DatasetSpec
    from metarec_gui.app import STYLE_SHEET, MainWindow, create_app
    from metarec_gui.state import AppState
    from metarec_gui.theme import theme

    tmp = Path(tempfile.mkdtemp())
    path = Path(file) if file else tmp / "ratings.csv"
    t0 = time.perf_counter()
    if not file:
        make_ratings_file(path, rows)
    made = time.perf_counter() - t0
    os.environ["METAREC_WORKSPACE"] = f"{tmp}/ws"
    app = create_app([])
    theme().apply()
    app.setStyleSheet(STYLE_SHEET)
    window = MainWindow(AppState(QSettings(f"{tmp}/s.ini", QSettings.Format.IniFormat)),
                        autoload=False)
    window.resize(1360, 860)
    window.show()
    loop = QEventLoop()
    window.pagesReady.connect(loop.quit)
    QTimer.singleShot(0, window.start)
    QTimer.singleShot(60000, loop.quit)
    loop.exec()
    page = window.data_page
    # The machine's own noise first: the same probe with the app idle (other processes on a
    # shared machine delay the GUI thread too; this is the floor the load is measured against).
    idle = Probe()
    idle.start()
    wait = QEventLoop()
    QTimer.singleShot(int(idle_seconds * 1000), wait.quit)
    wait.exec()
    idle_gaps = idle.stop()
    probe = Probe()
    shown = QEventLoop()
    window.state.splitChanged.connect(lambda _s: shown.quit())
    page.loadFinished.connect(lambda ok: None if ok else shown.quit())
    QTimer.singleShot(600_000, shown.quit)
    probe.start()
    t1 = time.perf_counter()
    page.load(DatasetSpec("table", path=str(path), mapping=ColumnMapping("user", "item", "rating")))
    shown.exec()
    seconds = time.perf_counter() - t1
    # the split's counts and everything queued behind it
    end = QEventLoop()
    QTimer.singleShot(500, end.quit)
    end.exec()
    dataset = window.state.dataset
    n = dataset.n_ratings if dataset is not None else rows
    result = {"scenario": f"load a {n:,}-row CSV, summary + split on screen",
              "seconds": round(seconds, 1), "file_made_s": round(made, 1),
              "file_mb": round(path.stat().st_size / 2**20, 1),
              "in_child_process": page.isolate_min_bytes <= path.stat().st_size,
              "loaded": dataset is not None, "app_rss_mb": round(_rss_mb()), **probe.stop(),
              "idle_seconds": idle_seconds, "idle_max_gap_ms": idle_gaps["max_gap_ms"],
              "idle_p99_gap_ms": idle_gaps["p99_gap_ms"],
              "idle_gaps_over_50ms": idle_gaps["gaps_over_50ms"]}
    window.close()
    return result

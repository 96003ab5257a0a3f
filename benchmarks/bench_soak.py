"""Memory of the app during a long training run (issue 11: "keep a 30-minute run under 50 MB").

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_soak.py --minutes 30
    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_soak.py --minutes 3 --diagnose

The app is started in this process as ``metarec-gui`` starts it (main window, pages built after
the warm-up, the built-in MovieLens loaded by the Data page), with a fresh workspace and settings.
``--warmup-seconds`` trains once before that (so one-time
costs of a first run are paid before the measured one). On the Train page it trains ``--algorithm`` (fomaml by default) with 10,000 epochs, no early
stopping and no final test, through the page's own ``start()`` (the training child process, its
events into the live plot); after ``--minutes`` the page's ``stop()`` ends it. Every
``--interval`` seconds a timer on the GUI thread records the app process's resident memory
(VmRSS, and its anonymous part), the training child's, the loss points received and held by the
plot, epochs, Python objects tracked by the garbage collector, graphics items in the Train plot,
and live widgets. ``--diagnose`` adds tracemalloc (6 frames; RSS figures then include its own cost) and writes the largest allocation
growth since the first sample after training started; ``--trim`` calls glibc's ``malloc_trim(0)``
before each sample (memory the allocator holds but does not use then leaves RSS).

``--log-lines N`` only measures the log dock: RSS growth after N epoch-like lines with the app's
line cap and with the former 5000.

Writes ``bench_out/soak.csv`` (one row per sample) and ``bench_out/soak.json`` (the summary:
start / end / peak RSS, growth from the first sample after training started, points, load
average, settings) and prints the summary.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import ctypes
import gc
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
OUT = ROOT / "bench_out"


def proc_memory(pid: int) -> tuple[float, float]:
    """(VmRSS, RssAnon) of a process in MB; (nan, nan) when it is gone."""
    rss = anon = float("nan")
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
            elif line.startswith("RssAnon:"):
                anon = int(line.split()[1]) / 1024
    except OSError:
        pass
    return rss, anon


def children(pid: int) -> list[int]:
    """Direct child processes of ``pid`` (Linux /proc)."""
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            kids += [int(k) for k in (task / "children").read_text().split()]
    return kids


def report(title: str, stats: list) -> None:
    """The largest tracemalloc growth entries, with their call stacks."""
    total = sum(stat.size_diff for stat in stats) / 2**20
    print(f"\nPython allocation growth, {title} (tracemalloc): {total:+.1f} MB in all; largest:")
    for stat in stats[:10]:
        print(f"  {stat.size_diff / 1024:+9.1f} KB  {stat.count_diff:+7d} blocks")
        for line in stat.traceback.format()[-8:]:
            print("      " + line)


def log_dock_cost(lines: int) -> None:
    """RSS growth of the log dock for ``lines`` epoch-like lines, with the app's line cap and with
    the old 5000 (each cap in a fresh process: ``--log-lines N`` runs both)."""
    import subprocess

    code = r"""
import sys
sys.path.insert(0, sys.argv[3])
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMainWindow
from benchmarks.bench_soak import proc_memory
from metarec_gui.widgets.log_panel import LogPanel
import os
app = QApplication([])
window = QMainWindow()
panel = LogPanel(window, max_lines=int(sys.argv[1]))
window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, panel)
window.resize(1360, 860)
window.show()
for _ in range(5):
    app.processEvents()
r0 = proc_memory(os.getpid())[0]
line = "Validation after epoch 1234: Recall@20 0.1234, nDCG@20 0.0987  (best Recall@20 0.1301 at epoch 977)"
for n in range(1, int(sys.argv[2]) + 1):
    panel.append("info", line)
    if n % 10 == 0:
        app.processEvents()
print(f"{proc_memory(os.getpid())[0] - r0:.1f}")
"""
    from metarec_gui.app import LOG_LINES

    for cap in (LOG_LINES, 5000):
        out = subprocess.run([sys.executable, "-c", code, str(cap), str(lines), str(ROOT)],
                             capture_output=True, text=True, check=True).stdout.strip()
        print(f"log dock, {lines} lines, cap {cap}: RSS +{out} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="training time")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--algorithm", default="fomaml")
    parser.add_argument("--diagnose", action="store_true", help="tracemalloc growth report")
    parser.add_argument("--trim", action="store_true", help="malloc_trim(0) before each sample")
    parser.add_argument("--warmup-seconds", type=float, default=0.0,
                        help="train once for this long first (stop, let the pages react), then "
                             "measure a second run: separates one-time costs from per-run ones")
    parser.add_argument("--log-lines", type=int, default=0,
                        help="only measure the log dock's memory for this many lines and exit")
    parser.add_argument("--tag", default="soak", help="output file names: bench_out/<tag>.csv/json")
    args = parser.parse_args()
    if args.log_lines:
        log_dock_cost(args.log_lines)
        return
    if args.diagnose:
        import tracemalloc

        tracemalloc.start(6)

    from gui_harness import open_main_window, wait_for
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication


    tmp = Path(tempfile.mkdtemp(prefix="metarec-soak-"))
    app, window = open_main_window(tmp, 120_000)

    window.show_page("train")
    page = window.train_page
    page.set_algorithm(args.algorithm)
    page.train_form.set_values({"epochs": 10000, "patience": 0, "final_test": False})
    libc = ctypes.CDLL("libc.so.6") if args.trim else None

    rows: list[dict] = []
    snapshots: dict = {}

    def training_rows() -> list[dict]:
        return [r for r in rows if r["phase"] == "training"]

    t0 = time.monotonic()
    pid = os.getpid()

    def sample(phase: str) -> None:
        if libc is not None:
            libc.malloc_trim(0)
        rss, anon = proc_memory(pid)
        kids = children(pid)
        child_rss = sum(proc_memory(k)[0] for k in kids) if kids else float("nan")
        key = page.run_key
        plot = page.plot
        held = plot.point_count(key) if key and plot.has_run(key) else 0
        seen = plot._runs[key].seen if key and plot.has_run(key) else 0
        epochs = plot.epoch_count(key) if key and plot.has_run(key) else 0
        row = {"t_s": round(time.monotonic() - t0, 1), "phase": phase,
               "app_rss_mb": round(rss, 1), "app_anon_mb": round(anon, 1),
               "child_rss_mb": round(child_rss, 1), "children": len(kids),
               "points_received": seen, "points_held": held, "epochs": epochs,
               "gc_objects": len(gc.get_objects()),
               "plot_items": len(plot.graphics.scene().items()),
               "widgets": len(QApplication.allWidgets()),
               "load1": round(os.getloadavg()[0], 2)}
        rows.append(row)
        if args.diagnose:
            import tracemalloc

            current, _peak = tracemalloc.get_traced_memory()
            row["traced_mb"] = round(current / 2**20, 1)
            # three snapshots at most (each costs about as much as what it traces): the 2nd
            # training sample, the latest training sample, the latest after the stop
            if phase in ("training", "after"):
                if phase == "training" and len(training_rows()) == 2:
                    snapshots["base"] = tracemalloc.take_snapshot()
                else:
                    snapshots[phase] = None  # free the previous one first
                    snapshots[phase] = tracemalloc.take_snapshot()
        print(" ".join(f"{k}={v}" for k, v in row.items()), flush=True)

    if args.warmup_seconds > 0:
        page.start()
        pause = QEventLoop()
        QTimer.singleShot(int(args.warmup_seconds * 1000), pause.quit)
        pause.exec()
        page.stop()
        wait_for(page.runEnded, 60_000)
        QTimer.singleShot(15_000, pause.quit)  # the Cold-start page loads the finished run
        pause.exec()
    sample("idle")  # pages built, dataset shown, nothing trained yet (or the warm-up run ended)
    timer = QTimer()
    timer.setInterval(int(args.interval * 1000))
    timer.timeout.connect(lambda: sample("training" if page.is_training() else "after"))
    ended: list[str] = []
    page.runEnded.connect(lambda status, _run: ended.append(status))
    page.start()
    started = time.monotonic()
    timer.start()
    loop = QEventLoop()
    QTimer.singleShot(int(args.minutes * 60_000), loop.quit)
    page.runEnded.connect(lambda *_: loop.quit())  # a run that fails or finishes early
    loop.exec()
    trained_s = time.monotonic() - started
    sample("training")
    page.stop()
    if not ended:
        wait_for(page.runEnded, 60_000)
    settle = QEventLoop()  # the Cold-start / Compare pages react to the finished run
    QTimer.singleShot(int(max(args.interval, 10) * 1000), settle.quit)
    settle.exec()
    timer.stop()
    sample("after")

    train_rows = [r for r in rows if r["phase"] == "training"]
    first = train_rows[1] if len(train_rows) > 1 else train_rows[0]  # past the child's start-up
    last = train_rows[-1]
    summary = {
        "command": " ".join(sys.argv),
        "algorithm": args.algorithm, "minutes_trained": round(trained_s / 60, 1),
        "status": ended[0] if ended else "?", "interval_s": args.interval,
        "app_rss_idle_mb": rows[0]["app_rss_mb"],
        "app_rss_first_training_sample_mb": first["app_rss_mb"], "first_sample_t_s": first["t_s"],
        "app_rss_end_of_training_mb": last["app_rss_mb"],
        "app_rss_after_stop_mb": rows[-1]["app_rss_mb"],
        "app_rss_peak_mb": max(r["app_rss_mb"] for r in rows),
        "growth_during_training_mb": round(last["app_rss_mb"] - first["app_rss_mb"], 1),
        "growth_from_idle_mb": round(last["app_rss_mb"] - rows[0]["app_rss_mb"], 1),
        "anon_growth_during_training_mb": round(last["app_anon_mb"] - first["app_anon_mb"], 1),
        "child_rss_first_mb": first["child_rss_mb"], "child_rss_last_mb": last["child_rss_mb"],
        "points_received": last["points_received"], "points_held": last["points_held"],
        "epochs": last["epochs"],
        "load_average_mean": round(sum(r["load1"] for r in rows) / len(rows), 2),
        "load_average_max": max(r["load1"] for r in rows),
        "warmup_s": args.warmup_seconds, "cores": os.cpu_count(), "python": platform.python_version(), "trim": args.trim,
        "malloc_arena_max": os.environ.get("MALLOC_ARENA_MAX", ""),
    }
    OUT.mkdir(exist_ok=True)
    with open(OUT / f"{args.tag}.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[-1]))
        writer.writeheader()
        writer.writerows(rows)
    (OUT / f"{args.tag}.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    if args.diagnose:
        base, last_training = snapshots.get("base"), snapshots.get("training")
        if base is not None and last_training is not None:
            report("2nd training sample -> last", last_training.compare_to(base, "traceback"))
        if last_training is not None and snapshots.get("after") is not None:
            report("last training sample -> after the stop",
                   snapshots["after"].compare_to(last_training, "traceback"))
    window.close()
    app.quit()


if __name__ == "__main__":
    main()

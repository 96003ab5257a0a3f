"""GUI responsiveness and launch time of the MetaRec app.

Launch: a fresh ``python`` process per run; time from spawning it to the main window being
exposed (a ``QTimer.singleShot(0)`` after ``show()`` that checks ``windowHandle().isExposed()``),
then to the built-in dataset's summary on screen, then to every page built.

Stall: in one process, a 10 ms ``QTimer`` probe on the GUI thread records the largest gap between
its ticks (a) while the Data page loads a large generated ratings file (``--load-rows``, default
5M rows; ``--load-file`` reuses one) up to its summary and split on screen, after
``--idle-seconds`` of the same probe with the app idle (the shared machine's noise floor; see
``gui_stall.py``), and (b) while a real training run (built-in MovieLens) streams events into the Train page's live plot; a second training scenario uses a tiny
meta-batch so events arrive thousands of times a second.

Soak: loss points pushed into a LossPlot in batches (as a long run sends them) and the process's
resident memory measured, with the per-run history cap and without it (``--soak-points``).

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_gui.py [--runs 5] [--seconds 20]
        [--load-rows 5000000] [--load-file F.csv] [--idle-seconds 5] [--soak-points 1000000]
        [--only launch,load,train,soak]

Results are printed as a Markdown table and written to bench_out/gui.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from gui_harness import open_main_window, wait_for  # noqa: E402
from gui_stall import Probe, _rss_mb, bench_load, make_ratings_file  # noqa: E402, F401


# ----------------------------------------------------------------------------- launch (child)
def _child_launch() -> None:
    """Runs in the spawned process: report wall-clock times of the start-up milestones."""
    from PySide6.QtCore import QTimer

    from metarec_gui.app import STYLE_SHEET, MainWindow, _settings, create_app
    from metarec_gui.state import AppState
    from metarec_gui.theme import theme

    marks: dict[str, float] = {"imported": time.time()}
    app = create_app([])
    theme().apply()
    app.setStyleSheet(STYLE_SHEET)
    window = MainWindow(AppState(_settings()))
    window.show()

    def exposed() -> None:
        handle = window.windowHandle()
        if handle is None or not handle.isExposed():
            QTimer.singleShot(5, exposed)
            return
        marks["exposed"] = time.time()
        window.start()

    def loaded(ok: bool) -> None:
        marks["dataset_shown"] = time.time()
        marks["dataset_ok"] = float(ok)
        _maybe_quit()

    def ready() -> None:
        marks["pages_ready"] = time.time()
        _maybe_quit()

    def _maybe_quit() -> None:
        if "dataset_shown" in marks and "pages_ready" in marks:
            window.close()
            app.quit()

    window.data_page.loadFinished.connect(loaded)
    window.pagesReady.connect(ready)
    QTimer.singleShot(0, exposed)
    QTimer.singleShot(60000, app.quit)
    app.exec()
    print("MARKS " + json.dumps(marks), flush=True)


def bench_launch(runs: int) -> dict:
    rows = []
    for i in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            env = dict(os.environ, METAREC_SETTINGS=f"{tmp}/settings.ini",
                       METAREC_WORKSPACE=f"{tmp}/ws")
            t0 = time.time()
            out = subprocess.run([sys.executable, __file__, "--child-launch"], env=env,
                                 capture_output=True, text=True, timeout=120, cwd=ROOT)
        line = next((ln for ln in out.stdout.splitlines() if ln.startswith("MARKS ")), None)
        if line is None:
            raise RuntimeError(f"launch run {i} failed:\n{out.stdout}\n{out.stderr}")
        marks = json.loads(line[6:])
        rows.append({k: round(v - t0, 3) for k, v in marks.items() if k != "dataset_ok"})
    summary = {}
    for key in ("imported", "exposed", "dataset_shown", "pages_ready"):
        values = [r[key] for r in rows]
        summary[key] = {"median": round(statistics.median(values), 3), "max": round(max(values), 3)}
    return {"runs": rows, "summary": summary}


# ----------------------------------------------------------------------------- soak
def bench_soak(points: int, batch: int = 60) -> list[dict]:
    """Memory growth of a LossPlot fed ``points`` loss points (batches as a live run sends)."""
    from PySide6.QtCore import QCoreApplication

    from metarec_gui.app import create_app
    from metarec_gui.widgets.loss_plot import MAX_POINTS, LossPlot

    create_app([])
    rows = []
    for cap in (MAX_POINTS, 10**12):
        plot = LossPlot()
        plot.resize(1200, 700)
        plot.show()
        QCoreApplication.processEvents()
        before = _rss_mb()
        plot.max_points = cap
        plot.add_run("run", "run")
        rng = np.random.default_rng(0)
        t0 = time.perf_counter()
        for start in range(0, points, batch):
            steps = np.arange(start, start + batch, dtype=float)
            plot.append_steps("run", steps, 1 + rng.normal(0, 0.1, batch), steps / 100)
            if (start // batch) % 20 == 0:
                plot.append_epochs("run", [steps[-1]], {"val_recall20": [0.1], "val_mae": [0.8]})
                plot.flush()
                QCoreApplication.processEvents()
        plot.flush()
        QCoreApplication.processEvents()
        after = _rss_mb()
        rows.append({"cap": "none" if cap > 10**9 else cap, "points": points,
                     "kept": plot.point_count("run"), "rss_growth_mb": round(after - before, 1),
                     "kb_per_point": round(1024 * (after - before) / points, 3),
                     "seconds": round(time.perf_counter() - t0, 1)})
        plot.close()
        plot.deleteLater()
        QCoreApplication.processEvents()
    return rows


# ----------------------------------------------------------------------------- stall
def bench_stall(seconds: float) -> list[dict]:
    from PySide6.QtCore import QElapsedTimer, QEventLoop, Qt, QTimer


    tmp = tempfile.mkdtemp()
    app, window = open_main_window(tmp)

    window.show_page("train")
    page = window.train_page

    scenarios = [
        ("MAML (factor model, meta-batch 32), built-in MovieLens", "maml",
         {}, {"epochs": 1000, "patience": 0, "final_test": False}),
        ("Prototype, meta-batch 1: event flood", "proto",
         {}, {"epochs": 1000, "meta_batch_size": 1, "patience": 0, "final_test": False}),
    ]
    results = []
    for title, algorithm, algo, train in scenarios:
        page.set_algorithm(algorithm)
        page.algo_form.set_values(algo)
        page.train_form.set_values(train)
        gaps: list[float] = []
        clock = QElapsedTimer()
        probe = QTimer()
        probe.setTimerType(Qt.TimerType.PreciseTimer)
        probe.setInterval(10)
        last = [0.0]

        def tick(gaps=gaps, clock=clock, last=last) -> None:  # noqa: ANN001
            now = clock.nsecsElapsed() / 1e6
            gaps.append(now - last[0])
            last[0] = now

        probe.timeout.connect(tick)
        redraws0 = page.plot.redraw_count
        rss0 = _rss_mb()
        page.start()
        key = page.run_key
        clock.start()
        probe.start()
        loop = QEventLoop()
        QTimer.singleShot(int(seconds * 1000), loop.quit)
        loop.exec()
        points = page.plot.point_count(key)
        received = page.plot._runs[key].seen
        rss_growth = _rss_mb() - rss0
        t_stop = time.perf_counter()
        page.stop()
        wait_for(page.runEnded, 30000)
        stop_s = time.perf_counter() - t_stop
        probe.stop()
        redraws = page.plot.redraw_count - redraws0
        elapsed = clock.nsecsElapsed() / 1e9
        gaps = gaps[1:]
        at = np.cumsum(gaps) / 1000
        results.append({
            "long_gaps_at_s": [(round(float(t), 2), round(g)) for t, g in zip(at, gaps, strict=True)
                               if g > 50][:20],
            "scenario": title,
            "seconds": round(elapsed, 1),
            "steps": received,
            "points_kept": points,
            "steps_per_s": round(received / seconds, 1),
            "app_rss_growth_mb": round(rss_growth, 1),
            "plot_redraws_per_s": round(redraws / elapsed, 1),
            "probe_ticks": len(gaps),
            "max_gap_ms": round(max(gaps), 1),
            "p99_gap_ms": round(sorted(gaps)[int(0.99 * (len(gaps) - 1))], 1),
            "gaps_over_50ms": sum(g > 50 for g in gaps),
            "stop_to_thread_end_s": round(stop_s, 2),
        })
    window.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="launches to time")
    parser.add_argument("--seconds", type=float, default=20, help="training time per scenario")
    parser.add_argument("--load-rows", type=int, default=5_000_000, help="rows of the generated file")
    parser.add_argument("--load-file", default=None,
                        help="load this user,item,rating CSV instead of generating one")
    parser.add_argument("--idle-seconds", type=float, default=5.0,
                        help="probe the idle app this long first (the machine's noise floor)")
    parser.add_argument("--soak-points", type=int, default=1_000_000, help="loss points pushed")
    parser.add_argument("--only", default="launch,load,train,soak", help="scenarios to run")
    parser.add_argument("--out", default=str(ROOT / "bench_out" / "gui.json"))
    parser.add_argument("--child-launch", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_launch:
        _child_launch()
        return
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    only = set(args.only.split(","))
    launch = bench_launch(args.runs) if "launch" in only else None
    load = bench_load(args.load_rows, args.load_file, args.idle_seconds) if "load" in only else None
    stall = bench_stall(args.seconds) if "train" in only else []
    soak = bench_soak(args.soak_points) if "soak" in only else []
    import pyqtgraph
    import PySide6

    result = {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                    "python": platform.python_version(), "pyside6": PySide6.__version__,
                    "pyqtgraph": pyqtgraph.__version__,
                    "qpa": os.environ.get("QT_QPA_PLATFORM", "")},
        "launch": launch,
        "load": load,
        "stall": stall,
        "soak": soak,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    if launch:
        s = launch["summary"]
        print(f"\nLaunch ({args.runs} runs, QPA {result['machine']['qpa']}), seconds from spawn: "
              "median (max)")
        print("| window exposed | built-in dataset shown | all pages built |")
        print("|---|---|---|")
        print(f"| {s['exposed']['median']} ({s['exposed']['max']}) | {s['dataset_shown']['median']} "
              f"({s['dataset_shown']['max']}) | {s['pages_ready']['median']} "
              f"({s['pages_ready']['max']}) |")
    if load:
        print("\n| load scenario | seconds | max GUI gap (ms) | p99 gap (ms) | gaps > 50 ms "
              "| idle app: max / p99 gap (ms) | app RSS (MB) |")
        print("|---|---|---|---|---|---|---|")
        print(f"| {load['scenario']} | {load['seconds']} | {load['max_gap_ms']} | "
              f"{load['p99_gap_ms']} | {load['gaps_over_50ms']} | {load['idle_max_gap_ms']} / "
              f"{load['idle_p99_gap_ms']} | {load['app_rss_mb']} |")
    if soak:
        print("\n| soak: history cap | loss points | points kept | RSS growth (MB) | KB/point |")
        print("|---|---|---|---|---|")
        for r in soak:
            print(f"| {r['cap']} | {r['points']:,} | {r['kept']:,} | {r['rss_growth_mb']} | "
                  f"{r['kb_per_point']} |")
    print("\n| scenario | steps/s | redraws/s | max GUI gap (ms) | p99 gap (ms) | gaps > 50 ms "
          "| stop → thread end (s) | app RSS growth (MB) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in stall:
        print(f"| {r['scenario']} | {r['steps_per_s']} | {r['plot_redraws_per_s']} | "
              f"{r['max_gap_ms']} | {r['p99_gap_ms']} | {r['gaps_over_50ms']} | "
              f"{r['stop_to_thread_end_s']} | {r['app_rss_growth_mb']} |")
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()

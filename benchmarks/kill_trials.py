"""Kill -9 / Ctrl-C / SIGTERM a training at random moments; check what every reader then sees.

    .venv/bin/python benchmarks/kill_trials.py --trials 30 --jobs 4

Each trial starts ``Trainer(...).run()`` in a child process (tiny synthetic data, weights
saved every epoch of 3 steps) and sends the signal after a random delay: by default 0-4 s after
launch (imports, setup); ``--after-start --min-delay 8 --max-delay 14`` lands in fitting and
meta-training (fomaml's fit takes ~7 s here): meta-steps, validation, atomic writes. It waits
for the child, then reads the folder like the app and the CLI do. A trial is "ok" when: no reader raises; the status is never 'running' (interrupted after
SIGKILL, cancelled after SIGINT/SIGTERM once training started); the metadata is not broken;
weights, when present, pass the checksum and finiteness checks; no temporary file survives
``list_runs``.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHILD = r"""
import sys
from core.data.loading import load_dataset
from core.split import make_split
from core.training import Trainer

dataset = load_dataset("synthetic:n_users=120,n_items=100,seed=5")
split = make_split(dataset)
Trainer("fomaml", dataset, split, run_dir=sys.argv[1],
        train={"epochs": 10000, "meta_batch_size": 32, "patience": 0, "final_test": False}).run()
"""

SIGNALS = {"KILL": signal.SIGKILL, "INT": signal.SIGINT, "TERM": signal.SIGTERM}


def trial(kind: str, delay: float, folder: Path, after_start: bool = False) -> tuple[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(folder)], cwd=ROOT, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if after_start:  # count the delay from the run folder's creation (imports take seconds)
        deadline = time.monotonic() + 120
        while not (folder / "metrics.csv").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
    time.sleep(delay)
    child.send_signal(SIGNALS[kind])
    _out, err = child.communicate(timeout=120)
    return check(kind, folder, child.returncode, err.decode(errors="replace"))


def check(kind: str, folder: Path, returncode: int, err: str) -> tuple[str, str]:
    from core.runs import MetricsTail, RunError, list_runs

    if not (folder / "config.json").exists():
        return "ok", "no run yet (signal before Run.create)"
    try:
        runs = list_runs(folder.parent)
        run = next(r for r in runs if r.path == folder)
        if run.broken:
            return "BROKEN", run.broken
        status = run.status
        if status == "running":
            return "STILL RUNNING", run.liveness().reason
        if kind == "KILL" and status != "interrupted":
            return "ok", f"ended {status} before the kill"
        if kind != "KILL" and status not in ("cancelled", "interrupted"):
            return "ok", f"ended {status} before the signal"
        MetricsTail(run).poll()
        weights = "no weights"
        if run.has_weights:
            try:
                run.load_weights()
                weights = "weights ok"
            except RunError as exc:
                return "BAD WEIGHTS", str(exc)
        temps = [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]
        if temps:
            return "TEMP LEFT", ", ".join(temps)
        if "Traceback" in err and kind != "INT":
            return "TRACEBACK", err[-400:]
        return "ok", f"{status}, {weights}"
    except Exception as exc:  # noqa: BLE001 - a reader raised: that is the finding
        return "READER RAISED", f"{type(exc).__name__}: {exc}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30, help="trials per signal")
    parser.add_argument("--jobs", type=int, default=4, help="trials run at once")
    parser.add_argument("--signals", default="KILL,INT,TERM")
    parser.add_argument("--min-delay", type=float, default=0.0)
    parser.add_argument("--max-delay", type=float, default=4.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--after-start", action="store_true",
                        help="count the delay from the run folder's creation, not the launch")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    root = Path(tempfile.mkdtemp(prefix="metarec-kill-"))
    plan = [(kind, rng.uniform(args.min_delay, args.max_delay), root / kind / f"t{i:03d}")
            for kind in args.signals.split(",") for i in range(args.trials)]
    for _, _, folder in plan:
        folder.parent.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda p: (p[0], p[1], *trial(*p, args.after_start)), plan))
    table = Counter((kind, verdict) for kind, _, verdict, _ in results)
    details = Counter((kind, detail) for kind, _, verdict, detail in results if verdict == "ok")
    print(f"{len(results)} trials in {root}")
    for (kind, verdict), n in sorted(table.items()):
        print(f"  SIG{kind:<5} {verdict:<14} {n}")
    for (kind, detail), n in sorted(details.items()):
        print(f"    SIG{kind:<5} {detail:<44} {n}")
    for kind, delay, verdict, detail in results:
        if verdict != "ok":
            print(f"  FAIL SIG{kind} after {delay:.2f} s: {verdict}: {detail}")


if __name__ == "__main__":
    main()

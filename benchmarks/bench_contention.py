"""`metarec train` beside another multithreaded job: OpenMP wait policies and thread counts.

    python benchmarks/bench_contention.py --repeats 3
    python benchmarks/bench_contention.py --repeats 3 --no-hog      # the same, without the job

Each repeat runs the command once per variant, interleaved, each time beside a fresh "hog": a
child process doing 2-thread float32 matrix products (2000 x 2000) for as long as the command
runs, i.e. another torch/NumPy job on the same cores. Variants: ``OMP_WAIT_POLICY=''`` (libgomp's
default: waiting threads spin for a while before sleeping; what MetaRec ran with before it set
PASSIVE), ``PASSIVE`` (MetaRec's default now, set in core/__init__.py), and
``OMP_NUM_THREADS=1``. Prints wall seconds per run and the median / max per variant, and writes
``bench_out/contention.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HOG = """
import torch
torch.set_num_threads(2)
a = torch.randn(2000, 2000)
while True:
    a = torch.tanh(a @ a) * 0.01
"""

VARIANTS = {
    "spin (libgomp default)": {"OMP_WAIT_POLICY": ""},
    "passive (MetaRec default)": {"OMP_WAIT_POLICY": "PASSIVE"},
    "1 thread": {"OMP_NUM_THREADS": "1"},
}


ROOT = Path(__file__).resolve().parents[1]


def timed_run(command: list[str], env: dict[str, str], hog: bool) -> float:
    """Wall seconds of ``command`` (run in the repository root, whose ``core`` it imports) with
    ``env`` added, beside a hog process when ``hog``."""
    hog_proc = subprocess.Popen([sys.executable, "-c", HOG]) if hog else None
    try:
        if hog_proc is not None:
            time.sleep(2.0)  # the hog is in its loop
        t0 = time.perf_counter()
        env = {**os.environ, "PYTHONPATH": str(ROOT), **env}
        done = subprocess.run(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
        return time.perf_counter() - t0
    finally:
        if hog_proc is not None:
            hog_proc.kill()
            hog_proc.wait()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--no-hog", action="store_true", help="run without the competing job")
    p.add_argument("--out", default="bench_out/contention.json")
    args = p.parse_args()
    times: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for rep in range(args.repeats):
        for name, env in VARIANTS.items():
            folder = tempfile.mkdtemp(prefix="contention-")
            command = [sys.executable, "-m", "core.cli", "train", "--dataset", "movielens-small", "-q", "--overwrite",
                       "--out", folder]
            seconds = timed_run(command, env, hog=not args.no_hog)
            shutil.rmtree(folder, ignore_errors=True)
            times[name].append(seconds)
            print(f"repeat {rep + 1}  {name:<28} {seconds:6.1f} s  load {os.getloadavg()[0]:.2f}",
                  flush=True)
    print("\n| variant | median s | max s | runs |\n|---|---|---|---|")
    for name, values in times.items():
        print(f"| {name} | {statistics.median(values):.1f} | {max(values):.1f} | "
              + ", ".join(f"{v:.1f}" for v in values) + " |")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"hog": not args.no_hog, "cores": os.cpu_count(),
                                          "times": times}, indent=2) + "\n")


if __name__ == "__main__":
    main()

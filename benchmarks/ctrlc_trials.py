"""Ctrl-C (SIGINT) at random moments in the first milliseconds of a ``metarec`` command.

    .venv/bin/python benchmarks/ctrlc_trials.py --trials 200 --max-ms 60
    .venv/bin/python benchmarks/ctrlc_trials.py --trials 200 --max-ms 60 -- algorithms

Each trial starts the installed console script (``.venv/bin/metarec``, ``--version`` unless a
command follows ``--``), sends SIGINT after a uniform random delay counted from the moment
``Popen`` returns (the exec has happened), and classifies how the process ended:

* ``exit 130, quiet``: the project's handler ran (no traceback);
* ``finished (0)``: the command was done before the signal;
* ``killed by SIGINT, quiet``: the signal came before Python installs its own SIGINT handler
  (interpreter start-up, before any Python code); a shell shows ``$? = 130`` for it too;
* ``traceback``: Python's default handler raised KeyboardInterrupt before the project's first
  statement installed its handler (site / ``.pth`` imports, the console-script wrapper);
* anything else is printed in full.

The table gives the outcome per delay band, so the window each outcome comes from is visible.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def classify(rc: int, err: str) -> str:
    noisy = "Traceback" in err or "KeyboardInterrupt" in err or "Fatal Python error" in err
    if noisy:
        return f"traceback (rc {rc})"
    if rc == 130:
        return "exit 130, quiet"
    if rc == 0:
        return "finished (0)"
    if rc == -signal.SIGINT:
        return "killed by SIGINT, quiet"
    return f"other (rc {rc})"


def where(err: str) -> str:
    """The phase a traceback came from: site's ``.pth`` imports, the console-script wrapper and
    the import system before the project's first statement, or project code (file and line)."""
    if "Failed to import the site module" in err:
        return "site: the .pth imports (before the script runs)"
    frames = [line.strip() for line in err.splitlines() if line.strip().startswith("File ")]
    project = [f for f in frames if str(ROOT) in f and "/.venv/" not in f]
    if project:
        return "project code: " + project[-1].replace(str(ROOT) + "/", "")
    return "the wrapper script / import system, before core/__init__.py's first statement"


def trial(command: list[str], delay: float) -> tuple[str, str]:
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    t0 = time.perf_counter()
    while (left := delay - (time.perf_counter() - t0)) > 0.002:
        time.sleep(left - 0.002)
    while time.perf_counter() - t0 < delay:  # the last 2 ms spinning: sleep overshoots
        pass
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=120)
    text = err.decode(errors="replace")
    return classify(proc.returncode, text), text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--max-ms", type=float, default=60.0)
    parser.add_argument("--min-ms", type=float, default=0.0)
    parser.add_argument("--band-ms", type=float, default=5.0, help="width of the table's bands")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--script", default=str(ROOT / ".venv" / "bin" / "metarec"))
    parser.add_argument("args", nargs="*", help="the command's arguments (after --)")
    args = parser.parse_args()
    command = [args.script, *(args.args or ["--version"])]
    rng = random.Random(args.seed)
    results = []
    for _ in range(args.trials):
        delay = rng.uniform(args.min_ms, args.max_ms) / 1000
        results.append((delay, *trial(command, delay)))
    print(f"{' '.join(command)}: {len(results)} trials, SIGINT after {args.min_ms:g}-"
          f"{args.max_ms:g} ms; load average {os.getloadavg()[0]:.2f}")
    for outcome, n in Counter(r[1] for r in results).most_common():
        print(f"  {outcome:<28} {n}")
    bands: dict[int, Counter] = defaultdict(Counter)
    for delay, outcome, _ in results:
        bands[int(delay * 1000 // args.band_ms)][outcome] += 1
    print("by delay band:")
    for band in sorted(bands):
        lo = band * args.band_ms
        cells = ", ".join(f"{k} {v}" for k, v in sorted(bands[band].items()))
        print(f"  {lo:5.0f}-{lo + args.band_ms:<5.0f} ms  {cells}")
    places = Counter(where(text) for _, outcome, text in results if outcome.startswith("traceback"))
    if places:
        print("where the tracebacks were raised:")
        for place, n in places.most_common():
            print(f"  {n:4d}  {place}")
    shown = set()
    for delay, outcome, text in results:
        if outcome.startswith(("traceback", "other")) and outcome not in shown:
            shown.add(outcome)
            print(f"--- first {outcome} (after {delay * 1000:.1f} ms):\n{text.strip()[-1500:]}")


if __name__ == "__main__":
    sys.exit(main())

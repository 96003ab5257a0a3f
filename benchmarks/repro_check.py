"""Same seed, same data, same numbers on CPU: train each algorithm twice in two processes running
side by side (so each one's threads compete with the other's) and compare the weights' SHA-256
and every validation and test metric, bit for bit.

    python benchmarks/repro_check.py [--algorithms proto,fomaml,maml,ease,itemknn,mf_foldin]
                                     [--dataset movielens-small] [--max-steps 20] [--sequential]

Prints one line per algorithm and exits 1 when any pair differs. Not a timing benchmark (the
two processes share the cores on purpose); on two cores budget ~1 minute per algorithm.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def train(algorithm: str, dataset: str, max_steps: int, out: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "core.cli", "train", "--dataset", dataset, "--algorithm",
           algorithm, "--seed", "0", "--set", f"max_steps={max_steps}", "--out", str(out), "-q"]
    return subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def check(algorithm: str, dataset: str, max_steps: int, sequential: bool, root: Path) -> bool:
    outs = [root / f"{algorithm}-{i}" for i in range(2)]
    procs = []
    for out in outs:
        procs.append(train(algorithm, dataset, max_steps, out))
        if sequential:
            procs[-1].wait()
    for proc in procs:
        text, _ = proc.communicate()
        if proc.returncode != 0:
            print(f"{algorithm}: training failed (exit {proc.returncode}):\n{text}")
            return False
    a, b = (json.loads((out / "summary.json").read_text()) for out in outs)
    threads = json.loads((outs[0] / "config.json").read_text())["versions"].get("torch_threads")
    same = {key: a.get(key) == b.get(key)
            for key in ("weights_sha256", "final_loss", "validation", "test")}
    verdict = "identical" if all(same.values()) else "DIFFERENT: " + ", ".join(
        k for k, ok in same.items() if not ok)
    print(f"{algorithm:10s} steps {a['steps']:3d}  torch threads {threads}  "
          f"weights {str(a.get('weights_sha256'))[:12]}  {verdict}", flush=True)
    return all(same.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--algorithms", default="proto,fomaml,maml,ease,itemknn,mf_foldin")
    parser.add_argument("--dataset", default="movielens-small")
    parser.add_argument("--max-steps", type=int, default=20)
    parser.add_argument("--sequential", action="store_true",
                        help="one process after the other instead of side by side")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="metarec-repro-") as tmp:
        ok = [check(name, args.dataset, args.max_steps, args.sequential, Path(tmp))
              for name in args.algorithms.split(",")]
    return 0 if all(ok) else 1


if __name__ == "__main__":
    sys.exit(main())

"""Scale-out benchmark: data in the MovieLens-25M format, 1 and 2 training processes.

For each size (ratings) it measures, in fresh processes: load time and peak RSS of the loader,
and meta-training throughput (tasks/s, after warm-up) of one process and of two processes under
torchrun (gloo on CPU), with the same effective meta-batch. Data comes from bench_load.py's
generator (cached under --workdir).

    python benchmarks/bench_scale.py --rows 1000000 5000000 25000095 --steps 40
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))


def child(folder: str, algorithm: str, steps: int, batch: int) -> None:
    """Runs inside each process (plain or under torchrun); rank 0 prints one JSON line."""
    from core import distributed as dist
    from core.data.loading import load_dataset
    from core.split import make_split
    from core.training import StepEvent, Trainer

    dist.init_from_env("cpu")
    t0 = time.perf_counter()
    dataset = load_dataset(folder)
    load_s = time.perf_counter() - t0
    split = make_split(dataset)
    stamps: list[float] = []
    trainer = Trainer(algorithm, dataset, split,
                      train={"epochs": 1, "max_steps": steps, "meta_batch_size": batch,
                             "final_test": False, "patience": 0},
                      callback=lambda e: stamps.append(time.perf_counter()) if isinstance(e, StepEvent) else None)
    summary = trainer.run()
    warm = min(5, len(stamps) - 2)
    tps = (len(stamps) - 1 - warm) * batch / (stamps[-1] - stamps[warm])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    if dist.is_main():
        print(json.dumps({"ratings": dataset.n_ratings, "users": dataset.n_users,
                          "items": dataset.n_items, "load_s": load_s, "tasks_per_s": tps,
                          "peak_rss_gb": peak, "status": summary["status"],
                          "world": dist.world_size()}))
    dist.cleanup()


def measure(folder: Path, procs: int, algorithm: str, steps: int, batch: int) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 2) // procs))}
    args = [str(HERE / "bench_scale.py"), "--child", str(folder), "--algorithm", algorithm,
            "--steps", str(steps), "--batch", str(batch)]
    if procs == 1:
        cmd = [sys.executable, *args]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node", str(procs), *args]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    return json.loads([ln for ln in out.splitlines() if ln.startswith("{")][-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workdir", type=Path, default=Path("/tmp/metarec-bench"))
    p.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000, 25_000_095])
    p.add_argument("--algorithm", default="fomaml")
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--procs", type=int, nargs="+", default=[1, 2])
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args.child, args.algorithm, args.steps, args.batch)
        return
    from bench_load import dataset_folder, prepare

    prepare(args.workdir, args.rows, with_zip=False)
    rows = []
    for n in args.rows:
        folder = dataset_folder(args.workdir, n)
        for procs in args.procs:
            r = measure(folder, procs, args.algorithm, args.steps, args.batch)
            rows.append({"procs": procs, **r})
            print(json.dumps(rows[-1]), flush=True)
    print(f"\n| ratings | users | processes | load s (per process) | peak RSS GB (per process) | "
          f"{args.algorithm} tasks/s |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['ratings']:,} | {r['users']:,} | {r['procs']} | {r['load_s']:.1f} | "
              f"{r['peak_rss_gb']:.2f} | {r['tasks_per_s']:.0f} |")


if __name__ == "__main__":
    main()

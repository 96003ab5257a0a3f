"""Cold-start accuracy of every algorithm on a dataset, over several seeds (PROTOCOL.md).

    python benchmarks/bench_accuracy.py --dataset movielens-small --seeds 0,1,2 \
        --out bench_out/accuracy.json --markdown bench_out/accuracy.md

Each (algorithm, seed) pair trains with its default configuration through the same Trainer the
app and the CLI use (split seed = training seed), then evaluates on the cold test users at
K = 5, 10, 20. Prints a markdown table of mean ± std over seeds, best per column in bold.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from core.algorithms import ALGORITHMS
from core.data.loading import load_dataset
from core.split import SplitConfig, make_split
from core.training import Trainer

METRICS = ("mae", "rmse", "ndcg3", "recall10", "ndcg10")
LOWER_IS_BETTER = {"mae", "rmse"}


def run(dataset_spec: str, algorithms: list[str], seeds: list[int], device: str) -> dict:
    dataset = load_dataset(dataset_spec)
    results: dict = {"dataset": dataset.name, "seeds": seeds, "device": device,
                     "torch": torch.__version__, "python": platform.python_version(),
                     "threads": torch.get_num_threads(), "runs": []}
    for seed in seeds:
        split = make_split(dataset, SplitConfig(seed=seed))
        for name in algorithms:
            t0 = time.perf_counter()
            summary = Trainer(name, dataset, split, train={"seed": seed, "device": device}).run()
            wall = time.perf_counter() - t0
            if summary["status"] != "finished":
                print(f"{name} seed {seed}: {summary.get('error')}", file=sys.stderr)
                continue
            results["runs"].append({"algorithm": name, "seed": seed, "wall_time": wall,
                                    "train_wall_time": summary["wall_time"],
                                    "epochs": summary["epochs"], "test": summary["test"]})
            mae = summary["test"]["10"]["mae"]
            print(f"{name:<16} seed {seed}: K=10 MAE {mae:.4f}  ({wall:.1f} s)", flush=True)
    return results


def to_markdown(results: dict, ks=("5", "10", "20")) -> str:
    by_algo: dict[str, list[dict]] = {}
    for r in results["runs"]:
        by_algo.setdefault(r["algorithm"], []).append(r)
    lines = []
    for k in ks:
        cells: dict[str, dict[str, tuple[float, float]]] = {}
        for algo, runs in by_algo.items():
            cells[algo] = {}
            for m in METRICS:
                vals = np.array([r["test"][k][m] for r in runs if k in r["test"]], dtype=float)
                cells[algo][m] = (float(np.nanmean(vals)), float(np.nanstd(vals)))
        best = {m: (min if m in LOWER_IS_BETTER else max)(cells[a][m][0] for a in cells) for m in METRICS}
        lines.append(f"\n**K = {k}** (mean ± std over seeds {results['seeds']})\n")
        lines.append("| algorithm | family | " + " | ".join(METRICS) + " | train s |")
        lines.append("|---|---|" + "---|" * (len(METRICS) + 1))
        for algo, runs in by_algo.items():
            row = []
            for m in METRICS:
                mean, std = cells[algo][m]
                text = f"{mean:.4f} ± {std:.4f}"
                row.append(f"**{text}**" if np.isclose(mean, best[m]) else text)
            wall = np.mean([r["train_wall_time"] for r in runs])
            lines.append(f"| {algo} | {ALGORITHMS[algo].family} | " + " | ".join(row) + f" | {wall:.1f} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="movielens-small")
    p.add_argument("--algorithms", default=",".join(ALGORITHMS))
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", default="bench_out/accuracy.json")
    p.add_argument("--markdown", default="bench_out/accuracy.md")
    args = p.parse_args()
    results = run(args.dataset, args.algorithms.split(","), [int(s) for s in args.seeds.split(",")],
                  args.device)
    for path, text in ((args.out, json.dumps(results, indent=2)), (args.markdown, to_markdown(results))):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text + "\n")
    print(to_markdown(results))


if __name__ == "__main__":
    main()

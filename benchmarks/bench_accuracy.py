"""Cold-start accuracy of every algorithm on a dataset, over several seeds (docs/PROTOCOL.md).

    python benchmarks/bench_accuracy.py --dataset movielens-small --seeds 0,1,2 \
        --out bench_out/accuracy.json --markdown bench_out/accuracy.md

Each (algorithm, seed) pair trains with its default configuration through the same Trainer the
app and the CLI use (split seed = training seed), then evaluates on the cold test users at
K = 1, 5, 10, 20: top-N over the whole catalogue (Recall@20, nDCG@20, and the same model's
un-adapted Recall@20) and rating accuracy on the fixed query set (MAE). Prints a markdown table
of mean ± std over seeds, best per column in bold, and for trainable algorithms the first and
last epoch's mean meta-training loss and the validation Recall@20 of the first and best epoch.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from core.algorithms import ALGORITHMS
from core.data.loading import load_dataset
from core.evaluation import evaluate
from core.runs import Run
from core.split import SplitConfig, make_split
from core.training import Trainer

METRICS = ("recall20", "ndcg20", "base_recall20", "mae")
LOWER_IS_BETTER = {"mae", "rmse"}
KS = (1, 5, 10, 20)


def run(dataset_spec: str, algorithms: list[str], seeds: list[int], device: str,
        settings: dict[str, str] | None = None) -> dict:
    """Train and evaluate every (seed, algorithm); ``settings`` (name -> value) change the
    default configuration of each algorithm that has such a setting, and label its rows."""
    dataset = load_dataset(dataset_spec)
    results: dict = {"dataset": dataset.name, "seeds": seeds, "device": device,
                     "torch": torch.__version__, "python": platform.python_version(),
                     "threads": torch.get_num_threads(), "runs": []}
    for seed in seeds:
        split = make_split(dataset, SplitConfig(seed=seed))
        for name in algorithms:
            overrides, variant = changed_settings(name, settings)
            t0 = time.perf_counter()
            folder = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
            trainer = Trainer(name, dataset, split, run_dir=folder, algo_overrides=overrides,
                              train={"seed": seed, "device": device, "final_test": False})
            summary = trainer.run()
            wall = time.perf_counter() - t0
            if summary["status"] != "finished":
                print(f"{name} seed {seed}: {summary.get('error')}", file=sys.stderr)
                continue
            test = evaluate(trainer.algorithm, dataset, split, "test", KS)
            results["runs"].append({"algorithm": name, "variant": variant, "seed": seed, "wall_time": wall,
                                    "train_wall_time": summary["wall_time"],
                                    "epochs": summary.get("epochs"), "test": {str(k): m for k, m in test.items()},
                                    "curve": _curve(Run.open(folder))})
            shutil.rmtree(folder, ignore_errors=True)
            r = test[10]
            print(f"{label(results['runs'][-1]):<16} seed {seed}: K=10 R@20 {r['recall20']:.4f} (un-adapted "
                  f"{r['base_recall20']:.4f}) MAE {r.get('mae', float('nan')):.4f}  ({wall:.1f} s)", flush=True)
    return results


def changed_settings(name: str, settings: dict[str, str] | None) -> tuple[dict[str, str], str]:
    """The ``settings`` that algorithm ``name`` has, and their text for row labels."""
    fields = {f["name"] for f in ALGORITHMS[name].Config.field_specs()}
    overrides = {k: v for k, v in (settings or {}).items() if k in fields}
    return overrides, ", ".join(f"{k}={v}" for k, v in overrides.items())


def parse_settings(parser: argparse.ArgumentParser, pairs: list[str]) -> dict[str, str]:
    """``--set NAME=VALUE`` options as a dict (argparse error on a malformed one)."""
    bad = [s for s in pairs if "=" not in s]
    if bad:
        parser.error(f"--set needs NAME=VALUE, got {bad[0]!r}")
    return dict(s.split("=", 1) for s in pairs)


def label(row: dict) -> str:
    """A results row's name in tables: the algorithm, with its changed settings if any."""
    return f"{row['algorithm']} ({row['variant']})" if row.get("variant") else row["algorithm"]


def _curve(run: Run) -> dict:
    """First and last epoch's mean meta-training loss; validation Recall@20 per epoch."""
    metrics = run.read_metrics()
    out: dict = {}
    if "kind" not in metrics:
        return out
    steps = metrics[metrics["kind"] == "step"]
    if len(steps) and "epoch" in steps:
        by_epoch = steps.groupby("epoch")["loss"].mean()
        out["first_epoch_loss"], out["last_epoch_loss"] = float(by_epoch.iloc[0]), float(by_epoch.iloc[-1])
    epochs = metrics[metrics["kind"] == "epoch"]
    if "val_recall20" in epochs:
        out["val_recall20"] = [float(v) for v in epochs["val_recall20"]]
    return out


def merge(old: dict, new: dict, key: str) -> dict:
    """``new`` with ``old``'s rows of the algorithms ``new`` did not run, in registry order."""
    ran = {label(r) for r in new[key]}
    rows = [r for r in old[key] if label(r) not in ran] + new[key]
    order = list(ALGORITHMS)
    rows.sort(key=lambda r: (order.index(r["algorithm"]), r.get("variant", ""), r["seed"]))
    return {**new, key: rows, "merged_from": old.get("merged_from", []) + ["earlier run"]}


def to_markdown(results: dict, ks=tuple(str(k) for k in KS)) -> str:
    by_algo: dict[str, list[dict]] = {}
    for r in results["runs"]:
        by_algo.setdefault(label(r), []).append(r)
    lines = []
    for k in ks:
        cells: dict[str, dict[str, tuple[float, float]]] = {}
        for algo, runs in by_algo.items():
            cells[algo] = {}
            for m in METRICS:
                vals = np.array([r["test"][k].get(m, np.nan) for r in runs if k in r["test"]], dtype=float)
                cells[algo][m] = (float(np.nanmean(vals)), float(np.nanstd(vals)))
        best = {m: (np.nanmin if m in LOWER_IS_BETTER else np.nanmax)([cells[a][m][0] for a in cells])
                for m in METRICS}
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
            family = ALGORITHMS[runs[0]["algorithm"]].family
            lines.append(f"| {algo} | {family} | " + " | ".join(row) + f" | {wall:.1f} |")
    lines.append("\n**Learning curves** (mean over seeds): meta-training loss, first and last epoch; "
                 "validation Recall@20 (K = 10), first and best epoch\n")
    lines.append("| algorithm | loss first epoch | loss last epoch | ratio | val R@20 first | val R@20 best |")
    lines.append("|---|---|---|---|---|---|")
    for algo, runs in by_algo.items():
        curves = [r["curve"] for r in runs if r.get("curve", {}).get("first_epoch_loss") is not None]
        if not curves:
            continue
        first = np.mean([c["first_epoch_loss"] for c in curves])
        last = np.mean([c["last_epoch_loss"] for c in curves])
        vals = [c["val_recall20"] for c in curves if c.get("val_recall20")]
        v0 = np.mean([v[0] for v in vals]) if vals else np.nan
        vb = np.mean([max(v) for v in vals]) if vals else np.nan
        lines.append(f"| {algo} | {first:.3f} | {last:.3f} | {last / first:.2f} | {v0:.4f} | {vb:.4f} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="movielens-small")
    p.add_argument("--algorithms", default=",".join(ALGORITHMS))
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", default="bench_out/accuracy.json")
    p.add_argument("--markdown", default="bench_out/accuracy.md")
    p.add_argument("--merge", help="an earlier results JSON: its rows for the algorithms not run "
                   "now are kept (rerun a few algorithms after changing them)")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="change a setting of every algorithm that has it (repeatable); rows are "
                   "labelled with it, e.g. --set ranking_loss=bpr --set rating_weight=0.1")
    args = p.parse_args()
    settings = parse_settings(p, args.set)
    results = run(args.dataset, args.algorithms.split(","), [int(s) for s in args.seeds.split(",")],
                  args.device, settings)
    if args.merge:
        results = merge(json.loads(Path(args.merge).read_text()), results, "runs")
    for path, text in ((args.out, json.dumps(results, indent=2)), (args.markdown, to_markdown(results))):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text + "\n")
    print(to_markdown(results))


if __name__ == "__main__":
    main()

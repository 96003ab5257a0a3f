"""Do the top-10s look like the person who rated? Demo personas (core/personas.py) on the
built-in MovieLens, for every algorithm (docs/PROTOCOL.md, "Demo quality").

    python benchmarks/bench_personas.py --seeds 0,1,2 --out bench_out/personas.json \
        --markdown bench_out/personas.md

For each seed and algorithm: train with the default configuration (Trainer, as the app does),
then give each persona's ratings to ``Recommender.recommend`` (top 10, candidates = items with
>= 10 ratings among training users, as the app shows them). Reports per algorithm the mean share
of each top-10 in the persona's core genres (with what chance gives: the share among the
candidates), the mean pairwise Jaccard overlap between the personas' lists (low = personal),
and the meta-learner it picks for the app's default: the highest core-genre share among those
whose Recall@20 at K = 10 is at least EASE^R's, else the highest share. Lists of the picked
algorithm are printed for the README.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from bench_accuracy import changed_settings, label, merge, parse_settings  # the script's folder

from core.algorithms import ALGORITHMS
from core.data.loading import load_dataset
from core.evaluation import evaluate
from core.personas import PERSONAS, genre_share, has_genre, mean_pairwise_jaccard, persona_ratings
from core.recommend import Recommender
from core.split import SplitConfig, make_split
from core.training import Trainer


def persona_lists(algorithm, dataset, split, top: int = 10, min_ratings: int = 10) -> list[dict]:
    rec = Recommender(algorithm, dataset, split)
    out = []
    for p in PERSONAS:
        r = rec.recommend(persona_ratings(dataset, p), top=top, min_ratings=min_ratings, explain=False)
        items = [int(i) for i in r.adapted["item"]]
        candidates = np.flatnonzero(np.isfinite(r.scores))
        out.append({"persona": p.name, "items": items, "titles": list(r.adapted["title"]),
                    "share": genre_share(dataset, items, p.core_genres),
                    "chance": float(has_genre(dataset, candidates, p.core_genres).mean())})
    return out


def run(dataset_spec: str, algorithms: list[str], seeds: list[int],
        settings: dict[str, str] | None = None) -> dict:
    dataset = load_dataset(dataset_spec)
    results: dict = {"dataset": dataset.name, "seeds": seeds, "rows": []}
    for seed in seeds:
        split = make_split(dataset, SplitConfig(seed=seed))
        for name in algorithms:
            t0 = time.perf_counter()
            overrides, variant = changed_settings(name, settings)
            trainer = Trainer(name, dataset, split, algo_overrides=overrides,
                              train={"seed": seed, "final_test": False})
            summary = trainer.run()
            if summary["status"] != "finished":
                print(f"{name} seed {seed}: {summary.get('error')}", file=sys.stderr)
                continue
            lists = persona_lists(trainer.algorithm, dataset, split)
            recall = evaluate(trainer.algorithm, dataset, split, "val", [10])[10]["recall20"]
            row = {"algorithm": name, "variant": variant, "seed": seed, "share": float(np.mean([x["share"] for x in lists])),
                   "chance": float(np.mean([x["chance"] for x in lists])),
                   "jaccard": mean_pairwise_jaccard([x["items"] for x in lists]),
                   "val_recall20": recall, "lists": lists, "seconds": time.perf_counter() - t0}
            results["rows"].append(row)
            print(f"{label(row):<16} seed {seed}: share {row['share']:.2f} (chance {row['chance']:.2f}) "
                  f"jaccard {row['jaccard']:.3f} val R@20 {recall:.4f}", flush=True)
    return results


def summarise(results: dict) -> tuple[str, str | None]:
    by_algo: dict[str, list[dict]] = {}
    for r in results["rows"]:
        by_algo.setdefault(label(r), []).append(r)
    mean = {a: {k: float(np.mean([r[k] for r in rows])) for k in ("share", "chance", "jaccard", "val_recall20")}
            for a, rows in by_algo.items()}
    family = {a: ALGORITHMS[rows[0]["algorithm"]].family for a, rows in by_algo.items()}
    # the app's default is a default configuration: rows with changed settings are not picked
    learners = [a for a in mean if family[a] in ("meta", "metric") and a in ALGORITHMS]
    bar = mean.get("ease", {}).get("val_recall20", -1.0)
    eligible = [a for a in learners if mean[a]["val_recall20"] >= bar] or learners
    pick = max(eligible, key=lambda a: mean[a]["share"]) if eligible else None
    lines = [f"Mean over seeds {results['seeds']}, {len(PERSONAS)} personas, top-10 each.\n",
             "| algorithm | family | core-genre share | chance | mean pairwise Jaccard | val Recall@20 (K=10) |",
             "|---|---|---|---|---|---|"]
    for a, m in sorted(mean.items(), key=lambda kv: -kv[1]["share"]):
        name = f"**{a}**" if a == pick else a
        lines.append(f"| {name} | {family[a]} | {m['share']:.2f} | {m['chance']:.2f} | "
                     f"{m['jaccard']:.3f} | {m['val_recall20']:.4f} |")
    if pick:
        lines.append(f"\nPicked for the app's default: **{pick}**. Its lists (seed {results['seeds'][0]}):\n")
        first = next(r for r in results["rows"] if label(r) == pick)
        for x in first["lists"]:
            lines.append(f"- *{x['persona']}* (share {x['share']:.1f}): " + "; ".join(x["titles"]))
    return "\n".join(lines), pick


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="movielens-small")
    p.add_argument("--algorithms", default=",".join(ALGORITHMS))
    p.add_argument("--seeds", default="0")
    p.add_argument("--out", default="bench_out/personas.json")
    p.add_argument("--markdown", default="bench_out/personas.md")
    p.add_argument("--merge", help="an earlier results JSON: its rows for the algorithms not run "
                   "now are kept")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="change a setting of every algorithm that has it (repeatable); rows are "
                   "labelled with it and never picked as the default")
    args = p.parse_args()
    results = run(args.dataset, args.algorithms.split(","), [int(s) for s in args.seeds.split(",")],
                  parse_settings(p, args.set))
    if args.merge:
        results = merge(json.loads(Path(args.merge).read_text()), results, "rows")
    text, _ = summarise(results)
    for path, body in ((args.out, json.dumps(results, indent=2)), (args.markdown, text)):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(body + "\n")
    print(text)


if __name__ == "__main__":
    main()

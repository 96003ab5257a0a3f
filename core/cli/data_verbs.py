"""datasets, inspect, algorithms."""

from __future__ import annotations

import argparse
import json

from .common import dataset_spec, load_dataset, split_for, split_problem


def cmd_datasets(args: argparse.Namespace) -> None:
    from ..data import BUILTINS

    print("Built-in datasets (offline):")
    for info in BUILTINS.values():
        print(f"  {info.name:<18} {info.title}\n  {'':<18} {info.description}")
    print("\nAlso: a MovieLens folder or .zip (100K, 1M, latest/20M/25M/32M CSV), any ratings")
    print("or interaction table (CSV/TSV/Parquet; see `metarec inspect --help`), or")
    print("'synthetic[:key=value,...]'.")


def cmd_inspect(args: argparse.Namespace) -> None:
    dataset = load_dataset(dataset_spec(args.dataset, args.columns, args.scale, args.escape))
    s = dataset.summary()
    split = split_for(dataset, seed=args.seed)
    counts = split.counts(dataset)
    if args.json:
        print(json.dumps(s | {"split": counts}, indent=2, default=str))
        return
    rpu = s["ratings_per_user"]
    scale = s["scale"]
    print(f"{s['name']}  ({s['source']})")
    print(f"  users      {s['users']:,}")
    print(f"  items      {s['items']:,}")
    print(f"  ratings    {s['ratings']:,}")
    print(f"  density    {s['density']:.4%}")
    if s.get("implicit") or getattr(dataset, "implicit", False):
        print("  feedback   implicit (interactions, no ratings): top-N metrics only")
    else:
        print(f"  scale      {scale['min']:g} .. {scale['max']:g} (step {scale['step']:g}), "
              f"mean {s['mean_rating']:.3f}")
    print(f"  per user   min {rpu['min']}, 25% {rpu['q25']:g}, median {rpu['median']:g}, "
          f"75% {rpu['q75']:g}, max {rpu['max']}")
    print(f"  genres     {s['genres']}; user features: {', '.join(s['user_features']) or 'none'}")
    for note in s["notes"]:
        print(f"  note       {note}")
    print("  split      " + ", ".join(f"{k} {v['users']} users" for k, v in counts.items()))
    problem = split_problem(dataset, split)
    if problem:
        print(f"  note       {problem} (options of `metarec train`)")


def algorithm_defaults(cls) -> tuple[list[dict], list[dict]]:
    """(algorithm settings, training settings) with the defaults this algorithm really trains
    with: TrainConfig's fields overridden by the algorithm's ``train_defaults``."""
    from ..training import TrainConfig

    own = list(cls.Config.field_specs())
    overrides = dict(getattr(cls, "train_defaults", {}) or {})
    train = [dict(spec, default=overrides.get(spec["name"], spec["default"]),
                  overridden=spec["name"] in overrides) for spec in TrainConfig.field_specs()]
    return own, train


def default_algorithm() -> str:
    """The app's default algorithm (the one core.workflows gives the app)."""
    try:
        from ..workflows import default_algorithm as shared
    except ImportError:
        from .. import algorithms

        return str(getattr(algorithms, "DEFAULT_ALGORITHM", "maml"))
    return shared()


def cmd_algorithms(args: argparse.Namespace) -> None:
    from .algorithm_help import show_algorithms

    print(show_algorithms(list(getattr(args, "names", None) or []), args.verbose,
                          default_algorithm()))

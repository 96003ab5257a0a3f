"""``metarec``: the headless command line. Same code paths as the app.

Errors the user can fix (bad files, unknown settings, missing devices) print one clear line
and exit with status 2; they never print a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

EXIT_USAGE = 2


class CliError(Exception):
    """A problem the user can fix; printed as one line."""


# ------------------------------------------------------------------------------ helpers
def _dataset_spec(source: str, columns: str | None = None):
    """A DatasetSpec from the command line; ``columns`` maps roles to a table's column names,
    e.g. ``user=uid,item=asin,rating=stars,timestamp=ts``."""
    from .data.loading import DatasetSpec
    from .data.table import ColumnMapping

    mapping = None
    if columns:
        roles = _parse_sets(columns.split(","))
        unknown = set(roles) - {"user", "item", "rating", "timestamp"}
        if unknown or not {"user", "item", "rating"} <= set(roles):
            raise CliError("--columns needs user=COL,item=COL,rating=COL[,timestamp=COL]")
        mapping = ColumnMapping(**roles)
    return DatasetSpec.parse(source, mapping)


def _load_dataset(spec):
    from .data.loading import DatasetSpec, load_dataset

    if isinstance(spec, dict):
        spec = DatasetSpec.from_dict(spec)
    if isinstance(spec, DatasetSpec):
        return load_dataset(spec, spec.mapping)
    return load_dataset(spec)


def _split_for(dataset, cfg: dict[str, Any] | None = None, seed: int | None = None):
    from .split import SplitConfig, make_split

    values = dict(cfg or {})
    if seed is not None:
        values["seed"] = seed
    return make_split(dataset, SplitConfig(**values))


def _parse_sets(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise CliError(f"--set expects key=value, got '{pair}'")
        key, value = pair.split("=", 1)
        out[key.strip()] = value.strip()
    return out


def _open_run(path: str):
    from .runs import Run

    return Run.open(path)


def _run_context(run, device: str = "cpu"):
    """Dataset, split and algorithm of a saved run."""
    from .runs import load_algorithm

    cfg = run.config
    dataset = _load_dataset(cfg["dataset"].get("spec") or cfg["dataset"]["source"])
    split = _split_for(dataset, cfg.get("split"))
    algorithm = load_algorithm(run, dataset, device=device)
    return dataset, split, algorithm


def _read_rows(path: str, columns: list[str]) -> pd.DataFrame:
    from .data import DatasetError

    try:
        frame = pd.read_csv(path, sep=None, engine="python", dtype=str)
    except FileNotFoundError:
        raise CliError(f"{path}: no such file") from None
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise CliError(f"{path}: cannot be read as CSV ({exc})") from None
    frame.columns = [c.strip().lower() for c in frame.columns]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DatasetError(
            f"missing column(s) {', '.join(missing)}; the file has {', '.join(frame.columns)}",
            path=path,
        )
    if "rating" in columns:
        values = pd.to_numeric(frame["rating"], errors="coerce")
        if values.isna().any():
            line = int(np.flatnonzero(values.isna().to_numpy())[0]) + 2
            raise DatasetError(f"rating '{frame['rating'].iloc[line - 2]}' is not a number",
                               path=path, line=line, column="rating")
        frame["rating"] = values
    return frame


# ------------------------------------------------------------------------------ verbs
def cmd_datasets(args: argparse.Namespace) -> None:
    from .data import BUILTINS

    print("Built-in datasets (offline):")
    for info in BUILTINS.values():
        print(f"  {info.name:<18} {info.title}\n  {'':<18} {info.description}")
    print("\nAlso: a MovieLens folder or .zip (100K, 1M, latest/20M/25M/32M CSV), any ratings")
    print("CSV/TSV/Parquet (see `metarec inspect --help`), or 'synthetic[:key=value,...]'.")


def cmd_inspect(args: argparse.Namespace) -> None:
    dataset = _load_dataset(_dataset_spec(args.dataset, args.columns))
    s = dataset.summary()
    if args.json:
        print(json.dumps(s, indent=2))
        return
    rpu = s["ratings_per_user"]
    scale = s["scale"]
    print(f"{s['name']}  ({s['source']})")
    print(f"  users      {s['users']:,}")
    print(f"  items      {s['items']:,}")
    print(f"  ratings    {s['ratings']:,}")
    print(f"  density    {s['density']:.4%}")
    print(f"  scale      {scale['min']:g} .. {scale['max']:g} (step {scale['step']:g}), "
          f"mean {s['mean_rating']:.3f}")
    print(f"  per user   min {rpu['min']}, 25% {rpu['q25']:g}, median {rpu['median']:g}, "
          f"75% {rpu['q75']:g}, max {rpu['max']}")
    print(f"  genres     {s['genres']}; user features: {', '.join(s['user_features']) or 'none'}")
    for note in s["notes"]:
        print(f"  note       {note}")
    split = _split_for(dataset, seed=args.seed)
    counts = split.counts(dataset)
    print("  split      " + ", ".join(f"{k} {v['users']} users" for k, v in counts.items()))


def cmd_algorithms(args: argparse.Namespace) -> None:
    from .algorithms import ALGORITHMS
    from .training import TrainConfig

    for name, cls in ALGORITHMS.items():
        print(f"{name:<16} {cls.title}  [{cls.family}]")
        if args.verbose:
            print(f"    {cls.description}")
            if cls.presets:
                print(f"    presets: {', '.join(cls.presets)}")
            for spec in cls.Config.field_specs():
                print(f"    --set {spec['name']}={spec['default']!r:<10} {spec.get('help', '')}")
    if args.verbose:
        print("\nTraining settings (any algorithm):")
        for spec in TrainConfig.field_specs():
            print(f"    --set {spec['name']}={spec['default']!r:<10} {spec.get('help', '')}")


def cmd_train(args: argparse.Namespace) -> None:
    from . import distributed as dist
    from .algorithms import algorithm_class
    from .training import FailedEvent, LogEvent, StepEvent, TrainConfig, Trainer

    dist.init_from_env(args.device)
    main = dist.is_main()
    cls = algorithm_class(args.algorithm)
    sets = _parse_sets(args.set or [])
    train_names = {f["name"] for f in TrainConfig.field_specs()}
    algo_names = {f["name"] for f in cls.Config.field_specs()}
    unknown = set(sets) - train_names - algo_names
    if unknown:
        raise CliError(f"unknown setting(s) {', '.join(sorted(unknown))} for {args.algorithm}; "
                       f"see `metarec algorithms -v`")
    preset_algo, preset_train = ({}, {})
    if args.preset:
        from .algorithms import preset_overrides

        preset_algo, preset_train = preset_overrides(args.algorithm, args.preset)
    train_over = preset_train | {k: v for k, v in sets.items() if k in train_names}
    algo_over = preset_algo | {k: v for k, v in sets.items() if k in algo_names and k not in train_names}
    train_over["seed"] = args.seed
    train_over["device"] = _rank_device(args.device, dist)
    if args.epochs is not None:
        train_over["epochs"] = args.epochs
    spec = _dataset_spec(args.dataset, args.columns)
    dataset = _load_dataset(spec)
    split = _split_for(dataset, seed=args.split_seed)
    out = Path(args.out) if args.out else Path("runs") / f"{time.strftime('%Y%m%d-%H%M%S')}-{args.algorithm}"
    bar = None

    def on_event(event) -> None:
        nonlocal bar
        if not main:
            return
        if isinstance(event, StepEvent):
            if bar is None:
                from tqdm import tqdm

                bar = tqdm(total=event.total_steps, desc=args.algorithm, unit="step",
                           disable=args.quiet, dynamic_ncols=True)
            bar.update(1)
            bar.set_postfix(loss=f"{event.loss:.4f}", tasks_s=f"{event.tasks_per_s:.0f}",
                            epoch=event.epoch)
        elif isinstance(event, LogEvent) and not args.quiet:
            (bar.write if bar else print)(event.message)
        elif isinstance(event, FailedEvent):
            (bar.write if bar else print)(f"error: {event.message}", file=sys.stderr)

    trainer = Trainer(args.algorithm, dataset, split, algo_overrides=algo_over, train=train_over,
                      run_dir=out, callback=on_event, dataset_spec=spec.to_dict())
    summary = trainer.run()
    if bar is not None:
        bar.close()
    dist.cleanup()
    if not main:
        return
    if summary["status"] == "failed":
        raise CliError(summary.get("error", "training failed"))
    print(f"{summary['status']}: {summary['steps']} steps in {summary['wall_time']:.1f} s "
          f"-> {out}")
    if summary.get("test"):
        from .evaluation import format_table

        print(format_table({int(k): v for k, v in summary["test"].items()}, "Test users (cold start):"))


def _rank_device(device: str, dist) -> str:
    if device.startswith("cuda") and dist.active() and ":" not in device:
        return f"cuda:{dist.local_rank()}"
    return device


def cmd_evaluate(args: argparse.Namespace) -> None:
    from .evaluation import evaluate_run, format_table

    run = _open_run(args.run)
    dataset, split, algorithm = _run_context(run, args.device)
    ks = [int(k) for k in args.k.split(",")]
    table = evaluate_run(run, dataset, split, ks, role=args.role, algorithm=algorithm,
                         recompute=args.recompute)
    steps = None
    if args.inner_steps:
        from .evaluation import inner_steps_curve

        counts = [int(s) for s in args.inner_steps.split(",")]
        steps = inner_steps_curve(algorithm, dataset, split, counts, k=args.steps_k, role=args.role)
    if args.json:
        out = {"run": str(run.path), "algorithm": run.config["algorithm"], "role": args.role,
               "metrics": table}
        if steps is not None:
            out["inner_steps"] = steps.to_dict("records")
        print(json.dumps(out, indent=2))
        return
    print(format_table(table, f"{run.config.get('title', run.name)} on {args.role} users"))
    if steps is not None:
        print(f"\nInner steps at K = {args.steps_k}:")
        print(steps[["steps", "mae", "rmse", "ndcg3"]].to_string(index=False, float_format=lambda v: f"{v:.4f}"))


def cmd_predict(args: argparse.Namespace) -> None:
    import torch

    from .tasks import new_user_batch

    run = _open_run(args.run)
    dataset, _, algorithm = _run_context(run, args.device)
    support = _read_rows(args.support, ["user", "item", "rating"])
    query = _read_rows(args.query, ["user", "item"])
    rows, problems = [], []
    for user, q in query.groupby("user", sort=False):
        s = support[support["user"] == user]
        s_idx = dataset.item_index(s["item"].to_numpy())
        for raw, idx, line in zip(s["item"], s_idx, s.index, strict=True):
            if idx < 0:
                problems.append(f"{args.support}, line {line + 2}: unknown item '{raw}' ignored")
        ok = s_idx >= 0
        q_idx = dataset.item_index(q["item"].to_numpy())
        for raw, idx, line in zip(q["item"], q_idx, q.index, strict=True):
            if idx < 0:
                problems.append(f"{args.query}, line {line + 2}: unknown item '{raw}': no prediction")
        known = q_idx >= 0
        batch = new_user_batch(s_idx[ok], s["rating"].to_numpy()[ok], q_idx[known]).to(algorithm.device)
        adapted = algorithm.adapt(batch)
        with torch.no_grad():
            pred = algorithm.clamp(algorithm.predict(adapted, batch, batch.query_items))[0]
        for raw, p in zip(q["item"].to_numpy()[known], pred[: int(known.sum())].tolist(), strict=True):
            rows.append({"user": user, "item": raw, "prediction": round(p, 4)})
    from .runs import atomic_write_bytes

    atomic_write_bytes(Path(args.out), pd.DataFrame(rows, columns=["user", "item", "prediction"])
                       .to_csv(index=False).encode())
    for p in problems:
        print(p, file=sys.stderr)
    print(f"wrote {len(rows)} predictions for {query['user'].nunique()} user(s) to {args.out}")


def cmd_recommend(args: argparse.Namespace) -> None:
    from .recommend import Recommender

    run = _open_run(args.run)
    dataset, split, algorithm = _run_context(run, args.device)
    given = _read_rows(args.ratings, ["item", "rating"])
    idx = dataset.item_index(given["item"].to_numpy())
    for raw, i, line in zip(given["item"], idx, given.index, strict=True):
        if i < 0:
            print(f"{args.ratings}, line {line + 2}: unknown item '{raw}' ignored", file=sys.stderr)
    ratings = {int(i): float(r) for i, r in zip(idx, given["rating"], strict=True) if i >= 0}
    rec = Recommender(algorithm, dataset, split).recommend(ratings, top=args.top)
    if args.json:
        print(json.dumps({"adapted": rec.adapted.to_dict("records"),
                          "unadapted": rec.unadapted.to_dict("records"),
                          "losses": rec.losses}, indent=2, default=str))
        return
    print(f"Top {args.top} for a user with {len(ratings)} rating(s), adapted by "
          f"{run.config.get('title', run.config['algorithm'])}  |  un-adapted (population)")
    for a, b in zip(rec.adapted.itertuples(), rec.unadapted.itertuples(), strict=False):
        change = f"{a.rank_change:+d}" if a.rank_change else "="
        print(f"{a.rank:>3}. {a.title[:38]:<38} {a.score:4.2f} {change:>6}  |  {b.title[:38]:<38} {b.score:4.2f}")
    if rec.losses:
        print("support loss per inner step: " + " ".join(f"{x:.3f}" for x in rec.losses))


def cmd_compare(args: argparse.Namespace) -> None:
    from .evaluation import RANKING_METRICS, RATING_METRICS

    rows = []
    for path in args.runs:
        run = _open_run(path)
        summary = run.summary or {}
        test = summary.get("test", {})
        for k in args.k.split(","):
            m = test.get(k)
            if m is None:
                continue
            rows.append({"run": run.name, "algorithm": run.config.get("algorithm"), "K": int(k),
                         **{c: m.get(c) for c in (*RATING_METRICS, *RANKING_METRICS)},
                         "wall_s": summary.get("wall_time")})
    if not rows:
        raise CliError("none of these runs has test metrics (train with final_test=true)")
    table = pd.DataFrame(rows).sort_values(["K", "mae"])
    if args.json:
        print(table.to_json(orient="records", indent=2))
    else:
        with pd.option_context("display.width", 160, "display.max_columns", 20):
            print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))


# ------------------------------------------------------------------------------ parser
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="metarec", description="Meta-learning for cold-start recommendation")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("datasets", help="list built-in datasets")
    s.set_defaults(func=cmd_datasets)

    s = sub.add_parser("inspect", help="summarise a dataset (or report what is wrong with it)")
    s.add_argument("dataset", help="built-in name, MovieLens folder/.zip, ratings file, or synthetic")
    s.add_argument("--seed", type=int, default=0, help="split seed for the counts")
    s.add_argument("--columns", help="for a ratings table: user=COL,item=COL,rating=COL[,timestamp=COL]")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_inspect)

    s = sub.add_parser("algorithms", help="list algorithms and their settings")
    s.add_argument("-v", "--verbose", action="store_true")
    s.set_defaults(func=cmd_algorithms)

    s = sub.add_parser("train", help="meta-train an algorithm into a run folder")
    s.add_argument("--dataset", default="movielens-small")
    s.add_argument("--columns", help="for a ratings table: user=COL,item=COL,rating=COL[,timestamp=COL]")
    s.add_argument("--algorithm", default="maml")
    s.add_argument("--set", action="append", metavar="KEY=VALUE", help="hyperparameter or training setting")
    s.add_argument("--preset", help="a named preset of the algorithm (e.g. melu's 'paper')")
    s.add_argument("--epochs", type=int)
    s.add_argument("--device", default="cpu")
    s.add_argument("--seed", type=int, default=0, help="training seed")
    s.add_argument("--split-seed", type=int, default=0, help="which users are cold (protocol seed)")
    s.add_argument("--out", help="run folder (default runs/<time>-<algorithm>)")
    s.add_argument("-q", "--quiet", action="store_true")
    s.set_defaults(func=cmd_train)

    s = sub.add_parser("evaluate", help="cold-start metrics of a run at several K")
    s.add_argument("run")
    s.add_argument("--k", default="1,2,5,10,20")
    s.add_argument("--role", default="test", choices=["test", "val"])
    s.add_argument("--device", default="cpu")
    s.add_argument("--recompute", action="store_true", help="ignore the cached evaluation")
    s.add_argument("--inner-steps", help="also an inner-steps curve, e.g. 0,1,2,5,10")
    s.add_argument("--steps-k", type=int, default=10, help="support size K for --inner-steps")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_evaluate)

    s = sub.add_parser("predict", help="predict ratings of new users given a few of theirs")
    s.add_argument("run")
    s.add_argument("--support", required=True, help="CSV: user,item,rating")
    s.add_argument("--query", required=True, help="CSV: user,item")
    s.add_argument("--out", required=True, help="CSV written: user,item,prediction")
    s.add_argument("--device", default="cpu")
    s.set_defaults(func=cmd_predict)

    s = sub.add_parser("recommend", help="top-N for a new user, beside the un-adapted ranking")
    s.add_argument("run")
    s.add_argument("--ratings", required=True, help="CSV: item,rating (the dataset's item ids)")
    s.add_argument("--top", type=int, default=20)
    s.add_argument("--device", default="cpu")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_recommend)

    s = sub.add_parser("compare", help="runs side by side (test metrics)")
    s.add_argument("runs", nargs="+")
    s.add_argument("--k", default="5,10,20")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_compare)
    return p


def main(argv: list[str] | None = None) -> int:
    from .algorithms.base import ConfigError
    from .data import DatasetError
    from .devices import DeviceError
    from .runs import RunError

    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (CliError, DatasetError, ConfigError, DeviceError, RunError) as exc:
        print(f"metarec {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyError as exc:  # unknown algorithm name from the registry
        print(f"metarec {args.command}: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

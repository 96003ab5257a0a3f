"""train, evaluate, compare."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .common import (
    CliError,
    check_device,
    dataset_spec,
    format_metrics,
    load_dataset,
    metric_columns,
    open_run,
    parse_ks,
    parse_sets,
    prepare_out_folder,
    run_context,
    run_title,
    split_for,
    split_problem,
    warn,
)

SPLIT_OPTIONS = ("query_size", "max_support", "min_ratings", "val_fraction", "test_fraction")


def _split_settings(args: argparse.Namespace) -> dict:
    values = {name: getattr(args, name) for name in SPLIT_OPTIONS
              if getattr(args, name, None) is not None}
    values["seed"] = args.split_seed
    return values


def _resolved(spec):
    """Store a file dataset's path absolute, so the run can be evaluated from anywhere."""
    if getattr(spec, "path", None):
        spec.path = str(Path(spec.path).expanduser().resolve())
    return spec


def cmd_train(args: argparse.Namespace) -> None:
    from .. import distributed as dist
    from ..algorithms import algorithm_class
    from ..training import EpochEvent, FailedEvent, LogEvent, StepEvent, TrainConfig, Trainer
    from .data_verbs import default_algorithm

    check_device(args.device)  # once, before anything is read (each torchrun rank checks too)
    args.algorithm = args.algorithm or default_algorithm()
    dist.init_from_env(args.device)
    main = dist.is_main()
    cls = algorithm_class(args.algorithm)
    sets = parse_sets(args.set or [])
    train_names = {f["name"] for f in TrainConfig.field_specs()}
    algo_names = {f["name"] for f in cls.Config.field_specs()}
    unknown = set(sets) - train_names - algo_names
    if unknown:
        raise CliError(f"unknown setting(s) {', '.join(sorted(unknown))} for {args.algorithm}; "
                       f"see `metarec algorithms -v`")
    preset_algo, preset_train = ({}, {})
    if args.preset:
        from ..algorithms import preset_overrides

        preset_algo, preset_train = preset_overrides(args.algorithm, args.preset)
    train_over = preset_train | {k: v for k, v in sets.items() if k in train_names}
    algo_over = preset_algo | {k: v for k, v in sets.items()
                               if k in algo_names and k not in train_names}
    train_over["seed"] = args.seed
    train_over["device"] = _rank_device(args.device, dist)
    if args.epochs is not None:
        train_over["epochs"] = args.epochs
    out = Path(args.out) if args.out else (
        Path("runs") / f"{time.strftime('%Y%m%d-%H%M%S')}-{args.algorithm}")
    if main:
        prepare_out_folder(out, args.overwrite)
    spec = _resolved(dataset_spec(args.dataset, args.columns, args.scale, args.escape))
    dataset = load_dataset(spec)
    split = split_for(dataset, _split_settings(args))
    problem = split_problem(dataset, split)
    if problem:
        raise CliError(problem)
    max_support = split.config.max_support
    if "eval_k" not in train_over and max_support < 10:
        train_over["eval_k"] = max_support
    bar = None
    show_bar = main and not args.quiet and sys.stderr.isatty()
    failed: list[str] = []

    def on_event(event) -> None:
        nonlocal bar
        if not main:
            return
        if isinstance(event, StepEvent):
            if not show_bar:
                return
            if bar is None:
                from tqdm import tqdm

                bar = tqdm(total=event.total_steps, desc=args.algorithm, unit="step",
                           dynamic_ncols=True, file=sys.stderr)
            bar.update(1)
            bar.set_postfix(loss=f"{event.loss:.4f}", tasks_s=f"{event.tasks_per_s:.0f}",
                            epoch=event.epoch)
        elif isinstance(event, EpochEvent) and not show_bar and not args.quiet:
            metrics = "  ".join(f"{k} {v:.4f}" for k, v in event.metrics.items()
                                if isinstance(v, float))
            when = f"epoch {event.epoch}: step {event.step}, " if event.epoch else "validation: "
            warn(f"{when}{event.elapsed:.1f} s  {metrics}".rstrip())
        elif isinstance(event, LogEvent) and not args.quiet:
            (bar.write if bar else warn)(event.message)
        elif isinstance(event, FailedEvent):
            failed.append(event.message)  # printed once, by main()

    trainer = Trainer(args.algorithm, dataset, split, algo_overrides=algo_over, train=train_over,
                      run_dir=out, callback=on_event, dataset_spec=spec.to_dict(),
                      overwrite=args.overwrite)
    try:
        summary = trainer.run()
    finally:
        if bar is not None:
            bar.close()
    dist.cleanup()
    if not main:
        return
    if summary["status"] == "failed":
        raise CliError(summary.get("error") or (failed[0] if failed else "training failed"))
    print(f"{summary['status']}: {summary['steps']} steps in {summary['wall_time']:.1f} s "
          f"-> {out}")
    if summary.get("test"):
        table = {int(k): v for k, v in summary["test"].items()}
        print(format_metrics(table, "Test users (cold start):"))


def _rank_device(device: str, dist) -> str:
    if device.startswith("cuda") and dist.active() and ":" not in device:
        return f"cuda:{dist.local_rank()}"
    return device


def cmd_evaluate(args: argparse.Namespace) -> None:
    from ..evaluation import evaluate_run

    device = check_device(args.device)
    run = open_run(args.run)
    dataset, split, algorithm = run_context(run, device)
    max_support = split.config.max_support
    ks = parse_ks(args.k, max_support) if args.k is not None else (
        [k for k in (1, 2, 5, 10, 20) if k <= max_support] or [max_support])
    role = args.role
    if not len(split.users(role)):
        problem = split_problem(dataset, split) or ""
        raise CliError(f"run '{run.name}' has 0 {'validation' if role == 'val' else 'test'} "
                       f"users, so there is nothing to evaluate"
                       + (f"; {problem}" if problem else "")
                       + ". Retrain with other split options (metarec train --help)")
    steps_counts = None
    if args.inner_steps:
        steps_counts = parse_ks(args.inner_steps, option="--inner-steps", minimum=0)
        steps_k = parse_ks(str(args.steps_k), split.config.max_support, "--steps-k")[0]
    table = evaluate_run(run, dataset, split, ks, role=role, algorithm=algorithm,
                         recompute=args.recompute)
    steps = None
    if steps_counts is not None:
        from ..evaluation import inner_steps_curve

        steps = inner_steps_curve(algorithm, dataset, split, steps_counts, k=steps_k, role=role)
    if args.json:
        out = {"run": str(run.path), "algorithm": run.config.get("algorithm"), "role": role,
               "metrics": {str(k): v for k, v in table.items()}}
        if steps is not None:
            out["inner_steps"] = steps.to_dict("records")
        print(json.dumps(out, indent=2, default=str))
        return
    print(format_metrics(table, f"{run_title(run)} on {role} users"))
    if steps is not None:
        cols = [c for c in ("mae", "rmse", "ndcg3", "recall20", "ndcg20") if c in steps.columns]
        print(f"\nInner steps at K = {steps_k}:")
        print(steps[["steps", *cols]].to_string(index=False, float_format=lambda v: f"{v:.4f}"))


def cmd_compare(args: argparse.Namespace) -> None:
    """Runs side by side, each labelled by its algorithm and the settings that differ from that
    algorithm's defaults, so two runs of one algorithm are told apart without their folders."""
    import pandas as pd

    from ..runs.labels import LABEL_LIMIT, changed_settings, run_label

    ks = parse_ks(args.k)
    ellipsis = "…" if _can_print("…") else "..."
    rows, shorts, skipped = [], [], []
    for path in args.runs:
        run = open_run(path)
        summary = run.summary or {}
        test = summary.get("test") if isinstance(summary, dict) else None
        if not isinstance(test, dict) or not test:
            skipped.append(f"{run.name}: no test metrics (status {summary.get('status', 'unknown') if isinstance(summary, dict) else 'unknown'})")
            continue
        have = sorted(int(k) for k in test if str(k).isdigit())
        config = run.config
        for k in ks:
            m = test.get(str(k))
            if not isinstance(m, dict):
                skipped.append(f"{run.name}: no test metrics at K = {k} (has K = "
                               f"{', '.join(map(str, have))}; `metarec evaluate {path} --k {k}`)")
                continue
            rows.append({"run": run.name, "algorithm": config.get("algorithm"),
                         "label": run_label(config, limit=None),
                         "settings": changed_settings(config), "K": k,
                         **{c: m.get(c) for c in m}, "wall_s": summary.get("wall_time")})
            shorts.append(run_label(config, limit=LABEL_LIMIT, ellipsis=ellipsis))
    for s in skipped:
        warn(f"note: {s}")
    if not rows:
        raise CliError("none of these runs has test metrics at K = "
                       f"{', '.join(map(str, ks))} (train with final_test=true, the default)")
    cols = metric_columns(rows)
    table = pd.DataFrame(rows)[["run", "algorithm", "label", "settings", "K", *cols, "wall_s"]]
    table["short"] = shorts
    key = "recall20" if "recall20" in cols else ("mae" if "mae" in cols else None)
    table = table.sort_values(["K", key] if key else ["K"],
                              ascending=[True, key != "recall20"] if key else True)
    if args.json:  # the full label, and the settings that differ as an object
        print(table.drop(columns=["short"]).to_json(orient="records", indent=2))
        return
    from .common import METRIC_LABELS

    shown = table[["run", "short", "K", *cols, "wall_s"]].rename(
        columns={c: METRIC_LABELS[c] for c in cols})
    shown = _left_aligned(shown, {"run": "run", "short": "algorithm"})
    with pd.option_context("display.width", 250, "display.max_columns", 30,
                           "display.max_colwidth", 2 * LABEL_LIMIT):
        print(shown.to_string(index=False, float_format=lambda v: f"{v:.4f}"))


def _left_aligned(frame, names: dict[str, str]):
    """Text columns padded on the right (pandas pads them on the left), headers alike."""
    frame = frame.copy()
    renames = {}
    for column, header in names.items():
        texts = [str(v) for v in frame[column]]
        width = max(len(header), *(len(t) for t in texts))
        frame[column] = [t.ljust(width) for t in texts]
        renames[column] = header.ljust(width)
    return frame.rename(columns=renames)


def _can_print(text: str) -> bool:
    """Whether stdout's encoding can write ``text`` (else an ASCII stand-in is used)."""
    try:
        text.encode(getattr(sys.stdout, "encoding", None) or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True

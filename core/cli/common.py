"""What the verbs share: errors, datasets, runs, devices, output folders, K values, output."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any


class CliError(Exception):
    """A problem the user can fix; printed as one line."""


# ------------------------------------------------------------------------------ parsing
def parse_sets(pairs: list[str], option: str = "--set") -> dict[str, str]:
    from ..userfiles import parse_pairs

    try:
        return parse_pairs(pairs, option)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def parse_ks(
    text: str, max_support: int | None = None, option: str = "--k", minimum: int = 1
) -> list[int]:
    """'1,5,10' -> [1, 5, 10]; anything else (or K above the split's support pool) is refused."""
    ks: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        try:
            k = int(part)
        except ValueError:
            raise CliError(f"{option} expects whole numbers separated by commas, e.g. 5,10,20; "
                           f"got '{part or text}'") from None
        if k < minimum:
            raise CliError(f"{option}: {k} must be at least {minimum}")
        if max_support is not None and k > max_support:
            raise CliError(f"{option}: K = {k} is more than this run's split reveals (at most "
                           f"{max_support} support ratings per cold user; train with "
                           "--max-support to evaluate larger K)")
        if k not in ks:
            ks.append(k)
    return ks


# ------------------------------------------------------------------------------ datasets
def dataset_spec(source: str, columns: str | None = None, scale: str | None = None,
                 escape: str | None = None):
    """A DatasetSpec from the command line; ``columns`` maps roles to a table's column names,
    e.g. ``user=uid,item=asin,rating=stars,timestamp=ts``; ``scale`` fixes the rating scale
    ('-10:10:0.05'); ``escape`` is the escape character inside quoted fields."""
    from ..data.loading import DatasetSpec
    from ..data.table import ColumnMapping

    mapping = None
    if columns:
        roles = parse_sets([c for c in columns.replace(";", ",").split(",") if c.strip()],
                           "--columns")
        unknown = set(roles) - {"user", "item", "rating", "timestamp"}
        if unknown or not {"user", "item"} <= set(roles):
            raise CliError("--columns needs user=COL,item=COL[,rating=COL][,timestamp=COL]")
        try:
            mapping = ColumnMapping(**roles)
        except TypeError as exc:
            raise CliError(f"--columns: {exc}") from None
    extra = {}
    if scale is not None:
        extra["scale"] = scale
    if escape:
        extra["escape"] = escape
    return DatasetSpec.parse(source, mapping, **extra)


def load_dataset(spec):
    from ..data.loading import DatasetSpec
    from ..data.loading import load_dataset as _load

    if isinstance(spec, dict):
        spec = DatasetSpec.from_dict(spec)
    if isinstance(spec, DatasetSpec):
        return _load(spec, spec.mapping)
    return _load(spec)


def split_for(dataset, cfg: dict[str, Any] | None = None, seed: int | None = None):
    from ..split import SplitConfig, make_split

    values = dict(cfg or {})
    if seed is not None:
        values["seed"] = seed
    try:
        config = SplitConfig(**values)
    except (TypeError, ValueError) as exc:
        raise CliError(f"split settings: {exc}") from None
    return make_split(dataset, config)


def split_problem(dataset, split) -> str | None:
    """Why a split has no validation or test users, with the options that change it; None if
    both roles have users or were asked to be empty."""
    cfg = split.config
    empty = [role for role, frac in (("validation", cfg.val_fraction), ("test", cfg.test_fraction))
             if frac > 0 and not len(split.users("val" if role == "validation" else role))]
    if not empty:
        return None
    need = cfg.query_size + cfg.max_support
    per_user = dataset.ratings_per_user
    active = per_user if cfg.min_ratings is None else per_user[per_user >= cfg.min_ratings]
    eligible = int((active >= need).sum())
    most = int(per_user.max()) if len(per_user) else 0
    wanted = max(2, round(cfg.val_fraction * len(active)) + round(cfg.test_fraction * len(active)))
    ranked = sorted(active.tolist(), reverse=True)
    reach = int(ranked[min(wanted, len(ranked)) - 1]) if ranked else 0
    text = (f"this split has 0 {' and 0 '.join(empty)} users: a cold user needs query_size + "
            f"max_support = {cfg.query_size} + {cfg.max_support} = {need} ratings, and "
            f"{eligible} of {len(active)} users have that many (the most any user has: {most})")
    if reach >= 2:
        q = max(1, min(cfg.query_size, reach // 3))
        s = max(1, min(cfg.max_support, reach - q))
        text += (f". Lower them, e.g. --query-size {q} --max-support {s}"
                 f" (cold users then need {q + s} ratings)")
    else:
        text += ". This dataset has too few ratings per user for a cold-start split"
    return text


# ------------------------------------------------------------------------------ devices
def check_device(name: str) -> str:
    """One device check for every verb, before any data is read (one clear line)."""
    from ..devices import check_device as _check

    return _check(name)


# ------------------------------------------------------------------------------ runs
def open_run(path: str):
    from ..runs import Run

    return Run.open(path)


def run_context(run, device: str = "cpu"):
    """Dataset, split and algorithm of a saved run."""
    from ..runs import load_algorithm

    cfg = run.config
    if hasattr(run, "dataset_source"):  # validated by core.run_schema (RunError names the field)
        source = run.dataset_source()
    else:
        data = cfg.get("dataset")
        if not isinstance(data, dict) or not (data.get("spec") or data.get("source")):
            raise CliError(f"{run.path / 'config.json'}: field 'dataset' does not say which "
                           "data the run was trained on")
        source = data.get("spec") or data["source"]
    dataset = load_dataset(source)
    split_cfg = cfg.get("split")
    if split_cfg is not None and not isinstance(split_cfg, dict):
        raise CliError(f"{run.path / 'config.json'}: field 'split' is not a table of settings")
    split = split_for(dataset, split_cfg)
    algorithm = load_algorithm(run, dataset, device=device)
    return dataset, split, algorithm


def run_title(run) -> str:
    cfg = run.config
    return str(cfg.get("title") or cfg.get("algorithm") or run.name)


def prepare_out_folder(out: Path, overwrite: bool) -> None:
    """Refuse to write a run into a folder that holds one, or into a non-empty folder that is not
    a run, unless ``overwrite`` — checked before any data is read. ``Run.create(overwrite=True)``
    then removes the old run's files (nothing else in the folder is touched)."""
    if out.exists() and not out.is_dir():
        raise CliError(f"--out {out} is a file, not a folder")
    if not out.exists():
        return
    is_run = (out / "config.json").is_file()
    content = [p for p in out.iterdir()]
    if not content:
        return
    if not overwrite:
        if is_run:
            raise CliError(f"--out {out} already holds a run; choose another folder or add "
                           "--overwrite to replace it")
        raise CliError(f"--out {out} is a non-empty folder that is not a run; choose an empty "
                       "or new folder (or add --overwrite to write the run into it anyway)")


def check_out_file(path: str | None, overwrite: bool) -> Path | None:
    if not path:
        return None
    p = Path(path)
    if p.is_dir():
        raise CliError(f"--out {p} is a folder; name a file, e.g. {p / 'out.csv'}")
    if p.exists() and not overwrite:
        raise CliError(f"--out {p} exists; add --overwrite to replace it")
    if not p.parent.exists():
        raise CliError(f"--out {p}: the folder {p.parent} does not exist")
    return p


def write_csv(path: Path, frame) -> None:
    from ..runs import atomic_write_bytes

    atomic_write_bytes(path, frame.to_csv(index=False).encode())


# ------------------------------------------------------------------------------ output
def warn(message: str) -> None:
    print(message, file=sys.stderr)


METRIC_LABELS = {
    "recall20": "Recall@20", "ndcg20": "nDCG@20", "recall10": "Recall@10", "ndcg10": "nDCG@10",
    "mae": "MAE", "rmse": "RMSE", "ndcg3": "nDCG@3",
    "base_recall20": "base R@20", "base_ndcg20": "base nDCG@20",
}
METRIC_ORDER = tuple(METRIC_LABELS)


def metric_columns(rows: list[dict[str, Any]]) -> list[str]:
    """The metric keys present (with a value) in any row, headline top-N metrics first."""
    def present(key: str) -> bool:
        return any(isinstance(r.get(key), (int, float)) and r.get(key) is not None
                   and not (isinstance(r.get(key), float) and math.isnan(r[key])) for r in rows)

    return [k for k in METRIC_ORDER if present(k)]


def format_metrics(table: dict[int, dict[str, Any]], title: str = "") -> str:
    """A metrics-per-K table from whatever keys the evaluation produced (MAE columns absent on
    implicit data are not shown)."""
    rows = [dict(m, K=k) for k, m in table.items()]
    cols = metric_columns(rows)
    widths = [max(9, len(METRIC_LABELS[c])) for c in cols]
    head = f"{'K':>4} " + " ".join(f"{METRIC_LABELS[c]:>{w}}" for c, w in zip(cols, widths, strict=True))
    head += f" {'users':>6}"
    lines = [title] if title else []
    lines += [head, "-" * len(head)]
    for r in rows:
        cells = " ".join(_fmt(r.get(c), w) for c, w in zip(cols, widths, strict=True))
        users = r.get("users")
        lines.append(f"{r['K']:>4} {cells} {users if users is not None else '-':>6}")
    return "\n".join(lines)


def _fmt(v: Any, width: int) -> str:
    ok = isinstance(v, (int, float)) and not (isinstance(v, float) and math.isnan(v))
    return f"{v:>{width}.4f}" if ok else f"{'-':>{width}}"

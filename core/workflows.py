"""The pipelines every front end shares (the app's pages and ``metarec`` alike); no Qt here.

- :func:`train_run` — meta-train (or fit) one algorithm into a run folder.
- :func:`ensure_baselines` — the closed-form baselines of a dataset + split, fitted once and kept
  under ``WORKSPACE/baselines/<dataset fingerprint>-<split hash>/<algorithm>`` (apart from the
  user's own runs in ``WORKSPACE/runs``); :func:`find_baselines` lists them without fitting.
- :func:`kshot_tables` — K-shot / top-N tables (``core.evaluation.evaluate`` per K, cached in each
  run folder) of many runs, with a progress callback and a cancel token.
- :func:`batch_recommend` — one run's top-N for many users (name -> {item: rating}).

Every long function takes ``progress(done, total, text)`` and ``cancel`` (a :class:`CancelToken`
or anything with a ``cancelled`` attribute); a cancelled call raises :class:`Cancelled` between
two units of work, and whatever finished before (fitted baselines, cached K values) is kept.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .evaluation import CURVE_KS
from .runs import Run, RunError, list_runs

Progress = Callable[[int, int, str], None]
BASELINES_DIR = "baselines"


class Cancelled(Exception):
    """The caller cancelled the work (work already finished is kept)."""


class CancelToken:
    """Thread-safe cancel flag: ``cancel()`` from any thread, checked between units of work."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


def _check(cancel: Any) -> None:
    if cancel is not None and getattr(cancel, "cancelled", False):
        raise Cancelled("cancelled")


def _report(progress: Progress | None, done: int, total: int, text: str) -> None:
    if progress is not None:
        progress(done, total, text)


# ------------------------------------------------------------------------------ algorithms
def closed_form_baselines() -> tuple[str, ...]:
    """Names of the baselines fitted without meta-training (``trainable = False``)."""
    from .algorithms import ALGORITHMS

    return tuple(name for name, cls in ALGORITHMS.items()
                 if getattr(cls, "family", "") == "baseline" and not cls.trainable)


def default_algorithm() -> str:
    """``core.algorithms.DEFAULT_ALGORITHM`` when defined, else MAML."""
    from . import algorithms

    name = getattr(algorithms, "DEFAULT_ALGORITHM", None)
    return name if isinstance(name, str) and name in algorithms.ALGORITHMS else "maml"


# ------------------------------------------------------------------------------ training
def train_run(algorithm: str, dataset: Any, split: Any, run_dir: str | Path, *,
              algo_overrides: dict[str, Any] | None = None, train: dict[str, Any] | None = None,
              dataset_spec: dict[str, Any] | None = None,
              callback: Callable[[Any], None] | None = None, stop: Any = None) -> Run:
    """Train ``algorithm`` into ``run_dir`` (events to ``callback``; ``stop``: a
    ``core.training.StopToken``). Returns the run; its status says how it ended."""
    from .training import Trainer

    Trainer(algorithm, dataset, split, algo_overrides=algo_overrides, train=train,
            run_dir=run_dir, callback=callback, stop=stop, dataset_spec=dataset_spec).run()
    return Run(Path(run_dir))


# ------------------------------------------------------------------------------ splits
def split_key(config: Mapping[str, Any] | None) -> str:
    """A short stable hash of a split configuration (dict of ``SplitConfig.to_dict()``)."""
    text = json.dumps(dict(config or {}), sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:8]


class SplitCache:
    """Splits by (dataset fingerprint, split config): ``make_split`` runs once per pair."""

    def __init__(self) -> None:
        self._splits: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def put(self, dataset: Any, split: Any) -> None:
        with self._lock:
            self._splits[(dataset.fingerprint, split_key(split.config.to_dict()))] = split

    def get(self, dataset: Any, config: Mapping[str, Any] | None) -> Any:
        from .split import SplitConfig, make_split

        key = (dataset.fingerprint, split_key(config))
        with self._lock:
            split = self._splits.get(key)
        if split is None:
            split = make_split(dataset, SplitConfig(**dict(config or {})))
            with self._lock:
                self._splits[key] = split
        return split

    def clear(self) -> None:
        with self._lock:
            self._splits.clear()


def run_split(run: Run, dataset: Any, current: Any = None, cache: SplitCache | None = None) -> Any:
    """The split ``run`` was trained with: ``current`` when it is the same, else rebuilt."""
    config = _dict(run.config.get("split"))
    if current is not None and (not config or config == current.config.to_dict()):
        return current
    return (cache or SplitCache()).get(dataset, config)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


# ------------------------------------------------------------------------------ baselines
def baselines_root(workspace: str | Path) -> Path:
    return Path(workspace) / BASELINES_DIR


def baseline_folder(workspace: str | Path, dataset: Any, split_config: Mapping[str, Any]) -> Path:
    """``WORKSPACE/baselines/<fingerprint>-<split hash>``: the baselines of one dataset + split."""
    return baselines_root(workspace) / f"{str(dataset.fingerprint)[:16]}-{split_key(split_config)}"


def is_baseline_run(run: Run | str | Path) -> bool:
    """Whether a run folder lives in a workspace's baselines area."""
    path = run.path if isinstance(run, Run) else Path(run)
    return path.parent.parent.name == BASELINES_DIR


def find_baselines(workspace: str | Path, dataset: Any, split: Any) -> dict[str, Run]:
    """Finished baseline runs of this dataset + split (algorithm name -> run); never fits."""
    folder = baseline_folder(workspace, dataset, split.config.to_dict())
    found: dict[str, Run] = {}
    for run in list_runs(folder):
        try:
            cfg = run.config
            name = cfg.get("algorithm") if isinstance(cfg, dict) else None
            if (isinstance(name, str) and name not in found and run.status == "finished"
                    and run.has_weights):
                found[name] = run
        except (RunError, AttributeError, TypeError, ValueError):
            continue
    return found


def ensure_baselines(workspace: str | Path, dataset: Any, split: Any, *,
                     names: Sequence[str] | None = None, device: str = "cpu",
                     dataset_spec: dict[str, Any] | None = None,
                     progress: Progress | None = None, cancel: Any = None) -> dict[str, Run]:
    """The closed-form baselines of this dataset + split, fitting the missing ones (seconds
    each) into the baselines area. Returns algorithm name -> finished run."""
    names = list(names if names is not None else closed_form_baselines())
    found = {n: r for n, r in find_baselines(workspace, dataset, split).items() if n in names}
    missing = [n for n in names if n not in found]
    folder = baseline_folder(workspace, dataset, split.config.to_dict())
    for i, name in enumerate(missing):
        _check(cancel)
        _report(progress, i, len(missing), f"fitting baseline {name}…")
        target = _unique(folder / name)
        run = train_run(name, dataset, split, target, dataset_spec=dataset_spec,
                        train={"device": device, "final_test": True})
        if run.status == "finished" and run.has_weights:
            found[name] = run
    _report(progress, len(missing), len(missing), "baselines ready")
    return {n: found[n] for n in names if n in found}


def _unique(folder: Path) -> Path:
    path, n = folder, 1
    while path.exists():
        n += 1
        path = folder.with_name(f"{folder.name}-{n}")
    return path


# ------------------------------------------------------------------------------ K-shot tables
def table_frame(table: Mapping[int, Mapping[str, float]]) -> pd.DataFrame:
    """``{K: {metric: value}}`` as a frame with a ``k`` column."""
    return pd.DataFrame([{"k": int(k), **dict(m)} for k, m in sorted(table.items())])


def kshot_tables(runs: Iterable[Run], dataset: Any, *, split: Any = None,
                 ks: Sequence[int] = CURVE_KS, device: str = "cpu", role: str = "test",
                 splits: SplitCache | None = None, progress: Progress | None = None,
                 cancel: Any = None) -> dict[str, pd.DataFrame]:
    """K-shot / top-N tables (run path -> frame with ``k`` and every metric of
    ``core.evaluation.evaluate``) on each run's own split. One K at a time, cached in the run
    folder: a cancelled call keeps the K values it finished, and a second call is instant."""
    from .evaluation import cached_evaluation, evaluate_run
    from .runs import load_algorithm

    runs = list(runs)
    splits = splits or SplitCache()
    jobs = []
    for run in runs:
        own = run_split(run, dataset, split, splits)
        wanted = [int(k) for k in ks if k <= own.config.max_support]
        jobs.append((run, own, wanted))
    total = sum(len(w) for _r, _s, w in jobs)
    done = 0
    out: dict[str, pd.DataFrame] = {}
    for run, own, wanted in jobs:
        _check(cancel)
        cached = cached_evaluation(run, dataset, wanted, role, split=own)
        todo = [k for k in wanted if k not in cached]
        algorithm = None
        table = dict(cached)
        done += len(wanted) - len(todo)
        for k in todo:
            _check(cancel)
            _report(progress, done, total, f"evaluating {run.name}, K = {k}…")
            if algorithm is None:
                algorithm = load_algorithm(run, dataset, device=device)
            table.update(evaluate_run(run, dataset, own, [k], role, device, algorithm=algorithm))
            done += 1
        out[str(run.path)] = table_frame(table)
    _report(progress, total, total, "done")
    return out


# ------------------------------------------------------------------------------ recommend
def batch_recommend(run: Run | str | Path, dataset: Any, users: Mapping[str, Mapping[int, float]],
                    *, top: int = 10, device: str = "cpu", split: Any = None,
                    splits: SplitCache | None = None, progress: Progress | None = None,
                    cancel: Any = None) -> dict[str, pd.DataFrame]:
    """One run's adapted top-``top`` for many users (name -> {dense item: rating});
    returns name -> the ``adapted`` frame of ``core.recommend.Recommender.recommend``."""
    from .recommend import Recommender
    from .runs import load_algorithm

    run = run if isinstance(run, Run) else Run.open(run)
    algorithm = load_algorithm(run, dataset, device=device)
    recommender = Recommender(algorithm, dataset, run_split(run, dataset, split, splits))
    out: dict[str, pd.DataFrame] = {}
    for i, (name, ratings) in enumerate(users.items()):
        _check(cancel)
        _report(progress, i, len(users), f"recommending for {name}…")
        out[name] = recommender.recommend(dict(ratings), top=top).adapted
    _report(progress, len(users), len(users), "done")
    return out


def compare_top_lists(runs: Sequence[Run], dataset: Any, ratings: Mapping[int, float], *,
                      top: int = 10, device: str = "cpu", split: Any = None,
                      splits: SplitCache | None = None, cancel: Any = None
                      ) -> list[tuple[Run, pd.DataFrame]]:
    """The same user's adapted top-``top`` from several runs (the Compare page's side by side)."""
    out = []
    for run in runs:
        _check(cancel)
        frames = batch_recommend(run, dataset, {"user": ratings}, top=top, device=device,
                                 split=split, splits=splits)
        out.append((run, frames["user"]))
    return out

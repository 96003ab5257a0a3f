"""Cold-start evaluation protocol (docs/PROTOCOL.md): which users, which support, what counts.

Every cold user (validation or test, never seen in training) has a seeded order of their ratings
(core.split): the first ``query_size`` are a fixed query set, the next K the nested K-shot support.

* Top-N (the headline): candidates = the whole catalogue minus the support; relevant = every
  other rating of the user at or above the relevance threshold (every other interaction on
  implicit data); Recall@10/20 and binary nDCG@10/20 of the adapted ranking, and of the same
  model's un-adapted (population) ranking as ``base_*``.
* Rating accuracy on the query set: MAE, RMSE, nDCG@3 (absent on implicit data).

Metric functions live in core.metrics; this module builds the batches and averages.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from .data import RatingsDataset
from .metrics import ndcg_at, rating_metrics, topn_metrics  # noqa: F401 (re-exported)
from .split import ColdStartSplit
from .tasks import TaskBatch, make_batch

DEFAULT_KS = (5, 10, 20)
CURVE_KS = (1, 2, 5, 10, 20)
RATING_METRICS = ("mae", "rmse", "ndcg3")
TOPN_METRICS = ("recall10", "recall20", "ndcg10", "ndcg20", "base_recall20", "base_ndcg20")
RANKING_METRICS = TOPN_METRICS  # older name


def is_implicit(dataset: RatingsDataset) -> bool:
    """Interaction data without ratings: no rating metrics, every interaction is relevant."""
    return bool(getattr(dataset, "implicit", False))


def eval_batches(
    dataset: RatingsDataset,
    split: ColdStartSplit,
    role: str,
    k: int,
    device: torch.device | str = "cpu",
    chunk: int = 128,
    users: np.ndarray | None = None,
):
    """Fixed K-shot batches of cold users, in chunks so memory stays bounded."""
    users = split.users(role) if users is None else np.asarray(users)
    q = split.config.query_size
    for start in range(0, len(users), chunk):
        part = users[start : start + chunk]
        batch = make_batch(
            dataset,
            part,
            [split.support_rows(u, k) for u in part],
            [split.query_rows(u) for u in part],
            max(1, k),
            q,
        )
        yield batch.to(device)


def relevant_matrix(dataset: RatingsDataset, users: np.ndarray, threshold: float | None) -> torch.Tensor:
    """[B, n_items] bool: every item each user rated at or above ``threshold`` (every item they
    interacted with when ``threshold`` is None). Callers exclude the support."""
    users = np.asarray(users, dtype=np.int64)
    lo, hi = dataset.user_offsets[users], dataset.user_offsets[users + 1]
    lengths = hi - lo
    rows = np.repeat(lo, lengths) + np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    task = np.repeat(np.arange(len(users)), lengths)
    keep = np.ones(len(rows), bool) if threshold is None else dataset.rating[rows] >= threshold - 1e-6
    out = torch.zeros(len(users), dataset.n_items, dtype=torch.bool)
    out[torch.as_tensor(task[keep]), torch.as_tensor(dataset.item[rows[keep]].astype(np.int64))] = True
    return out


def support_matrix(batch: TaskBatch, n_items: int) -> torch.Tensor:
    """[B, n_items] bool: each task's support items."""
    out = torch.zeros(len(batch), n_items, dtype=torch.bool, device=batch.support_items.device)
    out.scatter_(1, batch.support_items, batch.support_mask)
    return out


@torch.no_grad()
def ranking_metrics(algorithm, adapted, batch: TaskBatch, relevant: torch.Tensor) -> dict[str, torch.Tensor]:
    """Top-N metrics of the adapted ranking and of the un-adapted one (``base_*``) [B]."""
    n_items = algorithm.dataset.n_items
    items = torch.arange(n_items, device=batch.support_items.device).expand(len(batch), n_items)
    excluded = support_matrix(batch, n_items)
    relevant = relevant.to(excluded.device)
    out = topn_metrics(algorithm.score(adapted, batch, items).float(), excluded, relevant)
    base = topn_metrics(algorithm.score(None, batch, items).float(), excluded, relevant, "base_")
    return out | {k: base[k] for k in ("base_recall20", "base_ndcg20")}


def _mean(values: list[torch.Tensor]) -> float:
    cat = torch.cat(values).double()
    cat = cat[~torch.isnan(cat)]
    return float(cat.mean()) if len(cat) else float("nan")


def evaluate(
    algorithm,
    dataset: RatingsDataset,
    split: ColdStartSplit,
    role: str = "test",
    ks: Sequence[int] = DEFAULT_KS,
    ranking: bool = True,
    steps: int | None = None,
    users: np.ndarray | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[int, dict[str, float]]:
    """Metrics per K, averaged over the cold users of ``role`` ('val' or 'test').

    Returns ``{K: {metric: value, "users": n}}`` with the keys of ``TOPN_METRICS`` (when
    ``ranking``) and ``RATING_METRICS`` (explicit ratings only). ``progress(done, total)`` is
    called after each K. Raises ValueError for role 'train' or a K above the split's
    ``max_support``.
    """
    if role == "train":
        raise ValueError("evaluation is on cold users only (role 'val' or 'test')")
    bad = [k for k in ks if not 0 <= int(k) <= split.config.max_support]
    if bad:
        raise ValueError(f"K = {bad[0]} is outside 0..{split.config.max_support} (the split's max_support)")
    implicit = is_implicit(dataset)
    threshold = None if implicit else dataset.scale.relevance_threshold()
    out: dict[int, dict[str, float]] = {}
    for i, k in enumerate(ks):
        acc: dict[str, list[torch.Tensor]] = {}
        n_users = 0
        for batch in eval_batches(dataset, split, role, k, algorithm.device, users=users):
            adapted = algorithm.adapt(batch, steps=steps)
            metrics: dict[str, torch.Tensor] = {}
            with torch.no_grad():
                if not implicit:
                    pred = algorithm.clamp(algorithm.predict(adapted, batch, batch.query_items))
                    metrics.update(rating_metrics(pred.float(), batch, dataset.scale.min))
                if ranking:
                    relevant = relevant_matrix(dataset, batch.users.cpu().numpy(), threshold)
                    metrics.update(ranking_metrics(algorithm, adapted, batch, relevant))
            for name, value in metrics.items():
                acc.setdefault(name, []).append(value.detach().cpu())
            n_users += len(batch)
        out[int(k)] = {name: _mean(v) for name, v in acc.items()} | {"users": n_users}
        if progress is not None:
            progress(i + 1, len(ks))
    return out


def kshot_curve(
    algorithm,
    dataset: RatingsDataset,
    split: ColdStartSplit,
    ks: Sequence[int] = CURVE_KS,
    role: str = "test",
    ranking: bool = True,
) -> pd.DataFrame:
    """One row per K (support size), metric columns: the K-shot curve."""
    ks = [k for k in ks if k <= split.config.max_support]
    table = evaluate(algorithm, dataset, split, role, ks, ranking=ranking)
    return pd.DataFrame([{"k": k, **m} for k, m in table.items()])


def inner_steps_curve(
    algorithm,
    dataset: RatingsDataset,
    split: ColdStartSplit,
    steps: Sequence[int] = (0, 1, 2, 3, 5, 10),
    k: int = 10,
    role: str = "test",
) -> pd.DataFrame:
    """Metrics (top-N and, on rated data, query MAE/RMSE/nDCG@3) after 0, 1, 2, ... inner steps
    at a fixed K."""
    rows = []
    for s in steps:
        m = evaluate(algorithm, dataset, split, role, [k], steps=s)[k]
        rows.append({"steps": s, **m})
    return pd.DataFrame(rows)


def format_table(table: dict[int, dict[str, float]], title: str = "") -> str:
    """A plain-text table of metrics per K (for the CLI)."""
    cols = [c for c in (*TOPN_METRICS, *RATING_METRICS) if any(c in m for m in table.values())]
    head = f"{'K':>4} " + " ".join(f"{c:>13}" for c in cols)
    lines = [title] if title else []
    lines += [head, "-" * len(head)]
    for k, m in table.items():
        lines.append(f"{k:>4} " + " ".join(_fmt(m.get(c)) for c in cols))
    return "\n".join(lines)


def _fmt(v: Any) -> str:
    return f"{v:>13.4f}" if isinstance(v, float) and not math.isnan(v) else f"{'-':>13}"


def _cache_key(run, dataset: RatingsDataset, split: ColdStartSplit, role: str) -> str:
    return f"topn1|{role}|seed={split.config.seed}|q={split.config.query_size}|{dataset.fingerprint}"


def _run_split(run, dataset: RatingsDataset, split: ColdStartSplit | None) -> ColdStartSplit:
    """The run's own split; a different one would score it on users it trained on."""
    from .runs import run_split

    own = run.config.get("split")
    if split is None:
        return run_split(run, dataset)
    if own and own != split.config.to_dict():
        raise ValueError(
            f"run '{run.name}' was trained with split {own}; evaluating it on another split "
            "would put its training users among the test users"
        )
    return split


def cached_evaluation(
    run, dataset: RatingsDataset, ks: Sequence[int] = CURVE_KS, role: str = "test",
    split: ColdStartSplit | None = None,
) -> dict[int, dict[str, float]]:
    """The K values already evaluated and cached in the run folder; never computes."""
    split = _run_split(run, dataset, split)
    cached = run.read_evaluation().get(_cache_key(run, dataset, split, role), {})
    return {int(k): cached[str(k)] for k in ks if str(k) in cached}


def evaluate_run(
    run,
    dataset: RatingsDataset,
    split: ColdStartSplit | None = None,
    ks: Sequence[int] = CURVE_KS,
    role: str = "test",
    device: str = "cpu",
    algorithm=None,
    recompute: bool = False,
) -> dict[int, dict[str, float]]:
    """Evaluate a saved run on its own split, caching the table in the run folder."""
    from .runs import load_algorithm

    split = _run_split(run, dataset, split)
    key = _cache_key(run, dataset, split, role)
    cache = run.read_evaluation()
    cached = cache.get(key, {})
    wanted = [int(k) for k in ks]
    if not recompute and all(str(k) in cached for k in wanted):
        return {k: cached[str(k)] for k in wanted}
    missing = wanted if recompute else [k for k in wanted if str(k) not in cached]
    algorithm = algorithm or load_algorithm(run, dataset, device=device)
    t0 = time.perf_counter()
    table = evaluate(algorithm, dataset, split, role, missing)
    for k, m in table.items():
        cached[str(k)] = m | {"seconds": (time.perf_counter() - t0) / len(missing)}
    cache[key] = cached
    run.write_evaluation(cache)
    return {k: cached[str(k)] for k in wanted}

"""Cold-start evaluation (../shared/docs/PROTOCOL.md).

Rating metrics on the query set of each cold user, averaged over users: MAE, RMSE, nDCG@3
(rank the query items by prediction; gain = true rating). Recommendation metrics over the whole
catalogue minus the support items: Recall@10, Recall@20, nDCG@10, where a query item rated in the
top 30 % of the scale (>= 4 of 5) is relevant. Every algorithm sees the same fixed support and
query rows (core.split), so numbers are comparable across runs.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from .data import RatingsDataset
from .split import ColdStartSplit
from .tasks import TaskBatch, make_batch

DEFAULT_KS = (5, 10, 20)
CURVE_KS = (1, 2, 5, 10, 20)
RATING_METRICS = ("mae", "rmse", "ndcg3")
RANKING_METRICS = ("recall10", "recall20", "ndcg10")


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


def ndcg_at(scores: torch.Tensor, gains: torch.Tensor, mask: torch.Tensor, n: int) -> torch.Tensor:
    """Per-task nDCG@n of ranking the masked items by ``scores`` with graded ``gains``."""
    neg = torch.finfo(scores.dtype).min
    s = scores.masked_fill(~mask, neg)
    g = gains.masked_fill(~mask, 0.0)
    n = min(n, scores.shape[1])
    top = s.topk(n, dim=1).indices
    discounts = 1.0 / torch.log2(torch.arange(2, n + 2, dtype=scores.dtype, device=scores.device))
    dcg = (g.gather(1, top) * discounts).sum(1)
    ideal = (g.topk(n, dim=1).values * discounts).sum(1)
    return torch.where(ideal > 0, dcg / ideal.clamp_min(1e-12), torch.zeros_like(dcg))


def rating_metrics(pred: torch.Tensor, batch: TaskBatch) -> dict[str, torch.Tensor]:
    """Per-task MAE, RMSE and nDCG@3 on the query set (pred already clamped)."""
    mask = batch.query_mask
    m = mask.to(pred.dtype)
    n = m.sum(1).clamp_min(1.0)
    err = (pred - batch.query_ratings) * m
    return {
        "mae": err.abs().sum(1) / n,
        "rmse": torch.sqrt((err**2).sum(1) / n),
        "ndcg3": ndcg_at(pred, batch.query_ratings, mask, 3),
    }


@torch.no_grad()
def ranking_metrics(
    algorithm, adapted, batch: TaskBatch, threshold: float
) -> dict[str, torch.Tensor]:
    """Per-task Recall@10/20 and nDCG@10 over the catalogue minus support items.

    Tasks without a relevant query item get NaN (left out of the averages)."""
    n_items = algorithm.dataset.n_items
    b = len(batch)
    items = torch.arange(n_items, device=batch.query_items.device).expand(b, n_items)
    scores = algorithm.predict(adapted, batch, items).float()
    neg = torch.finfo(scores.dtype).min
    support = torch.zeros(b, n_items, dtype=torch.bool, device=scores.device)
    support.scatter_(1, batch.support_items, batch.support_mask)
    scores = scores.masked_fill(support, neg)
    relevant = torch.zeros(b, n_items, dtype=torch.bool, device=scores.device)
    rel_query = batch.query_mask & (batch.query_ratings >= threshold - 1e-6)
    relevant.scatter_(1, batch.query_items, rel_query)
    n_rel = relevant.sum(1).float()
    top = scores.topk(min(20, n_items), dim=1).indices
    hits = relevant.gather(1, top).float()
    out = {}
    for n in (10, 20):
        out[f"recall{n}"] = hits[:, :n].sum(1) / n_rel
    width = min(10, hits.shape[1])
    discounts = 1.0 / torch.log2(torch.arange(2, width + 2, device=scores.device).float())
    dcg = (hits[:, :width] * discounts).sum(1)
    ideal = discounts.cumsum(0)[(n_rel.long().clamp(1, width) - 1)]
    out["ndcg10"] = dcg / ideal
    nan = torch.full_like(n_rel, float("nan"))
    return {k: torch.where(n_rel > 0, v, nan) for k, v in out.items()}


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
) -> dict[int, dict[str, float]]:
    """Metrics per K, averaged over the cold users of ``role`` ('val' or 'test')."""
    if role == "train":
        raise ValueError("evaluation is on cold users only (role 'val' or 'test')")
    threshold = dataset.scale.relevance_threshold()
    out: dict[int, dict[str, float]] = {}
    for k in ks:
        acc: dict[str, list[torch.Tensor]] = {}
        n_users = 0
        for batch in eval_batches(dataset, split, role, k, algorithm.device, users=users):
            adapted = algorithm.adapt(batch, steps=steps)
            with torch.no_grad():
                pred = algorithm.clamp(algorithm.predict(adapted, batch, batch.query_items))
                metrics = rating_metrics(pred.float(), batch)
                if ranking:
                    metrics.update(ranking_metrics(algorithm, adapted, batch, threshold))
            for name, value in metrics.items():
                acc.setdefault(name, []).append(value.detach().cpu())
            n_users += len(batch)
        out[int(k)] = {name: _mean(v) for name, v in acc.items()} | {"users": n_users}
    return out


def kshot_curve(
    algorithm,
    dataset: RatingsDataset,
    split: ColdStartSplit,
    ks: Sequence[int] = CURVE_KS,
    role: str = "test",
    ranking: bool = False,
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
    """Query MAE/RMSE/nDCG@3 after 0, 1, 2, ... inner steps at a fixed K."""
    rows = []
    for s in steps:
        m = evaluate(algorithm, dataset, split, role, [k], ranking=False, steps=s)[k]
        rows.append({"steps": s, **m})
    return pd.DataFrame(rows)


def format_table(table: dict[int, dict[str, float]], title: str = "") -> str:
    """A plain-text table of metrics per K (for the CLI)."""
    cols = [c for c in (*RATING_METRICS, *RANKING_METRICS) if any(c in m for m in table.values())]
    head = f"{'K':>4} " + " ".join(f"{c:>9}" for c in cols)
    lines = [title] if title else []
    lines += [head, "-" * len(head)]
    for k, m in table.items():
        lines.append(f"{k:>4} " + " ".join(_fmt(m.get(c)) for c in cols))
    return "\n".join(lines)


def _fmt(v: Any) -> str:
    return f"{v:>9.4f}" if isinstance(v, float) and not math.isnan(v) else f"{'-':>9}"


def _cache_key(run, dataset: RatingsDataset, split: ColdStartSplit, role: str) -> str:
    return f"{role}|seed={split.config.seed}|q={split.config.query_size}|{dataset.fingerprint}"


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

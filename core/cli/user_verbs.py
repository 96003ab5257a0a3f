"""predict, recommend: a trained run + the few ratings a new user brings."""

from __future__ import annotations

import argparse
import inspect
import json
import math
from typing import Any

from .common import (
    CliError,
    check_device,
    check_out_file,
    open_run,
    run_context,
    run_title,
    warn,
    write_csv,
)


def _features(args: argparse.Namespace) -> dict[str, str]:
    from ..userfiles import parse_user_features

    try:
        return parse_user_features(args.user_feature or [])
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _feature_codes(dataset, features: dict[str, str]):
    from ..userfiles import user_feature_codes

    try:
        return user_feature_codes(dataset, features)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _records(frame) -> list[dict[str, Any]]:
    """DataFrame rows as JSON-safe dicts (NaN -> null)."""
    out = []
    for row in frame.to_dict("records"):
        clean = {}
        for k, v in row.items():
            if hasattr(v, "item"):
                v = v.item()
            if isinstance(v, float) and not math.isfinite(v):
                v = None
            clean[k] = v
        out.append(clean)
    return out


# ------------------------------------------------------------------------------ predict
def cmd_predict(args: argparse.Namespace) -> None:
    import numpy as np
    import pandas as pd
    import torch

    from ..tasks import new_user_batch
    from ..userfiles import read_user_items, read_user_ratings

    device = check_device(args.device)
    out = check_out_file(args.out, args.overwrite)
    features = _features(args)
    run = open_run(args.run)
    dataset, _, algorithm = run_context(run, device)
    codes = _feature_codes(dataset, features)
    support = read_user_ratings(args.support, dataset, skip_unknown=True)
    if not support.has_user_column:
        raise CliError(f"{args.support}: a support file needs a user column (user,item,rating), "
                       "to match each query user with their ratings")
    query = read_user_items(args.query, dataset)
    for note in support.notes + query.notes:
        warn(note)
    rows = []
    for user, wanted in query.items.items():
        given = support.ratings.get(user)
        if not given:
            warn(f"{args.query}: user '{user}' has no ratings in {args.support}: "
                 "predictions without adaptation")
            given = {}
        known = [(raw, idx) for raw, idx, _ in wanted if idx >= 0]
        if not known:
            continue
        s_items = np.fromiter(given.keys(), dtype=np.int64, count=len(given))
        s_r = np.fromiter(given.values(), dtype=np.float32, count=len(given))
        q_items = np.array([idx for _, idx in known], dtype=np.int64)
        batch = new_user_batch(s_items, s_r, q_items, user_features=codes).to(algorithm.device)
        adapted = algorithm.adapt(batch)
        with torch.no_grad():
            pred = algorithm.clamp(algorithm.predict(adapted, batch, batch.query_items))[0]
        for (_, idx), p in zip(known, pred[: len(known)].tolist(), strict=True):
            rows.append({"user": user, "item": dataset.item_ids[idx],
                         "title": dataset.items["title"].iloc[idx] if "title" in dataset.items else "",
                         "prediction": round(float(p), 4)})
    frame = pd.DataFrame(rows, columns=["user", "item", "title", "prediction"])
    write_csv(out, frame)
    print(f"wrote {len(rows)} predictions for {len(query.items)} user(s) to {out}")


# ------------------------------------------------------------------------------ recommend
def _recommend_kwargs(recommender, args, features) -> tuple[dict[str, Any], int]:
    params = inspect.signature(recommender.recommend).parameters
    kwargs: dict[str, Any] = {}
    default_min = params["min_ratings"].default if "min_ratings" in params else 0
    min_ratings = default_min if args.min_ratings is None else args.min_ratings
    if args.min_ratings is not None:
        if args.min_ratings < 0:
            raise CliError("--min-ratings must be 0 or more")
        kwargs["min_ratings"] = args.min_ratings
    if features:
        if "user_features" not in params:
            raise CliError("this version of the recommender cannot use --user-feature yet")
        kwargs["user_features"] = features
    return kwargs, int(min_ratings or 0)


def _shown(row) -> str:
    """'Title (1995)' for a recommendation row (the title alone when there is no year)."""
    title = str(row.title) if isinstance(row.title, str) and row.title else str(row.item_id)
    year = getattr(row, "year", None)
    try:
        return f"{title} ({int(year)})" if year is not None and year == year else title
    except (TypeError, ValueError):
        return title


def cmd_recommend(args: argparse.Namespace) -> None:
    import numpy as np
    import pandas as pd

    from ..recommend import Recommender
    from ..userfiles import read_user_ratings

    if args.top < 1:
        raise CliError("--top must be at least 1")
    device = check_device(args.device)
    out = check_out_file(args.out, args.overwrite)
    features = _features(args)
    run = open_run(args.run)
    dataset, split, algorithm = run_context(run, device)
    _feature_codes(dataset, features)  # checks the names and values before any work
    given = read_user_ratings(args.ratings, dataset, skip_unknown=args.skip_unknown)
    for note in given.notes:
        warn(note)
    recommender = Recommender(algorithm, dataset, split)
    kwargs, min_ratings = _recommend_kwargs(recommender, args, features)
    results = []
    for user, ratings in given.ratings.items():
        rec = recommender.recommend(ratings, top=args.top, **kwargs)
        candidates = int(np.isfinite(rec.scores).sum())
        note = None
        if len(rec.adapted) < args.top:
            who = f"user '{user}'" if given.has_user_column else "this user"
            note = (f"only {candidates} item(s) can be recommended to {who} (not rated by them"
                    + (f", and rated by at least {min_ratings} training users" if min_ratings else "")
                    + f"): showing {len(rec.adapted)} of the {args.top} asked for"
                    + ("; lower --min-ratings (0 = every item) to see more" if min_ratings else ""))
            warn(note)
        results.append((user, ratings, rec, candidates, note))

    if out is not None:
        rows = []
        for user, _, rec, _, _ in results:
            for r in rec.adapted.itertuples():
                rows.append({"user": user, "rank": r.rank, "item": r.item_id,
                             "score": round(float(r.score), 4), "title": r.title})
        write_csv(out, pd.DataFrame(rows, columns=["user", "rank", "item", "score", "title"]))
    if args.json:
        objs = []
        for user, ratings, rec, candidates, note in results:
            obj = {"user": user if given.has_user_column else None, "ratings": len(ratings),
                   "candidates": candidates, "note": note,
                   "adapted": _records(rec.adapted), "unadapted": _records(rec.unadapted),
                   "losses": rec.losses}
            objs.append(obj)
        print(json.dumps(objs[0] if not given.has_user_column else {"users": objs}, indent=2,
                         default=str))
        return
    if out is not None:
        n = sum(len(r[2].adapted) for r in results)
        print(f"wrote {n} recommendations for {len(results)} user(s) to {out}")
        return
    title = run_title(run)
    for i, (user, ratings, rec, _, _) in enumerate(results):
        if i:
            print()
        who = f"user '{user}'" if given.has_user_column else "a user"
        what = "interaction(s)" if getattr(dataset, "implicit", False) else "rating(s)"
        print(f"Top {args.top} for {who} with {len(ratings)} {what}, adapted by {title}  |  "
              "un-adapted (population)")
        # Implicit data has no rating to show: the ranking score instead.
        value = "score" if getattr(dataset, "implicit", False) else "rating"
        print(f"{'':>5}{'title':<52} {value:>7} {'moved':>6}  |  {'title':<52} {value:>7}")
        for a, b in zip(rec.adapted.itertuples(), rec.unadapted.itertuples(), strict=False):
            change = f"{a.rank_change:+d}" if a.rank_change else "="
            print(f"{a.rank:>3}. {_shown(a)[:52]:<52} {getattr(a, value):>7.3g} {change:>6}  |  "
                  f"{_shown(b)[:52]:<52} {getattr(b, value):>7.3g}")
        if rec.adapted.empty:
            print("  (no items: see the note above)")
        if rec.losses:
            print("support loss per inner step: " + " ".join(f"{x:.3f}" for x in rec.losses))

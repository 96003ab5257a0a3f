"""What the Data page computes when it loads a dataset, off the GUI thread. Qt-free on purpose:
the loading process (``core.data.isolated``) imports this module to run :func:`plot_stats` and
:func:`split_or_none` beside the loader.

Two ways, one result (``{"dataset", "summary", "stats", "split"}``):

* :func:`load_for_display` in a worker thread: small sources (built-in, synthetic, files under
  ``core.data.isolated.ISOLATE_MIN_BYTES``), where a child process's start-up would cost more
  than it saves;
* :func:`load_isolated_for_display`, a generator run by a ``FunctionJob``: large files load in a
  child process and are mapped here, because in a thread the loader's long C calls hold the GIL
  (a 5M-row CSV stalled the GUI thread for 100-150 ms at a time; see docs/benchmarks.md). It
  yields the child's progress text (or ``None``) about ten times a second; the job's stop
  closes it at a yield, which stops the child. Errors are those of ``core.data.load_dataset``;
  if no child process can be started, it loads in the thread instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

import numpy as np

from core.data import DatasetSpec, RatingsDataset, load_dataset
from core.data.isolated import ChildLoad

POLL_S = 0.1


def plot_stats(dataset: Any) -> dict[str, Any]:
    """What the Data page's plots draw: rating values and counts, a log-binned histogram of
    ratings per user (``user_hist`` over ``user_edges``), the 12 most rated genres."""
    values, counts = np.unique(dataset.rating, return_counts=True)
    per_user = dataset.ratings_per_user
    lo, hi = max(1, int(per_user.min())), max(2, int(per_user.max()))
    edges = np.unique(np.round(np.geomspace(lo, hi + 1, 30)))
    hist, edges = np.histogram(per_user, bins=edges)
    return {
        "rating_values": values, "rating_counts": counts,
        "width": (dataset.scale.step or (dataset.scale.span / 20)) * 0.8,
        "scale": (dataset.scale.min, dataset.scale.max),
        "user_hist": hist, "user_edges": edges,
        "genres": dataset.genre_counts().head(12),
    }


def split_or_none(config: Any, dataset: Any) -> Any:
    """``make_split(dataset, config)``, or None when the (saved) settings do not fit the data:
    the state then computes the split itself and explains the problem."""
    from core.split import SplitConfig, make_split

    try:
        return make_split(dataset, config or SplitConfig())
    except ValueError:
        return None


def describe_for_display(dataset: Any) -> dict[str, Any]:
    return {"dataset": dataset, "summary": dataset.summary(), "stats": plot_stats(dataset)}


def load_for_display(spec: DatasetSpec, split_config: Any) -> dict[str, Any]:
    """Worker thread: the dataset, what the page shows about it, and its split."""
    dataset = load_dataset(spec)
    return {**describe_for_display(dataset), "split": split_or_none(split_config, dataset)}


def display_extras(split_config: Any) -> dict[str, Any]:
    """The functions the loading process runs on the dataset (picklable by reference)."""
    return {"summary": RatingsDataset.summary, "stats": plot_stats,
            "split": partial(split_or_none, split_config)}


def load_isolated_for_display(spec: DatasetSpec, split_config: Any
                              ) -> Iterator[str | None]:
    """Generator: load ``spec`` in a child process, yielding progress; returns what
    :func:`load_for_display` returns. Closing it stops the child and removes its files."""
    load = ChildLoad(spec, display_extras(split_config))
    try:
        try:
            load.start()
        except OSError:  # no child process here (a sandbox, no executable): load in this thread
            return load_for_display(spec, split_config)
        shown = None
        while not load.poll(POLL_S):
            text = load.progress if load.progress != shown else None
            shown = load.progress
            yield text
        yield "mapping the data"
        dataset, extras = load.result()
        return {"dataset": dataset, **extras}
    finally:
        load.close()

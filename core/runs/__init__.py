"""Run directories: everything one training produced, readable by another process while it grows.

::

    RUN/config.json     algorithm, hyperparameters, train settings, dataset fingerprint, split,
                        versions, device, status, writer (pid, host), weights checksum
    RUN/metrics.csv     appended row by row during training (kind=step|epoch); its modification
                        time is the writer's heartbeat
    RUN/weights.pt      tensors only; written atomically, SHA-256 recorded in config.json,
                        loaded with weights_only=True
    RUN/summary.json    final metrics, wall time, tasks per second, status
    RUN/evaluation.json cached K-shot tables (core.evaluation; best effort)

What a file may contain is decided in one place, :mod:`core.run_schema`; every refusal is a
:class:`RunError` naming the file and the field. A run whose writer died (kill -9, power loss)
is recorded as ``running`` but read as ``interrupted`` (:meth:`Run.liveness`).

Modules: :mod:`~core.runs.folder` (:class:`Run`), :mod:`~core.runs.liveness` (writer, heartbeat),
:mod:`~core.runs.files` (atomic writes), :mod:`~core.runs.weights` (SHA-256, tensors only),
:mod:`~core.runs.metrics` (metrics.csv, :class:`MetricsTail`), :mod:`~core.runs.record`
(versions, dataset paths), :mod:`~core.runs.loading` (listing runs, loading an algorithm).
Everything public is re-exported here: ``from core.runs import Run`` is the way in.
"""

from __future__ import annotations

from ..run_schema import STATUSES, RunError
from .files import atomic_write_bytes, atomic_write_json
from .folder import RUN_FILES, STATES, Run
from .labels import run_label as run_label
from .liveness import HEARTBEAT_S, STALE_AFTER_S, Heartbeat, Liveness, writer_record
from .loading import check_dataset, list_runs, load_algorithm, run_split
from .metrics import METRIC_COLUMNS, MetricsTail
from .record import resolve_dataset_paths, versions

__all__ = [
    "HEARTBEAT_S", "METRIC_COLUMNS", "RUN_FILES", "STALE_AFTER_S", "STATES", "STATUSES",
    "Heartbeat", "Liveness", "MetricsTail", "Run", "RunError", "atomic_write_bytes",
    "atomic_write_json", "check_dataset", "list_runs", "load_algorithm", "resolve_dataset_paths",
    "run_split", "versions", "writer_record",
]

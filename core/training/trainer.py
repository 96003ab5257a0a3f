"""The meta-training loop (:class:`Trainer`), shared by the CLI, the app's training process and
``torchrun``: the outer optimizer, gradient clipping, cancellation within one meta-step,
pause/resume, distributed all-reduce of meta-gradients, and writing the run folder. Divergence,
early stopping and stop requests have modules of their own in this package.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from .. import distributed as dist
from ..config import coerce_config
from ..data import RatingsDataset
from ..devices import DeviceError, reproducible_numerics, resolve_device, seed_everything
from ..evaluation import DEFAULT_KS, RATING_METRICS, evaluate
from ..runs import Heartbeat, Run, versions
from ..split import ColdStartSplit, train_rows
from ..tasks import TaskSampler
from .divergence import TrainingFailed, divergence, lr_advice, restore, snapshot
from .events import EpochEvent, Event, FailedEvent, FinishedEvent, LogEvent, StepEvent
from .monitor import EarlyStopping, best_validation, monitor_fallback, monitor_score
from .settings import TrainConfig
from .stopping import SigtermRaises, StopToken, Terminated


class Trainer:
    """Meta-train one algorithm on one dataset split; write a run folder if ``run_dir`` is set."""

    def __init__(
        self,
        algorithm: str,
        dataset: RatingsDataset,
        split: ColdStartSplit,
        *,
        algo_overrides: dict[str, Any] | None = None,
        train: TrainConfig | dict[str, Any] | None = None,
        run_dir: str | Path | None = None,
        callback: Callable[[Event], None] | None = None,
        stop: StopToken | None = None,
        dataset_spec: dict[str, Any] | None = None,
        overwrite: bool = False,
    ) -> None:
        from ..algorithms import algorithm_class

        self.algorithm_name = algorithm
        self.algorithm_class = algorithm_class(algorithm)
        self.dataset = dataset
        self.split = split
        self.algo_overrides = dict(algo_overrides or {})
        if isinstance(train, TrainConfig):
            self.config = train
        else:
            self.config = coerce_config(
                TrainConfig, {**self.algorithm_class.train_defaults, **(train or {})}
            )
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.callback = callback or (lambda event: None)
        self.stop = stop or StopToken()
        self.dataset_spec = dataset_spec  # how to reload the data (core.data.DatasetSpec.to_dict)
        self.overwrite = overwrite  # Run.create(..., overwrite=): replace a finished run in run_dir
        self.algorithm = None
        self.run_folder: Run | None = None
        self.losses: list[float] = []
        self.history: list[dict[str, float]] = []
        self.monitor = self.config.monitor  # may fall back to 'mae' at the first validation
        self._step = 0
        self._params: dict[str, torch.Tensor] | None = None
        self._last_good: dict[str, torch.Tensor] | None = None
        self._heartbeat: Heartbeat | None = None
        self.threads = torch.get_num_threads()  # torch CPU threads the numbers were made with

    def run(self) -> dict[str, Any]:
        """Train; never raises for training problems: they end as status 'failed'.

        Ctrl-C (KeyboardInterrupt) or SIGTERM (when the process has no handler of its own)
        closes the run as 'cancelled' with its last good weights, then propagates: the
        KeyboardInterrupt is re-raised, SIGTERM becomes ``SystemExit(143)``."""
        t_start = time.perf_counter()
        try:
            with SigtermRaises():
                try:
                    return self._run(t_start)
                except (KeyboardInterrupt, Terminated) as exc:
                    how = "SIGTERM" if isinstance(exc, Terminated) else "Ctrl-C (KeyboardInterrupt)"
                    self._interrupted(how, t_start)
                    if isinstance(exc, Terminated):
                        raise SystemExit(128 + signal.SIGTERM) from None
                    raise
        finally:
            if self._heartbeat is not None:
                self._heartbeat.stop()

    def _interrupted(self, how: str, t_start: float) -> None:
        """Close the run as cancelled after an interrupt; last good weights kept."""
        try:
            if self._params is not None and self._last_good is not None:
                restore(self._params, self._last_good)
                save = True
            else:  # interrupted before the first meta-step: keep whatever was saved
                save = False
            summary = self._finish("cancelled", t_start, self._step, save=save, interrupted_by=how)
            self.callback(LogEvent(f"interrupted by {how}: the run was closed as cancelled", "warning"))
            self.callback(FinishedEvent(summary, self._run_path, "cancelled"))
        except (KeyboardInterrupt, Terminated):
            pass  # a second interrupt: the run stays 'running' on disk, read as 'interrupted'

    def _run(self, t_start: float) -> dict[str, Any]:
        step = 0
        try:
            device = resolve_device(self.config.device)
            # Fitting, training, validation and the final test in a fixed summation order
            # (core.devices.reproducible_numerics says why); the thread count goes in the record.
            with reproducible_numerics(device) as self.threads:
                self._setup(device)
                step = self._loop(t_start)
                status = "cancelled" if self.stop.cancelled else "finished"
                summary = self._finish(status, t_start, step)
            self.callback(FinishedEvent(summary, self._run_path, status))
            return summary
        except (TrainingFailed, DeviceError) as exc:
            message = str(exc)
            failure = getattr(exc, "failure", None)
        except torch.OutOfMemoryError:
            message = (
                f"out of memory on {self.config.device}: lower meta_batch_size "
                f"(now {self.config.meta_batch_size}) or the model size"
            )
            failure = "out_of_memory"
        except Exception as exc:  # noqa: BLE001 - the app must keep running; message is shown
            message = f"{type(exc).__name__}: {exc}"
            failure = None
        step = max(step, self._step)
        summary = self._finish("failed", t_start, step, error=message, failure=failure)
        self.callback(FailedEvent(message, step, self._run_path))
        return summary

    # ------------------------------------------------------------------ internals
    @property
    def _run_path(self) -> str | None:
        return str(self.run_folder.path) if self.run_folder is not None else None

    def _setup(self, device: torch.device) -> None:
        from ..algorithms import create_algorithm

        cfg = self.config
        seed_everything(cfg.seed)
        self.device = device
        self.algorithm = create_algorithm(
            self.algorithm_name, overrides=self.algo_overrides, dataset=self.dataset, device=device
        )
        self.sampler = TaskSampler(
            self.dataset,
            self.split,
            batch_size=cfg.meta_batch_size,
            support_size=cfg.support_size,
            support_min=min(cfg.support_min, cfg.support_size),
            query_size=cfg.query_size,
            seed=cfg.seed,
            device=device,
        )
        if self.run_dir is not None and dist.is_main():
            self.run_folder = Run.create(self.run_dir, self._config_record(), overwrite=self.overwrite)
            self._heartbeat = Heartbeat(self.run_folder).start()
        self.callback(LogEvent(f"{self.algorithm_class.title}: fitting on "
                               f"{len(self.split.train_users)} meta-training users"))
        self.algorithm.fit(train_rows(self.dataset, self.split), split=self.split)

    def _config_record(self) -> dict[str, Any]:
        return {
            "algorithm": self.algorithm_name,
            "title": self.algorithm_class.title,
            "family": self.algorithm_class.family,
            "hyperparameters": self.algorithm.config.to_dict(),
            "train": self.config.to_dict(),
            "dataset": {
                "name": self.dataset.name,
                "source": self.dataset.source,
                "fingerprint": self.dataset.fingerprint,
                "users": self.dataset.n_users,
                "items": self.dataset.n_items,
                "ratings": self.dataset.n_ratings,
                "spec": self.dataset_spec,
            },
            "split": self.split.config.to_dict(),
            "device": str(self.device),
            "world_size": dist.world_size(),
            # Same seed and data give the same numbers for the same torch thread count only.
            "versions": {**versions(), "torch_threads": str(self.threads)},
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }

    def _validate(self) -> dict[str, float]:
        """Validation metrics at K = eval_k as ``val_<metric>`` (every numeric metric of the
        evaluation table, so the monitored one is among them when the evaluation has it)."""
        if len(self.split.val_users) == 0:
            return {}
        ranking = self.config.monitor not in RATING_METRICS
        table = evaluate(self.algorithm, self.dataset, self.split, "val", [self.config.eval_k],
                         ranking=ranking)
        m = table[self.config.eval_k]
        return {f"val_{k}": float(v) for k, v in m.items()
                if k != "users" and isinstance(v, (int, float)) and not isinstance(v, bool)}

    def _score(self, metrics: dict[str, float], epoch: int) -> float:
        """The monitored validation metric in 'higher is better' form (NaN: no improvement).
        Falls back to recall20, then mae, when the monitored metric is absent; with neither,
        the latest epoch counts as the best (no validation users)."""
        fallback = monitor_fallback(self.monitor, metrics)
        if fallback is not None:
            self.callback(LogEvent(f"validation has no {self.monitor}: early stopping "
                                   f"monitors {fallback} instead", "warning"))
            self.monitor = fallback
        return monitor_score(metrics, self.monitor, epoch)

    def _loop(self, t_start: float) -> int:
        cfg = self.config
        algo = self.algorithm
        params = algo.meta_parameters()
        stopping = EarlyStopping(cfg.patience)
        step = 0
        if not algo.trainable or not params:
            metrics = self._validate()
            self._record_epoch(0, 0, t_start, metrics, True)
            return 0
        optimizer = torch.optim.Adam(params.values(), lr=cfg.outer_lr, weight_decay=cfg.weight_decay)
        total = cfg.epochs * self.sampler.steps_per_epoch
        if cfg.max_steps:
            total = min(total, cfg.max_steps)
        last_good = snapshot(params)
        self._params, self._last_good = params, last_good
        pending: list[dict[str, Any]] = []
        last_flush = time.perf_counter()
        for epoch in range(1, cfg.epochs + 1):
            for batch in self.sampler.epoch():
                self.stop.wait_if_paused()
                if self.stop.cancelled:
                    self._flush(pending)
                    return step
                t0 = time.perf_counter()
                shard = dist.shard(batch)
                if len(shard):
                    loss, grads = algo.meta_gradients(shard)
                else:  # more ranks than tasks in this (last) batch: contribute nothing
                    loss = torch.zeros((), device=self.device)
                    grads = {k: torch.zeros_like(p) for k, p in params.items()}
                loss, grads = dist.average(loss, grads, n_tasks=len(shard))
                loss_value = float(loss)
                what = divergence(loss_value, grads, self.losses, cfg.diverge_factor,
                                  getattr(self.dataset, "scale", None))
                if what is not None:
                    restore(params, last_good)
                    self._flush(pending)
                    self._save_weights()
                    raise TrainingFailed(
                        f"training diverged at step {step + 1} (epoch {epoch}): {what}; the last "
                        f"good weights were kept. {lr_advice(algo, cfg.outer_lr)}", failure="diverged"
                    )
                for name, p in params.items():
                    p.grad = grads[name].to(p.dtype)
                if cfg.grad_clip > 0:
                    torch.nn.utils.clip_grad_norm_(list(params.values()), cfg.grad_clip)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                last_good = snapshot(params)
                self._last_good = last_good
                step += 1
                self._step = step
                self.losses.append(loss_value)
                now = time.perf_counter()
                tps = len(batch) / max(now - t0, 1e-9)
                self.callback(StepEvent(step, epoch, total, loss_value, now - t_start, tps))
                pending.append({"kind": "step", "step": step, "epoch": epoch,
                                "wall_time": round(now - t_start, 4), "loss": loss_value,
                                "tasks_per_s": round(tps, 2)})
                if now - last_flush > 0.5:
                    self._flush(pending)
                    last_flush = now
                if cfg.max_steps and step >= cfg.max_steps:
                    break
            metrics = self._validate()
            improved = stopping.update(self._score(metrics, epoch), epoch,
                                       lambda: snapshot(params))
            self._flush(pending)
            self._record_epoch(epoch, step, t_start, metrics, improved)
            if improved:
                self._save_weights()
            if cfg.max_steps and step >= cfg.max_steps:
                break
            if stopping.exhausted:
                self.callback(LogEvent(f"early stopping after epoch {epoch}: no validation "
                                       f"gain for {cfg.patience} epochs "
                                       f"(best epoch {stopping.best.epoch})"))
                break
        self._last_good = None  # from here on the parameters are whole (best restored below)
        if stopping.best.state:
            restore(params, stopping.best.state)
            self.best_epoch = stopping.best.epoch
        return step

    def _record_epoch(self, epoch, step, t_start, metrics, improved) -> None:
        elapsed = time.perf_counter() - t_start
        self.history.append({"epoch": epoch, **metrics})
        if self.run_folder is not None:
            self.run_folder.append_metrics([{"kind": "epoch", "step": step, "epoch": epoch,
                                      "wall_time": round(elapsed, 4), **metrics}])
        self.callback(EpochEvent(epoch, step, elapsed, metrics, improved))

    def _flush(self, pending: list[dict[str, Any]]) -> None:
        if self.run_folder is not None and pending:
            self.run_folder.append_metrics(pending)
        pending.clear()

    def _save_weights(self) -> None:
        if self.run_folder is not None and self.algorithm is not None:
            self.run_folder.save_weights(self.algorithm.state_dict())

    def _finish(self, status: str, t_start: float, step: int, error: str | None = None,
                failure: str | None = None, save: bool = True,
                interrupted_by: str | None = None) -> dict:
        wall = time.perf_counter() - t_start
        summary: dict[str, Any] = {
            "status": status,
            "algorithm": self.algorithm_name,
            "title": self.algorithm_class.title,
            "steps": step,
            "epochs": self.history[-1]["epoch"] if self.history else 0,
            "wall_time": round(wall, 3),
            "tasks_per_s": round(step * self.config.meta_batch_size / wall, 2) if step else None,
            "best_epoch": getattr(self, "best_epoch", None),
            "final_loss": self.losses[-1] if self.losses else None,
            "validation": self.history[-1] if self.history else {},
        }
        if self.history:
            summary["best_validation"] = best_validation(self.history, self.monitor)
            summary["monitor"] = self.monitor
        if error:
            summary["error"] = error
        if failure:
            summary["failure"] = failure
        if interrupted_by:
            summary["interrupted_by"] = interrupted_by
        if status in ("finished", "cancelled") and self.algorithm is not None and save:
            self._save_weights()
            if self.config.final_test and status == "finished" and len(self.split.test_users):
                ks = [k for k in DEFAULT_KS if k <= self.split.config.max_support]
                test = evaluate(self.algorithm, self.dataset, self.split, "test", ks)
                summary["test"] = {str(k): m for k, m in test.items()}
        if self.run_folder is not None:
            summary["run_dir"] = str(self.run_folder.path)
            try:
                sha = self.run_folder.weights_sha256() if self.run_folder.has_weights else None
            except Exception:  # noqa: BLE001 - the summary is written regardless
                sha = None
            if sha:
                summary["weights_sha256"] = sha
            if self._heartbeat is not None:
                self._heartbeat.stop()
            self.run_folder.write_summary(summary)
        return summary

"""Per-run curve bookkeeping of the loss plot (Qt-free): the history cap, EMA smoothing carried
across batches, metrics that appear late, reset and re-smoothing."""

from __future__ import annotations

import numpy as np

from metarec_gui.widgets.curve_data import ema
from metarec_gui.widgets.curve_runs import RunCurves


def test_history_is_capped_and_thinned_evenly():
    run = RunCurves("r", "r", 0)
    for start in range(0, 10_000, 37):  # batches of any size, as a live run sends them
        steps = np.arange(start, min(start + 37, 10_000))
        run.append_steps(steps, np.ones(len(steps)), steps / 10, smoothing=0.6, max_points=1000)
    assert run.seen == 10_000
    assert run.losses.n <= 1000 and run.stride == 16
    kept = run.steps.view()
    assert kept[0] == 0 and np.all(np.diff(kept) == 16)  # every 16th step, the first kept
    assert np.array_equal(run.times.view(), kept / 10)


def test_smoothing_continues_across_batches_and_can_be_redone():
    values = np.random.default_rng(0).normal(size=300)
    run = RunCurves("r", "r", 0)
    run.append_steps(np.arange(100), values[:100], None, smoothing=0.9, max_points=10_000)
    run.append_steps(np.arange(100, 300), values[100:], None, smoothing=0.9, max_points=10_000)
    np.testing.assert_allclose(run.smoothed.view(), ema(values, 0.9)[0])
    assert np.isnan(run.times.view()).all()  # no times given: unknown
    run.resmooth(0.0)
    np.testing.assert_allclose(run.smoothed.view(), values)


def test_metrics_that_appear_late_are_padded_and_reset_forgets_everything():
    run = RunCurves("r", "r", 0)
    run.append_epochs([10, 20], {"val_mae": [0.9, 0.8]}, None)
    run.append_epochs([30], {"val_recall20": [0.1]}, [3.0])
    assert np.allclose(run.metrics["val_mae"].view()[:2], [0.9, 0.8])
    assert np.isnan(run.metrics["val_mae"].view()[2])
    assert np.isnan(run.metrics["val_recall20"].view()[:2]).all()
    assert run.has_metric("val_recall20") and not run.has_metric("val_ndcg20")
    assert list(run.epoch_x("step")) == [10, 20, 30]
    run.reset()
    assert (run.losses.n, run.epoch_steps.n, run.metrics, run.stride, run.seen) == (0, 0, {}, 1, 0)

"""Train page: forms from field specs, training in a QThread, stop / pause, failures, live plot."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

from core.algorithms import ALGORITHMS
from core.runs import Run
from core.training import TrainConfig
from metarec_gui.pages.train import TrainPage
from metarec_gui.widgets.config_form import ConfigForm, LogSpinBox
from metarec_gui.widgets.loss_plot import LossPlot, ema
from metarec_gui.workers import running_jobs

FAST = {"epochs": 2, "meta_batch_size": 16, "final_test": False, "patience": 0}


@pytest.fixture
def page(qtbot, app_state, small_dataset):  # noqa: ANN001, ANN201
    app_state.set_dataset(small_dataset, "synthetic")
    page = TrainPage(app_state)
    qtbot.addWidget(page)
    qtbot.waitUntil(lambda: not running_jobs(), timeout=10000)  # the device listing
    yield page
    if page.is_training():
        page.stop()
    qtbot.waitUntil(lambda: not running_jobs(), timeout=10000)


def _configure(page: TrainPage, algorithm: str = "maml", **train) -> None:  # noqa: ANN003
    page.set_algorithm(algorithm)
    if "inner_steps" in page.algo_form.names():
        page.algo_form.set_values({"inner_steps": 1})
    page.train_form.set_values({**FAST, **train})


def test_two_epochs_draw_curves_and_write_a_run(qtbot, page, app_state) -> None:
    _configure(page)
    finished: list[str] = []
    app_state.runFinished.connect(finished.append)
    with qtbot.waitSignal(page.runEnded, timeout=30000) as blocker:
        page.start()
        assert page.is_training() and not page.start_button.isEnabled()
    status, run_dir = blocker.args
    assert status == "finished"
    key = page.run_key
    assert page.plot.point_count(key) > 0
    assert page.plot.epoch_count(key) == 2
    steps, raw, smooth = page.plot.loss_data(key)
    assert np.all(np.diff(steps) > 0) and np.isfinite(smooth).all()
    run = Run.open(run_dir)
    assert Path(run_dir).parent == app_state.runs_dir()
    assert Path(run_dir).name.endswith("-maml")
    assert run.status == "finished" and run.has_weights
    metrics = run.read_metrics()
    assert (metrics["kind"] == "epoch").sum() == 2
    assert finished == [run_dir] and Path(run_dir) in app_state.session_runs
    assert page.start_button.isEnabled() and not page.stop_button.isEnabled()
    assert "finished" in page.result_text.text()
    assert "Validation after epoch 2" in page.validation_text.text()


def test_stop_ends_training_quickly_and_leaves_a_consistent_run(qtbot, page) -> None:
    _configure(page, epochs=5000)
    page.start()
    key = page.run_key
    qtbot.waitUntil(lambda: page.plot.point_count(key) > 3, timeout=20000)
    # How fast Stop takes effect is measured in benchmarks/bench_gui.py, not asserted here.
    with qtbot.waitSignal(page.runEnded, timeout=10000) as blocker:
        page.stop()
    status, run_dir = blocker.args
    assert status == "cancelled"
    run = Run.open(run_dir)
    assert run.status == "cancelled" and run.has_weights
    assert run.summary["steps"] >= 3
    assert len(run.read_metrics()) >= 1
    assert not page.is_training() and page.progress_text.text().startswith("Cancelled at step")
    assert page.progress.format() == "cancelled"


def test_pause_and_resume(qtbot, page) -> None:
    _configure(page, epochs=5000)
    page.start()
    qtbot.waitUntil(lambda: page.plot.point_count(page.run_key) > 0, timeout=20000)
    page.pause_button.click()
    assert page.job.paused and page.pause_button.text() == "Resume"
    page.pause_button.click()
    assert not page.job.paused and page.pause_button.text() == "Pause"
    with qtbot.waitSignal(page.runEnded, timeout=5000):
        page.stop()


def test_unavailable_device_fails_with_a_message(qtbot, page, app_state, monkeypatch) -> None:
    warnings: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a: warnings.append(text))
    logged: list[tuple[str, str]] = []
    app_state.logMessage.connect(lambda level, text: logged.append((level, text)))
    _configure(page)
    app_state.set_device("cuda:7")
    with qtbot.waitSignal(page.runEnded, timeout=20000) as blocker:
        page.start()
    assert blocker.args[0] == "failed"
    assert warnings and "cuda:7" in warnings[0] and "not available" in warnings[0]
    assert page.start_button.isEnabled()
    assert any(level == "error" and "cuda:7" in text for level, text in logged)


def test_forms_follow_the_registry_and_presets(qtbot, page) -> None:
    melu = ALGORITHMS["melu"]
    page.set_algorithm("melu")
    assert page.algo_form.names() == [s["name"] for s in melu.Config.field_specs()]
    assert page.train_form.values()["epochs"] == melu.train_defaults.get(
        "epochs", TrainConfig.epochs)
    preset = next(iter(melu.presets))
    page.form._on_preset(page.preset_combo.findText(preset))
    from core.algorithms import preset_overrides

    algo, train = preset_overrides("melu", preset)
    for name, value in algo.items():
        assert page.algo_form.values()[name] == pytest.approx(value)
    for name, value in train.items():
        assert page.train_form.values()[name] == pytest.approx(value)
    page.reset_settings()
    assert page.algo_form.overrides() == {} and page.train_form.overrides() == {}
    assert page.device_combo.findData("cpu") >= 0


def test_config_form_editors() -> None:
    specs = [
        {"name": "lr", "type": float, "default": 1e-3, "low": 1e-6, "high": 1.0, "log": True,
         "help": "learning rate"},
        {"name": "steps", "type": int, "default": 5, "low": 0, "high": 50},
        {"name": "mode", "type": str, "default": "b", "choices": ("a", "b")},
        {"name": "flag", "type": bool, "default": True},
        {"name": "limit", "type": int | None, "default": None, "low": 1, "high": 9},
    ]
    form = ConfigForm(specs)
    assert form.values() == {"lr": 1e-3, "steps": 5, "mode": "b", "flag": True, "limit": None}
    lr = form.editor("lr")
    assert isinstance(lr, LogSpinBox) and lr.text() == "0.001"
    lr.stepBy(1)
    assert form.values()["lr"] == pytest.approx(2e-3)
    form.set_values({"steps": 99, "limit": 4})  # clamped to the declared range
    assert form.values()["steps"] == 50 and form.values()["limit"] == 4
    assert form.overrides() == {"lr": pytest.approx(2e-3), "steps": 50, "limit": 4}
    assert "learning rate" in lr.toolTip()
    form.reset()
    assert form.overrides() == {}


def test_loss_plot_smoothing_throttling_and_export(qtbot, tmp_path: Path) -> None:
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.add_run("a", "run A")
    rng = np.random.default_rng(0)
    losses = 1 + rng.random(5000)
    redraws = plot.redraw_count
    for start in range(0, 5000, 10):  # 500 appends in a burst: redrawn by the timer only
        plot.append_steps("a", np.arange(start, start + 10), losses[start:start + 10],
                          np.arange(start, start + 10) / 100)
    assert plot.redraw_count == redraws
    qtbot.waitUntil(lambda: plot.redraw_count > redraws, timeout=2000)
    assert plot.point_count("a") == 5000
    # TensorBoard's debiased EMA, computed incrementally, equals the direct formula.
    w = plot.smoothing
    num = den = 0.0
    expected = []
    for x in losses:
        num, den = w * num + x, w * den + 1
        expected.append(num / den)
    assert np.allclose(plot.loss_data("a")[2], expected)
    plot.set_smoothing(0.9)
    assert np.allclose(plot.loss_data("a")[2], ema(losses, 0.9)[0])
    plot.append_epochs("a", [2500, 5000], {"val_mae": [0.9, 0.8], "val_ndcg3": [0.5, 0.6]},
                       [25, 50])
    plot.set_x_mode("time")
    plot.set_log_y(True)
    plot.flush()
    assert "run A" in plot.describe_at(10.0)
    for kind in ("png", "svg", "csv"):
        getattr(plot, f"export_{kind}")(tmp_path / f"curves.{kind}")
        assert (tmp_path / f"curves.{kind}").stat().st_size > 100
    lines = (tmp_path / "curves.csv").read_text().splitlines()
    assert lines[0] == "run,label,series,step,wall_time,value"
    assert len(lines) == 1 + 2 * 5000 + 4
    plot.remove_run("a")
    assert plot.runs() == []


def test_ema_skips_non_finite_values() -> None:
    out, num, den = ema(np.array([1.0, math.nan, 3.0]), 0.5)
    assert out[0] == 1.0 and out[1] == 1.0 and out[2] == pytest.approx((3 + 0.5) / 1.5)
    cont, _, _ = ema(np.array([5.0]), 0.5, num, den)
    full, _, _ = ema(np.array([1.0, math.nan, 3.0, 5.0]), 0.5)
    assert cont[0] == pytest.approx(full[-1])


def test_a_run_trained_in_the_app_can_be_evaluated_from_the_cli(qtbot, app_state, tmp_path,
                                                                  capsys) -> None:
    import json

    from core.cli import main
    from core.data.loading import DatasetSpec, load_dataset

    spec = DatasetSpec.parse("synthetic:n_users=100,n_items=90,seed=5")
    app_state.set_dataset(load_dataset(spec), spec.to_string(), spec.to_dict())
    page = TrainPage(app_state)
    qtbot.addWidget(page)
    qtbot.waitUntil(lambda: not running_jobs(), timeout=10000)
    _configure(page, "user_item_bias")
    with qtbot.waitSignal(page.runEnded, timeout=30000) as blocker:
        page.start()
    status, run_dir = blocker.args
    assert status == "finished"
    assert Run.open(run_dir).config["dataset"]["spec"] == spec.to_dict()
    capsys.readouterr()
    assert main(["evaluate", run_dir, "--k", "5", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["metrics"]["5"]["users"] > 0
    qtbot.waitUntil(lambda: not running_jobs(), timeout=10000)

"""One test per defect of issue 9 handled by the app shell (1, 3, 4, 7, 8), the progress and
curve wording, and issue 11's app items (broken run folders, a garbage metrics line)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QSettings, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QScrollArea, QVBoxLayout, QWidget

from core import workflows
from core.profiles import Profile
from metarec_gui.platform_check import debian_package, install_message, missing_from_ldd
from metarec_gui.widgets.config_form import ConfigForm
from metarec_gui.widgets.loss_plot import LossPlot, sensible_range
from metarec_gui.workers import training_threads
from tests.gui_helpers import close_window, open_window
from tests.test_gui_compare import page, world  # noqa: F401 - fixtures


def wheel(widget: QWidget, up: bool = True) -> None:
    pos = QPointF(widget.rect().center())
    event = QWheelEvent(pos, QPointF(widget.mapToGlobal(pos.toPoint())), QPoint(0, 0),
                        QPoint(0, 120 if up else -120), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


# ------------------------------------------------------------------------------ defect 1
def test_wheel_changes_a_number_only_when_the_box_has_focus(qtbot) -> None:
    form = ConfigForm([{"name": "inner_prior", "type": float, "default": 3.0, "low": 0.0, "high": 100.0},
                       {"name": "steps", "type": int, "default": 5, "low": 1, "high": 100}]
                      + [{"name": f"pad{i}", "type": int, "default": 1} for i in range(40)])
    scroll = QScrollArea()
    holder = QWidget()
    QVBoxLayout(holder).addWidget(form)
    scroll.setWidget(holder)
    scroll.setWidgetResizable(True)
    scroll.resize(300, 200)
    qtbot.addWidget(scroll)
    scroll.show()
    qtbot.waitExposed(scroll)
    spin = form.editor("inner_prior")
    assert not spin.hasFocus()
    wheel(spin, up=True)
    wheel(form.editor("steps"), up=True)
    assert form.values()["inner_prior"] == 3.0 and form.values()["steps"] == 5
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus, timeout=2000)
    wheel(spin, up=True)
    assert form.values()["inner_prior"] > 3.0


# ------------------------------------------------------------------------------ defect 3
def test_compare_offers_the_current_cold_start_user_and_follows_changes(qtbot, page, world) -> None:  # noqa: F811
    _ws, dataset, _split = world
    live = Profile.from_dense("(unsaved)", dataset, {5: 5.0, 6: 1.0, 7: 4.0})
    page.state.set_profile_source(lambda: live)
    page.state.profileChanged.emit()  # what the Cold-start page sends on every rating / save
    combo = page.profile_combo
    assert combo.itemData(0) == "current" and "Current Cold-start user (3 ratings)" in combo.itemText(0)
    page.select_paths([world[0] / "runs" / "fomaml"])
    combo.setCurrentIndex(0)
    with qtbot.waitSignal(page.topListsShown, timeout=20000):
        page.compute_top_lists()
    assert not set(page.top_lists[0][1]["item"]) & {5, 6, 7}
    page.state.set_profile_source(lambda: None)
    page.state.profileChanged.emit()
    assert combo.findData("current") < 0  # follows without Refresh


# ------------------------------------------------------------------------------ defect 4
def test_kshot_legend_matches_curves_baselines_marked_and_hint_hidden(qtbot, page, world) -> None:  # noqa: F811
    ws = world[0]
    page.baselines_check.setChecked(True)
    page.select_paths([ws / "runs" / "fomaml"])
    with qtbot.waitSignal(page.kshotShown, timeout=240000):  # 7 baselines fitted: slow when busy
        page.compute_kshot()
        assert not page.kshot._empty.isVisible() or not page.kshot.isVisible()
        assert not page.kshot._hint_allowed  # no "select runs and press…" while computing
    keys = page.kshot.series_keys()
    assert len(page.kshot.legend_labels()) == page.kshot.curve_count() == len(keys)
    assert str(page.kshot_status.text()).startswith(f"{len(keys)} curve(s)")
    baselines = [k for k in keys if workflows.is_baseline_run(k)]
    assert baselines and all(Path(k).parent.parent == ws / "baselines" for k in baselines)
    assert not (ws / "runs" / "item_bias").exists()
    labels = dict(zip(keys, page.kshot.legend_labels(), strict=True))
    assert all(labels[k].endswith("(baseline)") for k in baselines)
    run = str((ws / "runs" / "fomaml").resolve())
    metric = page.kshot.shown_metrics()[0]
    base_item = page.kshot._series[baselines[0]].items[metric]
    run_item = page.kshot._series[run].items[metric]
    assert base_item.opts["symbol"] != run_item.opts["symbol"]
    assert base_item.opts["pen"].style() != run_item.opts["pen"].style()
    # the baselines are listed as baselines in the table, not mixed with the runs
    frame = page.runs.frame()
    kinds = dict(zip(frame["path"], frame["kind"], strict=True))
    assert all(kinds.get(k) == "baseline" for k in baselines)
    assert "baseline" in page.runs.count_label.text()


# ------------------------------------------------------------------------------ defect 7
def test_training_actions_export_state_auto_and_device(qtbot, settings_path, small_dataset) -> None:
    window = open_window(qtbot, settings_path, small_dataset)
    train = window.train_page
    names = [a.text() for a in window.training_menu.actions()]
    assert any("Start" in n or "Fit" in n for n in names) and any("Pause" in n for n in names)
    for action in train.training_actions():
        assert not action.shortcut().isEmpty() and action.toolTip()
    assert not train.pause_action.isEnabled() and not train.stop_action.isEnabled()
    assert not train.plot.export_button.isEnabled()  # empty plot: nothing to export
    train.plot.add_run("x", "x")
    train.plot.append_steps("x", [1, 2], [1.0, 0.9])
    train.plot.flush()
    assert train.plot.export_button.isEnabled()
    data = window.data_page.split_form
    box = data.editor("min_ratings")
    assert data.values()["min_ratings"] is None and box.text() == "auto"
    qtbot.waitUntil(lambda: train.device_combo.count() > 1, timeout=10000)
    cpu = train.device_combo.itemText(train.device_combo.findData("cpu"))
    assert f"{training_threads()} " in cpu or f"({training_threads()} threads)" in cpu
    close_window(qtbot, window)


def test_closed_form_fit_says_fitted_and_cannot_pause(qtbot, settings_path, small_dataset) -> None:
    window = open_window(qtbot, settings_path, small_dataset)
    train = window.train_page
    train.set_algorithm("item_bias")
    with qtbot.waitSignal(train.runEnded, timeout=60000):
        train.start()
        assert not train.pause_button.isEnabled()
    assert train.progress_text.text().startswith("Fitted")
    assert train.progress.value() == train.progress.maximum() > 0
    assert "0 steps" not in train.result_text.text()
    close_window(qtbot, window)


# ------------------------------------------------------------------------------ defect 8
def test_missing_xcb_libraries_are_named_as_packages() -> None:
    ldd = ("\tlibQt6XcbQpa.so.6 => /x/libQt6XcbQpa.so.6 (0x1)\n"
           "\tlibxcb-icccm.so.4 => not found\n\tlibxcb-keysyms.so.1 => not found\n"
           "\tlibxkbcommon-x11.so.0 => not found\n\tlibxcb-icccm.so.4 => not found\n")
    packages = missing_from_ldd(ldd)
    assert packages == ["libxcb-icccm4", "libxcb-keysyms1", "libxkbcommon-x11-0"]
    message = install_message(packages)
    assert "\n" not in message and "apt-get install libxcb-icccm4 libxcb-keysyms1" in message
    assert "cursor" not in message
    assert debian_package("libxcb-cursor.so.0") == "libxcb-cursor0"
    assert missing_from_ldd("\tlibc.so.6 => /lib/libc.so.6\n") == []


# ------------------------------------------------------------------------------ curves
def test_validation_plot_shows_recall_and_never_zooms_into_noise(qtbot) -> None:
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.resize(900, 600)
    plot.add_run("a", "A")
    plot.append_steps("a", np.arange(1, 201), 1.0 + 0.0005 * np.sin(np.arange(200)))
    plot.append_epochs("a", [100, 200], {"val_mae": [0.9, 0.8], "val_recall20": [0.10, 0.12]})
    plot.flush()
    assert plot.shown_metrics()[0] == "val_recall20"
    lo, hi = plot.loss_plot.viewRange()[1]
    assert hi - lo >= 0.09  # the 0.001 band of noise is drawn flat, not as a mountain range
    assert sensible_range(0.5, 0.5001)[1] - sensible_range(0.5, 0.5001)[0] >= 0.05
    assert plot.legend.scene() is not None and plot.legend not in plot.loss_plot.vb.allChildren()


def test_history_is_capped_for_long_runs(qtbot) -> None:
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.max_points = 1000
    plot.add_run("a", "A")
    for start in range(0, 50_000, 500):
        steps = np.arange(start, start + 500)
        plot.append_steps("a", steps, np.ones(500))
    assert plot.point_count("a") <= 1000
    steps, _raw, _smooth = plot.loss_data("a")
    assert steps[-1] >= 49_000 and np.all(np.diff(steps) > 0)


# ------------------------------------------------------------------------------ issue 11 items 7, 8
def _broken_workspace(ws: Path) -> None:
    runs = ws / "runs"
    for name, config in (("null", "null"), ("list", "[1, 2]"), ("text", '"run"'),
                         ("dataset-null", json.dumps({"algorithm": "maml", "dataset": None})),
                         ("hyper-list", json.dumps({"algorithm": "maml", "hyperparameters": [1]}))):
        (runs / name).mkdir(parents=True)
        (runs / name / "config.json").write_text(config)
    (runs / "binary").mkdir()
    (runs / "binary" / "config.json").write_bytes(b"\x00\xff\xfe" * 50)
    (runs / "bad-summary").mkdir()
    (runs / "bad-summary" / "config.json").write_text(json.dumps({"algorithm": "maml"}))
    (runs / "bad-summary" / "summary.json").write_text('{"status": "finished", "test": [1]')


def test_app_starts_with_a_workspace_of_broken_runs(qtbot, settings_path, small_dataset,
                                                    isolated_workspace) -> None:
    _broken_workspace(isolated_workspace)
    window = open_window(qtbot, settings_path, small_dataset)
    for key in window.page_keys():
        assert window.page_error(key) is None, window.page_error(key)
    compare = window.page("compare")
    frame = compare.runs.frame()
    broken = frame[frame["kind"] == "broken"]
    assert len(broken) == 7
    assert all(str(r).startswith("broken run folder:") for r in broken["reason"])
    assert "7 broken" in compare.runs.count_label.text()
    compare.select_paths(list(broken["path"]))  # selecting them draws nothing and raises nothing
    close_window(qtbot, window)


def test_watch_skips_a_garbage_metrics_line(qtbot, app_state, tmp_path) -> None:
    from core.runs import METRIC_COLUMNS

    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"algorithm": "maml", "status": "running"}))
    (run / "metrics.csv").write_text(",".join(METRIC_COLUMNS) + "\n"
                                     "step,1,1,0.1,0.5,10,,,\n"
                                     "garbage,line,x,y,z,1,2,3,4\n"
                                     "step,2,1,0.2,0.4,10,,,\n")
    watcher = app_state.watcher
    with qtbot.waitSignal(watcher.rowsArrived, timeout=5000) as blocker:
        watcher.watch(run)
    chunk = blocker.args[1]
    assert list(chunk.steps) == [1.0, 2.0] and chunk.bad == 1
    assert "skipped" in watcher.get(run).describe()
    watcher.shutdown()


def test_one_colour_per_run_on_every_page() -> None:
    from metarec_gui.theme import run_color_index

    a = run_color_index("/ws/runs/20260101-000000-maml")
    assert run_color_index("watch:/elsewhere/20260101-000000-maml") == a
    assert run_color_index("/ws/runs/20260101-000000-maml/") == a
    assert run_color_index("/ws/runs/other") != a


def test_settings_are_typed_in_one_place(tmp_path) -> None:
    from metarec_gui.settings import Settings

    prefs = Settings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    assert prefs.device == "cpu" and prefs.dataset_spec is None and prefs.page == "data"
    prefs.split = {"seed": 3, "min_ratings": None}
    prefs.set_train_hparams("maml", {"inner_lr": 0.5})
    prefs.sync()
    again = Settings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    assert again.split == {"seed": 3, "min_ratings": None}
    assert again.train_hparams("maml") == {"inner_lr": 0.5}
    again.qsettings.setValue("data/last_spec", "{not json")
    assert again.dataset_spec is None


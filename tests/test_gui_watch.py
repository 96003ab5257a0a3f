"""Watching a run that another process writes: curves grow, status follows, weights appear.

The "other process" is simulated with core.runs.Run.create / append_metrics / save_weights /
write_summary from the test; the app only ever reads the folder.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from gui_helpers import close_window, open_window
from PySide6.QtWidgets import QMessageBox

import metarec_gui.watch as watch_module
from core.runs import Run
from metarec_gui.pages.train import watch_key
from metarec_gui.widgets.run_picker import PATH_ROLE


@pytest.fixture(autouse=True)
def fast_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(watch_module, "POLL_MS", 50)


def _steps(first: int, last: int, epoch: int = 1) -> list[dict]:
    return [{"kind": "step", "step": s, "epoch": epoch, "wall_time": s * 0.1, "loss": 1.0 / s,
             "tasks_per_s": 100.0} for s in range(first, last + 1)]


def _external_run(folder: Path, steps: int = 5) -> Run:
    run = Run.create(folder, {"algorithm": "maml", "title": "MAML", "device": "cuda:0"})
    run.append_metrics(_steps(1, steps))
    return run


def test_watch_follows_a_run_written_elsewhere(qtbot, settings_path, small_dataset, tmp_path,
                                              monkeypatch) -> None:
    monkeypatch.setattr(watch_module, "LINGER_S", 0.0)
    run = _external_run(tmp_path / "cluster" / "job-17")
    path = str(run.path.resolve())
    window = open_window(qtbot, settings_path, small_dataset)
    watcher = window.state.watcher

    assert window.watch_run_folder(run.path)
    assert window.current_page_key() == "train"
    plot, key = window.train_page.plot, watch_key(path)
    qtbot.waitUntil(lambda: plot.has_run(key) and plot.point_count(key) == 5, timeout=5000)
    assert plot.label(key) == "MAML · job-17 (watching)"
    qtbot.waitUntil(lambda: "Watching job-17 — running, step 5" in window.watch_button.text(),
                    timeout=5000)
    assert window.watch_button.isVisible()
    assert window.train_page.watch_text.text().startswith("Watching job-17 — running")

    # more rows, then a half-written line: only complete rows reach the plot
    run.append_metrics(_steps(6, 8))
    with open(run.path / "metrics.csv", "a") as f:
        f.write("step,9,1,0.9,0.11")
    qtbot.waitUntil(lambda: plot.point_count(key) == 8, timeout=5000)
    polls = watcher.get(path).polls
    qtbot.waitUntil(lambda: watcher.get(path).polls >= polls + 2, timeout=5000)
    assert plot.point_count(key) == 8  # the half line waits for its newline
    with open(run.path / "metrics.csv", "a") as f:
        f.write("1,100.0,,,\n")
    qtbot.waitUntil(lambda: plot.point_count(key) == 9, timeout=5000)
    steps, losses, _smoothed = plot.loss_data(key)
    assert list(steps) == list(range(1, 10)) and losses[-1] == pytest.approx(0.111)
    run.append_metrics([{"kind": "epoch", "step": 9, "epoch": 1, "wall_time": 1.0,
                         "val_mae": 0.8, "val_rmse": 1.0, "val_ndcg3": 0.5}])
    qtbot.waitUntil(lambda: plot.epoch_count(key) == 1, timeout=5000)
    assert list(plot.metric_data(key, "val_mae")[1]) == [0.8]

    # the Compare page lists it and its curves grow there too
    window._show_on_compare(run.path)
    compare = window.page("compare")
    assert compare.selected_paths() == [path]
    assert compare.curves.point_count(path) == 9
    run.append_metrics(_steps(10, 12))
    qtbot.waitUntil(lambda: compare.curves.point_count(path) == 12 and plot.point_count(key) == 12,
                    timeout=5000)

    # the Cold-start picker lists it: unavailable until weights are written, then usable
    picker = window.page("coldstart").picker

    def picker_item():  # noqa: ANN202
        return next((picker.model.item(r) for r in range(picker.model.rowCount())
                     if picker.model.item(r).data(PATH_ROLE) == path), None)

    assert picker_item() is not None and not picker_item().isEnabled()
    with qtbot.waitSignal(window.state.runWeightsChanged, timeout=5000) as blocker:
        run.save_weights({"w": torch.zeros(3)})
    assert blocker.args == [path]
    assert picker_item().isEnabled()

    # the run ends: status shown, polling stops, the curve keeps its rows
    run.write_summary({"status": "finished", "steps": 12})
    qtbot.waitUntil(lambda: watcher.get(path).status == "finished", timeout=5000)
    qtbot.waitUntil(lambda: "finished" in window.watch_button.text(), timeout=5000)
    qtbot.waitUntil(lambda: not watcher.get(path).polling, timeout=5000)
    assert window.watch_button.text().startswith("Watched job-17 — finished, step 12")
    assert plot.label(key) == "MAML · job-17 (finished)" and plot.point_count(key) == 12
    assert compare.curves.label(path).endswith("job-17")

    watcher.stop(path)
    assert not watcher.watches() and not window.watch_button.isVisible()
    close_window(qtbot, window)


def test_several_runs_and_a_restarted_one(qtbot, app_state, tmp_path) -> None:
    from metarec_gui.widgets.loss_plot import LossPlot

    plot = LossPlot()
    qtbot.addWidget(plot)
    watcher = app_state.watcher
    watcher.rowsArrived.connect(lambda path, chunk: chunk.feed(plot, path))
    watcher.rowsReset.connect(lambda path: plot.set_series(path, label=path))
    a, b = _external_run(tmp_path / "a", 4), _external_run(tmp_path / "b", 6)
    for run in (a, b):
        plot.add_run(str(run.path.resolve()))
        watcher.watch(run.path)
    ka, kb = str(a.path.resolve()), str(b.path.resolve())
    assert watcher.watch(a.path) is watcher.get(ka)  # watching twice: the same watch
    assert [w.key for w in watcher.watches()] == [ka, kb]
    qtbot.waitUntil(lambda: plot.point_count(ka) == 4 and plot.point_count(kb) == 6, timeout=5000)
    assert "(+1 more)" in watcher.describe()
    assert {ka, kb} <= {str(p.resolve()) for p in app_state.session_runs}

    # b restarts in the same folder: metrics.csv shrinks and is read again from the top
    (b.path / "metrics.csv").unlink()
    (b.path / "config.json").unlink()
    Run.create(b.path, {"algorithm": "reptile"}).append_metrics(_steps(1, 2))
    qtbot.waitUntil(lambda: plot.point_count(kb) == 2, timeout=5000)

    watcher.stop(ka)
    a.append_metrics(_steps(5, 9))
    b.append_metrics(_steps(3, 3))
    qtbot.waitUntil(lambda: plot.point_count(kb) == 3, timeout=5000)
    assert plot.point_count(ka) == 4  # no longer followed
    assert watcher.shutdown()


def test_a_folder_that_is_not_a_run_is_refused_clearly(qtbot, settings_path, tmp_path,
                                                       monkeypatch) -> None:
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _parent, title, text, *a, **k: (
        shown.append((title, text)), QMessageBox.StandardButton.Ok)[1])
    window = open_window(qtbot, settings_path, start=False)
    (tmp_path / "holiday-photos").mkdir()
    assert not window.watch_run_folder(tmp_path / "holiday-photos")
    assert shown and shown[0][0] == "Not a run"
    assert "not a MetaRec run folder (no config.json)" in shown[0][1]
    assert "--out folder" in shown[0][1]
    assert not window.state.watcher.watches() and not window.watch_button.isVisible()
    close_window(qtbot, window)


def test_open_run_watches_only_a_running_run(qtbot, settings_path, small_dataset, tmp_path) -> None:
    running = _external_run(tmp_path / "live")
    done = _external_run(tmp_path / "done")
    done.write_summary({"status": "cancelled"})
    window = open_window(qtbot, settings_path, small_dataset)
    assert window.open_run_folder(done.path)
    assert not window.state.watcher.watches()
    assert window.open_run_folder(running.path)
    assert window.current_page_key() == "compare"
    path = str(running.path.resolve())
    assert window.state.watcher.is_watched(path)
    compare = window.page("compare")
    assert compare.selected_paths() == [path]
    qtbot.waitUntil(lambda: compare.curves.point_count(path) == 5, timeout=5000)
    assert compare.curves.label(path).endswith("(watching)")
    close_window(qtbot, window)

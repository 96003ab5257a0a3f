"""Main window: pages, menus, status bar, settings persistence, closing during training."""

from __future__ import annotations

import importlib

import pytest
from gui_helpers import close_window, open_window
from PySide6.QtCore import QSettings
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QLabel, QMessageBox

from core.runs import Run
from metarec_gui.app import MainWindow
from metarec_gui.state import AppState
from metarec_gui.theme import theme
from metarec_gui.workers import running_jobs


def test_four_pages_menus_and_status_bar(qtbot, app_state, settings_path, small_dataset) -> None:
    window = open_window(qtbot, settings_path, small_dataset)
    assert [window.sidebar.item(i).text() for i in range(4)] == \
        ["Data", "Train", "Cold-start", "Compare"]
    assert window.stack.count() == 4
    for key in window.page_keys():
        assert window.page_error(key) is None, window.page_error(key)
        assert not isinstance(window.page(key), QLabel)
    menus = [a.text() for a in window.menuBar().actions()]
    assert menus == ["&File", "&View", "&Training", "&Help"]
    shortcuts = {a.text(): a.shortcut() for m in window.menuBar().actions()
                 for a in m.menu().actions()}
    assert shortcuts["&Open dataset…"] == QKeySequence(QKeySequence.StandardKey.Open)
    assert shortcuts["&Quit"] == QKeySequence(QKeySequence.StandardKey.Quit)
    assert [shortcuts[t].toString() for t in ("Data", "Train", "Cold-start", "Compare")] == \
        ["Ctrl+1", "Ctrl+2", "Ctrl+3", "Ctrl+4"]
    window.page_actions[1].trigger()
    assert window.current_page_key() == "train" and window.stack.currentIndex() == 1
    assert "120 users" in window.dataset_label.text()
    assert window.device_label.text() == "Device: cpu"
    window.state.begin_job("x", "Doing x", total=10)
    window.state.update_job("x", done=4, total=10)
    assert window.job_label.text() == "Doing x" and window.job_bar.value() == 4
    window.state.end_job("x")
    assert window.job_label.text() == "" and window.job_bar.isHidden()
    window.state.log("hello from a test", "warning")
    assert ("warning", "hello from a test") in window.log_panel.messages()
    close_window(qtbot, window)


def test_settings_persist_across_windows(qtbot, settings_path, small_dataset) -> None:
    window = open_window(qtbot, settings_path, small_dataset)
    window.show_page("train")
    train = window.train_page
    train.set_algorithm("reptile")
    train.algo_form.set_values({"inner_steps": 3})
    train.train_form.set_values({"epochs": 7})
    close_window(qtbot, window)

    again = open_window(qtbot, settings_path, small_dataset)
    assert again.current_page_key() == "train"
    train = again.train_page
    assert train.algorithm() == "reptile"
    assert train.algo_form.values()["inner_steps"] == 3
    assert train.train_form.values()["epochs"] == 7
    close_window(qtbot, again)


def test_closing_during_training_asks_then_stops_cleanly(qtbot, settings_path, small_dataset,
                                                         monkeypatch) -> None:
    window = open_window(qtbot, settings_path, small_dataset)
    train = window.train_page
    train.set_algorithm("maml")
    train.algo_form.set_values({"inner_steps": 1})
    train.train_form.set_values({"epochs": 5000, "meta_batch_size": 16, "final_test": False})
    train.start()
    qtbot.waitUntil(lambda: train.plot.point_count(train.run_key) > 0, timeout=20000)
    run_dir = train.run_key

    asked: list[str] = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: (
        asked.append(a[1]), QMessageBox.StandardButton.No)[1])
    window.close()
    assert asked and window.isVisible() and train.is_training()  # "No": keeps training

    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10000)
    assert not running_jobs()
    assert Run.open(run_dir).status == "cancelled"


def test_a_page_that_fails_to_import_shows_a_message(qtbot, settings_path, monkeypatch) -> None:
    real = importlib.import_module

    def fake(name: str, *args):  # noqa: ANN002, ANN202
        if name == "metarec_gui.pages.compare":
            raise ImportError("compare is broken in this test")
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", fake)
    window = open_window(qtbot, settings_path)
    page = window.page("compare")
    assert isinstance(page, QLabel) and "not available" in page.text()
    assert "compare is broken" in window.page_error("compare")
    assert any(level == "error" for level, _ in window.log_panel.messages())
    close_window(qtbot, window)


def test_dark_theme_reaches_the_plots(qtbot, settings_path) -> None:
    window = open_window(qtbot, settings_path, start=False)
    try:
        window.set_theme("dark")
        assert theme().is_dark
        bg = window.data_page.plots.backgroundBrush().color().name()
        assert bg == theme().plot_background()
        qtbot.waitUntil(lambda: window.palette().window().color().lightness() < 80, timeout=2000)
    finally:
        window.set_theme("light")
    assert window.data_page.plots.backgroundBrush().color().name() == "#ffffff"
    close_window(qtbot, window)


@pytest.mark.parametrize("first_launch", [True])
def test_startup_autoloads_the_builtin_dataset(qtbot, settings_path, first_launch) -> None:
    state = AppState(QSettings(str(settings_path), QSettings.Format.IniFormat))
    window = MainWindow(state)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.data_page.loadFinished, timeout=20000) as blocker:
        window.start()
    assert blocker.args == [True]
    assert state.dataset.n_users == 671
    assert window.data_page.source() == "builtin"
    qtbot.waitUntil(lambda: not running_jobs(), timeout=20000)
    close_window(qtbot, window)


def test_quit_with_unsaved_cold_start_ratings_asks(qtbot, settings_path, small_dataset, monkeypatch) -> None:
    """Defect 2: quitting with unsaved ratings on the Cold-start page asks Save / Discard /
    Cancel; Cancel keeps the window, Discard closes it."""
    window = open_window(qtbot, settings_path, small_dataset)
    cold = window._pages["coldstart"]
    answers = [False, True]  # Cancel, then Discard
    asked = []
    monkeypatch.setattr(cold, "has_unsaved_changes", lambda: True)
    monkeypatch.setattr(cold, "confirm_discard", lambda parent: asked.append(parent) or answers.pop(0))
    window.close()
    assert window.isVisible() and asked == [window]
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible() and not running_jobs(), timeout=10000)
    assert len(asked) == 2


def test_the_log_keeps_a_bounded_number_of_lines(qtbot, settings_path) -> None:
    # A long training logs a line per epoch: the log dock's memory is bounded by its line cap.
    from metarec_gui.app import LOG_LINES

    window = open_window(qtbot, settings_path, start=False)
    for i in range(LOG_LINES + 150):
        window.state.log(f"Validation after epoch {i}: Recall@20 0.1234")
    messages = window.log_panel.messages()
    assert len(messages) == LOG_LINES and messages[-1][1].startswith(f"Validation after epoch "
                                                                     f"{LOG_LINES + 149}:")
    assert window.log_panel.view.blockCount() == LOG_LINES
    close_window(qtbot, window)

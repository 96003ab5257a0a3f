"""Cold-start defect 2: ratings are undoable (Ctrl+Z / Ctrl+Shift+Z) and unsaved ratings are
never lost without a question; the page's profile API for the Compare page and the main window."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog, QMessageBox
from test_gui_coldstart import make_state, open_page, settings_file, world  # noqa: F401 (fixtures)

from core.profiles import Profile, load_profile

Button = QMessageBox.StandardButton


def test_every_rating_change_is_undoable(qtbot, world, settings_file):  # noqa: F811
    page = open_page(qtbot, make_state(world, settings_file), run=None)
    stack = page.undo_stack
    page.set_rating(3, 4.0)  # set
    page.set_rating(3, 2.5)  # change
    page.set_rating(5, 5.0)
    page.set_rating(3, None)  # delete
    assert page.ratings == {5: 5.0}
    assert stack.undoText().startswith("Remove the rating of")
    page.store.clear()  # clear all
    assert page.ratings == {} and stack.undoText() == "Clear all 1 rating"
    expected = [{5: 5.0}, {3: 2.5, 5: 5.0}, {3: 2.5}, {3: 4.0}, {}]
    for state in expected:
        stack.undo()
        assert page.ratings == state
    stack.redo()
    stack.redo()
    assert page.ratings == {3: 2.5}
    assert page.rated.items() == [3] and page.finder.tabText(2) == "My ratings (1)"  # lists follow


def test_undo_redo_keys_and_buttons(qtbot, world, settings_file):  # noqa: F811
    page = open_page(qtbot, make_state(world, settings_file), run=None)
    page.show()
    page.activateWindow()
    qtbot.waitExposed(page)
    bar = page.profile_bar
    assert not bar.undo_button.isEnabled() and not bar.redo_button.isEnabled()
    page.finder.setCurrentIndex(2)
    page.set_rating(7, 3.0)
    page.set_rating(8, 4.5)
    assert bar.undo_button.isEnabled() and "Rate '" in bar.undo_button.toolTip()
    keys = [s.toString() for s in bar.undo_action.shortcuts()]
    assert "Ctrl+Z" in keys
    assert "Ctrl+Shift+Z" in [s.toString() for s in bar.redo_action.shortcuts()]
    assert bar.undo_action in page.actions()  # active anywhere on the page
    page.rated.view.setFocus()
    qtbot.waitUntil(lambda: page.rated.view.hasFocus(), timeout=2000)
    qtbot.keyClick(page.rated.view, Qt.Key.Key_Delete)  # delete the current row's rating ...
    removed = set({7: 3.0, 8: 4.5}) - set(page.ratings)
    assert len(removed) == 1
    qtbot.keyClick(page.rated.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # ... undone
    assert page.ratings == {7: 3.0, 8: 4.5}
    qtbot.keyClick(page.rated.view, Qt.Key.Key_Z,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)  # redone
    assert len(page.ratings) == 1
    qtbot.mouseClick(bar.undo_button, Qt.MouseButton.LeftButton)
    assert page.ratings == {7: 3.0, 8: 4.5}


def test_unsaved_ratings_ask_save_discard_or_cancel(qtbot, world, settings_file, monkeypatch):  # noqa: F811
    page = open_page(qtbot, make_state(world, settings_file), run=None)
    assert not page.has_unsaved_changes() and page.confirm_discard()  # nothing to lose: no question
    page.set_rating(2, 4.0)
    assert page.has_unsaved_changes()
    assert "•" in page.profile_bar.save_button.text()
    asked = []

    def answer(button):
        def question(*args, **kwargs):
            asked.append(args[2] if len(args) > 2 else "")
            return button
        return question
    monkeypatch.setattr(QMessageBox, "question", answer(Button.Cancel))
    assert not page.confirm_discard() and page.ratings == {2: 4.0}  # Cancel: stay
    assert "unsaved changes" in asked[-1]
    assert not page.new_profile() and page.ratings == {2: 4.0}
    monkeypatch.setattr(QMessageBox, "question", answer(Button.Discard))
    assert page.confirm_discard()  # Discard: go on (quit)
    assert page.new_profile() and page.ratings == {} and not page.has_unsaved_changes()

    page.set_rating(2, 4.0)
    monkeypatch.setattr(QMessageBox, "question", answer(Button.Save))
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("", False))
    assert not page.confirm_discard()  # Save, then the name dialog cancelled: stay
    assert page.has_unsaved_changes()
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("Quit test", True))
    with qtbot.waitSignal(page.profileSaved) as saved:
        assert page.confirm_discard()  # Save: asks a name, saves, goes on
    assert load_profile(saved.args[0]).name == "Quit test"
    assert not page.has_unsaved_changes() and "•" not in page.profile_bar.save_button.text()
    page.set_rating(9, 1.0)
    assert page.has_unsaved_changes()
    page.undo_stack.undo()
    assert not page.has_unsaved_changes()  # back at the saved state
    Path(saved.args[0]).unlink()


@pytest.mark.parametrize("deleted", [False, True])
def test_current_profile_and_its_signals(qtbot, world, settings_file, deleted):  # noqa: F811
    page = open_page(qtbot, make_state(world, settings_file), run=None)
    assert page.current_profile() is None
    with qtbot.waitSignal(page.profileChanged):
        page.set_rating(4, 3.5)
    profile = page.current_profile()
    assert isinstance(profile, Profile) and profile.name == "Unsaved profile"
    assert profile.dense_ratings(world[1]) == {4: 3.5}
    if deleted:
        with qtbot.waitSignal(page.profileChanged):
            page.undo_stack.undo()
        assert page.current_profile() is None
        return
    with qtbot.waitSignals([page.profileSaved, page.profileChanged]):
        path = page.save_profile_as("Compare me")
    assert page.current_profile().name == "Compare me" and path.is_file()
    path.unlink()

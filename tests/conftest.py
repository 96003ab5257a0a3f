"""Shared test setup: headless Qt, and settings / workspace isolated in temporary folders.

``QT_QPA_PLATFORM=offscreen`` is set before anything imports Qt, so the suite runs without a
display. Every test gets its own workspace (``METAREC_WORKSPACE``) and settings file
(``METAREC_SETTINGS``); ``QSettings`` created any other way also land in a temporary folder, so
no test reads or writes the user's real configuration.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("METAREC_THEME", "light")

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # the suite also runs without `pip install -e .`
    sys.path.insert(0, str(ROOT))

_SETTINGS_ROOT = Path(tempfile.mkdtemp(prefix="metarec-qsettings-"))

import pytest  # noqa: E402


def pytest_configure(config: pytest.Config) -> None:
    # The offscreen platform plugin warns about this on every top-level window.
    config.addinivalue_line("qt_log_ignore", "propagateSizeHints")
    from PySide6.QtCore import QSettings

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
        QSettings.setPath(QSettings.Format.IniFormat, scope, str(_SETTINGS_ROOT))


@pytest.fixture(autouse=True)
def isolated_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh workspace and settings file per test."""
    workspace = tmp_path / "workspace"
    monkeypatch.setenv("METAREC_WORKSPACE", str(workspace))
    monkeypatch.setenv("METAREC_SETTINGS", str(tmp_path / "settings.ini"))
    return workspace


@pytest.fixture
def settings_path(tmp_path: Path) -> Path:
    return tmp_path / "settings.ini"


@pytest.fixture
def app_state(qapp, settings_path: Path):  # noqa: ANN001, ANN201
    """An AppState on an isolated INI settings file, with the theme applied."""
    from PySide6.QtCore import QSettings

    from metarec_gui.state import AppState
    from metarec_gui.theme import theme

    theme().apply()
    return AppState(QSettings(str(settings_path), QSettings.Format.IniFormat))


@pytest.fixture(scope="session")
def small_dataset():  # noqa: ANN201
    """A small synthetic dataset (fast to split and train on)."""
    from core.data import SyntheticConfig, make_synthetic

    return make_synthetic(SyntheticConfig(n_users=120, n_items=150, seed=3))


@pytest.fixture(autouse=True)
def no_leftover_threads(request: pytest.FixtureRequest):  # noqa: ANN201
    """Fail a GUI test that leaves a worker thread running (it would crash at teardown)."""
    yield
    if "qapp" not in request.fixturenames and "qtbot" not in request.fixturenames:
        return
    from metarec_gui.workers import running_jobs, shutdown_jobs

    left = [job.name for job in running_jobs()]
    shutdown_jobs(10000)
    assert not left, f"worker threads still running after the test: {left}"


@pytest.fixture
def dialogs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Capture message boxes instead of showing them: (title, text) per dialog."""
    from PySide6.QtWidgets import QMessageBox

    shown: list[tuple[str, str]] = []

    def fake_exec(box: QMessageBox) -> int:
        shown.append((box.windowTitle(), box.text()))
        return int(QMessageBox.StandardButton.Ok)

    monkeypatch.setattr(QMessageBox, "exec", fake_exec)
    return shown

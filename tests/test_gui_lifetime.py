"""The app and its training child live and die together (issue 11 item 3): SIGTERM to the app
stops training cleanly (run written as cancelled) and exits; SIGKILL to the app makes the child
stop by itself within seconds instead of training on as an orphan."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.runs import Run

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = r"""
import json, sys
from PySide6.QtCore import QSettings, QTimer
from core.data import SyntheticConfig, make_synthetic
from metarec_gui.app import MainWindow, create_app, install_terminate_handler
from metarec_gui.state import AppState

app = create_app([])
state = AppState(QSettings(sys.argv[1], QSettings.Format.IniFormat))
window = MainWindow(state, autoload=False)
state.set_dataset(make_synthetic(SyntheticConfig(n_users=120, n_items=150, seed=3)), "synthetic")
window.show()
install_terminate_handler(window)

def go():
    train = window.page("train")
    train.set_algorithm("maml")
    train.train_form.set_values({"epochs": 5000, "meta_batch_size": 16, "final_test": False})
    train.start()
    def first(_events):
        if not getattr(first, "sent", False):
            first.sent = True
            print(json.dumps({"run": train.run_key, "child": train.job.worker.process.pid}), flush=True)
    train.job.steps.connect(first)

QTimer.singleShot(0, go)
sys.exit(app.exec())
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in state  # a zombie has stopped


@pytest.fixture
def app_with_training(tmp_path):  # noqa: ANN201
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "METAREC_WORKSPACE": str(tmp_path / "ws"),
           "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(tmp_path / "s.ini")], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        pytest.fail("the app did not start training: " + proc.stderr.read()[-3000:])
    info = json.loads(line)
    yield proc, info
    if proc.poll() is None:
        proc.kill()
    if _alive(info["child"]):
        os.kill(info["child"], signal.SIGKILL)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="signals and /proc")
def test_sigterm_stops_training_cleanly_and_exits(app_with_training) -> None:
    proc, info = app_with_training
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 10
    while _alive(info["child"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(info["child"])
    assert Run.open(info["run"]).status == "cancelled"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="signals and /proc")
def test_sigkill_of_the_app_does_not_orphan_the_training_child(app_with_training) -> None:
    proc, info = app_with_training
    proc.kill()
    proc.wait(timeout=10)
    deadline = time.monotonic() + 15
    while _alive(info["child"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(info["child"]), "the training child outlived the app"
    assert Run.open(info["run"]).status == "cancelled"  # it stopped as after Stop, run complete

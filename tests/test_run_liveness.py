"""Issue 11 items 1-2: a killed or interrupted run never stays 'running'; stale temp files go.

The "other process" is a real child: it trains and prints one line per meta-step; the test
kills it (SIGKILL / SIGINT / SIGTERM) once it has trained a few steps. No sleeps, no timing
asserts: the child's stdout says when it is training; a stale heartbeat is simulated by setting
file times into the past.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.runs import (
    STALE_AFTER_S,
    MetricsTail,
    Run,
    atomic_write_json,
    list_runs,
)

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import sys
from core.data.loading import load_dataset
from core.split import make_split
from core.training import StepEvent, Trainer

dataset = load_dataset("synthetic:n_users=120,n_items=100,seed=5")
split = make_split(dataset)

def on_event(event):
    if isinstance(event, StepEvent):
        print("step", event.step, flush=True)

Trainer("fomaml", dataset, split, run_dir=sys.argv[1], callback=on_event,
        train={"epochs": 10000, "meta_batch_size": 8, "final_test": False}).run()
print("returned", flush=True)
"""


def _start_child(run_dir: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-c", CHILD, str(run_dir)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_steps(child: subprocess.Popen, n: int) -> None:
    for line in child.stdout:
        if line.startswith("step") and int(line.split()[1]) >= n:
            return
    child.wait()
    raise AssertionError(f"child ended before step {n}: {child.stderr.read()[-3000:]}")


def _wait_for_rows(child: subprocess.Popen, run_dir: Path) -> None:
    """Read the child's step lines until metrics.csv holds a step row (flushed every 0.5 s)."""
    for line in child.stdout:
        if line.startswith("step") and "\nstep," in (run_dir / "metrics.csv").read_text():
            return
    child.wait()
    raise AssertionError(f"child ended before writing metrics: {child.stderr.read()[-3000:]}")


def _age(run: Run, seconds: float) -> None:
    """Pretend the writer last wrote ``seconds`` ago."""
    past = time.time() - seconds
    for name in ("metrics.csv", "config.json", "weights.pt"):
        if (run.path / name).exists():
            os.utime(run.path / name, (past, past))


def test_kill_9_leaves_a_run_every_reader_shows_as_interrupted(tmp_path):
    run_dir = tmp_path / "runs" / "killed"
    child = _start_child(run_dir)
    try:
        _wait_for_rows(child, run_dir)
        run = Run.open(run_dir)
        assert run.status == "running" and run.liveness().pid == child.pid  # alive: running
        child.kill()
        child.wait()
    finally:
        child.kill()
        child.wait()
    run = Run.open(run_dir)
    assert run.recorded_status == "running"  # nobody wrote a summary ...
    live = run.liveness()
    assert run.status == "interrupted" and live.state == "interrupted"  # ... but readers know
    assert str(child.pid) in live.reason and "gone" in live.reason
    [listed] = list_runs(tmp_path / "runs")
    assert listed.status == "interrupted" and listed.broken is None
    tail = MetricsTail(run)
    frame = tail.poll()
    assert (frame["kind"] == "step").sum() >= 1 and tail.skipped_lines == 0


def test_ctrl_c_writes_a_cancelled_summary_with_last_good_weights(tmp_path):
    run_dir = tmp_path / "interrupted"
    child = _start_child(run_dir)
    try:
        _wait_for_steps(child, 3)
        child.send_signal(signal.SIGINT)
        _out, err = child.communicate(timeout=120)
    finally:
        child.kill()
    assert child.returncode != 0 and "returned" not in _out  # KeyboardInterrupt propagated
    run = Run.open(run_dir)
    summary = run.summary
    assert summary is not None, err[-3000:]
    assert run.status == "cancelled" and summary["interrupted_by"].startswith("Ctrl-C")
    assert summary["steps"] >= 3
    state = run.load_weights()  # checksum and finiteness checked
    assert state and summary["weights_sha256"] == run.weights_sha256()


def test_sigterm_writes_a_cancelled_summary_and_exits_143(tmp_path):
    run_dir = tmp_path / "terminated"
    child = _start_child(run_dir)
    try:
        _wait_for_steps(child, 2)
        child.send_signal(signal.SIGTERM)
        child.communicate(timeout=120)
    finally:
        child.kill()
    assert child.returncode == 143
    run = Run.open(run_dir)
    assert run.status == "cancelled" and run.summary["interrupted_by"] == "SIGTERM"
    assert run.load_weights()


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _fake_running_run(folder: Path, writer: dict | None) -> Run:
    run = Run.create(folder, {"algorithm": "maml"})
    config = json.loads((folder / "config.json").read_text())
    if writer is None:
        config.pop("writer")
    else:
        config["writer"] = writer
    atomic_write_json(folder / "config.json", config)
    run.append_metrics([{"kind": "step", "step": 1, "epoch": 1, "loss": 0.5}])
    return run


def test_liveness_rules(tmp_path):
    host = socket.gethostname()
    # same host, dead pid: interrupted at once, however fresh the files
    dead = _fake_running_run(tmp_path / "dead", {"pid": _dead_pid(), "host": host})
    assert dead.status == "interrupted"
    # same host, this (live) process: running while the heartbeat is recent ...
    mine = _fake_running_run(tmp_path / "mine", {"pid": os.getpid(), "host": host})
    assert mine.status == "running"
    _age(mine, STALE_AFTER_S + 60)  # ... interrupted once silent for too long
    assert mine.status == "interrupted" and "last wrote" in mine.liveness().reason
    # same host, a live pid that is another process (pid reuse): start time differs
    reused = _fake_running_run(tmp_path / "reused", {"pid": os.getpid(), "host": host,
                                                      "proc_start": 1})
    if Path(f"/proc/{os.getpid()}/stat").exists():
        assert reused.status == "interrupted"
    # another host: only the heartbeat can tell
    remote = _fake_running_run(tmp_path / "remote", {"pid": 4242, "host": "elsewhere.example"})
    assert remote.status == "running"
    _age(remote, STALE_AFTER_S + 60)
    assert remote.status == "interrupted" and "elsewhere.example" in remote.liveness().reason
    # a run from before writer records: heartbeat only
    old = _fake_running_run(tmp_path / "old", None)
    assert old.status == "running"
    _age(old, STALE_AFTER_S + 60)
    assert old.status == "interrupted"
    # a finished run is finished whatever its writer
    dead.write_summary({"status": "finished"})
    assert dead.status == "finished" and dead.liveness().state == "finished"


def test_zombie_writer_counts_as_dead(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # exited, not yet reaped
    try:
        run = _fake_running_run(tmp_path / "z", {"pid": child.pid, "host": socket.gethostname()})
        if Path(f"/proc/{child.pid}/stat").exists():
            assert run.status == "interrupted"
    finally:
        child.wait()


def test_heartbeat_thread_touches_metrics(tmp_path):
    from core.runs import Heartbeat

    run = _fake_running_run(tmp_path / "h", {"pid": os.getpid(), "host": socket.gethostname()})
    _age(run, STALE_AFTER_S + 60)
    assert run.status == "interrupted"
    with Heartbeat(run, interval=0.01) as beat:
        deadline = time.monotonic() + 30
        while run.status != "running" and time.monotonic() < deadline:
            beat._stop.wait(0.01)
    assert run.status == "running"


def _tmp_name(target: str, pid: int, host: str | None = None) -> str:
    from core.runs.liveness import host_tag

    return f".{target}.p{pid}h{host_tag(host)}.abc123.tmp"


def test_stale_temp_files_are_removed_when_listed_or_reopened_for_writing(tmp_path):
    root = tmp_path / "runs"
    run = _fake_running_run(root / "r", {"pid": os.getpid(), "host": socket.gethostname()})
    dead_tmp = run.path / _tmp_name("weights.pt", _dead_pid())
    live_tmp = run.path / _tmp_name("weights.pt", os.getpid())  # this process is writing it
    remote_tmp = run.path / _tmp_name("summary.json", 1234, "other-host")
    old_remote_tmp = run.path / _tmp_name("config.json", 1234, "other-host")
    for f in (dead_tmp, live_tmp, remote_tmp, old_remote_tmp):
        f.write_bytes(b"partial")
    past = time.time() - STALE_AFTER_S - 60
    os.utime(old_remote_tmp, (past, past))
    list_runs(root)
    assert not dead_tmp.exists() and not old_remote_tmp.exists()
    assert live_tmp.exists() and remote_tmp.exists()

    # an untagged temp file (older versions) goes once the run's writer is gone
    legacy = run.path / ".weights.pt.k2j3h4.tmp"
    legacy.write_bytes(b"partial")
    list_runs(root)
    assert legacy.exists()  # the writer (this process) is alive
    _age(run, STALE_AFTER_S + 60)
    assert run.status == "interrupted"
    list_runs(root)
    assert not legacy.exists()

    # reopening for writing (overwrite) also cleans, and a real atomic write leaves nothing
    run.save_weights({"w": __import__("torch").ones(2)})
    (run.path / ".weights.pt.zz9.tmp").write_bytes(b"partial")
    _age(run, STALE_AFTER_S + 60)
    Run.create(run.path, {"algorithm": "maml"}, overwrite=True)
    left = {p for p in run.path.iterdir() if p.name.endswith(".tmp")}
    assert left == {live_tmp, remote_tmp}  # only those of live writers stay


def test_overwrite_refuses_a_live_run(tmp_path):
    run = _fake_running_run(tmp_path / "live", {"pid": os.getpid(), "host": socket.gethostname()})
    from core.runs import RunError

    with pytest.raises(RunError, match="still being written"):
        Run.create(run.path, {"algorithm": "maml"}, overwrite=True)

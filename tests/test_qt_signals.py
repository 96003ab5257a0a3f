"""Regression guard for PySide6 6.12 + Python 3.11, which aborts the interpreter after a few
hundred cross-thread emits (``Fatal Python error: bool_dealloc``). Thousands of queued signals
with bool, int, str and object payloads must reach a GUI-thread ``@Slot`` intact."""

from __future__ import annotations

from PySide6.QtCore import QObject, QThread, Signal, Slot

from metarec_gui.workers import FunctionJob, running_jobs

N = 5000


class Emitter(QObject):
    value = Signal(int, bool, str, object)
    done = Signal()

    @Slot()
    def run(self) -> None:
        for i in range(N):
            self.value.emit(i, i % 2 == 0, f"#{i}", {"i": i, "ok": True})
        self.done.emit()


class Receiver(QObject):
    """Lives on the GUI thread; relays the end as a GUI-thread signal for waitSignal."""

    finished = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[int] = []
        self.bad = 0

    @Slot(int, bool, str, object)
    def on_value(self, i: int, even: bool, text: str, payload: object) -> None:
        if even != (i % 2 == 0) or text != f"#{i}" or payload != {"i": i, "ok": True}:
            self.bad += 1
        self.seen.append(i)

    @Slot()
    def on_done(self) -> None:
        self.finished.emit()


def test_thousands_of_cross_thread_emits(qtbot) -> None:
    thread = QThread()
    emitter = Emitter()
    emitter.moveToThread(thread)
    receiver = Receiver()
    thread.started.connect(emitter.run)
    emitter.value.connect(receiver.on_value)
    emitter.done.connect(receiver.on_done)
    with qtbot.waitSignal(receiver.finished, timeout=30000):
        thread.start()
    thread.quit()
    assert thread.wait(5000)
    assert receiver.seen == list(range(N))
    assert receiver.bad == 0


def test_many_short_jobs_start_and_end_cleanly(qtbot) -> None:
    results: list[int] = []
    jobs = [FunctionJob(pow, i, 2, name=f"job{i}") for i in range(40)]
    for job in jobs:
        job.succeeded.connect(results.append)
        job.start()
    qtbot.waitUntil(lambda: len(results) == 40 and not running_jobs(), timeout=20000)
    assert sorted(results) == [i * i for i in range(40)]
    for job in jobs:
        job.deleteLater()


def test_a_failing_job_reports_its_exception(qtbot) -> None:
    job = FunctionJob(int, "not a number", name="bad")
    with qtbot.waitSignal(job.failed, timeout=5000) as blocker:
        job.start()
    assert isinstance(blocker.args[0], ValueError)
    assert "Traceback" in blocker.args[0].__traceback_text__
    qtbot.waitUntil(lambda: not job.is_running(), timeout=5000)

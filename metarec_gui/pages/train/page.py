"""Train page: the run's settings on the left (:class:`TrainForm`), Start / Pause / Stop, a
progress line that tells the truth, and live curves of every run of the session.

Training is ``core.training.Trainer`` in a child process (:class:`~metarec_gui.workers.TrainJob`);
its events update the progress and the :class:`~metarec_gui.widgets.loss_plot.LossPlot`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QUrl, Signal, Slot
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...state import AppState
from ...theme import run_color_index
from ...widgets.loss_plot import LossPlot
from ...workers import TrainJob
from .form import TrainForm
from .progress import ProgressText, html, result_html
from .watched import WatchedRuns, watch_key

__all__ = ["TrainPage", "run_folder", "watch_key"]


def run_folder(root: Path, algorithm: str) -> Path:
    """``root/<YYYYmmdd-HHMMSS>-<algorithm>``, with a suffix if that name is taken."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = root / f"{stamp}-{algorithm}"
    n = 2
    while path.exists():
        path = root / f"{stamp}-{algorithm}-{n}"
        n += 1
    return path


class TrainPage(QWidget):
    """Algorithm, hyperparameters, device; Start / Pause / Stop; progress and live curves."""

    runStarted = Signal(str)  # run folder
    runEnded = Signal(str, str)  # status ('finished' | 'cancelled' | 'failed'), run folder or ''

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.job: TrainJob | None = None
        self.run_key: str | None = None
        self._run_count = 0
        self._last_status = ""
        self._fitting = False
        self.form = TrainForm(state)
        self.algo_combo, self.preset_combo = self.form.algo_combo, self.form.preset_combo
        self.algo_form, self.train_form = self.form.algo_form, self.form.train_form
        self.device_combo = self.form.device_combo

        # ------------------------------------------------------------- actions + buttons
        self.start_action = QAction("&Start training", self)
        self.start_action.setShortcut(QKeySequence("F5"))
        self.start_action.triggered.connect(self.start)
        self.pause_action = QAction("&Pause", self, checkable=True)
        self.pause_action.setShortcut(QKeySequence("F6"))
        self.pause_action.toggled.connect(self._on_pause)
        self.stop_action = QAction("S&top", self)
        self.stop_action.setShortcut(QKeySequence("Shift+F5"))
        self.stop_action.triggered.connect(self.stop)
        self.start_button = QPushButton("Start")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start_action.trigger)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.pause_button.toggled.connect(self.pause_action.setChecked)
        self.pause_action.toggled.connect(self.pause_button.setChecked)
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.stop_action.trigger)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("%p %")
        self.progress_text = QLabel("Ready.")
        self.validation_text = QLabel()
        self.validation_text.setObjectName("muted")
        for label in (self.progress_text, self.validation_text):
            # Text changes many times a second: never let it re-layout (and repaint) the plot.
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
            label.setMinimumHeight(label.fontMetrics().height() + 2)
        self.watch_text = QLabel()  # runs followed live (File > Watch run…)
        self.watch_text.setObjectName("muted")
        self.watch_text.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.watch_text.setVisible(False)
        self.result_text = QLabel()
        self.result_text.setWordWrap(True)
        self.result_text.linkActivated.connect(lambda url: QDesktopServices.openUrl(QUrl(url)))
        clear = QToolButton(text="Clear plot")
        clear.setToolTip("Remove the curves of earlier runs of this session")
        clear.clicked.connect(self.clear_plot)
        controls = QGridLayout()
        controls.setHorizontalSpacing(8)
        for col, w in enumerate((self.start_button, self.pause_button, self.stop_button,
                                 self.progress, clear)):
            controls.addWidget(w, 0, col)
        controls.setColumnStretch(3, 1)
        controls.addWidget(self.progress_text, 1, 0, 1, 5)
        controls.addWidget(self.validation_text, 2, 0, 1, 5)
        controls.addWidget(self.watch_text, 3, 0, 1, 5)

        self.plot = LossPlot(color_index_of=run_color_index)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(6, 0, 0, 0)
        rl.addLayout(controls)
        rl.addWidget(self.plot, 1)
        rl.addWidget(self.result_text)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.addWidget(self.form)
        layout.addWidget(right, 1)

        self.text = ProgressText()
        self.form.algorithmChanged.connect(self._on_algorithm)
        self._on_algorithm(self.form.algorithm())
        self._set_running(False)
        state.datasetChanged.connect(self._update_start_enabled)
        self._update_start_enabled()
        self.watched = WatchedRuns(state, self.plot, self.watch_text, self)

    # ------------------------------------------------------------------ public
    def training_actions(self) -> list[QAction]:
        """Start / Pause / Stop with their shortcuts (the window's Training menu lists them)."""
        return [self.start_action, self.pause_action, self.stop_action]

    def algorithm(self) -> str:
        return self.form.algorithm()

    def algorithm_class(self) -> type:
        return self.form.algorithm_class()

    def set_algorithm(self, name: str) -> None:
        self.form.set_algorithm(name)

    def reset_settings(self) -> None:
        self.form.reset_settings()

    def is_training(self) -> bool:
        return self.job is not None

    @Slot(str)
    def _on_algorithm(self, _name: str) -> None:
        cls = self.form.algorithm_class()
        verb = "Start" if cls.trainable else "Fit"
        self.start_button.setText(verb)
        self.start_action.setText(f"&{verb} {cls.title}")
        self._update_tooltips()

    def _update_tooltips(self) -> None:
        cls = self.form.algorithm_class()
        ready = self.state.dataset is not None
        start = (f"{'Train' if cls.trainable else 'Fit'} {cls.title} on the loaded dataset (F5)"
                 if ready else "Load a dataset on the Data page first")
        pause = ("Pause / resume meta-training (F6)" if cls.trainable
                 else "A closed-form fit cannot be paused")
        if self._fitting:
            pause = "Fitting: pausing becomes possible when meta-training starts"
        for w in (self.start_button, self.start_action):
            w.setToolTip(start)
        for w in (self.pause_button, self.pause_action):
            w.setToolTip(pause)
        for w in (self.stop_button, self.stop_action):
            w.setToolTip("Stop: the run keeps everything up to the last step, status "
                         "'cancelled' (Shift+F5)")

    @Slot()
    def _update_start_enabled(self, *_: Any) -> None:
        ready = self.state.dataset is not None and self.job is None
        self.start_button.setEnabled(ready)
        self.start_action.setEnabled(ready)
        self._update_tooltips()

    # ------------------------------------------------------------------ training
    @Slot()
    def start(self) -> None:
        """Start training the selected algorithm on the current dataset and split."""
        if self.job is not None:
            return
        if self.state.dataset is None or self.state.split is None:
            QMessageBox.information(self, "No dataset", "Load a dataset on the Data page first.")
            return
        cls = self.algorithm_class()
        run_dir = run_folder(self.state.runs_dir(), cls.name)
        train = {**self.train_form.values(), "device": self.state.device}
        self._run_count += 1
        self.run_key = str(run_dir)
        self.text.start(cls.title, int(train["epochs"]), cls.trainable)
        self.plot.add_run(self.run_key, f"{cls.title} #{self._run_count} · {run_dir.name}")
        self.job = TrainJob(cls.name, self.state.dataset, self.state.split,
                            algo_overrides=self.algo_form.values(), train=train,
                            run_dir=run_dir, dataset_spec=self.state.dataset_spec_dict,
                            parent=self)
        self.job.steps.connect(self._on_steps)
        self.job.epoch.connect(self._on_epoch)
        self.job.log.connect(self._on_log)  # a bound slot: a lambda holding the page, freed
        # with the job inside Qt's event processing, could delete the page there (heap crash)
        self.job.finished.connect(self._on_finished)
        self.job.failed.connect(self._on_failed)
        self.job.ended.connect(self._on_ended)
        self._last_status = ""
        self._run_dir_done = ""
        self._fitting = True
        self.progress.setRange(0, 0)
        self.progress.setFormat("%p %")
        self.progress_text.setText(f"{'Fitting' if not cls.trainable else 'Starting'} {cls.title} "
                                   f"on {self.state.dataset.name} ({self.state.device})…")
        self.validation_text.setText("")
        self.result_text.setText("")
        self._set_running(True)
        self.state.begin_job("train", f"Training {cls.title}")
        self.state.log(f"training {cls.title} → {run_dir}")
        self.job.start()
        self.runStarted.emit(str(run_dir))

    @Slot()
    def stop(self) -> None:
        """Cancel: the trainer stops within one meta-step and writes a consistent run."""
        if self.job is None:
            return
        self.job.stop()
        for w in (self.stop_button, self.stop_action, self.pause_button, self.pause_action):
            w.setEnabled(False)
        self.progress_text.setText("Stopping…")

    @Slot(bool)
    def _on_pause(self, paused: bool) -> None:
        if self.job is None or paused == self.job.paused:
            return
        if paused:
            self.job.pause()
            self.pause_button.setText("Resume")
            self.progress_text.setText(self.progress_text.text() + "  — paused")
            self.state.update_job("train", "Training paused")
        else:
            self.job.resume()
            self.pause_button.setText("Pause")
            self.state.update_job("train", f"Training {self.algorithm_class().title}")

    def _set_running(self, running: bool) -> None:
        for w in (self.pause_button, self.pause_action):
            w.blockSignals(True)
            w.setChecked(False)
            w.blockSignals(False)
        self.pause_button.setText("Pause")
        # pause only once meta-training runs: not while fitting, never for closed-form fits
        can_pause = running and not self._fitting and self.algorithm_class().trainable
        self.pause_button.setEnabled(can_pause)
        self.pause_action.setEnabled(can_pause)
        self.stop_button.setEnabled(running)
        self.stop_action.setEnabled(running)
        self.form.set_locked(running)
        self._update_start_enabled()

    @Slot(object)
    def _on_steps(self, events: list) -> None:
        if self.run_key is None or not events:
            return
        if self._fitting:  # the first meta-step: fitting is over, pausing makes sense now
            self._fitting = False
            self._set_running(True)
        self.plot.append_steps(self.run_key, [e.step for e in events], [e.loss for e in events],
                               [e.elapsed for e in events])
        last = events[-1]
        total = max(1, last.total_steps)
        if self.progress.maximum() != total:
            self.progress.setRange(0, total)
        self.progress.setValue(last.step)
        text = self.text.steps(events)
        if self.job is not None and self.job.paused:
            text += "  — paused"
        self.progress_text.setText(text)
        self.state.update_job("train", None, last.step, total)

    @Slot(object)
    def _on_epoch(self, event: Any) -> None:
        if self.run_key is None:
            return
        metrics = {k: [v] for k, v in event.metrics.items()}
        self.plot.append_epochs(self.run_key, [event.step], metrics, [event.elapsed])
        line = self.text.epoch(event)
        self.validation_text.setText(line)
        self.state.log(line)

    @Slot(str, str)
    def _on_log(self, level: str, text: str) -> None:
        self.state.log(text, level)

    @Slot(object)
    def _on_finished(self, event: Any) -> None:
        self._last_status = event.status
        self._run_dir_done = event.run_dir or ""
        self.result_text.setText(result_html(event))
        cls = self.algorithm_class()
        self.progress_text.setText(self.text.finished(event, cls.trainable))
        if event.status == "cancelled":
            self.progress.setFormat("cancelled")
            if self.progress.maximum() == 0:
                self.progress.setRange(0, 1)
        else:  # finished, early stop included: the bar is full
            self.progress.setRange(0, 1)
            self.progress.setValue(1)
            self.progress.setFormat("fitted" if not cls.trainable else "done")
        title = (event.summary or {}).get("title", "")
        self.state.log(f"{title} {event.status}: {event.run_dir or ''}")

    @Slot(object)
    def _on_failed(self, event: Any) -> None:
        self._last_status = "failed"
        self._run_dir_done = event.run_dir or ""
        self.progress_text.setText("Failed.")
        self.progress.setFormat("failed")
        from ...theme import theme

        color = theme().level_color("error")
        self.result_text.setText(f"<span style='color:{color}'>Training failed: "
                                 f"{html(event.message)}</span>")
        self.state.log(f"training failed: {event.message}", "error")
        if not getattr(self.window(), "_terminating", False):
            QMessageBox.warning(self, "Training failed", event.message)

    @Slot()
    def _on_ended(self) -> None:
        job, self.job = self.job, None
        if job is not None:
            job.deleteLater()
        self.plot.flush()
        if self.progress.maximum() == 0:
            self.progress.setRange(0, 1)
        status = self._last_status or "failed"
        run_dir = self._run_dir_done
        self._fitting = False
        self._set_running(False)
        self.state.end_job("train")
        if run_dir:
            self.state.add_session_run(Path(run_dir))
            if status in ("finished", "cancelled"):
                self.state.runFinished.emit(run_dir)
        self.runEnded.emit(status, run_dir)

    @Slot()
    def clear_plot(self) -> None:
        """Remove every curve except the running one and those of runs still being watched."""
        watched = {watch_key(w.key) for w in self.state.watcher.watches() if w.polling}
        for key in self.plot.runs():
            if (key != self.run_key or self.job is None) and key not in watched:
                self.plot.remove_run(key)

    def shutdown(self) -> None:
        """Window close while training: stop (the window waits for ``runEnded``)."""
        self.stop()



"""Train page: pick an algorithm, set its hyperparameters and the outer loop, train in the background.

The forms are generated from ``Algorithm.Config.field_specs()`` and ``TrainConfig.field_specs()``;
training is ``core.training.Trainer(...).run()`` in a :class:`~metarec_gui.workers.TrainJob`, whose
events update the progress line and the live :class:`~metarec_gui.widgets.loss_plot.LossPlot`.
Every run of the session stays overlaid in the plot.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices, QStandardItemModel
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.algorithms import ALGORITHMS, preset_overrides
from core.training import TrainConfig

from ..state import AppState
from ..theme import theme
from ..widgets.config_form import ConfigForm
from ..widgets.loss_plot import LossPlot
from ..workers import FunctionJob, TrainJob

FAMILIES = (("meta", "Meta-learning"), ("metric", "Metric-based"), ("baseline", "Baselines"))
NO_PRESET = "(defaults)"


def run_folder(root: Path, algorithm: str) -> Path:
    """``root/<YYYYmmdd-HHMMSS>-<algorithm>``, with a suffix if that name is taken."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = root / f"{stamp}-{algorithm}"
    n = 2
    while path.exists():
        path = root / f"{stamp}-{algorithm}-{n}"
        n += 1
    return path


def _fmt_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


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
        self._best: tuple[float, int] | None = None

        # ------------------------------------------------------------- algorithm
        self.algo_combo = QComboBox()
        model = QStandardItemModel(self.algo_combo)
        self.algo_combo.setModel(model)
        for family, heading in FAMILIES:
            members = [c for c in ALGORITHMS.values() if c.family == family]
            if not members:
                continue
            self.algo_combo.addItem(heading)
            model.item(self.algo_combo.count() - 1).setEnabled(False)
            for cls in members:
                self.algo_combo.addItem(f"   {cls.title}", cls.name)
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.description.setObjectName("muted")
        self.preset_combo = QComboBox()
        self.preset_combo.setToolTip("Published or suggested settings for this algorithm")
        self.preset_combo.activated.connect(self._on_preset)
        reset = QToolButton(text="Reset")
        reset.setToolTip("All settings back to this algorithm's defaults")
        reset.clicked.connect(self.reset_settings)
        algo_box = QGroupBox("Algorithm")
        al = QVBoxLayout(algo_box)
        al.addWidget(self.algo_combo)
        al.addWidget(self.description)
        row = QHBoxLayout()
        row.addWidget(QLabel("Preset"))
        row.addWidget(self.preset_combo, 1)
        row.addWidget(reset)
        al.addLayout(row)

        self.algo_form = ConfigForm()
        hyper_box = QGroupBox("Hyperparameters")
        QVBoxLayout(hyper_box).addWidget(self.algo_form)

        self.train_specs = [s for s in TrainConfig.field_specs() if s["name"] != "device"]
        self.train_form = ConfigForm(self.train_specs)
        self.device_combo = QComboBox()
        self.device_combo.setToolTip("Where tensors live; devices this machine lacks are disabled")
        self.device_combo.addItem(state.device, state.device)
        self.device_combo.currentIndexChanged.connect(self._on_device)
        train_box = QGroupBox("Outer loop")
        tl = QVBoxLayout(train_box)
        tl.addWidget(self.train_form)
        dev_row = QHBoxLayout()
        dev_row.addWidget(QLabel("Device"))
        dev_row.addWidget(self.device_combo, 1)
        tl.addLayout(dev_row)

        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 6, 0)
        ll.addWidget(algo_box)
        ll.addWidget(hyper_box)
        ll.addWidget(train_box)
        ll.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setMinimumWidth(360)
        scroll.setMaximumWidth(420)

        # ------------------------------------------------------------- controls + progress
        self.start_button = QPushButton("Start")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.pause_button.toggled.connect(self._on_pause)
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.stop)
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
        self.result_text.setOpenExternalLinks(False)
        self.result_text.linkActivated.connect(self._open_link)
        clear = QToolButton(text="Clear plot")
        clear.setToolTip("Remove the curves of earlier runs of this session")
        clear.clicked.connect(self.clear_plot)

        controls = QGridLayout()
        controls.setHorizontalSpacing(8)
        controls.addWidget(self.start_button, 0, 0)
        controls.addWidget(self.pause_button, 0, 1)
        controls.addWidget(self.stop_button, 0, 2)
        controls.addWidget(self.progress, 0, 3)
        controls.addWidget(clear, 0, 4)
        controls.setColumnStretch(3, 1)
        controls.addWidget(self.progress_text, 1, 0, 1, 5)
        controls.addWidget(self.validation_text, 2, 0, 1, 5)
        controls.addWidget(self.watch_text, 3, 0, 1, 5)

        self.plot = LossPlot()
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(6, 0, 0, 0)
        rl.addLayout(controls)
        rl.addWidget(self.plot, 1)
        rl.addWidget(self.result_text)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.addWidget(scroll)
        layout.addWidget(right, 1)

        self.algo_combo.currentIndexChanged.connect(self._on_algorithm)
        self.algo_form.changed.connect(self._save_settings)
        self.train_form.changed.connect(self._save_settings)
        self._select_algorithm(str(state.settings.value("train/algorithm", "maml")))
        self._set_running(False)
        state.datasetChanged.connect(self._update_start_enabled)
        self._update_start_enabled()
        watcher = state.watcher  # runs followed live (File > Watch run…): curves here too
        watcher.watchStarted.connect(self._on_watch_started)
        watcher.rowsArrived.connect(self._on_watch_rows)
        watcher.rowsReset.connect(self._on_watch_reset)
        watcher.labelChanged.connect(self._on_watch_label)
        watcher.changed.connect(self._on_watch_changed)
        for watch in watcher.watches():
            self._on_watch_started(watch.key)
        self._on_watch_changed()
        self._devices_job = FunctionJob(_list_devices, name="devices", parent=self)
        self._devices_job.succeeded.connect(self._on_devices)
        self._devices_job.failed.connect(
            lambda exc: state.log(f"could not list devices: {exc}", "warning"))
        self._devices_job.start()

    # ------------------------------------------------------------------ algorithm + settings
    def algorithm(self) -> str:
        return str(self.algo_combo.currentData())

    def algorithm_class(self) -> type:
        return ALGORITHMS[self.algorithm()]

    def _select_algorithm(self, name: str) -> None:
        index = self.algo_combo.findData(name if name in ALGORITHMS else "maml")
        if index < 0:
            index = next(i for i in range(self.algo_combo.count()) if self.algo_combo.itemData(i))
        if index == self.algo_combo.currentIndex():
            self._on_algorithm(index)
        else:
            self.algo_combo.setCurrentIndex(index)

    def set_algorithm(self, name: str) -> None:
        if name not in ALGORITHMS:
            raise KeyError(f"unknown algorithm '{name}'")
        self._select_algorithm(name)

    @Slot(int)
    def _on_algorithm(self, _index: int) -> None:
        cls = self.algorithm_class()
        self._loading_settings = True
        self.description.setText(cls.description + ("" if cls.trainable else
                                 " Closed-form: fitting is all the training there is."))
        self.preset_combo.clear()
        self.preset_combo.addItem(NO_PRESET)
        self.preset_combo.addItems(list(cls.presets))
        self.preset_combo.setEnabled(bool(cls.presets))
        self.algo_form.set_specs(cls.Config.field_specs())
        self.train_form.set_defaults(self._train_defaults(cls))
        self.train_form.reset()
        saved = self._saved(f"train/hparams/{cls.name}")
        if saved:
            self._apply_saved(self.algo_form, saved)
        saved = self._saved(f"train/outer/{cls.name}")
        if saved:
            self._apply_saved(self.train_form, saved)
        for spec in self.train_specs:
            if spec["name"] not in ("final_test", "seed"):
                self.train_form.editor(spec["name"]).setEnabled(cls.trainable)
        self.start_button.setText("Start" if cls.trainable else "Fit")
        self._loading_settings = False
        self.state.settings.setValue("train/algorithm", cls.name)

    def _train_defaults(self, cls: type) -> dict[str, Any]:
        base = {s["name"]: s["default"] for s in self.train_specs}
        return {**base, **{k: v for k, v in cls.train_defaults.items() if k in base}}

    def _saved(self, key: str) -> dict[str, Any]:
        raw = self.state.settings.value(key)
        if not raw:
            return {}
        try:
            value = json.loads(str(raw))
        except json.JSONDecodeError:
            self.state.log(f"ignored unreadable saved settings '{key}'", "warning")
            return {}
        return value if isinstance(value, dict) else {}

    def _apply_saved(self, form: ConfigForm, values: dict[str, Any]) -> None:
        unknown = form.set_values(values)
        if unknown:
            self.state.log("ignored saved settings that no longer exist: " + ", ".join(unknown),
                           "warning")

    @Slot()
    def _save_settings(self) -> None:
        if getattr(self, "_loading_settings", False):
            return
        name = self.algorithm()
        self.state.settings.setValue(f"train/hparams/{name}", json.dumps(self.algo_form.values()))
        self.state.settings.setValue(f"train/outer/{name}", json.dumps(self.train_form.values()))

    @Slot()
    def reset_settings(self) -> None:
        self.preset_combo.setCurrentIndex(0)
        self.algo_form.reset()
        self.train_form.reset()

    @Slot(int)
    def _on_preset(self, index: int) -> None:
        name = self.preset_combo.itemText(index)
        self.algo_form.reset()
        self.train_form.reset()
        if name == NO_PRESET:
            return
        algo, train = preset_overrides(self.algorithm(), name)
        self.algo_form.set_values(algo)
        self.train_form.set_values(train)
        self.state.log(f"{self.algorithm_class().title}: preset '{name}' applied")

    # ------------------------------------------------------------------ devices
    @Slot(object)
    def _on_devices(self, devices: list) -> None:
        """Fill the device list: available devices, plus absent kinds shown disabled."""
        current = self.state.device
        self.device_combo.blockSignals(True)
        self.device_combo.clear()
        model = self.device_combo.model()
        names = [d.name for d in devices]
        for d in devices:
            self.device_combo.addItem(f"{d.name} — {d.label}", d.name)
            model.item(self.device_combo.count() - 1).setEnabled(bool(d.available))
        for name, label in (("cuda", "CUDA GPU: none found"), ("mps", "Apple GPU (mps): none found")):
            if not any(n.startswith(name) for n in names):
                self.device_combo.addItem(f"{name} — {label}", name)
                model.item(self.device_combo.count() - 1).setEnabled(False)
        index = self.device_combo.findData(current)
        if index < 0 or not model.item(index).isEnabled():
            if current != "cpu":
                self.state.log(f"device '{current}' is not available here; using cpu", "warning")
            index = self.device_combo.findData("cpu")
        self.device_combo.setCurrentIndex(index)
        self.device_combo.blockSignals(False)
        if self.device_combo.currentData() != current:
            self.state.set_device(self.device_combo.currentData())

    @Slot(int)
    def _on_device(self, _index: int) -> None:
        device = self.device_combo.currentData()
        if device and device != self.state.device:
            self.state.set_device(device)

    # ------------------------------------------------------------------ training
    def is_training(self) -> bool:
        return self.job is not None

    @Slot()
    def _update_start_enabled(self, *_: Any) -> None:
        ready = self.state.dataset is not None and self.job is None
        self.start_button.setEnabled(ready)
        self.start_button.setToolTip("" if self.state.dataset is not None
                                     else "Load a dataset on the Data page first")

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
        self._epochs = int(train["epochs"])
        self._run_count += 1
        self.run_key = str(run_dir)
        self._best = None
        self._t_start = time.perf_counter()
        self.plot.add_run(self.run_key, f"{cls.title} #{self._run_count}")
        self.job = TrainJob(cls.name, self.state.dataset, self.state.split,
                            algo_overrides=self.algo_form.values(), train=train,
                            run_dir=run_dir, dataset_spec=self.state.dataset_spec_dict,
                            parent=self)
        self.job.steps.connect(self._on_steps)
        self.job.epoch.connect(self._on_epoch)
        self.job.log.connect(self._on_log)
        self.job.finished.connect(self._on_finished)
        self.job.failed.connect(self._on_failed)
        self.job.ended.connect(self._on_ended)
        self._last_status = ""
        self._run_dir_done = ""
        self.progress.setRange(0, 0)
        self.progress_text.setText(f"Starting {cls.title} on {self.state.dataset.name} "
                                   f"({self.state.device})…")
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
        self.stop_button.setEnabled(False)
        self.pause_button.setEnabled(False)
        self.progress_text.setText("Stopping…")

    @Slot(bool)
    def _on_pause(self, paused: bool) -> None:
        if self.job is None:
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
        self.pause_button.blockSignals(True)
        self.pause_button.setChecked(False)
        self.pause_button.setText("Pause")
        self.pause_button.blockSignals(False)
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        for w in (self.algo_combo, self.preset_combo, self.algo_form, self.train_form,
                  self.device_combo):
            w.setEnabled(not running)
        if not running:
            self.preset_combo.setEnabled(bool(self.algorithm_class().presets))
        self._update_start_enabled()

    @Slot(object)
    def _on_steps(self, events: list) -> None:
        if self.run_key is None or not events:
            return
        self.plot.append_steps(self.run_key, [e.step for e in events], [e.loss for e in events],
                               [e.elapsed for e in events])
        last = events[-1]
        total = max(1, last.total_steps)
        if self.progress.maximum() != total:
            self.progress.setRange(0, total)
        self.progress.setValue(last.step)
        tps = sum(e.tasks_per_s for e in events) / len(events)
        eta = last.elapsed / last.step * (total - last.step) if last.step else 0.0
        text = (f"Epoch {last.epoch}/{self._epochs} · step {last.step:,}/{total:,} · "
                f"{tps:,.0f} tasks/s · elapsed {_fmt_duration(last.elapsed)} · "
                f"ETA {_fmt_duration(eta)}")
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
        mae = event.metrics.get("val_mae")
        if mae is not None and (self._best is None or mae < self._best[0]):
            self._best = (mae, event.epoch)
        parts = [f"{label} {event.metrics[k]:.4f}" for k, label in
                 (("val_mae", "MAE"), ("val_rmse", "RMSE"), ("val_ndcg3", "nDCG@3"))
                 if k in event.metrics]
        best = f"  (best MAE {self._best[0]:.4f} at epoch {self._best[1]})" if self._best else ""
        self.validation_text.setText(f"Validation after epoch {event.epoch}: "
                                     + ", ".join(parts) + best)
        self.state.log(f"epoch {event.epoch}: " + ", ".join(parts))

    @Slot(str, str)
    def _on_log(self, level: str, text: str) -> None:
        self.state.log(text, level)

    @Slot(object)
    def _on_finished(self, event: Any) -> None:
        self._last_status = event.status
        self._run_dir_done = event.run_dir or ""
        s = event.summary
        words = [f"<b>{s.get('title', '')}</b> {event.status} after {s.get('steps', 0):,} steps "
                 f"in {_fmt_duration(s.get('wall_time') or 0)}"]
        test = s.get("test") or {}
        if test:
            cells = ", ".join(f"K={k}: MAE {m['mae']:.3f}, nDCG@3 {m['ndcg3']:.3f}"
                              for k, m in test.items())
            words.append(f"Test (cold users): {cells}")
        if event.run_dir:
            words.append(f"<a href='{QUrl.fromLocalFile(event.run_dir).toString()}'>"
                         f"{Path(event.run_dir).name}</a>")
        self.result_text.setText(" · ".join(words))
        self.progress_text.setText(f"{event.status.capitalize()}.")
        self.state.log(f"{s.get('title', '')} {event.status}: {event.run_dir or ''}")

    @Slot(object)
    def _on_failed(self, event: Any) -> None:
        self._last_status = "failed"
        self._run_dir_done = event.run_dir or ""
        self.progress_text.setText("Failed.")
        color = theme().level_color("error")
        self.result_text.setText(f"<span style='color:{color}'>Training failed: "
                                 f"{_html(event.message)}</span>")
        self.state.log(f"training failed: {event.message}", "error")
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

    # ------------------------------------------------------------------ watched runs
    @Slot(str)
    def _on_watch_started(self, path: str) -> None:
        watch = self.state.watcher.get(path)
        if watch is not None:
            watch.data().show(self.plot, watch_key(path), watch.label)

    @Slot(str, object)
    def _on_watch_rows(self, path: str, chunk: Any) -> None:
        key = watch_key(path)
        if self.plot.has_run(key):
            chunk.feed(self.plot, key)

    @Slot(str)
    def _on_watch_reset(self, path: str) -> None:
        self._on_watch_started(path)  # the rows shown so far: none

    @Slot()
    def _on_watch_changed(self) -> None:
        watches = self.state.watcher.watches()
        self.watch_text.setVisible(bool(watches))
        self.watch_text.setText("   ·   ".join(w.describe() for w in watches))

    @Slot(str, str)
    def _on_watch_label(self, path: str, label: str) -> None:
        key = watch_key(path)
        if self.plot.has_run(key):
            self.plot.set_label(key, label)

    @Slot(str)
    def _open_link(self, url: str) -> None:
        QDesktopServices.openUrl(QUrl(url))


def watch_key(path: str) -> str:
    """The loss-plot key of a watched run (apart from this page's own runs, keyed by folder)."""
    return f"watch:{path}"


def _list_devices() -> list:
    from core.devices import available_devices

    return available_devices()


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

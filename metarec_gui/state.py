"""Application state shared by the pages: the loaded dataset, its split, the workspace, runs.

Lives on the GUI thread. Pages read it and listen to its signals; they never talk to each other
directly, so each page stays a thin translation between the user and ``core`` calls.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal

from core.paths import default_workspace

from .settings import Settings


class AppState(QObject):
    """Dataset, split, workspace and runs of this session, with change signals."""

    datasetChanged = Signal(object)  # RatingsDataset
    splitChanged = Signal(object)  # ColdStartSplit
    runsChanged = Signal()  # a run was added, finished or deleted in the workspace
    runFinished = Signal(str)  # path of a run that just finished (this session)
    runWeightsChanged = Signal(str)  # path of a watched run whose weights.pt appeared or changed
    logMessage = Signal(str, str)  # level ('info' | 'warning' | 'error'), text
    jobChanged = Signal(str)  # description of the running job, '' when idle
    deviceChanged = Signal(str)
    jobProgress = Signal(int, int)  # done, total of the shown job (total 0 = busy, no count)
    profileChanged = Signal()  # the Cold-start page's current user changed (ratings, save, load)
    splitFailed = Signal(str)  # a split computed in the background was refused (message)

    def __init__(self, settings: QSettings | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.prefs = Settings(settings)
        self.settings = self.prefs.qsettings  # the raw store (prefer ``prefs``)
        self.dataset = None
        self.dataset_spec: str | None = None
        self.dataset_spec_dict: dict | None = None  # core.data.DatasetSpec.to_dict(), for run configs
        self.split = None
        self.split_config = None
        self.device = self.prefs.device
        self.session_runs: list[Path] = []
        self._workspace = Path(self.prefs.workspace or default_workspace())
        self._profile_source = None  # () -> core.profiles.Profile | None (the Cold-start page)
        self._split_job = None
        self._jobs: dict[str, tuple[str, int, int]] = {}  # key -> (text, done, total)
        self._watcher = None

    # ------------------------------------------------------------------ workspace
    @property
    def workspace(self) -> Path:
        return self._workspace

    def set_workspace(self, path: Path) -> None:
        self._workspace = Path(path)
        self.prefs.workspace = str(self._workspace)
        self.runsChanged.emit()

    def runs_dir(self) -> Path:
        path = self._workspace / "runs"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def profiles_dir(self) -> Path:
        path = self._workspace / "profiles"
        path.mkdir(parents=True, exist_ok=True)
        return path

    # ------------------------------------------------------------------ data
    def set_dataset(self, dataset, spec: str | None = None, spec_dict: dict | None = None,
                    split=None) -> None:  # noqa: ANN001
        """Install a loaded dataset with its split (``split``: computed off the GUI thread by the
        loader; without it the split is computed here, as scripts and tests expect)."""
        from core.split import SplitConfig

        self.dataset = dataset
        self.dataset_spec = spec
        self.dataset_spec_dict = spec_dict
        self.split = None  # the old split belongs to the old dataset: listeners must not use it
        self.datasetChanged.emit(dataset)
        config = self.split_config or SplitConfig()
        if split is not None and split.config == config:
            self.split_config, self.split = config, split
            self.splitChanged.emit(split)
        else:
            self.set_split_config(config)

    def set_split_config(self, config, background: bool = False) -> None:  # noqa: ANN001
        """Recompute the split (``background``: in a worker, then ``splitChanged``)."""
        from core.split import make_split

        self.split_config = config
        if self.dataset is None:
            return
        if not background:
            self.split = make_split(self.dataset, config)
            self.splitChanged.emit(self.split)
            return
        from .workers import FunctionJob

        dataset = self.dataset
        job = FunctionJob(make_split, dataset, config, name="split", parent=self)
        self._split_job = job
        self.begin_job("split", "Splitting users")

        def done(split) -> None:  # noqa: ANN001
            if self._split_job is job and self.dataset is dataset and self.split_config == config:
                self.split = split
                self.splitChanged.emit(split)

        def failed(exc: BaseException) -> None:
            if self._split_job is job:
                self.splitFailed.emit(str(exc))

        def ended() -> None:
            if self._split_job is job:
                self._split_job = None
                self.end_job("split")
            job.deleteLater()

        job.succeeded.connect(done)
        job.failed.connect(failed)
        job.ended.connect(ended)
        job.start()

    def set_device(self, device: str) -> None:
        self.device = device
        self.prefs.device = device
        self.deviceChanged.emit(device)

    # ------------------------------------------------------------------ the Cold-start user
    def set_profile_source(self, source) -> None:  # noqa: ANN001
        """``source()`` returns the user being rated on the Cold-start page (or None)."""
        self._profile_source = source

    def current_profile(self):  # noqa: ANN201
        """The Cold-start page's current user as a ``core.profiles.Profile`` (or None)."""
        if self._profile_source is None:
            return None
        try:
            return self._profile_source()
        except Exception:  # noqa: BLE001 - a page mid-update must not break its readers
            return None

    # ------------------------------------------------------------------ runs / log
    def add_session_run(self, path: Path) -> None:
        self.session_runs.append(Path(path))
        self.runsChanged.emit()

    @property
    def watcher(self):  # noqa: ANN201 - RunWatcher, imported on first use
        """The runs this session follows live (``metarec_gui.watch.RunWatcher``)."""
        if self._watcher is None:
            from .watch import RunWatcher

            self._watcher = RunWatcher(self, parent=self)
        return self._watcher

    def log(self, text: str, level: str = "info") -> None:
        self.logMessage.emit(level, text)

    # ------------------------------------------------------------------ jobs (status bar)
    def begin_job(self, key: str, text: str, total: int = 0) -> None:
        """Announce a running job (shown in the status bar until ``end_job(key)``)."""
        self._jobs[key] = (text, 0, total)
        self._emit_job()

    def update_job(self, key: str, text: str | None = None, done: int = 0, total: int = 0) -> None:
        if key not in self._jobs:
            return
        self._jobs[key] = (text if text is not None else self._jobs[key][0], done, total)
        self._emit_job()

    def end_job(self, key: str) -> None:
        if self._jobs.pop(key, None) is not None:
            self._emit_job()

    def running_jobs(self) -> dict[str, str]:
        """Key -> description of every announced job."""
        return {k: v[0] for k, v in self._jobs.items()}

    def _emit_job(self) -> None:
        if not self._jobs:
            self.jobChanged.emit("")
            self.jobProgress.emit(0, 0)
            return
        text, done, total = list(self._jobs.values())[-1]
        more = len(self._jobs) - 1
        self.jobChanged.emit(text + (f" (+{more} more)" if more else ""))
        self.jobProgress.emit(done, total)

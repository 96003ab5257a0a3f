"""Load a dataset in a child process and map the result into this one (``ChildLoad``).

Why: loading a large file runs long C calls that hold the interpreter lock (GIL) for 40-150 ms
each at 5M rows (pyarrow's conversion to pandas, hashing ids, ``value_counts``), several times
that at 25M. In a thread they stall every other thread of the process; a GUI cannot draw. In a
child process they cannot. The child runs :func:`~core.data.load_dataset` and the caller's
``extras`` (picklable functions of the dataset, e.g. a summary and a split), writes the result
with :func:`~core.data.handoff.dump_handoff`, and this process maps it
(:func:`~core.data.handoff.load_handoff`): big arrays are memory-mapped, not copied.

    load = ChildLoad(spec, extras={"summary": RatingsDataset.summary}).start()
    while not load.poll(0.1):       # or: load_in_child(spec, extras, cancel=token)
        print(load.progress)        # 'reading the file', 'computing the summary', ...
    dataset, extras = load.result() # raises what load_dataset raises
    load.close()                    # stops a running child, removes its folder (idempotent)

Errors reach the caller as they would from :func:`load_dataset`: the same ``DatasetError``
subclass with the same problem, path, line, column and hint. A child that dies (killed, out of
memory) gives a ``DatasetError`` saying so; a bug in the child raises :class:`LoaderCrashed`
carrying the child's traceback text. The user's file is only read. The child never outlives
this process (Linux: ``PR_SET_PDEATHSIG``; everywhere: it checks its parent every second), is
niced, uses all cores but one (``threads``), ignores Ctrl-C (the parent decides), and is a
fresh interpreter that imports only ``core.data`` (and the modules of ``extras``): about 0.5 s
of start-up, hence :func:`should_isolate` (files of at least :data:`ISOLATE_MIN_BYTES`).

The child: ``python -c CHILD_CODE FOLDER``; ``FOLDER`` holds ``args.pkl`` (spec, extras,
parent pid), ``progress.txt``, ``result.pkl``, ``stderr.txt`` and the handoff in ``data/``.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import errors
from .errors import DatasetError
from .handoff import dump_handoff, load_handoff

ISOLATE_MIN_BYTES = 8 << 20  # 8 MiB of input: ~600k rows of user,item,rating text
PREFIX = "metarec-load-"
PR_SET_PDEATHSIG = 1
# The child's command: lower its priority before it imports numpy / pandas / pyarrow (start-up
# on two cores otherwise competes with the GUI), then run the load.
CHILD_CODE = ("import os, sys\n"
              "if hasattr(os, 'nice') and {nice}:\n    os.nice({nice})\n"
              "from core.data.isolated import _child_main\n"
              "sys.exit(_child_main(sys.argv[1]))")


class LoadCancelled(Exception):
    """The load was cancelled (``load_in_child(cancel=...)``); nothing was loaded."""


class LoaderCrashed(RuntimeError):
    """The loading process failed for a reason other than the data (a bug): ``traceback_text``
    is its traceback (also as ``__traceback_text__``, which the app shows as details)."""

    def __init__(self, message: str, traceback_text: str = "") -> None:
        super().__init__(message)
        self.traceback_text = traceback_text
        self.__traceback_text__ = traceback_text


# --------------------------------------------------------------------------- when
def source_bytes(spec: Any) -> int:
    """Rough size in bytes of what ``spec`` (a ``DatasetSpec``) reads; 0 for built-in and
    synthetic data and for paths that do not exist (compressed files count 4x)."""
    if getattr(spec, "kind", None) not in ("table", "movielens") or not spec.path:
        return 0
    path = Path(spec.path)
    try:
        if path.is_dir():
            total = 0
            for root, _dirs, files in os.walk(path):
                if Path(root).relative_to(path).parts[2:]:
                    continue  # (MovieLens folders are at most one level deep)
                total += sum((Path(root) / f).stat().st_size for f in files)
            return total
        size = path.stat().st_size
    except (OSError, ValueError):
        return 0
    return size * 4 if path.suffix.lower() in (".gz", ".zip", ".bz2", ".xz") else size


def should_isolate(spec: Any, min_bytes: int = ISOLATE_MIN_BYTES) -> bool:
    """Whether loading ``spec`` is worth a child process (a file of ``min_bytes`` or more)."""
    size = source_bytes(spec)
    return size > 0 and size >= min_bytes


# --------------------------------------------------------------------------- parent side
class ChildLoad:
    """One load in a child process; see the module docstring. Not thread-safe: one owner."""

    def __init__(self, spec: Any, extras: dict[str, Callable[[Any], Any]] | None = None, *,
                 nice: int = 10, threads: int | None = None,
                 temp_dir: str | Path | None = None) -> None:
        self.spec = spec
        self.extras = dict(extras or {})
        self.nice = nice
        # ``temp_dir``: where the handoff folder goes (default: handoff_root())
        # pyarrow's (and BLAS's) threads in the child: all cores but one by default, so the
        # caller's process keeps a core (on 2 cores, two reader threads delayed a GUI thread's
        # timers by 60-90 ms at a time while a 25M-row file was read)
        self.threads = threads if threads is not None else max(1, (os.cpu_count() or 2) - 1)
        self.temp_dir = temp_dir
        self.folder: Path | None = None
        self.process: subprocess.Popen | None = None
        self.progress = ""
        self._done = False

    def __enter__(self) -> ChildLoad:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def start(self) -> ChildLoad:
        """Start the child (``OSError`` if it cannot start; a pickling error for an extra that
        cannot be pickled by reference)."""
        if self.process is not None:
            raise RuntimeError("this load was already started")
        root = self.temp_dir or handoff_root(source_bytes(self.spec))
        for folder in {root, *handoff_roots()}:
            remove_stale_folders(folder)
        self.folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=root))
        args = {"spec": self.spec, "extras": self.extras, "parent_pid": os.getpid()}
        (self.folder / "args.pkl").write_bytes(pickle.dumps(args, protocol=5))
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parent.parent.parent)  # the folder holding core/
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        env["OMP_NUM_THREADS"] = str(self.threads)  # (pyarrow's CPU pool reads it too)
        kwargs: dict[str, Any] = {}
        if sys.platform == "win32":
            kwargs["creationflags"] = getattr(subprocess, "CREATE_NO_WINDOW", 0)
        with open(self.folder / "stderr.txt", "wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-c", CHILD_CODE.format(nice=int(self.nice)), str(self.folder)],
                env=env,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, **kwargs)
        self.progress = "starting"
        return self

    def poll(self, timeout: float = 0.0) -> bool:
        """Wait up to ``timeout`` seconds; True once the child has ended (then :meth:`result`)."""
        if self._done:
            return True
        if self.process is None:
            raise RuntimeError("the load was not started")
        if timeout > 0:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout)
        self.process.poll()
        self._read_progress()
        self._done = self.process.returncode is not None
        return self._done

    def result(self) -> tuple[Any, dict[str, Any]]:
        """``(dataset, extras)`` once :meth:`poll` is True; raises the child's error."""
        if not self.poll():
            raise RuntimeError("the loading process is still running")
        assert self.folder is not None and self.process is not None
        status_file = self.folder / "result.pkl"
        if not status_file.exists():
            raise self._died(self.process.returncode)
        status = pickle.loads(status_file.read_bytes())
        if status["status"] == "dataset_error":
            cls = getattr(errors, status["class"], DatasetError)
            if not (isinstance(cls, type) and issubclass(cls, DatasetError)):
                cls = DatasetError
            raise cls(status["problem"], path=status["path"], line=status["line"],
                      column=status["column"], hint=status["hint"])
        if status["status"] != "ok":
            raise LoaderCrashed(status["message"], status.get("traceback", ""))
        payload = load_handoff(self.folder / "data")
        return payload["dataset"], payload["extras"]

    def close(self) -> None:
        """Stop the child if it still runs and remove its folder (safe to call twice)."""
        process, self.process = self.process, None
        if process is not None and process.returncode is None:
            process.terminate()
            try:
                process.wait(3)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(3)
        if process is not None:
            self.process = process  # (keeps the exit code readable)
        self._done = True
        if self.folder is not None:
            # On Linux and macOS the mapped arrays outlive their files (in shared memory too:
            # the pages are freed with the last mapping); elsewhere the files stay
            # until the next load removes them (remove_stale_folders).
            shutil.rmtree(self.folder, ignore_errors=True)

    def _read_progress(self) -> None:
        try:
            text = (self.folder / "progress.txt").read_text(encoding="utf-8")  # type: ignore[operator]
        except (OSError, TypeError):
            return
        if text:
            self.progress = text

    def _died(self, code: int | None) -> Exception:
        assert self.folder is not None
        try:
            err = (self.folder / "stderr.txt").read_text(encoding="utf-8", errors="replace")
        except OSError:
            err = ""
        if code is not None and code < 0:
            try:
                name: object = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return DatasetError(
                f"the loading process was stopped by the system ({name})",
                path=getattr(self.spec, "path", None),
                hint="often: not enough memory for this file; close other programs or use a "
                "smaller file")
        return LoaderCrashed(f"the loading process ended unexpectedly (exit code {code})",
                             err[-4000:])


def load_in_child(spec: Any, extras: dict[str, Callable[[Any], Any]] | None = None, *,
                  cancel: Any = None, progress: Callable[[str], None] | None = None,
                  poll_s: float = 0.1) -> tuple[Any, dict[str, Any]]:
    """Load ``spec`` in a child process: ``(dataset, extras)``. ``cancel.cancelled`` turning true
    stops the child and raises :class:`LoadCancelled`; ``progress(text)`` hears each new phase."""
    load = ChildLoad(spec, extras).start()
    try:
        shown = ""
        while not load.poll(poll_s):
            if cancel is not None and cancel.cancelled:
                raise LoadCancelled("loading cancelled")
            if progress is not None and load.progress != shown:
                shown = load.progress
                progress(shown)
        return load.result()
    finally:
        load.close()


SHM = Path("/dev/shm")


def handoff_roots() -> list[Path]:
    """Where handoff folders may be: shared memory (Linux) and the temporary folder."""
    return [p for p in (SHM, Path(tempfile.gettempdir())) if p.is_dir()]


def handoff_root(input_bytes: int) -> Path | None:
    """Shared memory (tmpfs) when it has room for the handoff (3x the input, plus 256 MiB),
    else None (the temporary folder). In memory, the 300-400 MB a 25M-row file hands over are
    never written to disk: no writeback that a small ``fsync`` elsewhere (the app's settings,
    on its GUI thread) would wait behind; the mapped pages take the RAM the arrays would have
    taken in the caller anyway."""
    try:
        free = shutil.disk_usage(SHM).free if os.access(SHM, os.W_OK) else 0
        if free >= 3 * input_bytes + (256 << 20):
            return SHM
    except OSError:
        pass
    return None


def remove_stale_folders(temp_dir: str | Path | None = None, max_age_s: float = 86400.0) -> None:
    """Remove the folders of loads that died before cleaning up: POSIX, those whose process is
    gone; elsewhere (a mapped file cannot be deleted there), those older than ``max_age_s``."""
    root = Path(temp_dir or tempfile.gettempdir())
    try:
        candidates = list(root.glob(f"{PREFIX}*"))
    except OSError:
        return
    for folder in candidates:
        try:
            pid = int(folder.name[len(PREFIX):].split("-", 1)[0])
            if os.name != "posix":
                if time.time() - folder.stat().st_mtime > max_age_s:
                    shutil.rmtree(folder, ignore_errors=True)
                continue
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except (ValueError, PermissionError, OSError):
            continue


# --------------------------------------------------------------------------- child side
def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _stop_with_parent(parent_pid: int) -> None:
    """Exit when the parent dies: PR_SET_PDEATHSIG on Linux, a watch thread everywhere."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # it died before prctl took effect
        os._exit(3)

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent_pid:
                os._exit(3)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


def _child_main(folder: str | Path) -> int:
    """Body of the loading process (:data:`CHILD_CODE`, given the folder)."""
    folder = Path(folder)
    if hasattr(signal, "SIGINT"):
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in a terminal: the app decides

    def say(text: str) -> None:
        _write_atomic(folder / "progress.txt", text.encode("utf-8"))

    try:
        args = pickle.loads((folder / "args.pkl").read_bytes())
        _stop_with_parent(int(args["parent_pid"]))
        from .loading import load_dataset

        say("reading the file")
        dataset = load_dataset(args["spec"])
        extras = {}
        for key, fn in args["extras"].items():
            say(f"computing the {key}")
            extras[key] = fn(dataset)
        say("handing the data over")
        dump_handoff({"dataset": dataset, "extras": extras}, folder / "data")
        status: dict[str, Any] = {"status": "ok"}
    except DatasetError as exc:
        status = {"status": "dataset_error", "class": type(exc).__name__, "problem": exc.problem,
                  "path": exc.path, "line": exc.line, "column": exc.column, "hint": exc.hint}
    except BaseException as exc:  # noqa: BLE001 - everything else is reported, never lost
        status = {"status": "crash", "message": f"{type(exc).__name__}: {exc}",
                  "traceback": traceback.format_exc()}
    _write_atomic(folder / "result.pkl", pickle.dumps(status, protocol=5))
    return 0



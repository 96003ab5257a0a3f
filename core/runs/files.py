"""A run folder's files, written so that a reader in another process never sees half a file.

Atomic writes (a temporary file in the same folder, then a rename), the JSON encoding they use,
reading a JSON file with a :class:`RunError` that names it, and removing the temporary files
of writers that died mid-write (their names carry the writer's pid and host).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..run_schema import RunError
from .liveness import STALE_AFTER_S, host_tag, pid_alive

TEMP_NAME = re.compile(r"^\..+\.tmp$")  # a temporary file of an atomic write
_TEMP_TAG = re.compile(r"\.p(\d+)h([0-9a-f]{8})\.")  # its writer: pid and host tag


def _umask() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    old = os.umask(0o022)  # no /proc: read it the classic way (restored at once)
    os.umask(old)
    return old


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, then rename: readers never see half a file.

    The file gets the permissions of any new file (0666 minus the umask), not mkstemp's 0600;
    the temporary name carries the writer's pid and host so a later reader can remove it
    when that writer died mid-write."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tag = f"p{os.getpid()}h{host_tag()}"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{tag}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            if hasattr(os, "fchmod"):
                os.fchmod(f.fileno(), 0o666 & ~_umask())
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    """``obj`` as indented JSON, written atomically (numpy scalars and paths allowed)."""
    atomic_write_bytes(path, (json.dumps(obj, indent=2, default=json_default) + "\n").encode())


def json_default(obj: Any) -> Any:
    """``json.dumps(default=)`` for run records: numpy scalars -> numbers, paths -> text."""
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def read_json(file: Path, missing: Any = None) -> Any:
    """The JSON in ``file``, or ``missing`` when there is no such file.

    Raises :class:`RunError` naming the file when it cannot be read or is not valid JSON."""
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        return missing
    except PermissionError:
        raise RunError(f"{file}: cannot be read (permission denied); ask its owner to make "
                       "it readable (chmod a+r)") from None
    except IsADirectoryError:
        raise RunError(f"{file}: is a folder, not a file") from None
    except OSError as exc:
        raise RunError(f"{file}: cannot be read ({exc.strerror or exc})") from None
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise RunError(f"{file}: not valid JSON (binary or not UTF-8 text)") from None
    except (ValueError, RecursionError) as exc:
        raise RunError(f"{file}: not valid JSON ({exc})") from None


def remove_stale_temp_files(folder: Path, run_is_live: Callable[[], bool]) -> list[Path]:
    """Remove temporary files of atomic writes in ``folder`` whose writer died mid-write.

    A temporary file is removed when its writer (pid and host in its name) is a process of
    this host that no longer runs, or when it is older than ``STALE_AFTER_S``; untagged ones
    (older versions) when ``run_is_live()`` (asked at most once) is False. Errors (read-only
    folder) are ignored. Returns the files removed."""
    removed: list[Path] = []
    try:
        temps = [p for p in folder.iterdir() if TEMP_NAME.match(p.name) and p.is_file()]
    except OSError:
        return removed
    if not temps:
        return removed
    here = host_tag()
    run_live: bool | None = None
    for tmp in temps:
        try:
            age = time.time() - tmp.stat().st_mtime
        except OSError:
            continue
        tag = _TEMP_TAG.search(tmp.name)
        stale = age > STALE_AFTER_S
        if not stale and tag and tag.group(2) == here:
            stale = pid_alive(int(tag.group(1))) is False
        elif not stale and not tag:
            if run_live is None:
                run_live = run_is_live()
            stale = not run_live
        if stale:
            try:
                tmp.unlink()
                removed.append(tmp)
            except OSError:
                pass
    return removed

"""weights.pt: tensors only, written atomically with its SHA-256 recorded in config.json, and
read back only after that checksum matches, with ``weights_only=True`` (no pickled code runs).
"""

from __future__ import annotations

import hashlib
import io
import pickle
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..run_schema import RunError, validate_weights
from .files import atomic_write_bytes, atomic_write_json, read_json

WEIGHTS_FILE = "weights.pt"


def save_weights(folder: Path, state: dict[str, Any]) -> str:
    """Write ``state`` (name -> tensor) to ``folder``/weights.pt and record its SHA-256 in
    config.json; returns the hex digest.

    The checksum is recorded first (keeping the previous one), so a reader between the two
    writes, or after a crash between them, still finds the file it reads accepted."""
    import torch

    file = folder / WEIGHTS_FILE
    buf = io.BytesIO()
    torch.save(state, buf)
    data = buf.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    config = read_json(folder / "config.json") or {}
    previous = (config.get("weights") or {}).get("sha256") if file.is_file() else None
    config["weights"] = {"file": file.name, "sha256": digest,
                         "previous_sha256": previous, "bytes": len(data)}
    atomic_write_json(folder / "config.json", config)
    atomic_write_bytes(file, data)
    return digest


def load_weights(file: Path, record: Callable[[], dict[str, Any]],
                 writing: Callable[[], bool]) -> dict[str, Any]:
    """The tensors in ``file``, after checking the SHA-256 that ``record()`` (config.json's
    ``weights`` record, read again on each try) holds, and that every value is a finite tensor.

    A mismatch is retried (3 reads) while ``writing()`` says a live writer may be between its
    two writes. Raises :class:`RunError` naming the file: unreadable, checksum mismatch,
    pickled Python objects, or not a weights file. Never executes pickled code."""
    import torch

    for _attempt in range(3):
        try:
            data = file.read_bytes()
        except PermissionError:
            raise RunError(f"{file}: cannot be read (permission denied)") from None
        except OSError as exc:
            raise RunError(f"{file}: cannot be read ({exc.strerror or exc})") from None
        digest = hashlib.sha256(data).hexdigest()
        recorded = record()
        expected = {recorded.get("sha256"), recorded.get("previous_sha256")} - {None}
        if not expected or digest in expected:
            break
        if not writing():  # a live writer may be between its two writes: retry
            break
    if expected and digest not in expected:
        raise RunError(
            f"{file}: checksum mismatch: its SHA-256 is {digest[:12]}…, but config.json "
            f"(field 'weights.sha256') records {recorded.get('sha256', '?')[:12]}… — the file "
            "was changed or damaged after training saved it; retrain the run or restore the file"
        )
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL ([\w.]+)", str(exc))
        what = f" (it refers to {found.group(1)})" if found else ""
        raise RunError(
            f"{file}: refused: it holds Python objects, not just tensors{what}. MetaRec "
            "loads weights as plain tensors and never runs code stored in a weights file"
        ) from None
    except Exception as exc:  # noqa: BLE001 - corrupt or foreign file: say so
        detail = "" if "weights_only" in str(exc) else f" ({str(exc).splitlines()[0][:200]})"
        raise RunError(f"{file}: cannot be read as weights: damaged or not a MetaRec "
                       f"weights file{detail}") from None
    return validate_weights(state, file)

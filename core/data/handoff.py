"""Hand a loaded dataset (and what was computed from it) from one process to another through a
folder, so that the receiving process does almost no work while holding the interpreter lock.

``dump_handoff(obj, folder)`` pickles ``obj`` (any picklable object graph: a
:class:`~core.data.RatingsDataset`, a ``ColdStartSplit``, summary dicts) with three changes:

* every numeric numpy array of at least :data:`BIG_BYTES` goes to its own ``.npy`` file, and
  :func:`load_handoff` maps it (``np.load(mmap_mode="c")``: copy-on-write, so the arrays stay
  writable and the files are never changed) instead of copying it: 25M ratings cost a few
  page-table entries, not 300 MB of copying;
* a numpy array of Python objects (string ids, object blocks of a DataFrame) with more than
  :data:`CHUNK` elements is pickled in chunks, and rebuilt by a Python-level loop;
* a dict of at least :data:`PACK_MIN` ``int -> 1-d numeric array`` entries (the split's
  ``eval_rows``: one small array per cold user) is stored as three arrays (keys, offsets, values)
  and rebuilt by a Python dict comprehension. Its values become views into one array.

Why: unpickling runs in C and holds the GIL throughout one call; 50,000 small arrays took
140 ms, during which a GUI thread in the same process could not draw. Rebuilding in Python
lets the interpreter hand the GIL over every few milliseconds (its switch interval).

The folder holds ``payload.pkl`` and ``a<N>.npy`` files. On Linux it may be deleted as soon as
:func:`load_handoff` returns (the mappings keep the data); elsewhere delete it when the arrays
are gone. Errors: ``OSError`` / ``pickle.UnpicklingError`` for a damaged folder.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np

BIG_BYTES = 1 << 20  # numeric arrays of at least 1 MiB are mapped from .npy files
CHUNK = 20_000  # object arrays are pickled in chunks of this many elements (~1-2 ms each)
PACK_MIN = 1_000  # dicts with at least this many int -> array entries are packed
PAYLOAD = "payload.pkl"


# --------------------------------------------------------------------------- writing
class _Pickler(pickle.Pickler):
    def __init__(self, file: Any, folder: Path) -> None:
        super().__init__(file, protocol=5)
        self.folder = folder
        self.saved: dict[int, tuple[str, str]] = {}
        self.keep: list[np.ndarray] = []  # (ids stay unique while we pickle)

    def persistent_id(self, obj: Any) -> tuple[str, str] | None:
        if (not isinstance(obj, np.ndarray) or obj.dtype.hasobject or obj.nbytes < BIG_BYTES
                or obj.size == 0):
            return None
        known = self.saved.get(id(obj))
        if known is not None:
            return known
        name = f"a{len(self.saved)}.npy"
        np.save(self.folder / name, obj, allow_pickle=False)
        self.saved[id(obj)] = ("npy", name)
        self.keep.append(obj)
        return self.saved[id(obj)]

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, np.ndarray) and obj.dtype == object and obj.size > CHUNK:
            flat = obj.reshape(-1)
            chunks = [pickle.dumps(flat[i:i + CHUNK], protocol=5)
                      for i in range(0, len(flat), CHUNK)]
            return _join_object_chunks, (chunks, obj.shape)
        if isinstance(obj, _PackedDict):
            return _unpack_dict, (obj.keys, obj.offsets, obj.values)
        return NotImplemented


@dataclasses.dataclass
class _PackedDict:
    keys: np.ndarray  # int64 [n]
    offsets: np.ndarray  # int64 [n + 1]
    values: np.ndarray  # [offsets[-1]], one dtype


def _packable(value: Any) -> bool:
    if not isinstance(value, dict) or len(value) < PACK_MIN:
        return False
    dtype = None
    for key, arr in value.items():
        if type(key) is not int or not isinstance(arr, np.ndarray) or arr.ndim != 1:
            return False
        if arr.dtype.hasobject or (dtype is not None and arr.dtype != dtype):
            return False
        dtype = arr.dtype
    return True


def _pack_dict(value: dict[int, np.ndarray]) -> _PackedDict:
    arrays = list(value.values())
    lengths = np.fromiter((len(a) for a in arrays), dtype=np.int64, count=len(arrays))
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return _PackedDict(np.fromiter(value.keys(), dtype=np.int64, count=len(value)), offsets,
                       np.concatenate(arrays))


def _pack(obj: Any, depth: int = 0) -> Any:
    """``obj`` with big ``int -> array`` dicts replaced by :class:`_PackedDict` (containers and
    dataclass fields up to 3 levels deep; others are left as they are). Copies only what changes."""
    if _packable(obj):
        return _pack_dict(obj)
    if depth >= 3:
        return obj
    if isinstance(obj, dict):
        packed = {k: _pack(v, depth + 1) for k, v in obj.items()}
        return packed if any(packed[k] is not obj[k] for k in obj) else obj
    if isinstance(obj, (list, tuple)) and len(obj) <= 64:
        items = [_pack(v, depth + 1) for v in obj]
        if all(a is b for a, b in zip(items, obj, strict=True)):
            return obj
        return type(obj)(items) if type(obj) in (list, tuple) else obj
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        changed = {}
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name, None)
            new = _pack(value, depth + 1)
            if new is not value:
                changed[f.name] = new
        if not changed:
            return obj
        clone = copy.copy(obj)  # (keeps cached properties; works for frozen dataclasses too)
        for name, value in changed.items():
            object.__setattr__(clone, name, value)
        return clone
    return obj


def dump_handoff(obj: Any, folder: str | Path) -> None:
    """Write ``obj`` into ``folder`` (created if missing) for :func:`load_handoff`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    _Pickler(buffer, folder).dump(_pack(obj))
    (folder / PAYLOAD).write_bytes(buffer.getbuffer())


# --------------------------------------------------------------------------- reading
class _Unpickler(pickle.Unpickler):
    def __init__(self, file: Any, folder: Path) -> None:
        super().__init__(file)
        self.folder = folder

    def persistent_load(self, pid: Any) -> np.ndarray:
        kind, name = pid
        if kind != "npy" or "/" in name or "\\" in name:
            raise pickle.UnpicklingError(f"unknown reference {pid!r}")
        mapped = np.load(self.folder / name, mmap_mode="c", allow_pickle=False)
        return mapped.view(np.ndarray)  # a plain array; its base keeps the mapping open


def _join_object_chunks(chunks: list[bytes], shape: tuple[int, ...]) -> np.ndarray:
    out = np.empty(int(np.prod(shape, dtype=np.int64)), dtype=object)
    pos = 0
    for blob in chunks:  # a Python loop: the GIL can change hands between chunks
        part = pickle.loads(blob)
        out[pos:pos + len(part)] = part
        pos += len(part)
    return out.reshape(shape)


def _unpack_dict(keys: np.ndarray, offsets: np.ndarray, values: np.ndarray) -> dict[int, Any]:
    bounds = offsets.tolist()
    return {k: values[bounds[i]:bounds[i + 1]] for i, k in enumerate(keys.tolist())}


def load_handoff(folder: str | Path) -> Any:
    """The object written by :func:`dump_handoff` into ``folder`` (big arrays mapped)."""
    folder = Path(folder)
    data = (folder / PAYLOAD).read_bytes()
    return _Unpickler(io.BytesIO(data), folder).load()

"""JSON lines (one object per line: Yelp and Amazon review dumps) and small JSON arrays.

The fast path is pyarrow's JSON reader. When it cannot type a column (an id that is a number on
one line and text on another) or a line is not valid JSON, a line-by-line reader takes over: it
keeps every value as written and names the first bad line.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from .errors import FormatError
from .source import Source, read_guard

JSON_ARRAY_LIMIT = 512 << 20  # a JSON array is parsed whole: files above this are refused


def sample_columns(text: str, limit: int = 200) -> list[str]:
    """Keys of the objects on the first lines, in first-seen order."""
    keys: dict[str, None] = {}
    for line in text.splitlines()[:limit]:
        line = line.strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            continue  # a line cut by the sample, or bad: the full read names it
        if isinstance(obj, dict):
            keys.update(dict.fromkeys(str(k) for k in obj))
    return list(keys)


def preview_rows(text: str, n: int) -> pd.DataFrame:
    rows = []
    for line in text.splitlines():
        if line.strip():
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict):
                rows.append({k: _text(v) for k, v in obj.items()})
        if len(rows) >= n:
            break
    return pd.DataFrame(rows, dtype="string")


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def read_jsonl(src: Source, columns: Sequence[str]) -> pd.DataFrame:
    """The named columns of a JSON-lines file, in file order (missing keys are None)."""
    try:
        with read_guard(src), src.arrow() as stream:
            table = pajson.read_json(
                stream, read_options=pajson.ReadOptions(use_threads=src.native, block_size=1 << 24)
            )
    except pa.ArrowInvalid:
        return _read_slowly(src, columns)
    present = [c for c in dict.fromkeys(columns) if c in table.column_names]
    table = table.select(present)
    for i, c in enumerate(present):  # text ids as a dictionary: 25M rows, few distinct strings
        if pa.types.is_string(table.schema.field(c).type):
            table = table.set_column(i, c, pc.dictionary_encode(table.column(c)))
    frame = table.to_pandas()
    for c in columns:
        if c not in frame.columns:
            frame[c] = None
    return frame[list(columns)]


def _read_slowly(src: Source, columns: Sequence[str]) -> pd.DataFrame:
    wanted = list(dict.fromkeys(columns))
    data: dict[str, list] = {c: [] for c in wanted}
    with src.open() as f:
        for number, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except UnicodeDecodeError as exc:
                raise FormatError("the line is not UTF-8 text", path=src.shown, line=number) from exc
            except ValueError as exc:
                raise FormatError(
                    f"not valid JSON ({exc.args[0] if exc.args else exc})",
                    path=src.shown,
                    line=number,
                    hint="a JSON-lines file holds one JSON object per line",
                ) from exc
            if not isinstance(obj, dict):
                raise FormatError(
                    f"expected a JSON object ({{...}}) on each line, found {type(obj).__name__}",
                    path=src.shown,
                    line=number,
                )
            for c in wanted:
                data[c].append(obj.get(c))
    return pd.DataFrame({c: pd.Series(v, dtype=object) for c, v in data.items()})


def read_json_array(src: Source) -> pd.DataFrame:
    """A JSON document holding a list of objects (a small export), as a DataFrame."""
    raw = src.read_all(JSON_ARRAY_LIMIT)
    try:
        doc = json.loads(raw)
    except UnicodeDecodeError as exc:
        raise FormatError("the file is not UTF-8 text", path=src.shown) from exc
    except json.JSONDecodeError as exc:
        raise FormatError(f"not valid JSON ({exc.msg})", path=src.shown, line=exc.lineno) from exc
    if isinstance(doc, dict):  # {"reviews": [...]}: the one list of objects inside
        lists = [v for v in doc.values() if isinstance(v, list)]
        doc = lists[0] if len(lists) == 1 else doc
    if not isinstance(doc, list) or not all(isinstance(r, dict) for r in doc):
        raise FormatError(
            "a JSON file must hold a list of objects (one per rating), or one object per line",
            path=src.shown,
        )
    return pd.DataFrame.from_records(doc)
